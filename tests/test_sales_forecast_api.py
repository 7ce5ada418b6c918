"""Forecast API over HTTP: pipeline figures on known deals, bad parameters 422, targets CRUD
(foreign seller 404, duplicate 409, stale version 409, nothing written on bad input), the
revenue forecast with its backtest, demand per product; outsiders see nothing."""

import datetime

import pytest
from django.core.cache import cache

from jalin.api.testing import ApiClient, bearer_token_for
from jalin.sales.models import SalesTarget, SalesTeam
from jalin.tenancy.models import Membership
from tests.forecast_world import History, make_opportunity, seasonal_value

TODAY = datetime.date(2026, 11, 15)


def api_for(user, organization):
    membership = Membership.objects.get(user=user, organization=organization)
    return ApiClient(token=bearer_token_for(membership))


@pytest.fixture
def apis(org, owner, member, outsider, other_org):
    cache.clear()
    return api_for(owner, org), api_for(member, org), api_for(outsider, other_org)


def test_pipeline_forecast(apis, org, owner, member):
    owner_api, member_api, outsider_api = apis
    team = SalesTeam.objects.create(organization=org, name="Bandung")
    make_opportunity(org, owner, amount=1000, close_date=datetime.date(2026, 10, 10),
                     stage="Negotiation", owner=owner)
    make_opportunity(org, owner, amount=2000, close_date=datetime.date(2026, 11, 5),
                     stage="Proposal", probability=40, owner=member, team=team)
    make_opportunity(org, owner, amount=500, close_date=datetime.date(2026, 10, 3),
                     stage="Won", status="won", owner=owner)
    response = member_api.get("/sales/forecast/pipeline", data={"start": "2026-10-01",
                                                                "count": 2})
    assert response.status_code == 200, response.content
    data = response.json()
    assert [p["label"] for p in data["periods"]] == ["Q4 2026", "Q1 2027"]
    q4 = data["totals"][0]
    assert (q4["closed_won"], q4["committed"], q4["best_case_total"], q4["weighted"]) == (
        "500.00", "1500.00", "3500.00", "1550.00")
    by_team = owner_api.get("/sales/forecast/pipeline", data={
        "start": "2026-10-01", "count": 1, "by": "team", "period": "month"}).json()
    assert by_team["periods"][0]["label"] == "Oct 2026"
    assert {row["label"]: row["total"]["committed"] for row in by_team["rows"]} == {
        "No team": "1500.00"}
    for params in ({"period": "week"}, {"by": "colour"}, {"count": 0}, {"start": "nope"}):
        assert owner_api.get("/sales/forecast/pipeline", data=params).status_code == 422
    theirs = outsider_api.get("/sales/forecast/pipeline", data={"start": "2026-10-01"}).json()
    assert theirs["grand_total"]["committed"] == "0.00"


def test_targets_crud(apis, org, owner, member, outsider):
    owner_api, member_api, outsider_api = apis
    make_opportunity(org, owner, amount=250, close_date=datetime.date(2026, 10, 3),
                     stage="Won", status="won", owner=member)
    body = {"user_id": member.pk, "period_start": "2026-10-01", "period_end": "2026-12-31",
            "amount": "1000"}
    for bad, status in (({**body, "user_id": outsider.pk}, 404),
                        ({**body, "period_end": "2026-09-01"}, 422),
                        ({**body, "amount": "-1"}, 422),
                        ({**body, "colour": "red"}, 422)):
        response = owner_api.post("/sales/targets", bad)
        assert response.status_code == status, (bad, response.content)
    assert not SalesTarget.objects.exists()
    created = owner_api.post("/sales/targets", body, headers={"Idempotency-Key": "t-1"})
    assert created.status_code == 201, created.content
    target = created.json()
    assert (target["won"], target["attainment_percent"], target["version"]) == (
        "250.00", "25.0", 1)
    assert owner_api.post("/sales/targets", body).status_code == 409
    assert owner_api.post("/sales/targets", body,
                          headers={"Idempotency-Key": "t-1"}).status_code == 201
    assert SalesTarget.objects.count() == 1
    url = f"/sales/targets/{target['id']}"
    assert outsider_api.get(url).status_code == 404
    assert outsider_api.patch(url, {"version": 1, "amount": "1"}).status_code == 404
    assert outsider_api.delete(url).status_code == 404
    assert outsider_api.get("/sales/targets").json() == []
    changed = member_api.patch(url, {"version": 1, "amount": "500"})
    assert changed.status_code == 200 and changed.json()["attainment_percent"] == "50.0"
    assert member_api.patch(url, {"version": 1, "amount": "9"}).status_code == 409
    listed = member_api.get("/sales/targets", data={"from": "2026-11-01",
                                                   "to": "2026-11-30"}).json()
    assert [t["id"] for t in listed] == [target["id"]]
    assert member_api.get("/sales/targets", data={"from": "2027-01-01"}).json() == []
    assert owner_api.delete(url + "?version=1").status_code == 409
    assert owner_api.delete(url + "?version=2").status_code == 204
    assert not SalesTarget.objects.exists()


def test_revenue_and_demand(apis, org, owner, time_machine):
    time_machine.move_to(datetime.datetime(2026, 11, 15, 3, tzinfo=datetime.UTC), tick=False)
    owner_api, _member_api, outsider_api = apis
    history = History(org, owner, products=1)
    product = history.products[0]
    history.monthly(datetime.date(2023, 11, 1), [seasonal_value(i) for i in range(36)],
                    product=product)
    data = owner_api.get("/sales/forecast/revenue", data={"horizon": 3}).json()
    assert data["currency"] == "IDR" and data["method"] == "ets_seasonal"
    assert len(data["history"]) == 36 and data["history"][0]["month"] == "2023-11-01"
    assert [point["month"] for point in data["forecast"]] == [
        "2026-11-01", "2026-12-01", "2027-01-01"]
    assert all(p["lower"] <= p["mean"] <= p["upper"] for p in data["forecast"])
    assert data["accuracy"]["beats_naive"] and data["accuracy"]["mase"] < 1
    assert data["accuracy"]["verdict"].startswith("The forecast beats")
    assert owner_api.get("/sales/forecast/revenue", data={"horizon": 0}).status_code == 422

    demand = owner_api.get("/sales/forecast/demand").json()
    assert [row["sku"] for row in demand] == ["HIST-0"]
    assert demand[0]["units_last_12_months"] == sum(int(seasonal_value(i))
                                                    for i in range(24, 36))
    one = owner_api.get(f"/sales/forecast/demand/{product.pk}").json()
    assert one["product_id"] == product.pk and len(one["forecast"]) == 6
    assert outsider_api.get(f"/sales/forecast/demand/{product.pk}").status_code == 404
    assert outsider_api.get("/sales/forecast/demand").json() == []
    little = outsider_api.get("/sales/forecast/revenue").json()
    assert little["forecast"] == [] and "at least 6 months" in little["message"]
