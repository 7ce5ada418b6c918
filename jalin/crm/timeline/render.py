"""How a timeline line reads: a translated sentence built at display time from the entry's
event type and data, so a change of language (or wording) applies to old lines too.

Unknown event types get a generic line ("<event type>: <summary>"), so a module can emit new
events before anyone writes a sentence for them.
"""

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .consumer import ACTIVITY, DOCUMENT, HUB, IMPORT, RECORD, SERVICE, THREAD

SENTENCES = {
    "crm.account.created": _("Account %(title)s was created"),
    "crm.account.updated": _("Account details changed: %(changed)s"),
    "crm.account.archived": _("Account %(title)s was archived"),
    "crm.account.merged": _("Account %(title)s was merged into this one"),
    "crm.contact.created": _("Contact %(title)s was added"),
    "crm.contact.updated": _("Contact %(title)s changed: %(changed)s"),
    "crm.contact.archived": _("Contact %(title)s was removed"),
    "crm.contact.merged": _("Contact %(title)s was merged into this one"),
    "crm.contact.consent_withdrawn": _("Contact %(title)s unsubscribed from e-mail "
                                       "(%(reason)s)"),
    "crm.activity.created": _("%(kind)s planned or logged: %(title)s"),
    "crm.activity.updated": _("%(kind)s changed: %(title)s"),
    "crm.activity.completed": _("%(kind)s done: %(title)s"),
    "crm.activity.cancelled": _("%(kind)s cancelled: %(title)s"),
    "crm.activity.deleted": _("%(kind)s deleted: %(title)s"),
    "crm.document.uploaded": _("Document uploaded: %(title)s"),
    "crm.document.version_added": _("New version of document %(title)s"),
    "crm.document.updated": _("Document details changed: %(title)s"),
    "crm.document.deleted": _("Document deleted: %(title)s"),
    "crm.comment.posted": _("Comment: %(title)s"),
    "crm.comment.edited": _("Comment edited: %(title)s"),
    "crm.comment.deleted": _("A comment was deleted"),
    "crm.import.finished": _("Import finished: %(title)s"),
    "hub.relationship.created": _("Started trading on the hub (status: %(status)s)"),
    "hub.relationship.updated": _("Hub trading relationship changed (status: %(status)s)"),
    "hub.order.placed": _("Order %(title)s placed on the hub"),
    "hub.order.cancelled": _("Order %(title)s cancelled"),
    "hub.order.shipped": _("Order %(title)s shipped"),
    "hub.invoice.issued": _("Invoice %(title)s issued"),
    "hub.invoice.paid": _("Invoice %(title)s paid"),
    "hub.credit_note.issued": _("Credit note %(title)s issued"),
    "hub.payment.received": _("Payment %(title)s received"),
    "hub.return.requested": _("Return RMA-%(title)s requested"),
    "hub.return.approved": _("Return RMA-%(title)s approved"),
    "hub.return.rejected": _("Return RMA-%(title)s rejected"),
    "hub.return.cancelled": _("Return RMA-%(title)s withdrawn by the buyer"),
    "hub.return.received": _("Goods of return RMA-%(title)s received"),
    "hub.return.credited": _("Return RMA-%(title)s credited"),
    "hub.rfq.submitted": _("Request for quotation received: %(title)s"),
    "hub.rfq.cancelled": _("Request for quotation cancelled by the customer: %(title)s"),
    "hub.rfq.declined": _("Request for quotation closed without an order: %(title)s"),
    "hub.quote.sent": _("Quote sent: %(title)s (%(total)s)"),
    "hub.quote.accepted": _("Quote accepted: %(title)s (%(total)s)"),
    "hub.quote.declined": _("Quote declined: %(title)s"),
    "hub.quote.expired": _("Quote expired: %(title)s"),
    "hub.payment.recorded": _("Payment %(title)s received"),
    "hub.payment.allocated": _("Payment %(title)s allocated to an invoice"),
    "hub.payment.reversed": _("Payment %(title)s reversed"),
    "hub.invoice.overdue": _("Overdue reminder sent for invoice %(title)s"),
    "sales.lead.converted": _("Converted from lead %(title)s"),
    "sales.opportunity.created": _("Opportunity %(title)s opened (%(total)s)"),
    "sales.opportunity.updated": _("Opportunity %(title)s changed: %(changed)s"),
    "sales.opportunity.moved": _("Opportunity %(title)s moved to %(stage)s"),
    "sales.opportunity.won": _("Opportunity %(title)s won (%(total)s)"),
    "sales.opportunity.lost": _("Opportunity %(title)s lost: %(reason)s"),
    "sales.opportunity.reopened": _("Opportunity %(title)s reopened in %(stage)s"),
    "sales.quote.sent": _("Sales quote for %(title)s sent (%(total)s)"),
    "sales.quote.accepted": _("Sales quote for %(title)s accepted (%(total)s)"),
    "sales.quote.declined": _("Sales quote for %(title)s declined"),
    "sales.quote.expired": _("Sales quote for %(title)s expired"),
    "sales.quote.withdrawn": _("Sales quote for %(title)s withdrawn"),
    "service.case.opened": _("Service case opened: %(title)s"),
    "service.case.resolved": _("Service case resolved: %(title)s"),
    "service.case.closed": _("Service case closed: %(title)s"),
    "service.case.reopened": _("Service case reopened: %(title)s"),
    "service.case.merged": _("Service case merged into another (duplicate): %(title)s"),
}
GENERIC = _("%(event_type)s: %(title)s")

CATEGORY_LABELS = {
    RECORD: pgettext_lazy("timeline category", "Records"),
    ACTIVITY: pgettext_lazy("timeline category", "Activities"),
    DOCUMENT: pgettext_lazy("timeline category", "Documents"),
    THREAD: pgettext_lazy("timeline category", "Comments"),
    HUB: pgettext_lazy("timeline category", "Hub"),
    SERVICE: pgettext_lazy("timeline category", "Service"),
    IMPORT: pgettext_lazy("timeline category", "Imports"),
}
# A character per category, shown as the line's icon (plain text: no icon font needed).
ICONS = {RECORD: "✎", ACTIVITY: "☎", DOCUMENT: "📄", THREAD: "💬", HUB: "⇄", SERVICE: "🛠",
         IMPORT: "⇪"}
ACTIVITY_KINDS = {
    "call": _("Call"), "meeting": _("Meeting"), "task": _("Task"), "note": _("Note"),
}
# Aggregate type -> (url name, the data key holding its id) for "open the record" links.
RECORD_LINKS = {
    "crm.activity": "crm:activity_detail",
    "crm.document": "crm:document_detail",
    "service.case": "service:case_detail",
    "sales.opportunity": "sales:opportunity_detail",
}


def _changed_text(value):
    if isinstance(value, list):
        return ", ".join(str(item) for item in value[:8]) + ("…" if len(value) > 8 else "")
    return str(value or "")


def sentence(entry):
    """The translated line for a TimelineEntry (or anything with event_type/data/summary)."""
    data = entry.data or {}
    values = {
        "title": entry.summary,
        "changed": _changed_text(data.get("changed")),
        "status": str(data.get("status") or ""),
        "kind": ACTIVITY_KINDS.get(data.get("kind"), _("Activity")),
        "event_type": entry.event_type,
        "total": " ".join(str(part) for part in (data.get("currency"), data.get("total"))
                          if part) or "—",
        "stage": str(data.get("stage") or ""),
        "reason": str(data.get("reason") or "—"),
    }
    template = SENTENCES.get(entry.event_type, GENERIC)
    return str(template) % values


def category_label(category):
    return str(CATEGORY_LABELS.get(category, category))


def icon(category):
    return ICONS.get(category, "•")


def record_url(entry, existing):
    """Link to the activity/document the line is about, when it still exists.

    `existing` is {aggregate type: set of ids still present}, fetched once per page."""
    data = entry.data or {}
    aggregate_type = data.get("aggregate_type")
    url_name = RECORD_LINKS.get(aggregate_type)
    if url_name is None:
        return ""
    try:
        pk = int(data.get("aggregate_id"))
    except (TypeError, ValueError):
        return ""
    if pk not in existing.get(aggregate_type, ()):
        return ""
    try:
        return reverse(url_name, kwargs={"pk": pk})
    except NoReverseMatch:
        return ""
