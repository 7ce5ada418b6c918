"""The monthly product sales rollup (`ProductSalesMonth`): kept in the transactions that
change what counts, and rebuilt in batches.

What counts is what `history_selectors` counted from the order lines before: lines of the
supplier's orders that are neither draft nor cancelled, in the month the order was submitted
(local time), per currency; units and net amount (returns not netted out).

Kept incrementally (same transaction as the change, so the rollup never disagrees with the
orders it was committed with):

- `order_place` adds the new order's lines (`order_added`);
- a status change in or out of the counted states (cancellation; draft → submitted) adds or
  subtracts the order's lines (`status_changed`, called by `orders._move`).

Each change is one `INSERT … ON CONFLICT DO UPDATE SET quantity = quantity + excluded…`
over the rows of the order, in (product, month, currency) order, so two orders never take
the same rows in different orders. Order lines do not change after placement (shipped and
invoiced quantities are not demand), so nothing else touches the rollup.

Rebuild (`rebuild`, the `jalin hub_sales_rollup` command, also run by `hub_generate` and the
demo, which write orders directly): one transaction per supplier and month, holding the
supplier's order-number sequence row (scope `hub.order` of `jalin.core.numbering`) — the
row `order_place` locks before it adds to the rollup, and that a cancellation takes before
it subtracts — so no order or cancellation
of that supplier is half-way while a month is recounted. Order placement of that supplier
waits for the month being recounted (tens of milliseconds to about a second at 500 000 lines
a month); other suppliers are not affected.
"""

import datetime

from django.db import transaction
from django.db.models import Max, Min, Sum
from django.utils import timezone

from jalin.core.upsert import add_to_rows

from . import numbering
from .models import Order, OrderLine, OrderStatus, ProductSalesMonth

NOT_COUNTED = (OrderStatus.DRAFT, OrderStatus.CANCELLED)


def is_counted(status):
    return bool(status) and status not in NOT_COUNTED


def month_of(moment):
    """The first day of the local month of an aware datetime."""
    return timezone.localtime(moment).date().replace(day=1)


def next_month(month):
    return (month.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)


def _moment(day):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _lock_supplier(supplier_id):
    """Take the supplier's order-number sequence row (created when the supplier has none)."""
    numbering.lock(supplier_id=supplier_id, sequence=numbering.ORDER)


def _add(supplier_id, sums):
    """Add {(product_id, month, currency): (quantity, net)} to the supplier's rows."""
    add_to_rows(ProductSalesMonth,
                columns=("supplier_id", "product_id", "month", "currency", "quantity", "net"),
                key=("supplier_id", "product_id", "month", "currency"),
                added=("quantity", "net"),
                rows=[(supplier_id, *key, *sums[key]) for key in sorted(sums)])


def _order_sums(order, lines, sign):
    month = month_of(order.submitted_at)
    sums = {}
    for line in lines:
        key = (line.product_id, month, order.currency)
        quantity, net = sums.get(key, (0, 0))
        sums[key] = (quantity + sign * line.quantity, net + sign * line.line_net)
    return sums


def order_added(*, order, lines):
    """A new order: add its lines if it counts. Called by `order_place`, which holds the
    supplier's order-number row already."""
    if order.submitted_at is not None and is_counted(order.status):
        _add(order.supplier_id, _order_sums(order, lines, 1))


def status_changed(*, order, from_status):
    """An order changed status: add or subtract its lines when it entered or left the
    counted states."""
    before, after = is_counted(from_status), is_counted(order.status)
    if before == after or order.submitted_at is None:
        return
    _lock_supplier(order.supplier_id)
    lines = OrderLine.objects.filter(order=order).only("product_id", "quantity", "line_net")
    _add(order.supplier_id, _order_sums(order, lines, 1 if after else -1))


def _counted_lines(supplier_id, month):
    return (OrderLine.objects.filter(order__supplier_id=supplier_id,
                                     order__submitted_at__gte=_moment(month),
                                     order__submitted_at__lt=_moment(next_month(month)))
            .exclude(order__status__in=NOT_COUNTED))


def rebuild_month(*, supplier_id, month):
    """Recount one month of one supplier from its order lines (one transaction)."""
    with transaction.atomic():
        _lock_supplier(supplier_id)
        ProductSalesMonth.objects.filter(supplier_id=supplier_id, month=month).delete()
        rows = (_counted_lines(supplier_id, month).order_by()
                .values("product_id", "order__currency")
                .annotate(units=Sum("quantity"), net=Sum("line_net")))
        sums = {(row["product_id"], month, row["order__currency"]): (row["units"], row["net"])
                for row in rows}
        _add(supplier_id, sums)
    return len(sums)


def rebuild(*, supplier_ids=None, out=None):
    """Recount the rollup of the given suppliers (all suppliers with orders when None), one
    transaction per supplier and month; rows of months without orders are removed. Returns
    the number of rows written. Safe to run while orders are placed (see the module)."""
    orders = Order.objects.filter(submitted_at__isnull=False)
    if supplier_ids is None:
        supplier_ids = sorted(set(orders.values_list("supplier_id", flat=True).distinct())
                              | set(ProductSalesMonth.objects.values_list(
                                  "supplier_id", flat=True).distinct()))
    written = 0
    for supplier_id in supplier_ids:
        span = orders.filter(supplier_id=supplier_id).aggregate(first=Min("submitted_at"),
                                                               last=Max("submitted_at"))
        if span["first"] is None:
            ProductSalesMonth.objects.filter(supplier_id=supplier_id).delete()
            continue
        first, last = month_of(span["first"]), month_of(span["last"])
        with transaction.atomic():  # no order of the supplier is half-way meanwhile
            _lock_supplier(supplier_id)
            last = month_of(orders.filter(supplier_id=supplier_id)
                            .aggregate(last=Max("submitted_at"))["last"])
            (ProductSalesMonth.objects.filter(supplier_id=supplier_id)
             .exclude(month__gte=first, month__lte=last).delete())
        month = first
        while month <= last:
            rows = rebuild_month(supplier_id=supplier_id, month=month)
            written += rows
            if out is not None:
                out(f"supplier {supplier_id} {month:%Y-%m}: {rows:,} product rows")
            month = next_month(month)
    return written
