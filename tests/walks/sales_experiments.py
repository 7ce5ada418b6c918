"""Outsider walk and API-docs routes for experiments: a campaign's results and plan pages and
API, and the free planner (open to anyone in their own organization)."""

from . import OWN, REFUSE, Route

ROUTES = {
    "sales/campaigns/<int:pk>/results/": Route(REFUSE, kwargs={"pk": "experiments_campaign"},
                                               methods=("GET",)),
    "sales/campaigns/<int:pk>/plan/": Route(REFUSE, kwargs={"pk": "experiments_campaign"},
                                            methods=("GET",)),
    "sales/campaigns/plan/": Route(OWN, methods=("GET",)),
    "api/v1/sales/campaigns/<campaign_id>/results": Route(
        REFUSE, kwargs={"campaign_id": "experiments_campaign"}, methods=("GET",)),
    "api/v1/sales/campaigns/<campaign_id>/plan": Route(
        REFUSE, kwargs={"campaign_id": "experiments_campaign"}, methods=("GET",)),
    "api/v1/sales/experiments/plan": Route(OWN, methods=("GET",)),
}

API_ROUTES = {
    "/api/v1/sales/campaigns/{campaign_id}/results": {"get"},
    "/api/v1/sales/campaigns/{campaign_id}/plan": {"get"},
    "/api/v1/sales/experiments/plan": {"get"},
}


def victim_records(*, org, owner, records):
    """A sent two-variant campaign of the victim with a holdout recipient."""
    import secrets

    from django.utils import timezone

    from jalin.sales.models import Campaign, CampaignRecipient, CampaignVariant

    campaign = Campaign.objects.create(organization=org, name="Victim Supply Secret test",
                                       status="sent", seed="victim", sent_at=timezone.now(),
                                       holdout_percent=10)
    CampaignVariant.objects.create(campaign=campaign, name="Victim Supply Secret A")
    CampaignVariant.objects.create(campaign=campaign, name="Victim Supply Secret B")
    CampaignRecipient.objects.create(campaign=campaign, contact=records["crm_contact"],
                                     email="secret@victim.example",
                                     token=secrets.token_urlsafe(32))
    return {"experiments_campaign": campaign}
