"""Experiments in a real browser: a two-variant campaign with a holdout (made with the models;
launching is the campaigns module's) and its results page — statements, comparison, warning,
charts — then the sample-size planner recalculating in place (htmx)."""

import pytest
from django.urls import reverse
from statsmodels.stats.proportion import proportions_ztest

from tests.browser.test_shell_browser import csp_problems, sign_in
from tests.experiments_world import add_recipients, make_campaign

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_two_variant_campaign_results_and_planner(page, live_server, org, owner,
                                                  console_messages):
    campaign, (a, b) = make_campaign(org, name="Semen Gresik promo", holdout_percent=10,
                                     baseline_rate=4, minimum_detectable_effect=1)
    add_recipients(campaign, None, 200, converted=8)
    add_recipients(campaign, a, 900, converted=45, opened=400, clicked=90)
    add_recipients(campaign, b, 880, converted=70, opened=420, clicked=120)

    sign_in(page, live_server, "owner")
    page.goto(live_server.url + reverse("sales:campaign_results", args=[campaign.pk]))
    assert "Semen Gresik promo" in page.locator("#results-title").inner_text()
    statements = page.locator("#statements li")
    assert statements.count() == 2
    _z, p = proportions_ztest([70, 8], [880, 200])
    b_text = statements.nth(1).inner_text()
    assert b_text.startswith("B converts") and f"p = {p:.3f}" in b_text
    assert "Holm" in b_text
    assert page.locator("#peeking-warning").is_visible()
    holdout_row = page.locator("#arms-table tr[data-arm='holdout']")
    assert holdout_row.locator(".recipients").inner_text() == "200"
    assert "control" in holdout_row.inner_text()
    assert page.locator("canvas[data-chart='campaign-metric-chart']").is_visible()

    # The planner: typing values recalculates in place.
    page.get_by_role("link", name="Experiment planner").click()
    page.wait_for_url("**/sales/campaigns/plan/")
    page.locator("#plan-form input[name=baseline_rate]").fill("10")
    page.locator("#plan-form input[name=minimum_detectable_effect]").fill("2")
    page.locator("#plan-form button[type=submit]").click()
    page.locator("#plan-per-group").wait_for()
    assert "3,841" in page.locator("#plan-per-group").inner_text()
    assert "7,682" in page.locator("#plan-total").inner_text()
    assert not csp_problems(console_messages), console_messages
