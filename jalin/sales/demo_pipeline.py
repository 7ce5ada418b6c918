"""Demo pipeline for Sinar's sellers: ~15 opportunities across the stages of the default
pipeline, some won and lost (with reasons and a competitor), one stale. Idempotent: a second
run finds the deals by name and adds nothing."""

import datetime

from django.utils import timezone

from jalin.crm.models import Account

from . import opportunities as opps
from .leads import default_pipeline
from .models import CloseReason, Competitor, Opportunity, PipelineStage

# (name, stage, amount, days to close, owner, outcome)
DEALS = (
    ("Semen 500 sak — proyek ruko", "Qualification", 32_500_000, 40, "sari", None),
    ("Besi beton 12mm — gudang baru", "Qualification", 58_000_000, 55, "budi", None),
    ("Cat tembok — renovasi kantor", "Needs analysis", 14_750_000, 30, "sari", None),
    ("Keramik lantai — perumahan", "Needs analysis", 96_000_000, 75, "sari", None),
    ("Pipa PVC — stok bulanan", "Needs analysis", 8_900_000, 20, "budi", None),
    ("Baja ringan — atap pabrik", "Proposal", 124_000_000, 45, "sari", None),
    ("Kabel listrik — cabang baru", "Proposal", 21_300_000, 25, "budi", None),
    ("Genteng metal — sekolah", "Proposal", 45_600_000, 35, "sari", None),
    ("Triplek & kayu — interior hotel", "Negotiation", 77_250_000, 15, "budi", None),
    ("Kontrak tahunan bahan bangunan", "Negotiation", 480_000_000, 60, "sari", None),
    ("Lampu LED — gudang", "Qualification", 12_400_000, 10, "sari", "stale"),
    ("Pasir & batu split — jalan desa", "Proposal", 66_000_000, -5, "budi", "won"),
    ("Semen curah — tender pemda", "Negotiation", 310_000_000, -10, "sari", "won"),
    ("Kaca tempered — showroom", "Proposal", 39_900_000, -3, "sari", "lost"),
    ("Paku & baut — stok Q4", "Needs analysis", 6_300_000, -20, "budi", "lost"),
)
COMPETITORS = ("PT Mega Bangun Supplier", "CV Sentosa Material")


def seed_pipeline(*, supplier, users):
    """Returns how many opportunities were created (0 on a rerun)."""
    if Opportunity.objects.filter(organization=supplier, name=DEALS[0][0]).exists():
        return 0
    accounts = list(Account.objects.filter(organization=supplier, archived_at__isnull=True)
                    .order_by("id")[:20])
    if not accounts:
        return 0
    admin = users["budi"]
    pipeline = default_pipeline(supplier)
    stages = {s.name: s for s in PipelineStage.objects.filter(pipeline=pipeline)}
    competitors = [Competitor.objects.get_or_create(organization=supplier, name=name)[0]
                   for name in COMPETITORS]
    today = timezone.localdate()
    created = 0
    for index, (name, stage_name, amount, days, owner, outcome) in enumerate(DEALS):
        actor = users[owner]
        deal = opps.opportunity_create(
            organization=supplier, actor=actor, name=name, account=accounts[index % len(
                accounts)], close_date=today + datetime.timedelta(days=days), amount=amount,
            owner=actor, next_step="Kirim penawaran harga" if index % 3 == 0 else "",
            competitors=[competitors[index % 2]] if index % 4 == 0 else ())
        created += 1
        if stage_name != "Qualification":
            deal = opps.opportunity_move(opportunity=deal, actor=actor,
                                         stage=stages[stage_name])
        if outcome == "won":
            opps.opportunity_close(opportunity=deal, actor=actor, won=True,
                                   reason=CloseReason.objects.filter(
                                       organization=supplier, kind="won").first())
        elif outcome == "lost":
            opps.opportunity_close(opportunity=deal, actor=admin, won=False,
                                   reason=CloseReason.objects.filter(
                                       organization=supplier, kind="lost").first(),
                                   lost_to=competitors[0], note="Harga pesaing lebih murah")
        elif outcome == "stale":
            long_ago = timezone.now() - datetime.timedelta(days=pipeline.stale_after_days + 15)
            Opportunity.objects.filter(pk=deal.pk).update(stage_entered_at=long_ago,
                                                          updated_at=long_ago)
    opps.opportunities_alert_stale()
    return created
