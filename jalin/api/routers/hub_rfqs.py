"""Requests for quotation and quotes on the hub.

Buyers create RFQs (`orders.place`), cancel them, accept or decline the supplier's quote;
accepting places an order at the quoted prices (201 with the order). Suppliers
(`orders.fulfil`) send quotes — the only place a price is ever taken from input, and only
from the supplier. Another organization's RFQ or quote is 404; a product of another supplier
in a body is 422 naming the field; a stale `version` is 409.
"""

import datetime
from decimal import Decimal

from ninja import Field, Query, Router, Schema, Status

from jalin.hub import orders, rfq_selectors, rfqs
from jalin.hub.models import QuoteStatus, RfqStatus
from jalin.hub.order_selectors import buyer_relationship
from jalin.hub.services import HubError
from jalin.tenancy.roles import ORDERS_PLACE, ORDERS_VIEW

from ..auth import require
from ..errors import ProblemError
from ..idempotency import HEADER, idempotent
from ..pagination import Page, PageParams, paginate
from ..schemas import MAX_INT, Input, OrganizationSummary
from .hub_orders import OrderDetailOut, _detail

router = Router(tags=["hub quotes"])


# --- Schemas -------------------------------------------------------------------------------


class RfqLineIn(Input):
    product_id: int | None = Field(None, ge=1, le=MAX_INT,
                                   description="One of the supplier's products you may order")
    description: str = Field("", max_length=200,
                             description="Free-text item (when there is no product_id)")
    quantity: int = Field(ge=1, le=orders.MAX_QUANTITY)
    note: str = Field("", max_length=500)


class RfqIn(Input):
    supplier_id: int = Field(ge=1, le=MAX_INT)
    title: str = Field(min_length=1, max_length=200)
    needed_by: datetime.date | None = None
    note: str = Field("", max_length=5000)
    lines: list[RfqLineIn] = Field(min_length=1, max_length=rfqs.MAX_LINES)
    submit: bool = Field(True, description="false: keep it as a draft only you see")


class RfqLineOut(Schema):
    id: int
    position: int
    product_id: int | None
    sku: str | None
    description: str
    quantity: int
    note: str

    @staticmethod
    def resolve_sku(obj):
        return obj.product.sku if obj.product_id else None


class QuoteLineOut(Schema):
    id: int
    rfq_line_id: int
    product_id: int
    sku: str
    name: str
    quantity: int
    unit_price: Decimal
    lead_time_days: int | None
    tax_rate: Decimal
    line_net: Decimal
    line_tax: Decimal
    line_gross: Decimal


class QuoteOut(Schema):
    id: int
    rfq_id: int
    number: int
    status: QuoteStatus
    valid_until: datetime.date
    currency: str
    prices_include_tax: bool
    total_net: Decimal
    total_tax: Decimal
    total_gross: Decimal
    note: str
    sent_at: datetime.datetime | None
    decided_at: datetime.datetime | None
    order_id: int | None
    version: int
    lines: list[QuoteLineOut]

    @staticmethod
    def resolve_note(obj):
        return obj.supplier_note

    @staticmethod
    def resolve_order_id(obj):
        order = getattr(obj, "accepted_order", None)
        return order.pk if order is not None else None

    @staticmethod
    def resolve_lines(obj):
        return list(obj.lines.all())


class StatusChangeOut(Schema):
    quote_id: int | None
    from_status: str
    to_status: str
    comment: str
    at: datetime.datetime


class RfqOut(Schema):
    id: int
    number: int | None
    supplier: OrganizationSummary
    buyer: OrganizationSummary
    status: RfqStatus
    title: str
    needed_by: datetime.date | None
    created_at: datetime.datetime
    submitted_at: datetime.datetime | None
    version: int


class RfqDetailOut(RfqOut):
    note: str
    lines: list[RfqLineOut]
    quotes: list[QuoteOut] = Field(description="Newest first; a buyer never sees drafts")
    status_changes: list[StatusChangeOut]

    @staticmethod
    def resolve_note(obj):
        return obj.buyer_note

    @staticmethod
    def resolve_lines(obj):
        return list(obj.lines.all())

    @staticmethod
    def resolve_quotes(obj):
        return list(obj.quotes.all())

    @staticmethod
    def resolve_status_changes(obj):
        return list(obj.status_changes.all())


class RfqFilters(PageParams):
    status: RfqStatus | None = None
    side: str | None = Field(None, pattern="^(buyer|supplier)$",
                             description="buyer: RFQs you sent; supplier: RFQs you received")


class CommentIn(Input):
    comment: str = Field("", max_length=500)
    version: int | None = Field(None, ge=1, le=MAX_INT,
                                description="The version you read; 409 if it moved on")


class QuoteLineIn(Input):
    rfq_line_id: int = Field(ge=1, le=MAX_INT)
    unit_price: Decimal = Field(ge=0, max_digits=18, decimal_places=4)
    product_id: int | None = Field(None, ge=1, le=MAX_INT,
                                   description="Required for a free-text line; else the "
                                   "requested product")
    quantity: int | None = Field(None, ge=1, le=orders.MAX_QUANTITY,
                                 description="Default: the requested quantity")
    lead_time_days: int | None = Field(None, ge=0, le=rfqs.MAX_LEAD_TIME_DAYS)


class QuoteIn(Input):
    valid_until: datetime.date
    note: str = Field("", max_length=5000)
    lines: list[QuoteLineIn] = Field(min_length=1, max_length=rfqs.MAX_LINES)
    send: bool = Field(True, description="false: save as the RFQ's draft quote")
    version: int | None = Field(None, ge=1, le=MAX_INT, description="The RFQ's version")


class AcceptIn(Input):
    buyer_reference: str = Field("", max_length=80)
    version: int | None = Field(None, ge=1, le=MAX_INT, description="The quote's version")


# --- Helpers -------------------------------------------------------------------------------


def _forbidden_as_403(error):
    if error.code == "forbidden":
        raise ProblemError(403, code="permission_denied", detail=error.message) from error
    raise error


def _rfq_detail(membership, pk):
    rfq = rfq_selectors.rfq_detail(organization=membership.organization, pk=pk)
    orders_by_quote = {order.quote_id: order for order in
                       rfq_selectors.orders_of_quotes([q.pk for q in rfq.quotes.all()])}
    for quote in rfq.quotes.all():
        quote.accepted_order = orders_by_quote.get(quote.pk)
    return rfq


def _quote_out(membership, quote):
    rfq = _rfq_detail(membership, quote.rfq_id)
    return next(q for q in rfq.quotes.all() if q.pk == quote.pk)


def _require_key(request):
    if not request.headers.get(HEADER):
        raise ProblemError(428, code="idempotency_key_required",
                           detail="Send an Idempotency-Key header with this request.")


# --- Endpoints -------------------------------------------------------------------------------


@router.get("/hub/rfqs", response=Page[RfqOut])
def rfq_list(request, filters: Query[RfqFilters]):
    """RFQs you sent (buyer) or received (supplier; never the buyers' drafts), newest
    first."""
    membership = require(request, ORDERS_VIEW)
    queryset = rfq_selectors.rfqs_for(organization=membership.organization,
                                      side=filters.side, status=filters.status)
    return paginate(queryset, cursor=filters.cursor, limit=filters.limit, order=("-id",))


@router.post("/hub/rfqs", response={201: RfqDetailOut})
@idempotent
def rfq_create(request, payload: RfqIn):
    """Ask a supplier you trade with for a quote. Lines name your entitled products
    (`product_id`) or describe an item (`description`). Requires an `Idempotency-Key`."""
    membership = require(request, ORDERS_PLACE)
    _require_key(request)
    relationship = buyer_relationship(buyer=membership.organization,
                                      supplier_id=payload.supplier_id)
    if relationship is None:
        raise HubError("You do not trade with this supplier.", code="not_found",
                       field="supplier_id")
    rfq = rfqs.rfq_create(
        relationship=relationship, actor=request.user, title=payload.title,
        needed_by=payload.needed_by, note=payload.note, submit=payload.submit,
        lines=[line.model_dump() for line in payload.lines],
        idempotency_key=f"api:{membership.pk}:{request.headers.get(HEADER)}")
    return Status(201, _rfq_detail(membership, rfq.pk))


@router.get("/hub/rfqs/{rfq_id}", response=RfqDetailOut)
def rfq_detail(request, rfq_id: int):
    membership = require(request, ORDERS_VIEW)
    return _rfq_detail(membership, rfq_id)


@router.post("/hub/rfqs/{rfq_id}/submit", response=RfqDetailOut)
@idempotent
def rfq_submit(request, rfq_id: int, payload: CommentIn):
    """Send a draft RFQ to the supplier (buyer)."""
    membership = require(request, ORDERS_VIEW)
    rfq = rfq_selectors.rfq_or_404(organization=membership.organization, pk=rfq_id)
    try:
        rfqs.rfq_submit(rfq=rfq, membership=membership, actor=request.user,
                        version=payload.version)
    except HubError as error:
        _forbidden_as_403(error)
    return _rfq_detail(membership, rfq_id)


@router.post("/hub/rfqs/{rfq_id}/cancel", response=RfqDetailOut)
@idempotent
def rfq_cancel(request, rfq_id: int, payload: CommentIn):
    """Withdraw your RFQ (buyer); a quote on the table is declined with it."""
    membership = require(request, ORDERS_VIEW)
    rfq = rfq_selectors.rfq_or_404(organization=membership.organization, pk=rfq_id)
    try:
        rfqs.rfq_cancel(rfq=rfq, membership=membership, actor=request.user,
                        comment=payload.comment, version=payload.version)
    except HubError as error:
        _forbidden_as_403(error)
    return _rfq_detail(membership, rfq_id)


@router.post("/hub/rfqs/{rfq_id}/decline", response=RfqDetailOut)
@idempotent
def rfq_decline(request, rfq_id: int, payload: CommentIn):
    """Decline to quote (supplier)."""
    membership = require(request, ORDERS_VIEW)
    rfq = rfq_selectors.rfq_or_404(organization=membership.organization, pk=rfq_id)
    try:
        rfqs.rfq_decline(rfq=rfq, membership=membership, actor=request.user,
                         comment=payload.comment, version=payload.version)
    except HubError as error:
        _forbidden_as_403(error)
    return _rfq_detail(membership, rfq_id)


@router.post("/hub/rfqs/{rfq_id}/quotes", response={201: QuoteOut})
@idempotent
def quote_create(request, rfq_id: int, payload: QuoteIn):
    """Quote an RFQ (supplier): a unit price per line you quote, the validity date (a
    calendar day in Asia/Jakarta), a note. Sent at once unless `send` is false; a sent quote
    supersedes the one sent before."""
    membership = require(request, ORDERS_VIEW)
    rfq = rfq_selectors.rfq_or_404(organization=membership.organization, pk=rfq_id)
    try:
        quote = rfqs.quote_save(rfq=rfq, membership=membership, actor=request.user,
                                valid_until=payload.valid_until, note=payload.note,
                                lines=[line.model_dump() for line in payload.lines],
                                send=payload.send, version=payload.version)
    except HubError as error:
        _forbidden_as_403(error)
    return Status(201, _quote_out(membership, quote))


@router.post("/hub/quotes/{quote_id}/send", response=QuoteOut)
@idempotent
def quote_send(request, quote_id: int, payload: CommentIn):
    """Send a draft quote (supplier)."""
    membership = require(request, ORDERS_VIEW)
    quote = rfq_selectors.quote_or_404(organization=membership.organization, pk=quote_id)
    try:
        quote = rfqs.quote_send(quote=quote, membership=membership, actor=request.user,
                                version=payload.version)
    except HubError as error:
        _forbidden_as_403(error)
    return _quote_out(membership, quote)


@router.post("/hub/quotes/{quote_id}/accept", response={201: OrderDetailOut,
                                                        200: OrderDetailOut})
@idempotent
def quote_accept(request, quote_id: int, payload: AcceptIn):
    """Accept a sent, still valid quote (buyer): places the order at the quoted prices and
    quantities (201 with the order; 200 with the same order when the quote was already
    accepted). Requires an `Idempotency-Key` and a JSON body (`{}` is enough). Approval and
    credit rules apply as to any order; out of stock or no longer trading is 422 and changes
    nothing."""
    membership = require(request, ORDERS_VIEW)
    quote = rfq_selectors.quote_or_404(organization=membership.organization, pk=quote_id)
    _require_key(request)
    try:
        order, created = rfqs.quote_accept(quote=quote, membership=membership,
                                           actor=request.user,
                                           buyer_reference=payload.buyer_reference,
                                           version=payload.version)
    except HubError as error:
        _forbidden_as_403(error)
    return Status(201 if created else 200, _detail(membership, order))


@router.post("/hub/quotes/{quote_id}/decline", response=QuoteOut)
@idempotent
def quote_decline(request, quote_id: int, payload: CommentIn):
    """Decline the quote (buyer); the RFQ is closed as declined."""
    membership = require(request, ORDERS_VIEW)
    quote = rfq_selectors.quote_or_404(organization=membership.organization, pk=quote_id)
    try:
        quote = rfqs.quote_decline(quote=quote, membership=membership, actor=request.user,
                                   comment=payload.comment, version=payload.version)
    except HubError as error:
        _forbidden_as_403(error)
    return _quote_out(membership, quote)
