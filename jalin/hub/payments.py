"""Payments: recording money received, allocating it to invoices, reversing a mistaken manual
payment, and overdue reminders.

Rules:

- A payment belongs to one trading relationship (supplier ← buyer) and one currency; it can
  only settle invoices (kind `invoice`) of that relationship in that currency.
- Allocations are explicit (`[(invoice_id, amount)]`) or automatic: the invoices with a
  balance, oldest due date first. What is not allocated stays on the buyer's account as a
  credit (`Payment.unallocated`) and can be allocated later (`payment_allocate`).
- Never over-allocate a payment or over-settle an invoice: both are refused with a HubError
  before the database check constraints would be hit.
- Lock order, everywhere: the payment (or the provider checkout), then invoices by id, then
  the payment-number counter last (`numbering.next_number`), so concurrent payments,
  allocations, reversals and provider webhooks cannot deadlock each other.
- Every change is audited and emitted in its transaction: `hub.payment.recorded`,
  `hub.payment.allocated`, `hub.payment.reversed`, `hub.invoice.paid` and
  `hub.invoice.overdue` (organization = the supplier; payloads carry `buyer_id`).
"""

import datetime
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from jalin.core.audit import audit_record
from jalin.core.events import emit_event
from jalin.core.notifications import notify
from jalin.tenancy.models import Membership
from jalin.tenancy.roles import FINANCE_VIEW, PERMISSIONS

from . import numbering, tax
from .models import (
    Invoice,
    InvoiceKind,
    InvoiceReminder,
    InvoiceStatus,
    Payment,
    PaymentAllocation,
    PaymentMethod,
    PaymentReversal,
    TradingRelationship,
)
from .services import HubError

MAX_ALLOCATIONS = 200
MAX_AMOUNT = Decimal("9999999999999999.99")
MANUAL_METHODS = (PaymentMethod.BANK_TRANSFER, PaymentMethod.CASH, PaymentMethod.OTHER)
OPEN_INVOICE_STATUSES = (InvoiceStatus.OPEN, InvoiceStatus.PARTIALLY_PAID)

# Overdue reminders: level → days after the due date. Override with the setting
# JALIN_INVOICE_REMINDER_DAYS (a list of days, level 1 first; the last level is "final").
DEFAULT_REMINDER_DAYS = (1, 7, 14)
REMINDER_BATCH = 200


def _user(actor):
    return actor if getattr(actor, "pk", None) else None


def _money(value):
    return str(Decimal(value).quantize(Decimal("0.01")))


# --- Validation ------------------------------------------------------------------------------


def clean_amount(value, currency, *, field="amount", allow_zero=False):
    """A positive Decimal with at most the currency's minor-unit digits, or a HubError."""
    try:
        amount = Decimal(str(value).strip().replace(",", "")) if value not in (None, "") \
            else None
    except (InvalidOperation, ValueError):
        amount = None
    if amount is None or not amount.is_finite():
        raise HubError(_("Enter an amount."), code="invalid_amount", field=field)
    if amount < 0 or (amount == 0 and not allow_zero):
        raise HubError(_("The amount must be more than zero."), code="invalid_amount",
                       field=field)
    if amount > MAX_AMOUNT:
        raise HubError(_("The amount is too large."), code="invalid_amount", field=field)
    if tax.round_money(amount, currency) != amount:
        raise HubError(_("%(currency)s amounts have at most %(digits)s decimals.") % {
            "currency": currency, "digits": -tax.minor_unit(currency).as_tuple().exponent},
            code="invalid_amount", field=field)
    return tax.round_money(amount, currency)


def _clean_currency(currency):
    currency = (currency or "").strip().upper()
    if len(currency) != 3 or not currency.isalpha():
        raise HubError(_("Enter a three-letter currency code."), code="invalid_currency",
                       field="currency")
    return currency


# --- Invoice settlement ----------------------------------------------------------------------


def invoice_payload(invoice):
    return {"invoice_id": invoice.pk, "number": invoice.number, "title": str(invoice),
            "supplier_id": invoice.supplier_id, "buyer_id": invoice.buyer_id,
            "total": _money(invoice.total_gross), "settled": _money(invoice.amount_settled),
            "balance": _money(invoice.balance), "currency": invoice.currency,
            "status": invoice.status}


def _settle(invoice, delta, *, actor, now, payment=None):
    """Add `delta` (negative: take back) to the invoice's settled amount; status and paid_at
    follow. Emits hub.invoice.paid when the balance reaches zero."""
    was_paid = invoice.status == InvoiceStatus.PAID
    invoice.amount_settled += delta
    if invoice.amount_settled < 0 or invoice.amount_settled > invoice.total_gross:
        raise HubError(_("Invoice %(number)s cannot be settled by this amount.") % {
            "number": invoice.number}, code="over_settled", field="amount")
    if invoice.amount_settled == invoice.total_gross:
        invoice.status = InvoiceStatus.PAID
        invoice.paid_at = invoice.paid_at or now
    else:
        invoice.status = (InvoiceStatus.PARTIALLY_PAID if invoice.amount_settled > 0
                          else InvoiceStatus.OPEN)
        invoice.paid_at = None
    invoice.version += 1
    invoice.save(update_fields=["amount_settled", "status", "paid_at", "version"])
    if invoice.status == InvoiceStatus.PAID and not was_paid:
        audit_record(actor=actor, organization=invoice.supplier, action="hub.invoice.paid",
                     obj=invoice, after={"paid_at": now.isoformat()})
        emit_event(type="hub.invoice.paid", organization=invoice.supplier, aggregate=invoice,
                   actor=actor, payload={**invoice_payload(invoice),
                                         "payment_id": payment.pk if payment else None})


def _lock_invoices(ids):
    """Lock invoices in id order (the one lock order of the hub's billing)."""
    return {invoice.pk: invoice for invoice in
            Invoice.objects.select_for_update(of=("self",)).select_related("supplier")
            .filter(pk__in=sorted(set(ids))).order_by("pk")}


def open_invoices(*, relationship, currency=None):
    """Invoices of the relationship with a balance, oldest due first."""
    queryset = Invoice.objects.filter(
        supplier_id=relationship.supplier_id, buyer_id=relationship.buyer_id,
        kind=InvoiceKind.INVOICE, status__in=OPEN_INVOICE_STATUSES)
    if currency:
        queryset = queryset.filter(currency=currency)
    return queryset.order_by("due_date", "id")


def _check_invoice(invoice, payment_like, field):
    """The invoice must be an open invoice of the payment's relationship, same currency."""
    if (invoice is None or invoice.supplier_id != payment_like.supplier_id
            or invoice.buyer_id != payment_like.buyer_id or invoice.kind != InvoiceKind.INVOICE):
        raise HubError(_("No such invoice."), code="not_found", field=field)
    if invoice.currency != payment_like.currency:
        raise HubError(_("Invoice %(number)s is in %(currency)s, not in the payment's "
                         "currency.") % {"number": invoice.number,
                                         "currency": invoice.currency},
                       code="currency_mismatch", field=field)
    if invoice.balance <= 0:
        raise HubError(_("Invoice %(number)s is already paid.") % {"number": invoice.number},
                       code="already_paid", field=field)


def _plan_allocations(*, payment_like, amount, allocations, invoices):
    """[(invoice, amount)] for explicit allocations (checked) or automatic ones."""
    plan = []
    if allocations is None:
        remaining = amount
        for invoice in sorted(invoices.values(), key=lambda inv: (inv.due_date, inv.pk)):
            if remaining <= 0:
                break
            if invoice.balance <= 0:
                continue
            share = min(remaining, invoice.balance)
            plan.append((invoice, share))
            remaining -= share
        return plan
    seen, total = set(), Decimal(0)
    for index, (invoice_id, share) in enumerate(allocations):
        invoice = invoices.get(invoice_id)
        _check_invoice(invoice, payment_like, f"allocations[{index}].invoice_id")
        if invoice_id in seen:
            raise HubError(_("Invoice %(number)s is named twice.") % {"number": invoice.number},
                           code="duplicate", field=f"allocations[{index}].invoice_id")
        seen.add(invoice_id)
        share = clean_amount(share, payment_like.currency, field=f"allocations[{index}].amount")
        if share > invoice.balance:
            raise HubError(_("Invoice %(number)s has only %(balance)s left to pay.") % {
                "number": invoice.number, "balance": invoice.balance},
                code="over_settled", field=f"allocations[{index}].amount")
        total += share
        plan.append((invoice, share))
    if total > amount:
        raise HubError(_("The allocations (%(total)s) are more than the payment (%(amount)s).")
                       % {"total": total, "amount": amount}, code="over_allocated",
                       field="allocations")
    return plan


def _allocate(payment, plan, *, actor, now):
    rows = [PaymentAllocation(invoice=invoice, payment=payment, amount=share,
                              created_by=_user(actor), created_at=now)
            for invoice, share in plan]
    PaymentAllocation.objects.bulk_create(rows)
    for invoice, share in plan:
        _settle(invoice, share, actor=actor, now=now, payment=payment)
    payment.amount_allocated += sum((share for _invoice, share in plan), Decimal(0))
    if payment.amount_allocated > payment.amount:  # pragma: no cover - refused above
        raise HubError(_("The payment is over-allocated."), code="over_allocated")
    return rows


def payment_payload(payment, plan=()):
    return {"payment_id": payment.pk, "number": payment.number, "title": str(payment),
            "supplier_id": payment.supplier_id, "buyer_id": payment.buyer_id,
            "amount": _money(payment.amount), "allocated": _money(payment.amount_allocated),
            "currency": payment.currency, "method": payment.method,
            "allocations": [{"invoice_id": invoice.pk, "invoice_number": invoice.number,
                             "amount": _money(share)} for invoice, share in plan]}


# --- Recording ---------------------------------------------------------------------------------


class _Draft:
    """What a payment will be, before it has a row (for the checks shared with allocation)."""

    def __init__(self, relationship, currency):
        self.supplier_id = relationship.supplier_id
        self.buyer_id = relationship.buyer_id
        self.currency = currency


def _existing(supplier_id, idempotency_key):
    if idempotency_key is None:
        return None
    return Payment.objects.filter(supplier_id=supplier_id,
                                  idempotency_key=idempotency_key).first()


def payment_record(*, relationship, amount, currency, received_on, method, reference, actor,
                   allocations=None, idempotency_key=None):
    """Record money the supplier received from the relationship's buyer.

    `allocations`: [(invoice_id, amount)] or None for automatic allocation (oldest due
    first). Returns the payment (the existing one for a repeated idempotency key)."""
    if method not in MANUAL_METHODS:
        raise HubError(_("Choose how the money was received."), code="invalid_method",
                       field="method")
    return _record(relationship=relationship, amount=amount, currency=currency,
                   received_on=received_on, method=method, reference=reference, actor=actor,
                   allocations=allocations, idempotency_key=idempotency_key)


def _record(*, relationship, amount, currency, received_on, method, reference, actor,
            allocations=None, idempotency_key=None, provider="", provider_reference=""):
    currency = _clean_currency(currency)
    amount = clean_amount(amount, currency)
    if not isinstance(received_on, datetime.date):
        raise HubError(_("Enter the date the money was received."), code="invalid_date",
                       field="received_on")
    if received_on > timezone.localdate() + datetime.timedelta(days=1):
        raise HubError(_("The date cannot be in the future."), code="invalid_date",
                       field="received_on")
    if allocations is not None:
        allocations = list(allocations)
        if len(allocations) > MAX_ALLOCATIONS:
            raise HubError(_("At most %(max)s allocations.") % {"max": MAX_ALLOCATIONS},
                           code="too_many", field="allocations")
        for index, item in enumerate(allocations):
            if (not isinstance(item, (list, tuple)) or len(item) != 2
                    or not isinstance(item[0], int) or isinstance(item[0], bool)):
                raise HubError(_("No such invoice."), code="not_found",
                               field=f"allocations[{index}].invoice_id")
    if idempotency_key is not None:
        idempotency_key = str(idempotency_key)[:255]
        existing = _existing(relationship.supplier_id, idempotency_key)
        if existing is not None:
            return existing
    draft = _Draft(relationship, currency)

    def run():
        now = timezone.now()
        if allocations is not None:
            ids = [invoice_id for invoice_id, _share in allocations]
        else:
            ids = list(open_invoices(relationship=relationship, currency=currency)
                       .values_list("pk", flat=True)[:MAX_ALLOCATIONS])
        invoices = _lock_invoices(ids)
        if allocations is None:
            invoices = {pk: inv for pk, inv in invoices.items()
                        if inv.kind == InvoiceKind.INVOICE and inv.currency == currency
                        and inv.supplier_id == draft.supplier_id
                        and inv.buyer_id == draft.buyer_id}
        plan = _plan_allocations(payment_like=draft, amount=amount, allocations=allocations,
                                 invoices=invoices)
        payment = Payment(
            supplier_id=relationship.supplier_id, buyer_id=relationship.buyer_id,
            relationship=relationship, method=method, amount=amount, currency=currency,
            received_on=received_on, reference=(reference or "").strip()[:120],
            provider=provider, provider_reference=provider_reference,
            recorded_by=_user(actor), created_at=now, idempotency_key=idempotency_key)
        payment.number = numbering.next_number(supplier_id=relationship.supplier_id,
                                               sequence=numbering.PAYMENT)
        payment.save()
        _allocate(payment, plan, actor=actor, now=now)
        payment.save(update_fields=["amount_allocated"])
        supplier = relationship.supplier
        audit_record(actor=actor, organization=supplier, action="hub.payment.recorded",
                     obj=payment, after={"amount": _money(amount), "currency": currency,
                                         "method": method, "reference": payment.reference,
                                         "allocated": _money(payment.amount_allocated)})
        emit_event(type="hub.payment.recorded", organization=supplier, aggregate=payment,
                   actor=actor, payload=payment_payload(payment, plan))
        return payment

    try:
        with transaction.atomic():
            return run()
    except IntegrityError:
        existing = _existing(relationship.supplier_id, idempotency_key)
        if existing is not None:
            return existing
        raise


def payment_allocate(*, payment, invoice, amount, actor):
    """Allocate part of a payment's unallocated remainder to one open invoice."""
    with transaction.atomic():
        now = timezone.now()
        locked = (Payment.objects.select_for_update(of=("self",)).select_related("supplier")
                  .get(pk=payment.pk))
        if PaymentReversal.objects.filter(payment=locked).exists():
            raise HubError(_("This payment was reversed."), code="reversed")
        invoice_id = getattr(invoice, "pk", invoice)
        invoices = _lock_invoices([invoice_id])
        target = invoices.get(invoice_id)
        _check_invoice(target, locked, "invoice_id")
        share = clean_amount(amount, locked.currency)
        if share > locked.unallocated:
            raise HubError(_("Only %(left)s of this payment is unallocated.") % {
                "left": locked.unallocated}, code="over_allocated", field="amount")
        if share > target.balance:
            raise HubError(_("Invoice %(number)s has only %(balance)s left to pay.") % {
                "number": target.number, "balance": target.balance},
                code="over_settled", field="amount")
        plan = [(target, share)]
        _allocate(locked, plan, actor=actor, now=now)
        locked.version += 1
        locked.save(update_fields=["amount_allocated", "version"])
        audit_record(actor=actor, organization=locked.supplier, action="hub.payment.allocated",
                     obj=locked, after={"invoice_id": target.pk, "amount": _money(share)})
        emit_event(type="hub.payment.allocated", organization=locked.supplier,
                   aggregate=locked, actor=actor, payload=payment_payload(locked, plan))
    return locked


def payment_reverse(*, payment, actor, reason):
    """Undo a mistaken manual payment: its allocations come off the invoices (which reopen)
    and it is marked reversed. Provider payments are refunded at the provider instead."""
    reason = (reason or "").strip()[:500]
    if not reason:
        raise HubError(_("Say why the payment is reversed."), code="reason_required",
                       field="reason")
    with transaction.atomic():
        now = timezone.now()
        # The buyer's credit exposure grows again: take the relationship lock first, as order
        # placement does, so a concurrent credit check sees either before or after.
        TradingRelationship.objects.select_for_update().filter(pk=payment.relationship_id).first()
        locked = (Payment.objects.select_for_update(of=("self",)).select_related("supplier")
                  .get(pk=payment.pk))
        if locked.method not in MANUAL_METHODS:
            raise HubError(_("Online payments are refunded through the payment provider."),
                           code="not_manual")
        if PaymentReversal.objects.filter(payment=locked).exists():
            raise HubError(_("This payment was already reversed."), code="reversed")
        allocations = list(PaymentAllocation.objects.filter(payment=locked).order_by("id"))
        invoices = _lock_invoices([a.invoice_id for a in allocations])
        taken = []
        for allocation in allocations:
            invoice = invoices[allocation.invoice_id]
            _settle(invoice, -allocation.amount, actor=actor, now=now)
            taken.append([invoice.pk, _money(allocation.amount)])
        PaymentAllocation.objects.filter(pk__in=[a.pk for a in allocations]).delete()
        locked.amount_allocated = Decimal(0)
        locked.version += 1
        locked.save(update_fields=["amount_allocated", "version"])
        PaymentReversal.objects.create(payment=locked, reason=reason, reversed_by=_user(actor),
                                       reversed_at=now, allocations=taken)
        audit_record(actor=actor, organization=locked.supplier, action="hub.payment.reversed",
                     obj=locked, before={"allocations": taken}, after={"reason": reason})
        emit_event(type="hub.payment.reversed", organization=locked.supplier,
                   aggregate=locked, actor=actor,
                   payload={**payment_payload(locked), "reason": reason,
                            "reopened": [{"invoice_id": pk, "amount": amount}
                                         for pk, amount in taken]})
    return locked


# --- Overdue reminders -------------------------------------------------------------------------


def reminder_days():
    days = getattr(settings, "JALIN_INVOICE_REMINDER_DAYS", None) or DEFAULT_REMINDER_DAYS
    return tuple(int(day) for day in days)


FINANCE_VIEW_ROLES = tuple(role for role, perms in PERMISSIONS.items() if FINANCE_VIEW in perms)


def _invoice_url(invoice):
    for name, args in (("hub:invoice_detail", [invoice.pk]), ("hub:payments", [])):
        try:
            url = reverse(name, args=args)
        except NoReverseMatch:
            continue
        return url if args else f"{url}?side=buyer"
    return ""  # pragma: no cover


def _remind(invoice, level, *, final, now):
    """Send level `level` for the invoice unless it was sent: the unique (invoice, level) row
    is inserted first, so a second run, or a second worker at the same time, sends nothing."""
    try:
        with transaction.atomic():
            InvoiceReminder.objects.create(invoice=invoice, level=level, sent_at=now)
    except IntegrityError:
        return False
    supplier, buyer = invoice.supplier, invoice.buyer
    days = (timezone.localdate(now) - invoice.due_date).days
    values = {"number": invoice.number, "supplier": supplier.name, "days": days,
              "balance": f"{invoice.currency} {invoice.balance:,}"}
    title = (_("Final reminder: invoice %(number)s from %(supplier)s is overdue") if final
             else _("Invoice %(number)s from %(supplier)s is overdue")) % values
    body = _("%(balance)s is %(days)s days overdue. Please pay it or contact %(supplier)s.") \
        % values
    url = _invoice_url(invoice)
    members = (Membership.objects.filter(organization=buyer, is_active=True,
                                         role__in=FINANCE_VIEW_ROLES, user__is_active=True)
               .select_related("user").order_by("pk"))
    recipients = 0
    for membership in members:
        sent = notify(organization=buyer, user=membership.user, kind="invoice_overdue",
                      title=title, body=body, url=url, email=True,
                      key=f"invoice-overdue:{invoice.pk}:{level}")
        recipients += sent is not None
    audit_record(actor=None, organization=supplier, action="hub.invoice.overdue", obj=invoice,
                 after={"level": level, "recipients": recipients})
    emit_event(type="hub.invoice.overdue", organization=supplier, aggregate=invoice,
               payload={**invoice_payload(invoice), "level": level, "final": final,
                        "days_overdue": days, "due_date": invoice.due_date.isoformat()})
    return True


def send_overdue_reminders(*, today=None, now=None):
    """Remind buyers of invoices past due with a balance: level 1 at due + 1 day, 2 at
    due + 7, 3 (final) at due + 14 (JALIN_INVOICE_REMINDER_DAYS). An invoice gets the highest
    level it has reached, once; a level it skipped (the job did not run) is not sent late.
    Returns how many reminders were sent."""
    now = now or timezone.now()
    today = today or timezone.localdate(now)
    days = reminder_days()
    sent = 0
    for index in reversed(range(len(days))):
        level = index + 1
        cutoff = today - datetime.timedelta(days=days[index])
        reached = InvoiceReminder.objects.filter(invoice=OuterRef("pk"), level__gte=level)
        candidates = (Invoice.objects.filter(kind=InvoiceKind.INVOICE,
                                             status__in=OPEN_INVOICE_STATUSES,
                                             due_date__lte=cutoff)
                      .filter(~Q(Exists(reached)))
                      .select_related("supplier", "buyer").order_by("pk"))
        last = 0
        while True:
            batch = list(candidates.filter(pk__gt=last)[:REMINDER_BATCH])
            for invoice in batch:
                with transaction.atomic():
                    sent += _remind(invoice, level, final=level == len(days), now=now)
            if len(batch) < REMINDER_BATCH:
                break
            last = batch[-1].pk
    return sent
