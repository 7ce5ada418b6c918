"""Test helpers for SLA tests: a supplier with a calendar and policy, and case steps that go
through the desk's case services (which call the SLA hooks)."""

from datetime import datetime
from zoneinfo import ZoneInfo

from jalin.crm.models import Account
from jalin.service import calendars
from jalin.service import cases as case_services
from jalin.service.models import (
    Agreement,
    AgreementStatus,
    CaseStatus,
    SlaClock,
    SlaMetric,
)

WIB = ZoneInfo("Asia/Jakarta")
OFFICE = {str(d): [["08:00", "17:00"]] for d in range(1, 6)}

def wib(*args):
    return datetime(*args, tzinfo=WIB)


def make_policy(org, *, name="Gold", first=60, resolution=8 * 60, targets=None,
                is_default=True, holidays=True, now=None, warn=75, required="95"):
    calendar = calendars.calendar_create(
        organization=org, actor=None, name=f"{name} hours", time_zone="Asia/Jakarta",
        country="ID" if holidays else "", weekly_hours=OFFICE, load_holidays=False, now=now)
    if holidays:
        calendars.calendar_load_public_holidays(calendar=calendar, years=[2026, 2027])
    if targets is None:
        targets = {}
        for priority, factor in (("critical", 0.25), ("high", 0.5), ("normal", 1), ("low", 2)):
            targets[(priority, SlaMetric.FIRST_RESPONSE)] = int(first * factor)
            targets[(priority, SlaMetric.RESOLUTION)] = int(resolution * factor)
    return calendars.policy_create(organization=org, actor=None, name=name, calendar=calendar,
                                   is_default=is_default, targets=targets, warn_at_percent=warn,
                                   required_attainment_percent=required, now=now)


def make_account(org, name="Toko Maju"):
    return Account.objects.create(organization=org, name=name)


def make_agreement(org, account, policy, *, number=1, status=AgreementStatus.ACTIVE,
                   services=(), required="95", **extra):
    agreement = Agreement.objects.create(organization=org, number=number, title=f"SLA {number}",
                                         account=account, sla_policy=policy, status=status,
                                         required_attainment_percent=required, **extra)
    agreement.services.set(services)
    return agreement


def open_case(org, *, now, priority="normal", account=None, service=None, team=None,
              assignee=None, subject="Printer jams"):
    return case_services.case_open(organization=org, subject=subject, kind="incident",
                                   channel="staff", priority=priority, account=account,
                                   service=service, team=team, assignee=assignee, now=now)


def set_status(case, status, *, now, actor=None):
    if status == CaseStatus.MERGED:
        target = open_case(case.organization, now=now, subject="The original")
        case_services.case_merge(source=case, target=target, actor=actor, now=now)
        return case
    return case_services.case_set_status(case=case, status=status, actor=actor, now=now)


def reply(case, *, now, author=None):
    case_services.case_add_message(case=case, body="On it.", from_staff=True,
                                   channel="staff", author=author, now=now)
    case.refresh_from_db()
    return case


def update(case, *, now, actor=None, **changes):
    return case_services.case_update(case=case, actor=actor, now=now, **changes)


def clock(case, metric=SlaMetric.RESOLUTION):
    return SlaClock.objects.get(case=case, metric=metric)
