"""The demo's campaigns: a sent two-variant e-mail campaign with a holdout, opens, clicks and a
reply, and a portal offer that lina (Toko Bangunan) sees; a second run changes nothing."""

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from jalin.accounts.models import User
from jalin.sales.demo_campaigns import EMAIL_NAME, OFFER_NAME
from jalin.sales.models import Campaign, CampaignRecipient, CampaignStatus


@pytest.fixture(autouse=True)
def fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.mark.django_db
def test_demo_campaigns():
    call_command("demo", stdout=None)
    campaign = Campaign.objects.get(name=EMAIL_NAME)
    assert campaign.status == CampaignStatus.SENT
    assert list(campaign.variants.values_list("name", flat=True)) == ["A", "B"]
    rows = CampaignRecipient.objects.filter(campaign=campaign)
    assert rows.filter(variant__isnull=False, sent_at__isnull=False).count() >= 4
    assert rows.filter(opened_at__isnull=False).exists()
    assert rows.filter(clicked_at__isnull=False).exists()
    assert rows.filter(replied_at__isnull=False).count() == 1
    assert rows.exclude(skipped_reason="").exists()  # contacts without consent are skipped
    assert mail.outbox == []  # the demo mails nobody
    offer = Campaign.objects.get(name=OFFER_NAME)
    assert offer.status == CampaignStatus.SENT
    client = Client()
    client.force_login(User.objects.get(username="lina"))
    page = client.get(reverse("sales:portal_offers"))
    assert b"Semen dan cat diskon 10% bulan ini" in page.content
    before = CampaignRecipient.objects.count()
    call_command("demo", stdout=None)
    assert Campaign.objects.filter(name__in=[EMAIL_NAME, OFFER_NAME]).count() == 2
    assert CampaignRecipient.objects.count() == before
