"""Reads for promotions and for what other modules learn from a supplier's orders: sales
figures of a period (for promotion analysis) and each buyer's purchase behaviour (recency,
frequency, monetary value — for sales segments).

Everything is a grouped aggregate: a fixed number of queries whatever the number of orders.
Orders count from submission (`submitted_at`, calendar days in the hub's time zone,
Asia/Jakarta); drafts and cancelled orders never count. Amounts are net of tax (`line_net`).
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, DecimalField, ExpressionWrapper, F, Max, Min, Q, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from .models import (
    Category,
    Order,
    OrderLine,
    OrderStatus,
    Promotion,
    RelationshipStatus,
    TradingRelationship,
)

NOT_COUNTED = (OrderStatus.DRAFT, OrderStatus.CANCELLED)
ZERO = Decimal(0)
MONEY = DecimalField(max_digits=30, decimal_places=6)


def promotions_for_supplier(supplier):
    return Promotion.objects.filter(supplier=supplier)


def start_of(day):
    """The aware datetime a calendar day starts at in the hub's time zone."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min),
                               timezone.get_default_timezone())


def _window(prefix, start, end):
    """`start`..`end` inclusive calendar days as a filter on `<prefix>submitted_at`."""
    return Q(**{f"{prefix}submitted_at__gte": start_of(start),
                f"{prefix}submitted_at__lt": start_of(end + datetime.timedelta(days=1))})


@dataclass(frozen=True)
class Scope:
    """What a promotion covers: products (None = all) and buyers (None = everyone)."""

    product_ids: frozenset | None
    category_ids: frozenset | None
    buyer_ids: frozenset | None
    listed_buyer_ids: frozenset = field(default_factory=frozenset)
    group_ids: frozenset = field(default_factory=frozenset)

    @property
    def all_products(self):
        return self.product_ids is None and self.category_ids is None

    @property
    def everyone(self):
        return self.buyer_ids is None


def promotion_scope(promotion):
    """The promotion's products/categories (categories with everything below them) and the
    buyers it reaches: listed buyers plus the buyers of listed customer groups (their
    relationships as they are now); None for "all"/"everyone"."""
    products = frozenset(promotion.products.values_list("pk", flat=True))
    roots = set(promotion.categories.values_list("pk", flat=True))
    categories = None
    if roots:
        children = {}
        for pk, parent_id in Category.objects.filter(
                supplier_id=promotion.supplier_id).values_list("id", "parent_id"):
            children.setdefault(parent_id, []).append(pk)
        found, stack = set(), list(roots)
        while stack:
            node = stack.pop()
            if node not in found:
                found.add(node)
                stack.extend(children.get(node, ()))
        categories = frozenset(found)
    listed = frozenset(promotion.buyers.values_list("pk", flat=True))
    groups = frozenset(promotion.customer_groups.values_list("pk", flat=True))
    buyers = None
    if listed or groups or promotion.listed_customers_only:
        buyers = set(listed)
        if groups:
            buyers |= set(TradingRelationship.objects.filter(
                supplier_id=promotion.supplier_id, group_id__in=groups).values_list(
                "buyer_id", flat=True))
        buyers = frozenset(buyers)
    return Scope(product_ids=(products or None) if not categories else products,
                 category_ids=categories, buyer_ids=buyers, listed_buyer_ids=listed,
                 group_ids=groups)


def trading_buyer_ids(supplier_id):
    """Buyers with an active relationship to the supplier."""
    return frozenset(TradingRelationship.objects.filter(
        supplier_id=supplier_id, status=RelationshipStatus.ACTIVE).values_list(
        "buyer_id", flat=True))


def _lines(*, supplier_id, start, end, scope=None, buyers=None, exclude_buyers=None):
    queryset = OrderLine.objects.filter(
        _window("order__", start, end), order__supplier_id=supplier_id).exclude(
        order__status__in=NOT_COUNTED)
    if scope is not None and not scope.all_products:
        products = Q(product_id__in=scope.product_ids or ())
        if scope.category_ids:
            products |= Q(product__category_id__in=scope.category_ids)
        queryset = queryset.filter(products)
    if buyers is not None:
        queryset = queryset.filter(order__buyer_id__in=buyers)
    if exclude_buyers:
        queryset = queryset.exclude(order__buyer_id__in=exclude_buyers)
    return queryset


@dataclass
class Figures:
    revenue: Decimal = ZERO
    orders: int = 0
    units: int = 0
    buyers: int = 0
    discount: Decimal = ZERO
    cost: Decimal = ZERO
    revenue_with_cost: Decimal = ZERO  # the revenue of lines whose product has a unit cost
    new_buyers: int = 0
    repeat_buyers: int = 0

    @property
    def margin(self):
        """Revenue less cost over the lines with a known unit cost (None without any)."""
        if not self.revenue_with_cost and not self.cost:
            return None
        return self.revenue_with_cost - self.cost

    @property
    def margin_percent(self):
        margin = self.margin
        if margin is None or not self.revenue_with_cost:
            return None
        return margin * 100 / self.revenue_with_cost


def sales_figures(*, supplier_id, start, end, scope=None, buyers=None, exclude_buyers=None,
                  promotion_id=None):
    """Figures of the supplier's order lines submitted `start`..`end` (inclusive days) for the
    scope's products, limited to `buyers` / without `exclude_buyers`: revenue, orders, units,
    distinct buyers, discount given by `promotion_id`, cost and margin where products have a
    unit cost, and new vs repeat buyers (new: the buyer's first counted order from this
    supplier falls in the period). Two queries."""
    lines = _lines(supplier_id=supplier_id, start=start, end=end, scope=scope, buyers=buyers,
                   exclude_buyers=exclude_buyers)
    known_cost = Q(product__unit_cost__isnull=False)
    cost = ExpressionWrapper(F("quantity") * F("product__unit_cost"), output_field=MONEY)
    totals = lines.aggregate(
        revenue=Coalesce(Sum("line_net"), ZERO, output_field=MONEY),
        orders=Count("order_id", distinct=True),
        units=Coalesce(Sum("quantity"), 0),
        buyers=Count("order__buyer_id", distinct=True),
        discount=Coalesce(Sum("promotion_discount", filter=Q(promotion_id=promotion_id)),
                          ZERO, output_field=MONEY),
        cost=Coalesce(Sum(cost, filter=known_cost), ZERO, output_field=MONEY),
        revenue_with_cost=Coalesce(Sum("line_net", filter=known_cost), ZERO,
                                   output_field=MONEY),
    )
    figures = Figures(**{key: (Decimal(value) if isinstance(value, (Decimal, float)) else value)
                         for key, value in totals.items()})
    if figures.buyers:
        firsts = (Order.objects.filter(supplier_id=supplier_id,
                                       buyer_id__in=lines.values("order__buyer_id"))
                  .exclude(status__in=NOT_COUNTED).values("buyer_id")
                  .annotate(first=Min("submitted_at"))
                  .filter(first__gte=start_of(start)))
        figures.new_buyers = firsts.count()
        figures.repeat_buyers = figures.buyers - figures.new_buyers
    return figures


def daily_revenue(*, supplier_id, start, end, scope=None, buyers=None, exclude_buyers=None):
    """{date: net revenue} per calendar day (days without orders are left out); one query."""
    lines = _lines(supplier_id=supplier_id, start=start, end=end, scope=scope, buyers=buyers,
                   exclude_buyers=exclude_buyers)
    rows = (lines.annotate(day=TruncDate("order__submitted_at",
                                         tzinfo=timezone.get_default_timezone()))
            .values("day").annotate(revenue=Sum("line_net")).values_list("day", "revenue"))
    return {day: Decimal(revenue) for day, revenue in rows}


@dataclass(frozen=True)
class BuyerPurchases:
    last_order_at: datetime.datetime | None
    orders: int
    monetary: Decimal


def buyer_purchase_stats(*, supplier_id, months=12, buyer_ids=None, now=None):
    """{buyer_id: BuyerPurchases}: for each buyer that ever ordered from the supplier, when it
    last ordered (ever) and its order count and net order value over the last `months` months.
    One grouped query."""
    now = now or timezone.now()
    since = now - datetime.timedelta(days=round(30.4375 * months))
    orders = Order.objects.filter(supplier_id=supplier_id, submitted_at__isnull=False).exclude(
        status__in=NOT_COUNTED)
    if buyer_ids is not None:
        orders = orders.filter(buyer_id__in=buyer_ids)
    recent = Q(submitted_at__gte=since, submitted_at__lte=now)
    rows = orders.values("buyer_id").annotate(
        last=Max("submitted_at"), count=Count("id", filter=recent),
        value=Coalesce(Sum("total_net", filter=recent), ZERO, output_field=MONEY),
    ).values_list("buyer_id", "last", "count", "value")
    return {buyer_id: BuyerPurchases(last_order_at=last, orders=count, monetary=Decimal(value))
            for buyer_id, last, count, value in rows}
