"""Forecasts in a real browser: a seller adds a target on the targets page, sees its
attainment on the pipeline forecast, and reads the revenue forecast with its chart drawn
(Chart.js under the CSP, no inline script) and the backtest verdict."""

import datetime

import pytest
from django.urls import reverse

from tests.browser.test_shell_browser import csp_problems, sign_in
from tests.forecast_world import History, add_months, make_opportunity, seasonal_value

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_target_attainment_and_revenue_forecast(page, live_server, org, owner, member,
                                                console_messages):
    from django.utils import timezone

    today = timezone.localdate()
    quarter_start = datetime.date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
    make_opportunity(org, owner, amount=250000, close_date=quarter_start, stage="Won",
                     status="won", owner=member)
    first = add_months(today.replace(day=1), -36)
    History(org, owner).monthly(first, [seasonal_value(i) for i in range(36)])

    sign_in(page, live_server, "member")
    page.goto(live_server.url + reverse("sales:forecast_targets"))
    form = page.locator("#target-new")
    form.locator("select[name=user]").select_option(label="member")
    form.locator("input[name=amount]").fill("1000000")
    form.get_by_role("button", name="Add target").click()
    page.wait_for_url(live_server.url + reverse("sales:forecast_targets"))
    assert "25.0%" in page.locator("#attainment-table").inner_text()

    page.goto(live_server.url + reverse("sales:forecast"))
    assert "25.0%" in page.locator("#forecast-attainment").inner_text()
    page.locator("canvas[data-chart='forecast-chart'][data-chart-ready='1']").wait_for()

    page.get_by_role("link", name="Revenue forecast").first.click()
    page.locator("canvas[data-chart='statistical-chart'][data-chart-ready='1']").wait_for()
    assert "beats the seasonal-naive forecast" in page.locator("#forecast-verdict").inner_text()
    assert page.locator("#forecast-rows tbody tr").count() == 6
    assert not csp_problems(console_messages), console_messages
