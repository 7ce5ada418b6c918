"""Outsider walk and API-docs routes for the timeline."""

from . import REFUSE, Route

ROUTES = {
    "crm/accounts/<int:pk>/timeline/": Route(REFUSE, kwargs={"pk": "crm_account"},
                                             methods=("GET",)),
    "crm/contacts/<int:pk>/timeline/": Route(REFUSE, kwargs={"pk": "crm_contact"},
                                             methods=("GET",)),
    "api/v1/crm/accounts/<account_id>/timeline": Route(
        REFUSE, kwargs={"account_id": "crm_account"}, methods=("GET",)),
    "api/v1/crm/contacts/<contact_id>/timeline": Route(
        REFUSE, kwargs={"contact_id": "crm_contact"}, methods=("GET",)),
}

API_ROUTES = {
    "/api/v1/crm/accounts/{account_id}/timeline": {"get"},
    "/api/v1/crm/contacts/{contact_id}/timeline": {"get"},
}


def victim_records(*, org, owner, records):
    from django.utils import timezone

    from jalin.crm.models import TimelineEntry

    TimelineEntry.objects.create(
        organization=org, account=records["crm_account"], contact=records["crm_contact"],
        event_id=-424242, event_type="crm.comment.posted", category="thread",
        summary="Victim Supply Secret timeline line", data={}, occurred_at=timezone.now())
    return {}
