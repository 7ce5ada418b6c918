"""Attribution of hub orders to campaign recipients.

The hub emits `hub.order.submitted` when a buyer places an order (payload: order_id,
supplier_id, buyer_id, total, currency; the event's organization is the supplier). The
consumer `sales.campaign_attribution` finds the recipients of that supplier's campaigns whose
account is linked to the ordering buyer (`CampaignRecipient.buyer`, or the account's
`hub_organization` when the launch did not copy it) and credits the order to each whose
exposure lies within the campaign's `attribution_days` before the order:

- a variant recipient is exposed when it was sent (`sent_at`);
- a holdout recipient (variant null, not skipped) is never sent anything: it is "exposed" when
  the campaign went out (the launch stamps that time on its `sent_at`; else
  `Campaign.sent_at`). That is what makes it the control group — it is attributed exactly
  like the others;
- an order that used the campaign's hub promotion (an order line carrying it) counts even after
  the window, as long as it came after the exposure.

Each credit is a `CampaignAttribution(recipient, order, amount)` row under a unique
constraint; the recipient's `converted_at` is the first attributed order's time and `revenue`
adds the order's net total once per order. A redelivered event (the dispatcher is
at-least-once) or the same order seen twice changes nothing. `hub.order.cancelled` takes the
credit back (revenue minus, `converted_at` recomputed from what is left).

Leads and opportunities carry `campaign` themselves (web form, UTM, conversion, staff); the
results count them directly (see `campaign_results`).
"""

import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Min, Q, Sum

from jalin.core.events import idempotent
from jalin.hub import order_selectors
from jalin.hub.models import OrderLine

from .models import AttributionVia, CampaignAttribution, CampaignRecipient

CONSUMER = "sales.campaign_attribution"
PLACED_EVENT_TYPES = ("hub.order.submitted",)
CANCELLED_EVENT_TYPES = ("hub.order.cancelled",)
EVENT_TYPES = PLACED_EVENT_TYPES + CANCELLED_EVENT_TYPES
# Nothing is attributed to a send older than this, whatever a campaign's window says
# (the field allows up to 32767 days; the candidate query needs a bound).
MAX_WINDOW_DAYS = 366


def _id(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _promotion_ids(order_id):
    """The hub promotions the order's lines used (empty while hub pricing records none)."""
    if not any(field.name == "promotion" for field in OrderLine._meta.get_fields()):
        return set()
    return set(OrderLine.objects.filter(order_id=order_id, promotion__isnull=False)
               .values_list("promotion_id", flat=True))


def _exposed_at(recipient):
    if recipient.variant_id is not None:
        return recipient.sent_at
    # The holdout: when the campaign went out (the launch stamps it on the holdout's rows;
    # the campaign's own time covers rows made before that).
    return recipient.sent_at or recipient.campaign.sent_at


def attributable(*, recipient, ordered_at, promotion_ids=()):
    """How the order counts for this recipient (an AttributionVia), or None."""
    exposed = _exposed_at(recipient)
    if exposed is None or exposed > ordered_at:
        return None
    window = datetime.timedelta(days=min(recipient.campaign.attribution_days, MAX_WINDOW_DAYS))
    if ordered_at <= exposed + window:
        return AttributionVia.WINDOW
    if recipient.campaign.promotion_id and recipient.campaign.promotion_id in promotion_ids:
        return AttributionVia.PROMOTION
    return None


def candidates(*, supplier_id, buyer_id, ordered_at):
    """Recipients of the supplier's campaigns linked to the buyer that were (or whose
    campaign was) exposed before the order and not too long before."""
    earliest = ordered_at - datetime.timedelta(days=MAX_WINDOW_DAYS)
    return (CampaignRecipient.objects
            .filter(campaign__organization_id=supplier_id, skipped_reason="")
            .filter(Q(buyer_id=buyer_id)
                    | Q(buyer__isnull=True, account__hub_organization_id=buyer_id))
            .filter(Q(sent_at__lte=ordered_at, sent_at__gte=earliest)
                    | Q(variant__isnull=True, sent_at__isnull=True,
                        campaign__sent_at__lte=ordered_at, campaign__sent_at__gte=earliest))
            # One order everywhere: concurrent credits lock recipients in the same sequence.
            .select_related("campaign").order_by("pk"))


def attribute_order(*, supplier, order_id):
    """Credit one hub order (of `supplier`) to the recipients it belongs to. Idempotent;
    returns the number of new attributions."""
    order = (order_selectors.orders_for(organization=supplier, side="supplier")
        .filter(pk=order_id).values("buyer_id", "total_net", "currency", "created_at",
                                    "submitted_at", "status").first())
    if order is None or order["status"] == "cancelled":
        return 0
    ordered_at = order["submitted_at"] or order["created_at"]
    promotion_ids = _promotion_ids(order_id)
    amount = Decimal(order["total_net"])
    created = 0
    with transaction.atomic():
        for recipient in candidates(supplier_id=supplier.pk, buyer_id=order["buyer_id"],
                                    ordered_at=ordered_at):
            via = attributable(recipient=recipient, ordered_at=ordered_at,
                               promotion_ids=promotion_ids)
            if via is None:
                continue
            try:
                with transaction.atomic():
                    CampaignAttribution.objects.create(
                        recipient=recipient, order_id=order_id, amount=amount,
                        currency=order["currency"], ordered_at=ordered_at, via=via)
            except IntegrityError:
                continue  # credited before
            _refresh_recipient(recipient.pk)
            created += 1
    return created


def _refresh_recipient(recipient_id):
    """converted_at and revenue from the recipient's attributions (exact whatever happened
    before: a credit added twice or taken back is never double counted). The recipient row
    is locked first, so two orders credited at once both end up in the sum."""
    CampaignRecipient.objects.select_for_update().filter(pk=recipient_id).first()
    figures = CampaignAttribution.objects.filter(recipient_id=recipient_id).aggregate(
        first=Min("ordered_at"), total=Sum("amount"))
    CampaignRecipient.objects.filter(pk=recipient_id).update(
        converted_at=figures["first"], revenue=figures["total"] or Decimal("0"))


def withdraw_order(*, order_id):
    """A cancelled order no longer counts for anyone."""
    with transaction.atomic():
        recipient_ids = list(CampaignAttribution.objects.filter(order_id=order_id)
                             .values_list("recipient_id", flat=True))
        CampaignAttribution.objects.filter(order_id=order_id).delete()
        for recipient_id in recipient_ids:
            _refresh_recipient(recipient_id)
    return len(recipient_ids)


def attribute_from_event(event):
    data = event.payload or {}
    order_id = _id(data.get("order_id")) or _id(event.aggregate_id)
    if order_id is None or event.organization_id is None:
        return
    with idempotent(CONSUMER, event) as first_time:
        if not first_time:
            return
        if event.type in CANCELLED_EVENT_TYPES:
            withdraw_order(order_id=order_id)
        else:
            attribute_order(supplier=event.organization, order_id=order_id)

