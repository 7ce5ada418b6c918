"""Changes affecting customers, the opportunity register and the CSI register: services,
the consumers that raise improvements from survey answers and resolved complaints
(idempotent, and harmless to the desk when they fail), and the pages."""

import datetime
import hashlib

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from jalin.brm import register_selectors, registers
from jalin.brm.consumers import CASE_CONSUMER, SURVEY_CONSUMER
from jalin.brm.models import CustomerChange, Improvement, OpportunityRecord
from jalin.brm.register_base import RegisterError, StaleVersion
from jalin.core import consumers as consumer_registry
from jalin.core.events import consumer_deliver, emit_event, events_sequence
from jalin.core.events_models import ConsumerState
from jalin.service.models import Case, Survey, SurveyInvitation, SurveyResponse
from tests.brm_world import make_world

pytestmark = pytest.mark.django_db
NOW = datetime.datetime(2026, 11, 2, 9, 0, tzinfo=datetime.UTC)


@pytest.fixture
def world(org, owner):
    return make_world(org, owner)


# --- Changes -------------------------------------------------------------------------------


def test_change_response_time_is_set_on_first_response(world):
    change = registers.change_create(organization=world.org, actor=world.owner,
                                     account=world.account, origin="ours",
                                     title="New warehouse system", impact_level="high",
                                     impact="Orders delayed a day", now=NOW)
    assert change.responded_at is None and registers.response_time(change) is None
    later = NOW + datetime.timedelta(hours=5)
    change = registers.change_update(change=change, actor=world.owner, version=1,
                                     response="Extra shift on weekends", now=later)
    assert change.responded_at == later and change.responded_by == world.owner
    assert registers.response_time(change) == datetime.timedelta(hours=5)
    # Editing the response later keeps the first response time.
    change = registers.change_update(change=change, actor=world.owner, version=2,
                                     response="Extra shifts", now=later + datetime.timedelta(
                                         days=1))
    assert change.responded_at == later
    with pytest.raises(StaleVersion):
        registers.change_update(change=change, actor=world.owner, version=1, title="x")


def test_change_bad_input(world, org):
    for bad in ({"origin": "martian"}, {"title": ""}, {"impact_level": "huge"},
                {"account": None}):
        fields = {"account": world.account, "origin": "ours", "title": "x", **bad}
        with pytest.raises(RegisterError):
            registers.change_create(organization=org, actor=world.owner, **fields)
    assert not CustomerChange.objects.exists()


def test_change_selectors_filter(world):
    with time_machine.travel(NOW, tick=False):
        registers.change_create(organization=world.org, actor=world.owner,
                                account=world.account, origin="customer", title="They moved",
                                response="Updated routes")
        registers.change_create(organization=world.org, actor=world.owner,
                                account=world.account, origin="ours", title="Price change")
    org = world.org
    assert register_selectors.changes_for(organization=org, responded=True).count() == 1
    assert register_selectors.changes_for(organization=org, origin="ours").get().title == (
        "Price change")
    period = register_selectors.Period(start=datetime.date(2026, 11, 3))
    assert not register_selectors.changes_for(organization=org, period=period).exists()
    assert len(register_selectors.changes_of_account(organization=org,
                                                     account_id=world.account.pk)) == 2


def test_change_pages(world, owner_client, member_client, outsider_client,
                      django_assert_max_num_queries):
    response = owner_client.post(reverse("brm:change_create"), {
        "account": world.account.pk, "origin": "ours", "title": "New invoicing run",
        "impact_level": "low", "impact": "Invoices on Mondays", "response": ""})
    change = CustomerChange.objects.get()
    assert response.status_code == 302
    bad = owner_client.post(reverse("brm:change_create"), {
        "account": world.account.pk, "origin": "nope", "title": "x"})
    assert bad.status_code == 400 and CustomerChange.objects.count() == 1
    response = owner_client.post(reverse("brm:change_detail", args=[change.pk]), {
        "version": 1, "origin": "ours", "title": "New invoicing run", "impact_level": "low",
        "impact": "Invoices on Mondays", "response": "Told them in the review"})
    assert response.status_code == 302
    change.refresh_from_db()
    assert change.responded_at is not None
    for index in range(5):
        registers.change_create(organization=world.org, actor=world.owner,
                                account=world.account, origin="customer",
                                title=f"Change {index}")
    with django_assert_max_num_queries(10):
        page = member_client.get(reverse("brm:changes") + "?responded=yes")
    assert "New invoicing run" in page.content.decode()
    assert "Change 1" not in page.content.decode()
    assert member_client.post(reverse("brm:change_detail", args=[change.pk]),
                              {"version": 2, "title": "x"}).status_code == 403
    assert outsider_client.get(reverse("brm:change_detail", args=[change.pk])).status_code == 404
    assert "New invoicing run" not in outsider_client.get(reverse("brm:changes")).content.decode()
    csv_body = b"".join(owner_client.get(reverse("brm:change_export") + "?responded=no")
                        .streaming_content).decode()
    assert "Change 4" in csv_body and "New invoicing run" not in csv_body


# --- Opportunities -------------------------------------------------------------------------


def test_opportunity_lifecycle(world):
    opportunity = registers.opportunity_create(organization=world.org, actor=world.owner,
                                               title="Route optimisation AI",
                                               account=world.account)
    with pytest.raises(RegisterError) as error:
        registers.opportunity_transition(opportunity=opportunity, action="record",
                                         actor=world.owner, version=1,
                                         service=world.service)
    assert error.value.code == "invalid_transition"
    with pytest.raises(RegisterError):  # the assessment text is required
        registers.opportunity_transition(opportunity=opportunity, action="assess",
                                         actor=world.owner, version=1, assessment=" ")
    opportunity = registers.opportunity_transition(
        opportunity=opportunity, action="assess", actor=world.owner, version=1,
        assessment="Customer keen; pilot in Q1", now=NOW)
    assert (opportunity.status, opportunity.assessed_at) == ("assessed", NOW)
    with pytest.raises(RegisterError):  # a service is required to record it
        registers.opportunity_transition(opportunity=opportunity, action="record",
                                         actor=world.owner, version=opportunity.version)
    opportunity = registers.opportunity_transition(
        opportunity=opportunity, action="record", actor=world.owner,
        version=opportunity.version, service=world.service.pk, now=NOW)
    assert (opportunity.status, opportunity.service, opportunity.recorded_at) == (
        "recorded", world.service, NOW)
    with pytest.raises(RegisterError):
        registers.opportunity_transition(opportunity=opportunity, action="decline",
                                         actor=world.owner, version=opportunity.version)


def test_opportunity_pages(world, owner_client, outsider_client):
    response = owner_client.post(reverse("brm:opportunity_create"), {
        "title": "E-invoicing", "kind": "technology", "account": world.account.pk,
        "estimated_value": "5000000"})
    assert response.status_code == 302
    opportunity = OpportunityRecord.objects.get()
    response = owner_client.post(reverse("brm:opportunity_transition", args=[opportunity.pk]),
                                 {"action": "assess", "version": 1, "assessment": "Wanted"})
    assert response.status_code == 302
    bad = owner_client.post(reverse("brm:opportunity_transition", args=[opportunity.pk]),
                            {"action": "record", "version": 2, "service": ""})
    assert bad.status_code == 400
    ok = owner_client.post(reverse("brm:opportunity_transition", args=[opportunity.pk]),
                           {"action": "record", "version": 2, "service": world.service.pk})
    assert ok.status_code == 302
    assert OpportunityRecord.objects.get().status == "recorded"
    listing = owner_client.get(reverse("brm:opportunities") + "?status=recorded")
    assert "E-invoicing" in listing.content.decode()
    csv_body = b"".join(owner_client.get(reverse("brm:opportunity_export"))
                        .streaming_content).decode()
    assert "E-invoicing" in csv_body and "recorded" in csv_body
    assert outsider_client.get(reverse("brm:opportunity_detail",
                                       args=[opportunity.pk])).status_code == 404
    assert outsider_client.post(reverse("brm:opportunity_transition", args=[opportunity.pk]),
                                {"action": "decline", "version": 3}).status_code == 404


# --- Improvements --------------------------------------------------------------------------


def test_improvement_lifecycle_needs_realized_benefit_to_close(world):
    improvement = registers.improvement_create(organization=world.org, actor=world.owner,
                                               title="Faster refunds", source="feedback",
                                               expected_benefit="Fewer complaints",
                                               expected_value="1000")
    assert improvement.number == 1
    for action in ("accept", "approve", "start", "monitor"):
        improvement = registers.improvement_transition(improvement=improvement, action=action,
                                                       actor=world.owner,
                                                       version=improvement.version)
    with pytest.raises(RegisterError) as error:
        registers.improvement_transition(improvement=improvement, action="close",
                                         actor=world.owner, version=improvement.version)
    assert error.value.field == "realized_benefit"
    improvement = registers.improvement_transition(
        improvement=improvement, action="close", actor=world.owner,
        version=improvement.version, realized_benefit="Complaints halved", now=NOW)
    assert (improvement.status, improvement.closed_at) == ("closed", NOW)
    assert list(improvement.status_changes.order_by("id").values_list("to_status", flat=True)) == [
        "new", "accepted", "approved", "in_progress", "monitor", "closed"]
    with pytest.raises(RegisterError):
        registers.improvement_transition(improvement=improvement, action="cancel",
                                         actor=world.owner, version=improvement.version)
    with pytest.raises(RegisterError):
        registers.improvement_update(improvement=improvement, actor=world.owner,
                                     version=improvement.version, title="x")


def test_improvement_illegal_move_and_stale(world):
    improvement = registers.improvement_create(organization=world.org, actor=world.owner,
                                               title="Label printer")
    with pytest.raises(RegisterError):
        registers.improvement_transition(improvement=improvement, action="start",
                                         actor=world.owner, version=1)
    with pytest.raises(StaleVersion):
        registers.improvement_transition(improvement=improvement, action="accept",
                                         actor=world.owner, version=7)
    improvement.refresh_from_db()
    assert improvement.status == "new" and improvement.status_changes.count() == 1


def test_improvement_pages(world, owner_client, member_client, outsider_client,
                           django_assert_max_num_queries):
    response = owner_client.post(reverse("brm:improvement_create"), {
        "title": "Clearer invoices", "source": "service_review", "owner": world.owner.pk,
        "expected_value": "abc"})
    assert response.status_code == 400 and not Improvement.objects.exists()
    response = owner_client.post(reverse("brm:improvement_create"), {
        "title": "Clearer invoices", "source": "service_review", "owner": world.owner.pk,
        "account": world.account.pk})
    improvement = Improvement.objects.get()
    assert response.status_code == 302
    for action in ("accept", "approve", "start", "monitor"):
        improvement.refresh_from_db()
        assert owner_client.post(reverse("brm:improvement_transition", args=[improvement.pk]),
                                 {"action": action, "version": improvement.version}
                                 ).status_code == 302
    improvement.refresh_from_db()
    refused = owner_client.post(reverse("brm:improvement_transition", args=[improvement.pk]),
                                {"action": "close", "version": improvement.version})
    assert refused.status_code == 400
    closed = owner_client.post(reverse("brm:improvement_transition", args=[improvement.pk]),
                               {"action": "close", "version": improvement.version,
                                "realized_benefit": "Fewer questions", "realized_value": "9"})
    assert closed.status_code == 302
    for index in range(6):
        registers.improvement_create(organization=world.org, actor=world.owner,
                                     title=f"Idea {index}", account=world.account)
    with django_assert_max_num_queries(12):
        page = member_client.get(reverse("brm:improvements") + "?status=open")
    body = page.content.decode()
    assert "Idea 5" in body and "Clearer invoices" not in body
    assert member_client.post(reverse("brm:improvement_transition", args=[improvement.pk]),
                              {"action": "cancel", "version": 1}).status_code == 403
    assert outsider_client.get(reverse("brm:improvement_detail",
                                       args=[improvement.pk])).status_code == 404
    csv_body = b"".join(owner_client.get(reverse("brm:improvement_export"))
                        .streaming_content).decode()
    assert "CSI-1" in csv_body and "Fewer questions" in csv_body


# --- Consumers -----------------------------------------------------------------------------


def _survey_response(world, *, score, comment="", case=None):
    survey, _ = Survey.objects.get_or_create(
        organization=world.org, name="CSAT", defaults={
            "kind": "csat", "question": "How did we do?", "good_threshold": 4})
    token = f"{score}-{comment}-{SurveyInvitation.objects.count()}"
    invitation = SurveyInvitation.objects.create(
        organization=world.org, survey=survey, case=case, account=world.account,
        buyer=world.buyer, token_hash=hashlib.sha256(token.encode()).hexdigest(),
        expires_at=timezone.now() + datetime.timedelta(days=7))
    return SurveyResponse.objects.create(
        organization=world.org, invitation=invitation, survey=survey, score=score,
        normalized=score * 20, comment=comment, case=case, account=world.account)


def _emit(world, type_, payload, aggregate=None):
    from django.db import transaction

    with transaction.atomic():
        return emit_event(type=type_, organization=world.org, payload=payload,
                          aggregate=aggregate)


def _deliver(name):
    events_sequence()
    return consumer_deliver(name=name)


def _case(world, *, kind, number=1):
    return Case.objects.create(organization=world.org, number=number, kind=kind,
                               subject="Driver was rude", description="Very rude.",
                               account=world.account, buyer=world.buyer, status="resolved")


def test_survey_consumer_raises_once_for_low_score_or_comment(world):
    low = _survey_response(world, score=2)
    good_comment = _survey_response(world, score=5, comment="Could be faster")
    good = _survey_response(world, score=5)
    for response, is_good in ((low, False), (good_comment, True), (good, True)):
        payload = {"response_id": response.pk, "survey_kind": "csat", "score": response.score,
                   "good": is_good, "has_comment": bool(response.comment),
                   "account_id": world.account.pk, "case_id": None}
        event = _emit(world, "service.survey.answered", payload)
    _deliver(SURVEY_CONSUMER)
    assert set(Improvement.objects.values_list("source_response_id", flat=True)) == {
        low.pk, good_comment.pk}
    assert set(Improvement.objects.values_list("source", flat=True)) == {"survey"}
    # The same event delivered again (a replay) and a duplicate event: still one each.
    from jalin.brm.consumers import raise_from_survey_answer

    raise_from_survey_answer(event)
    _emit(world, "service.survey.answered", {"response_id": low.pk, "good": False})
    _deliver(SURVEY_CONSUMER)
    assert Improvement.objects.count() == 2
    improvement = Improvement.objects.get(source_response=good_comment)
    assert improvement.account == world.account and improvement.number in (1, 2)
    assert "Could be faster" in improvement.description


def test_case_consumer_raises_for_complaints_and_feedback_once(world):
    complaint = _case(world, kind="complaint", number=1)
    question = _case(world, kind="question", number=2)
    feedback = _case(world, kind="feedback", number=3)
    for case in (complaint, question, feedback, complaint):
        _emit(world, "service.case.resolved", {"case_id": case.pk, "kind": case.kind},
              aggregate=case)
    _deliver(CASE_CONSUMER)
    rows = dict(Improvement.objects.values_list("source_case_id", "source"))
    assert rows == {complaint.pk: "complaint", feedback.pk: "feedback"}
    assert Improvement.objects.get(source_case=complaint).title.startswith("From case #1")


def test_a_failing_consumer_does_not_touch_the_desk(world, monkeypatch):
    complaint = _case(world, kind="complaint")

    def broken(event):
        raise RuntimeError("CSI register is down")

    original = consumer_registry.get_consumer(CASE_CONSUMER)
    monkeypatch.setitem(consumer_registry._registry, CASE_CONSUMER,
                        consumer_registry.Consumer(name=CASE_CONSUMER, handler=broken,
                                                   event_types=original.event_types))
    _emit(world, "service.case.resolved", {"case_id": complaint.pk}, aggregate=complaint)
    _deliver(CASE_CONSUMER)  # does not raise
    complaint.refresh_from_db()
    assert complaint.status == "resolved" and not Improvement.objects.exists()
    state = ConsumerState.objects.get(name=CASE_CONSUMER)
    assert "CSI register is down" in state.last_error
    # Once the register is back, the event is delivered and the entry appears.
    monkeypatch.setitem(consumer_registry._registry, CASE_CONSUMER, original)
    state.next_attempt_at = None
    state.save()
    _deliver(CASE_CONSUMER)
    assert Improvement.objects.filter(source_case=complaint).count() == 1


def test_numbering_continues_after_rows_made_without_the_counter(world):
    Improvement.objects.create(organization=world.org, number=7, title="Imported")
    improvement = registers.improvement_create(organization=world.org, actor=world.owner,
                                               title="Next")
    assert improvement.number == 8
