"""A supplier's sales history by month, for forecasting: net revenue per month and units per
product per month, read with grouped queries (one query per series whatever the number of
orders).

An order counts in the month it was submitted (local time of the installation, Asia/Jakarta),
unless it is a draft or was cancelled. Amounts are the order's net (before tax). Returns and
credit notes are not netted out: this is demand as ordered.

Units per product come from the monthly rollup `ProductSalesMonth` (kept by
`jalin.hub.sales_rollup` with the orders) when the window is whole months, which is how the
forecasts ask: a few thousand rollup rows instead of millions of order lines. Other windows
sum the order lines as before.
"""

import datetime

from django.db.models import Count, DateField, Min, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from jalin.tenancy.access import for_org

from .models import Order, OrderLine, OrderStatus, Product, ProductSalesMonth

NOT_COUNTED = (OrderStatus.DRAFT, OrderStatus.CANCELLED)


def _moment(day):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _month(value):
    if isinstance(value, datetime.datetime):
        value = timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return value.replace(day=1)


def counted_orders(*, supplier, start, end):
    """The supplier's orders submitted in [start, end) (local dates) that count as sales."""
    return (Order.objects.filter(supplier=supplier, submitted_at__gte=_moment(start),
                                 submitted_at__lt=_moment(end))
            .exclude(status__in=NOT_COUNTED))


def monthly_revenue(*, supplier, start, end, currency):
    """{first day of month: (net revenue, order count)} of orders in `currency` submitted in
    [start, end); months without orders are absent."""
    rows = (counted_orders(supplier=supplier, start=start, end=end).filter(currency=currency)
            .order_by()
            .annotate(month=TruncMonth("submitted_at", output_field=DateField()))
            .values("month").annotate(net=Sum("total_net"), orders=Count("id")))
    result = {}
    for row in rows:
        month = _month(row["month"])
        net, orders = result.get(month, (0, 0))
        result[month] = (net + (row["net"] or 0), orders + row["orders"])
    return result


def first_order_day(*, supplier, currency):
    """The local date of the supplier's first counted order in `currency`, or None."""
    first = (Order.objects.filter(supplier=supplier, currency=currency,
                                  submitted_at__isnull=False)
             .exclude(status__in=NOT_COUNTED).aggregate(first=Min("submitted_at"))["first"])
    return timezone.localtime(first).date() if first else None


def _whole_months(start, end):
    return start.day == 1 and end.day == 1


def top_products_by_units(*, supplier, start, end, limit=20):
    """[(product_id, units, net)] of the products ordered most in [start, end), most first."""
    if _whole_months(start, end):
        rows = (ProductSalesMonth.objects.filter(supplier=supplier, month__gte=start,
                                                 month__lt=end)
                .order_by().values("product_id")
                .annotate(units=Sum("quantity"), net=Sum("net")).filter(units__gt=0))
    else:
        rows = (OrderLine.objects.filter(order__in=counted_orders(supplier=supplier,
                                                                  start=start, end=end))
                .order_by().values("product_id")
                .annotate(units=Sum("quantity"), net=Sum("line_net")))
    rows = rows.order_by("-units", "product_id")[:limit]
    return [(row["product_id"], row["units"] or 0, row["net"] or 0) for row in rows]


def monthly_units(*, supplier, start, end, product_ids):
    """{product_id: {first day of month: units}} for the given products in [start, end)."""
    product_ids = list(product_ids)
    if not product_ids:
        return {}
    if _whole_months(start, end):
        rows = (ProductSalesMonth.objects.filter(supplier=supplier, product_id__in=product_ids,
                                                 month__gte=start, month__lt=end)
                .order_by().values("product_id", "month").annotate(units=Sum("quantity"))
                .filter(units__gt=0))
    else:
        rows = (OrderLine.objects.filter(order__in=counted_orders(supplier=supplier,
                                                                  start=start, end=end),
                                         product_id__in=product_ids)
                .order_by()
                .annotate(month=TruncMonth("order__submitted_at", output_field=DateField()))
                .values("product_id", "month").annotate(units=Sum("quantity")))
    result = {}
    for row in rows:
        months = result.setdefault(row["product_id"], {})
        month = _month(row["month"])
        months[month] = months.get(month, 0) + (row["units"] or 0)
    return result


def supplier_products(*, supplier, product_ids):
    """{id: product} of the supplier's own products among `product_ids`."""
    return {product.pk: product for product in
            for_org(Product, supplier).filter(pk__in=list(product_ids))}
