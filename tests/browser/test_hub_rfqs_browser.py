"""A quote in a real browser: the buyer requests a quote from the shop, the supplier's sales
person overrides a prefilled price and sends the quote, the buyer double-clicks "Accept and
order" and gets one order at the quoted price."""

import re

import pytest
from django.urls import reverse

from jalin.hub import stock
from jalin.hub.models import Order, Quote, Rfq
from jalin.hub.testing import link_buyer, make_price_list, make_product, set_price
from jalin.tenancy.models import Membership
from jalin.tenancy.roles import Role
from tests.browser.test_hub_orders_browser import new_page
from tests.browser.test_shell_browser import csp_problems, sign_in
from tests.conftest import make_org, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_request_quote_accept_in_the_browser(browser, page, live_server, org, owner,
                                             console_messages):
    base = make_price_list(org, owner, "Base", is_base=True)
    paper = make_product(org, owner, "PAP-1", "Copy paper A4")
    set_price(base, paper, "60000", owner)
    warehouse = stock.warehouse_create(supplier=org, actor=owner, code="W1", name="Main")
    stock.stock_adjust(warehouse=warehouse, product=paper, delta=500, reason="count",
                       actor=owner)
    buyer = make_org("buyer-co", is_supplier=False, is_buyer=True)
    link_buyer(org, buyer, owner)
    Membership.objects.create(user=make_user("shopper"), organization=buyer, role=Role.BUYER)
    Membership.objects.create(user=make_user("seller"), organization=org, role=Role.SALES)

    sign_in(page, live_server, "shopper")
    page.goto(live_server.url + reverse("hub:shop_catalog", args=[org.pk]))
    page.locator("#shop-table tbody tr", has_text="PAP-1").get_by_role(
        "link", name="Request a quote").click()
    page.get_by_label("Title").fill("Paper for the new office")
    page.get_by_label("Quantity, row 1").fill("200")
    page.get_by_role("button", name="Send request").click()
    page.wait_for_url(re.compile(r"/hub/rfqs/\d+/$"))
    rfq = Rfq.objects.get()
    assert page.locator("#rfq-status").get_attribute("data-status") == "submitted"

    seller = new_page(browser, console_messages)
    sign_in(seller, live_server, "seller")
    seller.goto(live_server.url + reverse("hub:rfqs") + "?side=supplier")
    seller.get_by_role("link", name=f"RFQ-{rfq.number}").click()
    seller.locator("#write-quote").click()
    price = seller.locator("input.unit-price-input")
    assert price.input_value() == "60000.0000"  # the buyer's current price
    price.fill("55000")
    seller.get_by_role("button", name="Send quote").click()
    seller.wait_for_url(re.compile(r"/hub/rfqs/\d+/$"))
    assert Quote.objects.get().status == "sent"

    page.reload()
    assert "55,000" in page.locator("#current-quote .unit-price").inner_text()
    page.locator("button.accept-quote").dblclick()
    page.wait_for_url(re.compile(r"/hub/orders/\d+/$"))
    assert Order.objects.count() == 1
    line = Order.objects.get().lines.get()
    assert (line.quantity, str(line.unit_price)) == (200, "55000.0000")
    assert csp_problems(console_messages) == []
