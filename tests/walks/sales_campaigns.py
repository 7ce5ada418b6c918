"""Outsider walk and API-docs routes for campaigns: campaign pages, the public tracking
endpoints (pixel, click, unsubscribe), the buyer portal's offers and the campaigns API."""

from . import API_METHODS, OWN, PUBLIC, REFUSE, Route

ROUTES = {
    "sales/campaigns/": Route(OWN, methods=("GET",)),
    "sales/campaigns/new/": Route(OWN, methods=("GET",)),
    "sales/campaigns/<int:pk>/": Route(REFUSE, kwargs={"pk": "sales_campaign"},
                                       methods=("GET",)),
    "sales/campaigns/<int:pk>/edit/": Route(REFUSE, kwargs={"pk": "sales_campaign"}),
    "sales/campaigns/<int:pk>/progress/": Route(REFUSE, kwargs={"pk": "sales_campaign"},
                                                methods=("GET",)),
    "sales/campaigns/<int:pk>/launch/": Route(REFUSE, kwargs={"pk": "sales_campaign"},
                                              methods=("POST",)),
    "sales/campaigns/<int:pk>/cancel/": Route(REFUSE, kwargs={"pk": "sales_campaign"},
                                              methods=("POST",)),
    "sales/campaigns/<int:pk>/resume/": Route(REFUSE, kwargs={"pk": "sales_campaign"},
                                              methods=("POST",)),
    "sales/campaigns/<int:pk>/schedule/": Route(REFUSE, kwargs={"pk": "sales_campaign"},
                                                methods=("POST",)),
    "sales/campaigns/<int:pk>/unschedule/": Route(REFUSE, kwargs={"pk": "sales_campaign"},
                                                  methods=("POST",)),
    # Public by design (links in the e-mail; the token is the credential); unknown → 404 or,
    # for the pixel, the same GIF.
    "sales/o/<str:token>.gif": Route(PUBLIC, kwargs={"token": "bogus"}, methods=("GET",)),
    "sales/k/<str:token>/<int:index>/": Route(PUBLIC, kwargs={"token": "bogus", "index": "0"},
                                              methods=("GET",)),
    "sales/u/<str:token>/": Route(PUBLIC, kwargs={"token": "bogus"}),
    # The buyer portal: the outsider (a buyer) sees its own offers, never another buyer's.
    "sales/offers/": Route(OWN, methods=("GET",)),
    "sales/offers/<str:token>/": Route(REFUSE, kwargs={"token": "sales_recipient_token"},
                                       methods=("GET",)),
    "api/v1/sales/campaigns": Route(OWN, methods=("GET", "POST"), body={}),
    "api/v1/sales/campaigns/<campaign_id>": Route(
        REFUSE, kwargs={"campaign_id": "sales_campaign"}, methods=("GET", "PATCH"),
        body={"version": 1, "name": "Outsider"}),
    "api/v1/sales/campaigns/<campaign_id>/variants": Route(
        REFUSE, kwargs={"campaign_id": "sales_campaign"}, methods=("POST",),
        body={"name": "Outsider"}),
    "api/v1/sales/campaigns/<campaign_id>/variants/<variant_id>": Route(
        REFUSE, kwargs={"campaign_id": "sales_campaign", "variant_id": "sales_variant"},
        methods=API_METHODS, body={"weight": 2}),
    "api/v1/sales/campaigns/<campaign_id>/launch": Route(
        REFUSE, kwargs={"campaign_id": "sales_campaign"}, methods=("POST",), body={}),
    "api/v1/sales/campaigns/<campaign_id>/cancel": Route(
        REFUSE, kwargs={"campaign_id": "sales_campaign"}, methods=("POST",), body={}),
    "api/v1/sales/campaigns/<campaign_id>/resume": Route(
        REFUSE, kwargs={"campaign_id": "sales_campaign"}, methods=("POST",), body={}),
    "api/v1/sales/campaigns/<campaign_id>/schedule": Route(
        REFUSE, kwargs={"campaign_id": "sales_campaign"}, methods=("POST",),
        body={"scheduled_for": "2099-01-01T09:00:00+07:00"}),
    "api/v1/sales/campaigns/<campaign_id>/unschedule": Route(
        REFUSE, kwargs={"campaign_id": "sales_campaign"}, methods=("POST",), body={}),
    "api/v1/sales/campaigns/<campaign_id>/recipients": Route(
        REFUSE, kwargs={"campaign_id": "sales_campaign"}, methods=("GET",)),
    "api/v1/sales/campaigns/<campaign_id>/counts": Route(
        REFUSE, kwargs={"campaign_id": "sales_campaign"}, methods=("GET",)),
    "api/v1/sales/campaign-replies": Route(OWN, methods=("POST",), body={}),
}

API_ROUTES = {
    "/api/v1/sales/campaigns": {"get", "post"},
    "/api/v1/sales/campaigns/{campaign_id}": {"get", "patch"},
    "/api/v1/sales/campaigns/{campaign_id}/variants": {"post"},
    "/api/v1/sales/campaigns/{campaign_id}/variants/{variant_id}": {"patch", "delete"},
    "/api/v1/sales/campaigns/{campaign_id}/launch": {"post"},
    "/api/v1/sales/campaigns/{campaign_id}/cancel": {"post"},
    "/api/v1/sales/campaigns/{campaign_id}/resume": {"post"},
    "/api/v1/sales/campaigns/{campaign_id}/schedule": {"post"},
    "/api/v1/sales/campaigns/{campaign_id}/unschedule": {"post"},
    "/api/v1/sales/campaigns/{campaign_id}/recipients": {"get"},
    "/api/v1/sales/campaigns/{campaign_id}/counts": {"get"},
    "/api/v1/sales/campaign-replies": {"post"},
}


def victim_records(*, org, owner, records):
    """A draft campaign and a launched portal offer (with a recipient) of the victim."""
    from jalin.crm.models import Contact
    from jalin.sales import campaigns
    from jalin.sales.models import CampaignRecipient, Segment, SegmentMember

    contact = Contact.objects.create(organization=org, last_name="Victim Supply Secret Buyer",
                                     email="secret-buyer@victim.example", email_opt_in=True,
                                     account=records["crm_account"])
    segment = Segment.objects.create(organization=org, name="Victim Supply Secret segment",
                                     kind="static", member_count=1)
    SegmentMember.objects.create(segment=segment, contact=contact,
                                 account=records["crm_account"])
    draft = campaigns.campaign_create(
        organization=org, actor=owner, name="Victim Supply Secret campaign", segment=segment,
        variants=[{"name": "A", "subject": "Victim Supply Secret", "body": "x"}])
    offer = campaigns.campaign_create(
        organization=org, actor=owner, name="Victim Supply Secret offer", segment=segment,
        channel="email",
        variants=[{"name": "A", "subject": "Victim Supply Secret offer", "body": "x",
                   "offer_url": "/hub/"}])
    campaigns.campaign_launch(campaign=offer, actor=owner)
    campaigns.campaign_prepare(campaign_id=offer.pk)
    recipient = CampaignRecipient.objects.get(campaign=offer)
    return {"sales_campaign": draft, "sales_variant": draft.variants.get(),
            "sales_recipient_token": recipient.token}
