"""Promotion analysis on known orders: period vs the same-length period before and vs the
buyers not targeted; discount, margin, new vs repeat buyers; query count."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from jalin.hub import promotions
from jalin.sales.promotion_analysis import analyse, as_dict, uplift
from tests.promos_world import DAY, build, place


@pytest.fixture
def world(org, owner):
    return build(org, owner)


def test_figures_of_the_period_the_period_before_and_the_untargeted_buyers(world):
    result = analyse(world.promotion)
    assert result.status == "running" and result.days == 5 and result.targeted
    assert (result.start, result.end) == (world.today - 4 * DAY, world.today)
    assert (result.before_start, result.before_end) == (world.today - 9 * DAY,
                                                         world.today - 5 * DAY)
    period = result.period
    assert period.revenue == Decimal("360000")
    assert (period.orders, period.units, period.buyers) == (2, 4, 2)
    assert period.discount == Decimal("40000")
    assert period.cost == Decimal("200000") and period.margin == Decimal("160000")
    assert (period.new_buyers, period.repeat_buyers) == (1, 1)
    before = result.before
    assert (before.revenue, before.orders, before.units) == (Decimal("200000"), 1, 2)
    assert before.discount == 0
    assert result.uplift_revenue == Decimal("80.0")
    assert result.uplift_units == Decimal("100.0")
    assert result.untargeted.revenue == Decimal("200000")
    assert (result.targeted_buyers, result.untargeted_buyers) == (2, 1)
    assert result.revenue_per_targeted_buyer == Decimal("180000.00")
    assert result.revenue_per_untargeted_buyer == Decimal("200000.00")
    assert result.uplift_vs_untargeted == Decimal("-10.0")
    assert "80.0%" in result.verdict
    datasets = result.chart["data"]["datasets"]
    assert sum(datasets[0]["data"]) == 360000 and sum(datasets[1]["data"]) == 200000
    data = as_dict(result)
    assert data["period"]["margin"] == "160000.000000" or \
        Decimal(data["period"]["margin"]) == Decimal("160000")
    assert data["uplift_revenue_percent"] == "80.0"


def test_an_everyone_promotion_has_no_untargeted_group(world):
    sale = promotions.promotion_create(
        supplier=world.supplier, actor=world.owner, name="All", starts_on=world.today - DAY,
        ends_on=world.today, discount_percent="5")
    result = analyse(sale)
    assert not result.targeted and result.untargeted is None
    # All products, all buyers, today and yesterday: C's drill, B's drills.
    assert result.period.revenue == Decimal("90000") + Decimal("200000")


def test_scheduled_and_ended_promotions(world):
    later = promotions.promotion_create(
        supplier=world.supplier, actor=world.owner, name="Later",
        starts_on=world.today + 3 * DAY, ends_on=world.today + 9 * DAY, discount_percent="5")
    assert analyse(later).status == "scheduled" and analyse(later).period is None
    past = promotions.promotion_create(
        supplier=world.supplier, actor=world.owner, name="Past",
        starts_on=world.today - 8 * DAY, ends_on=world.today - 6 * DAY, discount_percent="5")
    result = analyse(past)
    assert result.status == "ended" and result.days == 3
    assert result.period.revenue == Decimal("200000")  # A's drills on day -7
    assert result.uplift_revenue is None  # nothing in the 3 days before
    assert "No sales" in result.verdict


def test_query_count_does_not_grow_with_orders(world):
    def count():
        with CaptureQueriesContext(connection) as ctx:
            analyse(world.promotion)
        return len(ctx.captured_queries)

    few = count()
    for index in range(6):
        place(world, world.rels["b" if index % 2 else "a"], [(world.drill.pk, 1)],
              world.today - (index % 5) * DAY)
    assert count() == few


def test_uplift_without_baseline_is_none():
    assert uplift(Decimal(5), 0) is None and uplift(Decimal(150), Decimal(100)) == 50
