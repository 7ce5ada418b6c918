"""Invoices and credit notes: the write side of billing.

Issuing an invoice (`_issue`) always runs inside a transaction that holds the order row lock
(the same lock shipping and order transitions take), so the per-line `invoiced_quantity`
cannot be read twice by two issuers: a unit is never invoiced twice. Each invoice line
snapshots the order line's unit price and tax rate and is recomputed for the invoiced
quantity with `tax.line_amounts` (the order's prices_include_tax / tax_exempt). The invoice
number is taken last, from the supplier's locked counter (`numbering.next_number`): a rolled
back issue gives its number back, so numbers have no gaps.

When invoices are issued is a supplier setting (`SupplierSettings.invoicing`):

- per shipment (default): `orders.ship` calls `invoice_for_shipment` in the transaction that
  records the shipment, billing exactly the shipped quantities;
- per order: `orders.order_transition("confirm")` calls `invoice_for_confirmed_order`, billing
  every line;
- either way `invoice_issue` bills whatever is shipped but not invoiced yet (a manual
  "Issue invoice"; nothing left is `HubError("nothing_to_invoice")`).

Credit notes (`credit_note_issue`) credit quantities of an invoice's lines, never more than
is still creditable on each line (its quantity less earlier credit notes). The credit note is
applied at once to the credited invoice's open balance (a `PaymentAllocation` with
`credit_note`); what is left stays on the buyer's account as credit.
"""

import datetime
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from jalin.core.audit import audit_record
from jalin.core.events import emit_event
from jalin.tenancy.roles import FINANCE_EDIT, ORDERS_FULFIL, has_perm

from . import numbering, tax
from .models import (
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    InvoicingMode,
    Order,
    PaymentAllocation,
    PaymentTerms,
    SupplierSettings,
    TradingRelationship,
)
from .services import HubError

LOCAL_TIME_ZONE = ZoneInfo("Asia/Jakarta")
MAX_CREDIT_LINES = 500
MAX_QUANTITY = 1_000_000
REASON_MAX_LENGTH = 500
ZERO = Decimal("0")


def today():
    """The local date in Jakarta: the issue date of documents made now."""
    return timezone.now().astimezone(LOCAL_TIME_ZONE).date()


def can_issue_invoices(membership):
    """Invoices are issued by whoever fulfils orders or keeps the books (supplier side)."""
    return has_perm(membership, ORDERS_FULFIL) or has_perm(membership, FINANCE_EDIT)


def can_issue_credit_notes(membership):
    return has_perm(membership, FINANCE_EDIT)


def invoicing_mode(supplier_id):
    mode = (SupplierSettings.objects.filter(supplier_id=supplier_id)
            .values_list("invoicing", flat=True).first())
    return mode or InvoicingMode.PER_SHIPMENT


def document_status(total, settled):
    """open / partially_paid / paid from a document's total and what has been taken off."""
    if settled >= total:
        return InvoiceStatus.PAID
    if settled > 0:
        return InvoiceStatus.PARTIALLY_PAID
    return InvoiceStatus.OPEN


def add_settlement(document, amount):
    """Take `amount` off the balance of a locked invoice or credit note and save it (status,
    paid_at, version). The caller holds the row lock and writes the allocation."""
    document.amount_settled += amount
    if document.amount_settled > document.total_gross:
        raise HubError(_("More than the open balance."), code="over_allocation",
                       field="amount")
    document.status = document_status(document.total_gross, document.amount_settled)
    document.paid_at = timezone.now() if document.status == InvoiceStatus.PAID else None
    document.version += 1
    document.save(update_fields=["amount_settled", "status", "paid_at", "version"])


def _money(amount):
    return str(Decimal(amount).quantize(Decimal("0.01")))


def invoice_payload(invoice):
    return {"invoice_id": invoice.pk, "number": invoice.number, "order_id": invoice.order_id,
            "supplier_id": invoice.supplier_id, "buyer_id": invoice.buyer_id,
            "total": _money(invoice.total_gross), "currency": invoice.currency,
            "due_date": invoice.due_date.isoformat()}


def _user(actor):
    return actor if getattr(actor, "pk", None) else None


def _due_date(relationship, issue_date):
    if relationship.payment_terms == PaymentTerms.NET:
        return issue_date + datetime.timedelta(days=relationship.payment_days)
    return issue_date


def _issue(order, quantities, *, actor, shipment=None):
    """Invoice `quantities` ({order line id: units}) of a LOCKED order; units beyond what is
    not invoiced yet are left out. Returns the invoice, or None when nothing is left."""
    lines = {line.pk: line for line in order.lines.all()}
    billed = []
    for line_id, quantity in sorted(quantities.items()):
        line = lines.get(line_id)
        if line is None:
            continue
        quantity = min(quantity, line.quantity - line.invoiced_quantity)
        if quantity > 0:
            billed.append((line, quantity))
    if not billed:
        return None
    relationship = TradingRelationship.objects.get(pk=order.relationship_id)
    invoice_lines = []
    for position, (line, quantity) in enumerate(billed, start=1):
        amounts = tax.line_amounts(unit_price=line.unit_price, quantity=quantity,
                                   rate=line.tax_rate, currency=order.currency,
                                   prices_include_tax=order.prices_include_tax,
                                   exempt=order.tax_exempt)
        invoice_lines.append(InvoiceLine(
            position=position, order_line=line, product_id=line.product_id, sku=line.sku,
            name=line.name, unit=line.unit, quantity=quantity, unit_price=line.unit_price,
            tax_rate=line.tax_rate, line_net=amounts.net, line_tax=amounts.tax,
            line_gross=amounts.gross))
        line.invoiced_quantity += quantity
        line.save(update_fields=["invoiced_quantity"])
    total_net = sum((line.line_net for line in invoice_lines), ZERO)
    total_tax = sum((line.line_tax for line in invoice_lines), ZERO)
    total_gross = sum((line.line_gross for line in invoice_lines), ZERO)
    order.invoiced_gross += total_gross
    order.save(update_fields=["invoiced_gross"])
    issue_date = today()
    number = numbering.next_number(supplier_id=order.supplier_id, sequence=numbering.INVOICE)
    invoice = Invoice.objects.create(
        supplier_id=order.supplier_id, buyer_id=order.buyer_id, relationship=relationship,
        kind=InvoiceKind.INVOICE, number=number, order=order, shipment=shipment,
        status=document_status(total_gross, ZERO), currency=order.currency,
        prices_include_tax=order.prices_include_tax, tax_exempt=order.tax_exempt,
        issue_date=issue_date, due_date=_due_date(relationship, issue_date),
        total_net=total_net, total_tax=total_tax, total_gross=total_gross,
        paid_at=timezone.now() if total_gross == 0 else None, issued_by=_user(actor))
    for line in invoice_lines:
        line.invoice = invoice
    InvoiceLine.objects.bulk_create(invoice_lines)
    payload = invoice_payload(invoice)
    audit_record(actor=actor, organization=order.supplier, action="hub.invoice.issued",
                 obj=invoice, after={**payload, "lines": len(invoice_lines)})
    emit_event(type="hub.invoice.issued", organization=order.supplier, aggregate=invoice,
               actor=actor, payload=payload)
    return invoice


def invoice_for_shipment(*, order, shipment, shipped, actor):
    """Called by `orders.ship` with the order locked: the shipment's invoice when the
    supplier invoices per shipment (else None)."""
    if invoicing_mode(order.supplier_id) != InvoicingMode.PER_SHIPMENT:
        return None
    return _issue(order, shipped, actor=actor, shipment=shipment)


def invoice_for_confirmed_order(*, order, actor):
    """Called by `orders.order_transition("confirm")` with the order locked: the order's
    invoice for all lines when the supplier invoices per order (else None)."""
    if invoicing_mode(order.supplier_id) != InvoicingMode.PER_ORDER:
        return None
    return _issue(order, {line.pk: line.quantity for line in order.lines.all()}, actor=actor)


def uninvoiced_shipped(order):
    """{order line id: units shipped but not invoiced} (only lines with some)."""
    return {line.pk: line.shipped_quantity - line.invoiced_quantity
            for line in order.lines.all() if line.shipped_quantity > line.invoiced_quantity}


def invoice_issue(*, order, actor):
    """Invoice every unit of the order that is shipped but not invoiced yet. Safe to repeat:
    a second call finds nothing left (`HubError("nothing_to_invoice")`)."""
    from .orders import _retrying

    def run():
        locked = (Order.objects.select_for_update(of=("self",))
                  .select_related("supplier", "buyer").get(pk=order.pk))
        invoice = _issue(locked, uninvoiced_shipped(locked), actor=actor)
        if invoice is None:
            raise HubError(_("Everything shipped on this order is invoiced already."),
                           code="nothing_to_invoice")
        return invoice

    return _retrying(run)


# --- Credit notes --------------------------------------------------------------------------


def _normalize_credit_lines(lines):
    if not lines:
        raise HubError(_("Choose at least one line to credit."), code="no_lines",
                       field="lines")
    if len(lines) > MAX_CREDIT_LINES:
        raise HubError(_("Too many lines."), code="too_many_lines", field="lines")
    wanted = {}
    for index, item in enumerate(lines):
        try:
            line_id, quantity = item
        except (TypeError, ValueError) as exc:
            raise HubError(_("Each line is an invoice line and a quantity."), code="invalid",
                           field=f"lines[{index}]") from exc
        if not isinstance(line_id, int) or isinstance(line_id, bool):
            raise HubError(_("No such invoice line."), code="not_found",
                           field=f"lines[{index}].invoice_line_id")
        if (not isinstance(quantity, int) or isinstance(quantity, bool)
                or not (1 <= quantity <= MAX_QUANTITY)):
            raise HubError(_("Enter a quantity of at least 1."), code="invalid_quantity",
                           field=f"lines[{index}].quantity")
        wanted[line_id] = (wanted.get(line_id, (index, 0))[0],
                           wanted.get(line_id, (index, 0))[1] + quantity)
    return wanted


@dataclass(frozen=True)
class Creditable:
    quantity: int
    net: Decimal
    tax: Decimal
    gross: Decimal


def creditable(invoice):
    """{invoice line id: Creditable} — what is still creditable on each line of `invoice`:
    its quantity and amounts less those of earlier credit notes."""
    credited = {
        row["credited_line"]: row for row in
        InvoiceLine.objects.filter(credited_line__invoice=invoice).values("credited_line")
        .annotate(quantity=Sum("quantity"), net=Sum("line_net"), tax=Sum("line_tax"),
                  gross=Sum("line_gross"))
    }
    result = {}
    for line in invoice.lines.all():
        done = credited.get(line.pk, {})
        result[line.pk] = Creditable(
            quantity=line.quantity - (done.get("quantity") or 0),
            net=line.line_net - (done.get("net") or ZERO),
            tax=line.line_tax - (done.get("tax") or ZERO),
            gross=line.line_gross - (done.get("gross") or ZERO))
    return result


def credit_note_issue(*, invoice, lines, reason, actor):
    """Issue a credit note for `lines` ([(invoice line id, quantity)]) of `invoice`, with a
    reason. Refused, writing nothing, for an empty reason, lines of another invoice and
    quantities above what is still creditable. The credit note is applied to the invoice's
    open balance at once; the rest stays as credit on the buyer's account. Returns it."""
    from .orders import _retrying

    reason = (reason or "").strip()
    if not reason:
        raise HubError(_("Give a reason for the credit note."), code="reason_required",
                       field="reason")
    if len(reason) > REASON_MAX_LENGTH:
        raise HubError(_("The reason is at most %(max)s characters.") % {
            "max": REASON_MAX_LENGTH}, code="reason_too_long", field="reason")
    wanted = _normalize_credit_lines(lines)

    def run():
        locked = (Invoice.objects.select_for_update(of=("self",))
                  .select_related("supplier", "buyer").get(pk=invoice.pk))
        if locked.kind != InvoiceKind.INVOICE:
            raise HubError(_("Only an invoice can be credited."), code="not_an_invoice",
                           field="invoice")
        invoice_lines = {line.pk: line for line in locked.lines.all()}
        left = creditable(locked)
        credit_lines = []
        for position, (line_id, (index, quantity)) in enumerate(wanted.items(), start=1):
            line = invoice_lines.get(line_id)
            if line is None:
                raise HubError(_("No such line on this invoice."), code="not_found",
                               field=f"lines[{index}].invoice_line_id")
            still = left[line_id]
            if quantity > still.quantity:
                raise HubError(
                    _("Only %(left)s of %(sku)s can still be credited.") % {
                        "left": still.quantity, "sku": line.sku or line.name},
                    code="over_credit", field=f"lines[{index}].quantity")
            if quantity == still.quantity:
                # The last units of a line credit exactly what is left of it, so crediting a
                # line in parts adds up to the line, whatever the rounding of each part.
                net, tax_amount, gross = still.net, still.tax, still.gross
            else:
                amounts = tax.line_amounts(unit_price=line.unit_price, quantity=quantity,
                                           rate=line.tax_rate, currency=locked.currency,
                                           prices_include_tax=locked.prices_include_tax,
                                           exempt=locked.tax_exempt)
                net, tax_amount, gross = amounts.net, amounts.tax, amounts.gross
            credit_lines.append(InvoiceLine(
                position=position, order_line_id=line.order_line_id,
                product_id=line.product_id, credited_line=line, sku=line.sku,
                name=line.name, unit=line.unit, quantity=quantity,
                unit_price=line.unit_price, tax_rate=line.tax_rate, line_net=net,
                line_tax=tax_amount, line_gross=gross))
        total_net = sum((line.line_net for line in credit_lines), ZERO)
        total_tax = sum((line.line_tax for line in credit_lines), ZERO)
        total_gross = sum((line.line_gross for line in credit_lines), ZERO)
        applied = min(total_gross, max(locked.balance, ZERO))
        issue_date = today()
        number = numbering.next_number(supplier_id=locked.supplier_id,
                                       sequence=numbering.CREDIT_NOTE)
        note = Invoice.objects.create(
            supplier_id=locked.supplier_id, buyer_id=locked.buyer_id,
            relationship_id=locked.relationship_id, kind=InvoiceKind.CREDIT_NOTE,
            number=number, order_id=locked.order_id, credited_invoice=locked,
            status=document_status(total_gross, applied), currency=locked.currency,
            prices_include_tax=locked.prices_include_tax, tax_exempt=locked.tax_exempt,
            issue_date=issue_date, due_date=issue_date, total_net=total_net,
            total_tax=total_tax, total_gross=total_gross, amount_settled=applied,
            paid_at=timezone.now() if applied >= total_gross else None, reason=reason,
            issued_by=_user(actor))
        for line in credit_lines:
            line.invoice = note
        InvoiceLine.objects.bulk_create(credit_lines)
        if applied > 0:
            PaymentAllocation.objects.create(invoice=locked, credit_note=note, amount=applied,
                                             created_by=_user(actor))
            add_settlement(locked, applied)
        payload = {"credit_note_id": note.pk, "number": note.number,
                   "invoice_id": locked.pk, "invoice_number": locked.number,
                   "order_id": note.order_id, "supplier_id": note.supplier_id,
                   "buyer_id": note.buyer_id, "total": _money(total_gross),
                   "applied": _money(applied), "currency": note.currency,
                   "invoice_status": locked.status}
        audit_record(actor=actor, organization=locked.supplier,
                     action="hub.credit_note.issued", obj=note,
                     after={**payload, "reason": reason[:200], "lines": len(credit_lines)})
        emit_event(type="hub.credit_note.issued", organization=locked.supplier,
                   aggregate=note, actor=actor, payload=payload)
        return note

    return _retrying(run)


def credit_note_issue_all(*, invoice, reason, actor):
    """Credit everything still creditable on `invoice` (HubError when nothing is left)."""
    lines = [(line_id, left.quantity) for line_id, left in creditable(invoice).items()
             if left.quantity > 0]
    if not lines:
        raise HubError(_("Everything on this invoice is credited already."),
                       code="nothing_to_credit", field="lines")
    return credit_note_issue(invoice=invoice, lines=lines, reason=reason, actor=actor)


def credit_cancelled_order(*, order, actor, reason=""):
    """Credit everything still creditable on the invoices of a cancelled order (an order
    invoiced per order at confirmation and cancelled before shipping). Called with the order
    locked, in the cancellation's transaction. Returns the credit notes."""
    text = _("Order #%(number)s cancelled") % {"number": order.number}
    if reason:
        text = f"{text}: {reason}"
    notes = []
    for invoice in Invoice.objects.filter(order=order, kind=InvoiceKind.INVOICE).order_by("id"):
        if any(left.quantity > 0 for left in creditable(invoice).values()):
            notes.append(credit_note_issue_all(invoice=invoice,
                                               reason=text[:REASON_MAX_LENGTH], actor=actor))
    return notes
