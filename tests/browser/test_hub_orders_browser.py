"""Ordering in a real browser: a buyer adds products from the shop at its own prices and
double-clicks "Submit order" (one order); its approver approves; the supplier confirms and
ships part of it; the buyer sees the shipment."""

import re

import pytest
from django.urls import reverse

from jalin.hub import stock
from jalin.hub.models import BuyerSettings, Order, OrderStatus
from jalin.hub.testing import link_buyer, make_price_list, make_product, set_price
from jalin.tenancy.models import Membership
from jalin.tenancy.roles import Role
from tests.browser.test_shell_browser import csp_problems, sign_in
from tests.conftest import make_org, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def new_page(browser, messages):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.on("console", lambda message: messages.append(f"{message.type}: {message.text}"))
    return page


def test_buyer_orders_approver_approves_supplier_ships(browser, page, live_server, org, owner,
                                                      console_messages):
    base = make_price_list(org, owner, "Base", is_base=True)
    special = make_price_list(org, owner, "Special")
    paper = make_product(org, owner, "PAP-1", "Copy paper A4")
    set_price(base, paper, "60000", owner)
    set_price(special, paper, "50000", owner)
    warehouse = stock.warehouse_create(supplier=org, actor=owner, code="W1", name="Main")
    stock.stock_adjust(warehouse=warehouse, product=paper, delta=20, reason="count",
                       actor=owner)
    buyer = make_org("buyer-co", is_supplier=False, is_buyer=True)
    link_buyer(org, buyer, owner, price_list=special)
    BuyerSettings.objects.create(buyer=buyer, approval_threshold=100000, currency="IDR")
    Membership.objects.create(user=make_user("shopper"), organization=buyer, role=Role.BUYER)
    Membership.objects.create(user=make_user("approver"), organization=buyer,
                              role=Role.BUYER_APPROVER)

    # The buyer sees its own price and adds 3 reams to the cart.
    sign_in(page, live_server, "shopper")
    page.goto(live_server.url + reverse("hub:shop_catalog", args=[org.pk]))
    row = page.locator("#shop-table tbody tr", has_text="PAP-1")
    assert "50,000" in row.locator(".price").inner_text()
    assert "In stock" in row.locator(".availability").inner_text()
    row.locator("input[name=quantity]").fill("3")
    row.get_by_role("button", name="Add to cart").click()
    page.wait_for_url(re.compile(r"/hub/shop/\d+/$"))
    page.goto(live_server.url + reverse("hub:cart"))
    page.locator("button.submit-order").dblclick()
    page.wait_for_url(re.compile(r"/hub/orders/\d+/$"))
    assert Order.objects.count() == 1
    order = Order.objects.get()
    assert order.status == OrderStatus.AWAITING_APPROVAL  # 166,500 > 100,000
    assert page.locator("#order-status").get_attribute("data-status") == "awaiting_approval"

    # The approver approves.
    approver = new_page(browser, console_messages)
    sign_in(approver, live_server, "approver")
    approver.goto(live_server.url + reverse("hub:order_detail", args=[order.pk]))
    approver.get_by_role("button", name="Approve").click()
    approver.locator("#order-status[data-status=submitted]").wait_for()

    # The supplier confirms and ships 1 of 3.
    supplier = new_page(browser, console_messages)
    sign_in(supplier, live_server, "owner")
    supplier.goto(live_server.url + reverse("hub:orders") + "?side=supplier")
    supplier.get_by_role("link", name=f"#{order.number}").click()
    supplier.get_by_role("button", name="Confirm").click()
    supplier.locator("#order-status[data-status=confirmed]").wait_for()
    ship = supplier.locator("#ship-form")
    ship.locator("input[type=number]").fill("1")
    ship.get_by_label("Tracking number").fill("JNE-777")
    ship.get_by_role("button", name="Record shipment").click()
    supplier.locator("#order-status[data-status=partially_shipped]").wait_for()

    # The buyer sees the shipment.
    page.reload()
    assert page.locator("#order-status").get_attribute("data-status") == "partially_shipped"
    shipments = page.locator("#shipments").inner_text()
    assert "JNE-777" in shipments and "PAP-1 × 1" in shipments
    assert csp_problems(console_messages) == []
