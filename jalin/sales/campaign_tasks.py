"""Campaign launching and sending run as background tasks (the database backend runs them in
`jalin worker`): `campaign_prepare` snapshots the segment into recipients in batches and then
queues `campaign_send`. See `campaigns.campaign_prepare` and `campaigns.campaign_send`."""

from django.tasks import task

from . import campaigns


@task()
def campaign_prepare(*, campaign_id):
    """Copy a launched campaign's segment into recipients, batch by batch (resumable; two
    runs at once write nobody twice), then queue the sending. Arguments are ids only."""
    return campaigns.campaign_prepare(campaign_id=campaign_id)


@task()
def campaign_send(*, campaign_id):
    """Send a launched campaign batch by batch. Arguments are ids only."""
    return campaigns.campaign_send(campaign_id=campaign_id)
