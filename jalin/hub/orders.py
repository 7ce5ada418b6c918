"""Carts and orders: the write side of ordering.

Placing an order (`order_place`) happens in one transaction that:

1. locks the trading relationship row (serializes one buyer's orders with one supplier, which
   is what makes the credit check exact) and answers an existing order for a repeated
   idempotency key;
2. prices every line from the buyer's own relationship (`pricing.prices_for`, promotions
   included; the line keeps the promotion and its discount) — prices are never taken from
   input — and computes tax per line (`tax.line_amounts`);
3. reserves stock for every line, all or nothing, locking stock rows in (warehouse, product)
   order (`stock.reserve`): one warehouse when one can fill the line, otherwise the line is
   split over several (`OrderLineAllocation`); refused only when all active warehouses
   together have too little;
4. decides the status: `awaiting_approval` when the total is above the buyer organization's
   approval threshold, else `credit_hold` when the relationship is on net terms and its
   credit exposure (`exposure`: uninvoiced open orders + open invoices − unapplied credit)
   + this order exceed the credit limit, else `submitted`;
5. takes the next order number from the supplier's locked counter row (last, so the lock is
   held briefly; a rolled-back order gives its number back, so numbers have no gaps).

Deadlocks and serialization failures are retried a few times and never reach the caller.
Every status change goes through `order_transition` / the transition table, is recorded in
`OrderStatusChange` and emitted as `hub.order.<status>`.
"""

import time
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import IntegrityError, OperationalError, transaction
from django.db.models import Sum
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from jalin.core.audit import audit_record
from jalin.core.events import emit_event
from jalin.tenancy.roles import FINANCE_EDIT, ORDERS_APPROVE, ORDERS_FULFIL, ORDERS_PLACE, has_perm
from jalin.tenancy.services import StaleVersion

from . import addresses, numbering, sales_rollup, selectors, sku_lines, stock, tax
from .models import (
    BuyerSettings,
    Cart,
    CartLine,
    Order,
    OrderLine,
    OrderStatus,
    OrderStatusChange,
    PaymentTerms,
    RelationshipStatus,
    Shipment,
    ShipmentLine,
    SupplierSettings,
    TradingRelationship,
)
from .pricing import UnitPrice, prices_for
from .services import HubError

MAX_LINES = 200
MAX_QUANTITY = 1_000_000
RETRIES = 5
RETRY_CODES = {"40001", "40P01"}  # serialization failure, deadlock detected

S = OrderStatus


# --- Carts ---------------------------------------------------------------------------------


def _check_quantity(quantity, field="quantity"):
    if not isinstance(quantity, int) or isinstance(quantity, bool) or not (
        0 <= quantity <= MAX_QUANTITY
    ):
        raise HubError(_("Enter a quantity between 0 and %(max)s.") % {"max": MAX_QUANTITY},
                       code="invalid_quantity", field=field)


def _orderable(relationship, product_ids):
    """The entitled, active products of the relationship's supplier among `product_ids`."""
    return {p.pk: p for p in selectors.entitled_products(relationship=relationship)
            .filter(pk__in=list(product_ids))}


def cart_for(*, relationship, user, create=False):
    lookup = {"buyer_id": relationship.buyer_id, "supplier_id": relationship.supplier_id,
              "user": user}
    if not create:
        return Cart.objects.filter(**lookup).first()
    cart, _created = Cart.objects.get_or_create(**lookup)
    return cart


def cart_set_line(*, relationship, user, product_id, quantity, add=False):
    """Set (or with `add`, increase) the quantity of a product in the user's cart for this
    supplier; 0 removes the line. Unknown or foreign products are refused as "no such"."""
    _check_quantity(quantity)
    if not relationship.is_active:
        raise HubError(_("You cannot order from this supplier."), code="not_trading")
    product = _orderable(relationship, [product_id]).get(product_id)
    if product is None:
        raise HubError(_("No such product."), code="not_found", field="product_id")
    with transaction.atomic():
        cart = cart_for(relationship=relationship, user=user, create=True)
        Cart.objects.select_for_update().filter(pk=cart.pk).first()
        line = CartLine.objects.filter(cart=cart, product=product).first()
        new_quantity = quantity + (line.quantity if (add and line) else 0)
        _check_quantity(new_quantity)
        if new_quantity == 0:
            if line:
                line.delete()
        elif line:
            line.quantity = new_quantity
            line.save(update_fields=["quantity"])
        else:
            line = CartLine.objects.create(cart=cart, product=product, quantity=new_quantity)
        cart.updated_at = timezone.now()
        cart.save(update_fields=["updated_at"])
    return cart


def cart_add_lines(*, relationship, user, quantities):
    """Add {product_id: quantity} to the user's cart for this supplier in one transaction:
    all or nothing. Products must be entitled and active (else `not_found`, nothing added);
    the cart may not end up with more than MAX_LINES products (one order's limit) or a line
    above MAX_QUANTITY. Returns the cart."""
    if not relationship.is_active:
        raise HubError(_("You cannot order from this supplier."), code="not_trading")
    for quantity in quantities.values():
        _check_quantity(quantity)
    quantities = {pid: qty for pid, qty in quantities.items() if qty}
    products = _orderable(relationship, quantities)
    missing = [pid for pid in quantities if pid not in products]
    if missing:
        raise HubError(_("No such product."), code="not_found", field="product_id")
    with transaction.atomic():
        cart = cart_for(relationship=relationship, user=user, create=True)
        Cart.objects.select_for_update().filter(pk=cart.pk).first()
        existing = {line.product_id: line for line in CartLine.objects.filter(cart=cart)}
        if len(set(existing) | set(quantities)) > MAX_LINES:
            raise HubError(_("A cart (one order) has at most %(max)s products.") % {
                "max": MAX_LINES}, code="too_many_lines", field="lines")
        new_lines, changed = [], []
        for product_id, quantity in quantities.items():
            line = existing.get(product_id)
            total = quantity + (line.quantity if line else 0)
            _check_quantity(total)
            if line:
                line.quantity = total
                changed.append(line)
            else:
                new_lines.append(CartLine(cart=cart, product=products[product_id],
                                          quantity=total))
        CartLine.objects.bulk_create(new_lines)
        CartLine.objects.bulk_update(changed, ["quantity"])
        cart.updated_at = timezone.now()
        cart.save(update_fields=["updated_at"])
    return cart


def cart_clear(*, cart):
    CartLine.objects.filter(cart=cart).delete()


@dataclass
class QuickOrderResult:
    added: int = 0
    errors: list = field(default_factory=list)  # (line number, text, message)


def parse_sku_lines(*, relationship, text, max_lines=MAX_LINES):
    """"SKU, quantity" lines → ([(line number, text, product, quantity)],
    [(line number, text, message)]), checked by `sku_lines.check_rows` (the validator that
    file uploads share)."""
    rows, problems = sku_lines.rows_from_text(text, max_lines=max_lines)
    checked = sku_lines.check_rows(relationship=relationship, rows=rows, problems=problems)
    good = [(line.number, line.content, line.product, line.quantity) for line in checked.good]
    return good, [problem.as_tuple() for problem in checked.problems]


def quick_order(*, relationship, user, text, max_lines=MAX_LINES):
    """Add "SKU, quantity" lines to the cart. Good lines are added; every bad line is
    reported with its number and reason (unknown SKU, bad quantity, below minimum)."""
    good, errors = parse_sku_lines(relationship=relationship, text=text, max_lines=max_lines)
    result = QuickOrderResult(errors=errors)
    for number, raw, product, quantity in good:
        try:
            cart_set_line(relationship=relationship, user=user, product_id=product.pk,
                          quantity=quantity, add=True)
            result.added += 1
        except HubError as error:
            result.errors.append((number, raw, error.message))
    result.errors.sort(key=lambda error: error[0])
    return result


# --- Placing orders ------------------------------------------------------------------------


def _retrying(func):
    """Run `func` in a (nested) transaction; retry on deadlock / serialization failure."""
    for attempt in range(RETRIES):
        try:
            with transaction.atomic():
                return func()
        except OperationalError as exc:
            code = getattr(getattr(exc, "__cause__", None), "sqlstate", None) or getattr(
                getattr(exc, "__cause__", None), "pgcode", None)
            if code not in RETRY_CODES or attempt == RETRIES - 1:
                raise
            time.sleep(0.01 * (attempt + 1))
    return None  # pragma: no cover


def _normalize_lines(lines):
    """[(product_id, quantity)] → {product_id: quantity} (repeated products add up)."""
    if not lines:
        raise HubError(_("An order needs at least one line."), code="no_lines", field="lines")
    if len(lines) > MAX_LINES:
        raise HubError(_("An order has at most %(max)s lines.") % {"max": MAX_LINES},
                       code="too_many_lines", field="lines")
    wanted = {}
    for index, (product_id, quantity) in enumerate(lines):
        _check_quantity(quantity, field=f"lines[{index}].quantity")
        if quantity < 1:
            raise HubError(_("The quantity must be at least 1."), code="invalid_quantity",
                           field=f"lines[{index}].quantity")
        wanted[product_id] = wanted.get(product_id, 0) + quantity
    return wanted


@dataclass(frozen=True)
class Exposure:
    """What a buyer owes or has committed to one supplier, in the relationship's currency:
    `orders` (uninvoiced remainder of open orders) + `invoices` (open invoice balances)
    − `credit` (credit notes not applied yet and payments not allocated yet)."""

    orders: Decimal
    invoices: Decimal
    credit: Decimal

    @property
    def total(self):
        return self.orders + self.invoices - self.credit


def exposures_for(relationship_ids):
    """{relationship id: Exposure} for many relationships in four grouped queries."""
    from django.db.models import F

    from .models import Invoice, InvoiceKind, InvoiceStatus, Payment

    ids = list(relationship_ids)
    zero = Decimal("0")
    parts = {pk: {"orders": zero, "invoices": zero, "credit": zero} for pk in ids}
    if not ids:
        return {}
    rows = (Order.objects.filter(relationship_id__in=ids, status__in=_CREDIT_COUNTED,
                                 total_gross__gt=F("invoiced_gross"))
            .values("relationship_id")
            .annotate(amount=Sum(F("total_gross") - F("invoiced_gross"))))
    for row in rows:
        parts[row["relationship_id"]]["orders"] += row["amount"] or zero
    rows = (Invoice.objects.filter(relationship_id__in=ids)
            .exclude(status=InvoiceStatus.PAID)
            .values("relationship_id", "kind")
            .annotate(amount=Sum(F("total_gross") - F("amount_settled"))))
    for row in rows:
        key = "invoices" if row["kind"] == InvoiceKind.INVOICE else "credit"
        parts[row["relationship_id"]][key] += row["amount"] or zero
    rows = (Payment.objects.filter(relationship_id__in=ids, amount__gt=F("amount_allocated"),
                                   reversal__isnull=True)
            .values("relationship_id")
            .annotate(amount=Sum(F("amount") - F("amount_allocated"))))
    for row in rows:
        parts[row["relationship_id"]]["credit"] += row["amount"] or zero
    cent = Decimal("0.01")
    return {pk: Exposure(**{name: Decimal(value).quantize(cent)
                            for name, value in values.items()})
            for pk, values in parts.items()}


def exposure_parts(relationship):
    return exposures_for([relationship.pk])[relationship.pk]


def exposure(relationship):
    """The buyer's credit exposure with this supplier: the uninvoiced remainder of its open
    orders + the open balances of its invoices − its unapplied credit (credit notes not
    applied yet, payments not allocated yet). Run under the relationship row lock for an
    exact credit check."""
    return exposure_parts(relationship).total


# Orders that passed the credit check and are not finished yet.
_CREDIT_COUNTED = (S.SUBMITTED, S.CONFIRMED, S.PARTIALLY_SHIPPED, S.SHIPPED, S.DELIVERED)


def _needs_credit_hold(relationship, order_total):
    if relationship.payment_terms != PaymentTerms.NET:
        return False  # prepaid: no credit is extended
    return exposure(relationship) + order_total > relationship.credit_limit


def _needs_approval(order):
    if order.entered_by_supplier:
        return False
    settings = BuyerSettings.objects.filter(buyer_id=order.buyer_id).first()
    if settings is None or settings.approval_threshold is None:
        return False
    if settings.currency != order.currency:
        return True  # cannot compare: let a person decide
    return order.total_gross > settings.approval_threshold


def order_payload(order):
    return {"order_id": order.pk, "number": order.number, "supplier_id": order.supplier_id,
            "buyer_id": order.buyer_id,
            "total": str(Decimal(order.total_gross).quantize(Decimal("0.01"))),
            "currency": order.currency, "status": order.status}


def _record_status(order, *, from_status, actor, reason=""):
    OrderStatusChange.objects.create(order=order, from_status=from_status,
                                     to_status=order.status, actor=_user(actor),
                                     reason=(reason or "")[:500])
    audit_record(actor=actor, organization=order.supplier, action=f"hub.order.{order.status}",
                 obj=order, before={"status": from_status} if from_status else None,
                 after={"status": order.status, "reason": reason[:200] if reason else ""})
    emit_event(type=f"hub.order.{order.status}", organization=order.supplier, aggregate=order,
               actor=actor, payload=order_payload(order))


def _user(actor):
    return actor if getattr(actor, "pk", None) else None


def _next_number(supplier_id):
    return numbering.next_number(supplier_id=supplier_id, sequence=numbering.ORDER)


def order_place(*, relationship, actor, lines, idempotency_key=None, entered_by_supplier=False,
                buyer_reference="", note="", quoted_prices=None, quote=None, ship_to=None):
    """Place an order of `lines` ([(product_id, quantity)]) with the relationship's supplier.
    Returns the order (an existing one for a repeated idempotency key). Raises HubError
    (nothing written) for bad lines, no price, not enough stock, or no active relationship.

    `quoted_prices` ({product_id: Decimal}, from an accepted `quote`) replaces the price lists
    for those products; everything else (entitlement, tax, stock, approval, credit) is
    unchanged. The order is linked to `quote`.

    `ship_to` (a BuyerAddress or its id) must be an active address of the order's buyer, else
    HubError `not_found` on `ship_to_address_id`; without it the buyer's default shipping
    address (if any) is used. The order keeps the address's text as it is now."""
    wanted = _normalize_lines(lines)
    if idempotency_key is not None:
        idempotency_key = str(idempotency_key)[:255]
        existing = Order.objects.filter(buyer_id=relationship.buyer_id,
                                        idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing

    def place():
        rel = (TradingRelationship.objects.select_for_update(of=("self",))
               .select_related("supplier", "buyer", "price_list").get(pk=relationship.pk))
        if rel.status != RelationshipStatus.ACTIVE:
            raise HubError(_("You cannot order from this supplier."), code="not_trading")
        if idempotency_key is not None:
            existing = Order.objects.filter(buyer_id=rel.buyer_id,
                                            idempotency_key=idempotency_key).first()
            if existing is not None:
                return existing
        address = (addresses.orderable(buyer_id=rel.buyer_id, address=ship_to)
                   if ship_to is not None else addresses.default_shipping(rel.buyer_id))
        products = _orderable(rel, wanted)
        for index, product_id in enumerate(wanted):
            if product_id not in products:
                raise HubError(_("No such product."), code="not_found",
                               field=f"lines[{index}].product_id")
        priced = {}
        today = timezone.localdate()
        if quoted_prices is not None:
            quoted_currency = quote.currency if quote is not None else rel.currency
            priced = {pid: UnitPrice(amount=Decimal(quoted_prices[pid]),
                                     currency=quoted_currency, price_list_id=None,
                                     min_quantity=1, is_customer_price=True)
                      for pid in wanted if pid in quoted_prices}
        else:  # every line at its own quantity's break, in one query
            priced = prices_for(relationship=rel, quantities=wanted, on_date=today)
        for index, (product_id, quantity) in enumerate(wanted.items()):
            product = products[product_id]
            if product_id not in priced:
                raise HubError(_("%(sku)s has no price for you.") % {"sku": product.sku},
                               code="no_price", field=f"lines[{index}].product_id")
            if quantity < product.min_order_quantity:
                raise HubError(_("The minimum order of %(sku)s is %(moq)s.") % {
                    "sku": product.sku, "moq": product.min_order_quantity},
                    code="below_minimum", field=f"lines[{index}].quantity")
        currencies = {price.currency for price in priced.values()}
        if len(currencies) != 1:
            raise HubError(_("These products are priced in different currencies."),
                           code="mixed_currency", field="lines")
        currency = currencies.pop()
        supplier_settings = SupplierSettings.objects.filter(supplier_id=rel.supplier_id).first()
        inclusive = bool(supplier_settings and supplier_settings.prices_include_tax)
        rates = tax.rates_for(rel.supplier_id)
        chosen = stock.reserve(supplier_id=rel.supplier_id, wanted=wanted, actor=actor)

        now = timezone.now()
        order = Order(supplier=rel.supplier, buyer=rel.buyer, relationship=rel,
                      placed_by=_user(actor), entered_by_supplier=entered_by_supplier,
                      status=S.SUBMITTED, currency=currency, prices_include_tax=inclusive,
                      tax_exempt=rel.tax_exempt, buyer_reference=(buyer_reference or "")[:80],
                      note=(note or "")[:5000], idempotency_key=idempotency_key, quote=quote,
                      created_at=now, submitted_at=now, updated_at=now, stock_reserved=True,
                      ship_to=address, ship_to_text=address.formatted() if address else "")
        order_lines = []
        for position, (product_id, quantity) in enumerate(wanted.items(), start=1):
            product, price = products[product_id], priced[product_id]
            rate = rates.get(product.tax_class, 0)
            amounts = tax.line_amounts(unit_price=price.amount, quantity=quantity, rate=rate,
                                       currency=currency, prices_include_tax=inclusive,
                                       exempt=rel.tax_exempt)
            promotion_discount = Decimal(0)
            if price.promotion_id is not None:  # the list amount less the discounted amount
                promotion_discount = (
                    tax.round_money(price.list_amount * quantity, currency)
                    - tax.round_money(price.amount * quantity, currency))
            order_lines.append(OrderLine(
                position=position, product=product, sku=product.sku, name=product.name,
                unit=product.unit, quantity=quantity, unit_price=price.amount,
                tax_class=product.tax_class, tax_rate=0 if rel.tax_exempt else rate,
                line_net=amounts.net, line_tax=amounts.tax, line_gross=amounts.gross,
                warehouse=stock.primary_warehouse(chosen[product_id]),
                promotion_id=price.promotion_id, promotion_discount=promotion_discount))
        order.total_net = sum((line.line_net for line in order_lines), 0)
        order.total_tax = sum((line.line_tax for line in order_lines), 0)
        order.total_gross = sum((line.line_gross for line in order_lines), 0)
        if _needs_approval(order):
            order.status, order.needs_approval = S.AWAITING_APPROVAL, True
        elif _needs_credit_hold(rel, order.total_gross):
            order.status = S.CREDIT_HOLD
        order.number = _next_number(rel.supplier_id)
        order.save()
        for line in order_lines:
            line.order = order
        OrderLine.objects.bulk_create(order_lines)
        sales_rollup.order_added(order=order, lines=order_lines)
        stock.apply_reservations(chosen=chosen, lines=order_lines, order=order, actor=actor,
                                 reason=f"#{order.number}")
        OrderStatusChange.objects.create(order=order, from_status="", to_status=S.SUBMITTED,
                                         actor=_user(actor), at=now)
        emit_event(type="hub.order.submitted", organization=order.supplier, aggregate=order,
                   actor=actor, payload={**order_payload(order), "status": S.SUBMITTED})
        if order.status != S.SUBMITTED:
            _record_status(order, from_status=S.SUBMITTED, actor=actor,
                           reason=_("Above the approval threshold")
                           if order.status == S.AWAITING_APPROVAL
                           else _("Above the credit limit"))
        audit_record(actor=actor, organization=order.supplier, action="hub.order.placed",
                     obj=order, after={"number": order.number, "lines": len(order_lines),
                                       "total": str(order.total_gross),
                                       "status": order.status})
        return order

    try:
        return _retrying(place)
    except IntegrityError:
        if idempotency_key is not None:
            existing = Order.objects.filter(buyer_id=relationship.buyer_id,
                                            idempotency_key=idempotency_key).first()
            if existing is not None:
                return existing
        raise


def cart_checkout(*, cart, actor, relationship=None, buyer_reference="",
                  idempotency_key=None, ship_to=None):
    """Turn a cart into an order at the prices of today; the cart is emptied on success.
    With an idempotency key (the checkout form's one-time token), a repeated submit answers
    the order the first one made."""
    relationship = relationship or selectors.relationship_for_buyer_or_404(
        buyer=cart.buyer, supplier_id=cart.supplier_id)
    with transaction.atomic():
        Cart.objects.select_for_update().filter(pk=cart.pk).first()
        if idempotency_key is not None:
            existing = Order.objects.filter(buyer_id=relationship.buyer_id,
                                            idempotency_key=idempotency_key).first()
            if existing is not None:
                return existing
        lines = list(cart.lines.values_list("product_id", "quantity"))
        if not lines:
            raise HubError(_("The cart is empty."), code="no_lines", field="lines")
        order = order_place(relationship=relationship, actor=actor, lines=lines,
                            buyer_reference=buyer_reference, idempotency_key=idempotency_key,
                            ship_to=ship_to)
        cart_clear(cart=cart)
    return order


def checkout_all(*, buyer, user, actor):
    """"Submit all": one order per supplier cart. Returns (orders, {supplier name: error})."""
    orders, errors = [], {}
    for cart in Cart.objects.filter(buyer=buyer, user=user).select_related("supplier"):
        if not cart.lines.exists():
            continue
        try:
            orders.append(cart_checkout(cart=cart, actor=actor))
        except HubError as error:
            errors[cart.supplier.name] = error.message
        except Http404:  # the relationship ended or was suspended
            errors[cart.supplier.name] = _("You cannot order from this supplier.")
    return orders, errors


def reorder(*, order, user, relationship):
    """Put the still-orderable lines of a past order into the user's cart."""
    products = _orderable(relationship, [line.product_id for line in order.lines.all()])
    added, skipped = 0, []
    for line in order.lines.all():
        if line.product_id in products:
            cart_set_line(relationship=relationship, user=user, product_id=line.product_id,
                          quantity=line.quantity, add=True)
            added += 1
        else:
            skipped.append(line.sku)
    return added, skipped


# --- Transitions ---------------------------------------------------------------------------

BUYER, SUPPLIER = "buyer", "supplier"


@dataclass(frozen=True)
class Action:
    side: str
    perm: str
    sources: tuple
    target: str
    label: str


ACTIONS = {
    "approve": Action(BUYER, ORDERS_APPROVE, (S.AWAITING_APPROVAL,), S.SUBMITTED, "Approve"),
    "reject": Action(BUYER, ORDERS_APPROVE, (S.AWAITING_APPROVAL,), S.CANCELLED, "Reject"),
    "buyer_cancel": Action(BUYER, ORDERS_PLACE,
                           (S.SUBMITTED, S.AWAITING_APPROVAL, S.CREDIT_HOLD), S.CANCELLED,
                           "Cancel"),
    "release_credit": Action(SUPPLIER, FINANCE_EDIT, (S.CREDIT_HOLD,), S.SUBMITTED,
                             "Release credit hold"),
    "refuse_credit": Action(SUPPLIER, FINANCE_EDIT, (S.CREDIT_HOLD,), S.CANCELLED,
                            "Refuse credit"),
    "confirm": Action(SUPPLIER, ORDERS_FULFIL, (S.SUBMITTED,), S.CONFIRMED, "Confirm"),
    "deliver": Action(SUPPLIER, ORDERS_FULFIL, (S.SHIPPED,), S.DELIVERED, "Mark delivered"),
    "close": Action(SUPPLIER, ORDERS_FULFIL, (S.DELIVERED,), S.CLOSED, "Close"),
    "cancel": Action(SUPPLIER, ORDERS_FULFIL,
                     (S.SUBMITTED, S.AWAITING_APPROVAL, S.CREDIT_HOLD, S.CONFIRMED),
                     S.CANCELLED, "Cancel"),
}

# Every status change the system makes (including shipments): from → allowed targets.
TRANSITIONS = {
    S.DRAFT: {S.SUBMITTED, S.CANCELLED},
    S.SUBMITTED: {S.AWAITING_APPROVAL, S.CREDIT_HOLD, S.CONFIRMED, S.CANCELLED},
    S.AWAITING_APPROVAL: {S.SUBMITTED, S.CREDIT_HOLD, S.CANCELLED},
    S.CREDIT_HOLD: {S.SUBMITTED, S.CANCELLED},
    S.CONFIRMED: {S.PARTIALLY_SHIPPED, S.SHIPPED, S.CANCELLED},
    S.PARTIALLY_SHIPPED: {S.PARTIALLY_SHIPPED, S.SHIPPED},
    S.SHIPPED: {S.DELIVERED},
    S.DELIVERED: {S.CLOSED},
    S.CLOSED: set(),
    S.CANCELLED: set(),
}


def side_of(order, organization):
    if organization is None:
        return None
    if order.supplier_id == organization.pk:
        return SUPPLIER
    if order.buyer_id == organization.pk:
        return BUYER
    return None


def actions_for(order, membership):
    """The action names this membership may take on the order now."""
    side = side_of(order, membership.organization if membership else None)
    return [name for name, action in ACTIONS.items()
            if action.side == side and order.status in action.sources
            and has_perm(membership, action.perm)]


def _move(order, target, *, actor, reason=""):
    if target not in TRANSITIONS[order.status]:
        raise HubError(_("An order that is %(status)s cannot become %(target)s.") % {
            "status": order.get_status_display(), "target": OrderStatus(target).label},
            code="invalid_transition", field="action")
    from_status = order.status
    order.status = target
    order.version += 1
    order.updated_at = timezone.now()
    order.save(update_fields=["status", "version", "updated_at", "approved_by", "approved_at",
                              "credit_released_by", "credit_released_at", "stock_reserved"])
    sales_rollup.status_changed(order=order, from_status=from_status)
    _record_status(order, from_status=from_status, actor=actor, reason=reason)


def _lock_order(order, version):
    locked = Order.objects.select_for_update(of=("self",)).select_related(
        "supplier", "buyer").get(pk=order.pk)
    if version is not None and locked.version != version:
        raise StaleVersion()
    return locked


def order_transition(*, order, action, membership, actor, reason="", version=None):
    """Carry out `action` (a key of ACTIONS) for `membership`'s side of the order."""
    spec = ACTIONS.get(action)
    if spec is None:
        raise HubError(_("Unknown action."), code="invalid_action", field="action")
    if side_of(order, membership.organization) != spec.side or not has_perm(membership,
                                                                            spec.perm):
        raise HubError(_("You may not do this to this order."), code="forbidden",
                       field="action")
    reason = (reason or "").strip()[:500]

    def run():
        if spec.target == S.CANCELLED or action == "approve":
            # Lock the relationship first, as order_place does (same lock order).
            TradingRelationship.objects.select_for_update().filter(
                pk=order.relationship_id).first()
        locked = _lock_order(order, version)
        if locked.status not in spec.sources:
            raise HubError(_("An order that is %(status)s cannot be changed this way.") % {
                "status": locked.get_status_display()}, code="invalid_transition",
                field="action")
        if spec.target == S.CANCELLED:
            lines = list(locked.lines.all())
            if locked.stock_reserved:
                stock.release(order=locked, lines=lines, actor=actor,
                              reason=f"#{locked.number} {reason}"[:200])
                locked.stock_reserved = False
            _move(locked, S.CANCELLED, actor=actor, reason=reason)
            if locked.invoiced_gross:
                # Invoiced at confirmation (per order) and never shipped: credit it in full.
                from . import invoicing

                invoicing.credit_cancelled_order(order=locked, actor=actor, reason=reason)
            return locked
        if action == "approve":
            locked.approved_by, locked.approved_at = _user(actor), timezone.now()
            relationship = TradingRelationship.objects.get(pk=locked.relationship_id)
            target = (S.CREDIT_HOLD if _needs_credit_hold(relationship, locked.total_gross)
                      else S.SUBMITTED)
            _move(locked, target, actor=actor, reason=reason)
            return locked
        if action == "release_credit":
            locked.credit_released_by = _user(actor)
            locked.credit_released_at = timezone.now()
        _move(locked, spec.target, actor=actor, reason=reason)
        if action == "confirm":
            from . import invoicing

            invoicing.invoice_for_confirmed_order(order=locked, actor=actor)
        return locked

    return _retrying(run)


# --- Shipments -----------------------------------------------------------------------------


def ship(*, order, membership, actor, quantities, carrier="", tracking="", version=None,
         warehouses=None):
    """Ship `quantities` ({order line id: quantity}) of a confirmed order. Quantities above
    what is still open are refused; the order becomes partially_shipped or shipped. Each
    line ships from its allocations, primary warehouse first, or from `warehouses`
    ({order line id: warehouse id}) first where the supplier picked one."""
    warehouses = {int(k): int(v) for k, v in (warehouses or {}).items() if v}
    if side_of(order, membership.organization) != SUPPLIER or not has_perm(membership,
                                                                           ORDERS_FULFIL):
        raise HubError(_("You may not do this to this order."), code="forbidden")
    wanted = {}
    for line_id, quantity in (quantities or {}).items():
        _check_quantity(quantity, field=f"lines[{line_id}]")
        if quantity:
            wanted[int(line_id)] = quantity
    if not wanted:
        raise HubError(_("Ship at least one unit."), code="no_lines", field="lines")

    def run():
        locked = _lock_order(order, version)
        if locked.status not in (S.CONFIRMED, S.PARTIALLY_SHIPPED):
            raise HubError(_("Only confirmed orders can be shipped."),
                           code="invalid_transition", field="action")
        lines = {line.pk: line for line in locked.lines.all()}
        for line_id, quantity in wanted.items():
            line = lines.get(line_id)
            if line is None:
                raise HubError(_("No such order line."), code="not_found", field="lines")
            if quantity > line.open_quantity:
                raise HubError(_("Only %(open)s of %(sku)s are still to ship.") % {
                    "open": line.open_quantity, "sku": line.sku},
                    code="over_shipment", field=f"lines[{line_id}]")
        number = locked.shipments.count() + 1
        shipment = Shipment.objects.create(order=locked, number=number,
                                           carrier=(carrier or "")[:80],
                                           tracking=(tracking or "")[:120],
                                           shipped_by=_user(actor))
        consumed, allocations = {}, {}
        for allocation in stock.allocations_of([lines[line_id] for line_id in wanted]):
            allocations.setdefault(allocation.order_line_id, []).append(allocation)
        for line_id, quantity in sorted(wanted.items()):
            line = lines[line_id]
            ShipmentLine.objects.create(shipment=shipment, order_line=line, quantity=quantity)
            line.shipped_quantity += quantity
            line.save(update_fields=["shipped_quantity"])
            # Shipped from the line's allocations in order: the primary warehouse first.
            taken = stock.ship_from_allocations(line=line, quantity=quantity,
                                                allocations=allocations.get(line_id, []),
                                                warehouse_id=warehouses.get(line_id))
            for key, count in taken.items():
                consumed[key] = consumed.get(key, 0) + count
        stock.consume(order=locked, shipped=consumed, actor=actor,
                      reason=f"#{locked.number}/{number}")
        done = all(line.open_quantity == 0 for line in lines.values())
        if done:
            locked.stock_reserved = False
        emit_event(type="hub.shipment.created", organization=locked.supplier,
                   aggregate=shipment, actor=actor,
                   payload={**order_payload(locked), "shipment_id": shipment.pk,
                            "shipment_number": number})
        from . import invoicing

        # Per-shipment invoicing: the shipment's invoice, in this same transaction.
        shipment.invoice = invoicing.invoice_for_shipment(order=locked, shipment=shipment,
                                                          shipped=wanted, actor=actor)
        _move(locked, S.SHIPPED if done else S.PARTIALLY_SHIPPED, actor=actor,
              reason=_("Shipment %(number)s") % {"number": number})
        return shipment

    return _retrying(run)


# --- Buyer settings ------------------------------------------------------------------------


def buyer_settings_update(*, buyer, actor, approval_threshold, currency=None):
    if approval_threshold is not None and approval_threshold < 0:
        raise HubError(_("The threshold cannot be negative."), code="invalid_threshold",
                       field="approval_threshold")
    with transaction.atomic():
        settings, _created = BuyerSettings.objects.select_for_update().get_or_create(
            buyer=buyer, defaults={"currency": buyer.currency or "IDR"})
        settings.approval_threshold = approval_threshold
        if currency:
            settings.currency = currency.upper()
        settings.version += 1
        settings.full_clean(exclude=["buyer"])
        settings.save()
        audit_record(actor=actor, organization=buyer, action="hub.buyer_settings.updated",
                     obj=settings, after={"approval_threshold": str(approval_threshold),
                                          "currency": settings.currency})
    return settings




def supplier_settings_update(*, supplier, actor, prices_include_tax, show_stock_quantity,
                             rates=None, invoicing=None, return_window_days=None):
    """A supplier's selling settings, its tax rates ({tax class: percent}), when it
    issues invoices (`invoicing`: per_shipment / per_order; None leaves it) and how many days
    after delivery it takes returns (`return_window_days`, 0-365; None leaves it)."""
    from .models import InvoicingMode, TaxClass, TaxRule

    if invoicing is not None and invoicing not in InvoicingMode.values:
        raise HubError(_("Choose when invoices are issued."), code="invalid",
                       field="invoicing")
    if return_window_days is not None and (
            not isinstance(return_window_days, int) or isinstance(return_window_days, bool)
            or not 0 <= return_window_days <= 365):
        raise HubError(_("The return window is 0 to 365 days."), code="invalid",
                       field="return_window_days")
    with transaction.atomic():
        settings, _created = SupplierSettings.objects.select_for_update().get_or_create(
            supplier=supplier)
        settings.prices_include_tax = bool(prices_include_tax)
        settings.show_stock_quantity = bool(show_stock_quantity)
        if invoicing is not None:
            settings.invoicing = invoicing
        if return_window_days is not None:
            settings.return_window_days = return_window_days
        settings.version += 1
        settings.save()
        for tax_class, rate in (rates or {}).items():
            if tax_class not in TaxClass.values:
                raise HubError(_("Unknown tax class."), code="invalid", field="tax_class")
            if rate is None or not (0 <= rate <= 100):
                raise HubError(_("A rate is between 0 and 100."), code="invalid_rate",
                               field=f"rate_{tax_class}")
            TaxRule.objects.update_or_create(supplier=supplier, tax_class=tax_class,
                                             defaults={"rate": rate})
        after = {"prices_include_tax": settings.prices_include_tax,
                 "show_stock_quantity": settings.show_stock_quantity,
                 "invoicing": settings.invoicing,
                 "return_window_days": settings.return_window_days,
                 "rates": {k: str(v) for k, v in (rates or {}).items()}}
        audit_record(actor=actor, organization=supplier, action="hub.supplier_settings.updated",
                     obj=settings, after=after)
        emit_event(type="hub.supplier_settings.updated", organization=supplier,
                   aggregate=settings, actor=actor, payload=after)
    return settings
