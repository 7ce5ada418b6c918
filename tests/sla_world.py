"""Test helpers for SLA tests: a supplier with a calendar and policy, and case steps that go
through the desk's case services (which call the SLA hooks)."""

from datetime import datetime
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from jalin.crm.models import Account
from jalin.service import calendars, sla
from jalin.service.models import (
    Agreement,
    AgreementStatus,
    Case,
    CaseStatus,
    SlaClock,
    SlaMetric,
)

WIB = ZoneInfo("Asia/Jakarta")
OFFICE = {str(d): [["08:00", "17:00"]] for d in range(1, 6)}

try:  # the desk's services, when they are there
    from jalin.service import cases as case_services
except ImportError:  # pragma: no cover
    case_services = None


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


def _lock(case):
    return Case.objects.select_for_update().get(pk=case.pk)


def open_case(org, *, now, priority="normal", account=None, service=None, team=None,
              assignee=None, subject="Printer jams"):
    if case_services is not None and hasattr(case_services, "case_open"):
        return case_services.case_open(organization=org, subject=subject, kind="incident",
                                       channel="staff", priority=priority, account=account,
                                       service=service, team=team, assignee=assignee, now=now)
    now = now or timezone.now()
    with transaction.atomic():
        number = (Case.objects.filter(organization=org).count()) + 1
        case = Case.objects.create(organization=org, number=number, subject=subject,
                                   priority=priority, account=account, service=service,
                                   team=team, assignee=assignee, created_at=now, updated_at=now)
        sla.sla_start(case=case, now=now)
    return case


def set_status(case, status, *, now, actor=None):
    if case_services is not None and hasattr(case_services, "case_set_status"):
        return case_services.case_set_status(case=case, status=status, actor=actor, now=now)
    with transaction.atomic():
        locked = _lock(case)
        old = locked.status
        locked.status = status
        if status == CaseStatus.RESOLVED:
            locked.resolved_at = now
        locked.save()
        sla.sla_on_status_change(case=locked, old_status=old, now=now)
    return locked


def reply(case, *, now, author=None):
    if case_services is not None and hasattr(case_services, "case_add_message"):
        case_services.case_add_message(case=case, body="On it.", from_staff=True,
                                       channel="staff", author=author, now=now)
        return Case.objects.get(pk=case.pk)
    with transaction.atomic():
        locked = _lock(case)
        locked.first_responded_at = now
        if locked.status == CaseStatus.NEW:
            locked.status = CaseStatus.OPEN
        locked.save()
        sla.sla_on_first_response(case=locked, now=now)
    return locked


def update(case, *, now, actor=None, **changes):
    if case_services is not None and hasattr(case_services, "case_update"):
        return case_services.case_update(case=case, actor=actor, now=now, **changes)
    with transaction.atomic():
        locked = _lock(case)
        for name, value in changes.items():
            setattr(locked, name, value)
        locked.save()
        sla.sla_retarget(case=locked, now=now)
    return locked


def clock(case, metric=SlaMetric.RESOLUTION):
    return SlaClock.objects.get(case=case, metric=metric)
