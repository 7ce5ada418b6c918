"""Surveys over the JSON API (HTTP, bearer tokens)."""

import datetime

import pytest
from django.utils import timezone

from jalin.api.testing import ApiClient, bearer_token_for
from jalin.service import surveys
from jalin.service.models import Survey, SurveyInvitation, SurveyResponse
from jalin.tenancy.models import Membership
from tests.conftest import make_org
from tests.survey_world import build_world, invite, make_case


@pytest.fixture
def world(org, owner):
    return build_world(org, owner)


def _api(user, org):
    return ApiClient(token=bearer_token_for(Membership.objects.get(user=user,
                                                                   organization=org)))


def test_create_requires_a_good_threshold_on_the_scale(org, owner):
    api = _api(owner, org)
    body = {"name": "NPS", "kind": "nps", "question": "Recommend us?", "trigger": "periodic",
            "period_days": 90}
    response = api.post("/service/surveys", body)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "good_threshold"
    response = api.post("/service/surveys", {**body, "good_threshold": 11})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "good_threshold"
    assert not Survey.objects.exists()
    response = api.post("/service/surveys", {**body, "good_threshold": 9})
    assert response.status_code == 201, response.content
    data = response.json()
    assert (data["scale_min"], data["scale_max"], data["period_days"]) == (0, 10, 90)
    listed = api.get("/service/surveys").json()
    assert [item["id"] for item in listed["items"]] == [data["id"]]


def test_patch_with_stale_version_is_409(world):
    api = _api(world.owner, world.org)
    url = f"/service/surveys/{world.survey.pk}"
    response = api.patch(url, {"version": 1, "good_threshold": 5})
    assert response.status_code == 200 and response.json()["version"] == 2
    assert api.patch(url, {"version": 1, "good_threshold": 3}).status_code == 409
    assert api.patch(url, {"version": 2, "good_threshold": 9}).status_code == 422
    world.survey.refresh_from_db()
    assert world.survey.good_threshold == 5


def test_send_returns_the_link_once_and_refuses_foreign_accounts(world, member):
    api = _api(world.owner, world.org)
    url = f"/service/surveys/{world.survey.pk}/invitations"
    response = api.post(url, {"account_id": world.account.pk})
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["answer_url"].startswith("http://testserver/service/s/")
    token = data["answer_url"].rstrip("/").rsplit("/", 1)[1]
    assert surveys.invitation_by_token(token).pk == data["id"]
    listed = api.get(url).json()["items"]
    assert [item["id"] for item in listed] == [data["id"]]
    assert "answer_url" not in listed[0]
    from jalin.crm.models import Account

    foreign = Account.objects.create(organization=make_org("foreign-supplier"), name="X")
    assert api.post(url, {"account_id": foreign.pk}).status_code == 404
    assert _api(member, world.org).post(url, {"account_id": world.account.pk}).status_code == 403
    assert SurveyInvitation.objects.count() == 1


def test_answers_and_stats(world):
    surveys.survey_update(survey=world.survey, actor=world.owner, follow_up_at_or_below=None,
                          follow_up_on_comment=False)
    for score in (5, 4, 2):
        invitation, _token = invite(world)
        surveys.survey_answer(invitation=invitation, score=score)
    invite(world)
    api = _api(world.owner, world.org)
    answers = api.get("/service/survey-answers", data={"score_max": 4}).json()["items"]
    assert sorted(item["score"] for item in answers) == [2, 4]
    stats = api.get("/service/survey-stats", data={"survey_id": world.survey.pk}).json()
    total = stats["total"]
    assert (total["csat"], total["sent"], total["answered"], total["response_rate"]) == (
        "66.67", 4, 3, "75.00")
    assert total["nps"] is None and total["ces"] is None
    query = total["answers_query"]
    again = api.get("/service/survey-answers", data=query).json()["items"]
    assert len(again) == 3
    assert stats["by_account"][0]["account_id"] == world.account.pk


def test_portal_lists_own_invitations_and_answers_once(world):
    mine, _token = invite(world)
    other_buyer = make_org("api-other-buyer", is_supplier=False, is_buyer=True)
    theirs, _token = invite(world, case=make_case(world, buyer=other_buyer))
    api = _api(world.buyer_user, world.buyer)
    items = api.get("/service/portal/survey-invitations").json()["items"]
    assert [item["id"] for item in items] == [mine.pk]
    assert items[0]["state"] == "open" and items[0]["scale_max"] == 5
    url = f"/service/portal/survey-invitations/{mine.pk}/answer"
    assert api.post(url, {"score": 9}).status_code == 422
    assert api.post(url, {"comment": "no score"}).status_code == 422
    response = api.post(url, {"score": 3, "comment": "ok"})
    assert response.status_code == 201 and response.json()["score"] == 3
    second = api.post(url, {"score": 5})
    assert second.status_code == 409 and second.json()["code"] == "already_answered"
    assert api.post(f"/service/portal/survey-invitations/{theirs.pk}/answer",
                    {"score": 3}).status_code == 404
    assert SurveyResponse.objects.count() == 1


def test_portal_expired_invitation_is_410(world):
    invitation, _token = invite(world, now=timezone.now() - datetime.timedelta(days=30))
    api = _api(world.buyer_user, world.buyer)
    response = api.post(f"/service/portal/survey-invitations/{invitation.pk}/answer",
                        {"score": 4})
    assert response.status_code == 410
    assert not SurveyResponse.objects.exists()


def test_outsider_sees_nothing(world, outsider, other_org):
    invite(world)
    api = _api(outsider, other_org)
    assert api.get(f"/service/surveys/{world.survey.pk}").status_code == 404
    assert api.get("/service/surveys").json()["items"] == []
    assert api.get("/service/survey-answers").json()["items"] == []
    assert api.get("/service/portal/survey-invitations").json()["items"] == []
