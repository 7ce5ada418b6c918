"""The SLA engine (jalin/service/sla.py) with a frozen clock: business hours across an
Indonesian holiday and a pause, retargeting, warnings/breaches/escalations exactly once."""

from datetime import timedelta
from unittest import mock

import pytest
import time_machine

from jalin.core.events_models import Event
from jalin.core.models import Notification
from jalin.service import calendars, sla
from jalin.service.models import (
    BusinessCalendar,
    CaseEvent,
    CaseStatus,
    EscalationRule,
    Holiday,
    SlaClock,
    SlaClockState,
    SlaEscalation,
    SlaMetric,
    SlaPolicy,
    Team,
)
from jalin.tenancy.models import Membership
from jalin.tenancy.roles import Role
from tests.conftest import make_user
from tests.sla_world import (
    clock,
    make_account,
    make_agreement,
    make_policy,
    open_case,
    reply,
    set_status,
    update,
    wib,
)

pytestmark = pytest.mark.django_db

HOUR = 3600


def events(kind):
    return list(Event.objects.filter(type=kind).order_by("id"))


def test_an_organization_without_slas_gets_the_default_calendar_and_policy(org):
    now = wib(2026, 12, 1, 9, 0)
    with time_machine.travel(now, tick=False):
        case = open_case(org, now=now)
    policy = SlaPolicy.objects.get(organization=org)
    assert policy.is_default and policy.name == calendars.DEFAULT_POLICY_NAME
    calendar = BusinessCalendar.objects.get(organization=org)
    assert calendar.is_default and calendar.country == "ID"
    assert Holiday.objects.filter(calendar=calendar, date="2026-12-25", preloaded=True).exists()
    assert Holiday.objects.filter(calendar=calendar, date__year=2027).exists()
    case.refresh_from_db()
    assert case.sla_policy == policy and case.agreement is None
    first = clock(case, SlaMetric.FIRST_RESPONSE)
    assert first.target_seconds == 4 * 60 * 60 and first.priority == "normal"
    assert first.due_at == wib(2026, 12, 1, 13, 0)
    assert first.warn_at == wib(2026, 12, 1, 12, 0)  # 75 % of 4 h
    # Once it has a policy nothing more is created.
    policy.is_default = False
    policy.save()
    with time_machine.travel(now, tick=False):
        other = open_case(org, now=now)
    assert SlaPolicy.objects.filter(organization=org).count() == 1
    assert not SlaClock.objects.filter(case=other).exists()


def test_resolution_target_across_christmas_and_a_pause(org):
    make_policy(org, first=60, resolution=8 * 60)
    opened = wib(2026, 12, 24, 15, 0)  # Thursday; Friday 25 is Christmas (Hari Raya Natal)
    case = open_case(org, now=opened)
    resolution = clock(case)
    # 2 h on Thursday, nothing on the holiday and the weekend, 6 h from Monday 08:00.
    assert resolution.due_at == wib(2026, 12, 28, 14, 0)
    assert resolution.warn_at == wib(2026, 12, 28, 12, 0)  # 6 h of 8 h

    case = set_status(case, CaseStatus.WAITING, now=wib(2026, 12, 28, 9, 0))
    resolution.refresh_from_db()
    assert resolution.state == SlaClockState.PAUSED
    assert resolution.elapsed_seconds == 3 * HOUR and resolution.due_at is None
    # Waiting the rest of Monday and Tuesday morning: 8 h + 2 h of business time paused.
    case = set_status(case, CaseStatus.OPEN, now=wib(2026, 12, 29, 10, 0))
    resolution.refresh_from_db()
    assert resolution.state == SlaClockState.RUNNING
    assert resolution.paused_seconds == 10 * HOUR
    assert resolution.elapsed_seconds == 3 * HOUR
    assert resolution.due_at == wib(2026, 12, 29, 15, 0)

    set_status(case, CaseStatus.RESOLVED, now=wib(2026, 12, 29, 14, 0))
    resolution.refresh_from_db()
    assert resolution.state == SlaClockState.ACHIEVED
    assert resolution.elapsed_seconds == 7 * HOUR and resolution.breached_at is None
    # The first-response clock stops with the resolution: a resolution is a response.
    first = clock(case, SlaMetric.FIRST_RESPONSE)
    assert first.state == SlaClockState.BREACHED  # 1 h target, resolved after 7 h


def test_first_response_stops_the_first_response_clock_only(org):
    make_policy(org, first=60)
    case = open_case(org, now=wib(2026, 12, 1, 9, 0))
    reply(case, now=wib(2026, 12, 1, 9, 30))
    first = clock(case, SlaMetric.FIRST_RESPONSE)
    assert first.state == SlaClockState.ACHIEVED and first.elapsed_seconds == 30 * 60
    assert clock(case).state == SlaClockState.RUNNING


def test_priority_change_keeps_elapsed_and_paused_time_and_a_breach_stays(org):
    make_policy(org, first=60, resolution=8 * 60)
    case = open_case(org, now=wib(2026, 12, 1, 8, 0))  # normal: 8 h
    case = set_status(case, CaseStatus.WAITING, now=wib(2026, 12, 1, 10, 0))
    case = set_status(case, CaseStatus.OPEN, now=wib(2026, 12, 1, 11, 0))
    case = update(case, priority="high", now=wib(2026, 12, 1, 12, 0))  # 4 h
    resolution = clock(case)
    assert resolution.target_seconds == 4 * HOUR and resolution.priority == "high"
    assert resolution.elapsed_seconds == 3 * HOUR and resolution.paused_seconds == 1 * HOUR
    assert resolution.due_at == wib(2026, 12, 1, 13, 0)
    assert resolution.warn_at == wib(2026, 12, 1, 12, 0)
    assert CaseEvent.objects.filter(case=case, action="sla_retargeted").exists()

    # Critical (2 h): already past it, the worker breaches at once.
    case = update(case, priority="critical", now=wib(2026, 12, 1, 12, 30))
    resolution.refresh_from_db()
    assert resolution.elapsed_seconds == int(3.5 * HOUR)
    assert resolution.due_at == wib(2026, 12, 1, 12, 30)
    sla.sla_clocks_check(now=wib(2026, 12, 1, 12, 31))
    resolution.refresh_from_db()
    assert resolution.breached_at is not None

    # Back to low (16 h): the time is kept and the breach stays.
    case = update(case, priority="low", now=wib(2026, 12, 1, 13, 0))
    resolution.refresh_from_db()
    assert resolution.breached_at is not None and resolution.elapsed_seconds == 4 * HOUR
    assert resolution.paused_seconds == 1 * HOUR
    set_status(case, CaseStatus.RESOLVED, now=wib(2026, 12, 1, 14, 0))
    resolution.refresh_from_db()
    assert resolution.state == SlaClockState.BREACHED


def test_reopen_restarts_the_resolution_clock_with_the_elapsed_time(org):
    make_policy(org, resolution=8 * 60)
    case = open_case(org, now=wib(2026, 12, 1, 8, 0))
    case = set_status(case, CaseStatus.RESOLVED, now=wib(2026, 12, 1, 10, 0))
    case = set_status(case, CaseStatus.OPEN, now=wib(2026, 12, 2, 8, 0))
    resolution = clock(case)
    assert resolution.state == SlaClockState.RUNNING and resolution.stopped_at is None
    assert resolution.elapsed_seconds == 2 * HOUR
    assert resolution.due_at == wib(2026, 12, 2, 14, 0)


def test_agreement_policy_wins_and_prefers_the_service_specific_agreement(org):
    from jalin.service.models import Service

    default = make_policy(org, name="Standard")
    gold = make_policy(org, name="Gold", resolution=4 * 60, is_default=False)
    platinum = make_policy(org, name="Platinum", resolution=2 * 60, is_default=False)
    account = make_account(org)
    other = make_account(org, "Other")
    printing = Service.objects.create(organization=org, code="PRN", name="Printing")
    general = make_agreement(org, account, gold, number=1)
    specific = make_agreement(org, account, platinum, number=2, services=[printing])
    make_agreement(org, account, platinum, number=3, status="draft")
    now = wib(2026, 12, 1, 8, 0)
    plain = open_case(org, now=now, account=account)
    assert (plain.sla_policy, plain.agreement) == (gold, general)
    assert clock(plain).target_seconds == 4 * 60 * 60
    served = open_case(org, now=now, account=account, service=printing)
    assert (served.sla_policy, served.agreement) == (platinum, specific)
    stranger = open_case(org, now=now, account=other)
    assert (stranger.sla_policy, stranger.agreement) == (default, None)
    # Dropping the service keeps the agreement it already named.
    served = update(served, service=None, now=wib(2026, 12, 1, 9, 0))
    assert served.agreement == specific
    # An expired agreement no longer applies: the general one takes over on retarget.
    specific.status = "expired"
    specific.save()
    served = update(served, priority="high", now=wib(2026, 12, 1, 10, 0))
    assert served.agreement == general
    res = clock(served)
    assert res.elapsed_seconds == 2 * HOUR and res.target_seconds == 2 * HOUR  # Gold high


def test_warning_and_breach_fire_exactly_once_across_worker_restarts(org, owner):
    make_policy(org, first=60, resolution=8 * 60)
    case = open_case(org, now=wib(2026, 12, 1, 8, 0), assignee=owner)
    assert sla.sla_clocks_check(now=wib(2026, 12, 1, 8, 40)) is None
    # The worker dies in the middle of the warning (after the conditional update): nothing
    # of it is kept, the next run does it.
    with mock.patch("jalin.service.sla.emit_event", side_effect=RuntimeError("killed")), \
            pytest.raises(RuntimeError):
        sla._fire(clock(case, SlaMetric.FIRST_RESPONSE).pk, case.pk, kind="warning",
                  now=wib(2026, 12, 1, 8, 45))
    assert clock(case, SlaMetric.FIRST_RESPONSE).warned_at is None
    assert sla.sla_clocks_check(now=wib(2026, 12, 1, 8, 45)) == {"warned": 1, "breached": 0}
    assert sla.sla_clocks_check(now=wib(2026, 12, 1, 8, 46)) is None  # restarted worker
    assert len(events("service.sla.warning")) == 1
    assert sla.sla_clocks_check(now=wib(2026, 12, 1, 9, 0)) == {"warned": 0, "breached": 1}
    assert sla.sla_clocks_check(now=wib(2026, 12, 1, 9, 1)) is None
    first = clock(case, SlaMetric.FIRST_RESPONSE)
    assert first.breached_at == wib(2026, 12, 1, 9, 0) and first.state == "running"
    assert len(events("service.sla.breached")) == 1
    payload = events("service.sla.breached")[0].payload
    assert payload["case_id"] == case.pk and payload["metric"] == "first_response"
    kinds = sorted(Notification.objects.filter(user=owner).values_list("kind", flat=True))
    assert kinds == ["sla_breach", "sla_warning"]
    assert CaseEvent.objects.filter(case=case, action="sla_breached").count() == 1
    # A late reply: the clock stops as breached and no second breach event is emitted.
    reply(case, now=wib(2026, 12, 1, 9, 30), author=owner)
    assert clock(case, SlaMetric.FIRST_RESPONSE).state == SlaClockState.BREACHED
    assert len(events("service.sla.breached")) == 1


def test_a_clock_stopped_after_its_due_time_before_the_worker_ran_is_breached(org):
    make_policy(org, first=60)
    case = open_case(org, now=wib(2026, 12, 1, 8, 0))
    reply(case, now=wib(2026, 12, 1, 9, 10))
    first = clock(case, SlaMetric.FIRST_RESPONSE)
    assert first.state == SlaClockState.BREACHED
    assert first.breached_at == wib(2026, 12, 1, 9, 0)
    assert len(events("service.sla.breached")) == 1
    assert sla.sla_clocks_check(now=wib(2026, 12, 1, 9, 20)) is None


def test_paused_clocks_never_warn_or_breach(org):
    make_policy(org, first=60)
    case = open_case(org, now=wib(2026, 12, 1, 8, 0))
    set_status(case, CaseStatus.WAITING, now=wib(2026, 12, 1, 8, 30))
    assert sla.sla_clocks_check(now=wib(2026, 12, 9, 8, 0)) is None


def test_escalation_rules_apply_once_per_clock(org, owner):
    make_policy(org, first=60, resolution=8 * 60)
    boss = make_user("boss")
    Membership.objects.create(user=boss, organization=org, role=Role.ORG_ADMIN)
    second_line = Team.objects.create(organization=org, name="Second line")
    second_line.members.add(owner)
    calendars.rule_create(organization=org, actor=owner, name="Tell the boss",
                          trigger="warning", action="notify_user", user=boss.pk)
    calendars.rule_create(organization=org, actor=owner, name="Raise", trigger="breach",
                          metric="first_response", action="raise_priority")
    calendars.rule_create(organization=org, actor=owner, name="Second line", trigger="breach",
                          metric="first_response", action="reassign_team", team=second_line.pk)
    calendars.rule_create(organization=org, actor=owner, name="Only low", trigger="breach",
                          priority="low", action="notify_user", user=boss.pk)
    case = open_case(org, now=wib(2026, 12, 1, 8, 0))
    for minute in (45, 46):
        sla.sla_clocks_check(now=wib(2026, 12, 1, 8, minute))
    assert Notification.objects.filter(user=boss, kind="sla_escalation").count() == 1
    for minute in (0, 1, 2):
        sla.sla_clocks_check(now=wib(2026, 12, 1, 9, minute))
    first = clock(case, SlaMetric.FIRST_RESPONSE)
    assert sorted(SlaEscalation.objects.filter(clock=first).values_list("rule__name",
                                                                        flat=True)) == [
        "Raise", "Second line", "Tell the boss"]
    case.refresh_from_db()
    assert case.priority == "high" and case.team == second_line and case.assignee is None
    # The raised priority retargeted the resolution clock (high: 4 h), keeping elapsed time.
    resolution = clock(case)
    assert resolution.target_seconds == 4 * HOUR and resolution.priority == "high"
    assert len(events("service.sla.escalated")) == 3
    assert SlaEscalation.objects.count() == 3


def test_calendar_change_and_new_holiday_move_running_clocks(org, owner):
    policy = make_policy(org, resolution=8 * 60, holidays=False)
    case = open_case(org, now=wib(2026, 12, 1, 8, 0))  # due Tue 16:00
    assert clock(case).due_at == wib(2026, 12, 1, 16, 0)
    calendars.holiday_add(calendar=policy.calendar, actor=owner, date="2026-12-02",
                          name="Company day", now=wib(2026, 12, 1, 12, 0))
    assert clock(case).due_at == wib(2026, 12, 1, 16, 0)  # today unchanged
    calendars.calendar_update(calendar=policy.calendar, actor=owner, now=wib(2026, 12, 1, 12, 0),
                              weekly_hours={str(d): [["08:00", "14:00"]] for d in range(1, 6)})
    res = clock(case)
    assert res.elapsed_seconds == 4 * HOUR
    # 2 h left today (12–14), Wednesday is the company day, 2 h on Thursday.
    assert res.due_at == wib(2026, 12, 3, 10, 0)


def test_public_holidays_load_idempotently_and_removed_ones_stay_removed(org, owner):
    calendar = calendars.calendar_create(organization=org, actor=owner, name="Jakarta",
                                         load_holidays=False)
    added = calendars.calendar_load_public_holidays(calendar=calendar, years=[2026])
    assert added == Holiday.objects.filter(calendar=calendar).count() > 10
    assert calendars.calendar_load_public_holidays(calendar=calendar, years=[2026]) == 0
    christmas = Holiday.objects.get(calendar=calendar, date="2026-12-25")
    calendars.holiday_remove(holiday=christmas, actor=owner)
    now = wib(2026, 12, 31, 12, 0)
    assert calendars.calendars_load_next_year(now=now) == {
        "holidays_added": Holiday.objects.filter(calendar=calendar, date__year=2027).count()}
    assert not Holiday.objects.filter(calendar=calendar, date="2026-12-25").exists()
    assert calendars.calendars_load_next_year(now=now) is None


def test_registered_worker_jobs():
    from jalin.core.housekeeping import registered_housekeeping

    jobs = registered_housekeeping()
    assert jobs["service.sla_clocks_check"].every_seconds <= 60
    assert "service.calendar_holidays" in jobs and "service.sla_results_freeze" in jobs


def test_rules_are_validated(org, owner, other_org):
    from jalin.service.calendars import SlaError

    foreign_team = Team.objects.create(organization=other_org, name="Theirs")
    for fields in ({"trigger": "sometimes", "action": "raise_priority"},
                   {"trigger": "breach", "action": "notify_user"},
                   {"trigger": "breach", "action": "reassign_team", "team": foreign_team.pk},
                   {"trigger": "breach", "action": "explode"},
                   {"trigger": "breach", "action": "raise_priority", "metric": "speed"}):
        with pytest.raises(SlaError):
            calendars.rule_create(organization=org, actor=owner, name="Bad", **fields)
    assert not EscalationRule.objects.exists()


def test_merge_cancels_the_clocks(org):
    make_policy(org)
    case = open_case(org, now=wib(2026, 12, 1, 8, 0))
    set_status(case, CaseStatus.MERGED, now=wib(2026, 12, 1, 9, 0))
    assert set(SlaClock.objects.filter(case=case).values_list("state", flat=True)) == {
        SlaClockState.CANCELLED}


def test_time_machine_frozen_now_is_used_by_default(org):
    make_policy(org, first=60)
    with time_machine.travel(wib(2026, 12, 1, 8, 0), tick=False):
        case = open_case(org, now=None)
    assert clock(case, SlaMetric.FIRST_RESPONSE).due_at == wib(2026, 12, 1, 9, 0)
    with time_machine.travel(wib(2026, 12, 1, 9, 0) + timedelta(seconds=1), tick=False):
        assert sla.sla_clocks_check() == {"warned": 1, "breached": 1}
