"""Campaign results and the sample-size plan on known data, checked against statsmodels and
SciPy; a fixed number of queries whatever the number of recipients; peeking warnings; leads,
opportunities and orders counted per arm."""

import datetime
from decimal import Decimal

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

from jalin.sales import campaign_results as cr
from jalin.sales.experiment_stats import sample_size_per_group
from jalin.sales.leads import default_pipeline, first_open_stage
from jalin.sales.models import Lead, Opportunity, SegmentMember
from tests.experiments_world import add_recipients, make_account, make_campaign, make_segment


def _ref_rates(sa, na, sb, nb):
    z, p = proportions_ztest([sb, sa], [nb, na])
    low, high = confint_proportions_2indep(sb, nb, sa, na, method="wald", compare="diff")
    return z, p, low, high


def test_conversion_with_holdout_matches_statsmodels_and_holm(org):
    campaign, (a, b) = make_campaign(org, holdout_percent=10, baseline_rate=5,
                                     minimum_detectable_effect=1.5)
    add_recipients(campaign, None, 400, converted=20, skipped=7,
                   sent_at=campaign.sent_at)  # the launch stamps the holdout's rows
    add_recipients(campaign, a, 1800, converted=108, opened=900, clicked=300, skipped=30)
    add_recipients(campaign, b, 1790, converted=125, opened=950, clicked=280, skipped=25)

    results = cr.campaign_results(campaign)

    holdout, arm_a, arm_b = results.arms
    assert holdout.is_holdout and results.control is holdout
    assert (holdout.recipients, holdout.skipped, holdout.converted) == (400, 7, 20)
    assert holdout.sent == 0  # the holdout is sent nothing
    assert (arm_a.recipients, arm_a.sent, arm_a.opened, arm_a.clicked) == (1800, 1800, 900, 300)
    assert arm_b.conversion_rate == pytest.approx(125 / 1790)
    assert results.holm and len(results.comparisons) == 2
    p_values = []
    for comparison, (s, n) in zip(results.comparisons, ((108, 1800), (125, 1790)), strict=True):
        z, p, low, high = _ref_rates(20, 400, s, n)
        assert comparison.result.statistic == pytest.approx(z, rel=1e-9)
        assert comparison.result.p_value == pytest.approx(p, rel=1e-9)
        assert comparison.result.ci_low == pytest.approx(low, rel=1e-9)
        assert comparison.result.ci_high == pytest.approx(high, rel=1e-9)
        assert comparison.result.relative_lift == pytest.approx((s / n - 0.05) / 0.05)
        p_values.append(p)
    adjusted = multipletests(p_values, method="holm")[1]
    assert [c.p_adjusted for c in results.comparisons] == pytest.approx(list(adjusted))
    assert results.planned_per_group == sample_size_per_group(
        baseline_rate=0.05, minimum_detectable_effect=0.015)
    assert results.smallest_group == 400
    assert results.warning == "underpowered"  # 400 < planned
    assert results.totals["recipients"] == 3990 and results.totals["skipped"] == 62


def test_statement_reads_like_a_person_would_say_it(org):
    campaign, (a, b) = make_campaign(org, variants=(("A", 1), ("B", 1)))
    add_recipients(campaign, a, 2400, converted=120)
    add_recipients(campaign, b, 2380, converted=156)
    results = cr.campaign_results(campaign)
    assert results.control.name == "A" and not results.holm
    comparison = results.comparisons[0]
    text = cr.statement(comparison, metric="conversion", holm=results.holm)
    z, p, low, high = _ref_rates(120, 2400, 156, 2380)
    assert text == (f"B converts {(156 / 2380 - 0.05) * 100:.1f} points better than A "
                    f"(95% CI {low * 100:.1f} to {high * 100:.1f}), p = {p:.3f}; "
                    "significant at the 5% level.")
    assert comparison.significant


def test_revenue_per_recipient_matches_scipy_welch(org):
    rng = np.random.default_rng(11)
    campaign, (a, b) = make_campaign(org, metric="revenue", holdout_percent=20)
    revenue_holdout = np.round(rng.gamma(2.0, 400_000, 30), 2)
    revenue_a = np.round(rng.gamma(2.0, 450_000, 40), 2)
    revenue_b = np.round(rng.gamma(2.0, 600_000, 45), 2)
    add_recipients(campaign, None, 150, converted=30, revenues=revenue_holdout)
    add_recipients(campaign, a, 160, converted=40, revenues=revenue_a)
    add_recipients(campaign, b, 170, converted=45, revenues=revenue_b)

    results = cr.campaign_results(campaign)

    control = np.concatenate([revenue_holdout, np.zeros(120)])
    for comparison, values, n in zip(results.comparisons, (revenue_a, revenue_b), (160, 170),
                                     strict=True):
        treated = np.concatenate([values, np.zeros(n - len(values))])
        reference = stats.ttest_ind(treated, control, equal_var=False)
        interval = reference.confidence_interval(0.95)
        assert comparison.result.statistic == pytest.approx(reference.statistic, rel=1e-6)
        assert comparison.result.p_value == pytest.approx(reference.pvalue, rel=1e-6)
        assert comparison.result.ci_low == pytest.approx(interval.low, rel=1e-6)
        assert comparison.result.ci_high == pytest.approx(interval.high, rel=1e-6)
        assert comparison.arm.revenue == Decimal(str(round(values.sum(), 2)))
    text = cr.statement(results.comparisons[1], metric="revenue", holm=True)
    assert "per recipient than Holdout" in text and "Holm" in text


def test_click_metric_never_uses_the_holdout_as_control(org):
    campaign, (a, b) = make_campaign(org, metric="click", holdout_percent=10)
    add_recipients(campaign, None, 100)
    add_recipients(campaign, a, 500, clicked=50)
    add_recipients(campaign, b, 500, clicked=75)
    results = cr.campaign_results(campaign)
    assert results.control.name == "A" and len(results.comparisons) == 1
    z, p, _low, _high = _ref_rates(50, 500, 75, 500)
    assert results.comparisons[0].result.p_value == pytest.approx(p, rel=1e-9)


def test_too_small_groups_give_a_reason_not_an_error(org):
    campaign, (a, b) = make_campaign(org, metric="revenue")
    add_recipients(campaign, a, 1)
    results = cr.campaign_results(campaign)
    comparison = results.comparisons[0]
    assert comparison.result is None and comparison.reason
    assert cr.statement(comparison, metric="revenue", holm=False) == comparison.reason
    draft, _variants = make_campaign(org, name="Draft", status="draft")
    assert cr.campaign_results(draft).warning == "not_sent"


def test_peeking_warning_until_sample_and_window(org):
    now = timezone.now()
    campaign, (a, b) = make_campaign(org, baseline_rate=10, minimum_detectable_effect=20,
                                     attribution_days=14, sent_at=now - datetime.timedelta(days=3))
    planned = sample_size_per_group(baseline_rate=0.10, minimum_detectable_effect=0.20)
    add_recipients(campaign, a, planned, converted=10)
    add_recipients(campaign, b, planned, converted=20)
    results = cr.campaign_results(campaign, now=now)
    assert results.warning == "window_open"
    assert results.window_ends == campaign.sent_at + datetime.timedelta(days=14)
    assert "attribution window" in cr.warning_text(results.warning)
    later = cr.campaign_results(campaign, now=now + datetime.timedelta(days=12))
    assert later.window_closed and later.warning == ""
    campaign.status = "sending"
    assert cr.campaign_results(campaign, now=now).warning == "sending"


def test_leads_opportunities_and_orders_per_arm(org, owner):
    campaign, (a, b) = make_campaign(org)
    account = make_account(org, "PT Beli")
    in_a = add_recipients(campaign, a, 3, account=account)
    in_b = add_recipients(campaign, b, 3)
    Lead.objects.create(organization=org, campaign=campaign, email=in_a[0].email)
    Lead.objects.create(organization=org, campaign=campaign, email="stranger@example.test")
    Lead.objects.create(organization=org, campaign=campaign,
                        converted_contact_id=in_b[1].contact_id)
    Lead.objects.create(organization=org, email=in_b[2].email)  # another campaign's lead
    pipeline = default_pipeline(org)
    Opportunity.objects.create(organization=org, name="Deal", account=account,
                               contact_id=in_a[1].contact_id, pipeline=pipeline,
                               stage=first_open_stage(pipeline), amount=Decimal("5000000"),
                               close_date=timezone.localdate(), campaign=campaign)
    results = cr.campaign_results(campaign)
    arm_a, arm_b = results.arms
    assert (arm_a.with_lead, arm_b.with_lead) == (1, 1)
    assert (arm_a.with_opportunity, arm_b.with_opportunity) == (1, 0)
    assert results.leads == 3 and results.opportunities == 1
    assert results.opportunity_amount == Decimal("5000000")


def test_query_count_does_not_grow_with_recipients(org):
    counts = []
    for size in (10, 600):
        campaign, variants = make_campaign(org, name=f"Size {size}", holdout_percent=10,
                                           variants=(("A", 1), ("B", 1), ("C", 1)))
        add_recipients(campaign, None, size // 10, converted=1)
        for variant in variants:
            add_recipients(campaign, variant, size, converted=size // 10)
        with CaptureQueriesContext(connection) as queries:
            results = cr.campaign_results(campaign)
            [cr.statement(c, metric="conversion", holm=results.holm)
             for c in results.comparisons]
        counts.append(len(queries))
    assert counts[0] == counts[1] <= 8


def test_plan_per_group_total_and_segment(org):
    segment = make_segment(org)
    campaign, _variants = make_campaign(org, status="draft", segment=segment, holdout_percent=20,
                                        baseline_rate=4, minimum_detectable_effect=1,
                                        variants=(("A", 1), ("B", 1)))
    # 500 members, 300 reachable (email and consent), 60 joined in the last 30 days.
    contacts = add_recipients(campaign, None, 500)  # borrow contacts; recipients dropped below
    campaign.recipients.all().delete()
    members = []
    old = timezone.now() - datetime.timedelta(days=90)
    for index, recipient in enumerate(contacts):
        members.append(SegmentMember(segment=segment, contact_id=recipient.contact_id,
                                     added_at=timezone.now() if index < 60 else old))
    SegmentMember.objects.bulk_create(members)
    from jalin.crm.models import Contact
    Contact.objects.filter(pk__in=[r.contact_id for r in contacts[300:]]).update(
        email_opt_in=False)

    plan = cr.campaign_plan(campaign)

    per_group = sample_size_per_group(baseline_rate=0.04, minimum_detectable_effect=0.01)
    assert plan.per_group == per_group and not plan.error
    # Holdout 20%, A and B 40% each: the holdout is the smallest group.
    assert [round(share, 6) for _name, share in plan.groups] == [0.2, 0.4, 0.4]
    assert plan.total_needed == -(-per_group * 5 // 1)  # per_group / 0.2
    assert (plan.segment_size, plan.reachable) == (500, 300)
    assert plan.big_enough is False
    assert plan.growth_per_day == pytest.approx(2.0)
    assert plan.days_to_enough == -(-(plan.total_needed - 300) // 2)

    no_inputs = cr.plan(organization=org, baseline_rate=None, minimum_detectable_effect=None)
    assert no_inputs.error and no_inputs.per_group is None
    impossible = cr.plan(organization=org, baseline_rate=99, minimum_detectable_effect=5)
    assert impossible.error and impossible.per_group is None
    one_group = cr.plan(organization=org, baseline_rate=4, minimum_detectable_effect=1)
    assert one_group.error and one_group.total_needed is None
