"""Per-stage tallies of open deals (`StageTally`): the board's column counts and amounts.

The opportunity services keep them in their own transactions: `_lock` remembers the deal's
board key (pipeline, stage, currency, amount while open), `_save` applies the difference
after the row is written. A change is one `INSERT … ON CONFLICT DO UPDATE SET count =
count + excluded.count` over at most two rows, in (stage, currency) order, so two moves in
opposite directions take the rows in the same order and cannot deadlock.
`recount` rebuilds an organization's tallies from the deals (the bulk generator, the
migration, and a check in the tests).
"""

from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Sum

from jalin.core.upsert import add_to_rows

from .models import Opportunity, OpportunityStatus, StageTally


def board_key(opportunity):
    """What the deal adds to the board: (pipeline, stage, currency, amount) when open."""
    if opportunity.status != OpportunityStatus.OPEN:
        return None
    return (opportunity.pipeline_id, opportunity.stage_id, opportunity.currency,
            Decimal(opportunity.amount or 0))


def apply(*, organization_id, before, after):
    """Move one deal's contribution from the `before` key to the `after` key."""
    if before == after:
        return
    deltas = {}
    for key, sign in ((before, -1), (after, 1)):
        if key is None:
            continue
        pipeline_id, stage_id, currency, amount = key
        old = deltas.get((stage_id, currency))
        count, total = (old[1], old[2]) if old else (0, Decimal(0))
        deltas[(stage_id, currency)] = (pipeline_id, count + sign, total + sign * amount)
    add_to_rows(StageTally,
                columns=("organization_id", "pipeline_id", "stage_id", "currency", "count",
                         "amount"),
                key=("stage_id", "currency"), added=("count", "amount"),
                rows=[(organization_id, pipeline_id, stage_id, currency, count, total)
                      for (stage_id, currency), (pipeline_id, count, total)
                      in sorted(deltas.items())])


def counted(*, organization, pipeline=None):
    """{(stage_id, currency): (count, amount)} counted from the deals (the reference)."""
    deals = Opportunity.objects.filter(organization=organization,
                                       status=OpportunityStatus.OPEN)
    if pipeline is not None:
        deals = deals.filter(pipeline=pipeline)
    return {(row["stage_id"], row["currency"]): (row["count"], row["amount"] or Decimal(0))
            for row in deals.order_by().values("stage_id", "currency")
            .annotate(count=Count("id"), amount=Sum("amount"))}


def recount(*, organization):
    """Rebuild the organization's tallies from its open deals, in one transaction. For bulk
    loads and repairs while nobody changes the organization's deals (a deal changed by a
    service between the delete and the count could be counted twice or not at all)."""
    with transaction.atomic():
        StageTally.objects.filter(organization=organization).delete()
        rows = (Opportunity.objects.filter(organization=organization,
                                           status=OpportunityStatus.OPEN)
                .order_by().values("pipeline_id", "stage_id", "currency")
                .annotate(count=Count("id"), amount=Sum("amount")))
        StageTally.objects.bulk_create([
            StageTally(organization_id=organization.pk, pipeline_id=row["pipeline_id"],
                       stage_id=row["stage_id"], currency=row["currency"], count=row["count"],
                       amount=row["amount"] or 0) for row in rows])


def tallies(*, organization, pipeline):
    """{stage_id: [(currency, count, amount)]} of the pipeline's columns (one small query)."""
    result = {}
    for row in (StageTally.objects.filter(organization=organization, pipeline=pipeline,
                                          count__gt=0)
                .order_by().values_list("stage_id", "currency", "count", "amount")):
        result.setdefault(row[0], []).append(row[1:])
    return result
