"""Hub ordering API: placing and reading orders, isolation, mass assignment, permissions,
query counts, stock and carts."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from jalin.api.testing import ApiClient, bearer_token_for
from jalin.hub import orders, stock
from jalin.hub.models import Order, StockLevel
from jalin.hub.testing import link_buyer, make_price_list, make_product, set_price
from jalin.tenancy.models import Membership
from jalin.tenancy.roles import Role
from tests.conftest import make_org, make_user


def api_for(user, organization):
    membership = Membership.objects.get(user=user, organization=organization)
    return ApiClient(token=bearer_token_for(membership))


def person(org, username, role):
    user = make_user(username)
    Membership.objects.create(user=user, organization=org, role=role)
    return user, api_for(user, org)


@pytest.fixture
def world(org, owner):
    base = make_price_list(org, owner, "Base", is_base=True)
    special = make_price_list(org, owner, "Buyer A prices")
    paper = make_product(org, owner, "PAP-1", "Paper")
    set_price(base, paper, "10000", owner)
    set_price(special, paper, "9000", owner)
    warehouse = stock.warehouse_create(supplier=org, actor=owner, code="W1", name="Main")
    stock.stock_adjust(warehouse=warehouse, product=paper, delta=50, reason="count",
                       actor=owner)
    buyer_a = make_org("buyer-a", is_supplier=False, is_buyer=True)
    buyer_b = make_org("buyer-b", is_supplier=False, is_buyer=True)
    link_buyer(org, buyer_a, owner, price_list=special)
    link_buyer(org, buyer_b, owner)
    _user_a, api_a = person(buyer_a, "a-buyer", Role.BUYER)
    _approver, approver_api = person(buyer_a, "a-approver", Role.BUYER_APPROVER)
    _user_b, api_b = person(buyer_b, "b-buyer", Role.BUYER)
    _sales, sales_api = person(org, "s-sales", Role.SALES)
    _finance, finance_api = person(org, "s-finance", Role.FINANCE)
    return type("World", (), dict(
        supplier=org, owner=owner, paper=paper, warehouse=warehouse, buyer_a=buyer_a,
        buyer_b=buyer_b, api_a=api_a, api_b=api_b, approver_api=approver_api,
        sales_api=sales_api, finance_api=finance_api, owner_api=api_for(owner, org),
    ))


def place(api, supplier_id, lines, key="k1", **extra):
    body = {"supplier_id": supplier_id, "lines": lines, **extra}
    return api.post("/hub/orders", body, headers={"Idempotency-Key": key})


def test_buyer_places_order_at_its_own_price(world):
    response = place(world.api_a, world.supplier.pk,
                     [{"product_id": world.paper.pk, "quantity": 2}])
    assert response.status_code == 201, response.json()
    order = response.json()
    assert order["status"] == "submitted" and order["number"] == 1
    assert order["lines"][0]["unit_price"] == "9000.0000"  # buyer A's own list
    assert order["total_gross"] == "19980.00"
    assert order["buyer"]["id"] == world.buyer_a.pk
    assert order["actions"] == ["buyer_cancel"]
    again = place(world.api_a, world.supplier.pk,
                  [{"product_id": world.paper.pk, "quantity": 2}])
    assert again.json()["id"] == order["id"] and again["Idempotent-Replayed"] == "true"
    assert Order.objects.count() == 1


def test_order_needs_an_idempotency_key(world):
    response = world.api_a.post("/hub/orders", {
        "supplier_id": world.supplier.pk,
        "lines": [{"product_id": world.paper.pk, "quantity": 1}]})
    assert response.status_code == 428
    assert response.json()["code"] == "idempotency_key_required"
    assert not Order.objects.exists()


@pytest.mark.parametrize("extra", [
    {"unit_price": "1"}, {"status": "confirmed"}, {"credit_limit": "9999999"},
    {"total_gross": "1"}, {"prices_include_tax": True},
])
def test_mass_assignment_is_refused(world, extra):
    response = place(world.api_a, world.supplier.pk,
                     [{"product_id": world.paper.pk, "quantity": 1}], **extra)
    assert response.status_code == 422
    line_extra = place(world.api_a, world.supplier.pk,
                       [{"product_id": world.paper.pk, "quantity": 1, "unit_price": "1"}],
                       key="k2")
    assert line_extra.status_code == 422
    assert not Order.objects.exists()


def test_buyer_cannot_order_from_a_supplier_it_does_not_trade_with(world, owner):
    stranger = make_org("stranger-supplier", is_supplier=True)
    product = make_product(stranger, owner, "S-1")
    response = place(world.api_a, stranger.pk, [{"product_id": product.pk, "quantity": 1}])
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "supplier_id"
    response = place(world.api_a, world.supplier.pk, [{"product_id": product.pk,
                                                       "quantity": 1}], key="k3")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "lines[0].product_id"
    assert not Order.objects.exists()


def test_buyers_cannot_see_each_others_orders_or_carts(world, outsider):
    order_id = place(world.api_a, world.supplier.pk,
                     [{"product_id": world.paper.pk, "quantity": 1}]).json()["id"]
    assert world.api_b.get(f"/hub/orders/{order_id}").status_code == 404
    assert world.api_b.get("/hub/orders").json()["items"] == []
    response = world.api_b.post(f"/hub/orders/{order_id}/transitions",
                                {"action": "buyer_cancel", "version": 1})
    assert response.status_code == 404
    world.api_a.post(f"/hub/carts/{world.supplier.pk}/lines",
                     {"product_id": world.paper.pk, "quantity": 3})
    assert world.api_b.get(f"/hub/carts/{world.supplier.pk}").json()["lines"] == []
    outsider_api = api_for(outsider, outsider.memberships.get().organization)
    assert outsider_api.get(f"/hub/orders/{order_id}").status_code == 404
    assert outsider_api.get(f"/hub/carts/{world.supplier.pk}").status_code == 404


def test_supplier_sees_received_orders_and_works_them(world):
    order = place(world.api_a, world.supplier.pk,
                  [{"product_id": world.paper.pk, "quantity": 3}]).json()
    listed = world.sales_api.get("/hub/orders?status=submitted").json()["items"]
    assert [o["id"] for o in listed] == [order["id"]]
    url = f"/hub/orders/{order['id']}"
    # Buyers cannot confirm; finance cannot fulfil; sales can.
    assert world.api_a.post(f"{url}/transitions", {"action": "confirm",
                                                   "version": 1}).status_code == 403
    assert world.finance_api.post(f"{url}/transitions", {"action": "confirm",
                                                         "version": 1}).status_code == 403
    response = world.sales_api.post(f"{url}/transitions", {"action": "confirm", "version": 1})
    assert response.status_code == 200 and response.json()["status"] == "confirmed"
    stale = world.sales_api.post(f"{url}/shipments", {
        "version": 1, "lines": [{"order_line_id": order["lines"][0]["id"], "quantity": 1}]})
    assert stale.status_code == 409
    response = world.sales_api.post(f"{url}/shipments", {
        "version": 2, "tracking": "JNE-1",
        "lines": [{"order_line_id": order["lines"][0]["id"], "quantity": 1}]})
    assert response.status_code == 201, response.json()
    seen = world.api_a.get(url).json()
    assert seen["status"] == "partially_shipped"
    assert seen["shipments"][0]["tracking"] == "JNE-1"
    assert [c["to_status"] for c in seen["status_changes"]] == [
        "submitted", "confirmed", "partially_shipped"]


def test_approval_through_the_api(world):
    from jalin.hub.models import BuyerSettings

    BuyerSettings.objects.create(buyer=world.buyer_a, approval_threshold=1000, currency="IDR")
    order = place(world.api_a, world.supplier.pk,
                  [{"product_id": world.paper.pk, "quantity": 1}]).json()
    assert order["status"] == "awaiting_approval"
    url = f"/hub/orders/{order['id']}/transitions"
    assert world.api_a.post(url, {"action": "approve", "version": order["version"]}
                            ).status_code == 403
    response = world.approver_api.post(url, {"action": "approve",
                                             "version": order["version"]})
    assert response.status_code == 200 and response.json()["status"] == "submitted"
    assert world.approver_api.post(url, {"action": "fly", "version": 9}).status_code == 422


def test_supplier_enters_an_order_for_a_customer(world):
    response = world.sales_api.post("/hub/orders", {
        "buyer_id": world.buyer_b.pk, "lines": [{"product_id": world.paper.pk,
                                                 "quantity": 1}]},
        headers={"Idempotency-Key": "s-1"})
    assert response.status_code == 201, response.json()
    assert response.json()["entered_by_supplier"] is True
    assert response.json()["lines"][0]["unit_price"] == "10000.0000"  # B's (base) price
    stranger = make_org("not-a-customer", is_supplier=False, is_buyer=True)
    response = world.sales_api.post("/hub/orders", {
        "buyer_id": stranger.pk, "lines": [{"product_id": world.paper.pk, "quantity": 1}]},
        headers={"Idempotency-Key": "s-2"})
    assert response.status_code == 422


def test_cart_checkout(world):
    url = f"/hub/carts/{world.supplier.pk}"
    response = world.api_a.post(f"{url}/lines", {"product_id": world.paper.pk, "quantity": 4})
    assert response.status_code == 200 and response.json()["lines"][0]["quantity"] == 4
    assert world.api_a.post(f"{url}/lines", {"product_id": world.paper.pk, "quantity": 1,
                                             "unit_price": "1"}).status_code == 422
    response = world.api_a.post(f"{url}/checkout")
    assert response.status_code == 201 and response.json()["total_net"] == "36000.00"
    assert world.api_a.get(url).json()["lines"] == []
    assert world.api_a.post(f"{url}/checkout").status_code == 422


def test_stock_api_for_suppliers(world):
    response = world.owner_api.post("/hub/stock/adjustments", {
        "warehouse_id": world.warehouse.pk, "product_id": world.paper.pk, "delta": -5,
        "reason": "damaged", "low_stock_threshold": 50})
    assert response.status_code == 200, response.json()
    assert response.json()["available"] == 45 and response.json()["is_low"] is True
    low = world.owner_api.get("/hub/stock?low=true").json()["items"]
    assert [item["sku"] for item in low] == ["PAP-1"]
    response = world.owner_api.post("/hub/stock/adjustments", {
        "warehouse_id": world.warehouse.pk, "product_id": world.paper.pk, "delta": -46,
        "reason": "lost"})
    assert response.status_code == 422
    assert world.api_a.post("/hub/stock/adjustments", {
        "warehouse_id": world.warehouse.pk, "product_id": world.paper.pk, "delta": 5,
        "reason": "x"}).status_code == 403
    assert world.owner_api.post("/hub/warehouses", {"code": "w2", "name": "Two"}
                                ).status_code == 201
    assert StockLevel.objects.get(product=world.paper).on_hand == 45


def test_order_list_query_count_does_not_grow(world):
    def count_queries():
        with CaptureQueriesContext(connection) as ctx:
            assert world.sales_api.get("/hub/orders").status_code == 200
        return len(ctx.captured_queries)

    relationship = world.supplier.hub_customer_relationships.get(buyer=world.buyer_a)
    for _ in range(3):
        orders.order_place(relationship=relationship, actor=world.owner,
                           lines=[(world.paper.pk, 1)])
    few = count_queries()
    for _ in range(27):
        orders.order_place(relationship=relationship, actor=world.owner,
                           lines=[(world.paper.pk, 1)])
    assert count_queries() <= few


def test_ordering_settings_api(world):
    response = world.owner_api.get("/hub/settings/selling")
    assert response.json()["tax_rates"]["standard"] == "11"
    response = world.owner_api.patch("/hub/settings/selling", {
        "prices_include_tax": True, "tax_rates": {"standard": "12"}})
    assert response.status_code == 200, response.json()
    assert response.json()["prices_include_tax"] is True
    assert response.json()["tax_rates"]["standard"] == "12.0000"
    assert world.sales_api.patch("/hub/settings/selling", {"prices_include_tax": False}
                                 ).status_code == 403
    assert world.owner_api.patch("/hub/settings/selling", {"tax_rates": {"standard": "101"}}
                                 ).status_code == 422
    assert world.api_a.get("/hub/settings/buying").json()["approval_threshold"] is None
    assert world.api_a.patch("/hub/settings/buying", {"approval_threshold": "5"}
                             ).status_code == 403  # a plain buyer
    admin, admin_api = person(world.buyer_a, "a-admin", Role.ORG_ADMIN)
    response = admin_api.patch("/hub/settings/buying", {"approval_threshold": "15000"})
    assert response.status_code == 200 and response.json()["approval_threshold"] == "15000.00"
    order = place(world.api_a, world.supplier.pk,
                  [{"product_id": world.paper.pk, "quantity": 2}]).json()
    assert order["status"] == "awaiting_approval"
    # Prices now include tax: 2 × 9,000 gross, net 18,000 × 100/112.
    assert order["total_gross"] == "18000.00" and order["total_net"] == "16071.00"
