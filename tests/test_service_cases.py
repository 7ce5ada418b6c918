"""Case services: opening and numbering, conversation and first response, the status
workflow with reopening and auto-close, updates with optimistic versions, merging, and the
SLA hooks they call."""

import datetime
import threading

import pytest
from django.db import connection
from django.utils import timezone

from jalin.core.models import AuditLog, Event, NumberSequence
from jalin.service import cases, sla
from jalin.service.cases import CASE_NUMBERS, ServiceError
from jalin.service.models import (
    Case,
    CaseEvent,
    CaseMessage,
    CaseStatus,
    Service,
    Team,
)
from jalin.tenancy.services import StaleVersion
from tests.conftest import make_org
from tests.service_world import build_world

T0 = datetime.datetime(2026, 11, 30, 2, 0, tzinfo=datetime.UTC)  # Monday 09:00 Jakarta


@pytest.fixture
def world(org, owner):
    return build_world(org, owner)


def open_case(world, **extra):
    fields = {"organization": world.supplier, "subject": "Broken tiles", "kind": "complaint",
              "channel": "portal", "account": world.account, "actor": world.buyer_user,
              "requester": world.buyer_user, "description": "Half the tiles arrived broken.",
              "now": T0}
    fields.update(extra)
    return cases.case_open(**fields)


@pytest.fixture
def hooks(monkeypatch):
    """Record the SLA hooks the services call (the engine itself is tested elsewhere)."""
    calls = []
    for name in ("sla_start", "sla_on_first_response", "sla_on_status_change",
                 "sla_retarget"):
        def hook(*, _name=name, **kwargs):
            calls.append((_name, kwargs.get("old_status")))
        monkeypatch.setattr(sla, name, hook)
    return calls


def events(case, type_):
    return Event.objects.filter(type=type_, aggregate_id=str(case.pk))


# --- Opening -------------------------------------------------------------------------------


def test_open_numbers_links_buyer_and_records(world, hooks):
    case = open_case(world)
    second = open_case(world, subject="Another", account=world.other_account)
    assert (case.number, second.number) == (1, 2)
    assert case.status == CaseStatus.NEW and case.priority == "normal"
    assert case.buyer_id == world.toko.pk and second.buyer_id == world.other.pk
    assert case.requester_email == world.buyer_user.email
    assert case.created_at == T0
    assert CaseEvent.objects.filter(case=case, action="opened").count() == 1
    event = events(case, "service.case.opened").get()
    assert event.organization_id == world.supplier.pk
    assert event.payload["buyer_id"] == world.toko.pk
    assert event.payload["account_id"] == world.account.pk
    assert event.payload["subject"] == "Broken tiles"
    assert AuditLog.objects.filter(action="service.case.opened", object_id=str(case.pk)).exists()
    assert hooks[0][0] == "sla_start"


def test_numbers_are_per_organization(world, owner):
    other_supplier = make_org("second-supplier")
    open_case(world)
    case = cases.case_open(organization=other_supplier, subject="Hello", kind="question",
                           channel="staff", actor=owner)
    assert case.number == 1


def test_contact_only_fills_account_and_email(world):
    case = open_case(world, account=None, contact=world.contact, requester=None)
    assert case.account_id == world.account.pk and case.buyer_id == world.toko.pk
    assert case.requester_email == "lina@toko.test"


@pytest.mark.parametrize("bad, field", [
    ({"subject": "   "}, "subject"),
    ({"subject": "x" * 201}, "subject"),
    ({"kind": "rant"}, "kind"),
    ({"channel": "pigeon"}, "channel"),
    ({"priority": "urgent!"}, "priority"),
    ({"requester_email": "not-an-email"}, "requester_email"),
    ({"category": "c" * 101}, "category"),
])
def test_open_rejects_bad_input_and_writes_nothing(world, bad, field):
    with pytest.raises(ServiceError) as error:
        open_case(world, **bad)
    assert error.value.field == field
    assert not Case.objects.exists() and not Event.objects.filter(
        type__startswith="service.").exists()


def test_open_rejects_records_of_another_organization(world, outsider, other_org):
    foreign_service = Service.objects.create(organization=other_org, code="X", name="X")
    foreign_team = Team.objects.create(organization=other_org, name="Theirs")
    foreign_account = type(world.account).objects.create(organization=other_org, name="Theirs")
    for extra, field in (({"service": foreign_service}, "service"),
                         ({"team": foreign_team}, "team"),
                         ({"account": foreign_account}, "account"),
                         ({"assignee": outsider}, "assignee")):
        with pytest.raises(ServiceError) as error:
            open_case(world, **extra)
        assert error.value.code == "not_found" and error.value.field == field
    assert not Case.objects.exists()
    assert not NumberSequence.objects.filter(scope=CASE_NUMBERS, last__gt=0).exists()


def test_open_with_order_of_another_buyer_is_refused(org, owner):
    world = build_world(org, owner, with_order=True)
    case = open_case(world, order=world.order)
    assert case.order_id == world.order.pk
    with pytest.raises(ServiceError) as error:
        open_case(world, order=world.order, account=world.other_account)
    assert error.value.field == "order"


# --- Conversation --------------------------------------------------------------------------


def test_first_public_staff_reply_is_the_first_response(world, hooks):
    case = open_case(world)
    hooks.clear()
    later = T0 + datetime.timedelta(hours=1)
    cases.case_add_message(case=case, body="Internal: check stock", from_staff=True,
                           channel="staff", visibility="internal", author=world.agent,
                           now=later)
    case.refresh_from_db()
    assert case.first_responded_at is None and case.status == CaseStatus.NEW
    reply = cases.case_add_message(case=case, body="Sorry! Sending new tiles.",
                                   from_staff=True, channel="staff", author=world.agent,
                                   now=later + datetime.timedelta(minutes=5))
    case.refresh_from_db()
    assert case.first_responded_at == later + datetime.timedelta(minutes=5)
    assert case.status == CaseStatus.OPEN
    assert ("sla_on_first_response", None) in hooks
    assert ("sla_on_status_change", CaseStatus.NEW) in hooks
    cases.case_add_message(case=case, body="And again", from_staff=True, channel="staff",
                           author=world.agent, now=later + datetime.timedelta(hours=2))
    case.refresh_from_db()
    assert case.first_responded_at == later + datetime.timedelta(minutes=5)
    assert [name for name, _ in hooks].count("sla_on_first_response") == 1
    event = Event.objects.filter(type="service.case.message_added").last()
    assert event.payload["message_id"] != reply.pk or event.payload["visibility"] == "public"
    assert {e.payload["visibility"] for e in Event.objects.filter(
        type="service.case.message_added")} == {"internal", "public"}


@pytest.mark.parametrize("status", [CaseStatus.WAITING, CaseStatus.RESOLVED])
def test_customer_message_reopens_waiting_or_resolved(world, hooks, status):
    case = open_case(world)
    cases.case_set_status(case=case, status=CaseStatus.OPEN, actor=world.agent, now=T0)
    cases.case_set_status(case=case, status=status, actor=world.agent, now=T0)
    hooks.clear()
    cases.case_add_message(case=case, body="Still broken", from_staff=False, channel="portal",
                           author=world.buyer_user, now=T0 + datetime.timedelta(hours=3))
    case.refresh_from_db()
    assert case.status == CaseStatus.OPEN and case.resolved_at is None
    assert hooks == [("sla_on_status_change", status)]
    assert CaseEvent.objects.filter(case=case, to_value="open").count() == 2


def test_customers_cannot_write_internal_notes_or_empty_messages(world):
    case = open_case(world)
    version = Case.objects.get(pk=case.pk).version
    with pytest.raises(ServiceError):
        cases.case_add_message(case=case, body="psst", from_staff=False, channel="portal",
                               visibility="internal")
    with pytest.raises(ServiceError):
        cases.case_add_message(case=case, body="  ", from_staff=True, channel="staff")
    with pytest.raises(ServiceError):
        cases.case_add_message(case=case, body="x", from_staff=True, channel="staff",
                               visibility="secret")
    assert not CaseMessage.objects.exists()
    assert Case.objects.get(pk=case.pk).version == version


def test_closed_and_merged_cases_take_no_messages(world):
    case = open_case(world)
    cases.case_set_status(case=case, status=CaseStatus.CLOSED, actor=world.agent)
    with pytest.raises(ServiceError) as error:
        cases.case_add_message(case=case, body="hello?", from_staff=False, channel="portal")
    assert error.value.code == "case_closed"


# --- Status --------------------------------------------------------------------------------


def test_workflow_resolve_reopen_close(world, hooks):
    case = open_case(world)
    cases.case_set_status(case=case, status=CaseStatus.OPEN, actor=world.agent, now=T0)
    cases.case_set_status(case=case, status=CaseStatus.WAITING, actor=world.agent, now=T0)
    resolved_at = T0 + datetime.timedelta(days=1)
    cases.case_set_status(case=case, status=CaseStatus.RESOLVED, actor=world.agent,
                          note="Replaced", now=resolved_at)
    assert case.resolved_at == resolved_at and case.status == CaseStatus.RESOLVED
    assert events(case, "service.case.resolved").count() == 1
    cases.case_set_status(case=case, status=CaseStatus.OPEN, actor=world.agent, now=T0)
    assert case.resolved_at is None
    assert CaseEvent.objects.filter(case=case, action="reopened").count() == 1
    assert events(case, "service.case.reopened").count() == 1
    cases.case_set_status(case=case, status=CaseStatus.CLOSED, actor=world.agent, now=T0)
    assert case.closed_at == T0
    for status in (CaseStatus.OPEN, CaseStatus.RESOLVED):
        with pytest.raises(ServiceError) as error:
            cases.case_set_status(case=case, status=status, actor=world.agent)
        assert error.value.code == "invalid_transition"
    assert [old for name, old in hooks if name == "sla_on_status_change"] == [
        "new", "open", "waiting", "resolved", "open"]


def test_status_rejects_merged_unknown_same_and_stale(world):
    case = open_case(world)
    for status in ("merged", "bogus", "new"):
        with pytest.raises(ServiceError):
            cases.case_set_status(case=case, status=status, actor=world.agent)
    with pytest.raises(StaleVersion):
        cases.case_set_status(case=case, status="open", actor=world.agent,
                              version=case.version + 5)
    assert Case.objects.get(pk=case.pk).status == CaseStatus.NEW


def test_auto_close_after_days_is_idempotent(world):
    old = open_case(world)
    fresh = open_case(world, subject="Fresh")
    cases.case_set_status(case=old, status="resolved", actor=world.agent, now=T0)
    cases.case_set_status(case=fresh, status="resolved", actor=world.agent,
                          now=T0 + datetime.timedelta(days=6))
    now = T0 + datetime.timedelta(days=cases.AUTO_CLOSE_DAYS, minutes=1)
    assert cases.cases_auto_close(now=now) == 1
    assert cases.cases_auto_close(now=now) == 0
    old.refresh_from_db()
    fresh.refresh_from_db()
    assert old.status == CaseStatus.CLOSED and old.closed_at == now
    assert fresh.status == CaseStatus.RESOLVED
    assert events(old, "service.case.closed").count() == 1


def test_auto_close_days_come_from_the_setting(world, settings):
    settings.JALIN_SERVICE_AUTO_CLOSE_DAYS = 2
    case = open_case(world)
    cases.case_set_status(case=case, status="resolved", actor=world.agent, now=T0)
    assert cases.cases_auto_close(now=T0 + datetime.timedelta(days=1)) == 0
    assert cases.cases_auto_close(now=T0 + datetime.timedelta(days=2, seconds=1)) == 1


# --- Updating ------------------------------------------------------------------------------


def test_update_records_each_change_and_retargets(world, hooks):
    case = open_case(world)
    team = Team.objects.create(organization=world.supplier, name="First line")
    hooks.clear()
    version = case.version
    cases.case_update(case=case, actor=world.owner, version=version, priority="high",
                      assignee=world.agent, team=team, category="Delivery")
    case.refresh_from_db()
    assert (case.priority, case.assignee_id, case.team_id, case.category) == (
        "high", world.agent.pk, team.pk, "Delivery")
    assert case.version == version + 1
    assert hooks == [("sla_retarget", None)]
    assert set(CaseEvent.objects.filter(case=case).values_list("action", flat=True)) >= {
        "priority", "assignee", "team", "category"}
    event = events(case, "service.case.updated").get()
    assert event.payload["changed"] == ["assignee", "category", "priority", "team"]
    hooks.clear()
    cases.case_update(case=case, actor=world.owner, category="Delivery")  # no change
    assert Case.objects.get(pk=case.pk).version == version + 1 and hooks == []


def test_update_stale_version_and_bad_input_change_nothing(world, other_org):
    case = open_case(world)
    with pytest.raises(StaleVersion):
        cases.case_update(case=case, actor=world.owner, version=case.version - 1,
                          priority="low")
    with pytest.raises(ServiceError):
        cases.case_update(case=case, actor=world.owner, status="closed")
    with pytest.raises(ServiceError):
        cases.case_update(case=case, actor=world.owner, priority="meh")
    foreign_team = Team.objects.create(organization=other_org, name="Theirs")
    with pytest.raises(ServiceError):
        cases.case_update(case=case, actor=world.owner, team=foreign_team)
    with pytest.raises(ServiceError):
        cases.case_update(case=case, actor=world.owner, contact=world.contact,
                          account=world.other_account)
    fresh = Case.objects.get(pk=case.pk)
    assert (fresh.priority, fresh.team_id, fresh.version) == ("normal", None, case.version)


def test_update_account_moves_buyer(world):
    case = open_case(world)
    cases.case_update(case=case, actor=world.owner, account=world.plain_account)
    assert case.buyer_id is None
    cases.case_update(case=case, actor=world.owner, account=world.other_account)
    assert Case.objects.get(pk=case.pk).buyer_id == world.other.pk


# --- Merging -------------------------------------------------------------------------------


def test_merge_copies_messages_links_and_freezes_source(world, hooks):
    target = open_case(world, account=None, requester=None, subject="Tiles")
    source = open_case(world, subject="Tiles broken (dup)", contact=world.contact)
    cases.case_add_message(case=source, body="Photo attached", from_staff=False,
                           channel="portal", author=world.buyer_user,
                           now=T0 + datetime.timedelta(minutes=1))
    cases.case_add_message(case=source, body="note", from_staff=True, channel="staff",
                           visibility="internal", author=world.agent,
                           now=T0 + datetime.timedelta(minutes=2))
    hooks.clear()
    cases.case_merge(source=source, target=target, actor=world.agent,
                     now=T0 + datetime.timedelta(hours=1))
    source.refresh_from_db()
    target.refresh_from_db()
    assert source.status == CaseStatus.MERGED and source.merged_into_id == target.pk
    bodies = list(target.messages.values_list("body", "visibility"))
    assert bodies == [("Half the tiles arrived broken.", "public"),
                      ("Photo attached", "public"), ("note", "internal")]
    assert source.messages.count() == 2  # the source keeps its own
    assert target.account_id == world.account.pk and target.buyer_id == world.toko.pk
    assert target.contact_id == world.contact.pk
    assert CaseEvent.objects.filter(case=source, action="merged_into").exists()
    assert CaseEvent.objects.filter(case=target, action="merged_from").exists()
    assert hooks == [("sla_on_status_change", CaseStatus.NEW)]
    assert events(source, "service.case.merged").get().payload["target_id"] == target.pk
    # Read-only from now on.
    with pytest.raises(ServiceError):
        cases.case_add_message(case=source, body="hi", from_staff=True, channel="staff")
    with pytest.raises(ServiceError):
        cases.case_set_status(case=source, status="open", actor=world.agent)
    with pytest.raises(ServiceError):
        cases.case_update(case=source, actor=world.agent, priority="high")
    with pytest.raises(ServiceError):
        cases.case_merge(source=source, target=target, actor=world.agent)


def test_merge_refuses_self_other_org_and_closed_target(world, owner):
    case = open_case(world)
    with pytest.raises(ServiceError):
        cases.case_merge(source=case, target=case, actor=world.agent)
    foreign = cases.case_open(organization=make_org("elsewhere"), subject="x",
                              kind="question", channel="staff")
    with pytest.raises(ServiceError):
        cases.case_merge(source=case, target=foreign, actor=world.agent)
    closed = open_case(world, subject="closed")
    cases.case_set_status(case=closed, status="closed", actor=world.agent)
    with pytest.raises(ServiceError):
        cases.case_merge(source=case, target=closed, actor=world.agent)
    assert Case.objects.get(pk=case.pk).status == CaseStatus.NEW


# --- Concurrency (PostgreSQL) --------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_opens_get_distinct_gapless_numbers(org, owner):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL row locks")
    world = build_world(org, owner)
    errors, barrier = [], threading.Barrier(6)

    def worker(index):
        try:
            barrier.wait()
            cases.case_open(organization=world.supplier, subject=f"Case {index}",
                            kind="question", channel="api", account=world.account,
                            now=timezone.now())
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    numbers = sorted(Case.objects.filter(organization=org).values_list("number", flat=True))
    assert numbers == [1, 2, 3, 4, 5, 6]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_customer_message_and_resolve_do_not_lose_updates(org, owner):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL row locks")
    world = build_world(org, owner)
    case = open_case(world)
    cases.case_set_status(case=case, status="open", actor=world.agent)
    barrier = threading.Barrier(2)

    def reply():
        barrier.wait()
        try:
            cases.case_add_message(case=Case.objects.get(pk=case.pk), body="more info",
                                   from_staff=False, channel="portal")
        finally:
            connection.close()

    def resolve():
        barrier.wait()
        try:
            cases.case_set_status(case=Case.objects.get(pk=case.pk), status="resolved",
                                  actor=world.agent)
        finally:
            connection.close()

    threads = [threading.Thread(target=reply), threading.Thread(target=resolve)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    final = Case.objects.get(pk=case.pk)
    # Both happened, one after the other: the version counts both, history has both.
    assert final.version == case.version + 2
    assert CaseMessage.objects.filter(case=case).count() == 1
    assert final.status in (CaseStatus.OPEN, CaseStatus.RESOLVED)
