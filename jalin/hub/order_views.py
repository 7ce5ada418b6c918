"""Hub pages for stock and ordering.

Supplier: warehouses, stock (with a low-stock view and an adjust form), the order queue and
order actions (confirm, ship with quantities, deliver, cancel; finance releases credit holds).
Buyer: availability and "add to cart" in the shop, the multi-supplier cart, quick order by
SKU list, my orders, order detail with status history and shipments, reorder.

Views stay thin: reads through `order_selectors`, writes through `orders` / `stock`.
"""

import uuid

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jalin.core.pagination import keyset_paginate
from jalin.core.params import int_param
from jalin.tenancy.decorators import org_required
from jalin.tenancy.roles import (
    CATALOG_EDIT,
    CATALOG_VIEW,
    ORDERS_PLACE,
    ORDERS_VIEW,
    has_perm,
)
from jalin.tenancy.services import StaleVersion

from . import (
    addresses,
    order_selectors,
    orders,
    return_selectors,
    returns,
    selectors,
    stock,
)
from .models import Cart, OrderStatus, Product, Warehouse
from .pricing import prices_for
from .services import HubError

PER_PAGE = 50


def lines_added_message(count):
    return ngettext("%(count)s line added to your cart.", "%(count)s lines added to your cart.",
                    count) % {"count": count}


# --- Supplier: warehouses and stock --------------------------------------------------------


@org_required(CATALOG_VIEW)
@require_http_methods(["GET", "POST"])
def warehouses(request):
    supplier = request.organization
    error, status = None, 200
    if request.method == "POST":
        if not has_perm(request.membership, CATALOG_EDIT):
            raise Http404
        try:
            warehouse = stock.warehouse_create(supplier=supplier, actor=request.user,
                                               code=request.POST.get("code", ""),
                                               name=request.POST.get("name", ""))
            messages.success(request, _("Warehouse %(code)s added.") % {"code": warehouse.code})
            return redirect("hub:warehouses")
        except HubError as exc:
            error, status = exc.message, 400
    return render(request, "hub/warehouses.html", {
        "warehouses": order_selectors.warehouses_for(supplier=supplier),
        "can_edit": has_perm(request.membership, CATALOG_EDIT), "error": error,
        "values": request.POST,
    }, status=status)


def _stock_page(request, *, low, error=None, status=200):
    supplier = request.organization
    warehouse_id = int_param(request.GET.get("warehouse"))
    search = (request.GET.get("q") or "").strip()[:100]
    levels = order_selectors.stock_levels(supplier=supplier, warehouse_id=warehouse_id,
                                          search=search, low=low)
    return render(request, "hub/stock.html", {
        "page": keyset_paginate(levels, request.GET, per_page=PER_PAGE),
        "warehouses": order_selectors.warehouses_for(supplier=supplier),
        "warehouse_id": warehouse_id, "q": search, "low": low,
        "is_filtered": bool(warehouse_id or search),
        "can_edit": has_perm(request.membership, CATALOG_EDIT),
        "error": error, "values": request.POST,
    }, status=status)


@org_required(CATALOG_VIEW)
@require_GET
def stock_list(request):
    return _stock_page(request, low=request.GET.get("low") == "1")


@org_required(CATALOG_VIEW)
@require_GET
def stock_low(request):
    return _stock_page(request, low=True)


@org_required(CATALOG_EDIT)
@require_POST
def stock_adjust(request):
    supplier = request.organization
    warehouse = Warehouse.objects.filter(pk=int_param(request.POST.get("warehouse")),
                                         supplier=supplier).first()
    product = Product.objects.filter(supplier=supplier,
                                     sku=(request.POST.get("sku") or "").strip()).first()
    delta = int_param(request.POST.get("delta"))
    threshold = request.POST.get("low_stock_threshold", "").strip()
    try:
        if warehouse is None:
            raise HubError(_("Choose a warehouse."), code="not_found", field="warehouse")
        if product is None:
            raise HubError(_("No product has this SKU."), code="not_found", field="sku")
        if delta is None:
            raise HubError(_("Enter a whole number of units."), code="invalid_quantity",
                           field="delta")
        level = stock.stock_adjust(warehouse=warehouse, product=product, delta=delta,
                                   reason=request.POST.get("reason", ""), actor=request.user,
                                   low_stock_threshold=int_param(threshold, default=-1) if threshold
                                   else None)
    except HubError as exc:
        return _stock_page(request, low=False, error=exc.message, status=400)
    messages.success(request, _("Stock of %(sku)s in %(code)s: %(on_hand)s on hand.") % {
        "sku": product.sku, "code": warehouse.code, "on_hand": level.on_hand})
    return redirect("hub:stock")


# --- Buyer: cart ---------------------------------------------------------------------------


@org_required(ORDERS_PLACE)
@require_POST
def cart_add(request, supplier_id):
    relationship = selectors.relationship_for_buyer_or_404(buyer=request.organization,
                                                           supplier_id=supplier_id)
    quantity = int_param(request.POST.get("quantity"), default=-1)
    try:
        orders.cart_set_line(relationship=relationship, user=request.user,
                             product_id=int_param(request.POST.get("product")),
                             quantity=quantity, add=request.POST.get("mode") != "set")
        messages.success(request, _("Cart updated."))
    except HubError as exc:
        messages.error(request, exc.message)
    target = request.POST.get("next") or ""
    if target == "cart":
        return redirect("hub:cart")
    return redirect("hub:shop_catalog", supplier_id=relationship.supplier_id)


@org_required(ORDERS_PLACE)
@require_GET
def cart(request):
    carts = list(Cart.objects.filter(buyer=request.organization, user=request.user)
                 .select_related("supplier").prefetch_related("lines__product")
                 .order_by("supplier__name", "id"))
    sections = []
    for one in carts:
        lines = list(one.lines.all())
        if not lines:
            continue
        relationship = order_selectors.buyer_relationship(buyer=request.organization,
                                                          supplier_id=one.supplier_id)
        entries = []
        if relationship is not None:
            # One price query per distinct quantity in the cart, not one per line.
            today, prices = timezone.localdate(), {}
            for quantity in {line.quantity for line in lines}:
                found = prices_for(relationship=relationship, quantity=quantity, on_date=today,
                                   product_ids=[ln.product_id for ln in lines
                                                if ln.quantity == quantity])
                prices.update({(pid, quantity): price for pid, price in found.items()})
            entries = [(line, prices.get((line.product_id, line.quantity))) for line in lines]
        sections.append({"cart": one, "supplier": one.supplier, "entries": entries,
                         "trading": relationship is not None})
    ship_to_choices = list(addresses.addresses_for(buyer=request.organization)[:200]
                           ) if sections else []
    return render(request, "hub/cart.html", {
        "sections": sections, "token": uuid.uuid4().hex, "ship_to_choices": ship_to_choices,
    })


def _checkout_key(request, supplier_id):
    token = (request.POST.get("token") or "").strip()[:64]
    return f"cart:{request.membership.pk}:{token}:{supplier_id}" if token else None


def _ship_to(request):
    """The picked address id (checked by the service), or None for the default."""
    raw = (request.POST.get("ship_to") or "").strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        return -1  # not an id: the service answers "No such address."


def _checkout_one(request, cart_obj):
    relationship = selectors.relationship_for_buyer_or_404(buyer=request.organization,
                                                           supplier_id=cart_obj.supplier_id)
    return orders.cart_checkout(cart=cart_obj, actor=request.user, relationship=relationship,
                                idempotency_key=_checkout_key(request, cart_obj.supplier_id),
                                buyer_reference=request.POST.get("reference", ""),
                                ship_to=_ship_to(request))


@org_required(ORDERS_PLACE)
@require_POST
def cart_checkout(request, supplier_id):
    """Submit one supplier's cart. The form's one-time token makes a double click (or a
    resubmitted form) answer the same order instead of a second one."""
    cart_obj = Cart.objects.filter(buyer=request.organization, user=request.user,
                                   supplier_id=supplier_id).first()
    if cart_obj is None:
        raise Http404
    try:
        order = _checkout_one(request, cart_obj)
    except HubError as exc:
        messages.error(request, exc.message)
        return redirect("hub:cart")
    messages.success(request, _("Order %(number)s placed.") % {"number": order.number})
    return redirect("hub:order_detail", pk=order.pk)


@org_required(ORDERS_PLACE)
@require_POST
def cart_checkout_all(request):
    placed = 0
    for cart_obj in Cart.objects.filter(buyer=request.organization, user=request.user
                                        ).select_related("supplier"):
        if not cart_obj.lines.exists() and not _checkout_key(request, cart_obj.supplier_id):
            continue
        try:
            _checkout_one(request, cart_obj)
            placed += 1
        except HubError as exc:
            if exc.code != "no_lines":
                messages.error(request, f"{cart_obj.supplier.name}: {exc.message}")
        except Http404:
            messages.error(request, _("%(supplier)s: you cannot order from this supplier.") % {
                "supplier": cart_obj.supplier.name})
    if placed:
        messages.success(request, ngettext("%(count)s order placed.", "%(count)s orders placed.",
                                           placed) % {"count": placed})
    return redirect("hub:orders")


@org_required(ORDERS_PLACE)
@require_http_methods(["GET", "POST"])
def quick_order(request, supplier_id):
    relationship = selectors.relationship_for_buyer_or_404(buyer=request.organization,
                                                           supplier_id=supplier_id)
    result, status = None, 200
    text = request.POST.get("lines", "")
    if request.method == "POST":
        result = orders.quick_order(relationship=relationship, user=request.user, text=text)
        if result.added and not result.errors:
            messages.success(request, lines_added_message(result.added))
            return redirect("hub:cart")
        status = 400 if result.errors else 200
    return render(request, "hub/quick_order.html", {
        "supplier": relationship.supplier, "result": result, "text": text,
    }, status=status)


# --- Orders (both sides) -------------------------------------------------------------------


@org_required(ORDERS_VIEW)
@require_GET
def order_list(request):
    organization = request.organization
    status = request.GET.get("status") or None
    if status not in OrderStatus.values:
        status = None
    side = request.GET.get("side")
    if side not in ("buyer", "supplier"):
        side = "supplier" if organization.is_supplier and not organization.is_buyer else (
            "buyer" if organization.is_buyer and not organization.is_supplier else None)
    # ?counterparty=<organization id>: the orders with one customer (or supplier), e.g. the
    # CRM account page's "view all" link.
    counterparty_id = int_param(request.GET.get("counterparty"))
    counterparty_id = counterparty_id if counterparty_id and counterparty_id > 0 else None
    queryset = order_selectors.orders_for(organization=organization, status=status, side=side,
                                          counterparty_id=counterparty_id)
    return render(request, "hub/orders.html", {
        "page": keyset_paginate(queryset, request.GET, per_page=PER_PAGE),
        "statuses": OrderStatus.choices, "status": status, "side": side,
        "counterparty_id": counterparty_id,
        "counterparty": order_selectors.counterparty_name(organization=organization,
                                                          counterparty_id=counterparty_id),
        "is_filtered": bool(status or counterparty_id),
    })


def _order_page(request, pk, *, status=200, error=None):
    order = order_selectors.order_detail(organization=request.organization, pk=pk)
    side = orders.side_of(order, request.organization)
    actions = [(name, _(orders.ACTIONS[name].label))
               for name in orders.actions_for(order, request.membership)]
    can_ship = (side == orders.SUPPLIER and order.status in (OrderStatus.CONFIRMED,
                                                             OrderStatus.PARTIALLY_SHIPPED)
                and has_perm(request.membership, orders.ORDERS_FULFIL))
    from . import invoice_selectors, invoicing

    uninvoiced = sum(invoicing.uninvoiced_shipped(order).values())
    return render(request, "hub/order_detail.html", {
        "order": order, "side": side, "actions": actions, "can_ship": can_ship,
        "invoices": invoice_selectors.order_invoices(order=order),
        "uninvoiced_units": uninvoiced,
        "can_invoice": bool(uninvoiced and side == orders.SUPPLIER
                            and invoicing.can_issue_invoices(request.membership)),
        "error": error,
        "can_return": returns.can_request_return(order, request.membership),
        "order_returns": return_selectors.returns_of_order(organization=request.organization,
                                                           order=order),
        "can_reorder": side == orders.BUYER and has_perm(request.membership, ORDERS_PLACE),
    }, status=status)


@org_required(ORDERS_VIEW)
@require_GET
def order_detail(request, pk):
    return _order_page(request, pk)


@org_required(ORDERS_VIEW)
@require_POST
def order_action(request, pk):
    order = order_selectors.order_detail(organization=request.organization, pk=pk)
    try:
        orders.order_transition(order=order, action=request.POST.get("action", ""),
                                membership=request.membership, actor=request.user,
                                reason=request.POST.get("reason", ""),
                                version=int_param(request.POST.get("version"), default=0))
    except StaleVersion as exc:
        return _order_page(request, pk, status=409, error=exc.message)
    except HubError as exc:
        return _order_page(request, pk, status=403 if exc.code == "forbidden" else 400,
                           error=exc.message)
    messages.success(request, _("Order updated."))
    return redirect("hub:order_detail", pk=pk)


@org_required(ORDERS_VIEW)
@require_POST
def order_ship(request, pk):
    order = order_selectors.order_detail(organization=request.organization, pk=pk)
    quantities, warehouses = {}, {}
    for line in order.lines.all():
        quantity = int_param(request.POST.get(f"ship_{line.pk}"), default=0)
        if quantity:
            quantities[line.pk] = quantity
            warehouse_id = int_param(request.POST.get(f"from_{line.pk}"))
            if warehouse_id:
                warehouses[line.pk] = warehouse_id
    try:
        orders.ship(order=order, membership=request.membership, actor=request.user,
                    quantities=quantities, warehouses=warehouses,
                    carrier=request.POST.get("carrier", ""),
                    tracking=request.POST.get("tracking", ""),
                    version=int_param(request.POST.get("version"), default=0))
    except StaleVersion as exc:
        return _order_page(request, pk, status=409, error=exc.message)
    except HubError as exc:
        return _order_page(request, pk, status=403 if exc.code == "forbidden" else 400,
                           error=exc.message)
    messages.success(request, _("Shipment recorded."))
    return redirect("hub:order_detail", pk=pk)


@org_required(ORDERS_PLACE)
@require_POST
def order_reorder(request, pk):
    order = order_selectors.order_detail(organization=request.organization, pk=pk)
    if order.buyer_id != request.organization.pk:
        raise Http404
    relationship = selectors.relationship_for_buyer_or_404(buyer=request.organization,
                                                           supplier_id=order.supplier_id)
    added, skipped = orders.reorder(order=order, user=request.user, relationship=relationship)
    if skipped:
        messages.warning(request, _("No longer available: %(skus)s") % {
            "skus": ", ".join(skipped)})
    messages.success(request, lines_added_message(added))
    return redirect(reverse("hub:cart"))


# --- Ordering settings ---------------------------------------------------------------------


def _decimal(value):
    from decimal import Decimal, InvalidOperation

    value = (value or "").strip().replace(",", "")
    if not value:
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        return "invalid"
    return number if number.is_finite() else "invalid"


@org_required(ORDERS_VIEW)
@require_http_methods(["GET", "POST"])
def ordering_settings(request):
    """Supplier: prices incl./excl. tax, stock numbers for buyers, tax rates per class.
    Buyer: the approval threshold. Changing them needs org.manage."""
    from jalin.tenancy.roles import ORG_MANAGE

    from . import tax
    from .models import BuyerSettings, InvoicingMode, SupplierSettings, TaxClass

    organization = request.organization
    can_edit = has_perm(request.membership, ORG_MANAGE)
    error, status = None, 200
    if request.method == "POST":
        if not can_edit:
            raise Http404
        try:
            if request.POST.get("part") == "supplier" and organization.is_supplier:
                rates = {}
                for value, _label in TaxClass.choices:
                    rate = _decimal(request.POST.get(f"rate_{value}"))
                    if rate == "invalid":
                        raise HubError(_("Enter a number."), code="invalid_rate")
                    if rate is not None:
                        rates[value] = rate
                orders.supplier_settings_update(
                    supplier=organization, actor=request.user,
                    prices_include_tax=request.POST.get("prices_include_tax") == "on",
                    show_stock_quantity=request.POST.get("show_stock_quantity") == "on",
                    rates=rates, invoicing=request.POST.get("invoicing") or None,
                    return_window_days=int_param(request.POST.get("return_window_days"), default=-1)
                    if (request.POST.get("return_window_days") or "").strip() else None)
            elif request.POST.get("part") == "buyer" and organization.is_buyer:
                threshold = _decimal(request.POST.get("approval_threshold"))
                if threshold == "invalid":
                    raise HubError(_("Enter a number."), code="invalid_threshold")
                orders.buyer_settings_update(buyer=organization, actor=request.user,
                                             approval_threshold=threshold)
            else:
                raise HubError(_("Nothing to save."), code="invalid")
            messages.success(request, _("Settings saved."))
            return redirect("hub:ordering_settings")
        except HubError as exc:
            error, status = exc.message, 400
    supplier_settings = (SupplierSettings.objects.filter(supplier=organization).first()
                         if organization.is_supplier else None)
    rates = tax.rates_for(organization) if organization.is_supplier else {}
    return render(request, "hub/ordering_settings.html", {
        "supplier_settings": supplier_settings,
        "return_window_days": supplier_settings.return_window_days if supplier_settings
        else returns.DEFAULT_WINDOW_DAYS,
        "rates": [(value, label, rates.get(value)) for value, label in TaxClass.choices],
        "buyer_settings": BuyerSettings.objects.filter(buyer=organization).first()
        if organization.is_buyer else None,
        "can_edit": can_edit, "error": error,
        "invoicing_modes": InvoicingMode.choices,
        "invoicing": supplier_settings.invoicing if supplier_settings
        else InvoicingMode.PER_SHIPMENT,
    }, status=status)


@org_required(orders.ORDERS_FULFIL)
@require_http_methods(["GET", "POST"])
def order_enter(request):
    """A supplier enters an order on behalf of a customer ("SKU, quantity" lines)."""
    supplier = request.organization
    customers = list(selectors.relationships_for_supplier(supplier=supplier)
                     .filter(status="active").order_by("buyer__name"))
    errors, error, status = [], None, 200
    text = request.POST.get("lines", "")
    buyer_id = int_param(request.POST.get("buyer"))
    if request.method == "POST":
        relationship = next((r for r in customers if r.buyer_id == buyer_id), None)
        if relationship is None:
            error, status = _("Choose a customer."), 400
        else:
            good, errors = orders.parse_sku_lines(relationship=relationship, text=text)
            if not errors and not good:
                error = _("Enter at least one line.")
            if errors or error:
                status = 400
            else:
                token = (request.POST.get("token") or "").strip()[:64]
                try:
                    order = orders.order_place(
                        relationship=relationship, actor=request.user,
                        lines=[(product.pk, quantity) for _n, _r, product, quantity in good],
                        entered_by_supplier=True,
                        idempotency_key=f"enter:{request.membership.pk}:{token}"
                        if token else None,
                        buyer_reference=request.POST.get("reference", ""))
                except HubError as exc:
                    error, status = exc.message, 400
                else:
                    messages.success(request, _("Order %(number)s entered.") % {
                        "number": order.number})
                    return redirect("hub:order_detail", pk=order.pk)
    return render(request, "hub/order_enter.html", {
        "customers": customers, "buyer_id": buyer_id, "text": text, "errors": errors,
        "error": error, "token": uuid.uuid4().hex,
        "reference": request.POST.get("reference", ""),
    }, status=status)
