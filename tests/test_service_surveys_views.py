"""Survey pages: the public answer link, the buyer portal, staff settings, dashboards and the
answers list (every aggregate traceable to its answers)."""

import datetime
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from jalin.service import surveys
from jalin.service.models import Case, InvitationStatus, Survey, SurveyInvitation, SurveyResponse
from jalin.tenancy.models import Membership
from jalin.tenancy.roles import Role
from tests.conftest import make_org, make_user
from tests.survey_world import build_world, invite, make_case


@pytest.fixture
def world(org, owner):
    return build_world(org, owner)


def _client(user=None):
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def _url(token):
    return reverse("service:survey_answer_public", kwargs={"token": token})


# --- Public link ---------------------------------------------------------------------------


def test_unknown_token_is_a_plain_not_found_page(db):
    response = _client().get(_url("no-such-token"))
    assert response.status_code == 404
    assert b'id="survey-missing"' in response.content


def test_public_form_has_no_preselected_score(world):
    _invitation, token = invite(world)
    response = _client().get(_url(token))
    assert response.status_code == 200
    form = re.search(rb'<form method="post"[^>]*id="survey-answer".*?</form>', response.content,
                     re.S).group(0)
    assert form.count(b'type="radio"') == 5
    assert b"checked" not in form


@pytest.mark.parametrize("score", ["", "0", "6", "x", "4.5"])
def test_bad_score_is_a_400_and_changes_nothing(world, score):
    invitation, token = invite(world)
    response = _client().post(_url(token), {"score": score, "comment": "hm"})
    assert response.status_code == 400
    assert b'id="survey-error"' in response.content
    assert not SurveyResponse.objects.exists()
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.SENT


def test_answer_without_login_then_double_submit_sees_already_answered(world):
    invitation, token = invite(world)
    client = _client()
    response = client.post(_url(token), {"score": "2", "comment": "Took three visits"})
    assert response.status_code == 302 and response["Location"].endswith("?thanks=1")
    assert b'id="survey-thanks"' in client.get(response["Location"]).content
    answer = SurveyResponse.objects.get()
    assert answer.score == 2 and answer.answered_by is None
    assert answer.follow_up_case.follow_up_of == invitation.case
    again = client.post(_url(token), {"score": "5"})
    assert again.status_code == 302 and again["Location"] == _url(token)
    assert b'id="survey-answered"' in client.get(again["Location"]).content
    assert SurveyResponse.objects.count() == 1
    assert b'id="survey-answered"' in client.get(_url(token)).content


def test_expired_link_is_410_and_cannot_answer(world):
    _invitation, token = invite(world, now=timezone.now() - datetime.timedelta(days=30))
    response = _client().get(_url(token))
    assert response.status_code == 410 and b'id="survey-expired"' in response.content
    response = _client().post(_url(token), {"score": "5"})
    assert response.status_code == 410
    assert not SurveyResponse.objects.exists()


def test_the_agent_who_handled_the_case_cannot_rate_it(world):
    _invitation, token = invite(world)
    client = _client(world.agent)
    response = client.get(_url(token))
    assert response.status_code == 403 and b'id="survey-refused"' in response.content
    response = client.post(_url(token), {"score": "5"})
    assert response.status_code == 403
    assert not SurveyResponse.objects.exists()


# --- Portal --------------------------------------------------------------------------------


def test_buyer_sees_only_own_invitations_and_answers_in_the_portal(world):
    mine, _token = invite(world)
    other_buyer = make_org("other-buyer", is_supplier=False, is_buyer=True)
    theirs, _token = invite(world, case=make_case(world, buyer=other_buyer))
    client = _client(world.buyer_user)
    page = client.get(reverse("service:survey_portal_list"))
    assert page.status_code == 200
    mine_url = reverse("service:survey_portal_answer", kwargs={"pk": mine.pk})
    assert mine_url.encode() in page.content
    assert reverse("service:survey_portal_answer",
                   kwargs={"pk": theirs.pk}).encode() not in page.content
    assert client.get(reverse("service:survey_portal_answer",
                              kwargs={"pk": theirs.pk})).status_code == 404
    assert client.post(reverse("service:survey_portal_answer", kwargs={"pk": theirs.pk}),
                       {"score": "5"}).status_code == 404
    url = reverse("service:survey_portal_answer", kwargs={"pk": mine.pk})
    response = client.post(url, {"score": "5"})
    assert response.status_code == 302
    assert SurveyResponse.objects.get().answered_by == world.buyer_user
    assert not SurveyResponse.objects.filter(invitation=theirs).exists()


def test_outsiders_get_404_on_staff_pages(world, outsider_client):
    invitation, _token = invite(world)
    for url in (reverse("service:survey_detail", kwargs={"pk": world.survey.pk}),
                reverse("service:survey_edit", kwargs={"pk": world.survey.pk}),
                reverse("service:survey_portal_answer", kwargs={"pk": invitation.pk})):
        assert outsider_client.get(url).status_code == 404
    assert outsider_client.post(reverse("service:survey_send", kwargs={"pk": world.survey.pk}),
                                {"account": world.account.pk}).status_code == 404
    assert SurveyInvitation.objects.count() == 1


# --- Staff settings ------------------------------------------------------------------------


def test_create_survey_requires_an_explicit_good_threshold(owner_client, org):
    url = reverse("service:survey_create")
    form = {"name": "CSAT", "kind": "csat", "question": "How did we do?",
            "trigger": "case_resolved", "good_threshold": "", "invitation_valid_days": "14",
            "is_active": "on"}
    response = owner_client.post(url, form)
    assert response.status_code == 400 and b'id="survey-error"' in response.content
    assert not Survey.objects.exists()
    response = owner_client.post(url, {**form, "good_threshold": "9"})
    assert response.status_code == 400
    assert not Survey.objects.exists()
    response = owner_client.post(url, {**form, "good_threshold": "4",
                                        "follow_up_at_or_below": "2"})
    survey = Survey.objects.get()
    assert response.status_code == 302
    assert (survey.good_threshold, survey.follow_up_at_or_below) == (4, 2)


def test_member_without_service_edit_cannot_create(member_client, org):
    assert member_client.get(reverse("service:survey_create")).status_code == 403


def test_edit_with_stale_version_is_409(world, owner_client):
    url = reverse("service:survey_edit", kwargs={"pk": world.survey.pk})
    form = {"name": "After a case", "kind": "csat", "question": "How was it?",
            "trigger": "case_resolved", "good_threshold": "5", "invitation_valid_days": "7",
            "is_active": "on", "version": "1"}
    assert owner_client.post(url, form).status_code == 302
    assert owner_client.post(url, {**form, "good_threshold": "3"}).status_code == 409
    world.survey.refresh_from_db()
    assert world.survey.good_threshold == 5 and world.survey.invitation_valid_days == 7


def test_manual_send_from_the_survey_page(world, owner_client, mailoutbox, settings):
    settings.TASKS = {"default": {
        "BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    detail = owner_client.get(reverse("service:survey_detail", kwargs={"pk": world.survey.pk}))
    assert world.account.name.encode() in detail.content
    response = owner_client.post(reverse("service:survey_send",
                                         kwargs={"pk": world.survey.pk}),
                                 {"account": world.account.pk})
    assert response.status_code == 302
    invitation = SurveyInvitation.objects.get()
    assert invitation.account == world.account and invitation.sent_by == world.owner
    assert mailoutbox[0].to == ["lina@toko.test"]
    assert "http://testserver/service/s/" in mailoutbox[0].body


# --- Dashboards and answers ----------------------------------------------------------------


def _answered(world, scores):
    for score in scores:
        invitation, _token = invite(world)
        surveys.survey_answer(invitation=invitation, score=score)


def test_dashboard_numbers_link_to_the_answers_they_count(world, owner_client):
    surveys.survey_update(survey=world.survey, actor=world.owner, follow_up_at_or_below=None,
                          follow_up_on_comment=False)
    _answered(world, [5, 4, 2])
    invite(world)  # sent, not answered
    response = owner_client.get(reverse("service:survey_detail",
                                        kwargs={"pk": world.survey.pk}))
    assert response.status_code == 200
    total = response.context["total"]
    assert str(total["csat"]) == "66.67"
    assert (total["sent"], total["answered"], str(total["response_rate"])) == (4, 3, "75.00")
    assert b'id="chart-survey-scores"' in response.content
    good_link = total["links"]["csat_good"]
    listed = owner_client.get(good_link)
    assert listed.status_code == 200
    assert [a.score for a in listed.context["page"]] == [4, 5]
    everything = owner_client.get(total["links"]["answers"])
    assert sorted(a.score for a in everything.context["page"]) == [2, 4, 5]
    month = response.context["month_rows"][-1]
    assert str(month["csat"]) == "66.67" and month["answered"] == 3
    [account_row] = response.context["account_rows"]
    assert account_row["label"] == "Toko Survey" and account_row["answers"] == 3


def test_overall_dashboard_and_nps(world, owner_client):
    nps = surveys.survey_create(organization=world.org, actor=world.owner, name="NPS",
                                kind="nps", question="Recommend?", trigger="manual",
                                good_threshold=9)
    for score in [10, 9, 8, 7, 6, 0]:
        invitation, _token = surveys.invitation_send_manual(survey=nps, account=world.account,
                                                            actor=world.owner)
        surveys.survey_answer(invitation=invitation, score=score)
    response = owner_client.get(reverse("service:survey_dashboard"))
    assert response.status_code == 200
    assert str(response.context["total"]["nps"]) == "0.00"
    detractors = owner_client.get(response.context["total"]["links"]["detractors"])
    assert sorted(a.score for a in detractors.context["page"]) == [0, 6]


def test_answers_list_filters_paginates_and_has_no_n_plus_one(world, owner_client,
                                                             django_assert_max_num_queries):
    surveys.survey_update(survey=world.survey, actor=world.owner, follow_up_at_or_below=None,
                          follow_up_on_comment=False)
    _answered(world, [1, 2, 3, 4, 5] * 3)
    url = reverse("service:survey_answers")
    with django_assert_max_num_queries(12):
        response = owner_client.get(url, {"score_min": 2, "score_max": 3})
    assert sorted(a.score for a in response.context["page"]) == [2, 2, 2, 3, 3, 3]
    with django_assert_max_num_queries(12):
        owner_client.get(url)
    export = owner_client.get(reverse("service:survey_answers_export"), {"score_max": 1})
    body = b"".join(export.streaming_content).decode("utf-8-sig")
    lines = body.strip().splitlines()
    assert lines[0].startswith("id,answered_at,survey,kind,score")
    assert len(lines) == 4 and all(",1," in line for line in lines[1:])


def test_answers_pages_older_by_keyset(world, owner_client):
    surveys.survey_update(survey=world.survey, actor=world.owner, follow_up_at_or_below=None,
                          follow_up_on_comment=False)
    _answered(world, [5] * 3)
    first = owner_client.get(reverse("service:survey_answers"))
    assert len(first.context["page"]) == 3


def test_buyer_only_org_is_sent_from_staff_pages_to_its_portal(world):
    client = _client(world.buyer_user)
    response = client.get(reverse("service:survey_list"))
    assert response.status_code == 302
    assert response["Location"] == reverse("service:survey_portal_list")


def test_follow_up_case_from_the_public_link_is_a_desk_case(world):
    _invitation, token = invite(world)
    _client().post(_url(token), {"score": "1", "comment": "Nobody came"})
    follow_up = Case.objects.get(channel="survey")
    assert follow_up.kind == "complaint" and "Nobody came" in follow_up.description


def test_second_portal_user_sees_the_org_invitation_too(world):
    invitation, _token = invite(world)
    colleague = make_user("bambang-survey")
    Membership.objects.create(user=colleague, organization=world.buyer,
                              role=Role.BUYER_APPROVER)
    response = _client(colleague).get(reverse("service:survey_portal_answer",
                                              kwargs={"pk": invitation.pk}))
    assert response.status_code == 200
