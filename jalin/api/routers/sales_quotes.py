"""The sales quotes API: quotes made from opportunities (lines priced with the customer's hub
prices), edited while draft, sent (to the customer's portal when the account is a hub buyer;
otherwise marked sent — fetch the PDF), withdrawn, answered (PDF quotes), and their PDF.

Reads need `sales.view`, writes `sales.edit`. Another organization's quote or opportunity is
404 like a missing one; a stale `version` is 409; anything else that cannot be done is 422
naming the field (`lines[i].unit_price`...), and changes nothing.
"""

import datetime
from decimal import Decimal

from django.http import HttpResponse
from ninja import Field, Query, Router, Schema, Status

from jalin.sales import quotes
from jalin.sales.models import Opportunity, SalesQuote, SalesQuoteStatus
from jalin.sales.quote_pdf import quote_pdf
from jalin.tenancy.access import for_org, get_for_org_or_404
from jalin.tenancy.roles import SALES_EDIT, SALES_VIEW

from ..auth import require
from ..errors import ProblemError
from ..idempotency import idempotent
from ..pagination import Page, PageParams, paginate
from ..schemas import MAX_INT, Input

router = Router(tags=["sales quotes"])

PDF = {"responses": {200: {
    "description": "The quote as PDF",
    "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
}}}


class QuoteLineOut(Schema):
    id: int
    position: int
    product_id: int | None
    sku: str
    description: str
    quantity: int
    unit_price: Decimal
    price_source: str
    tax_rate: Decimal
    line_net: Decimal
    line_tax: Decimal
    line_gross: Decimal


class QuoteOut(Schema):
    id: int
    number: int
    label: str
    status: SalesQuoteStatus
    opportunity_id: int
    valid_until: datetime.date
    currency: str
    prices_include_tax: bool
    tax_exempt: bool
    total_net: Decimal
    total_tax: Decimal
    total_gross: Decimal
    note: str
    hub_quote_id: int | None
    hub_order_id: int | None
    created_at: datetime.datetime
    sent_at: datetime.datetime | None
    decided_at: datetime.datetime | None
    version: int


class QuoteDetailOut(QuoteOut):
    lines: list[QuoteLineOut]

    @staticmethod
    def resolve_lines(obj):
        return list(obj.lines.all())


class QuoteLineIn(Input):
    product_id: int | None = Field(None, ge=1, le=MAX_INT,
                                   description="A product of your hub catalog")
    description: str = Field("", max_length=200)
    quantity: int = Field(ge=1, le=quotes.MAX_QUANTITY)
    unit_price: Decimal | None = Field(
        None, ge=0, max_digits=18, decimal_places=4,
        description="Omit to use the customer's hub price")


class QuoteCreateIn(Input):
    valid_until: datetime.date | None = Field(None, description="Default: in 30 days")
    lines: list[QuoteLineIn] | None = Field(
        None, max_length=quotes.MAX_LINES,
        description="Omit to copy the opportunity's lines")
    note: str = Field("", max_length=quotes.MAX_NOTE)


class QuoteUpdateIn(Input):
    version: int = Field(ge=1, le=MAX_INT)
    valid_until: datetime.date | None = None
    lines: list[QuoteLineIn] | None = Field(None, max_length=quotes.MAX_LINES)
    note: str | None = Field(None, max_length=quotes.MAX_NOTE)


class VersionIn(Input):
    version: int | None = Field(None, ge=1, le=MAX_INT)


class WithdrawIn(VersionIn):
    comment: str = Field("", max_length=500)


class AnswerIn(VersionIn):
    accepted: bool


class QuoteFilters(PageParams):
    status: SalesQuoteStatus | None = None
    opportunity_id: int | None = Field(None, ge=1, le=MAX_INT)


def _call(func):
    """Run a service; 'not found' references become 404."""
    try:
        return func()
    except quotes.SalesError as error:
        if error.code == "not_found":
            field = error.field or "id"
            raise ProblemError(404, code="not_found", detail=error.message, errors=[{
                "field": field, "loc": ["body", field], "message": error.message,
                "code": "not_found"}]) from error
        raise


def _quote(membership, quote_id):
    return get_for_org_or_404(
        SalesQuote.objects.select_related("organization", "opportunity",
                                          "opportunity__account", "opportunity__contact"),
        membership.organization, pk=quote_id)


def _lines(payload_lines):
    if payload_lines is None:
        return None
    return [line.dict() for line in payload_lines]


@router.get("/sales/quotes", response=Page[QuoteOut])
def quote_list(request, filters: Query[QuoteFilters]):
    """Quotes, newest number first, keyset-paginated."""
    membership = require(request, SALES_VIEW)
    queryset = for_org(SalesQuote, membership.organization)
    if filters.status:
        queryset = queryset.filter(status=filters.status)
    if filters.opportunity_id:
        queryset = queryset.filter(opportunity_id=filters.opportunity_id)
    return paginate(queryset, cursor=filters.cursor, limit=filters.limit, order=("-id",))


@router.post("/sales/opportunities/{opportunity_id}/quotes", response={201: QuoteDetailOut})
@idempotent
def quote_create(request, opportunity_id: int, payload: QuoteCreateIn):
    """A draft quote for an open opportunity: its lines (or `lines`) priced with the
    customer's hub prices and the hub's tax."""
    membership = require(request, SALES_EDIT)
    opportunity = get_for_org_or_404(
        Opportunity.objects.select_related("account", "organization"),
        membership.organization, pk=opportunity_id)
    quote = _call(lambda: quotes.sales_quote_create(
        opportunity=opportunity, actor=request.user, valid_until=payload.valid_until,
        lines=_lines(payload.lines), note=payload.note))
    return Status(201, quote)


@router.get("/sales/quotes/{quote_id}", response=QuoteDetailOut)
def quote_get(request, quote_id: int):
    membership = require(request, SALES_VIEW)
    return _quote(membership, quote_id)


@router.patch("/sales/quotes/{quote_id}", response=QuoteDetailOut)
def quote_update(request, quote_id: int, payload: QuoteUpdateIn):
    """Edit a draft (lines are re-priced); `version` must match (409 otherwise)."""
    membership = require(request, SALES_EDIT)
    quote = _quote(membership, quote_id)
    return _call(lambda: quotes.sales_quote_update(
        quote=quote, actor=request.user, version=payload.version,
        valid_until=payload.valid_until, lines=_lines(payload.lines), note=payload.note))


@router.post("/sales/quotes/{quote_id}/send", response=QuoteDetailOut)
def quote_send(request, quote_id: int, payload: VersionIn):
    """Send a draft: into the customer's portal (a hub quote) for a hub buyer, else marked
    sent (send the PDF)."""
    membership = require(request, SALES_EDIT)
    quote = _quote(membership, quote_id)
    return _call(lambda: quotes.sales_quote_send(quote=quote, actor=request.user,
                                                 membership=membership,
                                                 version=payload.version))


@router.post("/sales/quotes/{quote_id}/withdraw", response=QuoteDetailOut)
def quote_withdraw(request, quote_id: int, payload: WithdrawIn):
    membership = require(request, SALES_EDIT)
    quote = _quote(membership, quote_id)
    return _call(lambda: quotes.sales_quote_withdraw(
        quote=quote, actor=request.user, membership=membership, version=payload.version,
        comment=payload.comment))


@router.post("/sales/quotes/{quote_id}/answer", response=QuoteDetailOut)
def quote_answer(request, quote_id: int, payload: AnswerIn):
    """Record the customer's answer to a quote sent as PDF; accepted wins the opportunity."""
    membership = require(request, SALES_EDIT)
    quote = _quote(membership, quote_id)
    return _call(lambda: quotes.sales_quote_record_answer(
        quote=quote, actor=request.user, accepted=payload.accepted, version=payload.version))


@router.get("/sales/quotes/{quote_id}/pdf", url_name="sales_quote_pdf", openapi_extra=PDF)
def quote_pdf_get(request, quote_id: int):
    membership = require(request, SALES_VIEW)
    quote = _quote(membership, quote_id)
    response = HttpResponse(quote_pdf(quote=quote, lines=list(quote.lines.all())),
                            content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{quote.label}.pdf"'
    return response
