"""Survey answers and invitations under real concurrency, on PostgreSQL with threads."""

import pytest
from django.db import connection

from jalin.service import surveys
from jalin.service.models import Case, SurveyInvitation, SurveyResponse
from tests.survey_world import build_world, invite, make_case
from tests.test_hub_orders_concurrency import run_threads

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only(db):
    if connection.vendor != "postgresql":
        pytest.skip("concurrency guarantees are proven on PostgreSQL")


def test_simultaneous_submits_record_one_answer_and_one_follow_up(org, owner):
    world = build_world(org, owner)
    invitation, _token = invite(world)

    def submit(index):
        return surveys.survey_answer(invitation=invitation, score=1 + index % 2,
                                     comment=f"try {index}")

    results = run_threads(submit, 6)
    answered = [result for result, error in results if error is None]
    refused = [error for result, error in results if error is not None]
    assert len(answered) == 1
    assert all(isinstance(e, surveys.SurveyError) and e.code == "already_answered"
               for e in refused), refused
    assert SurveyResponse.objects.count() == 1
    assert Case.objects.filter(channel="survey").count() == 1


def test_simultaneous_deliveries_of_case_resolved_invite_once(org, owner):
    world = build_world(org, owner)
    case = make_case(world)
    results = run_threads(lambda index: surveys.invite_for_case(case=case), 6)
    assert all(error is None for _result, error in results), results
    assert SurveyInvitation.objects.filter(case=case).count() == 1
