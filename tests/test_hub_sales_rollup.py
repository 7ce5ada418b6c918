"""The monthly product sales rollup (`ProductSalesMonth`) gives the demand history exactly what
summing the order lines gave: on generated history (all order states, cancellations
included), after orders placed and cancelled through the services, and after a rebuild."""

import datetime
import json
import uuid
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import DateField, Sum
from django.db.models.functions import TruncMonth
from django.test import Client
from django.utils import timezone

from jalin.hub import history_selectors, orders, sales_rollup
from jalin.hub.models import Order, OrderLine, OrderStatus, Product, ProductSalesMonth
from jalin.tenancy.models import Membership
from jalin.tenancy.roles import Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def hub(tmp_path):
    tokens = tmp_path / "tokens.json"
    call_command("hub_generate", "--supplier", "rollup", "--products", "40", "--buyers", "2",
                 "--warehouses", "1", "--orders", "300", "--lines", "3", "--seed", "5",
                 "--tokens-file", str(tokens), stdout=StringIO())
    return json.loads(tokens.read_text())


def _line_sums(supplier_id, start, end):
    """The reference: what history_selectors summed from the order lines before the rollup
    ({product: {month: units}}, {product: (units, net)})."""
    lines = OrderLine.objects.filter(order__in=history_selectors.counted_orders(
        supplier=supplier_id, start=start, end=end))
    monthly = {}
    for row in (lines.order_by().annotate(month=TruncMonth("order__submitted_at",
                                                           output_field=DateField()))
                .values("product_id", "month").annotate(units=Sum("quantity"))):
        month = history_selectors._month(row["month"])
        monthly.setdefault(row["product_id"], {})[month] = row["units"]
    totals = {row["product_id"]: (row["units"], round(row["net"], 2)) for row in
              lines.order_by().values("product_id").annotate(units=Sum("quantity"),
                                                             net=Sum("line_net"))}
    return monthly, totals


def _assert_same(supplier_id):
    end = timezone.localdate().replace(day=1)
    next_month = sales_rollup.next_month(end)
    for months in (1, 12, 48):
        start = end
        for _ in range(months):
            start = (start - datetime.timedelta(days=1)).replace(day=1)
        for window_end in (end, next_month):  # complete months; and this month too
            monthly, totals = _line_sums(supplier_id, start, window_end)
            top = history_selectors.top_products_by_units(supplier=supplier_id, start=start,
                                                          end=window_end, limit=1000)
            assert {pid: (units, round(net, 2)) for pid, units, net in top} == totals
            assert [pid for pid, _u, _n in top] == [pid for pid, _t in sorted(
                totals.items(), key=lambda item: (-item[1][0], item[0]))]
            assert history_selectors.monthly_units(
                supplier=supplier_id, start=start, end=window_end,
                product_ids=list(totals)) == monthly


def _place(hub, buyer, product_ids, quantity=10):
    body = {"supplier_id": hub["supplier_id"],
            "lines": [{"product_id": pid, "quantity": quantity} for pid in product_ids]}
    response = Client().post("/api/v1/hub/orders", json.dumps(body),
                             content_type="application/json",
                             headers={"Authorization": f"Bearer {buyer['token']}",
                                      "Idempotency-Key": str(uuid.uuid4())})
    assert response.status_code == 201, response.content
    return Order.objects.get(pk=response.json()["id"])


def test_rollup_equals_the_order_line_sums_through_orders_and_cancellations(hub):
    supplier_id = hub["supplier_id"]
    generated = Order.objects.filter(supplier_id=supplier_id)
    assert generated.filter(status=OrderStatus.CANCELLED).exists()
    assert generated.exclude(status=OrderStatus.CANCELLED).exists()
    assert ProductSalesMonth.objects.filter(supplier_id=supplier_id).exists()
    _assert_same(supplier_id)

    # Orders placed through the API, two of them cancelled (supplier; buyer), one twice the
    # same product in another order: the rollup follows in the same transactions.
    products = list(Product.objects.filter(supplier_id=supplier_id).order_by("id")
                    .values_list("pk", flat=True))
    placed = [_place(hub, hub["buyers"][index % 2], products[index:index + 3])
              for index in range(6)]
    owner = Membership.objects.get(organization_id=supplier_id, role=Role.ORG_ADMIN)
    orders.order_transition(order=placed[0], action="cancel", membership=owner,
                            actor=owner.user, reason="test")
    buyer = Membership.objects.get(organization_id=hub["buyers"][1]["buyer_id"],
                                   user__username__endswith="buyer-2")
    orders.order_transition(order=placed[1], action="buyer_cancel", membership=buyer,
                            actor=buyer.user)
    orders.order_transition(order=placed[2], action="confirm", membership=owner,
                            actor=owner.user)
    _assert_same(supplier_id)
    month = sales_rollup.month_of(placed[3].submitted_at)
    row = ProductSalesMonth.objects.get(supplier_id=supplier_id, product_id=products[3],
                                        month=month)
    assert row.quantity == _line_sums(supplier_id, month, sales_rollup.next_month(month))[1][
        products[3]][0]

    # A rebuild recounts the same rows (and removes rows a cancellation left at zero).
    kept = {(r.product_id, r.month, r.currency): (r.quantity, r.net) for r in
            ProductSalesMonth.objects.filter(supplier_id=supplier_id) if r.quantity}
    out = StringIO()
    call_command("hub_sales_rollup", "--supplier", "rollup", stdout=out)
    assert "Monthly product rollup" in out.getvalue()
    rebuilt = {(r.product_id, r.month, r.currency): (r.quantity, r.net) for r in
               ProductSalesMonth.objects.filter(supplier_id=supplier_id)}
    assert rebuilt == kept
    _assert_same(supplier_id)


def test_rollup_command_refuses_an_unknown_supplier_and_changes_nothing(hub):
    before = list(ProductSalesMonth.objects.order_by("id").values_list("id", "quantity"))
    with pytest.raises(CommandError, match="No such organization: nope"):
        call_command("hub_sales_rollup", "--supplier", "nope", stdout=StringIO())
    assert list(ProductSalesMonth.objects.order_by("id").values_list("id", "quantity")) == before


def test_demand_page_reads_the_rollup_not_the_order_lines(hub):
    """The demand overview's history comes from the rollup: no query touches the order lines
    table."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from jalin.sales import forecast_selectors
    from jalin.tenancy.models import Organization

    supplier = Organization.objects.get(pk=hub["supplier_id"])
    with CaptureQueriesContext(connection) as queries:
        result = forecast_selectors.demand_overview(organization=supplier, limit=5)
    assert result
    assert not [q for q in queries if OrderLine._meta.db_table in q["sql"]]
