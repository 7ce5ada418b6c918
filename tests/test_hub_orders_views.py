"""Hub ordering pages: shop availability and cart, checkout (double submit → one order),
quick order, order pages for buyer and supplier, stock pages, permissions."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from jalin.hub import orders, stock
from jalin.hub.models import Order, OrderStatus, StockLevel, SupplierSettings
from jalin.hub.testing import link_buyer, make_price_list, make_product, set_price
from jalin.tenancy.models import Membership
from jalin.tenancy.roles import Role
from tests.conftest import make_org, make_user


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def world(org, owner):
    base = make_price_list(org, owner, "Base", is_base=True)
    paper = make_product(org, owner, "PAP-1", "Paper")
    pens = make_product(org, owner, "PEN-1", "Pens")
    set_price(base, paper, "10000", owner)
    set_price(base, pens, "2500", owner)
    warehouse = stock.warehouse_create(supplier=org, actor=owner, code="W1", name="Main")
    stock.stock_adjust(warehouse=warehouse, product=paper, delta=3, reason="count",
                       actor=owner, low_stock_threshold=5)
    buyer = make_org("buyer-co", is_supplier=False, is_buyer=True)
    relationship = link_buyer(org, buyer, owner)
    buyer_user = make_user("shopper")
    Membership.objects.create(user=buyer_user, organization=buyer, role=Role.BUYER)
    return type("World", (), dict(
        supplier=org, owner=owner, paper=paper, pens=pens, warehouse=warehouse, buyer=buyer,
        relationship=relationship, buyer_user=buyer_user, buyer_client=client_for(buyer_user),
        owner_client=client_for(owner),
    ))


def test_shop_shows_availability_and_adds_to_cart(world):
    url = reverse("hub:shop_catalog", args=[world.supplier.pk])
    html = world.buyer_client.get(url).content.decode()
    assert "Low stock" in html and "Out of stock" in html  # paper 3 ≤ 5; pens none
    assert "(3)" not in html  # numbers hidden unless the supplier allows them
    SupplierSettings.objects.create(supplier=world.supplier, show_stock_quantity=True)
    assert "(3)" in world.buyer_client.get(url).content.decode()
    response = world.buyer_client.post(reverse("hub:cart_add", args=[world.supplier.pk]),
                                       {"product": world.paper.pk, "quantity": 2})
    assert response.status_code == 302
    cart = world.buyer_client.get(reverse("hub:cart")).content.decode()
    assert "PAP-1" in cart and "Submit order" in cart


def test_double_submit_makes_one_order(world):
    orders.cart_set_line(relationship=world.relationship, user=world.buyer_user,
                         product_id=world.paper.pk, quantity=2)
    url = reverse("hub:cart_checkout", args=[world.supplier.pk])
    first = world.buyer_client.post(url, {"token": "tok-1"})
    second = world.buyer_client.post(url, {"token": "tok-1"})
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert Order.objects.count() == 1
    assert StockLevel.objects.get(product=world.paper).reserved == 2
    detail = world.buyer_client.get(first["Location"]).content.decode()
    assert "Submitted" in detail and "PAP-1" in detail


def test_checkout_out_of_stock_shows_error_and_keeps_cart(world):
    orders.cart_set_line(relationship=world.relationship, user=world.buyer_user,
                         product_id=world.pens.pk, quantity=1)
    response = world.buyer_client.post(reverse("hub:cart_checkout", args=[world.supplier.pk]),
                                       {"token": "t"}, follow=True)
    assert "Not enough stock" in response.content.decode()
    assert not Order.objects.exists()
    assert orders.cart_for(relationship=world.relationship,
                           user=world.buyer_user).lines.count() == 1


def test_quick_order_reports_bad_lines(world):
    url = reverse("hub:quick_order", args=[world.supplier.pk])
    response = world.buyer_client.post(url, {"lines": "PAP-1, 1\nNOPE, 2\nbad"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Unknown SKU NOPE" in html and "Line 3" in html
    response = world.buyer_client.post(url, {"lines": "PEN-1, 4"})
    assert response.status_code == 302


def test_supplier_confirms_and_ships_partially_buyer_sees_shipment(world):
    order = orders.order_place(relationship=world.relationship, actor=world.buyer_user,
                               lines=[(world.paper.pk, 3)])
    url = reverse("hub:order_detail", args=[order.pk])
    html = world.owner_client.get(url).content.decode()
    assert 'value="confirm"' in html
    assert 'value="confirm"' not in world.buyer_client.get(url).content.decode()
    # A buyer posting the supplier's action is refused.
    response = world.buyer_client.post(reverse("hub:order_action", args=[order.pk]),
                                       {"action": "confirm", "version": order.version})
    assert response.status_code == 403
    response = world.owner_client.post(reverse("hub:order_action", args=[order.pk]),
                                       {"action": "confirm", "version": order.version})
    assert response.status_code == 302
    order.refresh_from_db()
    line = order.lines.get()
    response = world.owner_client.post(reverse("hub:order_ship", args=[order.pk]), {
        f"ship_{line.pk}": 1, "tracking": "JNE-42", "version": order.version})
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.PARTIALLY_SHIPPED
    html = world.buyer_client.get(url).content.decode()
    assert "JNE-42" in html and "PAP-1 × 1" in html and "Partially shipped" in html
    stale = world.owner_client.post(reverse("hub:order_action", args=[order.pk]),
                                    {"action": "cancel", "version": 1})
    assert stale.status_code == 409


def test_other_buyers_and_outsiders_get_404(world, outsider_client):
    order = orders.order_place(relationship=world.relationship, actor=world.buyer_user,
                               lines=[(world.paper.pk, 1)])
    other = make_org("other-buyer", is_supplier=False, is_buyer=True)
    other_user = make_user("other-shopper")
    Membership.objects.create(user=other_user, organization=other, role=Role.BUYER)
    other_client = client_for(other_user)
    for client in (other_client, outsider_client):
        assert client.get(reverse("hub:order_detail", args=[order.pk])).status_code == 404
        assert client.post(reverse("hub:order_action", args=[order.pk]),
                           {"action": "buyer_cancel", "version": 1}).status_code == 404
        assert client.post(reverse("hub:cart_add", args=[world.supplier.pk]),
                           {"product": world.paper.pk, "quantity": 1}).status_code == 404


def test_stock_pages_and_adjust(world):
    html = world.owner_client.get(reverse("hub:stock_low")).content.decode()
    assert "PAP-1" in html
    response = world.owner_client.post(reverse("hub:stock_adjust"), {
        "warehouse": world.warehouse.pk, "sku": "PAP-1", "delta": "10", "reason": "delivery"})
    assert response.status_code == 302
    assert StockLevel.objects.get(product=world.paper).on_hand == 13
    world.owner_client.get(reverse("hub:stock"))  # shows (and clears) the message
    low_page = world.owner_client.get(reverse("hub:stock_low")).content.decode()
    assert "<code>PAP-1</code>" not in low_page
    response = world.owner_client.post(reverse("hub:stock_adjust"), {
        "warehouse": world.warehouse.pk, "sku": "PAP-1", "delta": "5", "reason": ""})
    assert response.status_code == 400
    assert world.buyer_client.post(reverse("hub:stock_adjust"), {
        "warehouse": world.warehouse.pk, "sku": "PAP-1", "delta": "5",
        "reason": "x"}).status_code == 403
    response = world.owner_client.post(reverse("hub:warehouses"), {"code": "w2",
                                                                   "name": "Surabaya"})
    assert response.status_code == 302


def test_order_list_query_count(world):
    def count(client):
        client.get(reverse("hub:orders"))
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("hub:orders") + "?side=supplier").status_code == 200
        return len(ctx.captured_queries)

    stock.stock_adjust(warehouse=world.warehouse, product=world.pens, delta=100,
                       reason="count", actor=world.owner)
    for _ in range(3):
        orders.order_place(relationship=world.relationship, actor=world.buyer_user,
                           lines=[(world.pens.pk, 1)])
    few = count(world.owner_client)
    for _ in range(27):
        orders.order_place(relationship=world.relationship, actor=world.buyer_user,
                           lines=[(world.pens.pk, 1)])
    assert count(world.owner_client) <= few


def test_supplier_enters_an_order_for_a_customer(world):
    url = reverse("hub:order_enter")
    assert "buyer-co" not in world.buyer_client.get(url).content.decode()  # 403 for buyers
    assert world.buyer_client.get(url).status_code == 403
    response = world.owner_client.post(url, {"buyer": world.buyer.pk, "lines": "NOPE, 1",
                                             "token": "e1"})
    assert response.status_code == 400 and "Unknown SKU NOPE" in response.content.decode()
    response = world.owner_client.post(url, {"buyer": world.buyer.pk, "lines": "PAP-1, 2",
                                             "token": "e1"})
    assert response.status_code == 302
    again = world.owner_client.post(url, {"buyer": world.buyer.pk, "lines": "PAP-1, 2",
                                          "token": "e1"})
    assert again["Location"] == response["Location"]
    order = Order.objects.get()
    assert order.entered_by_supplier and order.buyer == world.buyer
    stranger = make_org("stranger-buyer", is_supplier=False, is_buyer=True)
    response = world.owner_client.post(url, {"buyer": stranger.pk, "lines": "PAP-1, 1"})
    assert response.status_code == 400 and Order.objects.count() == 1


def test_ordering_settings(world):
    from jalin.hub.models import BuyerSettings, TaxRule

    url = reverse("hub:ordering_settings")
    response = world.owner_client.post(url, {"part": "supplier", "prices_include_tax": "on",
                                             "rate_standard": "12", "rate_reduced": "",
                                             "rate_exempt": "0"})
    assert response.status_code == 302
    settings = SupplierSettings.objects.get(supplier=world.supplier)
    assert settings.prices_include_tax and not settings.show_stock_quantity
    assert TaxRule.objects.get(supplier=world.supplier, tax_class="standard").rate == 12
    assert world.owner_client.post(url, {"part": "supplier", "rate_standard": "200"}
                                   ).status_code == 400
    # A plain buyer may look but not change; the buyer's admin sets the threshold.
    assert world.buyer_client.get(url).status_code == 200
    assert world.buyer_client.post(url, {"part": "buyer", "approval_threshold": "5"}
                                   ).status_code == 404
    admin = make_user("buyer-admin")
    Membership.objects.create(user=admin, organization=world.buyer, role=Role.ORG_ADMIN)
    response = client_for(admin).post(url, {"part": "buyer", "approval_threshold": "50000"})
    assert response.status_code == 302
    assert BuyerSettings.objects.get(buyer=world.buyer).approval_threshold == 50000


def test_submit_all_makes_one_order_per_supplier_and_reorder(world, owner):
    second = make_org("second-supplier", is_supplier=True)
    base = make_price_list(second, owner, "Base", is_base=True)
    tape = make_product(second, owner, "TAPE-1", "Tape")
    set_price(base, tape, "1000", owner)
    warehouse = stock.warehouse_create(supplier=second, actor=owner, code="W9", name="Nine")
    stock.stock_adjust(warehouse=warehouse, product=tape, delta=10, reason="count",
                       actor=owner)
    second_rel = link_buyer(second, world.buyer, owner)
    orders.cart_set_line(relationship=world.relationship, user=world.buyer_user,
                         product_id=world.paper.pk, quantity=1)
    orders.cart_set_line(relationship=second_rel, user=world.buyer_user, product_id=tape.pk,
                         quantity=2)
    html = world.buyer_client.get(reverse("hub:cart")).content.decode()
    assert "Submit all" in html and "TAPE-1" in html and "PAP-1" in html
    for _click in range(2):  # a double click
        response = world.buyer_client.post(reverse("hub:cart_checkout_all"), {"token": "all"})
        assert response.status_code == 302
    assert sorted(Order.objects.values_list("supplier__slug", flat=True)) == sorted(
        [world.supplier.slug, "second-supplier"])
    order = Order.objects.get(supplier=second)
    response = world.buyer_client.post(reverse("hub:order_reorder", args=[order.pk]))
    assert response.status_code == 302
    cart = orders.cart_for(relationship=second_rel, user=world.buyer_user)
    assert list(cart.lines.values_list("quantity", flat=True)) == [2]
    # The supplier side cannot "reorder" a buyer's order.
    assert world.owner_client.post(reverse("hub:order_reorder", args=[order.pk])
                                   ).status_code in (403, 404)
