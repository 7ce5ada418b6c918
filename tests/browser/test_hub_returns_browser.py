"""Returns in a real browser: the buyer requests a return from its delivered order's page
(double-clicking submit makes one request); the supplier approves it and receives the goods
back into stock; the buyer sees the status."""

import re

import pytest
from django.urls import reverse

from jalin.hub import stock
from jalin.hub.models import ReturnRequest, StockLevel
from jalin.hub.testing import (
    link_buyer,
    make_delivered_order,
    make_price_list,
    make_product,
    set_price,
)
from jalin.tenancy.models import Membership
from jalin.tenancy.roles import Role
from tests.browser.test_hub_orders_browser import new_page
from tests.browser.test_shell_browser import csp_problems, sign_in
from tests.conftest import make_org, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_buyer_requests_supplier_approves_and_receives(browser, page, live_server, org, owner,
                                                      console_messages):
    base = make_price_list(org, owner, "Base", is_base=True)
    paper = make_product(org, owner, "PAP-1", "Copy paper A4")
    set_price(base, paper, "60000", owner)
    warehouse = stock.warehouse_create(supplier=org, actor=owner, code="W1", name="Main")
    stock.stock_adjust(warehouse=warehouse, product=paper, delta=20, reason="count",
                       actor=owner)
    buyer = make_org("buyer-co", is_supplier=False, is_buyer=True)
    relationship = link_buyer(org, buyer, owner)
    Membership.objects.create(user=make_user("shopper"), organization=buyer, role=Role.BUYER)
    order = make_delivered_order(
        relationship=relationship, actor=owner, lines=[(paper.pk, 5)],
        supplier_membership=Membership.objects.get(user=owner, organization=org))

    # The buyer asks to return 2 damaged reams.
    sign_in(page, live_server, "shopper")
    page.goto(live_server.url + reverse("hub:order_detail", args=[order.pk]))
    page.get_by_role("button", name="Request a return").click()
    page.wait_for_url(re.compile(r"/return/$"))
    page.get_by_label("Quantity PAP-1").fill("2")
    page.get_by_label("Reason PAP-1").select_option("damaged")
    page.get_by_label("Note for the supplier (optional)").fill("Boxes were wet")
    page.get_by_role("button", name="Request return").dblclick()
    page.wait_for_url(re.compile(r"/hub/returns/\d+/$"))
    page.locator("#return-status[data-status=requested]").wait_for()
    assert ReturnRequest.objects.count() == 1

    # The supplier approves and receives them back into stock.
    supplier = new_page(browser, console_messages)
    sign_in(supplier, live_server, "owner")
    supplier.goto(live_server.url + reverse("hub:returns") + "?side=supplier")
    supplier.get_by_role("link", name="RMA-1").click()
    supplier.get_by_role("button", name="Approve").click()
    supplier.locator("#return-status[data-status=approved]").wait_for()
    supplier.locator("#receive-form").get_by_role("button", name="Receive goods").click()
    supplier.locator("#return-status[data-status=received]").wait_for()
    assert StockLevel.objects.get(warehouse=warehouse, product=paper).on_hand == 17

    page.reload()
    assert page.locator("#return-status").get_attribute("data-status") == "received"
    assert "Received" in page.locator("#status-history").inner_text()
    assert csp_problems(console_messages) == []
