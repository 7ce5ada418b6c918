"""SLA results (frozen per agreement × metric × priority × month) and attainment reports."""

from decimal import Decimal

import pytest

from jalin.service import sla_results
from jalin.service.calendars import SlaError
from jalin.service.models import CaseStatus, Service, SlaClock, SlaMetric, SlaResult, Team
from tests.sla_world import (
    make_account,
    make_agreement,
    make_policy,
    open_case,
    reply,
    set_status,
    wib,
)

pytestmark = pytest.mark.django_db
NOVEMBER = "2026-11"


@pytest.fixture
def world(org, owner):
    """November 2026: five resolution clocks under agreement AGR-1 (4 met, 1 breached) and two
    first-response clocks under the default policy (1 met, 1 breached); plus clocks that count
    elsewhere or nowhere."""
    make_policy(org, name="Standard", targets={("normal", SlaMetric.FIRST_RESPONSE): 60},
                required="90")
    gold = make_policy(org, name="Gold", is_default=False,
                       targets={("normal", SlaMetric.RESOLUTION): 8 * 60})
    toko = make_account(org, "Toko Maju")
    other = make_account(org, "Warung Sari")
    agreement = make_agreement(org, toko, gold, required="80")
    printing = Service.objects.create(organization=org, code="PRN", name="Printing")
    first_line = Team.objects.create(organization=org, name="First line")
    for day, hours in ((2, 2), (3, 7), (4, 8), (5, 1), (9, 9)):
        case = open_case(org, now=wib(2026, 11, day, 8, 0), account=toko, service=printing,
                         team=first_line if day < 9 else None)
        set_status(case, CaseStatus.RESOLVED, now=wib(2026, 11, day, 8 + hours, 0))
    quick = open_case(org, now=wib(2026, 11, 10, 8, 0), account=other)
    reply(quick, now=wib(2026, 11, 10, 8, 30), author=owner)
    slow = open_case(org, now=wib(2026, 11, 10, 8, 0), account=other, team=first_line)
    reply(slow, now=wib(2026, 11, 10, 10, 0), author=owner)
    # Decided in December (Jakarta time), though still November in UTC.
    late = open_case(org, now=wib(2026, 11, 30, 16, 0), account=toko)
    set_status(late, CaseStatus.RESOLVED, now=wib(2026, 12, 1, 6, 0))
    # Still running, not breached: counts nowhere. A merged duplicate: nowhere either.
    open_case(org, now=wib(2026, 11, 30, 16, 0), account=toko)
    dup = open_case(org, now=wib(2026, 11, 20, 8, 0), account=toko)
    set_status(dup, CaseStatus.MERGED, now=wib(2026, 11, 20, 9, 0))
    return {"agreement": agreement, "toko": toko, "other": other, "printing": printing,
            "team": first_line}


def test_results_arithmetic_on_a_known_set(org, world):
    rows = sla_results.sla_results_compute(organization=org, period=NOVEMBER)
    by_key = {(r["agreement_id"], r["metric"], r["priority"]): r for r in rows}
    gold = by_key[(world["agreement"].pk, "resolution", "normal")]
    assert (gold["total"], gold["achieved"], gold["breached"]) == (5, 4, 1)
    assert gold["attainment_percent"] == Decimal("80.00")
    assert gold["required_percent"] == Decimal("80.00") and gold["met"] is True
    default = by_key[(None, "first_response", "normal")]
    assert (default["total"], default["achieved"], default["breached"]) == (2, 1, 1)
    assert default["attainment_percent"] == Decimal("50.00")
    assert default["required_percent"] == Decimal("90.00") and default["met"] is False
    assert len(rows) == 2
    december = sla_results.sla_results_compute(organization=org, period="2026-12")
    assert [(r["total"], r["achieved"]) for r in december] == [(1, 1)]


def test_recording_freezes_a_closed_month_once(org, world):
    now = wib(2026, 12, 2, 9, 0)
    with pytest.raises(SlaError):
        sla_results.sla_results_record(organization=org, period="2026-12", now=now)
    rows = sla_results.sla_results_record(organization=org, period=NOVEMBER, now=now)
    assert len(rows) == 2 and SlaResult.objects.count() == 2
    frozen = SlaResult.objects.get(agreement=world["agreement"])
    assert (frozen.agreement_key, frozen.account, frozen.met) == (
        world["agreement"].pk, world["toko"], True)
    default = SlaResult.objects.get(agreement__isnull=True)
    assert default.agreement_key == 0 and default.met is False
    # History changes afterwards (a clock re-decided): recording again keeps what was frozen.
    clock = SlaClock.objects.filter(agreement=world["agreement"], breached_at__isnull=True,
                                    metric="resolution", state="achieved").first()
    SlaClock.objects.filter(pk=clock.pk).update(breached_at=clock.stopped_at, state="breached")
    sla_results.sla_results_record(organization=org, period=NOVEMBER, now=now)
    frozen.refresh_from_db()
    assert (frozen.total, frozen.achieved, frozen.breached) == (5, 4, 1)
    live = sla_results.sla_results_compute(organization=org, period=NOVEMBER)
    assert [r["breached"] for r in live if r["agreement_id"]] == [2]
    report = sla_results.sla_report(organization=org, group_by="agreement", first=NOVEMBER,
                                    now=now)
    assert [(r["label"], r["total"], r["achieved"], r["frozen"]) for r in report["rows"]] == [
        ("AGR-1 SLA 1", 5, 4, True), ("Default policy", 2, 1, True)]


def test_the_worker_freezes_last_month_once(org, world):
    now = wib(2026, 12, 1, 1, 0)
    assert sla_results.sla_results_freeze_due(now=now) == {"organizations_recorded": 1}
    assert sla_results.sla_results_freeze_due(now=now) is None
    assert set(SlaResult.objects.values_list("period", flat=True)) == {
        sla_results.month_start(NOVEMBER)}


def test_reports_per_customer_service_team_and_period(org, world):
    now = wib(2026, 12, 2, 9, 0)

    def report(group_by, **filters):
        rows = sla_results.sla_report(organization=org, group_by=group_by, first=NOVEMBER,
                                      last="2026-12", now=now, **filters)["rows"]
        return [(r["label"], r["period"].month, r["total"], r["achieved"],
                 r["attainment_percent"]) for r in rows]

    assert report("account") == [
        ("Toko Maju", 11, 5, 4, Decimal("80.00")), ("Warung Sari", 11, 2, 1, Decimal("50.00")),
        ("Toko Maju", 12, 1, 1, Decimal("100.00"))]
    assert report("service") == [("(none)", 11, 2, 1, Decimal("50.00")),
                                 ("Printing", 11, 5, 4, Decimal("80.00")),
                                 ("(none)", 12, 1, 1, Decimal("100.00"))]
    assert report("team") == [("(none)", 11, 2, 1, Decimal("50.00")),
                              ("First line", 11, 5, 4, Decimal("80.00")),
                              ("(none)", 12, 1, 1, Decimal("100.00"))]
    assert report("period") == [("2026-11", 11, 7, 5, Decimal("71.43")),
                                ("2026-12", 12, 1, 1, Decimal("100.00"))]
    assert report("account", metric="first_response") == [
        ("Warung Sari", 11, 2, 1, Decimal("50.00"))]
    assert report("period", account=world["toko"].pk) == [
        ("2026-11", 11, 5, 4, Decimal("80.00")), ("2026-12", 12, 1, 1, Decimal("100.00"))]
    with pytest.raises(SlaError):
        sla_results.sla_report(organization=org, group_by="colour", now=now)
    with pytest.raises(SlaError):
        sla_results.sla_report(organization=org, first="2026-12", last="2026-11", now=now)


def test_service_review_reports_show_the_recorded_results_of_its_months(org, world):
    import datetime

    from jalin.brm.models import ServiceReview
    from jalin.brm.review_report import sla_results as review_sla_results

    sla_results.sla_results_record(organization=org, period=NOVEMBER, now=wib(2026, 12, 2))
    review = ServiceReview.objects.create(
        organization=org, account=world["toko"], scheduled_for=datetime.date(2026, 12, 10),
        period_start=datetime.date(2026, 10, 1), period_end=datetime.date(2026, 11, 30))
    rows = review_sla_results(review)
    assert [(r["metric"], r["total"], r["achieved"], r["attainment_percent"], r["period_end"])
            for r in rows] == [("resolution", 5, 4, 80.0, "2026-11-30")]
    review.period_end = datetime.date(2026, 11, 29)  # November is not wholly inside
    assert review_sla_results(review) == []


def _plan(queryset):
    """EXPLAIN of the ORM's query with table scans (and the per-case paths) switched off:
    the plan names an index only if the query's conditions match the index (its columns
    and its predicate)."""
    from django.db import connection, transaction

    sql, params = queryset.query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        # At test size the planner would walk the org's few cases and their clocks by
        # case_id; without those paths it must find an index the conditions match.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE service_slaclock DROP CONSTRAINT service_sla_clock_once")
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = "
                       "'service_slaclock' AND indexdef LIKE '%%(case_id)%%'")
        for (name,) in cursor.fetchall():
            cursor.execute(f'DROP INDEX "{name}"')
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        transaction.set_rollback(True)
    return plan


@pytest.mark.postgres
def test_decided_clocks_of_a_period_are_found_by_index(org, world):
    """The period's decided clocks (results, freeze job, BRM measures) come from the two
    partial indexes of service.0007 (breached in the period; met = stopped in it without a
    breach), not from a scan of every clock of every organization (docs/performance.md)."""
    import datetime

    from django.db import connection
    from django.db.models import Q
    from django.utils import timezone

    from jalin.brm import measures
    from jalin.service.models import SlaClockState

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL plans")
    start, end = wib(2026, 11, 1, 0, 0), wib(2026, 12, 1, 0, 0)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE service_slaclock")
    for queryset in (
            sla_results.decided_clocks(org, start, end).values("agreement_id", "metric"),
            SlaClock.objects.filter(case__organization=org).filter(
                measures.sla_decided(start, end)).values("id")):
        plan = _plan(queryset)
        assert "service_clock_breached" in plan, plan
        assert "service_clock_met" in plan, plan
    # The monthly freeze job's scan over the last 62 days, all organizations.
    since = timezone.now() - datetime.timedelta(days=62)
    plan = _plan(SlaClock.objects.filter(
        Q(breached_at__gte=since)
        | Q(breached_at__isnull=True, state=SlaClockState.ACHIEVED, stopped_at__gte=since))
        .values("case__organization_id"))
    assert "service_clock_breached" in plan, plan
    assert "service_clock_met" in plan, plan
