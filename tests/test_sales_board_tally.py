"""The board's column tallies (`StageTally`) kept by the opportunity services equal a recount
of the open deals after any series of creates, moves, amount and currency changes, line
changes, closes and reopens — and after concurrent moves on PostgreSQL. The unfiltered board
reads them instead of counting every open deal."""

import datetime
import random
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from jalin.crm import services as crm
from jalin.sales import board_tally, leads
from jalin.sales import opportunities as opps
from jalin.sales import opportunity_selectors as selectors
from jalin.sales.generate import generate_opportunities
from jalin.sales.models import (
    CloseReason,
    Opportunity,
    OpportunityStatus,
    PipelineStage,
    StageTally,
)

CLOSE = datetime.date(2026, 12, 31)


def _tallies(org):
    return {(row.stage_id, row.currency): (row.count, Decimal(row.amount).quantize(
        Decimal("0.01"))) for row in StageTally.objects.filter(organization=org) if row.count}


def _recount(org):
    return {key: (count, Decimal(amount).quantize(Decimal("0.01")))
            for key, (count, amount) in board_tally.counted(organization=org).items()}


def _fresh(deal):
    return Opportunity.objects.get(pk=deal.pk)


@pytest.mark.django_db
def test_tallies_equal_a_recount_after_a_random_series_of_operations(org, owner):
    account = crm.account_create(organization=org, actor=owner, name="Toko Jaya")
    pipeline = leads.default_pipeline(org)
    open_stages = list(PipelineStage.objects.filter(pipeline=pipeline, kind="open"))
    lost_reason = CloseReason.objects.filter(organization=org, kind="lost").first()
    rng = random.Random(7)
    deals = []
    for step in range(160):
        action = rng.choice(["create", "create", "move", "move", "amount", "currency",
                             "line", "unline", "won", "lost", "reopen"])
        live = [d for d in deals if _fresh(d).status == OpportunityStatus.OPEN]
        closed = [d for d in deals if _fresh(d).status != OpportunityStatus.OPEN]
        if action == "create" or not deals:
            deals.append(opps.opportunity_create(
                organization=org, actor=owner, name=f"Deal {step}", account=account,
                close_date=CLOSE, amount=rng.choice([0, 1000, 2500, 999999]),
                currency=rng.choice(["IDR", "IDR", "USD"]), stage=rng.choice(open_stages)))
        elif action == "move" and live:
            deal = _fresh(rng.choice(live))
            opps.opportunity_move(opportunity=deal, actor=owner,
                                  stage=rng.choice(open_stages))
        elif action in ("amount", "currency") and deals:
            deal = _fresh(rng.choice(deals))
            if deal.lines.exists():
                continue
            change = ({"amount": str(rng.randint(0, 10**7))} if action == "amount"
                      else {"currency": rng.choice(["IDR", "USD", "SGD"])})
            opps.opportunity_update(opportunity=deal, actor=owner, version=deal.version,
                                    **change)
        elif action == "line" and deals:
            deal = _fresh(rng.choice(deals))
            opps.opportunity_line_add(opportunity=deal, actor=owner, description="Semen",
                                      quantity=rng.randint(1, 5), unit_price="65000.50")
        elif action == "unline" and deals:
            deal = _fresh(rng.choice(deals))
            line = deal.lines.first()
            if line is not None:
                opps.opportunity_line_remove(line=line, actor=owner)
        elif action in ("won", "lost") and live:
            deal = _fresh(rng.choice(live))
            opps.opportunity_close(opportunity=deal, actor=owner, won=action == "won",
                                   reason=None if action == "won" else lost_reason)
        elif action == "reopen" and closed:
            deal = _fresh(rng.choice(closed))
            opps.opportunity_reopen(opportunity=deal, actor=owner,
                                    stage=rng.choice(open_stages))
        assert _tallies(org) == _recount(org), (step, action)
    assert Opportunity.objects.filter(organization=org).exclude(status="open").exists()
    assert len({currency for _stage, currency in _tallies(org)}) > 1

    # The unfiltered board shows the tallies; a filtered board counts, and both agree.
    with CaptureQueriesContext(connection) as queries:
        columns = selectors.board(organization=org, pipeline=pipeline)
    assert not [q for q in queries if "COUNT(" in q["sql"].upper()
                and Opportunity._meta.db_table in q["sql"]]
    counted = selectors.board(organization=org, pipeline=pipeline, owner=str(owner.pk))
    for column, live_column in zip(columns, counted, strict=True):
        assert column.count == live_column.count
        assert column.totals == live_column.totals
        assert column.count == Opportunity.objects.filter(
            stage=column.stage, status="open").count()


@pytest.mark.django_db
def test_bulk_generated_deals_are_tallied(org, owner):
    leads.default_pipeline(org)
    generate_opportunities(organization=org, count=120, closed=15, seed=3)
    assert _tallies(org) == _recount(org)
    assert sum(count for count, _amount in _tallies(org).values()) == 120


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_moves_keep_the_tallies_exact(org, owner):
    """Eight threads move deals back and forth between all open stages at once (each
    move updates two tally rows, in stage order): no deadlock, no lost update."""
    from tests.test_hub_orders_concurrency import run_threads

    if connection.vendor != "postgresql":
        pytest.skip("concurrency is proven on PostgreSQL")
    account = crm.account_create(organization=org, actor=owner, name="Toko Jaya")
    pipeline = leads.default_pipeline(org)
    open_stages = list(PipelineStage.objects.filter(pipeline=pipeline, kind="open"))
    deals = [opps.opportunity_create(organization=org, actor=owner, name=f"Deal {n}",
                                     account=account, close_date=CLOSE, amount=1000 + n,
                                     stage=open_stages[n % len(open_stages)]).pk
             for n in range(16)]

    def mover(index):
        rng = random.Random(index)
        for _ in range(12):
            deal = Opportunity.objects.get(pk=rng.choice(deals))
            opps.opportunity_move(opportunity=deal, actor=owner,
                                  stage=rng.choice(open_stages))
        return index

    results = run_threads(mover, 8)
    assert all(error is None for _result, error in results), results
    assert _tallies(org) == _recount(org)
    assert sum(count for count, _amount in _tallies(org).values()) == 16
