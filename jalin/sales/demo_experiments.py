"""Demo data of the experiments: an A/B test with a holdout over Sinar's contacts whose
results page has real figures — the hub orders placed after the send (20 days ago) are
attributed through the same service the event consumer uses — and, because a demo customer
base is small, an honest peeking warning and a plan that says the segment is too small.

Idempotent: a second run finds the campaign by name and only re-attributes (which adds
nothing twice)."""

import datetime
import secrets
from decimal import Decimal

from django.utils import timezone

from jalin.crm.models import Contact
from jalin.hub import order_selectors

from .attribution import attribute_order
from .experiment_stats import assign_group
from .models import (
    Campaign,
    CampaignRecipient,
    CampaignStatus,
    CampaignVariant,
    Segment,
    SegmentKind,
    SegmentMember,
)

CAMPAIGN_NAME = "Bundle offer A/B test"
SEGMENT_NAME = "Experiment demo: all contacts with email"


def seed_experiments(*, supplier, actor):
    """Returns the number of attributed orders created."""
    campaign = Campaign.objects.filter(organization=supplier, name=CAMPAIGN_NAME).first()
    if campaign is None:
        campaign = _create(supplier, actor)
    # Only orders after the send can be attributed (the order history goes back years).
    orders = (order_selectors.orders_for(organization=supplier, side="supplier")
              .filter(created_at__gte=campaign.sent_at).exclude(status="cancelled"))
    created = 0
    for order_id in orders.values_list("pk", flat=True):
        created += attribute_order(supplier=supplier, order_id=order_id)
    return created


def _create(supplier, actor):
    now = timezone.now()
    # Sent 20 days ago: the demo's recent orders fall into the 30-day window, which is still
    # open, and the page says so.
    sent_at = now - datetime.timedelta(days=20)
    contacts = list(Contact.objects.filter(organization=supplier, archived_at__isnull=True)
                    .exclude(email="").select_related("account").order_by("pk"))
    segment, _created = Segment.objects.get_or_create(
        organization=supplier, name=SEGMENT_NAME,
        defaults={"kind": SegmentKind.STATIC, "member_count": len(contacts),
                  "refreshed_at": now})
    SegmentMember.objects.bulk_create(
        [SegmentMember(segment=segment, contact=c, account=c.account) for c in contacts],
        ignore_conflicts=True)
    campaign = Campaign.objects.create(
        organization=supplier, name=CAMPAIGN_NAME, segment=segment,
        status=CampaignStatus.SENT, holdout_percent=Decimal("10"), primary_metric="conversion",
        attribution_days=30, seed="demo-bundle-ab", baseline_rate=Decimal("5"),
        minimum_detectable_effect=Decimal("2"), sent_at=sent_at, owner=actor)
    variants = [
        CampaignVariant.objects.create(campaign=campaign, name="A: 5% off", weight=1,
                                       subject="Hemat 5% untuk semen & cat bulan ini"),
        CampaignVariant.objects.create(campaign=campaign, name="B: free delivery", weight=1,
                                       subject="Gratis ongkir untuk pesanan berikutnya"),
    ]
    recipients = []
    for contact in contacts:
        group = assign_group(seed=campaign.seed, key=contact.pk, weights=[1, 1],
                             holdout_percent=campaign.holdout_percent)
        variant = None if group is None else variants[group]
        consent = contact.email_opt_in
        recipients.append(CampaignRecipient(
            campaign=campaign, variant=variant, contact=contact, account=contact.account,
            buyer=contact.account.hub_organization if contact.account else None,
            email=contact.email, token=secrets.token_urlsafe(32),
            skipped_reason="" if consent else "no_consent",
            sent_at=sent_at if (variant is not None and consent) else None,
            opened_at=(sent_at + datetime.timedelta(hours=2)
                       if variant is not None and consent and contact.pk % 2 == 0 else None),
            clicked_at=(sent_at + datetime.timedelta(hours=3)
                        if variant is not None and consent and contact.pk % 4 == 0
                        else None)))
    CampaignRecipient.objects.bulk_create(recipients)
    return campaign
