"""Experiment results benchmark: a campaign with many recipients (bulk-loaded), then the
timings of `campaign_results` (the grouped aggregates behind the results page and API) and of
the plan.

    from bench.experiments_bench import load_campaign, bench_results
    campaign = load_campaign(organization, recipients=200_000)
    print(bench_results(campaign))

Run it against PostgreSQL (DATABASE_URL) in a shell or a throwaway test; the figures are in
docs/sales.md.
"""

import secrets
import statistics
import time
from decimal import Decimal

from django.db import connection
from django.utils import timezone

BATCH = 5_000


def load_campaign(organization, *, recipients=200_000, name="Bench experiment"):
    """A sent campaign (A, B, C, 10% holdout) with `recipients` recipients and contacts;
    ~5% convert with some revenue, ~40% open, ~8% click."""
    from jalin.crm.models import Contact
    from jalin.sales.experiment_stats import assign_group, unit_interval
    from jalin.sales.models import Campaign, CampaignRecipient, CampaignVariant

    now = timezone.now()
    campaign = Campaign.objects.create(organization=organization, name=name, status="sent",
                                       seed="bench", holdout_percent=Decimal("10"),
                                       baseline_rate=Decimal("5"),
                                       minimum_detectable_effect=Decimal("1"), sent_at=now)
    variants = [CampaignVariant.objects.create(campaign=campaign, name=label)
                for label in ("A", "B", "C")]
    for start in range(0, recipients, BATCH):
        contacts = Contact.objects.bulk_create([
            Contact(organization=organization, last_name=f"Bench {i}",
                    email=f"bench{i}@example.test", email_opt_in=True)
            for i in range(start, min(start + BATCH, recipients))])
        rows = []
        for contact in contacts:
            group = assign_group(seed="bench", key=contact.pk, weights=[1, 1, 1],
                                 holdout_percent=10)
            u = unit_interval(seed="bench-outcome", key=contact.pk)
            rows.append(CampaignRecipient(
                campaign=campaign, variant=None if group is None else variants[group],
                contact=contact, email=contact.email, token=secrets.token_urlsafe(32),
                sent_at=now, opened_at=now if u < 0.4 else None,
                clicked_at=now if u < 0.08 else None, converted_at=now if u < 0.05 else None,
                revenue=Decimal(int(u * 40_000_000)) if u < 0.05 else Decimal("0")))
        CampaignRecipient.objects.bulk_create(rows)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE sales_campaignrecipient")
    return campaign


def _timed(func, repeats):
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        func()
        times.append((time.perf_counter() - started) * 1000)
    return {"median_ms": round(statistics.median(times), 1), "max_ms": round(max(times), 1)}


def bench_results(campaign, *, repeats=5):
    from jalin.sales import campaign_results as cr

    cr.campaign_results(campaign)  # warm up
    return {"results": _timed(lambda: cr.campaign_results(campaign), repeats),
            "plan": _timed(lambda: cr.campaign_plan(campaign), repeats)}
