"""Stock per warehouse: adjustments, reservations for orders, releases and shipments.

Every change of `on_hand` or `reserved` locks the `StockLevel` rows it touches and writes a
`StockMovement`. Rows are always locked in (warehouse id, product id) order, whoever locks them
(orders, cancellations, shipments, adjustments), so two transactions never wait on each other
in a circle. The database check constraints (on_hand ≥ 0, reserved ≥ 0, reserved ≤ on_hand)
are the last line of defence: the code checks first and answers a clear error.

A stock level is *low* when it has a threshold and `available ≤ threshold`; when a change takes
it from above to at-or-below, `hub.stock.low` is emitted (once per crossing).
"""

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from jalin.core.audit import audit_record
from jalin.core.events import emit_event

from .models import (
    MovementKind,
    OrderLineAllocation,
    Product,
    StockLevel,
    StockMovement,
    Warehouse,
)
from .services import HubError, _require_supplier

MAX_DELTA = 10**9


def warehouse_create(*, supplier, actor, code, name, is_active=True):
    _require_supplier(supplier)
    code, name = (code or "").strip().upper(), (name or "").strip()
    if not code or len(code) > 20:
        raise HubError(_("Enter a code of at most 20 characters."), code="invalid_code",
                       field="code")
    if not name or len(name) > 120:
        raise HubError(_("Enter a name."), code="invalid_name", field="name")
    with transaction.atomic():
        warehouse = Warehouse(supplier=supplier, code=code, name=name, is_active=is_active)
        try:
            with transaction.atomic():
                warehouse.save()
        except IntegrityError as exc:
            raise HubError(_("A warehouse with this code exists."), code="duplicate_code",
                           field="code") from exc
        audit_record(actor=actor, organization=supplier, action="hub.warehouse.created",
                     obj=warehouse, after={"code": code, "name": name})
        emit_event(type="hub.warehouse.created", organization=supplier, aggregate=warehouse,
                   actor=actor, payload={"warehouse_id": warehouse.pk, "code": code})
    return warehouse


def warehouse_update(*, warehouse, actor, name=None, is_active=None):
    with transaction.atomic():
        locked = Warehouse.objects.select_for_update().get(pk=warehouse.pk)
        if name is not None:
            if not name.strip():
                raise HubError(_("Enter a name."), code="invalid_name", field="name")
            locked.name = name.strip()[:120]
        if is_active is not None:
            locked.is_active = is_active
        locked.save()
        audit_record(actor=actor, organization=locked.supplier, action="hub.warehouse.updated",
                     obj=locked, after={"name": locked.name, "is_active": locked.is_active})
        emit_event(type="hub.warehouse.updated", organization=locked.supplier,
                   aggregate=locked, actor=actor,
                   payload={"warehouse_id": locked.pk, "is_active": locked.is_active})
    return locked


def _locked_level(warehouse, product):
    """The (warehouse, product) row, created if missing, locked for this transaction."""
    level = StockLevel.objects.select_for_update().filter(warehouse=warehouse,
                                                          product=product).first()
    if level is not None:
        return level
    try:
        with transaction.atomic():
            StockLevel.objects.create(warehouse=warehouse, product=product)
    except IntegrityError:
        pass  # created concurrently: lock theirs
    return StockLevel.objects.select_for_update().get(warehouse=warehouse, product=product)


def _low_crossing(level, before_available):
    threshold = level.low_stock_threshold
    return threshold > 0 and before_available > threshold >= level.available


def _emit_low(level, actor):
    supplier = level.warehouse.supplier
    emit_event(type="hub.stock.low", organization=supplier, aggregate=level, actor=actor,
               payload={"stock_id": level.pk, "warehouse_id": level.warehouse_id,
                        "product_id": level.product_id, "available": level.available,
                        "threshold": level.low_stock_threshold})


def _apply(level, *, kind, on_hand_delta=0, reserved_delta=0, reason="", order=None,
           actor=None):
    """Change a locked level, write the ledger row, emit hub.stock.low on a crossing."""
    before_available = level.available
    level.on_hand += on_hand_delta
    level.reserved += reserved_delta
    level.updated_at = timezone.now()
    level.save(update_fields=["on_hand", "reserved", "updated_at"])
    StockMovement.objects.create(stock=level, kind=kind, on_hand_delta=on_hand_delta,
                                 reserved_delta=reserved_delta, reason=reason[:200],
                                 order=order, actor=actor if getattr(actor, "pk", None) else None)
    if _low_crossing(level, before_available):
        _emit_low(level, actor)


def _apply_many(changes, *, kind, reason="", order=None, actor=None):
    """`_apply` for several locked levels at once ([(level, on_hand_delta, reserved_delta)],
    distinct levels): one UPDATE for the levels and one INSERT for the ledger rows instead of
    two statements per level (an order's transaction holds the supplier's order-number lock
    while it runs these). Same rows, ledger and hub.stock.low events as `_apply` one by one."""
    if not changes:
        return
    now = timezone.now()
    actor_obj = actor if getattr(actor, "pk", None) else None
    levels, movements, crossings = [], [], []
    for level, on_hand_delta, reserved_delta in changes:
        before_available = level.available
        level.on_hand += on_hand_delta
        level.reserved += reserved_delta
        level.updated_at = now
        levels.append(level)
        movements.append(StockMovement(stock=level, kind=kind, on_hand_delta=on_hand_delta,
                                       reserved_delta=reserved_delta, reason=reason[:200],
                                       order=order, actor=actor_obj, created_at=now))
        if _low_crossing(level, before_available):
            crossings.append(level)
    StockLevel.objects.bulk_update(levels, ["on_hand", "reserved", "updated_at"])
    StockMovement.objects.bulk_create(movements)
    for level in crossings:
        _emit_low(level, actor)


def stock_adjust(*, warehouse, product, delta, reason, actor, low_stock_threshold=None):
    """Add (or with a negative delta remove) units on hand, for a stated reason."""
    if product.supplier_id != warehouse.supplier_id:
        raise HubError(_("No such product."), code="not_found", field="product")
    if not isinstance(delta, int) or isinstance(delta, bool) or abs(delta) > MAX_DELTA:
        raise HubError(_("Enter a whole number of units."), code="invalid_quantity",
                       field="delta")
    reason = (reason or "").strip()
    if not reason:
        raise HubError(_("Say why the stock changes."), code="reason_required", field="reason")
    if low_stock_threshold is not None and (
        not isinstance(low_stock_threshold, int) or not 0 <= low_stock_threshold <= MAX_DELTA
    ):
        raise HubError(_("The threshold is a whole number, 0 or more."),
                       code="invalid_threshold", field="low_stock_threshold")
    with transaction.atomic():
        level = _locked_level(warehouse, product)
        if level.on_hand + delta < level.reserved:
            raise HubError(
                _("Only %(free)s units are not reserved; on hand cannot go below the "
                  "reserved quantity.") % {"free": level.available},
                code="below_reserved", field="delta")
        if low_stock_threshold is not None:
            level.low_stock_threshold = low_stock_threshold
            level.save(update_fields=["low_stock_threshold"])
        if delta:
            _apply(level, kind=MovementKind.ADJUSTMENT, on_hand_delta=delta, reason=reason,
                   actor=actor)
        audit_record(actor=actor, organization=warehouse.supplier, action="hub.stock.adjusted",
                     obj=level, after={"warehouse": warehouse.code, "sku": product.sku,
                                       "delta": delta, "reason": reason,
                                       "on_hand": level.on_hand})
        emit_event(type="hub.stock.adjusted", organization=warehouse.supplier, aggregate=level,
                   actor=actor,
                   payload={"stock_id": level.pk, "warehouse_id": warehouse.pk,
                            "product_id": product.pk, "delta": delta, "reason": reason[:120],
                            "on_hand": level.on_hand, "available": level.available})
    return level


# --- Used by orders (inside the order's transaction) ---------------------------------------


def lock_levels(*, supplier_id, product_ids):
    """Lock the active warehouses' rows of these products in (warehouse, product) order."""
    return list(
        StockLevel.objects.select_for_update(of=("self",))
        .filter(product_id__in=sorted(set(product_ids)), warehouse__supplier_id=supplier_id,
                warehouse__is_active=True)
        .select_related("warehouse")
        .order_by("warehouse_id", "product_id")
    )


def plan_line(levels, quantity):
    """Which warehouses serve `quantity` of one product, from its locked `levels` (sorted by
    warehouse id): [(level, quantity)], or None when all of them together have too little.

    One warehouse that can fill the whole line is preferred (the first by id); otherwise the
    line is split, taking the warehouses with the most available first (ties by id), which
    needs the fewest parts. Deterministic for the same stock."""
    for level in levels:
        if level.available >= quantity:
            return [(level, quantity)]
    if sum(max(level.available, 0) for level in levels) < quantity:
        return None
    plan, remaining = [], quantity
    for level in sorted(levels, key=lambda lv: (-lv.available, lv.warehouse_id)):
        if remaining <= 0 or level.available <= 0:
            break
        take = min(level.available, remaining)
        plan.append((level, take))
        remaining -= take
    return plan


def reserve(*, supplier_id, wanted, actor=None):
    """Plan `wanted` ({product_id: quantity}) over the supplier's active warehouses, with
    their stock rows locked (in (warehouse, product) order) until the transaction ends.
    Returns {product_id: [(StockLevel, quantity), ...]} (see `plan_line`), or raises
    HubError(out_of_stock) naming the products whose total available is short; nothing is
    written. `apply_reservations` then records the plan against the order."""
    levels = lock_levels(supplier_id=supplier_id, product_ids=wanted)
    by_product = {}
    for level in levels:
        by_product.setdefault(level.product_id, []).append(level)
    chosen, short = {}, []
    for product_id, quantity in wanted.items():
        plan = plan_line(by_product.get(product_id, []), quantity)
        if plan is None:
            short.append(product_id)
        else:
            chosen[product_id] = plan
    if short:
        skus = ", ".join(sorted(Product.objects.filter(pk__in=short)
                                .values_list("sku", flat=True)))
        error = HubError(_("Not enough stock for: %(skus)s.") % {"skus": skus},
                         code="out_of_stock", field="lines")
        error.product_ids = short
        raise error
    return chosen


def primary_warehouse(plan):
    """The warehouse of a line's first (largest or only) part."""
    return plan[0][0].warehouse


def apply_reservations(*, chosen, lines, order, actor, reason=""):
    """Reserve the planned quantities (rows already locked by `reserve`) and record one
    `OrderLineAllocation` per (line, warehouse). `lines` are the saved order lines."""
    by_product = {line.product_id: line for line in lines}
    allocations, parts = [], []
    for product_id, plan in chosen.items():
        for level, quantity in plan:
            parts.append((level, quantity))
            allocations.append(OrderLineAllocation(order_line=by_product[product_id],
                                                   warehouse_id=level.warehouse_id,
                                                   quantity=quantity))
    OrderLineAllocation.objects.bulk_create(allocations)
    parts.sort(key=lambda part: (part[0].warehouse_id, part[0].product_id))
    _apply_many([(level, 0, quantity) for level, quantity in parts],
                kind=MovementKind.RESERVATION, reason=reason, order=order, actor=actor)


def _lock_pairs(pairs):
    """Lock exactly these (warehouse id, product id) rows, in that order."""
    pairs = sorted(set(pairs))
    if not pairs:
        return []
    condition = Q()
    for warehouse_id, product_id in pairs:
        condition |= Q(warehouse_id=warehouse_id, product_id=product_id)
    return list(StockLevel.objects.select_for_update(of=("self",)).filter(condition)
                .select_related("warehouse").order_by("warehouse_id", "product_id"))


def allocations_of(lines):
    """The allocations of these order lines, in line then allocation order."""
    return list(OrderLineAllocation.objects.filter(order_line__in=[line.pk for line in lines])
                .order_by("order_line_id", "id"))


def release(*, order, lines, actor, reason=""):
    """Give back the reserved, unshipped units of these order lines, per allocation."""
    product_of = {line.pk: line.product_id for line in lines}
    keyed = {}
    for allocation in allocations_of(lines):
        if allocation.open_quantity > 0:
            key = (allocation.warehouse_id, product_of[allocation.order_line_id])
            keyed[key] = keyed.get(key, 0) + allocation.open_quantity
    for level in _lock_pairs(keyed):
        _apply(level, kind=MovementKind.RELEASE,
               reserved_delta=-keyed[(level.warehouse_id, level.product_id)],
               reason=reason, order=order, actor=actor)


def ship_from_allocations(*, line, quantity, allocations, warehouse_id=None):
    """Take `quantity` of `line` from its allocations in order (primary first) — or from
    `warehouse_id`'s allocation first, when the supplier picked one — updating their shipped
    quantities; returns {(warehouse id, product id): quantity}."""
    if warehouse_id is not None:
        if not any(a.warehouse_id == warehouse_id for a in allocations):
            raise HubError(_("%(sku)s is not reserved in that warehouse.") % {
                "sku": line.sku}, code="not_found", field=f"lines[{line.pk}].warehouse_id")
        allocations = sorted(allocations, key=lambda a: a.warehouse_id != warehouse_id)
    taken, remaining = {}, quantity
    for allocation in allocations:
        if remaining <= 0:
            break
        take = min(allocation.open_quantity, remaining)
        if take <= 0:
            continue
        allocation.shipped_quantity += take
        allocation.save(update_fields=["shipped_quantity"])
        key = (allocation.warehouse_id, line.product_id)
        taken[key] = taken.get(key, 0) + take
        remaining -= take
    if remaining:  # the line's allocations do not cover it: a broken invariant, stop here
        raise HubError(_("Only %(open)s of %(sku)s are still to ship.") % {
            "open": quantity - remaining, "sku": line.sku}, code="over_shipment",
            field="lines")
    return taken


def consume(*, order, shipped, actor, reason=""):
    """Ship reserved units: {(warehouse_id, product_id): quantity} leave on hand and reserved."""
    for level in _lock_pairs(key for key, quantity in shipped.items() if quantity):
        _apply(level, kind=MovementKind.SHIPMENT,
               on_hand_delta=-shipped[(level.warehouse_id, level.product_id)],
               reserved_delta=-shipped[(level.warehouse_id, level.product_id)],
               reason=reason, order=order, actor=actor)


def restock(*, warehouse, product, quantity, actor, order=None, reason=""):
    """Put `quantity` returned units of `product` back on hand in `warehouse` (a `return`
    ledger movement). Call it inside the caller's transaction; several products are restocked
    in (warehouse id, product id) order by `restock_many`."""
    return restock_many(warehouse=warehouse, quantities={product.pk: quantity}, actor=actor,
                        order=order, reason=reason)[product.pk]


def restock_many(*, warehouse, quantities, actor, order=None, reason=""):
    """Restock {product_id: quantity} into one warehouse, locking the levels in (warehouse,
    product) order like every other stock path. Emits `hub.stock.adjusted` per level (with
    `kind: "return"`). Returns {product_id: StockLevel}."""
    wanted = {pid: qty for pid, qty in quantities.items() if qty}
    for quantity in wanted.values():
        if not isinstance(quantity, int) or isinstance(quantity, bool) or not (
                0 < quantity <= MAX_DELTA):
            raise HubError(_("Enter a whole number of units."), code="invalid_quantity",
                           field="quantity")
    products = {p.pk: p for p in Product.objects.filter(pk__in=list(wanted),
                                                        supplier_id=warehouse.supplier_id)}
    if set(products) != set(wanted):
        raise HubError(_("No such product."), code="not_found", field="product")
    supplier = warehouse.supplier
    levels = {}
    with transaction.atomic():
        for product_id in sorted(wanted):  # one warehouse: product id order is the lock order
            level = _locked_level(warehouse, products[product_id])
            _apply(level, kind=MovementKind.RETURN, on_hand_delta=wanted[product_id],
                   reason=reason, order=order, actor=actor)
            emit_event(type="hub.stock.adjusted", organization=supplier, aggregate=level,
                       actor=actor,
                       payload={"stock_id": level.pk, "warehouse_id": warehouse.pk,
                                "product_id": product_id, "delta": wanted[product_id],
                                "reason": reason[:120], "kind": MovementKind.RETURN.value,
                                "on_hand": level.on_hand, "available": level.available})
            levels[product_id] = level
        if levels:
            audit_record(actor=actor, organization=supplier, action="hub.stock.restocked",
                         obj=warehouse, after={"warehouse": warehouse.code, "reason": reason,
                                               "quantities": {products[p].sku: q
                                                              for p, q in wanted.items()}})
    return levels


def availability(level_rows, product_ids):
    """{product_id: (status, available)} from (product_id, on_hand, reserved, threshold)
    rows; status is "in_stock", "low" or "out"."""
    totals = {}
    for product_id, on_hand, reserved, threshold in level_rows:
        available, limit = totals.get(product_id, (0, 0))
        totals[product_id] = (available + on_hand - reserved, limit + threshold)
    result = {}
    for product_id in product_ids:
        available, threshold = totals.get(product_id, (0, 0))
        if available <= 0:
            status = "out"
        elif threshold and available <= threshold:
            status = "low"
        else:
            status = "in_stock"
        result[product_id] = (status, max(available, 0))
    return result
