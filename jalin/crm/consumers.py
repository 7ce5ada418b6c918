"""Event consumers of the CRM: how facts from other modules reach it without imports."""

from django.utils import timezone

from jalin.tenancy.models import Organization

from .models import HubBuyerLink

HUB_BUYER_LINKS = "crm.hub_buyer_links"
RELATIONSHIP_EVENT_TYPES = ("hub.relationship.created", "hub.relationship.updated")


def record_hub_buyer_link(event):
    """Upsert the supplier's link to the buyer named in a `hub.relationship.*` event.

    Idempotent and order-safe: a link remembers the position of the event it came from, and an
    event at or before that position (a redelivery, a replayed dead letter) changes nothing.
    """
    buyer_id = (event.payload or {}).get("buyer_id")
    if event.organization_id is None or buyer_id is None:
        return
    if not Organization.objects.filter(pk=buyer_id).exists():
        return  # the buyer has since been deleted; nothing to link to
    status = (event.payload or {}).get("status")
    link, created = HubBuyerLink.objects.select_for_update().get_or_create(
        organization_id=event.organization_id, buyer_id=buyer_id,
        defaults={"status": status or "active",
                  "updated_from_event_position": event.position},
    )
    if created or link.updated_from_event_position >= event.position:
        return
    link.status = status or link.status
    link.updated_from_event_position = event.position
    link.updated_at = timezone.now()
    link.save(update_fields=["status", "updated_from_event_position", "updated_at"])
