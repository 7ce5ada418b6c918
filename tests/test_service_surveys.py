"""Survey services: settings, invitations (per case, periodic, manual), tokens, expiry,
answering (one answer, scale, self-rating) — without the desk's pages."""

import datetime
import hashlib
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from jalin.core.consumers import get_consumer
from jalin.core.events import emit_event
from jalin.core.events_models import Event
from jalin.crm.models import Account, AccountStatus, Contact
from jalin.service import surveys
from jalin.service.models import (
    CaseMessage,
    InvitationStatus,
    Survey,
    SurveyInvitation,
    SurveyResponse,
)
from tests.conftest import make_org
from tests.survey_world import build_world, invite, make_case, make_survey

IMMEDIATE = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def world(org, owner):
    return build_world(org, owner)


@pytest.fixture
def immediate_tasks(settings):
    settings.TASKS = IMMEDIATE


# --- Settings ------------------------------------------------------------------------------


def test_good_threshold_is_required_and_has_no_default(org, owner):
    with pytest.raises(surveys.SurveyError) as error:
        surveys.survey_create(organization=org, actor=owner, name="CSAT", kind="csat",
                              question="How did we do?", trigger="manual")
    assert error.value.field == "good_threshold" and error.value.code == "required"
    assert not Survey.objects.exists()


@pytest.mark.parametrize(("kind", "bad", "good"), [
    ("csat", 0, 1), ("csat", 6, 5), ("nps", 11, 10), ("nps", -1, 0), ("ces", 8, 7),
    ("ces", 0, 1),
])
def test_thresholds_must_lie_on_the_kind_scale(org, owner, kind, bad, good):
    base = {"name": f"{kind} survey", "kind": kind, "question": "Q?", "trigger": "manual"}
    with pytest.raises(surveys.SurveyError) as error:
        surveys.survey_create(organization=org, actor=owner, good_threshold=bad, **base)
    assert error.value.field == "good_threshold"
    with pytest.raises(surveys.SurveyError) as error:
        surveys.survey_create(organization=org, actor=owner, good_threshold=good,
                              follow_up_at_or_below=bad, **base)
    assert error.value.field == "follow_up_at_or_below"
    assert not Survey.objects.exists()
    survey = surveys.survey_create(organization=org, actor=owner, good_threshold=good, **base)
    assert survey.good_threshold == good


def test_periodic_surveys_need_a_period_and_others_have_none(org, owner):
    base = {"name": "Relationship NPS", "kind": "nps", "question": "Recommend us?",
            "good_threshold": 9}
    with pytest.raises(surveys.SurveyError) as error:
        surveys.survey_create(organization=org, actor=owner, trigger="periodic", **base)
    assert error.value.field == "period_days"
    with pytest.raises(surveys.SurveyError) as error:
        surveys.survey_create(organization=org, actor=owner, trigger="manual", period_days=90,
                              **base)
    assert error.value.field == "period_days"
    survey = surveys.survey_create(organization=org, actor=owner, trigger="periodic",
                                   period_days=90, **base)
    assert survey.period_days == 90
    event = Event.objects.get(type="service.survey.created")
    assert event.payload["survey_id"] == survey.pk


def test_duplicate_name_and_stale_version_are_refused(world):
    with pytest.raises(surveys.SurveyError) as error:
        make_survey(world.org, world.owner)
    assert error.value.code == "duplicate_name"
    surveys.survey_update(survey=world.survey, actor=world.owner, version=1, good_threshold=5)
    with pytest.raises(surveys.StaleVersion):
        surveys.survey_update(survey=world.survey, actor=world.owner, version=1,
                              good_threshold=3)
    world.survey.refresh_from_db()
    assert world.survey.good_threshold == 5 and world.survey.version == 2


def test_kind_is_locked_once_invitations_exist(world):
    invite(world)
    with pytest.raises(surveys.SurveyError) as error:
        surveys.survey_update(survey=world.survey, actor=world.owner, kind="ces",
                              good_threshold=5, follow_up_at_or_below=None)
    assert error.value.code == "kind_locked"
    assert Survey.objects.get(pk=world.survey.pk).kind == "csat"


# --- Invitations per case ------------------------------------------------------------------


def test_token_is_random_and_stored_only_as_its_sha256(world):
    invitation, token = invite(world)
    second, other = invite(world)
    assert token != other and len(token) >= 40
    assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
    stored = SurveyInvitation.objects.filter(pk=invitation.pk).values()[0]
    assert token not in {str(value) for value in stored.values()}
    assert surveys.invitation_by_token(token).pk == invitation.pk
    assert surveys.invitation_by_token("not-" + token) is None
    assert surveys.invitation_by_token("") is None


def _resolved_event(case):
    with transaction.atomic():
        return emit_event(type="service.case.resolved", organization=case.organization,
                          aggregate=case, payload={"case_id": case.pk, "number": case.number})


def test_one_invitation_per_case_even_when_the_event_is_delivered_twice(world, immediate_tasks,
                                                                        mailoutbox):
    case = make_case(world)
    event = _resolved_event(case)
    handler = get_consumer("service.survey_invitations").handler
    handler(event)
    handler(event)  # at-least-once delivery: the same event again
    invitation = SurveyInvitation.objects.get()
    assert invitation.case == case and invitation.survey == world.survey
    assert invitation.recipient_user == world.buyer_user
    assert invitation.buyer == world.buyer and invitation.account == world.account
    assert invitation.status == InvitationStatus.SENT
    assert invitation.expires_at == invitation.sent_at + datetime.timedelta(days=14)
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["lina@toko.test"]
    assert "/service/s/" in mailoutbox[0].body
    assert Event.objects.filter(type="service.survey.invited").count() == 1


def test_case_resolved_invites_through_the_event_worker(world, immediate_tasks, mailoutbox):
    from jalin.core.events import events_process

    case = make_case(world)
    _resolved_event(case)
    events_process()
    events_process()
    assert SurveyInvitation.objects.filter(case=case).count() == 1


def test_inactive_and_other_trigger_surveys_do_not_invite(world):
    surveys.survey_update(survey=world.survey, actor=world.owner, is_active=False)
    make_survey(world.org, world.owner, name="Manual one", trigger="manual")
    assert surveys.invite_for_case(case=make_case(world)) == []
    assert not SurveyInvitation.objects.exists()


def test_case_without_anyone_to_ask_gets_no_invitation(world):
    world.contact.email = ""
    world.contact.save()
    case = make_case(world, requester=None, contact=None)
    case.requester = None
    case.save()
    assert surveys.invite_for_case(case=case) == []


def test_email_only_requester_is_invited_by_email(world, immediate_tasks, mailoutbox):
    case = make_case(world, contact=None, requester_email="someone@toko.test")
    case.requester = None
    case.save()
    [invitation] = surveys.invite_for_case(case=case, base_url="https://jalin.example")
    assert invitation.recipient_user is None
    assert invitation.recipient_email == "someone@toko.test"
    assert "https://jalin.example/service/s/" in mailoutbox[0].body


# --- Expiry --------------------------------------------------------------------------------


def test_expiry_job_is_idempotent_and_expired_tokens_cannot_answer(world):
    now = timezone.now()
    old, old_token = invite(world, now=now - datetime.timedelta(days=15))
    fresh, _fresh_token = invite(world, now=now - datetime.timedelta(days=1))
    assert surveys.invitations_expire(now=now) == {"expired": 1}
    assert surveys.invitations_expire(now=now) is None
    old.refresh_from_db()
    fresh.refresh_from_db()
    assert old.status == InvitationStatus.EXPIRED and fresh.status == InvitationStatus.SENT
    with pytest.raises(surveys.SurveyError) as error:
        surveys.survey_answer(invitation=old, score=5)
    assert error.value.code == "expired"
    assert not SurveyResponse.objects.exists()


def test_a_link_past_its_expiry_is_refused_before_the_job_ran(world):
    now = timezone.now()
    invitation, _token = invite(world, now=now - datetime.timedelta(days=20))
    assert invitation.status == InvitationStatus.SENT
    assert surveys.invitation_state(invitation, now=now) == "expired"
    with pytest.raises(surveys.SurveyError) as error:
        surveys.survey_answer(invitation=invitation, score=4, now=now)
    assert error.value.code == "expired"


# --- Answering -----------------------------------------------------------------------------


def test_answer_records_raw_and_normalized_score_and_emits_the_event(world):
    surveys.survey_update(survey=world.survey, actor=world.owner, follow_up_at_or_below=None,
                          follow_up_on_comment=False)
    invitation, _token = invite(world)
    response = surveys.survey_answer(invitation=invitation, score="4", comment=" Fast! ",
                                     user=world.buyer_user)
    assert response.score == 4 and response.normalized == Decimal("75.00")
    assert response.good is True and response.comment == "Fast!"
    assert response.case == invitation.case and response.account == world.account
    assert response.answered_by == world.buyer_user and response.follow_up_case is None
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.ANSWERED and invitation.answered_at
    event = Event.objects.get(type="service.survey.answered")
    assert event.payload == {
        "response_id": response.pk, "survey_id": world.survey.pk, "survey_kind": "csat",
        "score": 4, "normalized": "75.00", "good": True, "has_comment": True,
        "comment": "Fast!", "case_id": invitation.case_id, "account_id": world.account.pk,
        "follow_up_case_id": None, "invitation_id": invitation.pk}


@pytest.mark.parametrize("score", [None, "", 0, 6, -1, "abc", "3.5", True, 2.5])
def test_score_must_be_a_whole_number_on_the_scale(world, score):
    invitation, _token = invite(world)
    with pytest.raises(surveys.SurveyError) as error:
        surveys.survey_answer(invitation=invitation, score=score)
    assert error.value.field == "score"
    assert not SurveyResponse.objects.exists()
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.SENT


def test_second_answer_is_already_answered(world):
    surveys.survey_update(survey=world.survey, actor=world.owner, follow_up_at_or_below=None,
                          follow_up_on_comment=False)
    invitation, _token = invite(world)
    surveys.survey_answer(invitation=invitation, score=5)
    with pytest.raises(surveys.SurveyError) as error:
        surveys.survey_answer(invitation=invitation, score=1)
    assert error.value.code == "already_answered"
    assert SurveyResponse.objects.get().score == 5


def test_nobody_rates_a_case_they_handled(world, member):
    invitation, _token = invite(world)
    with pytest.raises(surveys.SurveyError) as error:
        surveys.survey_answer(invitation=invitation, score=5, user=world.agent)
    assert error.value.code == "self_rating"
    CaseMessage.objects.create(case=invitation.case, body="Fixed it", from_staff=True,
                               author=member)
    with pytest.raises(surveys.SurveyError) as error:
        surveys.survey_answer(invitation=invitation, score=5, user=member)
    assert error.value.code == "self_rating"
    assert not SurveyResponse.objects.exists()


def test_good_is_judged_by_the_threshold_at_answer_time(world):
    surveys.survey_update(survey=world.survey, actor=world.owner, follow_up_at_or_below=None,
                          follow_up_on_comment=False)
    first, _t = invite(world)
    surveys.survey_answer(invitation=first, score=4)
    surveys.survey_update(survey=world.survey, actor=world.owner, good_threshold=5)
    second, _t = invite(world)
    surveys.survey_answer(invitation=second, score=4)
    assert list(SurveyResponse.objects.order_by("pk").values_list("good", flat=True)) == [
        True, False]


# --- Periodic and manual -------------------------------------------------------------------


def test_periodic_nps_invites_each_customer_once_per_period(world):
    created = timezone.now() - datetime.timedelta(days=1)
    survey = make_survey(world.org, world.owner, name="Relationship NPS", kind="nps",
                         trigger="periodic", period_days=30, good_threshold=9,
                         follow_up_at_or_below=6)
    Survey.objects.filter(pk=survey.pk).update(created_at=created)
    email_only = Account.objects.create(organization=world.org, name="Email Only",
                                        status=AccountStatus.CUSTOMER)
    Contact.objects.create(organization=world.org, account=email_only, last_name="Budi",
                           email="budi@email-only.test")
    Account.objects.create(organization=world.org, name="Prospect", status="prospect")
    Account.objects.create(organization=world.org, name="Silent customer", status="customer")
    other_supplier = make_org("other-supplier")
    Account.objects.create(organization=other_supplier, name="Not ours", status="customer",
                           hub_organization=world.buyer)
    now = timezone.now()
    assert surveys.surveys_send_periodic(now=now) == {"invited": 2}
    assert surveys.surveys_send_periodic(now=now) is None
    assert surveys.surveys_send_periodic(now=now + datetime.timedelta(days=20)) is None
    invitations = SurveyInvitation.objects.filter(survey=survey)
    assert {i.account.name for i in invitations} == {"Toko Survey", "Email Only"}
    toko = invitations.get(account=world.account)
    assert toko.buyer == world.buyer and toko.contact == world.contact
    assert toko.recipient_email == "lina@toko.test"
    assert surveys.surveys_send_periodic(now=now + datetime.timedelta(days=31)) == {
        "invited": 2}
    invitations = SurveyInvitation.objects.filter(survey=survey)
    assert invitations.count() == 4
    assert len({i.period_start for i in invitations}) == 2


def test_manual_send_needs_someone_to_ask(world):
    lonely = Account.objects.create(organization=world.org, name="Lonely", status="customer")
    with pytest.raises(surveys.SurveyError) as error:
        surveys.invitation_send_manual(survey=world.survey, account=lonely, actor=world.owner)
    assert error.value.code == "no_recipient"
    invitation, token = surveys.invitation_send_manual(survey=world.survey,
                                                       account=world.account,
                                                       actor=world.owner)
    assert invitation.contact == world.contact and invitation.sent_by == world.owner
    assert invitation.case is None and token
    foreign = Account.objects.create(organization=make_org("elsewhere"), name="Foreign")
    with pytest.raises(surveys.SurveyError):
        surveys.invitation_send_manual(survey=world.survey, account=foreign, actor=world.owner)


# --- Follow-up cases -----------------------------------------------------------------------


def test_low_score_opens_a_follow_up_complaint_in_the_same_transaction(world):
    invitation, _token = invite(world)
    response = surveys.survey_answer(invitation=invitation, score=2, user=world.buyer_user)
    follow_up = response.follow_up_case
    assert follow_up is not None
    assert follow_up.kind == "complaint" and follow_up.channel == "survey"
    assert follow_up.follow_up_of == invitation.case
    assert follow_up.account == world.account and follow_up.buyer == world.buyer
    assert follow_up.requester == world.buyer_user
    assert "2" in follow_up.subject
    event = Event.objects.get(type="service.survey.answered")
    assert event.payload["follow_up_case_id"] == follow_up.pk
    assert event.payload["good"] is False and event.payload["has_comment"] is False
    assert Event.objects.filter(type="service.case.opened",
                                payload__case_id=follow_up.pk).exists()


def test_a_comment_opens_a_feedback_follow_up_when_configured(world):
    invitation, _token = invite(world)
    response = surveys.survey_answer(invitation=invitation, score=5,
                                     comment="Great, but the invoice was late")
    assert response.follow_up_case.kind == "feedback"
    assert "invoice was late" in response.follow_up_case.description
    surveys.survey_update(survey=world.survey, actor=world.owner, follow_up_on_comment=False)
    second, _token = invite(world)
    assert surveys.survey_answer(invitation=second, score=5,
                                 comment="Thanks").follow_up_case is None


def test_no_follow_up_above_the_threshold_without_comment(world):
    invitation, _token = invite(world)
    assert surveys.survey_answer(invitation=invitation, score=3).follow_up_case is None


def test_a_failing_follow_up_writes_no_answer(world, monkeypatch):
    from jalin.service import cases

    def broken(**kwargs):
        raise cases.ServiceError("desk is down", code="broken")

    monkeypatch.setattr(cases, "case_open", broken)
    invitation, _token = invite(world)
    with pytest.raises(cases.ServiceError):
        surveys.survey_answer(invitation=invitation, score=1)
    assert not SurveyResponse.objects.exists()
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.SENT
    assert not Event.objects.filter(type="service.survey.answered").exists()
