"""Split reservations under real concurrency (PostgreSQL, threads): stock spread over two
warehouses is never oversold and never goes negative."""

import pytest
from django.db import connection
from django.db.models import Sum

from jalin.hub import orders, stock
from jalin.hub.models import Order, OrderLineAllocation, OrderStatus, StockLevel
from jalin.hub.services import HubError
from tests.conftest import make_user
from tests.test_hub_orders_concurrency import _buyers, run_threads, setup  # noqa: F401

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only(db):
    if connection.vendor != "postgresql":
        pytest.skip("concurrency guarantees are proven on PostgreSQL")


def test_stock_6_plus_4_and_50_concurrent_orders_of_1(setup):  # noqa: F811
    product = setup["products"][0]
    second = stock.warehouse_create(supplier=setup["supplier"], actor=setup["owner"],
                                    code="W2", name="Second")
    stock.stock_adjust(warehouse=setup["warehouse"], product=product, delta=6,
                       reason="count", actor=setup["owner"])
    stock.stock_adjust(warehouse=second, product=product, delta=4, reason="count",
                       actor=setup["owner"])
    rels = _buyers(setup, 5)
    user = make_user("split-cc-user")

    def place(index):
        return orders.order_place(relationship=rels[index % 5], actor=user,
                                  lines=[(product.pk, 1)])

    results = run_threads(place, 50)
    placed = [r for r, e in results if e is None]
    refused = [e for r, e in results if e is not None]
    assert len(placed) == 10 and len(refused) == 40
    assert all(isinstance(e, HubError) and e.code == "out_of_stock" for e in refused)
    for level in StockLevel.objects.filter(product=product):
        assert level.available == 0 and level.reserved == level.on_hand
    per_house = dict(OrderLineAllocation.objects.values("warehouse__code")
                     .annotate(n=Sum("quantity")).values_list("warehouse__code", "n"))
    assert per_house == {"W1": 6, "W2": 4}
    assert Order.objects.filter(status=OrderStatus.SUBMITTED).count() == 10


def test_concurrent_split_lines_and_cancels_keep_the_books(setup):  # noqa: F811
    a, b = setup["products"]
    second = stock.warehouse_create(supplier=setup["supplier"], actor=setup["owner"],
                                    code="W2", name="Second")
    for house, units in ((setup["warehouse"], 7), (second, 5)):
        for product in (a, b):
            stock.stock_adjust(warehouse=house, product=product, delta=units,
                               reason="count", actor=setup["owner"])
    rels = _buyers(setup, 2)
    user = make_user("split-dl-user")
    membership = setup["owner"].memberships.get(organization=setup["supplier"])

    def place(index):
        # 9 of a product needs both warehouses (7 + 5); lines in opposite orders.
        lines = [(a.pk, 9), (b.pk, 1)] if index % 2 else [(b.pk, 9), (a.pk, 1)]
        done = 0
        for _round in range(5):
            try:
                order = orders.order_place(relationship=rels[index % 2], actor=user,
                                           lines=lines)
            except HubError as error:
                assert error.code == "out_of_stock"
                continue
            orders.order_transition(order=order, action="cancel", actor=setup["owner"],
                                    membership=membership)
            done += 1
        return done

    results = run_threads(place, 6)
    assert [e for _r, e in results if e is not None] == []
    assert sum(r for r, _e in results) >= 1
    for level in StockLevel.objects.all():
        assert level.reserved == 0 and level.on_hand in (7, 5)
