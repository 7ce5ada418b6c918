"""Demo campaigns for Sinar: a sent two-variant e-mail campaign (with a 10 % holdout) over a
static list of its CRM contacts, with some opens, clicks and a reply, and a portal offer that
Toko Bangunan's buyers (lina) see in the portal. Idempotent: an existing campaign of the same
name is left alone. The demo "sends" through Django's dummy mail backend: nobody is mailed."""

import datetime

from django.core.mail.backends.dummy import EmailBackend as DummyBackend
from django.utils import timezone

from jalin.crm.models import Contact

from . import campaigns
from .models import Campaign, CampaignRecipient, Segment, SegmentKind, SegmentMember

EMAIL_NAME = "Promo akhir tahun (A/B)"
OFFER_NAME = "Penawaran portal: semen dan cat"
LIST_NAME = "Daftar newsletter (demo kampanye)"
HUB_LIST_NAME = "Pelanggan hub (demo kampanye)"


def _static_segment(organization, name, contacts):
    segment = Segment.objects.filter(organization=organization, name=name).first()
    if segment is None:
        segment = Segment.objects.create(organization=organization, name=name,
                                         kind=SegmentKind.STATIC, member_count=len(contacts),
                                         refreshed_at=timezone.now())
        SegmentMember.objects.bulk_create([
            SegmentMember(segment=segment, contact=contact, account=contact.account)
            for contact in contacts])
    return segment


def seed_campaigns(*, organization, actor):
    """Returns the number of campaigns created."""
    created = 0
    contacts = list(Contact.objects.filter(organization=organization, archived_at__isnull=True)
                    .select_related("account").order_by("id")[:200])
    if not contacts:
        return 0
    launched_at = timezone.now() - datetime.timedelta(days=10)
    if not Campaign.objects.filter(organization=organization, name=EMAIL_NAME).exists():
        segment = _static_segment(organization, LIST_NAME, contacts)
        campaign = campaigns.campaign_create(
            organization=organization, actor=actor, name=EMAIL_NAME, segment=segment,
            holdout_percent=10, primary_metric="conversion", attribution_days=30,
            baseline_rate=5, minimum_detectable_effect=3, variants=[
                {"name": "A", "weight": 1, "subject": "Diskon akhir tahun untuk {account}",
                 "body": "Halo {first_name},\n\nSemua semen dan cat diskon 10% sampai akhir "
                         "bulan. Pesan sekarang: https://sinar.example/promo\n\nSalam,\nSinar"},
                {"name": "B", "weight": 1, "subject": "{first_name}, stok baru sudah datang",
                 "body": "Halo {first_name},\n\nStok baru sudah datang dan harga khusus "
                         "berlaku untuk Anda: https://sinar.example/katalog\n\nSalam,\nSinar"},
            ])
        campaigns.campaign_launch(campaign=campaign, actor=actor, now=launched_at)
        campaigns.campaign_prepare(campaign_id=campaign.pk)
        campaigns.campaign_send(campaign_id=campaign.pk, connection=DummyBackend(),
                                now=launched_at)
        sent = list(CampaignRecipient.objects.filter(
            campaign=campaign, variant__isnull=False, sent_at__isnull=False)
            .select_related("variant").order_by("id"))
        for index, recipient in enumerate(sent):
            # B does a little better, so the results page has something to say.
            if index % 2 == 0 or (recipient.variant.name == "B" and index % 3 == 0):
                campaigns.recipient_opened(token=recipient.token,
                                           now=launched_at + datetime.timedelta(hours=3))
            if index % 4 == 0 or (recipient.variant.name == "B" and index % 3 == 0):
                campaigns.recipient_clicked(recipient=recipient, index=0,
                                            now=launched_at + datetime.timedelta(hours=4))
        if sent:
            campaigns.campaign_reply_receive(
                raw=f"To: {campaigns.reply_address(sent[0].token)}\r\n\r\nBoleh minta harga?",
                organization=organization)
        created += 1
    if not Campaign.objects.filter(organization=organization, name=OFFER_NAME).exists():
        linked = [c for c in contacts if c.account_id and c.account.hub_organization_id]
        if linked:
            segment = _static_segment(organization, HUB_LIST_NAME, linked)
            campaign = campaigns.campaign_create(
                organization=organization, actor=actor, name=OFFER_NAME, segment=segment,
                channel="portal_offer", primary_metric="click", variants=[
                    {"name": "A", "subject": "Semen dan cat diskon 10% bulan ini",
                     "body": "Khusus pelanggan hub Sinar: potongan 10% untuk semua semen dan "
                             "cat sampai akhir bulan.", "offer_url": "/hub/"}])
            campaigns.campaign_launch(campaign=campaign, actor=actor)
            campaigns.campaign_prepare(campaign_id=campaign.pk)
            campaigns.campaign_send(campaign_id=campaign.pk)
            created += 1
    return created
