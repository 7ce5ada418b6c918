"""SLA warnings, breaches and escalations under real concurrency: several workers running
the SLA job at the same moment on PostgreSQL (threads, one connection each)."""

import pytest
from django.db import connection

from jalin.core.events_models import Event
from jalin.core.models import Notification
from jalin.service import calendars, sla
from jalin.service.models import CaseEvent, SlaEscalation, SlaMetric
from tests.sla_world import clock, make_policy, open_case, wib
from tests.test_hub_orders_concurrency import run_threads

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only(db):
    if connection.vendor != "postgresql":
        pytest.skip("concurrency guarantees are proven on PostgreSQL")


def test_concurrent_workers_warn_breach_and_escalate_exactly_once(org, owner):
    make_policy(org, first=60, resolution=8 * 60, holidays=False)
    calendars.rule_create(organization=org, actor=owner, name="Raise", trigger="breach",
                          metric="first_response", action="raise_priority")
    calendars.rule_create(organization=org, actor=owner, name="Tell", trigger="warning",
                          action="notify_user", user=owner.pk)
    cases = [open_case(org, now=wib(2026, 12, 1, 8, 0), assignee=owner, subject=f"Case {i}")
             for i in range(3)]

    def worker(_index):
        return sla.sla_clocks_check(now=wib(2026, 12, 1, 9, 5))

    results = run_threads(worker, 6)
    assert all(error is None for _result, error in results), results
    warned = sum((r or {}).get("warned", 0) for r, _e in results)
    breached = sum((r or {}).get("breached", 0) for r, _e in results)
    assert (warned, breached) == (3, 3)  # three first-response clocks, once each
    assert Event.objects.filter(type="service.sla.warning").count() == 3
    assert Event.objects.filter(type="service.sla.breached").count() == 3
    assert Event.objects.filter(type="service.sla.escalated").count() == 6
    assert SlaEscalation.objects.count() == 6
    assert Notification.objects.filter(kind="sla_warning").count() == 3
    for case in cases:
        case.refresh_from_db()
        assert case.priority == "high"  # raised once, not once per worker
        assert CaseEvent.objects.filter(case=case, action="sla_breached").count() == 1
        assert clock(case, SlaMetric.FIRST_RESPONSE).warned_at is not None
    # A restarted worker finds nothing left to do.
    assert sla.sla_clocks_check(now=wib(2026, 12, 1, 9, 6)) is None
