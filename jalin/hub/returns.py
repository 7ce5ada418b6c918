"""Returns (RMA): a buyer sends delivered goods back, the supplier approves or rejects the
request, receives the goods (restocking what can be sold again) and credits them.

Lifecycle (`ACTIONS`, `TRANSITIONS`)::

    requested → approved (supplier, orders.fulfil) | rejected (supplier, with a note)
              → cancelled (buyer, orders.place)
    approved  → received (supplier, orders.fulfil: per-line quantity back, condition, restock)
    received  → credited (supplier, finance.edit: credit notes against the invoices)

Rules:

- only lines of a delivered (or closed) order, and at most the shipped quantity minus what is
  already in other requests that were not rejected or cancelled (for a received request, what
  actually came back). The order row is locked while checking, so two concurrent requests
  cannot return the same unit twice;
- within the supplier's return window (`SupplierSettings.return_window_days`, default 30 days
  after delivery; 0 means the supplier takes no returns).

Every transition is recorded in `ReturnStatusChange`, written to the audit log and emitted as
`hub.return.<status>` (organization = the supplier, payload with `buyer_id`).
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass

from django.db import IntegrityError
from django.db.models import Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from jalin.core.audit import audit_record
from jalin.core.events import emit_event
from jalin.tenancy.roles import FINANCE_EDIT, ORDERS_FULFIL, ORDERS_PLACE, has_perm
from jalin.tenancy.services import StaleVersion

from . import invoicing, numbering, stock
from .models import (
    Invoice,
    InvoiceKind,
    Order,
    OrderStatus,
    OrderStatusChange,
    ReturnCondition,
    ReturnCredit,
    ReturnLine,
    ReturnReason,
    ReturnRequest,
    ReturnStatus,
    ReturnStatusChange,
    SupplierSettings,
    Warehouse,
)
from .orders import BUYER, MAX_LINES, MAX_QUANTITY, SUPPLIER, _retrying, side_of
from .services import HubError

S = ReturnStatus
DEFAULT_WINDOW_DAYS = 30
RETURNABLE_ORDER_STATUSES = (OrderStatus.DELIVERED, OrderStatus.CLOSED)
# Requests that hold their quantities (a rejected or cancelled one gives them back).
HOLDING = (S.REQUESTED, S.APPROVED, S.RECEIVED, S.CREDITED)


@dataclass(frozen=True)
class Action:
    side: str
    perm: str
    sources: tuple
    target: str
    label: object


ACTIONS = {
    "approve": Action(SUPPLIER, ORDERS_FULFIL, (S.REQUESTED,), S.APPROVED,
                      gettext_lazy("Approve")),
    "reject": Action(SUPPLIER, ORDERS_FULFIL, (S.REQUESTED,), S.REJECTED,
                     gettext_lazy("Reject")),
    "cancel": Action(BUYER, ORDERS_PLACE, (S.REQUESTED,), S.CANCELLED,
                     gettext_lazy("Withdraw request")),
    "receive": Action(SUPPLIER, ORDERS_FULFIL, (S.APPROVED,), S.RECEIVED,
                      gettext_lazy("Receive goods")),
    "credit": Action(SUPPLIER, FINANCE_EDIT, (S.RECEIVED,), S.CREDITED,
                     gettext_lazy("Issue credit note")),
}

TRANSITIONS = {
    S.REQUESTED: {S.APPROVED, S.REJECTED, S.CANCELLED},
    S.APPROVED: {S.RECEIVED},
    S.RECEIVED: {S.CREDITED},
    S.REJECTED: set(),
    S.CANCELLED: set(),
    S.CREDITED: set(),
}


def _user(actor):
    return actor if getattr(actor, "pk", None) else None


def _check_int(value, *, low, high, field):
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise HubError(_("Enter a whole number between %(low)s and %(high)s.") % {
            "low": low, "high": high}, code="invalid_quantity", field=field)


# --- Reads the rules need ------------------------------------------------------------------


def delivered_at(order):
    """When the order was marked delivered (its status history); None if it never was."""
    return (OrderStatusChange.objects.filter(order_id=order.pk,
                                             to_status=OrderStatus.DELIVERED)
            .order_by("-at").values_list("at", flat=True).first())


def return_window_days(supplier_id):
    value = (SupplierSettings.objects.filter(supplier_id=supplier_id)
             .values_list("return_window_days", flat=True).first())
    return DEFAULT_WINDOW_DAYS if value is None else value


def window_ends(order):
    """The last moment a return may be requested for this order, or None (no returns)."""
    days = return_window_days(order.supplier_id)
    delivered = delivered_at(order)
    if not days or delivered is None:
        return None
    return delivered + datetime.timedelta(days=days)


def returned_quantities(order_line_ids, *, exclude_return_id=None):
    """{order line id: units held by returns that were not rejected or cancelled}."""
    queryset = ReturnLine.objects.filter(order_line_id__in=list(order_line_ids),
                                         return_request__status__in=HOLDING)
    if exclude_return_id is not None:
        queryset = queryset.exclude(return_request_id=exclude_return_id)
    rows = (queryset.values("order_line_id")
            .annotate(total=Sum(Coalesce("received_quantity", "quantity")))
            .values_list("order_line_id", "total"))
    return dict(rows)


def returnable_quantities(order, lines=None):
    """{order line id: units that may still be returned} (shipped − held by returns)."""
    lines = list(order.lines.all()) if lines is None else lines
    held = returned_quantities([line.pk for line in lines])
    return {line.pk: max(line.shipped_quantity - held.get(line.pk, 0), 0) for line in lines}


def can_request_return(order, membership):
    """Whether the order page offers "Request a return" (the service decides for real)."""
    return (side_of(order, membership.organization if membership else None) == BUYER
            and has_perm(membership, ORDERS_PLACE)
            and order.status in RETURNABLE_ORDER_STATUSES)


def actions_for(return_request, membership):
    side = side_of(return_request, membership.organization if membership else None)
    return [name for name, action in ACTIONS.items()
            if action.side == side and return_request.status in action.sources
            and has_perm(membership, action.perm)]


def action_label(name):
    return str(ACTIONS[name].label)


# --- Events --------------------------------------------------------------------------------


def return_payload(return_request):
    return {"return_id": return_request.pk, "number": return_request.number,
            "order_id": return_request.order_id,
            "order_number": return_request.order.number,
            "supplier_id": return_request.supplier_id, "buyer_id": return_request.buyer_id,
            "status": return_request.status}


def _record(return_request, *, from_status, actor, comment="", extra=None):
    ReturnStatusChange.objects.create(return_request=return_request, from_status=from_status,
                                      to_status=return_request.status, actor=_user(actor),
                                      comment=(comment or "")[:500])
    audit_record(actor=actor, organization=return_request.supplier,
                 action=f"hub.return.{return_request.status}", obj=return_request,
                 before={"status": from_status} if from_status else None,
                 after={"status": return_request.status, "comment": (comment or "")[:200],
                        **(extra or {})})
    emit_event(type=f"hub.return.{return_request.status}",
               organization=return_request.supplier, aggregate=return_request, actor=actor,
               payload={**return_payload(return_request), **(extra or {})})


# --- Requesting a return (buyer) -----------------------------------------------------------


def _normalize_lines(lines):
    """[(order_line_id, quantity, reason)] → [(index, id, quantity, reason)], validated."""
    if not lines:
        raise HubError(_("Choose at least one line to return."), code="no_lines",
                       field="lines")
    if len(lines) > MAX_LINES:
        raise HubError(_("A return has at most %(max)s lines.") % {"max": MAX_LINES},
                       code="too_many_lines", field="lines")
    seen, result = set(), []
    for index, (line_id, quantity, reason) in enumerate(lines):
        _check_int(quantity, low=1, high=MAX_QUANTITY, field=f"lines[{index}].quantity")
        if reason not in ReturnReason.values:
            raise HubError(_("Choose a reason."), code="invalid_reason",
                           field=f"lines[{index}].reason")
        if line_id in seen:
            raise HubError(_("This order line is listed twice."), code="duplicate_line",
                           field=f"lines[{index}].order_line_id")
        seen.add(line_id)
        result.append((index, line_id, quantity, reason))
    return result


def return_request_create(*, order, membership, actor, lines, note="", reason="",
                          idempotency_key=None):
    """The buyer asks to return `lines` ([(order_line_id, quantity, reason code)]) of a
    delivered order. Returns the new request (the existing one for a repeated idempotency
    key). Raises HubError and writes nothing when a line is not the order's, a quantity is
    more than can still be returned, the order is not delivered or the window has ended."""
    if side_of(order, membership.organization) != BUYER or not has_perm(membership,
                                                                        ORDERS_PLACE):
        raise HubError(_("You may not return goods of this order."), code="forbidden")
    wanted = _normalize_lines(lines)
    note, reason = (note or "").strip()[:5000], (reason or "").strip()[:200]
    if idempotency_key is not None:
        idempotency_key = str(idempotency_key)[:255]
        existing = ReturnRequest.objects.filter(buyer_id=order.buyer_id,
                                                idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing

    def create():
        # The order row is the lock every request for its lines takes: two concurrent
        # requests cannot both count the same units as still returnable.
        locked = (Order.objects.select_for_update(of=("self",))
                  .select_related("supplier", "buyer").get(pk=order.pk))
        if idempotency_key is not None:
            existing = ReturnRequest.objects.filter(buyer_id=locked.buyer_id,
                                                    idempotency_key=idempotency_key).first()
            if existing is not None:
                return existing
        if locked.status not in RETURNABLE_ORDER_STATUSES:
            raise HubError(_("Only delivered orders can be returned."), code="not_delivered",
                           field="order_id")
        days = return_window_days(locked.supplier_id)
        if not days:
            raise HubError(_("This supplier does not accept returns."),
                           code="returns_not_accepted", field="order_id")
        delivered = delivered_at(locked)
        now = timezone.now()
        if delivered is not None and delivered + datetime.timedelta(days=days) < now:
            raise HubError(
                _("Returns are accepted up to %(days)s days after delivery; for this order "
                  "that ended on %(date)s.") % {
                    "days": days,
                    "date": timezone.localtime(delivered + datetime.timedelta(days=days))
                    .date().isoformat()},
                code="return_window_closed", field="order_id")
        order_lines = {line.pk: line for line in locked.lines.all()}
        open_quantities = returnable_quantities(locked, list(order_lines.values()))
        for index, line_id, quantity, _reason in wanted:
            line = order_lines.get(line_id)
            if line is None:
                raise HubError(_("No such order line."), code="not_found",
                               field=f"lines[{index}].order_line_id")
            if quantity > open_quantities[line_id]:
                raise HubError(
                    _("Only %(count)s of %(sku)s can still be returned.") % {
                        "count": open_quantities[line_id], "sku": line.sku},
                    code="over_return", field=f"lines[{index}].quantity")
        return_request = ReturnRequest(
            supplier=locked.supplier, buyer=locked.buyer, relationship_id=locked.relationship_id,
            order=locked, status=S.REQUESTED, reason=reason, buyer_note=note,
            requested_by=_user(actor), requested_at=now, updated_at=now,
            idempotency_key=idempotency_key)
        # Last, so the counter row stays locked briefly; a rollback gives the number back.
        return_request.number = numbering.next_number(supplier_id=locked.supplier_id,
                                                      sequence=numbering.RETURN)
        return_request.save()
        ReturnLine.objects.bulk_create([
            ReturnLine(return_request=return_request, order_line_id=line_id, quantity=quantity,
                       reason=line_reason)
            for _index, line_id, quantity, line_reason in wanted])
        _record(return_request, from_status="", actor=actor, comment=reason or note[:200],
                extra={"lines": len(wanted),
                       "quantity": sum(quantity for _i, _l, quantity, _r in wanted)})
        return return_request

    try:
        return _retrying(create)
    except IntegrityError:
        if idempotency_key is not None:
            existing = ReturnRequest.objects.filter(buyer_id=order.buyer_id,
                                                    idempotency_key=idempotency_key).first()
            if existing is not None:
                return existing
        raise


# --- Transitions ---------------------------------------------------------------------------


@dataclass
class ReceivedLine:
    """What the supplier found for one return line: units back, their state, restock?"""

    line_id: int
    quantity: int | None = None  # None: all requested units came back
    condition: str = ReturnCondition.AS_NEW
    restock: bool = True


def _lock_return(return_request, version):
    locked = (ReturnRequest.objects.select_for_update(of=("self",))
              .select_related("supplier", "buyer", "order").get(pk=return_request.pk))
    if version is not None and locked.version != version:
        raise StaleVersion()
    return locked


def _move(return_request, target, *, actor, comment="", extra=None):
    if target not in TRANSITIONS[return_request.status]:
        raise HubError(_("A return that is %(status)s cannot become %(target)s.") % {
            "status": return_request.get_status_display(), "target": S(target).label},
            code="invalid_transition", field="action")
    from_status = return_request.status
    return_request.status = target
    return_request.version += 1
    return_request.updated_at = timezone.now()
    return_request.save()
    _record(return_request, from_status=from_status, actor=actor, comment=comment,
            extra=extra)


def _receive(locked, *, actor, received, warehouse_id):
    lines = {line.pk: line for line in locked.lines.select_related("order_line")}
    given = {}
    for index, entry in enumerate(received or []):
        line = lines.get(entry.line_id)
        if line is None:
            raise HubError(_("No such return line."), code="not_found",
                           field=f"lines[{index}].line_id")
        if entry.line_id in given:
            raise HubError(_("This return line is listed twice."), code="duplicate_line",
                           field=f"lines[{index}].line_id")
        quantity = line.quantity if entry.quantity is None else entry.quantity
        _check_int(quantity, low=0, high=line.quantity, field=f"lines[{index}].quantity")
        if entry.condition not in ReturnCondition.values:
            raise HubError(_("Choose the condition."), code="invalid_condition",
                           field=f"lines[{index}].condition")
        given[entry.line_id] = (quantity, entry.condition, bool(entry.restock))
    restocked = defaultdict(int)
    for line in lines.values():
        quantity, condition, restock = given.get(
            line.pk, (line.quantity, ReturnCondition.AS_NEW, True))
        line.received_quantity, line.condition = quantity, condition
        line.restock = restock and quantity > 0
        if line.restock:
            restocked[line.order_line.product_id] += quantity
    warehouse = None
    if warehouse_id is not None:
        warehouse = Warehouse.objects.filter(pk=warehouse_id, supplier_id=locked.supplier_id,
                                             is_active=True).select_related("supplier").first()
        if warehouse is None:
            raise HubError(_("No such warehouse."), code="not_found", field="warehouse_id")
    elif restocked:
        # Default: the warehouse the first restocked line was shipped from, if still active.
        first = next(line for line in lines.values() if line.restock)
        warehouse = (Warehouse.objects.filter(pk=first.order_line.warehouse_id,
                                              is_active=True).select_related("supplier")
                     .first())
        if warehouse is None:
            raise HubError(_("Choose the warehouse the goods go back into."),
                           code="warehouse_required", field="warehouse_id")
    ReturnLine.objects.bulk_update(list(lines.values()),
                                   ["received_quantity", "condition", "restock"])
    if restocked:
        stock.restock_many(warehouse=warehouse, quantities=dict(restocked), actor=actor,
                           order=locked.order, reason=f"RMA-{locked.number}")
    locked.restock_warehouse = warehouse if restocked else None
    locked.received_by, locked.received_at = _user(actor), timezone.now()
    return {"received": sum(line.received_quantity for line in lines.values()),
            "restocked": sum(restocked.values()),
            "warehouse_id": warehouse.pk if restocked else None}


def return_transition(*, return_request, action, membership, actor, note="", version=None,
                      received=None, warehouse_id=None):
    """Carry out `action` (a key of ACTIONS) for `membership`'s side of the return.

    `receive` takes `received` ([ReceivedLine]; lines not named came back in full, as new,
    restocked) and `warehouse_id` (default: the warehouse the goods were shipped from)."""
    spec = ACTIONS.get(action)
    if spec is None:
        raise HubError(_("Unknown action."), code="invalid_action", field="action")
    if side_of(return_request, membership.organization) != spec.side or not has_perm(
            membership, spec.perm):
        raise HubError(_("You may not do this to this return."), code="forbidden",
                       field="action")
    note = (note or "").strip()[:500]
    if action == "reject" and not note:
        raise HubError(_("Say why the return is rejected."), code="note_required",
                       field="note")

    def run():
        locked = _lock_return(return_request, version)
        if locked.status not in spec.sources:
            raise HubError(_("A return that is %(status)s cannot be changed this way.") % {
                "status": locked.get_status_display()}, code="invalid_transition",
                field="action")
        extra = None
        if action in ("approve", "reject"):
            locked.decided_by, locked.decided_at = _user(actor), timezone.now()
            if note:
                locked.supplier_note = note
        elif action == "receive":
            extra = _receive(locked, actor=actor, received=received,
                             warehouse_id=warehouse_id)
        elif action == "credit":
            extra = _credit(locked, actor=actor, note=note)
        _move(locked, spec.target, actor=actor, comment=note, extra=extra)
        return locked

    return _retrying(run)


# --- Crediting -----------------------------------------------------------------------------


def credit_plan(return_request):
    """{invoice id: [(invoice line id, quantity)]}: where the units that came back were
    billed, oldest invoice first, and how many of them each invoice line can still take
    (`invoicing.creditable`: its quantity less earlier credit notes). Units that were never
    invoiced need no credit and are left out."""
    remaining = {line.order_line_id: line.received_quantity
                 for line in return_request.lines.all() if line.received_quantity}
    if not remaining:
        return {}
    invoices = (Invoice.objects.filter(kind=InvoiceKind.INVOICE,
                                       supplier_id=return_request.supplier_id,
                                       buyer_id=return_request.buyer_id,
                                       lines__order_line_id__in=list(remaining))
                .distinct().order_by("id"))
    plan = {}
    for invoice in invoices:
        left = invoicing.creditable(invoice)
        for line in invoice.lines.filter(order_line_id__in=list(remaining)).order_by("id"):
            quantity = min(left[line.pk].quantity, remaining[line.order_line_id])
            if quantity > 0:
                plan.setdefault(invoice.pk, []).append((line.pk, quantity))
                remaining[line.order_line_id] -= quantity
    return plan


def _credit(locked, *, actor, note):
    plan = credit_plan(locked)
    reason = _("Return RMA-%(number)s") % {"number": locked.number}
    if note:
        reason = f"{reason}: {note}"[:500]
    issued = []
    for invoice in Invoice.objects.filter(pk__in=list(plan)).order_by("id"):
        credit_note = issue_credit_note(invoice=invoice, lines=plan[invoice.pk],
                                        reason=reason, actor=actor)
        ReturnCredit.objects.create(return_request=locked, credit_note=credit_note)
        issued.append(credit_note)
    locked.credit_note = issued[0] if issued else None
    locked.credited_by, locked.credited_at = _user(actor), timezone.now()
    return {"credit_note_ids": [note.pk for note in issued],
            "credited": str(sum((note.total_gross for note in issued), 0))}


def issue_credit_note(*, invoice, lines, reason, actor):
    """Issue one credit note for `lines` ([(invoice line id, quantity)]) of `invoice`."""
    return invoicing.credit_note_issue(invoice=invoice, lines=lines, reason=reason, actor=actor)
