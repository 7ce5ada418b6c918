"""A sales quote in a real browser: the seller makes a quote from an opportunity (prefilled with
the deal's products, priced with the customer's hub prices), sends it into the buyer's portal;
the buyer accepts it there; the hub order exists; after the event dispatcher runs, the quote is
accepted with that order and the opportunity is won."""

import re

import pytest
from django.urls import NoReverseMatch, reverse

from jalin.core.events import events_process
from jalin.hub.models import Order
from jalin.sales.models import Opportunity, SalesQuote
from tests.browser.test_hub_orders_browser import new_page
from tests.browser.test_shell_browser import csp_problems, sign_in
from tests.sales_quote_world import build_sales_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def opportunity_page(opportunity):
    try:
        return reverse("sales:opportunity_detail", args=[opportunity.pk])
    except NoReverseMatch:  # the pipeline pages are not merged into this branch
        return None


def test_quote_from_opportunity_accepted_in_the_portal(browser, page, live_server, org, owner,
                                                       console_messages):
    w = build_sales_world(org, owner)
    deal = w.hub_deal

    # The seller makes the quote from the opportunity.
    sign_in(page, live_server, "s-sales")
    url = opportunity_page(deal)
    if url:
        page.goto(live_server.url + url)
        page.locator("#opportunity-new-quote").click()
    else:
        page.goto(live_server.url + reverse("sales:quote_new", args=[deal.pk]))
    page.wait_for_url(re.compile(r"/sales/opportunities/\d+/quotes/new/$"))
    assert page.locator("#quote-hub-customer").is_visible()
    assert page.locator("input[name=sku]").nth(0).input_value() == "PAP-1"
    assert page.locator("input[name=sku]").nth(1).input_value() == "PEN-1"
    page.locator("textarea[name=note]").fill("Harga khusus untuk Anda")
    page.locator("#quote-save").click()
    page.wait_for_url(re.compile(r"/sales/quotes/\d+/$"))
    quote = SalesQuote.objects.get()
    assert page.locator("#quote-status").get_attribute("data-status") == "draft"
    assert "8,000" in page.locator("#quote-lines").inner_text()  # buyer A's own price
    assert "69,400" in page.locator("#quote-total").inner_text()
    page.locator("#quote-send").click()
    page.locator("#quote-hub").wait_for()
    assert page.locator("#quote-status").get_attribute("data-status") == "sent"
    quote.refresh_from_db()
    rfq = quote.hub_quote.rfq

    # The buyer finds it in the portal and accepts it.
    buyer = new_page(browser, console_messages)
    sign_in(buyer, live_server, "a-buyer")
    buyer.goto(live_server.url + reverse("hub:rfqs"))
    buyer.get_by_role("link", name=f"RFQ-{rfq.number}").click()
    buyer.wait_for_url(re.compile(r"/hub/rfqs/\d+/$"))
    assert "8,000" in buyer.locator("#current-quote").inner_text()
    buyer.locator("button.accept-quote").click()
    buyer.wait_for_url(re.compile(r"/hub/orders/\d+/$"))
    order = Order.objects.get()
    assert order.quote_id == quote.hub_quote_id and order.total_gross == quote.total_gross

    # The event dispatcher tells sales; the seller sees the quote accepted and the deal won.
    events_process()
    page.reload()
    assert page.locator("#quote-status").get_attribute("data-status") == "accepted"
    assert f"#{order.number}" in page.locator("#quote-hub-order").inner_text()
    page.locator("#quote-won").wait_for()
    deal = Opportunity.objects.get(pk=deal.pk)
    assert deal.status == "won" and deal.hub_order_id == order.pk
    assert csp_problems(console_messages) == []
