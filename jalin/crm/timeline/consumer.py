"""The `crm.timeline` event consumer: domain events become lines on account/contact timelines.

It reads only the event (type, payload, organization, actor, time) plus the CRM's own tables
to check that the account/contact still exists; it never imports the hub or any other module.

- `crm.*` events carrying `account_id` / `contact_id` (the CRM event contract) land on that
  account and/or contact. A contact's line also carries its account (from the payload, or the
  contact's current account when the payload has none), so an account's timeline is one
  indexed range scan: its own lines and its contacts' lines.
- Hub and service events (`hub.relationship.*`, `hub.order.*`, `hub.invoice.*`,
  `hub.credit_note.*`, `hub.payment.*`, `hub.return.*`, RFQ and quote steps,
  service case milestones) name the buyer (`buyer_id`); the event's organization is the
  supplier. They land on the supplier's account linked to that buyer on the hub (the oldest
  one when several are linked). A service event naming its `account_id` (a case) lands on
  that account, linked to the hub or not.
- Idempotent: one line per (organization, event id), written with
  `bulk_create(ignore_conflicts=True)`, so a redelivered or replayed event changes nothing.
- A record deleted meanwhile is skipped; an event about nothing the CRM knows is ignored.
"""

from jalin.core.params import int_param
from jalin.crm.models import Account, Contact, TimelineEntry

TIMELINE_CONSUMER = "crm.timeline"

RECORD, ACTIVITY, DOCUMENT, THREAD, HUB, SERVICE, IMPORT = (
    "record", "activity", "document", "thread", "hub", "service", "import")
CATEGORIES = (RECORD, ACTIVITY, DOCUMENT, THREAD, HUB, SERVICE, IMPORT)

# Event type prefix -> category. The first match wins.
CATEGORY_BY_PREFIX = (
    ("crm.account.", RECORD),
    ("crm.contact.", RECORD),
    ("crm.activity.", ACTIVITY),
    ("crm.document.", DOCUMENT),
    ("crm.comment.", THREAD),
    ("crm.import.", IMPORT),
    # Sales: a lead converted into this account/contact (the lead's history stays on it).
    ("sales.lead.converted", RECORD),
    # Sales: a deal of this account opened, changed, moved, won, lost or reopened.
    ("sales.opportunity.created", RECORD),
    ("sales.opportunity.updated", RECORD),
    ("sales.opportunity.moved", RECORD),
    ("sales.opportunity.won", RECORD),
    ("sales.opportunity.lost", RECORD),
    ("sales.opportunity.reopened", RECORD),
    # Sales: a quote of this account's deal sent, accepted, declined, expired or withdrawn.
    ("sales.quote.sent", RECORD),
    ("sales.quote.accepted", RECORD),
    ("sales.quote.declined", RECORD),
    ("sales.quote.expired", RECORD),
    ("sales.quote.withdrawn", RECORD),
    ("hub.relationship.", HUB),
    ("hub.order.", HUB),
    ("hub.invoice.", HUB),
    ("hub.credit_note.", HUB),
    ("hub.payment.", HUB),
    ("hub.return.", HUB),
    # RFQs and quotes: the steps a salesperson cares about (an RFQ becoming quoted, accepted
    # or expired is already told by its quote's own event).
    ("hub.rfq.submitted", HUB),
    ("hub.rfq.cancelled", HUB),
    ("hub.rfq.declined", HUB),
    ("hub.quote.sent", HUB),
    ("hub.quote.accepted", HUB),
    ("hub.quote.declined", HUB),
    ("hub.quote.expired", HUB),
    # Service desk cases: the milestones, not every message or field edit.
    ("service.case.opened", SERVICE),
    ("service.case.resolved", SERVICE),
    ("service.case.closed", SERVICE),
    ("service.case.reopened", SERVICE),
    ("service.case.merged", SERVICE),
    # The older "<module>.<noun>_<verb>" spelling (docs/events.md's example).
    ("hub.order_", HUB),
    ("hub.invoice_", HUB),
    ("hub.payment_", HUB),
    ("service.case_", SERVICE),
)
BUYER_PREFIXES = ("hub.", "service.")
MAX_DATA_STRING = 300


def category_for(event_type):
    for prefix, category in CATEGORY_BY_PREFIX:
        if event_type.startswith(prefix):
            return category
    return None


def _summary(payload, event_type):
    for key in ("title", "name", "subject", "summary", "number"):
        value = payload.get(key)
        if value not in (None, ""):
            return str(value)[:MAX_DATA_STRING]
    return event_type[:MAX_DATA_STRING]


def _data(event):
    data = {}
    for key, value in (event.payload or {}).items():
        if isinstance(value, str):
            value = value[:MAX_DATA_STRING]
        elif isinstance(value, list):
            value = value[:30]
        elif isinstance(value, dict):
            continue  # nested objects are not shown on the timeline
        data[key] = value
    if event.aggregate_type:
        data["aggregate_type"] = event.aggregate_type
        data["aggregate_id"] = event.aggregate_id
    return data


def _targets(event, category):
    """(account_id, contact_id) the event belongs to, both checked to exist in the org."""
    organization_id = event.organization_id
    payload = event.payload or {}
    account_id = int_param(payload.get("account_id"), positive=True)
    # A case names its account (which need not be linked to a buyer on the hub).
    if event.type.startswith("service.") and account_id is not None and Account.objects.filter(
            organization_id=organization_id, pk=account_id).exists():
        return account_id, None
    if event.type.startswith(BUYER_PREFIXES):
        buyer_id = int_param(payload.get("buyer_id"), positive=True)
        if buyer_id is None:
            return None, None
        account_id = (
            Account.objects.filter(organization_id=organization_id, hub_organization_id=buyer_id,
                                   archived_at__isnull=True)
            .order_by("id").values_list("pk", flat=True).first()
        )
        return account_id, None
    account_id = int_param(payload.get("account_id"), positive=True)
    contact_id = int_param(payload.get("contact_id"), positive=True)
    if event.type.startswith("crm.account."):
        contact_id = None
        account_id = account_id or int_param(event.aggregate_id, positive=True)
    elif event.type.startswith("crm.contact."):
        contact_id = contact_id or int_param(event.aggregate_id, positive=True)
    if contact_id is not None:
        row = (Contact.objects.filter(organization_id=organization_id, pk=contact_id)
               .values_list("pk", "account_id").first())
        if row is None:
            contact_id = None  # deleted meanwhile
        elif account_id is None:
            account_id = row[1]
    if account_id is not None and not Account.objects.filter(
            organization_id=organization_id, pk=account_id).exists():
        account_id = None
    return account_id, contact_id


def record_timeline(event):
    """Handler of the `crm.timeline` consumer (one event, inside the delivery transaction)."""
    if event.organization_id is None:
        return
    category = category_for(event.type)
    if category is None:
        return
    account_id, contact_id = _targets(event, category)
    if account_id is None and contact_id is None:
        return
    TimelineEntry.objects.bulk_create([TimelineEntry(
        organization_id=event.organization_id,
        account_id=account_id,
        contact_id=contact_id,
        event_id=event.pk,
        event_type=event.type[:100],
        category=category,
        summary=_summary(event.payload or {}, event.type),
        actor_id=event.actor_id,
        data=_data(event),
        occurred_at=event.occurred_at,
    )], ignore_conflicts=True)
