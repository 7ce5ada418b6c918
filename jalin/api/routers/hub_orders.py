"""The hub's ordering API: stock and warehouses (supplier), carts (buyer), orders (both sides).

Which side you act on follows from your active organization: a buyer sees the orders it
placed, a supplier the orders it received. Prices, status, credit and supplier are never
taken from a buyer's input (bodies forbid unknown fields); ids of rows you may not see are
404 in the path and 422 naming the field in the body.
"""

import datetime
import json
from decimal import Decimal

from ninja import Field, Query, Router, Schema, Status
from ninja.errors import ValidationError as NinjaValidationError
from pydantic import ValidationError as PydanticValidationError

from jalin.hub import order_selectors as oselectors
from jalin.hub import orders, selectors, stock
from jalin.hub.models import InvoicingMode, OrderStatus, Product, Warehouse
from jalin.hub.services import HubError
from jalin.tenancy.access import get_for_org_or_404
from jalin.tenancy.roles import (
    CATALOG_EDIT,
    CATALOG_VIEW,
    ORDERS_FULFIL,
    ORDERS_PLACE,
    ORDERS_VIEW,
    ORG_MANAGE,
)

from ..auth import require
from ..errors import ProblemError
from ..idempotency import HEADER, idempotent
from ..pagination import Page, PageParams, paginate
from ..schemas import MAX_INT, Input, OrganizationSummary

router = Router(tags=["hub orders"])


# --- Schemas -------------------------------------------------------------------------------


class WarehouseOut(Schema):
    id: int
    code: str
    name: str
    is_active: bool


class WarehouseIn(Input):
    code: str = Field(min_length=1, max_length=20)
    name: str = Field(min_length=1, max_length=120)
    is_active: bool = True


class StockOut(Schema):
    id: int
    warehouse_id: int
    product_id: int
    sku: str
    on_hand: int
    reserved: int
    available: int
    low_stock_threshold: int
    is_low: bool

    @staticmethod
    def resolve_sku(obj):
        return obj.product.sku


class StockFilters(PageParams):
    warehouse_id: int | None = Field(None, ge=1, le=MAX_INT)
    product_id: int | None = Field(None, ge=1, le=MAX_INT)
    low: bool | None = Field(None, description="Only stock levels at or below their threshold")


class StockAdjustIn(Input):
    warehouse_id: int = Field(ge=1, le=MAX_INT)
    product_id: int = Field(ge=1, le=MAX_INT)
    delta: int = Field(ge=-(10**9), le=10**9, description="Units added (negative: removed)")
    reason: str = Field(min_length=1, max_length=200)
    low_stock_threshold: int | None = Field(None, ge=0, le=10**9)


class CartLineIn(Input):
    product_id: int = Field(ge=1, le=MAX_INT)
    quantity: int = Field(ge=0, le=orders.MAX_QUANTITY, description="0 removes the line")


class CartLineOut(Schema):
    product_id: int
    sku: str
    name: str
    quantity: int


class CartOut(Schema):
    supplier: OrganizationSummary
    lines: list[CartLineOut]


class OrderLineIn(Input):
    product_id: int = Field(ge=1, le=MAX_INT)
    quantity: int = Field(ge=1, le=orders.MAX_QUANTITY)


class OrderIn(Input):
    supplier_id: int | None = Field(None, ge=1, le=MAX_INT,
                                    description="Buyer: the supplier to order from")
    buyer_id: int | None = Field(None, ge=1, le=MAX_INT,
                                 description="Supplier entering an order for a customer")
    lines: list[OrderLineIn] = Field(min_length=1, max_length=orders.MAX_LINES)
    buyer_reference: str = Field("", max_length=80)
    note: str = Field("", max_length=5000)
    ship_to_address_id: int | None = Field(
        None, ge=1, le=MAX_INT, description="Buyer: one of your active addresses "
        "(default: your default shipping address)")


class CheckoutIn(Input):
    buyer_reference: str = Field("", max_length=80)
    ship_to_address_id: int | None = Field(
        None, ge=1, le=MAX_INT, description="One of your active addresses "
        "(default: your default shipping address)")


class AllocationOut(Schema):
    warehouse_id: int
    warehouse_code: str
    quantity: int
    shipped_quantity: int

    @staticmethod
    def resolve_warehouse_code(obj):
        return obj.warehouse.code


class OrderLineOut(Schema):
    id: int
    position: int
    product_id: int
    sku: str
    name: str
    unit: str
    quantity: int
    shipped_quantity: int
    unit_price: Decimal
    tax_rate: Decimal
    line_net: Decimal
    line_tax: Decimal
    line_gross: Decimal
    promotion_id: int | None = Field(None, description="The promotion that priced the line")
    promotion_discount: Decimal = Field(Decimal(0), description="What the promotion took off "
                                                                "the line (before tax)")
    allocations: list[AllocationOut] = Field(
        description="Supplier only (empty for the buyer): the warehouses the line is "
                    "reserved in and shipped from, primary first")

    @staticmethod
    def resolve_allocations(obj):
        if not getattr(obj, "show_allocations", False):
            return []
        return list(obj.allocations.all())


class StatusChangeOut(Schema):
    from_status: str
    to_status: str
    reason: str
    at: datetime.datetime


class ShipmentLineOut(Schema):
    order_line_id: int
    quantity: int


class ShipmentOut(Schema):
    id: int
    number: int
    carrier: str
    tracking: str
    shipped_at: datetime.datetime
    lines: list[ShipmentLineOut]

    @staticmethod
    def resolve_lines(obj):
        return list(obj.lines.all())


class OrderOut(Schema):
    id: int
    number: int
    supplier: OrganizationSummary
    buyer: OrganizationSummary
    status: OrderStatus
    currency: str
    prices_include_tax: bool
    total_net: Decimal
    total_tax: Decimal
    total_gross: Decimal
    buyer_reference: str
    entered_by_supplier: bool
    created_at: datetime.datetime
    version: int


class OrderDetailOut(OrderOut):
    note: str
    ship_to_address_id: int | None = Field(None, description="The buyer's address (buyer only)")
    ship_to_text: str = Field(description="The delivery address as it was when ordered")
    lines: list[OrderLineOut]
    status_changes: list[StatusChangeOut]
    shipments: list[ShipmentOut]
    actions: list[str] = Field(description="What you may do now (POST …/transitions)")

    @staticmethod
    def resolve_lines(obj):
        return list(obj.lines.all())

    @staticmethod
    def resolve_status_changes(obj):
        return list(obj.status_changes.all())

    @staticmethod
    def resolve_shipments(obj):
        return list(obj.shipments.all())


class OrderFilters(PageParams):
    status: OrderStatus | None = None


class TransitionIn(Input):
    action: str = Field(min_length=1, max_length=32, description=", ".join(orders.ACTIONS))
    reason: str = Field("", max_length=500)
    version: int = Field(ge=1, le=MAX_INT)


class ShipmentLineIn(Input):
    order_line_id: int = Field(ge=1, le=MAX_INT)
    quantity: int = Field(ge=1, le=orders.MAX_QUANTITY)
    warehouse_id: int | None = Field(
        None, ge=1, le=MAX_INT, description="Ship from this allocation's warehouse first "
        "(default: the line's allocations in order, primary first)")


class ShipmentIn(Input):
    version: int = Field(ge=1, le=MAX_INT)
    lines: list[ShipmentLineIn] = Field(min_length=1, max_length=orders.MAX_LINES)
    carrier: str = Field("", max_length=80)
    tracking: str = Field("", max_length=120)


# --- Helpers -------------------------------------------------------------------------------


def _forbidden_as_403(error):
    if error.code == "forbidden":
        raise ProblemError(403, code="permission_denied", detail=error.message) from error
    raise error


def _order(membership, order_id):
    return get_for_org_or_404(oselectors.orders_for(organization=membership.organization),
                              membership.organization, pk=order_id)


def _detail(membership, order):
    order = oselectors.order_detail(organization=membership.organization, pk=order.pk)
    order.actions = orders.actions_for(order, membership)
    supplier_side = orders.side_of(order, membership.organization) == orders.SUPPLIER
    for line in order.lines.all():
        line.show_allocations = supplier_side
    # The supplier sees the address text, not the id in the buyer's address book.
    order.ship_to_address_id = None if supplier_side else order.ship_to_id
    return order


def _body_product(membership, product_id, field):
    product = Product.objects.filter(pk=product_id,
                                     supplier=membership.organization).first()
    if product is None:
        raise HubError("No such product.", code="not_found", field=field)
    return product


# --- Warehouses and stock (supplier) -------------------------------------------------------


@router.get("/hub/warehouses", response=Page[WarehouseOut])
def warehouse_list(request, params: Query[PageParams]):
    membership = require(request, CATALOG_VIEW)
    return paginate(oselectors.warehouses_for(supplier=membership.organization),
                    cursor=params.cursor, limit=params.limit, order=("id",))


@router.post("/hub/warehouses", response={201: WarehouseOut})
@idempotent
def warehouse_create(request, payload: WarehouseIn):
    membership = require(request, CATALOG_EDIT)
    warehouse = stock.warehouse_create(supplier=membership.organization, actor=request.user,
                                       **payload.model_dump())
    return Status(201, warehouse)


@router.get("/hub/stock", response=Page[StockOut])
def stock_list(request, filters: Query[StockFilters]):
    """Stock levels of your products; `low=true` lists those at or below their threshold."""
    membership = require(request, CATALOG_VIEW)
    levels = oselectors.stock_levels(supplier=membership.organization,
                                     warehouse_id=filters.warehouse_id,
                                     product_id=filters.product_id, low=bool(filters.low))
    return paginate(levels, cursor=filters.cursor, limit=filters.limit, order=("id",))


@router.post("/hub/stock/adjustments", response=StockOut)
@idempotent
def stock_adjust(request, payload: StockAdjustIn):
    """Add or remove units on hand with a reason (a ledger entry); optionally set the
    low-stock threshold of that stock level."""
    membership = require(request, CATALOG_EDIT)
    warehouse = Warehouse.objects.filter(pk=payload.warehouse_id,
                                         supplier=membership.organization).first()
    if warehouse is None:
        raise HubError("No such warehouse.", code="not_found", field="warehouse_id")
    product = _body_product(membership, payload.product_id, "product_id")
    level = stock.stock_adjust(warehouse=warehouse, product=product, delta=payload.delta,
                               reason=payload.reason, actor=request.user,
                               low_stock_threshold=payload.low_stock_threshold)
    level.product = product
    return level


# --- Carts (buyer) -------------------------------------------------------------------------


def _cart_out(relationship, cart):
    lines = [] if cart is None else [
        {"product_id": line.product_id, "sku": line.product.sku, "name": line.product.name,
         "quantity": line.quantity}
        for line in cart.lines.select_related("product").order_by("id")
    ]
    return {"supplier": relationship.supplier, "lines": lines}


@router.get("/hub/carts/{supplier_id}", response=CartOut)
def cart_detail(request, supplier_id: int):
    """Your cart with this supplier (quantities only; prices are set when you order)."""
    membership = require(request, ORDERS_PLACE)
    relationship = selectors.relationship_for_buyer_or_404(buyer=membership.organization,
                                                           supplier_id=supplier_id)
    cart = orders.cart_for(relationship=relationship, user=request.user)
    return _cart_out(relationship, cart)


@router.post("/hub/carts/{supplier_id}/lines", response=CartOut)
@idempotent
def cart_line_set(request, supplier_id: int, payload: CartLineIn):
    """Set the quantity of a product in your cart (0 removes it)."""
    membership = require(request, ORDERS_PLACE)
    relationship = selectors.relationship_for_buyer_or_404(buyer=membership.organization,
                                                           supplier_id=supplier_id)
    cart = orders.cart_set_line(relationship=relationship, user=request.user,
                                product_id=payload.product_id, quantity=payload.quantity)
    return _cart_out(relationship, cart)


def _checkout_body(request):
    """The optional checkout body: none (or empty) means the defaults. Read by hand so that a
    bare POST (as before addresses existed) keeps working."""
    raw = request.body
    if request.content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
        if request.POST or request.FILES:  # fields sent as a form would be silently lost
            raise ProblemError(415, code="unsupported_media_type",
                               detail="Send the checkout body as application/json.")
        return CheckoutIn()
    if not raw.strip():
        return CheckoutIn()
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProblemError(400, code="malformed_json", title="Malformed JSON",
                           detail="The request body is not valid JSON.") from exc
    try:
        return CheckoutIn.model_validate(data)
    except PydanticValidationError as exc:
        raise NinjaValidationError([
            {**error, "loc": ("body", "payload", *error["loc"])}
            for error in exc.errors(include_url=False, include_context=False)]) from exc


CHECKOUT_BODY = {"requestBody": {"required": False, "content": {"application/json": {
    "schema": CheckoutIn.model_json_schema()}}}}


@router.post("/hub/carts/{supplier_id}/checkout", response={201: OrderDetailOut},
             openapi_extra=CHECKOUT_BODY)
@idempotent
def cart_checkout(request, supplier_id: int):
    """Order what is in your cart with this supplier, at today's prices, delivered to
    `ship_to_address_id` (default: your default shipping address)."""
    membership = require(request, ORDERS_PLACE)
    relationship = selectors.relationship_for_buyer_or_404(buyer=membership.organization,
                                                           supplier_id=supplier_id)
    cart = orders.cart_for(relationship=relationship, user=request.user)
    if cart is None:
        raise HubError("The cart is empty.", code="no_lines", field="lines")
    payload = _checkout_body(request)
    order = orders.cart_checkout(cart=cart, actor=request.user, relationship=relationship,
                                 buyer_reference=payload.buyer_reference,
                                 ship_to=payload.ship_to_address_id)
    return Status(201, _detail(membership, order))


# --- Orders (both sides) -------------------------------------------------------------------


@router.post("/hub/orders", response={201: OrderDetailOut, 200: OrderDetailOut})
@idempotent
def order_create(request, payload: OrderIn):
    """Place an order. Buyers name `supplier_id`; a supplier entering an order for a customer
    names `buyer_id`. Requires an `Idempotency-Key` header: a retry with the same key answers
    the same order. Prices come from your terms, never from the request."""
    membership = require(request, ORDERS_VIEW)
    if payload.buyer_id is not None:
        require(request, ORDERS_FULFIL)  # a supplier entering an order for a customer
    else:
        require(request, ORDERS_PLACE)
    key = request.headers.get(HEADER)
    if not key:
        raise ProblemError(428, code="idempotency_key_required",
                           detail="Send an Idempotency-Key header with every order.")
    organization = membership.organization
    if payload.supplier_id is not None and payload.buyer_id is None:
        relationship = oselectors.buyer_relationship(buyer=organization,
                                                     supplier_id=payload.supplier_id)
        if relationship is None:
            raise HubError("You do not trade with this supplier.", code="not_found",
                           field="supplier_id")
        entered = False
    elif payload.buyer_id is not None and payload.supplier_id is None:
        relationship = oselectors.supplier_relationship(supplier=organization,
                                                        buyer_id=payload.buyer_id)
        if relationship is None:
            raise HubError("This organization is not your customer.", code="not_found",
                           field="buyer_id")
        entered = True
        if payload.ship_to_address_id is not None:
            raise HubError("The buyer's default shipping address is used; the buyer picks "
                           "another one.", code="not_found", field="ship_to_address_id")
    else:
        raise HubError("Name either supplier_id (buyer) or buyer_id (supplier).",
                       code="invalid", field="supplier_id")
    order = orders.order_place(
        relationship=relationship, actor=request.user,
        lines=[(line.product_id, line.quantity) for line in payload.lines],
        idempotency_key=f"{membership.pk}:{key}", entered_by_supplier=entered,
        buyer_reference=payload.buyer_reference, note=payload.note,
        ship_to=payload.ship_to_address_id)
    return Status(201, _detail(membership, order))


@router.get("/hub/orders", response=Page[OrderOut])
def order_list(request, filters: Query[OrderFilters]):
    """Orders you placed (buyer) or received (supplier), newest first."""
    membership = require(request, ORDERS_VIEW)
    queryset = oselectors.orders_for(organization=membership.organization,
                                     status=filters.status)
    return paginate(queryset, cursor=filters.cursor, limit=filters.limit, order=("-id",))


@router.get("/hub/orders/{order_id}", response=OrderDetailOut)
def order_detail(request, order_id: int):
    membership = require(request, ORDERS_VIEW)
    return _detail(membership, _order(membership, order_id))


@router.post("/hub/orders/{order_id}/transitions", response=OrderDetailOut)
@idempotent
def order_transition(request, order_id: int, payload: TransitionIn):
    """Move the order on: approve/reject (buyer approver), buyer_cancel (buyer),
    release_credit/refuse_credit (supplier finance), confirm/deliver/close/cancel (supplier).
    Send the `version` you read; 409 if it moved on."""
    membership = require(request, ORDERS_VIEW)
    order = _order(membership, order_id)
    try:
        order = orders.order_transition(order=order, action=payload.action,
                                        membership=membership, actor=request.user,
                                        reason=payload.reason, version=payload.version)
    except HubError as error:
        _forbidden_as_403(error)
    return _detail(membership, order)


@router.post("/hub/orders/{order_id}/shipments", response={201: ShipmentOut})
@idempotent
def shipment_create(request, order_id: int, payload: ShipmentIn):
    """Ship some or all open quantities of a confirmed order (supplier)."""
    membership = require(request, ORDERS_VIEW)
    order = _order(membership, order_id)
    quantities, warehouses = {}, {}
    for line in payload.lines:
        quantities[line.order_line_id] = quantities.get(line.order_line_id, 0) + line.quantity
        if line.warehouse_id is not None:
            warehouses[line.order_line_id] = line.warehouse_id
    try:
        shipment = orders.ship(order=order, membership=membership, actor=request.user,
                               quantities=quantities, carrier=payload.carrier,
                               tracking=payload.tracking, version=payload.version,
                               warehouses=warehouses)
    except HubError as error:
        _forbidden_as_403(error)
    return Status(201, shipment)




# --- Ordering settings ---------------------------------------------------------------------


class TaxRatesIO(Schema):
    standard: Decimal | None = Field(None, ge=0, le=100, max_digits=7, decimal_places=4)
    reduced: Decimal | None = Field(None, ge=0, le=100, max_digits=7, decimal_places=4)
    exempt: Decimal | None = Field(None, ge=0, le=100, max_digits=7, decimal_places=4)


class SellingOut(Schema):
    prices_include_tax: bool
    show_stock_quantity: bool
    invoicing: InvoicingMode = Field(description="per_shipment: an invoice with every "
                                     "shipment; per_order: one invoice when the order is "
                                     "confirmed")
    return_window_days: int = Field(description="Days after delivery a buyer may request a "
                                    "return (0: no returns)")
    tax_rates: TaxRatesIO


class SellingIn(Input):
    prices_include_tax: bool | None = None
    show_stock_quantity: bool | None = None
    invoicing: InvoicingMode | None = None
    return_window_days: int | None = Field(None, ge=0, le=365)
    tax_rates: TaxRatesIO | None = Field(None, description="Percent per tax class; "
                                         "effective rate on the net price (PPN: 11)")


class BuyingIO(Schema):
    approval_threshold: Decimal | None = Field(None, ge=0, max_digits=18, decimal_places=2,
                                               description="Empty: no approval needed")
    currency: str = Field("IDR", min_length=3, max_length=3)


class BuyingIn(Input):
    approval_threshold: Decimal | None = Field(None, ge=0, max_digits=18, decimal_places=2)


def _selling(supplier):
    from jalin.hub import tax
    from jalin.hub.models import SupplierSettings

    settings = SupplierSettings.objects.filter(supplier=supplier).first()
    return {"prices_include_tax": bool(settings and settings.prices_include_tax),
            "show_stock_quantity": bool(settings and settings.show_stock_quantity),
            "invoicing": settings.invoicing if settings else InvoicingMode.PER_SHIPMENT,
            "return_window_days": settings.return_window_days if settings else 30,
            "tax_rates": tax.rates_for(supplier)}


@router.get("/hub/settings/selling", response=SellingOut)
def selling_settings(request):
    """A supplier's selling settings: tax-inclusive prices, stock numbers, tax rates."""
    membership = require(request, CATALOG_VIEW)
    return _selling(membership.organization)


@router.patch("/hub/settings/selling", response=SellingOut)
@idempotent
def selling_settings_patch(request, payload: SellingIn):
    membership = require(request, ORG_MANAGE)
    organization = membership.organization
    if not organization.is_supplier:
        raise HubError("Only suppliers sell.", code="not_supplier")
    current = _selling(organization)
    data = payload.model_dump(exclude_unset=True)
    rates = {k: v for k, v in (data.get("tax_rates") or {}).items() if v is not None}
    flags = {name: current[name] if data.get(name) is None else data[name]
             for name in ("prices_include_tax", "show_stock_quantity")}
    orders.supplier_settings_update(supplier=organization, actor=request.user, rates=rates,
                                    invoicing=data.get("invoicing"),
                                    return_window_days=data.get("return_window_days"), **flags)
    return _selling(organization)


@router.get("/hub/settings/buying", response=BuyingIO)
def buying_settings(request):
    """A buyer organization's approval threshold."""
    from jalin.hub.models import BuyerSettings

    membership = require(request, ORDERS_VIEW)
    settings = BuyerSettings.objects.filter(buyer=membership.organization).first()
    return settings or {"approval_threshold": None,
                        "currency": membership.organization.currency or "IDR"}


@router.patch("/hub/settings/buying", response=BuyingIO)
@idempotent
def buying_settings_patch(request, payload: BuyingIn):
    membership = require(request, ORG_MANAGE)
    if not membership.organization.is_buyer:
        raise HubError("Only buyers have approval rules.", code="not_buyer")
    settings = orders.buyer_settings_update(buyer=membership.organization, actor=request.user,
                                            approval_threshold=payload.approval_threshold)
    settings.refresh_from_db()
    return settings
