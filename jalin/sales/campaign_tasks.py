"""Campaign sending runs as a background task (the database backend runs it in `jalin
worker`); see `campaigns.campaign_send`."""

from django.tasks import task

from . import campaigns


@task()
def campaign_send(*, campaign_id):
    """Send a launched campaign batch by batch. Arguments are ids only."""
    return campaigns.campaign_send(campaign_id=campaign_id)
