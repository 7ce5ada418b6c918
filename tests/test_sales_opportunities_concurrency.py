"""Two sellers move the same card at once (PostgreSQL, threads): the row lock serializes
them and the version makes the second one fail with StaleVersion (409) instead of silently
overwriting — exactly one stage change is recorded. Without a version both apply in turn,
each recording its own history row with the right previous stage."""

import datetime

import pytest
from django.db import connection

from jalin.crm import services as crm
from jalin.sales import leads
from jalin.sales import opportunities as opps
from jalin.sales.models import Opportunity, OpportunityStageChange, PipelineStage
from jalin.tenancy.services import StaleVersion
from tests.test_hub_orders_concurrency import run_threads

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only(db):
    if connection.vendor != "postgresql":
        pytest.skip("concurrency guarantees are proven on PostgreSQL")


@pytest.fixture
def deal(org, owner):
    account = crm.account_create(organization=org, actor=owner, name="Toko Jaya")
    leads.default_pipeline(org)
    return opps.opportunity_create(organization=org, actor=owner, name="Semen",
                                   account=account, close_date=datetime.date(2026, 12, 31))


def test_two_moves_with_the_same_version_one_wins(deal, owner):
    stages = list(PipelineStage.objects.filter(pipeline=deal.pipeline, kind="open")
                  .exclude(pk=deal.stage_id).order_by("position"))
    targets = [stages[0], stages[2]]

    def move(index):
        opportunity = Opportunity.objects.get(pk=deal.pk)
        return opps.opportunity_move(opportunity=opportunity, actor=owner,
                                     stage=targets[index], version=deal.version).stage_id

    results = run_threads(move, 2)
    errors = [error for _result, error in results if error is not None]
    winners = [result for result, error in results if error is None]
    assert len(winners) == 1 and len(errors) == 1
    assert isinstance(errors[0], StaleVersion)
    final = Opportunity.objects.get(pk=deal.pk)
    assert final.stage_id == winners[0] and final.version == deal.version + 1
    assert OpportunityStageChange.objects.filter(opportunity=deal).count() == 2


def test_moves_without_version_serialize_and_keep_history_straight(deal, owner):
    stages = list(PipelineStage.objects.filter(pipeline=deal.pipeline, kind="open")
                  .exclude(pk=deal.stage_id).order_by("position"))

    def move(index):
        opportunity = Opportunity.objects.get(pk=deal.pk)
        return opps.opportunity_move(opportunity=opportunity, actor=owner,
                                     stage=stages[index]).stage_id

    results = run_threads(move, 3)
    assert all(error is None for _result, error in results), results
    changes = list(OpportunityStageChange.objects.filter(opportunity=deal).order_by("id"))
    assert len(changes) == 4
    for previous, change in zip(changes, changes[1:], strict=False):
        assert change.from_stage_id == previous.to_stage_id
    assert Opportunity.objects.get(pk=deal.pk).stage_id == changes[-1].to_stage_id
