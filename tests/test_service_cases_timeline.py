"""Case milestones reach the CRM timeline of the case's account (through the event consumer,
idempotently; messages and edits do not), and the auto-close job is registered with the
worker's housekeeping."""

import pytest
from django.urls import reverse

from jalin.core.events import consumer_reset_cursor, events_process
from jalin.core.housekeeping import registered_housekeeping
from jalin.crm.models import TimelineEntry
from jalin.crm.timeline.consumer import TIMELINE_CONSUMER
from jalin.service import cases
from tests.service_world import build_world


def deliver():
    events_process(batch_size=1000)


@pytest.fixture
def world(org, owner):
    return build_world(org, owner)


def test_opened_resolved_reopened_closed_land_on_the_account(world, owner_client):
    case = cases.case_open(organization=world.supplier, subject="Broken tiles",
                           kind="complaint", channel="portal", account=world.account,
                           actor=world.buyer_user)
    cases.case_add_message(case=case, body="On it", from_staff=True, channel="staff",
                           author=world.agent)
    cases.case_update(case=case, actor=world.owner, priority="high")
    cases.case_set_status(case=case, status="resolved", actor=world.agent)
    cases.case_set_status(case=case, status="open", actor=world.agent)
    cases.case_set_status(case=case, status="closed", actor=world.agent)
    deliver()
    lines = list(TimelineEntry.objects.filter(account=world.account, category="service")
                 .order_by("id")
                 .values_list("event_type", "category", "summary"))
    assert lines == [
        ("service.case.opened", "service", "Broken tiles"),
        ("service.case.resolved", "service", "Broken tiles"),
        ("service.case.reopened", "service", "Broken tiles"),
        ("service.case.closed", "service", "Broken tiles"),
    ]
    # Redelivery changes nothing.
    consumer_reset_cursor(name=TIMELINE_CONSUMER, position=0, actor=world.owner)
    deliver()
    assert TimelineEntry.objects.filter(account=world.account, category="service").count() == 4
    body = owner_client.get(reverse("crm:account_detail", args=[world.account.pk])
                            ).content.decode()
    assert "Service case opened: Broken tiles" in body
    assert reverse("service:case_detail", args=[case.pk]) in body


def test_case_of_an_account_not_on_the_hub_still_lands(world):
    cases.case_open(organization=world.supplier, subject="Walk-in question", kind="question",
                    channel="staff", account=world.plain_account, actor=world.owner)
    deliver()
    assert TimelineEntry.objects.filter(account=world.plain_account,
                                        event_type="service.case.opened").count() == 1


def test_auto_close_is_a_housekeeping_job():
    job = registered_housekeeping()["service.cases_auto_close"]
    assert job.func is cases.cases_auto_close and job.every_seconds == 3600
