"""Ordering under real concurrency, on PostgreSQL with threads (one connection each)."""

import threading
from decimal import Decimal

import pytest
from django.db import connection

from jalin.hub import orders, stock
from jalin.hub.models import Order, OrderStatus, PaymentTerms, StockLevel
from jalin.hub.services import HubError
from jalin.hub.testing import link_buyer, make_price_list, make_product, set_price
from tests.conftest import make_org, make_user

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

WAIT = 60


@pytest.fixture(autouse=True)
def _postgres_only(db):
    if connection.vendor != "postgresql":
        pytest.skip("concurrency guarantees are proven on PostgreSQL")


def run_threads(target, count):
    """Start `count` threads at once (a barrier), each with its own connection; return
    [(result, error)]."""
    results = [None] * count
    barrier = threading.Barrier(count)

    def run(index):
        try:
            barrier.wait(WAIT)
            results[index] = (target(index), None)
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            results[index] = (None, exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
        assert not thread.is_alive(), "thread did not finish"
    return results


@pytest.fixture
def setup(org, owner):
    base = make_price_list(org, owner, "Base", is_base=True)
    products = []
    for sku in ("A", "B"):
        product = make_product(org, owner, sku)
        set_price(base, product, "200", owner)
        products.append(product)
    warehouse = stock.warehouse_create(supplier=org, actor=owner, code="W1", name="Main")
    return {"supplier": org, "owner": owner, "products": products, "warehouse": warehouse,
            "base": base}


def _buyers(setup, count):
    rels = []
    for i in range(count):
        buyer = make_org(f"cbuyer-{i}", is_supplier=False, is_buyer=True)
        rels.append(link_buyer(setup["supplier"], buyer, setup["owner"]))
    return rels


def test_stock_10_and_50_concurrent_orders_of_1(setup):
    product = setup["products"][0]
    stock.stock_adjust(warehouse=setup["warehouse"], product=product, delta=10,
                       reason="count", actor=setup["owner"])
    rels = _buyers(setup, 5)
    user = make_user("cc-user")

    def place(index):
        return orders.order_place(relationship=rels[index % 5], actor=user,
                                  lines=[(product.pk, 1)])

    results = run_threads(place, 50)
    placed = [r for r, e in results if e is None]
    refused = [e for r, e in results if e is not None]
    assert len(placed) == 10
    assert len(refused) == 40
    assert all(isinstance(e, HubError) and e.code == "out_of_stock" for e in refused)
    level = StockLevel.objects.get(product=product)
    assert (level.on_hand, level.reserved, level.available) == (10, 10, 0)
    assert Order.objects.filter(status=OrderStatus.SUBMITTED).count() == 10
    numbers = sorted(Order.objects.values_list("number", flat=True))
    assert numbers == list(range(1, 11))  # gapless despite 40 rollbacks


def test_opposite_line_order_never_deadlocks_for_the_caller(setup):
    a, b = setup["products"]
    for product in (a, b):
        stock.stock_adjust(warehouse=setup["warehouse"], product=product, delta=10_000,
                           reason="count", actor=setup["owner"])
    warehouse_two = stock.warehouse_create(supplier=setup["supplier"], actor=setup["owner"],
                                           code="W2", name="Second")
    for product in (a, b):
        stock.stock_adjust(warehouse=warehouse_two, product=product, delta=5,
                           reason="count", actor=setup["owner"])
    rels = _buyers(setup, 2)
    user = make_user("dl-user")

    def place(index):
        lines = [(a.pk, 1), (b.pk, 1)] if index % 2 else [(b.pk, 1), (a.pk, 1)]
        placed = []
        for _round in range(10):
            order = orders.order_place(relationship=rels[index % 2], actor=user, lines=lines)
            placed.append(order)
            orders.order_transition(
                order=order, action="cancel", actor=setup["owner"],
                membership=setup["owner"].memberships.get(organization=setup["supplier"]))
        return placed

    results = run_threads(place, 6)
    errors = [e for _r, e in results if e is not None]
    assert errors == []
    assert Order.objects.count() == 60
    for level in StockLevel.objects.all():
        assert level.reserved == 0


def test_credit_limit_1000_and_10_concurrent_orders_of_200(setup):
    product = setup["products"][0]
    stock.stock_adjust(warehouse=setup["warehouse"], product=product, delta=100,
                       reason="count", actor=setup["owner"])
    # Prices exclusive of tax; the buyer is exempt so each order totals exactly 200.
    buyer = make_org("credit-buyer", is_supplier=False, is_buyer=True)
    rel = link_buyer(setup["supplier"], buyer, setup["owner"], payment_terms=PaymentTerms.NET,
                     payment_days=30, credit_limit=Decimal("1000"))
    rel.tax_exempt = True
    rel.save()
    user = make_user("credit-user")

    def place(index):
        return orders.order_place(relationship=rel, actor=user, lines=[(product.pk, 1)])

    results = run_threads(place, 10)
    assert [e for _r, e in results if e is not None] == []
    statuses = [r.status for r, _e in results]
    assert statuses.count(OrderStatus.SUBMITTED) == 5
    assert statuses.count(OrderStatus.CREDIT_HOLD) == 5
    assert orders.exposure(rel) == Decimal("1000")


def test_same_idempotency_key_concurrently_makes_one_order(setup):
    product = setup["products"][0]
    stock.stock_adjust(warehouse=setup["warehouse"], product=product, delta=100,
                       reason="count", actor=setup["owner"])
    rel = _buyers(setup, 1)[0]
    user = make_user("idem-user")

    def place(index):
        return orders.order_place(relationship=rel, actor=user, lines=[(product.pk, 2)],
                                  idempotency_key="same-key")

    results = run_threads(place, 8)
    assert [e for _r, e in results if e is not None] == []
    assert len({r.pk for r, _e in results}) == 1
    assert Order.objects.count() == 1
    assert StockLevel.objects.get(product=product).reserved == 2


def test_same_idempotency_key_through_the_api_concurrently(setup):
    from jalin.api.testing import ApiClient, bearer_token_for
    from jalin.tenancy.models import Membership
    from jalin.tenancy.roles import Role

    product = setup["products"][1]
    stock.stock_adjust(warehouse=setup["warehouse"], product=product, delta=100,
                       reason="count", actor=setup["owner"])
    rel = _buyers(setup, 1)[0]
    membership = Membership.objects.create(user=make_user("api-buyer"), organization=rel.buyer,
                                           role=Role.BUYER)
    token = bearer_token_for(membership)
    body = {"supplier_id": setup["supplier"].pk, "lines": [{"product_id": product.pk,
                                                            "quantity": 3}]}

    def post(index):
        response = ApiClient(token=token).post("/hub/orders", body,
                                               headers={"Idempotency-Key": "dup-1"})
        return response.status_code, response.json()["id"]

    results = run_threads(post, 6)
    assert [e for _r, e in results if e is not None] == []
    assert {status for (status, _id), _e in results} == {201}
    assert len({order_id for (_s, order_id), _e in results}) == 1
    assert Order.objects.count() == 1
    assert StockLevel.objects.get(product=product).reserved == 3
