"""Forecast selectors and target services on known data: committed / best case / pipeline /
weighted per period, owner, team and product; attainment; a fixed number of queries whatever
the number of deals; the statistical revenue and demand forecasts on a known seasonal series
(with backtest against seasonal naive) and the too-little-history message."""

import datetime
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from jalin.core.models import Event
from jalin.hub.models import OrderStatus
from jalin.sales import forecast_selectors as fs
from jalin.sales import targets
from jalin.sales.leads import SalesError
from jalin.sales.models import OpportunityStatus, SalesTarget, SalesTeam
from jalin.tenancy.services import StaleVersion
from tests.forecast_world import History, add_months, make_opportunity, seasonal_value

Q4 = datetime.date(2026, 10, 1)
D = Decimal


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def deals(org, owner, member):
    """The known book of deals (see the module docstring of each test for the figures)."""
    team = SalesTeam.objects.create(organization=org, name="Jakarta")
    team.members.add(member)
    history = History(org, owner, products=1)
    product = history.products[0]
    made = {
        "A": make_opportunity(org, owner, amount=1000, close_date=datetime.date(2026, 10, 10),
                              stage="Negotiation", owner=owner,
                              lines=[(product, 600), (None, 400)]),
        "B": make_opportunity(org, owner, amount=2000, close_date=datetime.date(2026, 11, 5),
                              stage="Proposal", probability=40, owner=member, team=team,
                              lines=[(product, 2000)]),
        "C": make_opportunity(org, owner, amount=4000, close_date=datetime.date(2026, 12, 20),
                              stage="Qualification", owner=member, team=team),
        "D": make_opportunity(org, owner, amount=500, close_date=datetime.date(2026, 10, 3),
                              stage="Won", status=OpportunityStatus.WON, owner=owner),
        "E": make_opportunity(org, owner, amount=300, close_date=datetime.date(2026, 10, 4),
                              stage="Lost", status=OpportunityStatus.LOST, owner=owner),
        "F": make_opportunity(org, owner, amount=700, close_date=datetime.date(2026, 11, 1),
                              stage="Proposal", category="omitted", owner=member),
        "G": make_opportunity(org, owner, amount=900, close_date=datetime.date(2027, 1, 15),
                              stage="Negotiation", owner=owner),
        "H": make_opportunity(org, owner, amount=5000, close_date=datetime.date(2026, 9, 30),
                              stage="Negotiation", owner=owner),
        "I": make_opportunity(org, owner, amount=100, close_date=datetime.date(2026, 10, 20),
                              stage="Negotiation", owner=owner, currency="USD"),
    }
    return {"team": team, "product": product, **made}


def test_quarter_figures(org, deals):
    result = fs.pipeline_forecast(organization=org, kind="quarter", start=Q4, count=2)
    q4, q1 = result.totals
    assert [row.label for row in result.rows] == ["Q4 2026", "Q1 2027"]
    assert (q4.won, q4.commit, q4.committed) == (D("500.00"), D("1000.00"), D("1500.00"))
    assert (q4.best_case, q4.best_case_total) == (D("2000.00"), D("3500.00"))
    assert (q4.pipeline, q4.open_pipeline) == (D("4000.00"), D("7000.00"))
    # 1000 × 75% (stage) + 2000 × 40% (the deal's own) + 4000 × 10% (stage)
    assert q4.weighted == D("1950.00")
    assert (q4.open_count, q4.won_count) == (3, 1)
    assert (q1.commit, q1.committed, q1.weighted, q1.won) == (D("900.00"), D("900.00"),
                                                               D("675.00"), D("0.00"))
    assert result.grand_total.committed == D("2400.00")


def test_month_owner_team_product(org, owner, member, deals):
    months = fs.pipeline_forecast(organization=org, kind="month", start=Q4, count=3)
    assert [(f.won, f.commit, f.best_case, f.pipeline, f.weighted) for f in months.totals] == [
        (D("500.00"), D("1000.00"), D("0.00"), D("0.00"), D("750.00")),
        (D("0.00"), D("0.00"), D("2000.00"), D("0.00"), D("800.00")),
        (D("0.00"), D("0.00"), D("0.00"), D("4000.00"), D("400.00"))]

    by_owner = fs.pipeline_forecast(organization=org, kind="quarter", start=Q4, count=2,
                                    by="owner")
    rows = {row.key: row for row in by_owner.rows}
    assert set(rows) == {owner.pk, member.pk}
    assert (rows[owner.pk].total.won, rows[owner.pk].total.commit) == (D("500.00"),
                                                                      D("1900.00"))
    assert rows[owner.pk].cells[1].commit == D("900.00")
    assert (rows[member.pk].total.best_case, rows[member.pk].total.pipeline,
            rows[member.pk].total.weighted) == (D("2000.00"), D("4000.00"), D("1200.00"))
    assert rows[member.pk].label == "member"

    by_team = fs.pipeline_forecast(organization=org, kind="quarter", start=Q4, count=1,
                                   by="team")
    teams = {row.key: row for row in by_team.rows}
    assert teams[deals["team"].pk].label == "Jakarta"
    assert teams[deals["team"].pk].total.open_pipeline == D("6000.00")
    assert teams[None].label == "No team" and teams[None].total.committed == D("1500.00")

    by_product = fs.pipeline_forecast(organization=org, kind="quarter", start=Q4, count=1,
                                      by="product")
    products = {row.key: row.total for row in by_product.rows}
    product = deals["product"]
    assert (products[product.pk].commit, products[product.pk].best_case,
            products[product.pk].weighted) == (D("600.00"), D("2000.00"), D("1250.00"))
    assert (products[None].commit, products[None].weighted) == (D("400.00"), D("300.00"))
    assert by_product.rows[0].label.startswith("HIST-0")

    mine = fs.pipeline_forecast(organization=org, kind="quarter", start=Q4, count=1,
                                owner_id=member.pk)
    assert mine.totals[0].committed == D("0.00") and mine.totals[0].best_case == D("2000.00")
    usd = fs.pipeline_forecast(organization=org, kind="quarter", start=Q4, count=1,
                               currency="USD")
    assert usd.totals[0].commit == D("100.00")


def test_other_organization_never_counts(org, other_org, outsider, deals):
    make_opportunity(other_org, outsider, amount=99999, close_date=datetime.date(2026, 10, 9),
                     stage="Negotiation")
    assert fs.pipeline_forecast(organization=org, start=Q4, count=1).totals[0].commit == \
        D("1000.00")
    assert fs.pipeline_forecast(organization=other_org, start=Q4,
                                count=1).totals[0].commit == D("99999.00")


def test_bad_parameters_are_refused(org):
    for kwargs in ({"kind": "week"}, {"by": "colour"}, {"count": 0}, {"count": 99}):
        with pytest.raises(ValueError):
            fs.pipeline_forecast(organization=org, **kwargs)


def test_query_count_does_not_grow_with_deals(org, owner, member):
    def queries(by):
        with CaptureQueriesContext(connection) as captured:
            fs.pipeline_forecast(organization=org, start=Q4, count=4, by=by)
        return len(captured)

    make_opportunity(org, owner, amount=10, close_date=datetime.date(2026, 10, 2),
                     stage="Negotiation", owner=owner)
    few = {by: queries(by) for by in fs.GROUPINGS}
    account = make_opportunity(org, owner, amount=1, close_date=Q4).account
    for index in range(40):
        make_opportunity(org, owner, amount=100 + index, account=account,
                         close_date=datetime.date(2026, 10 + index % 3, 1 + index % 27),
                         stage=("Qualification", "Proposal", "Negotiation")[index % 3],
                         owner=(owner, member)[index % 2])
    many = {by: queries(by) for by in fs.GROUPINGS}
    assert many == few
    assert max(many.values()) <= 2


def test_targets_and_attainment(org, owner, member, deals):
    q4_end = datetime.date(2026, 12, 31)
    mine = targets.target_create(organization=org, actor=owner, user=owner.pk,
                                 period_start=Q4, period_end=q4_end, amount="1000")
    team = targets.target_create(organization=org, actor=owner, team=deals["team"],
                                 period_start=Q4, period_end=q4_end, amount=D("8000"))
    company = targets.target_create(organization=org, actor=owner, period_start=Q4,
                                    period_end=q4_end, amount="10,000")
    assert Event.objects.filter(type="sales.target.created").count() == 3
    with CaptureQueriesContext(connection) as captured:
        results = {a.target.pk: a for a in fs.attainment(
            organization=org, targets=fs.targets_for(organization=org))}
    assert len(captured) == 2      # the targets, then one aggregate for all of them
    assert (results[mine.pk].won, results[mine.pk].percent) == (D("500.00"), D("50.0"))
    assert (results[mine.pk].committed, results[mine.pk].committed_percent) == (
        D("1500.00"), D("150.0"))
    assert results[mine.pk].gap == D("500.00")
    assert (results[team.pk].won, results[team.pk].committed,
            results[team.pk].best_case_total) == (D("0.00"), D("0.00"), D("2000.00"))
    assert (results[company.pk].won, results[company.pk].percent) == (D("500.00"), D("5.0"))


def test_target_validation_and_versions(org, owner, outsider, deals):
    q4_end = datetime.date(2026, 12, 31)
    bad = (
        {"period_start": "2026-13-01", "period_end": q4_end, "amount": 1},
        {"period_start": q4_end, "period_end": Q4, "amount": 1},
        {"period_start": Q4, "period_end": q4_end, "amount": "-5"},
        {"period_start": Q4, "period_end": q4_end, "amount": "lots"},
        {"period_start": Q4, "period_end": q4_end, "amount": 1, "currency": "rupiah"},
        {"period_start": Q4, "period_end": q4_end, "amount": 1, "user": owner,
         "team": deals["team"]},
    )
    for kwargs in bad:
        with pytest.raises(ValidationError):
            targets.target_create(organization=org, actor=owner, **kwargs)
    with pytest.raises(SalesError) as error:
        targets.target_create(organization=org, actor=owner, user=outsider.pk,
                              period_start=Q4, period_end=q4_end, amount=1)
    assert error.value.code == "not_found"
    assert not SalesTarget.objects.exists()
    target = targets.target_create(organization=org, actor=owner, user=owner, period_start=Q4,
                                   period_end=q4_end, amount=1)
    with pytest.raises(SalesError) as error:
        targets.target_create(organization=org, actor=owner, user=owner, period_start=Q4,
                              period_end=q4_end, amount=2)
    assert error.value.code == "duplicate"
    updated = targets.target_update(target=target, actor=owner, version=1, amount="2500")
    assert (updated.amount, updated.version) == (D("2500.00"), 2)
    with pytest.raises(StaleVersion):
        targets.target_update(target=target, actor=owner, version=1, amount="1")
    assert SalesTarget.objects.get().amount == D("2500.00")
    targets.target_delete(target=updated, actor=owner, version=2)
    assert not SalesTarget.objects.exists()
    assert Event.objects.filter(type="sales.target.deleted").count() == 1


# --- Statistical forecasts -----------------------------------------------------------------

TODAY = datetime.date(2026, 11, 15)
FIRST = datetime.date(2023, 11, 1)          # 36 complete months up to October 2026


def test_revenue_forecast_on_a_known_seasonal_series(org, owner):
    history = History(org, owner)
    values = [seasonal_value(i) for i in range(36)]
    history.monthly(FIRST, values)
    # Not sales: a draft, a cancelled order, another currency, and this (incomplete) month.
    history.order(datetime.date(2026, 10, 2), net=99999, status=OrderStatus.DRAFT)
    history.order(datetime.date(2026, 10, 3), net=99999, status=OrderStatus.CANCELLED)
    history.order(datetime.date(2026, 10, 4), net=99999, currency="USD")
    history.order(datetime.date(2026, 11, 2), net=99999)
    result = fs.revenue_forecast(organization=org, horizon=6, today=TODAY)
    assert result.months[0] == FIRST and len(result.months) == 36
    assert result.actuals == values
    assert result.future == [add_months(datetime.date(2026, 11, 1), i) for i in range(6)]
    assert result.method == "ets_seasonal" and len(result.mean) == 6
    for low, mean, high, truth in zip(result.lower, result.mean, result.upper,
                                      [seasonal_value(36 + i) for i in range(6)], strict=True):
        assert low <= mean <= high
        assert abs(mean - truth) / truth < 0.05
    accuracy = result.accuracy
    assert accuracy.origins == 6 and accuracy.horizon == 3
    # Seasonal naive misses a year of trend (12 × 10) every month; the model does not.
    assert accuracy.naive_mae == pytest.approx(120.0)
    assert accuracy.mase < 0.5 and accuracy.beats_naive
    assert result.verdict.startswith("The forecast beats the seasonal-naive forecast")
    assert f"by {(1 - accuracy.mase) * 100:.0f}%" in result.verdict
    assert result.message == ""


def test_revenue_forecast_with_little_history(org, owner):
    history = History(org, owner)
    history.monthly(datetime.date(2026, 8, 1), [100, 200, 300])
    result = fs.revenue_forecast(organization=org, horizon=3, today=TODAY)
    assert not result.has_forecast and result.accuracy is None
    assert "at least 6 months" in result.message and "there are 3" in result.message
    history.monthly(datetime.date(2026, 2, 1), [100, 100, 100, 100, 100, 100])
    result = fs.revenue_forecast(organization=org, horizon=3, today=TODAY)
    assert result.has_forecast and result.accuracy is None
    assert "15 months" in result.message
    empty = fs.revenue_forecast(organization=history.buyer, today=TODAY)
    assert not empty.has_forecast and empty.months == []


def test_demand_forecast_per_product(org, owner):
    history = History(org, owner, products=3)
    big, small, idle = history.products
    units = [int(seasonal_value(i, base=200, trend=2, amplitude=60)) for i in range(36)]
    history.monthly(FIRST, units, product=big)
    for index in range(12):
        history.order(add_months(datetime.date(2025, 11, 1), index).replace(day=20), net=5,
                      lines=[(small, 5)])
    with CaptureQueriesContext(connection) as captured:
        overview = fs.demand_overview(organization=org, horizon=3, today=TODAY)
    assert len(captured) == 3
    assert [row.product for row in overview] == [big, small]
    assert overview[0].units_last_year == sum(units[-12:])
    assert overview[0].forecast.actuals == [float(u) for u in units]
    assert overview[0].forecast.accuracy.beats_naive
    assert overview[1].units_last_year == 60
    assert overview[1].forecast.mean == pytest.approx([5.0, 5.0, 5.0], abs=0.5)
    detail = fs.product_demand(organization=org, product=big, horizon=6, today=TODAY)
    assert len(detail.mean) == 6 and detail.accuracy.mase < 1
    assert fs.product_demand(organization=org, product=idle, today=TODAY).message
