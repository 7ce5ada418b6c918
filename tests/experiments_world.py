"""Campaigns, variants and recipients made directly with the models (launching and sending
are the campaigns module's), for the experiment results and attribution tests."""

import datetime
import secrets
from decimal import Decimal

from django.utils import timezone

from jalin.crm.models import Account, Contact
from jalin.sales.models import Campaign, CampaignRecipient, CampaignVariant, Segment


def make_campaign(organization, *, name="Spring mailing", variants=(("A", 1), ("B", 1)),
                  holdout_percent=0, metric="conversion", baseline_rate=None,
                  minimum_detectable_effect=None, status="sent", sent_at=None,
                  attribution_days=30, segment=None, promotion=None):
    campaign = Campaign.objects.create(
        organization=organization, name=name, status=status, seed="seed-" + name,
        holdout_percent=Decimal(str(holdout_percent)), primary_metric=metric,
        baseline_rate=None if baseline_rate is None else Decimal(str(baseline_rate)),
        minimum_detectable_effect=(None if minimum_detectable_effect is None
                                   else Decimal(str(minimum_detectable_effect))),
        attribution_days=attribution_days, segment=segment, promotion=promotion,
        sent_at=sent_at if sent_at is not None else (
            timezone.now() - datetime.timedelta(days=1) if status != "draft" else None))
    made = [CampaignVariant.objects.create(campaign=campaign, name=variant_name, weight=weight,
                                           subject=f"Offer {variant_name}")
            for variant_name, weight in variants]
    return campaign, made


def add_recipients(campaign, variant, n, *, converted=0, revenues=(), opened=0, clicked=0,
                   replied=0, skipped=0, sent_at=None, account=None, buyer=None, prefix=None):
    """`n` analysed recipients in `variant` (None = holdout) plus `skipped` skipped ones. The
    first `converted` converted, with `revenues` (one per converted recipient, else 0)."""
    organization = campaign.organization
    prefix = prefix or f"{campaign.pk}-{variant.pk if variant else 'h'}-{secrets.token_hex(3)}"
    contacts = Contact.objects.bulk_create([
        Contact(organization=organization, first_name=f"C{i}", last_name=prefix,
                email=f"{prefix}-{i}@example.test", email_opt_in=True, account=account)
        for i in range(n + skipped)])
    now = timezone.now()
    sent = sent_at or campaign.sent_at or now
    revenues = list(revenues)
    rows = []
    for index, contact in enumerate(contacts):
        is_skipped = index >= n
        rows.append(CampaignRecipient(
            campaign=campaign, variant=variant, contact=contact, account=account, buyer=buyer,
            email=contact.email, token=secrets.token_urlsafe(32),
            skipped_reason="no_consent" if is_skipped else "",
            sent_at=None if is_skipped or (variant is None and sent_at is None) else sent,
            opened_at=now if not is_skipped and index < opened else None,
            clicked_at=now if not is_skipped and index < clicked else None,
            replied_at=now if not is_skipped and index < replied else None,
            converted_at=now if not is_skipped and index < converted else None,
            revenue=Decimal(str(revenues[index])) if index < len(revenues) else Decimal("0")))
    return CampaignRecipient.objects.bulk_create(rows)


def make_account(organization, name, *, buyer=None):
    return Account.objects.create(organization=organization, name=name, hub_organization=buyer)


def make_segment(organization, name="Customers"):
    return Segment.objects.create(organization=organization, name=name, kind="static")
