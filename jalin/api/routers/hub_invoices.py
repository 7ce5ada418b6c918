"""The hub's billing API: invoices and credit notes (both parties), issuing an invoice for
shipped units, credit notes (supplier finance), PDFs and statements of account.

A supplier sees the documents it issued, a buyer those it received; any other id is 404 in
the path and 422 naming the field in the body. Bodies forbid unknown fields (no totals,
numbers, status or parties from input).
"""

import datetime
from decimal import Decimal
from typing import Literal

from django.http import HttpResponse
from django.urls import reverse
from ninja import Field, Query, Router, Schema, Status
from pydantic import model_validator

from jalin.hub import invoice_selectors as iselectors
from jalin.hub import invoicing, order_selectors, pdf
from jalin.hub.models import InvoiceKind, InvoiceStatus
from jalin.tenancy.access import get_for_org_or_404
from jalin.tenancy.roles import FINANCE_VIEW, ORDERS_VIEW

from ..auth import require
from ..errors import ProblemError
from ..idempotency import idempotent
from ..pagination import Page, PageParams, paginate
from ..schemas import MAX_INT, Input, OrganizationSummary

router = Router(tags=["hub invoices"])


# --- Schemas -------------------------------------------------------------------------------


class InvoiceLineOut(Schema):
    id: int
    position: int
    order_line_id: int | None
    credited_line_id: int | None = Field(description="Credit note: the invoice line credited")
    product_id: int | None
    sku: str
    name: str
    unit: str
    quantity: int
    unit_price: Decimal
    tax_rate: Decimal
    line_net: Decimal
    line_tax: Decimal
    line_gross: Decimal


class TaxRowOut(Schema):
    rate: Decimal
    net: Decimal
    tax: Decimal
    gross: Decimal


class AllocationOut(Schema):
    id: int
    invoice_id: int
    payment_id: int | None
    credit_note_id: int | None
    amount: Decimal
    created_at: datetime.datetime


class InvoiceOut(Schema):
    id: int
    kind: InvoiceKind
    number: int
    display_number: str = Field(description="INV-<number> or CN-<number>")
    supplier: OrganizationSummary
    buyer: OrganizationSummary
    order_id: int | None
    shipment_id: int | None
    credited_invoice_id: int | None
    status: InvoiceStatus
    currency: str
    prices_include_tax: bool
    tax_exempt: bool
    issue_date: datetime.date
    due_date: datetime.date
    total_net: Decimal
    total_tax: Decimal
    total_gross: Decimal
    amount_settled: Decimal = Field(description="Paid and credited (invoice) or applied "
                                    "(credit note)")
    balance: Decimal
    reason: str
    created_at: datetime.datetime
    version: int

    @staticmethod
    def resolve_display_number(obj):
        return str(obj)


class CreditableOut(Schema):
    invoice_line_id: int
    quantity: int


class InvoiceDetailOut(InvoiceOut):
    lines: list[InvoiceLineOut]
    tax_summary: list[TaxRowOut]
    allocations: list[AllocationOut] = Field(description="Payments and credit notes applied "
                                             "to this invoice")
    applications: list[AllocationOut] = Field(description="Credit note: where it is applied")
    credit_note_ids: list[int]
    creditable: list[CreditableOut] = Field(
        description="Supplier: units still creditable per invoice line")
    pdf_url: str

    @staticmethod
    def resolve_lines(obj):
        return list(obj.lines.all())

    @staticmethod
    def resolve_tax_summary(obj):
        return iselectors.tax_summary(obj.lines.all())

    @staticmethod
    def resolve_allocations(obj):
        return list(obj.allocations.all())

    @staticmethod
    def resolve_applications(obj):
        return list(obj.applications.all())

    @staticmethod
    def resolve_credit_note_ids(obj):
        return [note.pk for note in obj.credit_notes.all()]

    @staticmethod
    def resolve_creditable(obj):
        return getattr(obj, "creditable_out", [])

    @staticmethod
    def resolve_pdf_url(obj):
        return reverse("api:hub_invoice_pdf", kwargs={"invoice_id": obj.pk})


class InvoiceFilters(PageParams):
    side: Literal["supplier", "buyer"] | None = Field(
        None, description="supplier: issued by you; buyer: received by you; empty: both")
    kind: InvoiceKind | None = None
    status: InvoiceStatus | None = None
    overdue: bool | None = Field(None, description="Only open invoices past their due date")
    counterparty_id: int | None = Field(None, ge=1, le=MAX_INT,
                                        description="The customer or supplier organization")
    order_id: int | None = Field(None, ge=1, le=MAX_INT,
                                 description="Only the documents of this order")


class CreditLineIn(Input):
    invoice_line_id: int = Field(ge=1, le=MAX_INT)
    quantity: int = Field(ge=1, le=invoicing.MAX_QUANTITY)


class CreditNoteIn(Input):
    lines: list[CreditLineIn] | None = Field(None, min_length=1,
                                             max_length=invoicing.MAX_CREDIT_LINES)
    all: bool = Field(False, description="Credit everything still creditable")
    reason: str = Field(min_length=1, max_length=invoicing.REASON_MAX_LENGTH)

    @model_validator(mode="after")
    def _lines_or_all(self):
        if bool(self.lines) == bool(self.all):
            raise ValueError("Send either lines or all: true.")
        return self


class StatementParams(Schema):
    from_: datetime.date | None = Field(None, alias="from",
                                        description="First day (default: 90 days ago)")
    to: datetime.date | None = Field(None, description="Last day (default: today)")
    side: Literal["supplier", "buyer"] | None = Field(
        None, description="When you trade both ways with the counterparty")


class StatementRowOut(Schema):
    date: datetime.date
    kind: Literal["invoice", "credit_note", "payment"]
    document_id: int
    number: str
    reference: str
    due_date: datetime.date | None
    debit: Decimal
    credit: Decimal
    balance: Decimal

    @staticmethod
    def resolve_document_id(obj):
        return obj.pk


class AgingOut(Schema):
    on_date: datetime.date
    current: Decimal
    days_1_30: Decimal
    days_31_60: Decimal
    days_61_90: Decimal
    days_90_plus: Decimal
    unapplied_credit: Decimal
    total_due: Decimal


class StatementOut(Schema):
    supplier: OrganizationSummary
    buyer: OrganizationSummary
    currency: str
    start: datetime.date
    end: datetime.date
    opening_balance: Decimal
    rows: list[StatementRowOut]
    total_debit: Decimal
    total_credit: Decimal
    closing_balance: Decimal
    aging: AgingOut


PDF = {"responses": {200: {
    "description": "The document as PDF",
    "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
}}}


# --- Helpers -------------------------------------------------------------------------------


def _invoice(membership, invoice_id):
    return iselectors.invoice_detail(organization=membership.organization, pk=invoice_id)


def _detail(membership, invoice_id):
    invoice = _invoice(membership, invoice_id)
    if (iselectors.side_of(invoice, membership.organization) == iselectors.SUPPLIER
            and invoice.kind == InvoiceKind.INVOICE):
        invoice.creditable_out = [
            {"invoice_line_id": line.pk, "quantity": left}
            for line, left in iselectors.creditable_lines(invoice)]
    return invoice


def _forbidden(detail):
    return ProblemError(403, code="permission_denied", detail=detail)


# --- Invoices ------------------------------------------------------------------------------


@router.get("/hub/invoices", response=Page[InvoiceOut])
def invoice_list(request, filters: Query[InvoiceFilters]):
    """Invoices and credit notes you issued (supplier) or received (buyer), newest first."""
    membership = require(request, ORDERS_VIEW)
    queryset = iselectors.invoices_for(
        organization=membership.organization, side=filters.side, kind=filters.kind,
        status=filters.status, overdue=bool(filters.overdue),
        counterparty_id=filters.counterparty_id, order_id=filters.order_id)
    return paginate(queryset, cursor=filters.cursor, limit=filters.limit, order=("-id",))


@router.get("/hub/invoices/{invoice_id}", response=InvoiceDetailOut)
def invoice_detail(request, invoice_id: int):
    membership = require(request, ORDERS_VIEW)
    return _detail(membership, invoice_id)


@router.get("/hub/invoices/{invoice_id}/pdf", url_name="hub_invoice_pdf", openapi_extra=PDF)
def invoice_pdf(request, invoice_id: int):
    """The invoice or credit note as PDF."""
    membership = require(request, ORDERS_VIEW)
    invoice = _invoice(membership, invoice_id)
    lines = list(invoice.lines.all())
    data = pdf.invoice_pdf(invoice=invoice, lines=lines, taxes=iselectors.tax_summary(lines),
                           allocations=list(invoice.allocations.all()),
                           applications=list(invoice.applications.all()))
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{invoice}.pdf"'
    return response


@router.post("/hub/orders/{order_id}/invoices", response={201: InvoiceDetailOut})
@idempotent
def order_invoice_create(request, order_id: int):
    """Invoice every unit of the order that is shipped but not invoiced yet (supplier;
    orders.fulfil or finance.edit). 422 `nothing_to_invoice` when nothing is left; send an
    `Idempotency-Key` to replay the first answer on a retry."""
    membership = require(request, ORDERS_VIEW)
    order = get_for_org_or_404(order_selectors.orders_for(organization=membership.organization),
                               membership.organization, pk=order_id)
    if order.supplier_id != membership.organization.pk or not invoicing.can_issue_invoices(
            membership):
        raise _forbidden("Only the supplier's order or finance staff issue invoices.")
    invoice = invoicing.invoice_issue(order=order, actor=request.user)
    return Status(201, _detail(membership, invoice.pk))


@router.post("/hub/invoices/{invoice_id}/credit-notes", response={201: InvoiceDetailOut})
@idempotent
def credit_note_create(request, invoice_id: int, payload: CreditNoteIn):
    """Issue a credit note (supplier, finance.edit): `{lines: [{invoice_line_id, quantity}],
    reason}` or `{all: true, reason}`. It is applied to the invoice's open balance at once;
    the rest stays as credit on the buyer's account."""
    membership = require(request, ORDERS_VIEW)
    invoice = _invoice(membership, invoice_id)
    if (iselectors.side_of(invoice, membership.organization) != iselectors.SUPPLIER
            or not invoicing.can_issue_credit_notes(membership)):
        raise _forbidden("Only the supplier's finance staff issue credit notes.")
    if payload.all:
        note = invoicing.credit_note_issue_all(invoice=invoice, reason=payload.reason,
                                               actor=request.user)
    else:
        note = invoicing.credit_note_issue(
            invoice=invoice, reason=payload.reason, actor=request.user,
            lines=[(line.invoice_line_id, line.quantity) for line in payload.lines])
    return Status(201, _detail(membership, note.pk))


# --- Statements ----------------------------------------------------------------------------


@router.get("/hub/statements/{counterparty_id}", response=StatementOut)
def statement(request, counterparty_id: int, params: Query[StatementParams]):
    """Statement of account with a customer (you supply it) or a supplier (you buy from it):
    opening balance, invoices, credit notes and payments in date order with a running
    balance, closing balance, and aging of today's open invoices (finance.view)."""
    membership = require(request, FINANCE_VIEW)
    relationship = iselectors.relationship_with(organization=membership.organization,
                                                counterparty_id=counterparty_id,
                                                side=params.side)
    result = iselectors.statement(relationship=relationship, start=params.from_,
                                  end=params.to)
    buckets = result.aging.buckets
    return {
        "supplier": relationship.supplier, "buyer": relationship.buyer,
        "currency": result.currency, "start": result.start, "end": result.end,
        "opening_balance": result.opening, "rows": result.rows,
        "total_debit": result.total_debit, "total_credit": result.total_credit,
        "closing_balance": result.closing,
        "aging": {"on_date": result.aging.on_date, "current": buckets["current"],
                  "days_1_30": buckets["1_30"], "days_31_60": buckets["31_60"],
                  "days_61_90": buckets["61_90"], "days_90_plus": buckets["90_plus"],
                  "unapplied_credit": result.aging.unapplied,
                  "total_due": result.aging.net},
    }
