"""The sales journey of issue 6 in a real browser: a visitor fills the web form; staff convert
the lead onto the CRM account linked to the hub buyer; the deal moves a stage; the seller makes
a quote from it and sends it; the buyer accepts it in the portal; the hub order exists and,
after the event dispatcher runs, the quote is accepted and the deal won.

The deal is dragged across the board to its next stage, as a seller would."""

import re

import pytest
from django.urls import reverse

from jalin.core.events import events_process
from jalin.hub.models import Order
from jalin.sales import webforms
from jalin.sales.models import Lead, Opportunity, OpportunityStageChange, SalesQuote
from tests.browser.test_hub_orders_browser import new_page
from tests.browser.test_shell_browser import csp_problems, sign_in
from tests.sales_quote_world import build_sales_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _next_stage(opportunity):
    return (type(opportunity.stage).objects.filter(pipeline=opportunity.pipeline,
                                                   kind="open",
                                                   position__gt=opportunity.stage.position)
            .order_by("position").first())


def test_web_form_to_hub_order_and_won_deal(browser, page, live_server, org, owner,
                                            console_messages, monkeypatch):
    monkeypatch.setattr(webforms, "MIN_FILL_SECONDS", 0)
    w = build_sales_world(org, owner)
    form = webforms.webform_save(organization=org, actor=owner, name="Contact us",
                                 fields=["first_name", "last_name", "company", "email"])

    # 1. A visitor of buyer A fills the public web form.
    page.goto(live_server.url + reverse("sales:web_form_public", args=[form.key]))
    page.locator("#lead-web-form input[name=first_name]").fill("Lina")
    page.locator("#lead-web-form input[name=last_name]").fill("Marlina")
    page.locator("#lead-web-form input[name=company]").fill("Buyer A (hub)")
    page.locator("#lead-web-form input[name=email]").fill("lina@buyer-a.example")
    page.locator("#lead-web-form button[type=submit]").click()
    page.locator("#thank-you").wait_for()
    lead = Lead.objects.get()

    # 2. The seller converts it onto the account that is linked to the hub buyer.
    seller = new_page(browser, console_messages)
    sign_in(seller, live_server, "s-sales")
    seller.goto(live_server.url + reverse("sales:lead_detail", args=[lead.pk]))
    seller.locator(f"#convert-form input[name=account][value='{w.hub_account.pk}']").check()
    seller.locator("#convert-form input[name=opportunity_name]").fill("Paper from the web")
    seller.locator("#convert-button").click()
    seller.wait_for_url(re.compile(r"/(sales/opportunities|crm/accounts)/\d+/$"))
    lead.refresh_from_db()
    deal = lead.converted_opportunity
    assert deal.account_id == w.hub_account.pk

    # 3. The seller drags the deal on the board to the next stage.
    target = _next_stage(deal)
    seller.goto(live_server.url + reverse("sales:board"))
    card = seller.locator(f"#card-{deal.pk}")
    card.drag_to(seller.locator(f".board-column[data-stage='{target.pk}'] .board-cards"))
    seller.locator(f".board-column[data-stage='{target.pk}'] #card-{deal.pk}").wait_for()
    seller.wait_for_function(
        "id => document.querySelector(`.board-column[data-stage=\"${id}\"] [data-count]`)"
        ".textContent.trim() === '1'", arg=target.pk)
    deal = Opportunity.objects.get(pk=deal.pk)
    assert deal.stage_id == target.pk
    move = OpportunityStageChange.objects.get(opportunity=deal, to_stage=target)
    assert move.changed_by.username == "s-sales"

    # 4. A quote from the deal, one catalog line typed in, priced for the customer; sent.
    seller.goto(live_server.url + reverse("sales:opportunity_detail", args=[deal.pk]))
    seller.locator("#opportunity-new-quote").click()
    seller.wait_for_url(re.compile(r"/sales/opportunities/\d+/quotes/new/$"))
    seller.locator("input[name=sku]").first.fill("PAP-1")
    seller.locator("input[name=quantity]").first.fill("5")
    seller.locator("#quote-save").click()
    seller.wait_for_url(re.compile(r"/sales/quotes/\d+/$"))
    assert "8,000" in seller.locator("#quote-lines").inner_text()
    seller.locator("#quote-send").click()
    seller.locator("#quote-hub").wait_for()
    quote = SalesQuote.objects.get()

    # 5. The buyer accepts it in the portal: a hub order.
    buyer = new_page(browser, console_messages)
    sign_in(buyer, live_server, "a-buyer")
    buyer.goto(live_server.url + reverse("hub:rfq_detail", args=[quote.hub_quote.rfq_id]))
    assert buyer.locator("#rfq-supplier-initiated").is_visible()
    buyer.locator("button.accept-quote").click()
    buyer.wait_for_url(re.compile(r"/hub/orders/\d+/$"))
    order = Order.objects.get()

    # 6. Sales learns it from the hub's events: quote accepted, deal won with the order.
    events_process()
    seller.goto(live_server.url + reverse("sales:quote_detail", args=[quote.pk]))
    assert seller.locator("#quote-status").get_attribute("data-status") == "accepted"
    seller.locator("#quote-won").wait_for()
    deal = Opportunity.objects.get(pk=deal.pk)
    assert (deal.status, deal.hub_order_id) == ("won", order.pk)
    assert csp_problems(console_messages) == []
