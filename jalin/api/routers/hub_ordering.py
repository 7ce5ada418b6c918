"""The hub's bulk-ordering API for buyers: uploading an order file into the cart (answered with
the per-line report) and saved lists.

A saved list you cannot see (another organization's, or a colleague's private list) is 404;
one you can see but may not change is 403. Bodies forbid unknown fields.
"""

import datetime
from typing import Literal

from django.http import Http404
from ninja import Field, File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile

from jalin.core.params import int_param
from jalin.hub import order_selectors, order_upload, orders, saved_lists, selectors, sku_lines
from jalin.hub.services import HubError
from jalin.tenancy.roles import ORDERS_PLACE

from ..auth import BearerTokenAuth, SessionMembershipAuth, require
from ..errors import ProblemError
from ..idempotency import HEADER, idempotent
from ..pagination import Page, PageParams, paginate
from ..schemas import MAX_INT, Input, OrganizationSummary
from .hub_orders import CartOut, _cart_out

router = Router(tags=["hub bulk ordering"])

# Room for the multipart framing and the `mode` field on top of the file itself.
FORM_OVERHEAD = 64 * 1024


class UploadAuth:
    """Authenticates like the API (token, then session with CSRF); then, before ninja reads
    the form, answers 404 for a supplier you do not trade with and 413 for a body that says
    it is larger than the file limit (neither body is read). With an Idempotency-Key the body
    is read now, so the key can fingerprint it before the form is parsed."""

    def __init__(self):
        self.inner = [BearerTokenAuth(), SessionMembershipAuth()]

    def __call__(self, request):
        for auth in self.inner:
            result = auth(request)
            if result:
                break
        else:
            return None
        match = getattr(request, "resolver_match", None)
        supplier_id = int_param(match.kwargs.get("supplier_id") if match else None,
                                positive=True) or 0
        membership = getattr(request, "membership", None)
        if membership is None or order_selectors.buyer_relationship(
                buyer=membership.organization, supplier_id=supplier_id) is None:
            raise Http404
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > sku_lines.MAX_UPLOAD_BYTES + FORM_OVERHEAD:
            raise ProblemError(413, code="payload_too_large",
                               detail=sku_lines.too_large_message())
        if HEADER in request.headers:
            request.body  # noqa: B018 - cached for the idempotency fingerprint
        return result


UPLOAD_AUTH = [UploadAuth(), BearerTokenAuth(), SessionMembershipAuth()]


# --- Order upload --------------------------------------------------------------------------


class UploadLineOut(Schema):
    line: int = Field(description="Row number in the file (the header is row 1)")
    content: str
    reason: str
    code: str = Field(description="format, bad_quantity, unknown_sku, not_entitled, "
                                  "below_minimum, or duplicate (a notice: quantities added)")


class UploadOut(Schema):
    mode: str
    lines_read: int
    good_lines: int
    problems: int
    applied: bool = Field(description="Whether the cart was changed")
    added: int = Field(description="Products added to the cart")
    report: list[UploadLineOut]
    cart: CartOut


def _report(result):
    return [{"line": p.number, "content": p.content, "reason": p.message, "code": p.code}
            for p in result.report]


@router.post("/hub/carts/{supplier_id}/upload", response={200: UploadOut},
             auth=UPLOAD_AUTH)
@idempotent
def cart_upload(request, supplier_id: int, file: File[UploadedFile],
                mode: Form[Literal["check", "valid_only", "all_or_nothing"]] = "all_or_nothing"):
    """Upload a CSV (UTF-8, comma/semicolon/tab, optional header) or .xlsx file of SKU,
    quantity (and optional note) lines into your cart with this supplier (multipart `file`).
    `mode`: `all_or_nothing` (default) adds nothing while any line is bad, `valid_only` adds
    the good lines, `check` only reports (and adds a file without problems). The answer is
    the per-line report; a file over 2 MB is 413, more than 2,000 lines or not CSV/.xlsx 422."""
    membership = require(request, ORDERS_PLACE)
    relationship = selectors.relationship_for_buyer_or_404(buyer=membership.organization,
                                                           supplier_id=supplier_id)
    try:
        result = order_upload.cart_upload(relationship=relationship, user=request.user,
                                     uploaded=file, mode=mode)
    except HubError as error:
        if error.code == "too_large":
            raise ProblemError(413, code="payload_too_large", detail=error.message) from error
        raise
    cart = orders.cart_for(relationship=relationship, user=request.user)
    return {"mode": mode, "lines_read": result.rows, "good_lines": len(result.checked.good),
            "problems": len(result.checked.problems), "applied": result.applied,
            "added": result.added, "report": _report(result),
            "cart": _cart_out(relationship, cart)}


# --- Saved lists ---------------------------------------------------------------------------


class SavedListLineOut(Schema):
    product_id: int
    sku: str
    name: str
    quantity: int
    orderable: bool = Field(description="Still an active product of the supplier")

    @staticmethod
    def resolve_sku(obj):
        return obj.product.sku

    @staticmethod
    def resolve_name(obj):
        return obj.product.name

    @staticmethod
    def resolve_orderable(obj):
        return obj.product.is_active


class SavedListOut(Schema):
    id: int
    name: str
    supplier: OrganizationSummary
    owner_id: int
    shared: bool
    created_at: datetime.datetime
    updated_at: datetime.datetime
    version: int
    can_edit: bool = False


class SavedListDetailOut(SavedListOut):
    lines: list[SavedListLineOut]

    @staticmethod
    def resolve_lines(obj):
        return list(obj.lines.all())


class SavedListFilters(PageParams):
    supplier_id: int | None = Field(None, ge=1, le=MAX_INT)


class ListLineIn(Input):
    product_id: int = Field(ge=1, le=MAX_INT)
    quantity: int = Field(ge=0, le=saved_lists.MAX_QUANTITY, description="0 removes the line")


class NewListLineIn(Input):
    product_id: int = Field(ge=1, le=MAX_INT)
    quantity: int = Field(ge=1, le=saved_lists.MAX_QUANTITY)


class SavedListIn(Input):
    supplier_id: int = Field(ge=1, le=MAX_INT)
    name: str = Field(min_length=1, max_length=120)
    shared: bool = False
    from_cart: bool = Field(False, description="Fill the list from your cart with this supplier")
    lines: list[NewListLineIn] = Field([], max_length=saved_lists.MAX_LINES)


class SavedListPatchIn(Input):
    version: int = Field(ge=1, le=MAX_INT)
    name: str | None = Field(None, min_length=1, max_length=120)
    shared: bool | None = None


class AddToCartOut(Schema):
    added: int
    skipped: list[str] = Field(description="SKUs no longer orderable, left out")
    cart: CartOut


def _saved_list(membership, list_id):
    return saved_lists.list_or_404(membership=membership, pk=list_id)


def _detail(membership, saved_list):
    saved_list = (saved_lists.lists_for(membership=membership)
                  .prefetch_related("lines__product").get(pk=saved_list.pk))
    saved_list.can_edit = saved_lists.can_edit(saved_list, membership)
    return saved_list


def _forbidden_as_403(error):
    if error.code == "forbidden":
        raise ProblemError(403, code="permission_denied", detail=error.message) from error
    raise error


@router.get("/hub/lists", response=Page[SavedListOut])
def saved_list_list(request, filters: Query[SavedListFilters]):
    """Your saved lists and your organization's shared ones; `supplier_id` narrows."""
    membership = require(request, ORDERS_PLACE)
    queryset = saved_lists.lists_for(membership=membership, supplier_id=filters.supplier_id)
    return paginate(queryset, cursor=filters.cursor, limit=filters.limit, order=("-id",))


@router.post("/hub/lists", response={201: SavedListDetailOut})
@idempotent
def saved_list_create(request, payload: SavedListIn):
    """A new list for a supplier you trade with: from `lines`, or from your cart
    (`from_cart`)."""
    membership = require(request, ORDERS_PLACE)
    relationship = order_selectors.buyer_relationship(buyer=membership.organization,
                                                      supplier_id=payload.supplier_id)
    if relationship is None:
        raise HubError("You do not trade with this supplier.", code="not_found",
                       field="supplier_id")
    if payload.from_cart and payload.lines:
        raise HubError("Send lines or from_cart, not both.", code="invalid", field="lines")
    if payload.from_cart:
        saved_list = saved_lists.list_from_cart(relationship=relationship, user=request.user,
                                                name=payload.name, shared=payload.shared)
    else:
        quantities = {}
        for index, line in enumerate(payload.lines):
            if line.product_id in quantities:
                raise HubError("This product is on the list twice.", code="duplicate",
                               field=f"lines[{index}].product_id")
            quantities[line.product_id] = line.quantity
        saved_list = saved_lists.list_create(relationship=relationship, user=request.user,
                                             name=payload.name, shared=payload.shared,
                                             quantities=quantities)
    return Status(201, _detail(membership, saved_list))


@router.get("/hub/lists/{list_id}", response=SavedListDetailOut)
def saved_list_get(request, list_id: int):
    membership = require(request, ORDERS_PLACE)
    return _detail(membership, _saved_list(membership, list_id))


@router.patch("/hub/lists/{list_id}", response=SavedListDetailOut)
@idempotent
def saved_list_patch(request, list_id: int, payload: SavedListPatchIn):
    """Rename or (un)share; send the `version` you read (409 if it moved on)."""
    membership = require(request, ORDERS_PLACE)
    saved_list = _saved_list(membership, list_id)
    try:
        saved_list = saved_lists.list_update(saved_list=saved_list, membership=membership,
                                             actor=request.user, name=payload.name,
                                             shared=payload.shared, version=payload.version)
    except HubError as error:
        _forbidden_as_403(error)
    return _detail(membership, saved_list)


@router.delete("/hub/lists/{list_id}", response={204: None})
def saved_list_delete(request, list_id: int):
    membership = require(request, ORDERS_PLACE)
    saved_list = _saved_list(membership, list_id)
    try:
        saved_lists.list_delete(saved_list=saved_list, membership=membership,
                                actor=request.user)
    except HubError as error:
        _forbidden_as_403(error)
    return Status(204, None)


@router.post("/hub/lists/{list_id}/lines", response=SavedListDetailOut)
@idempotent
def saved_list_line_set(request, list_id: int, payload: ListLineIn):
    """Set a product's default quantity on the list (0 removes it)."""
    membership = require(request, ORDERS_PLACE)
    saved_list = _saved_list(membership, list_id)
    try:
        saved_lists.list_set_line(saved_list=saved_list, membership=membership,
                                  actor=request.user, product_id=payload.product_id,
                                  quantity=payload.quantity)
    except HubError as error:
        _forbidden_as_403(error)
    return _detail(membership, saved_list)


@router.post("/hub/lists/{list_id}/add-to-cart", response=AddToCartOut)
@idempotent
def saved_list_add_to_cart(request, list_id: int):
    """Put the list's still-orderable lines into your cart (quantities add up); the SKUs
    that are no longer orderable are named in `skipped`."""
    membership = require(request, ORDERS_PLACE)
    saved_list = _saved_list(membership, list_id)
    added, skipped = saved_lists.list_add_to_cart(saved_list=saved_list, user=request.user)
    relationship = saved_lists.relationship_of(saved_list)
    cart = orders.cart_for(relationship=relationship, user=request.user)
    return {"added": added, "skipped": skipped, "cart": _cart_out(relationship, cart)}
