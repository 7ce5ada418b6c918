"""Order lines split over warehouses: the reservation plan (one warehouse when one can fill
the line, otherwise the fewest parts), shipping from the allocations, cancelling per
allocation, the stock ledger adding up, and what the supplier (but not the buyer) sees."""

import importlib

import pytest
from django.apps import apps
from django.db import connection
from django.db.models import Sum
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from jalin.api.testing import ApiClient, bearer_token_for
from jalin.hub import orders, stock
from jalin.hub.models import (
    Order,
    OrderLineAllocation,
    OrderStatus,
    StockLevel,
    StockMovement,
)
from jalin.hub.services import HubError
from jalin.hub.testing import link_buyer, make_price_list, make_product, set_price
from jalin.tenancy.models import Membership
from jalin.tenancy.roles import Role
from tests.conftest import make_org, make_user


@pytest.fixture
def world(org, owner):
    base = make_price_list(org, owner, "Base", is_base=True)
    bolt = make_product(org, owner, "BOLT", "Bolt")
    nut = make_product(org, owner, "NUT", "Nut")
    set_price(base, bolt, "1000", owner)
    set_price(base, nut, "500", owner)
    houses = [stock.warehouse_create(supplier=org, actor=owner, code=code, name=code)
              for code in ("W1", "W2", "W3")]
    buyer = make_org("split-buyer", is_supplier=False, is_buyer=True)
    buyer_user = make_user("split-buyer-user")
    buyer_membership = Membership.objects.create(user=buyer_user, organization=buyer,
                                                 role=Role.BUYER)
    relationship = link_buyer(org, buyer, owner)
    return type("World", (), dict(
        supplier=org, owner=owner, bolt=bolt, nut=nut, houses=houses, buyer=buyer,
        buyer_user=buyer_user, buyer_membership=buyer_membership, relationship=relationship,
        supplier_membership=Membership.objects.get(user=owner, organization=org),
    ))


def put(world, house, product, units):
    stock.stock_adjust(warehouse=house, product=product, delta=units, reason="count",
                       actor=world.owner)


def place(world, *lines):
    return orders.order_place(relationship=world.relationship, actor=world.buyer_user,
                              lines=list(lines))


def parts(order):
    return [(a.warehouse.code, a.quantity, a.shipped_quantity)
            for a in OrderLineAllocation.objects.filter(order_line__order=order)
            .select_related("warehouse").order_by("order_line__position", "id")]


def levels(product):
    return {lv.warehouse.code: (lv.on_hand, lv.reserved)
            for lv in StockLevel.objects.filter(product=product).select_related("warehouse")}


def assert_ledger_adds_up():
    """Every stock level equals the sum of its movements, on hand and reserved."""
    for level in StockLevel.objects.all():
        sums = StockMovement.objects.filter(stock=level).aggregate(
            on_hand=Sum("on_hand_delta"), reserved=Sum("reserved_delta"))
        assert (level.on_hand, level.reserved) == (sums["on_hand"] or 0,
                                                   sums["reserved"] or 0), level


def assert_allocations_cover_lines(order):
    for line in order.lines.all():
        totals = line.allocations.aggregate(q=Sum("quantity"), s=Sum("shipped_quantity"))
        assert (totals["q"], totals["s"]) == (line.quantity, line.shipped_quantity), line


def test_one_warehouse_that_can_fill_the_line_is_preferred(world):
    w1, w2, _w3 = world.houses
    put(world, w1, world.bolt, 3)
    put(world, w2, world.bolt, 10)
    order = place(world, (world.bolt.pk, 5))
    assert parts(order) == [("W2", 5, 0)]  # W1 alone is too small: no split needed
    assert order.lines.get().warehouse == w2
    small = place(world, (world.bolt.pk, 2))
    assert parts(small) == [("W1", 2, 0)]  # the first (by id) that can fill it
    assert levels(world.bolt) == {"W1": (3, 2), "W2": (10, 5)}
    assert_ledger_adds_up()


def test_a_line_is_split_when_no_warehouse_can_fill_it(world):
    w1, w2, w3 = world.houses
    put(world, w1, world.bolt, 6)
    put(world, w2, world.bolt, 4)
    put(world, w3, world.bolt, 100)
    stock.warehouse_update(warehouse=w3, actor=world.owner, is_active=False)
    put(world, w2, world.nut, 5)
    order = place(world, (world.bolt.pk, 9), (world.nut.pk, 2))
    assert order.status == OrderStatus.SUBMITTED
    assert parts(order) == [("W1", 6, 0), ("W2", 3, 0), ("W2", 2, 0)]
    assert order.lines.get(product=world.bolt).warehouse == w1  # the primary part
    assert levels(world.bolt) == {"W1": (6, 6), "W2": (4, 3), "W3": (100, 0)}
    assert StockMovement.objects.filter(order=order, kind="reservation").count() == 3
    assert_allocations_cover_lines(order)
    assert_ledger_adds_up()


def test_fewest_parts_take_the_largest_warehouses_first(world):
    w1, w2, w3 = world.houses
    put(world, w1, world.bolt, 2)
    put(world, w2, world.bolt, 5)
    put(world, w3, world.bolt, 4)
    order = place(world, (world.bolt.pk, 8))
    assert parts(order) == [("W2", 5, 0), ("W3", 3, 0)]  # two parts, not W1+W2+W3
    rest = place(world, (world.bolt.pk, 3))
    assert parts(rest) == [("W1", 2, 0), ("W3", 1, 0)]
    assert levels(world.bolt) == {"W1": (2, 2), "W2": (5, 5), "W3": (4, 4)}


def test_refused_only_when_all_active_warehouses_together_are_short(world):
    w1, w2, _w3 = world.houses
    put(world, w1, world.bolt, 6)
    put(world, w2, world.bolt, 4)
    put(world, w1, world.nut, 50)
    with pytest.raises(HubError) as error:
        place(world, (world.nut.pk, 1), (world.bolt.pk, 11))
    assert error.value.code == "out_of_stock" and "BOLT" in error.value.message
    assert not Order.objects.exists() and not OrderLineAllocation.objects.exists()
    assert not StockMovement.objects.filter(kind="reservation").exists()
    assert levels(world.nut) == {"W1": (50, 0)}
    assert place(world, (world.bolt.pk, 10)).status == OrderStatus.SUBMITTED  # 6 + 4


def test_shipping_a_split_line_takes_the_primary_warehouse_first(world):
    w1, w2, _w3 = world.houses
    put(world, w1, world.bolt, 6)
    put(world, w2, world.bolt, 4)
    order = place(world, (world.bolt.pk, 9))
    order = orders.order_transition(order=order, action="confirm",
                                    membership=world.supplier_membership, actor=world.owner)
    line = order.lines.get()
    orders.ship(order=order, membership=world.supplier_membership, actor=world.owner,
                quantities={line.pk: 7})
    assert parts(order) == [("W1", 6, 6), ("W2", 3, 1)]
    assert levels(world.bolt) == {"W1": (0, 0), "W2": (3, 2)}
    with pytest.raises(HubError) as error:
        orders.ship(order=order, membership=world.supplier_membership, actor=world.owner,
                    quantities={line.pk: 3})
    assert error.value.code == "over_shipment"
    assert parts(order) == [("W1", 6, 6), ("W2", 3, 1)]  # refused: nothing changed
    orders.ship(order=order, membership=world.supplier_membership, actor=world.owner,
                quantities={line.pk: 2})
    order.refresh_from_db()
    assert order.status == OrderStatus.SHIPPED and not order.stock_reserved
    assert parts(order) == [("W1", 6, 6), ("W2", 3, 3)]
    assert levels(world.bolt) == {"W1": (0, 0), "W2": (1, 0)}
    shipments = StockMovement.objects.filter(order=order, kind="shipment")
    assert sorted(shipments.values_list("stock__warehouse__code", "on_hand_delta")) == [
        ("W1", -6), ("W2", -2), ("W2", -1)]
    assert_allocations_cover_lines(order)
    assert_ledger_adds_up()


def test_cancelling_releases_every_allocation(world):
    w1, w2, _w3 = world.houses
    put(world, w1, world.bolt, 6)
    put(world, w2, world.bolt, 4)
    put(world, w2, world.nut, 3)
    order = place(world, (world.nut.pk, 3), (world.bolt.pk, 10))
    assert levels(world.bolt) == {"W1": (6, 6), "W2": (4, 4)}
    orders.order_transition(order=order, action="buyer_cancel",
                            membership=world.buyer_membership, actor=world.buyer_user)
    assert levels(world.bolt) == {"W1": (6, 0), "W2": (4, 0)}
    assert levels(world.nut) == {"W2": (3, 0)}
    releases = StockMovement.objects.filter(order=order, kind="release")
    assert sorted(releases.values_list("stock__warehouse__code", "reserved_delta")) == [
        ("W1", -6), ("W2", -4), ("W2", -3)]
    assert_ledger_adds_up()


def test_cancel_after_a_warehouse_was_deactivated_still_releases_it(world):
    w1, w2, _w3 = world.houses
    put(world, w1, world.bolt, 6)
    put(world, w2, world.bolt, 4)
    order = place(world, (world.bolt.pk, 8))
    stock.warehouse_update(warehouse=w2, actor=world.owner, is_active=False)
    orders.order_transition(order=order, action="cancel",
                            membership=world.supplier_membership, actor=world.owner)
    assert levels(world.bolt) == {"W1": (6, 0), "W2": (4, 0)}


def test_migration_gives_existing_lines_their_one_allocation(world):
    w1, _w2, _w3 = world.houses
    put(world, w1, world.bolt, 10)
    order = place(world, (world.bolt.pk, 4))
    line = order.lines.get()
    line.shipped_quantity = 1
    line.save()
    OrderLineAllocation.objects.all().delete()  # as before the migration
    migration = importlib.import_module("jalin.hub.migrations.0004_order_line_allocations")
    migration.allocate_existing_lines(apps, None)
    assert parts(order) == [("W1", 4, 1)]


def test_supplier_sees_allocations_buyer_does_not(world):
    w1, w2, _w3 = world.houses
    put(world, w1, world.bolt, 6)
    put(world, w2, world.bolt, 4)
    order = place(world, (world.bolt.pk, 9))
    url = reverse("hub:order_detail", args=[order.pk])
    supplier_client, buyer_client = Client(), Client()
    supplier_client.force_login(world.owner)
    buyer_client.force_login(world.buyer_user)
    html = supplier_client.get(url).content.decode()
    assert 'data-warehouse="W1"' in html and 'data-warehouse="W2"' in html
    assert "data-warehouse" not in buyer_client.get(url).content.decode()
    supplier_api = ApiClient(token=bearer_token_for(world.supplier_membership))
    buyer_api = ApiClient(token=bearer_token_for(world.buyer_membership))
    line = supplier_api.get(f"/hub/orders/{order.pk}").json()["lines"][0]
    assert line["allocations"] == [
        {"warehouse_id": w1.pk, "warehouse_code": "W1", "quantity": 6, "shipped_quantity": 0},
        {"warehouse_id": w2.pk, "warehouse_code": "W2", "quantity": 3, "shipped_quantity": 0}]
    assert buyer_api.get(f"/hub/orders/{order.pk}").json()["lines"][0]["allocations"] == []


def test_order_detail_query_count_does_not_grow_with_lines(world, owner):
    from jalin.hub.models import PriceList

    w1, w2, _w3 = world.houses
    base = PriceList.objects.get(supplier=world.supplier, is_base=True)
    client = Client()
    client.force_login(world.owner)
    api = ApiClient(token=bearer_token_for(world.supplier_membership))
    counts = []
    for count, prefix in ((3, "Q"), (30, "R")):
        products = []
        for index in range(count):
            product = make_product(world.supplier, owner, f"{prefix}-{index}")
            set_price(base, product, "10", owner)
            put(world, w1, product, 1)
            put(world, w2, product, 1)
            products.append(product)
        order = orders.order_place(relationship=world.relationship, actor=world.buyer_user,
                                   lines=[(p.pk, 2) for p in products])  # every line split
        assert OrderLineAllocation.objects.filter(order_line__order=order).count() == 2 * count
        client.get(reverse("hub:order_detail", args=[order.pk]))  # warm the session and
        api.get(f"/hub/orders/{order.pk}")  # the token
        with CaptureQueriesContext(connection) as page:
            assert client.get(reverse("hub:order_detail", args=[order.pk])).status_code == 200
        with CaptureQueriesContext(connection) as detail:
            assert api.get(f"/hub/orders/{order.pk}").status_code == 200
        counts.append((len(page), len(detail)))
    assert counts[0] == counts[1], counts


def test_supplier_may_pick_the_warehouse_a_line_ships_from(world):
    w1, w2, w3 = world.houses
    put(world, w1, world.bolt, 6)
    put(world, w2, world.bolt, 4)
    put(world, w3, world.nut, 5)
    order = place(world, (world.bolt.pk, 9), (world.nut.pk, 1))
    order = orders.order_transition(order=order, action="confirm",
                                    membership=world.supplier_membership, actor=world.owner)
    bolt_line = order.lines.get(product=world.bolt)
    with pytest.raises(HubError) as error:  # the line is not reserved in W3
        orders.ship(order=order, membership=world.supplier_membership, actor=world.owner,
                    quantities={bolt_line.pk: 1}, warehouses={bolt_line.pk: w3.pk})
    assert error.value.code == "not_found"
    assert parts(order)[:2] == [("W1", 6, 0), ("W2", 3, 0)]
    # Page: ship 4 of the bolts from W2 first: W2's 3, then 1 from W1.
    client = Client()
    client.force_login(world.owner)
    order.refresh_from_db()
    html = client.get(reverse("hub:order_detail", args=[order.pk])).content.decode()
    assert f'name="from_{bolt_line.pk}"' in html
    response = client.post(reverse("hub:order_ship", args=[order.pk]), {
        f"ship_{bolt_line.pk}": 4, f"from_{bolt_line.pk}": w2.pk, "version": order.version})
    assert response.status_code == 302
    assert parts(order)[:2] == [("W1", 6, 1), ("W2", 3, 3)]
    assert levels(world.bolt) == {"W1": (5, 5), "W2": (1, 0)}
    # API: the rest from W1 (named explicitly).
    order.refresh_from_db()
    api = ApiClient(token=bearer_token_for(world.supplier_membership))
    response = api.post(f"/hub/orders/{order.pk}/shipments", {
        "version": order.version,
        "lines": [{"order_line_id": bolt_line.pk, "quantity": 5, "warehouse_id": w1.pk}]})
    assert response.status_code == 201, response.json()
    assert parts(order)[:2] == [("W1", 6, 6), ("W2", 3, 3)]
    assert_allocations_cover_lines(order)
    assert_ledger_adds_up()
