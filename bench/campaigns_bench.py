"""Campaign launch benchmark: a segment of many contacts (bulk-loaded with COPY), then the
time of the launch request (what the web page and the API wait for) against the time of the
background preparation that copies the segment into recipients, batch by batch.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/jalin_bench \\
        .venv/bin/python bench/campaigns_bench.py --contacts 1000000

makes a throwaway organization `campaign-bench-<random>` (removed afterwards unless --keep)
and prints the figures. From a shell or a throwaway test:

    from bench.campaigns_bench import load_segment, bench_launch
    segment = load_segment(organization, contacts=200_000)
    print(bench_launch(organization, segment, actor=user))

The figures are in docs/sales.md (Campaigns → Benchmark).
"""

import argparse
import io
import os
import secrets
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

BATCH = 10_000


def load_segment(organization, *, contacts=200_000, name="Bench campaign segment"):
    """A static segment of `contacts` new contacts: 90 % agree to e-mail, 3 % have no
    address (COPY on PostgreSQL)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from jalin.core.bulkload import TableWriter
    from jalin.crm.models import Contact
    from jalin.sales.models import Segment, SegmentMember

    now = timezone.now()
    with transaction.atomic():
        segment = Segment.objects.create(organization=organization, name=name, kind="static",
                                         member_count=contacts, refreshed_at=now)
        contact_writer = TableWriter(Contact, batch=BATCH, out=io.StringIO())
        member_writer = TableWriter(SegmentMember, batch=BATCH, out=io.StringIO())
        contact_writer.followers.append(member_writer)
        first = contact_writer.reserve_ids(contacts)
        for i in range(contacts):
            contact_writer.add({
                "id": first + i, "organization_id": organization.pk,
                "first_name": "Bench", "last_name": f"Contact {i}", "job_title": "",
                "phone": "", "relationship_role": "",
                "email": "" if i % 33 == 0 else f"bench{i}@example.test",
                "email_opt_in": i % 10 != 0, "created_at": now, "updated_at": now})
            member_writer.add({"segment_id": segment.pk, "contact_id": first + i,
                               "added_at": now})
        contact_writer.flush()
        member_writer.flush()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE crm_contact")
            cursor.execute("ANALYZE sales_segmentmember")
    return segment


def bench_launch(organization, segment, *, actor, batch_size=None):
    """Create a two-variant campaign with a 10 % holdout, launch it (timed: this is all the
    request does) and run the preparation (timed, per batch), as the worker would."""
    from jalin.sales import campaigns
    from jalin.sales.models import Campaign, CampaignRecipient

    batch_size = batch_size or campaigns.PREPARE_BATCH
    campaign = campaigns.campaign_create(
        organization=organization, actor=actor, name=f"Bench {secrets.token_hex(3)}",
        segment=segment, holdout_percent=10, variants=[
            {"name": "A", "subject": "Halo {first_name}", "body": "https://x.example/a"},
            {"name": "B", "subject": "Hai {first_name}", "body": "https://x.example/b"}])
    started = time.perf_counter()
    campaigns.campaign_launch(campaign=campaign, actor=actor)
    launch_ms = (time.perf_counter() - started) * 1000
    batch_times = []
    written = 0
    started = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        rows = campaigns.campaign_prepare_batch(campaign_id=campaign.pk, batch_size=batch_size)
        batch_times.append((time.perf_counter() - t0) * 1000)
        if rows is None:
            break
        written += rows
        if rows < batch_size:
            break
    prepare_s = time.perf_counter() - started
    campaign = Campaign.objects.get(pk=campaign.pk)
    started = time.perf_counter()
    campaigns.campaign_progress(campaign)
    progress_ms = (time.perf_counter() - started) * 1000
    batch_times.sort()
    return {
        "contacts": segment.member_count,
        "launch_request_ms": round(launch_ms, 1),
        "prepare_s": round(prepare_s, 1),
        "prepare_rows_per_s": round(written / prepare_s) if prepare_s else None,
        "batch_size": batch_size,
        "batches": len(batch_times),
        "batch_median_ms": round(batch_times[len(batch_times) // 2], 1),
        "batch_max_ms": round(batch_times[-1], 1),
        "recipients": CampaignRecipient.objects.filter(campaign=campaign).count(),
        "status": campaign.status,
        "progress_after_ms": round(progress_ms, 1),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=200_000)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the organization")
    args = parser.parse_args()

    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from jalin.tenancy.models import Membership, Organization
    from jalin.tenancy.roles import Role

    slug = f"campaign-bench-{secrets.token_hex(3)}"
    organization = Organization.objects.create(slug=slug, name="Campaign Bench",
                                               is_supplier=True)
    user = get_user_model().objects.create_user(username=slug, password=secrets.token_hex(16))
    Membership.objects.create(user=user, organization=organization, role=Role.ORG_ADMIN)
    try:
        started = time.perf_counter()
        segment = load_segment(organization, contacts=args.contacts)
        print(f"loaded {args.contacts:,} contacts in {time.perf_counter() - started:.1f} s")
        for key, value in bench_launch(organization, segment, actor=user,
                                       batch_size=args.batch_size).items():
            print(f"{key:>20}: {value}")
    finally:
        if not args.keep:
            organization.delete()
            user.delete()


if __name__ == "__main__":
    main()
