"""The owner in a real browser opens a customer's account page, sees its deals, orders,
cases and portfolio in the related panels, clicks into a deal, comes back, and follows the
deals panel's "View all" link to the deal list filtered to this customer."""

import re

import pytest
from django.urls import reverse

from tests.account_panels_world import build_world
from tests.browser.test_shell_browser import csp_problems, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_account_page_to_a_deal_and_back(page, live_server, org, owner, console_messages):
    world = build_world(org, owner)
    sign_in(page, live_server, "owner")
    account_url = live_server.url + reverse("crm:account_detail", args=[world.account.pk])
    page.goto(account_url)
    deals = page.locator("#panel-deals")
    assert deals.get_by_role("heading", name="Deals").is_visible()
    assert deals.locator("tbody tr").count() == 5
    for key in ("quotes", "hub", "cases", "agreements", "portfolio"):
        assert page.locator(f"#panel-{key}").is_visible(), key
    assert page.locator("#panel-cases tr[data-sla=breached]").count() == 1

    deal = world.deals[0]
    deals.get_by_role("link", name=deal.name, exact=True).click()
    page.wait_for_url(re.compile(rf"/sales/opportunities/{deal.pk}/$"))
    assert page.locator("#opportunity-name").inner_text() == deal.name

    page.go_back()
    page.wait_for_url(account_url)
    assert page.locator("h1").first.inner_text() == "Toko Bangunan"
    assert page.locator("#panel-deals tbody tr").count() == 5

    page.locator("#panel-deals").get_by_role("link", name="View all deals").click()
    page.wait_for_url(re.compile(rf"/sales/opportunities/\?account={world.account.pk}$"))
    assert page.get_by_role("link", name="Ours deal 5", exact=True).is_visible()
    assert csp_problems(console_messages) == []
