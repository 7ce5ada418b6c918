"""Reads of billing: invoices and credit notes (both parties), tax summaries, statements of
account with aging, and a buyer's available credit. Everything starts from the acting
organization; a document is visible to exactly its supplier and its buyer."""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Prefetch, Q, Sum
from django.http import Http404
from django.utils.translation import gettext as _

from jalin.tenancy.access import for_org, get_for_org_or_404

from .invoicing import today
from .models import (
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    Payment,
    PaymentAllocation,
    TradingRelationship,
)
from .services import HubError

ZERO = Decimal("0")
SUPPLIER, BUYER = "supplier", "buyer"
MAX_STATEMENT_DAYS = 731
OPEN_STATUSES = (InvoiceStatus.OPEN, InvoiceStatus.PARTIALLY_PAID)


def _cents(amount):
    """Amounts summed by the database come back with its scale (SQLite: none); show cents."""
    return Decimal(amount).quantize(Decimal("0.01"))


def invoices_for(*, organization, side=None, kind=None, status=None, overdue=False,
                 counterparty_id=None, order_id=None, on_date=None):
    """Invoices and credit notes the organization issued (side "supplier") or received
    (side "buyer"), or both. `overdue`: open invoices past their due date."""
    queryset = for_org(Invoice, organization).select_related("supplier", "buyer", "order")
    if order_id:
        queryset = queryset.filter(order_id=order_id)
    if side == SUPPLIER:
        queryset = queryset.filter(supplier=organization)
        if counterparty_id:
            queryset = queryset.filter(buyer_id=counterparty_id)
    elif side == BUYER:
        queryset = queryset.filter(buyer=organization)
        if counterparty_id:
            queryset = queryset.filter(supplier_id=counterparty_id)
    elif counterparty_id:
        queryset = queryset.filter(Q(buyer_id=counterparty_id) | Q(supplier_id=counterparty_id))
    if kind:
        queryset = queryset.filter(kind=kind)
    if status:
        queryset = queryset.filter(status=status)
    if overdue:
        queryset = queryset.filter(kind=InvoiceKind.INVOICE, status__in=OPEN_STATUSES,
                                   due_date__lt=on_date or today())
    return queryset


def invoice_detail(*, organization, pk):
    queryset = for_org(Invoice, organization).select_related(
        "supplier", "buyer", "order", "shipment", "relationship", "credited_invoice",
        "issued_by",
    ).prefetch_related(
        "lines",
        Prefetch("allocations", queryset=PaymentAllocation.objects.select_related(
            "payment", "credit_note")),
        Prefetch("applications", queryset=PaymentAllocation.objects.select_related(
            "invoice")),
        Prefetch("credit_notes", queryset=Invoice.objects.order_by("id")),
    )
    return get_for_org_or_404(queryset, organization, pk=pk)


def side_of(invoice, organization):
    if organization is None:
        return None
    if invoice.supplier_id == organization.pk:
        return SUPPLIER
    if invoice.buyer_id == organization.pk:
        return BUYER
    return None


@dataclass
class TaxRow:
    rate: Decimal
    net: Decimal = ZERO
    tax: Decimal = ZERO
    gross: Decimal = ZERO


def tax_summary(lines):
    """One row per tax rate: net, tax and gross of the document's lines at that rate."""
    rows = {}
    for line in lines:
        row = rows.setdefault(line.tax_rate, TaxRow(rate=line.tax_rate))
        row.net += line.line_net
        row.tax += line.line_tax
        row.gross += line.line_gross
    return [rows[rate] for rate in sorted(rows)]


def order_invoices(*, order):
    """The order's invoices and credit notes, oldest first (order detail page)."""
    return list(Invoice.objects.filter(order=order).order_by("id"))


def creditable_lines(invoice):
    """[(invoice line, units still creditable)] for the credit note form."""
    from .invoicing import creditable

    left = creditable(invoice)
    return [(line, left[line.pk].quantity) for line in invoice.lines.all()]


# --- Counterparties ------------------------------------------------------------------------


def relationship_with(*, organization, counterparty_id, side=None):
    """The relationship between the organization and a counterparty: as supplier (the
    counterparty is its customer) or as buyer (the counterparty is its supplier). `side`
    chooses when the two trade both ways; else supplier first. 404 when there is none."""
    try:
        counterparty_id = int(counterparty_id)
    except (TypeError, ValueError) as exc:
        raise Http404("No such counterparty.") from exc
    relationships = for_org(TradingRelationship, organization).select_related(
        "supplier", "buyer")
    as_supplier = relationships.filter(supplier=organization, buyer_id=counterparty_id)
    as_buyer = relationships.filter(buyer=organization, supplier_id=counterparty_id)
    for wanted, queryset in ((SUPPLIER, as_supplier), (BUYER, as_buyer)):
        if side in (None, wanted):
            relationship = queryset.first()
            if relationship is not None:
                return relationship
    raise Http404("No such counterparty.")


@dataclass
class Credit:
    """A buyer's credit with one supplier: limit, exposure parts and what is available."""

    relationship: TradingRelationship
    limit: Decimal
    orders: Decimal
    invoices: Decimal
    unapplied: Decimal
    exposure: Decimal
    available: Decimal
    currency: str


def credit_for(relationships):
    """{relationship id: Credit} for a page of relationships (three queries)."""
    from .orders import exposures_for

    relationships = list(relationships)
    exposures = exposures_for([r.pk for r in relationships])
    result = {}
    for relationship in relationships:
        parts = exposures[relationship.pk]
        result[relationship.pk] = Credit(
            relationship=relationship, limit=relationship.credit_limit, orders=parts.orders,
            invoices=parts.invoices, unapplied=parts.credit, exposure=parts.total,
            available=relationship.credit_limit - parts.total,
            currency=relationship.currency)
    return result


# --- Statements of account -----------------------------------------------------------------

AGING_BUCKETS = (
    ("current", 0, 0),
    ("1_30", 1, 30),
    ("31_60", 31, 60),
    ("61_90", 61, 90),
    ("90_plus", 91, None),
)


@dataclass
class StatementRow:
    date: datetime.date
    kind: str  # "invoice", "credit_note", "payment"
    number: str
    pk: int
    reference: str
    debit: Decimal
    credit: Decimal
    balance: Decimal = ZERO
    due_date: datetime.date | None = None


@dataclass
class Aging:
    on_date: datetime.date
    buckets: dict = field(default_factory=dict)  # bucket key -> open invoice balances
    unapplied: Decimal = ZERO

    @property
    def total(self):
        return sum(self.buckets.values(), ZERO)

    @property
    def net(self):
        return self.total - self.unapplied

    def rows(self):
        labels = aging_labels()
        return [(key, labels[key], self.buckets.get(key, ZERO))
                for key, _low, _high in AGING_BUCKETS]


def aging_labels():
    return {"current": _("Current"), "1_30": _("1–30 days"), "31_60": _("31–60 days"),
            "61_90": _("61–90 days"), "90_plus": _("Over 90 days")}


def bucket_for(days_overdue):
    """The aging bucket of an invoice `days_overdue` days past its due date."""
    if days_overdue <= 0:
        return "current"
    for key, _low, high in AGING_BUCKETS[1:]:
        if high is None or days_overdue <= high:
            return key
    return "90_plus"  # pragma: no cover


@dataclass
class Statement:
    relationship: TradingRelationship
    start: datetime.date
    end: datetime.date
    currency: str
    opening: Decimal
    rows: list
    closing: Decimal
    total_debit: Decimal
    total_credit: Decimal
    aging: Aging


def aging_for(*, relationship, on_date=None):
    """Open invoice balances by days overdue on `on_date` (today), and unapplied credit."""
    on_date = on_date or today()
    buckets = {key: ZERO for key, _low, _high in AGING_BUCKETS}
    open_invoices = (Invoice.objects.filter(relationship=relationship, status__in=OPEN_STATUSES)
                     .values_list("kind", "due_date", "total_gross", "amount_settled"))
    unapplied = ZERO
    for kind, due_date, total, settled in open_invoices.iterator():
        if kind == InvoiceKind.CREDIT_NOTE:
            unapplied += total - settled
        else:
            buckets[bucket_for((on_date - due_date).days)] += total - settled
    unallocated = (Payment.objects.filter(relationship=relationship, reversal__isnull=True)
                   .aggregate(amount=Sum("amount"), allocated=Sum("amount_allocated")))
    unapplied += (unallocated["amount"] or ZERO) - (unallocated["allocated"] or ZERO)
    return Aging(on_date=on_date, buckets={key: _cents(value) for key, value in buckets.items()},
                 unapplied=_cents(unapplied))


def statement_period(start, end):
    """Validate a statement's dates: (start, end), defaulting to the last 90 days."""
    end = end or today()
    start = start or end - datetime.timedelta(days=90)
    if start > end:
        raise HubError(_("The start date is after the end date."), code="invalid_period",
                       field="from")
    if (end - start).days > MAX_STATEMENT_DAYS:
        raise HubError(_("A statement covers at most two years."), code="invalid_period",
                       field="from")
    return start, end


def statement(*, relationship, start=None, end=None, on_date=None):
    """The statement of account of one relationship from `start` to `end` (inclusive):
    opening balance, every invoice (debit), credit note and payment (credit) in date order
    with a running balance, the closing balance, and aging of today's open balances."""
    start, end = statement_period(start, end)
    documents = Invoice.objects.filter(relationship=relationship)
    before = dict(documents.filter(issue_date__lt=start).values("kind")
                  .annotate(total=Sum("total_gross")).values_list("kind", "total"))
    # A reversed payment was a mistake: it is not money received.
    paid_before = (Payment.objects.filter(relationship=relationship, received_on__lt=start,
                                          reversal__isnull=True)
                   .aggregate(total=Sum("amount"))["total"] or ZERO)
    opening = _cents((before.get(InvoiceKind.INVOICE) or ZERO)
                     - (before.get(InvoiceKind.CREDIT_NOTE) or ZERO) - paid_before)
    rows = []
    for document in (documents.filter(issue_date__gte=start, issue_date__lte=end)
                     .select_related("order", "credited_invoice").order_by("issue_date", "id")):
        if document.kind == InvoiceKind.INVOICE:
            reference = _("Order #%(number)s") % {"number": document.order.number} if (
                document.order_id) else ""
            rows.append(StatementRow(date=document.issue_date, kind="invoice",
                                     number=str(document), pk=document.pk,
                                     reference=reference, debit=document.total_gross,
                                     credit=ZERO, due_date=document.due_date))
        else:
            reference = str(document.credited_invoice) if document.credited_invoice_id else ""
            rows.append(StatementRow(date=document.issue_date, kind="credit_note",
                                     number=str(document), pk=document.pk,
                                     reference=reference, debit=ZERO,
                                     credit=document.total_gross))
    for payment in (Payment.objects.filter(relationship=relationship, received_on__gte=start,
                                           received_on__lte=end, reversal__isnull=True)
                    .order_by("received_on", "id")):
        rows.append(StatementRow(date=payment.received_on, kind="payment", number=str(payment),
                                 pk=payment.pk, reference=payment.reference, debit=ZERO,
                                 credit=payment.amount))
    order = {"invoice": 0, "credit_note": 1, "payment": 2}
    rows.sort(key=lambda row: (row.date, order[row.kind], row.pk))
    balance = opening
    for row in rows:
        balance += row.debit - row.credit
        row.balance = balance
    return Statement(
        relationship=relationship, start=start, end=end, currency=relationship.currency,
        opening=opening, rows=rows, closing=balance,
        total_debit=_cents(sum((row.debit for row in rows), ZERO)),
        total_credit=_cents(sum((row.credit for row in rows), ZERO)),
        aging=aging_for(relationship=relationship, on_date=on_date))


def lines_of(invoice):
    """The document's lines (prefetched by `invoice_detail`)."""
    return list(invoice.lines.all()) if hasattr(invoice, "_prefetched_objects_cache") else list(
        InvoiceLine.objects.filter(invoice=invoice))
