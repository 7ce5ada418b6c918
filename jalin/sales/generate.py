"""Bulk generator of opportunities for benchmarks and load tests (`jalin sales_generate`).

    jalin sales_generate --org bench --opportunities 200000 [--closed 20000] [--seed 1]

Deals go into the organization's default pipeline (created if missing), spread over its open
stages (more in the early ones, like a real funnel), its CRM accounts (200 are created when it
has fewer than 50 — run `crm_generate` first for realistic ones) and its active members as
owners; amounts log-normal around IDR 50M, close dates within the next 180 days, stage ages up
to 90 days (so some are stale). Each deal gets its first stage-history row. Reproducible for a
given seed. On PostgreSQL rows are streamed with COPY (jalin.core.bulkload.TableWriter) and the
tables ANALYZEd; elsewhere bulk_create.
"""

import datetime
import math
import random
import sys
from decimal import Decimal

from django.db import connection
from django.db.models import Max
from django.utils import timezone

from jalin.core.bulkload import TableWriter
from jalin.crm import services as crm
from jalin.crm.models import Account
from jalin.tenancy.models import Membership

from . import board_tally
from .leads import default_pipeline
from .models import Opportunity, OpportunityStageChange, OpportunityStatus, StageKind

WORDS = ("Semen", "Besi beton", "Cat tembok", "Keramik", "Pipa PVC", "Kabel listrik",
         "Genteng", "Kaca", "Baja ringan", "Triplek", "Pasir", "Batu bata", "Paku", "Lampu LED",
         "Server rack", "Laptop", "Printer", "Forklift", "Kemasan", "Palet")
QUALIFIERS = ("proyek", "renovasi", "tender", "stok bulanan", "gudang baru", "cabang",
              "tahunan", "Q1", "Q2", "Q3", "Q4", "kontrak")


def _accounts(organization, actor, out):
    ids = list(Account.objects.filter(organization=organization, archived_at__isnull=True)
               .values_list("pk", flat=True)[:100_000])
    if len(ids) >= 50:
        return ids
    out.write("  creating 200 accounts\n")
    for index in range(200):
        ids.append(crm.account_create(organization=organization, actor=actor,
                                      name=f"PT Pelanggan {index + 1:03d}").pk)
    return ids


def generate_opportunities(*, organization, count, closed=0, seed=1, batch=10_000, out=None):
    """Add `count` open (and `closed` won/lost) opportunities; returns how many were written."""
    out = out or sys.stdout
    rng = random.Random(seed)
    owners = list(Membership.objects.filter(organization=organization, is_active=True)
                  .values_list("user_id", flat=True))
    if not owners:
        raise ValueError("The organization has no members to own the deals.")
    actor = Membership.objects.filter(organization=organization, is_active=True).first().user
    accounts = _accounts(organization, actor, out)
    pipeline = default_pipeline(organization)
    stages = list(pipeline.stages.order_by("position"))
    open_stages = [s for s in stages if s.kind == StageKind.OPEN]
    won = next(s for s in stages if s.kind == StageKind.WON)
    lost = next(s for s in stages if s.kind == StageKind.LOST)
    weights = [1 / (index + 1) for index in range(len(open_stages))]
    ranks = {}
    for row in (Opportunity.objects.filter(organization=organization, pipeline=pipeline,
                                           status=OpportunityStatus.OPEN)
                .values("stage_id").order_by().annotate(top=Max("board_rank"))):
        ranks[row["stage_id"]] = row["top"] or 0.0
    now = timezone.now()
    today = timezone.localdate()
    total = count + closed
    opportunities = TableWriter(Opportunity, batch=batch, out=out)
    # Flushed only as a follower of the deals (its rows point at them): never on its own.
    changes = TableWriter(OpportunityStageChange, batch=batch * 2 + 1, out=out,
                          label="stage history rows")
    opportunities.followers.append(changes)
    first_id = opportunities.reserve_ids(total)
    for index in range(total):
        is_open = index < count
        if is_open:
            stage = rng.choices(open_stages, weights)[0]
            status = OpportunityStatus.OPEN
        else:
            stage = won if rng.random() < 0.4 else lost
            status = OpportunityStatus.WON if stage is won else OpportunityStatus.LOST
        created = now - datetime.timedelta(days=rng.uniform(1, 120))
        entered = max(created, now - datetime.timedelta(days=rng.uniform(0, 90)))
        ranks[stage.pk] = ranks.get(stage.pk, 0.0) + 1024.0
        amount = Decimal(int(math.exp(rng.gauss(math.log(50_000_000), 1.0)) // 1000 * 1000))
        pk = first_id + index
        opportunities.add({
            "id": pk, "organization_id": organization.pk,
            "name": f"{rng.choice(WORDS)} {rng.choice(QUALIFIERS)} #{pk}",
            "account_id": rng.choice(accounts), "pipeline_id": pipeline.pk,
            "stage_id": stage.pk, "status": status, "amount": amount, "currency": "IDR",
            "forecast_category": stage.forecast_category,
            "close_date": today + datetime.timedelta(days=rng.randint(-30, 180)),
            "owner_id": rng.choice(owners), "stage_entered_at": entered,
            "board_rank": ranks[stage.pk], "created_at": created, "updated_at": entered,
            "closed_at": entered if not is_open else None, "version": 1,
            "next_step": "", "close_note": "",
        })
        changes.add({"opportunity_id": pk, "from_stage_id": None, "to_stage_id": stage.pk,
                     "seconds_in_previous": 0, "amount": amount, "changed_by_id": None,
                     "changed_at": entered})
    opportunities.flush()
    # Written directly, so the board's column tallies are recounted.
    board_tally.recount(organization=organization)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for model in (Opportunity, OpportunityStageChange):
                cursor.execute(f'ANALYZE "{model._meta.db_table}"')
    return total
