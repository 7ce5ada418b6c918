"""The hub's payments API: payments received (supplier) or made (buyer), recording and
allocating (supplier, finance.edit), and starting an online payment of an invoice (buyer).

Bodies forbid unknown fields. Invoices and customers of anyone else — in the path or in the
body — are 404, as if they did not exist.
"""

import datetime
from decimal import Decimal

from django.http import Http404
from ninja import Field, Query, Router, Schema, Status

from jalin.hub import payment_providers, payment_selectors, payments
from jalin.hub.models import Invoice, InvoiceKind, PaymentMethod
from jalin.hub.selectors import relationships_for_supplier
from jalin.hub.services import HubError
from jalin.tenancy.roles import FINANCE_EDIT, FINANCE_VIEW

from ..auth import require
from ..errors import ProblemError
from ..idempotency import HEADER, idempotent
from ..pagination import Page, PageParams, paginate
from ..schemas import MAX_INT, Input, OrganizationSummary

router = Router(tags=["hub payments"])

AMOUNT = {"max_digits": 18, "decimal_places": 2, "gt": 0}


class AllocationIn(Input):
    invoice_id: int = Field(ge=1, le=MAX_INT)
    amount: Decimal = Field(**AMOUNT)


class PaymentIn(Input):
    buyer_id: int = Field(ge=1, le=MAX_INT, description="The customer who paid")
    amount: Decimal = Field(**AMOUNT)
    currency: str = Field(min_length=3, max_length=3)
    received_on: datetime.date
    method: PaymentMethod = Field(description="bank_transfer, cash or other "
                                              "(provider payments come from the webhook)")
    reference: str = Field("", max_length=120)
    allocations: list[AllocationIn] | None = Field(
        None, max_length=payments.MAX_ALLOCATIONS,
        description="Omit (or null) for automatic allocation, oldest due first; [] keeps "
                    "everything as credit on account")


class AllocationOut(Schema):
    id: int
    invoice_id: int
    invoice_number: int
    amount: Decimal
    created_at: datetime.datetime

    @staticmethod
    def resolve_invoice_number(obj):
        return obj.invoice.number


class PaymentOut(Schema):
    id: int
    number: int
    supplier: OrganizationSummary
    buyer: OrganizationSummary
    method: str
    amount: Decimal
    amount_allocated: Decimal
    unallocated: Decimal
    currency: str
    received_on: datetime.date
    reference: str
    provider: str
    reversed: bool
    created_at: datetime.datetime
    version: int

    @staticmethod
    def resolve_reversed(obj):
        return hasattr(obj, "reversal")


class PaymentDetailOut(PaymentOut):
    allocations: list[AllocationOut]

    @staticmethod
    def resolve_allocations(obj):
        return list(obj.allocations.all())


class PaymentFilters(PageParams):
    buyer_id: int | None = Field(None, ge=1, le=MAX_INT)
    supplier_id: int | None = Field(None, ge=1, le=MAX_INT)
    method: PaymentMethod | None = None
    received_from: datetime.date | None = None
    received_to: datetime.date | None = None


class AllocateIn(Input):
    invoice_id: int = Field(ge=1, le=MAX_INT)
    amount: Decimal = Field(**AMOUNT)


class CheckoutOut(Schema):
    checkout_id: int
    provider: str
    amount: Decimal
    currency: str
    status: str
    expires_at: datetime.datetime
    redirect_url: str


def _detail(membership, pk):
    return payment_selectors.payment_detail(organization=membership.organization, pk=pk)


def _supplier_invoices(supplier, buyer_id, ids):
    """The invoices named in a body must be this customer's invoices of this supplier;
    anything else is 404."""
    found = set(Invoice.objects.filter(pk__in=set(ids), supplier=supplier, buyer_id=buyer_id,
                                       kind=InvoiceKind.INVOICE).values_list("pk", flat=True))
    if found != set(ids):
        raise Http404("No such invoice.")


@router.get("/hub/payments", response=Page[PaymentOut])
def payment_list(request, filters: Query[PaymentFilters]):
    """Payments you received (supplier) or made (buyer), newest first."""
    membership = require(request, FINANCE_VIEW)
    queryset = payment_selectors.payments_for(
        organization=membership.organization, buyer_id=filters.buyer_id,
        supplier_id=filters.supplier_id, method=filters.method,
        date_from=filters.received_from, date_to=filters.received_to)
    return paginate(queryset, cursor=filters.cursor, limit=filters.limit, order=("-id",))


@router.post("/hub/payments", response={201: PaymentDetailOut})
@idempotent
def payment_create(request, payload: PaymentIn):
    """Record money received from a customer (supplier, finance.edit). Requires an
    `Idempotency-Key` header: a retry with the same key answers the same payment."""
    membership = require(request, FINANCE_EDIT)
    key = request.headers.get(HEADER)
    if not key:
        raise ProblemError(428, code="idempotency_key_required",
                           detail="Send an Idempotency-Key header with every payment.")
    supplier = membership.organization
    # Any status: a suspended customer still pays what it owes.
    relationship = relationships_for_supplier(supplier=supplier).filter(
        buyer_id=payload.buyer_id).first()
    if relationship is None:
        raise Http404("No such customer.")
    allocations = None
    if payload.allocations is not None:
        _supplier_invoices(supplier, payload.buyer_id,
                           [a.invoice_id for a in payload.allocations])
        allocations = [(a.invoice_id, a.amount) for a in payload.allocations]
    payment = payments.payment_record(
        relationship=relationship, amount=payload.amount, currency=payload.currency,
        received_on=payload.received_on, method=payload.method, reference=payload.reference,
        actor=request.user, allocations=allocations,
        idempotency_key=f"api:{membership.pk}:{key}")
    return Status(201, _detail(membership, payment.pk))


@router.get("/hub/payments/{payment_id}", response=PaymentDetailOut)
def payment_detail(request, payment_id: int):
    membership = require(request, FINANCE_VIEW)
    return _detail(membership, payment_id)


@router.post("/hub/payments/{payment_id}/allocations", response={201: PaymentDetailOut})
@idempotent
def payment_allocate(request, payment_id: int, payload: AllocateIn):
    """Allocate part of the payment's unallocated remainder to an open invoice (supplier)."""
    membership = require(request, FINANCE_VIEW)
    payment = _detail(membership, payment_id)
    if payment.supplier_id != membership.organization.pk:
        raise ProblemError(403, code="permission_denied",
                           detail="Only the supplier allocates payments.")
    require(request, FINANCE_EDIT)
    _supplier_invoices(membership.organization, payment.buyer_id, [payload.invoice_id])
    payments.payment_allocate(payment=payment, invoice=payload.invoice_id,
                              amount=payload.amount, actor=request.user)
    return Status(201, _detail(membership, payment_id))


@router.post("/hub/invoices/{invoice_id}/checkout", response={201: CheckoutOut})
@idempotent
def invoice_checkout(request, invoice_id: int):
    """Start paying an invoice's balance online (buyer); send the person to `redirect_url`."""
    membership = require(request, FINANCE_VIEW)
    invoice = payment_selectors.invoice_for_buyer_or_404(buyer=membership.organization,
                                                         pk=invoice_id)
    if payment_providers.default_provider() is None:
        raise HubError("Online payment is not available.", code="no_provider")
    checkout, url = payment_providers.checkout_start(
        invoice=invoice, buyer=membership.organization, actor=request.user)
    return Status(201, {"checkout_id": checkout.pk, "provider": checkout.provider,
                        "amount": checkout.amount, "currency": checkout.currency,
                        "status": checkout.status, "expires_at": checkout.expires_at,
                        "redirect_url": request.build_absolute_uri(url)})
