"""Forecast pages for the three personas: the pipeline forecast (figures, grouping, bad input
400, CSV, a fixed number of queries), targets (create, stale edit 409, delete, bad input
400 with nothing written), the revenue forecast on a known seasonal series (verdict shown) and
with too little history (a message, not an error), the demand table, CSV and product page."""

import csv
import datetime
import io

import pytest
import time_machine
from django.core.cache import cache
from django.urls import reverse

from jalin.sales.models import SalesTarget
from tests.forecast_world import History, make_opportunity, seasonal_value

NOW = datetime.datetime(2026, 11, 15, 3, 0, tzinfo=datetime.UTC)
FIRST = datetime.date(2023, 11, 1)


@pytest.fixture(autouse=True)
def _frozen_clock_and_clear_cache():
    cache.clear()
    with time_machine.travel(NOW, tick=False):
        yield
    cache.clear()


def _csv(response):
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def test_pages_three_personas(org, owner, owner_client, member_client, outsider_client):
    history = History(org, owner)
    product = history.products[0]
    history.order(datetime.date(2026, 10, 5), net=100, lines=[(product, 3)])
    for name, args in (("sales:forecast", []), ("sales:forecast_targets", []),
                       ("sales:forecast_revenue", []), ("sales:forecast_demand", []),
                       ("sales:forecast_demand_product", [product.pk]),
                       ("sales:forecast_export", []), ("sales:forecast_demand_export", [])):
        url = reverse(name, args=args)
        assert owner_client.get(url).status_code == 200, url
        assert member_client.get(url).status_code == 200, url
    url = reverse("sales:forecast_demand_product", args=[product.pk])
    assert outsider_client.get(url).status_code == 404
    assert b"HIST-0" not in outsider_client.get(reverse("sales:forecast_demand")).content
    assert owner_client.get(reverse("sales:forecast_demand_product",
                                    args=[2**70])).status_code == 404


def test_pipeline_page_figures_csv_and_queries(org, owner, member, owner_client,
                                               django_assert_max_num_queries):
    make_opportunity(org, owner, amount=1000, close_date=datetime.date(2026, 11, 10),
                     stage="Negotiation", owner=owner)
    make_opportunity(org, owner, amount=2000, close_date=datetime.date(2026, 12, 1),
                     stage="Proposal", owner=member)
    response = owner_client.get(reverse("sales:forecast"), {"period": "quarter", "count": 2})
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="total-committed"' in body and "1,000" in body
    result = response.context["result"]
    assert result.totals[0].committed == 1000 and result.totals[0].best_case_total == 3000
    assert result.totals[0].weighted == 1750
    with django_assert_max_num_queries(12) as captured:
        owner_client.get(reverse("sales:forecast"), {"by": "owner"})
    few = len(captured)
    account = make_opportunity(org, owner, amount=1, close_date=datetime.date(2026, 11, 1),
                               owner=owner).account
    for index in range(30):
        make_opportunity(org, owner, amount=10 + index, account=account,
                         close_date=datetime.date(2026, 10 + index % 3, 2),
                         stage="Proposal", owner=(owner, member)[index % 2])
    with django_assert_max_num_queries(few):
        owner_client.get(reverse("sales:forecast"), {"by": "owner"})

    rows = _csv(owner_client.get(reverse("sales:forecast_export"),
                                 {"period": "month", "count": 3, "by": "owner"}))
    assert rows[0][:4] == ["group", "period", "period_start", "currency"]
    assert {row[0] for row in rows[1:]} == {"owner", "member"}
    assert len(rows) == 1 + 2 * 3
    months = _csv(owner_client.get(reverse("sales:forecast_export"), {"period": "month"}))
    assert [row[2] for row in months[1:]][:2] == ["2026-11-01", "2026-12-01"]

    for params in ({"period": "week"}, {"by": "colour"}, {"count": "0"}, {"count": "x"},
                   {"start": "2026-13"}, {"owner": "abc"}):
        response = owner_client.get(reverse("sales:forecast"), params)
        assert response.status_code == 400, params
        assert 'id="forecast-error"' in response.content.decode()
        assert owner_client.get(reverse("sales:forecast_export"), params).status_code == 400


def test_targets_page(org, owner, member, owner_client, member_client, outsider_client):
    make_opportunity(org, owner, amount=400, close_date=datetime.date(2026, 11, 2),
                     stage="Won", status="won", owner=member)
    url = reverse("sales:forecast_targets")
    bad = owner_client.post(url, {"user": member.pk, "period_start": "2026-10-01",
                                  "period_end": "2026-09-01", "amount": "1000"})
    assert bad.status_code == 400 and 'id="period_end-error"' in bad.content.decode()
    assert not SalesTarget.objects.exists()
    foreign = owner_client.post(url, {"user": "999999", "period_start": "2026-10-01",
                                      "period_end": "2026-12-31", "amount": "1000"})
    assert foreign.status_code == 400 and not SalesTarget.objects.exists()
    response = owner_client.post(url, {"user": member.pk, "period_start": "2026-10-01",
                                       "period_end": "2026-12-31", "amount": "1000"})
    assert response.status_code == 302
    target = SalesTarget.objects.get()
    page = member_client.get(url)
    assert page.context["attainments"][0].percent == 40
    assert "40.0%" in page.content.decode()
    forecast = member_client.get(reverse("sales:forecast"))
    assert [a.target for a in forecast.context["attainments"]] == [target]
    stale = owner_client.post(url, {"target": target.pk, "version": 7, "user": member.pk,
                                    "period_start": "2026-10-01", "period_end": "2026-12-31",
                                    "amount": "5"})
    assert stale.status_code == 409
    saved = owner_client.post(url, {"target": target.pk, "version": 1, "user": member.pk,
                                    "period_start": "2026-10-01", "period_end": "2026-12-31",
                                    "amount": "800"})
    assert saved.status_code == 302
    target.refresh_from_db()
    assert (target.amount, target.version) == (800, 2)
    assert outsider_client.post(url, {"target": target.pk, "version": 2,
                                      "delete": "1"}).status_code == 404
    assert outsider_client.get(url).context["attainments"] == []
    deleted = owner_client.post(url, {"target": target.pk, "version": 2, "delete": "1"})
    assert deleted.status_code == 302 and not SalesTarget.objects.exists()


def test_revenue_page_on_a_seasonal_series(org, owner, owner_client):
    History(org, owner).monthly(FIRST, [seasonal_value(i) for i in range(36)])
    response = owner_client.get(reverse("sales:forecast_revenue"), {"horizon": 4})
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="forecast-verdict"' in body and "beats the seasonal-naive forecast" in body
    assert 'data-chart="statistical-chart"' in body
    assert len(response.context["rows"]) == 4
    assert response.context["rows"][0][0] == datetime.date(2026, 11, 1)
    assert owner_client.get(reverse("sales:forecast_revenue"),
                            {"horizon": "99"}).status_code == 400


def test_little_history_is_a_message(org, owner, owner_client):
    History(org, owner).monthly(datetime.date(2026, 9, 1), [100, 200])
    response = owner_client.get(reverse("sales:forecast_revenue"))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="forecast-message"' in body and "at least 6 months" in body
    assert 'data-chart="statistical-chart"' not in body


def test_demand_table_csv_and_product(org, owner, owner_client):
    history = History(org, owner, products=2)
    big, small = history.products
    history.monthly(FIRST, [int(seasonal_value(i, base=200, trend=2, amplitude=50))
                            for i in range(36)], product=big)
    history.order(datetime.date(2026, 10, 3), net=5, lines=[(small, 5)])
    response = owner_client.get(reverse("sales:forecast_demand"))
    assert response.status_code == 200
    assert [item.product for item in response.context["overview"]] == [big, small]
    body = response.content.decode()
    assert reverse("sales:forecast_demand_product", args=[big.pk]) in body
    assert "at least 6 months" in body           # the small product's message
    rows = _csv(owner_client.get(reverse("sales:forecast_demand_export"), {"horizon": 2}))
    assert rows[0][0] == "sku" and [row[0] for row in rows[1:]] == ["HIST-0", "HIST-0"]
    assert [row[4] for row in rows[1:]] == ["2026-11", "2026-12"]
    page = owner_client.get(reverse("sales:forecast_demand_product", args=[big.pk]))
    assert page.status_code == 200 and page.context["result"].accuracy.beats_naive
