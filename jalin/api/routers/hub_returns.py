"""The hub's returns (RMA) API: a buyer requests a return of delivered lines; the supplier
approves, rejects, receives (restocking) and credits it.

Bodies forbid unknown fields. Another organization's return, order or order line — in the
path or in the body — is 404, like a missing one; a stale `version` is 409; anything else
that cannot be done is 422 naming the field, and changes nothing.
"""

import datetime
from decimal import Decimal

from ninja import Field, Query, Router, Schema, Status

from jalin.hub import order_selectors as oselectors
from jalin.hub import return_selectors, returns
from jalin.hub.models import ReturnCondition, ReturnReason, ReturnStatus
from jalin.hub.services import HubError
from jalin.tenancy.access import get_for_org_or_404
from jalin.tenancy.roles import ORDERS_PLACE, ORDERS_VIEW

from ..auth import require
from ..errors import ProblemError
from ..idempotency import HEADER, idempotent
from ..pagination import Page, PageParams, paginate
from ..schemas import MAX_INT, Input, OrganizationSummary

router = Router(tags=["hub returns"])


# --- Schemas -------------------------------------------------------------------------------


class ReturnLineIn(Input):
    order_line_id: int = Field(ge=1, le=MAX_INT)
    quantity: int = Field(ge=1, le=returns.MAX_QUANTITY)
    reason: ReturnReason = ReturnReason.OTHER


class ReturnIn(Input):
    order_id: int = Field(ge=1, le=MAX_INT)
    lines: list[ReturnLineIn] = Field(min_length=1, max_length=returns.MAX_LINES)
    note: str = Field("", max_length=5000)
    reason: str = Field("", max_length=200, description="A short reason (optional)")


class ReceivedLineIn(Input):
    line_id: int = Field(ge=1, le=MAX_INT, description="The return line's id")
    received_quantity: int | None = Field(None, ge=0, le=returns.MAX_QUANTITY,
                                          description="Units that came back (default: all)")
    condition: ReturnCondition = ReturnCondition.AS_NEW
    restock: bool = True


class ReturnTransitionIn(Input):
    action: str = Field(min_length=1, max_length=32, description=", ".join(returns.ACTIONS))
    version: int = Field(ge=1, le=MAX_INT)
    note: str = Field("", max_length=500, description="Required to reject")
    lines: list[ReceivedLineIn] | None = Field(
        None, max_length=returns.MAX_LINES,
        description="receive: per line what came back; lines not named came back in full, "
                    "as new, and are restocked")
    warehouse_id: int | None = Field(
        None, ge=1, le=MAX_INT,
        description="receive: the warehouse the goods go back into (default: the one they "
                    "were shipped from)")


class ReturnLineOut(Schema):
    id: int
    order_line_id: int
    sku: str
    name: str
    quantity: int
    reason: str
    received_quantity: int | None
    condition: str
    restock: bool

    @staticmethod
    def resolve_sku(obj):
        return obj.order_line.sku

    @staticmethod
    def resolve_name(obj):
        return obj.order_line.name


class ReturnStatusChangeOut(Schema):
    from_status: str
    to_status: str
    comment: str
    at: datetime.datetime


class CreditNoteOut(Schema):
    id: int
    number: int
    credited_invoice_id: int | None
    issue_date: datetime.date
    currency: str
    total_net: Decimal
    total_tax: Decimal
    total_gross: Decimal


class ReturnOut(Schema):
    id: int
    number: int
    order_id: int
    order_number: int
    supplier: OrganizationSummary
    buyer: OrganizationSummary
    status: ReturnStatus
    reason: str
    requested_at: datetime.datetime
    decided_at: datetime.datetime | None
    received_at: datetime.datetime | None
    credited_at: datetime.datetime | None
    credit_note_id: int | None
    version: int

    @staticmethod
    def resolve_order_number(obj):
        return obj.order.number


class ReturnDetailOut(ReturnOut):
    buyer_note: str
    supplier_note: str
    restock_warehouse_id: int | None
    lines: list[ReturnLineOut]
    status_changes: list[ReturnStatusChangeOut]
    credit_notes: list[CreditNoteOut]
    actions: list[str] = Field(description="What you may do now (POST …/transitions)")

    @staticmethod
    def resolve_lines(obj):
        return list(obj.lines.all())

    @staticmethod
    def resolve_status_changes(obj):
        return list(obj.status_changes.all())

    @staticmethod
    def resolve_credit_notes(obj):
        return [credit.credit_note for credit in obj.credits.all()]


class ReturnFilters(PageParams):
    status: ReturnStatus | None = None
    order_id: int | None = Field(None, ge=1, le=MAX_INT)


# --- Helpers -------------------------------------------------------------------------------


def _detail(membership, return_request):
    detail = return_selectors.return_detail(organization=membership.organization,
                                            pk=return_request.pk)
    detail.actions = returns.actions_for(detail, membership)
    return detail


def _as_api_error(error):
    """forbidden → 403; a foreign or missing line named in the body → 404."""
    if error.code == "forbidden":
        raise ProblemError(403, code="permission_denied", detail=error.message) from error
    if error.code == "not_found" and (error.field or "").startswith("lines["):
        raise ProblemError(404, code="not_found", detail=error.message, errors=[{
            "field": error.field, "loc": ["body", *error.field.replace("]", "").replace(
                "[", ".").split(".")], "message": error.message, "code": "not_found"}],
        ) from error
    raise error


# --- Endpoints -----------------------------------------------------------------------------


@router.get("/hub/returns", response=Page[ReturnOut])
def return_list(request, filters: Query[ReturnFilters]):
    """Returns you requested (buyer) or received (supplier), newest first."""
    membership = require(request, ORDERS_VIEW)
    queryset = return_selectors.returns_for(organization=membership.organization,
                                            status=filters.status, order_id=filters.order_id)
    return paginate(queryset, cursor=filters.cursor, limit=filters.limit, order=("-id",))


@router.post("/hub/returns", response={201: ReturnDetailOut, 200: ReturnDetailOut})
@idempotent
def return_create(request, payload: ReturnIn):
    """Request a return of delivered lines (buyer, `orders.place`). Requires an
    `Idempotency-Key` header: a retry with the same key answers the same return."""
    membership = require(request, ORDERS_PLACE)
    key = request.headers.get(HEADER)
    if not key:
        raise ProblemError(428, code="idempotency_key_required",
                           detail="Send an Idempotency-Key header with every return request.")
    order = get_for_org_or_404(oselectors.orders_for(organization=membership.organization),
                               membership.organization, pk=payload.order_id)
    try:
        return_request = returns.return_request_create(
            order=order, membership=membership, actor=request.user,
            lines=[(line.order_line_id, line.quantity, line.reason.value)
                   for line in payload.lines],
            note=payload.note, reason=payload.reason,
            idempotency_key=f"api:{membership.pk}:{key}")
    except HubError as error:
        _as_api_error(error)
    return Status(201, _detail(membership, return_request))


@router.get("/hub/returns/{return_id}", response=ReturnDetailOut)
def return_detail(request, return_id: int):
    membership = require(request, ORDERS_VIEW)
    return _detail(membership, return_selectors.return_detail(
        organization=membership.organization, pk=return_id))


@router.post("/hub/returns/{return_id}/transitions", response=ReturnDetailOut)
@idempotent
def return_transition(request, return_id: int, payload: ReturnTransitionIn):
    """approve / reject (with a note) / receive (`lines`, `warehouse_id`) — supplier,
    orders.fulfil; cancel — buyer, orders.place; credit — supplier, finance.edit. Send the
    `version` you read; 409 if it moved on."""
    membership = require(request, ORDERS_VIEW)
    return_request = return_selectors.return_detail(organization=membership.organization,
                                                    pk=return_id)
    received = None
    if payload.lines is not None:
        received = [returns.ReceivedLine(line_id=line.line_id,
                                         quantity=line.received_quantity,
                                         condition=line.condition.value,
                                         restock=line.restock) for line in payload.lines]
    try:
        return_request = returns.return_transition(
            return_request=return_request, action=payload.action, membership=membership,
            actor=request.user, note=payload.note, version=payload.version, received=received,
            warehouse_id=payload.warehouse_id)
    except HubError as error:
        _as_api_error(error)
    return _detail(membership, return_request)
