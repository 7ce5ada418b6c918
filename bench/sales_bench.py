"""Pipeline benchmark: the board, list pages and the move service with many open deals.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/jalin_bench \\
        .venv/bin/python bench/sales_bench.py --org bench [--opportunities 200000] [--repeat 30]

Creates the organization and its people when missing (bench/setup_org.py), loads open
opportunities up to `--opportunities` with `jalin.sales.generate` (COPY on PostgreSQL), then
times, in process through Django's full request stack (middleware, session, templates):

- the board page (grouped counts/sums + first cards of every column) and its API,
- the list page: first page, a deep keyset page (cursor half-way through), filtered
  (owner + close-date range), sorted by amount, and a column's "load more",
- the move service (a card to another stage between two neighbours).

Prints p50/p95/max in milliseconds per scenario. See docs/sales.md for measured figures.
"""

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def timed(label, func, repeat, results):
    func()  # warm up
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        func()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    p95 = samples[min(len(samples) - 1, int(len(samples) * 0.95))]
    results.append((label, statistics.median(samples), p95, samples[-1]))
    print(f"{label:<44} p50 {statistics.median(samples):8.1f} ms   p95 {p95:8.1f} ms   "
          f"max {samples[-1]:8.1f} ms", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--org", default="bench")
    parser.add_argument("--opportunities", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from jalin.sales import opportunities as opps
    from jalin.sales import opportunity_selectors as selectors
    from jalin.sales.generate import generate_opportunities
    from jalin.sales.leads import default_pipeline
    from jalin.sales.models import Opportunity, OpportunityStatus, PipelineStage
    from jalin.tenancy.middleware import SESSION_KEY
    from jalin.tenancy.models import Membership, Organization
    from jalin.tenancy.roles import Role

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    organization, _ = Organization.objects.get_or_create(
        slug=args.org, defaults={"name": f"{args.org.title()} Supplies", "is_supplier": True})
    user_model = get_user_model()
    owner = user_model.objects.filter(username=f"{args.org}-owner").first()
    if owner is None:
        owner = user_model.objects.create_user(f"{args.org}-owner", password=None)
    Membership.objects.get_or_create(user=owner, organization=organization,
                                     defaults={"role": Role.ORG_ADMIN})
    for n in range(1, 9):
        user = user_model.objects.filter(username=f"{args.org}-sales-{n}").first() or \
            user_model.objects.create_user(f"{args.org}-sales-{n}", password=None)
        Membership.objects.get_or_create(user=user, organization=organization,
                                         defaults={"role": Role.SALES})
    pipeline = default_pipeline(organization)
    have = Opportunity.objects.filter(organization=organization,
                                      status=OpportunityStatus.OPEN).count()
    if have < args.opportunities:
        print(f"loading {args.opportunities - have:,} open opportunities "
              f"({connection.vendor})", flush=True)
        started = time.monotonic()
        generate_opportunities(organization=organization, count=args.opportunities - have,
                               closed=(args.opportunities - have) // 10, seed=args.seed)
        print(f"loaded in {time.monotonic() - started:.1f} s", flush=True)
    print(f"{args.opportunities:,} open opportunities, {connection.vendor}, "
          f"repeat {args.repeat}", flush=True)

    client = Client()
    client.force_login(owner)
    session = client.session
    session[SESSION_KEY] = Membership.objects.get(user=owner, organization=organization).pk
    session.save()
    page = client.get(reverse("sales:board"))
    if page.status_code != 200:
        raise SystemExit(f"board answered {page.status_code}")
    rng = random.Random(args.seed)
    seller = Membership.objects.filter(organization=organization, role=Role.SALES).first()
    order = selectors.SORTS["newest"]
    open_deals = Opportunity.objects.filter(organization=organization,
                                            status=OpportunityStatus.OPEN)
    middle = open_deals.order_by("-id")[args.opportunities // 2]
    deep_cursor = selectors._encode(order, middle)
    stages = list(PipelineStage.objects.filter(pipeline=pipeline, kind="open")
                  .order_by("position"))
    column = selectors.board(organization=organization, pipeline=pipeline, limit=25)[0]
    today = __import__("datetime").date.today()
    results = []

    def get(url, data=None):
        response = client.get(url, data or {})
        assert response.status_code == 200, (url, response.status_code)
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)

    timed("board page (HTML)", lambda: get(reverse("sales:board")), args.repeat, results)
    timed("board selector only", lambda: selectors.board(
        organization=organization, pipeline=pipeline), args.repeat, results)
    # The column headers alone: counting every open deal (before sales.0009) against the
    # per-stage tallies the services keep (after).
    from django.db.models import Count, Sum

    from jalin.sales import board_tally

    timed("board counts: grouped count (before)", lambda: list(
        open_deals.filter(pipeline=pipeline).order_by().values("stage_id", "currency")
        .annotate(count=Count("id"), total=Sum("amount"))), args.repeat, results)
    timed("board counts: stage tallies (after)", lambda: board_tally.tallies(
        organization=organization, pipeline=pipeline), args.repeat, results)
    timed("board column, load more", lambda: get(reverse("sales:board_column"), {
        "pipeline": pipeline.pk, "stage": column.stage.pk, "cursor": column.next_cursor}),
        args.repeat, results)
    timed("list page, first page", lambda: get(reverse("sales:opportunities")),
          args.repeat, results)
    timed("list page, deep keyset page (middle)", lambda: get(
        reverse("sales:opportunities"), {"cursor": deep_cursor}), args.repeat, results)
    timed("list page, owner + close-date range", lambda: get(
        reverse("sales:opportunities"), {
            "owner": seller.user_id, "close_from": today.isoformat(),
            "close_to": (today + __import__("datetime").timedelta(days=60)).isoformat()}),
        args.repeat, results)
    timed("list page, largest amount first", lambda: get(
        reverse("sales:opportunities"), {"sort": "amount"}), args.repeat, results)
    timed("list page, search 'semen'", lambda: get(
        reverse("sales:opportunities"), {"q": "semen"}), args.repeat, results)

    ids = list(open_deals.order_by("?").values_list("pk", flat=True)[:args.repeat * 2 + 2])

    def move():
        deal = Opportunity.objects.get(pk=ids.pop())
        target = rng.choice([s for s in stages if s.pk != deal.stage_id])
        neighbours = list(open_deals.filter(pipeline=pipeline, stage=target)
                          .order_by("board_rank", "id").values_list("pk", flat=True)[:2])
        opps.opportunity_move(opportunity=deal, actor=owner, stage=target,
                              after=neighbours[0] if neighbours else None,
                              before=neighbours[1] if len(neighbours) > 1 else None)

    timed("move service (between two cards)", move, args.repeat, results)

    # The forecast pages over the same 200,000 open deals (bench/sales_forecast_bench.py).
    from sales_forecast_bench import bench_forecast

    bench_forecast(organization, repeats=args.repeat)
    return results


if __name__ == "__main__":
    main()
