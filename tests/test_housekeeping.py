from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from jalin.accounts.models import LoginFailure
from jalin.api.models import IdempotencyRecord
from jalin.core import housekeeping
from jalin.core.housekeeping import HousekeepingSchedule, register_housekeeping


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_apps_register_their_clean_up_jobs():
    names = set(housekeeping.registered_housekeeping())
    assert {"api.idempotency_records_purge", "accounts.login_failures_purge"} <= names


def test_schedule_runs_each_job_once_per_interval_and_survives_a_failing_job(monkeypatch):
    monkeypatch.setattr(housekeeping, "_jobs", {})
    calls = []

    def broken():
        raise RuntimeError("disk full")

    register_housekeeping("broken", broken, every_seconds=10)
    register_housekeeping("counting", lambda: calls.append(1), every_seconds=60)
    clock = FakeClock()
    schedule = HousekeepingSchedule(clock=clock)
    assert schedule.run_due() == 1  # the broken job is logged, the other still runs
    clock.now += 30
    schedule.run_due()
    assert len(calls) == 1  # not due yet
    clock.now += 31
    schedule.run_due()
    assert len(calls) == 2


def test_register_refuses_a_second_function_under_the_same_name(monkeypatch):
    monkeypatch.setattr(housekeeping, "_jobs", {})
    register_housekeeping("job", print, every_seconds=1)
    register_housekeeping("job", print, every_seconds=1)  # same function again: fine
    with pytest.raises(ValueError):
        register_housekeeping("job", repr, every_seconds=1)


def test_worker_pass_purges_expired_idempotency_keys_and_old_login_failures(owner, org, settings):
    now = timezone.now()
    old = LoginFailure.objects.create(
        username="x", ip_address="10.0.0.1",
        created_at=now - timedelta(seconds=settings.JALIN_LOCKOUT_WINDOW_SECONDS + 5),
    )
    recent = LoginFailure.objects.create(username="x", ip_address="10.0.0.1")
    fields = {f.name for f in IdempotencyRecord._meta.get_fields()}
    base = {"organization": org, "user": owner, "method": "POST", "path": "/api/v1/x"}
    base = {k: v for k, v in base.items() if k in fields}
    stale = IdempotencyRecord.objects.create(key="old-key", **base)
    IdempotencyRecord.objects.filter(pk=stale.pk).update(created_at=now - timedelta(hours=25))
    fresh = IdempotencyRecord.objects.create(key="new-key", **base)

    call_command("worker", "--once")

    assert not LoginFailure.objects.filter(pk=old.pk).exists()
    assert LoginFailure.objects.filter(pk=recent.pk).exists()
    assert not IdempotencyRecord.objects.filter(pk=stale.pk).exists()
    assert IdempotencyRecord.objects.filter(pk=fresh.pk).exists()
