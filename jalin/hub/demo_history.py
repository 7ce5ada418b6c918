"""Demo order history: two and a half years of closed orders of a supplier's buyers, so the
sales forecasts (revenue and demand per product) have a history with trend and seasonality to
learn from. Written directly (like `hub_generate`), as history imported at go-live would be:
closed, shipped and billed in full, without events (no timelines, notifications or stock
movements for the past). Reproducible per supplier; a second run adds nothing."""

import datetime
import random
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from . import addresses, numbering, sales_rollup, tax
from .models import (
    Order,
    OrderLine,
    OrderStatus,
    OrderStatusChange,
    PriceListItem,
    Product,
    RelationshipStatus,
    TradingRelationship,
)

REFERENCE_PREFIX = "RIWAYAT-"
# Month factors of a building-supplies distributor: quiet around Lebaran and the rainy new
# year, busy in the dry season and before the year-end deadline.
SEASON = (0.85, 0.8, 0.9, 0.8, 0.95, 1.05, 1.15, 1.2, 1.15, 1.1, 1.05, 1.2)


def _add_months(day, months):
    index = day.year * 12 + day.month - 1 + months
    return datetime.date(index // 12, index % 12 + 1, 1)


def seed_order_history(*, supplier, months=30, today=None, products=8):
    """Closed orders in each of the last `months` complete months from every active buyer of
    `supplier`; returns how many orders were created (0 when the history exists)."""
    if Order.objects.filter(supplier=supplier,
                            buyer_reference__startswith=REFERENCE_PREFIX).exists():
        return 0
    relationships = list(TradingRelationship.objects.filter(
        supplier=supplier, status=RelationshipStatus.ACTIVE).order_by("id"))
    prices = {}
    for item in (PriceListItem.objects.filter(price_list__supplier=supplier, min_quantity=1,
                                              product__is_active=True)
                 .order_by("product__sku", "id")):
        prices.setdefault(item.product_id, item.unit_price)
    catalog = list(Product.objects.filter(pk__in=list(prices)[:products]).order_by("sku"))
    if not relationships or not catalog:
        return 0
    ship_to = {r.buyer_id: addresses.default_shipping(r.buyer_id) for r in relationships}
    rng = random.Random(f"jalin-demo-history-{supplier.slug}")
    rates = tax.rates_for(supplier)
    unit = tax.minor_unit(supplier.currency or "IDR")
    first = _add_months((today or timezone.localdate()).replace(day=1), -months)
    plan = []
    for index in range(months):
        month = _add_months(first, index)
        level = (1 + 0.025 * index) * SEASON[month.month - 1]
        for relationship in relationships:
            for _ in range(rng.randint(1, 3)):
                day = month.replace(day=rng.randint(1, 27))
                moment = timezone.make_aware(datetime.datetime.combine(
                    day, datetime.time(rng.randint(8, 16), rng.randint(0, 59))))
                lines = []
                for product in rng.sample(catalog, k=min(len(catalog), rng.randint(2, 3))):
                    # Popular products first: demand falls off along the catalog.
                    weight = 1 / (1 + catalog.index(product) * 0.5)
                    quantity = max(1, round(product.min_order_quantity * rng.uniform(2, 6)
                                            * level * weight * 3))
                    lines.append((product, quantity))
                plan.append((moment, relationship, lines))
    if not plan:
        return 0
    plan.sort(key=lambda entry: entry[0])
    with transaction.atomic():
        numbers = iter(numbering.next_numbers(supplier_id=supplier.pk,
                                              sequence=numbering.ORDER, count=len(plan)))
        orders, all_lines, changes = [], [], []
        for moment, relationship, lines in plan:
            number = next(numbers)
            order = Order(supplier=supplier, buyer_id=relationship.buyer_id,
                          relationship=relationship, number=number, status=OrderStatus.CLOSED,
                          currency=relationship.currency or "IDR",
                          buyer_reference=f"{REFERENCE_PREFIX}{number:05d}",
                          ship_to=ship_to[relationship.buyer_id],
                          ship_to_text=(ship_to[relationship.buyer_id].formatted()
                                        if ship_to[relationship.buyer_id] else ""),
                          created_at=moment, submitted_at=moment,
                          updated_at=moment + datetime.timedelta(days=10))
            total_net = total_tax = Decimal(0)
            for position, (product, quantity) in enumerate(lines, 1):
                price = prices[product.pk]
                rate = rates.get(product.tax_class, Decimal(0))
                net = (price * quantity).quantize(unit)
                line_tax = (net * rate / 100).quantize(unit)
                all_lines.append((order, OrderLine(
                    position=position, product=product, sku=product.sku, name=product.name,
                    unit=product.unit, quantity=quantity, unit_price=price,
                    tax_class=product.tax_class, tax_rate=rate, line_net=net,
                    line_tax=line_tax, line_gross=net + line_tax,
                    shipped_quantity=quantity, invoiced_quantity=quantity)))
                total_net += net
                total_tax += line_tax
            order.total_net, order.total_tax = total_net, total_tax
            order.total_gross = order.invoiced_gross = total_net + total_tax
            orders.append(order)
        Order.objects.bulk_create(orders)
        for order, line in all_lines:
            line.order = order
        OrderLine.objects.bulk_create([line for _order, line in all_lines])
        for order in orders:
            changes.append(OrderStatusChange(order=order, from_status="",
                                             to_status=OrderStatus.CLOSED,
                                             reason="Riwayat pesanan (demo)",
                                             at=order.submitted_at))
        OrderStatusChange.objects.bulk_create(changes)
        # Written directly, so the monthly product rollup is recounted for the supplier.
        sales_rollup.rebuild(supplier_ids=[supplier.pk])
    return len(orders)
