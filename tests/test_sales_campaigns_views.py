"""Campaign pages: owner/member/outsider, the new-campaign form with two variants (bad input
400, nothing written), edit variants, launch with progress, cancel; portal offers visible only
to the targeted buyer, with view and click tracking."""

import pytest
from django.test import Client
from django.urls import reverse

from jalin.crm.models import Account
from jalin.sales import campaigns
from jalin.sales.models import Campaign, CampaignRecipient, CampaignStatus, CampaignVariant
from tests.campaign_world import (
    BODY_A,
    make_buyer,
    make_campaign,
    make_contact,
    make_segment,
    small_world,
)


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


def test_pages_three_personas(org, owner, owner_client, member_client, outsider_client):
    segment, _contacts = small_world(org, owner)
    campaign = make_campaign(org, owner, segment)
    pages = [("sales:campaigns", []), ("sales:campaign_new", []),
             ("sales:campaign_detail", [campaign.pk]), ("sales:campaign_edit", [campaign.pk]),
             ("sales:campaign_progress", [campaign.pk])]
    for name, args in pages:
        url = reverse(name, args=args)
        assert owner_client.get(url).status_code == 200, url
        assert member_client.get(url).status_code == 200, url
    for name in ("sales:campaign_detail", "sales:campaign_edit", "sales:campaign_progress"):
        assert outsider_client.get(reverse(name, args=[campaign.pk])).status_code == 404
    for name in ("sales:campaign_launch", "sales:campaign_cancel", "sales:campaign_resume"):
        assert outsider_client.post(reverse(name, args=[campaign.pk])).status_code == 404
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT
    listing = owner_client.get(reverse("sales:campaigns"))
    assert b"Promo Desember" in listing.content
    assert b"Promo Desember" not in outsider_client.get(reverse("sales:campaigns")).content


def test_new_campaign_form_with_two_variants(org, owner, member_client):
    segment, _contacts = small_world(org, owner)
    data = {"name": "Promo Januari", "channel": "email", "segment": segment.pk,
            "holdout_percent": "10", "primary_metric": "conversion", "attribution_days": "14",
            "variant_0_name": "A", "variant_0_weight": "1", "variant_0_subject": "Diskon",
            "variant_0_body": BODY_A, "variant_1_name": "B", "variant_1_weight": "2",
            "variant_1_subject": "Katalog", "variant_1_body": "Lihat https://x.example"}
    bad = member_client.post(reverse("sales:campaign_new"), {**data, "holdout_percent": "90"})
    assert bad.status_code == 400 and not Campaign.objects.exists()
    response = member_client.post(reverse("sales:campaign_new"), data)
    assert response.status_code == 302
    campaign = Campaign.objects.get()
    assert response["Location"] == reverse("sales:campaign_detail", args=[campaign.pk])
    assert list(campaign.variants.values_list("name", "weight")) == [("A", 1), ("B", 2)]
    assert campaign.segment == segment and campaign.attribution_days == 14


def test_edit_variants_and_launch_shows_progress(org, owner, owner_client):
    segment, _contacts = small_world(org, owner)
    campaign = make_campaign(org, owner, segment)
    edit = reverse("sales:campaign_edit", args=[campaign.pk])
    variant = campaign.variants.get(name="B")
    response = owner_client.post(edit, {"action": "variant_save", "variant": variant.pk,
                                        "name": "B", "weight": "3", "subject": "Baru",
                                        "body": "Isi"})
    assert response.status_code == 302
    variant.refresh_from_db()
    assert (variant.weight, variant.subject) == (3, "Baru")
    bad = owner_client.post(edit, {"action": "variant_add", "name": "C", "weight": "0"})
    assert bad.status_code == 400 and campaign.variants.count() == 2
    stale = owner_client.post(edit, {"action": "campaign", "version": "99", "name": "x",
                                     "channel": "email", "attribution_days": "30"})
    assert stale.status_code == 409
    launch = owner_client.post(reverse("sales:campaign_launch", args=[campaign.pk]))
    assert launch.status_code == 302
    page = owner_client.get(reverse("sales:campaign_detail", args=[campaign.pk]))
    assert b'id="campaign-progress"' in page.content and b"hx-trigger" in page.content
    assert b'data-phase="preparing"' in page.content
    twice = owner_client.post(reverse("sales:campaign_launch", args=[campaign.pk]))
    assert twice.status_code == 409
    progress_url = reverse("sales:campaign_progress", args=[campaign.pk])
    progress = owner_client.get(progress_url)
    assert b"0 of about 5 segment members prepared (0 %)" in progress.content
    assert b"hx-trigger" in progress.content and b'hx-swap-oob="true">Preparing' in \
        progress.content
    campaigns.campaign_prepare(campaign_id=campaign.pk, batch_size=3, max_batches=1)
    progress = owner_client.get(progress_url)
    assert b"3 of about 5 segment members prepared (60 %)" in progress.content
    campaigns.campaign_prepare(campaign_id=campaign.pk)
    progress = owner_client.get(progress_url)
    assert b"0 of 2 sent (0 %)" in progress.content and b"hx-trigger" in progress.content
    assert b'hx-swap-oob="true">Sending' in progress.content
    campaigns.campaign_send(campaign_id=campaign.pk)
    progress = owner_client.get(progress_url)
    assert b"2 of 2 sent (100 %)" in progress.content and b"hx-trigger" not in progress.content
    # An edited page of a launched campaign redirects back to the detail.
    assert owner_client.get(edit).status_code == 302


def test_detail_links_to_results_and_plan_when_they_exist(org, owner, owner_client):
    campaign = campaigns.campaign_create(organization=org, actor=owner, name="x")
    page = owner_client.get(reverse("sales:campaign_detail", args=[campaign.pk]))
    assert page.status_code == 200  # renders with or without the experiments pages


def test_cancel(org, owner, owner_client):
    campaign = campaigns.campaign_create(organization=org, actor=owner, name="x")
    response = owner_client.post(reverse("sales:campaign_cancel", args=[campaign.pk]),
                                 {"version": "1"})
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.CANCELLED


# --- Portal offers -------------------------------------------------------------------------


@pytest.fixture
def offer(org, owner):
    buyer, lina = make_buyer()
    other_buyer, dedi = make_buyer("toko-lain", "dedi")
    linked = Account.objects.create(organization=org, name="Toko Bangunan",
                                    hub_organization=buyer)
    unlinked = Account.objects.create(organization=org, name="Tanpa hub")
    contacts = [make_contact(org, last_name="Lina", email="lina@toko.example", account=linked),
                make_contact(org, last_name="Rudi", email="", opt_in=False, account=linked),
                make_contact(org, last_name="Sinta", email="s@x.example", account=unlinked)]
    campaign = make_campaign(org, owner, make_segment(org, contacts), channel="portal_offer",
                             variants=[{"name": "A", "subject": "Semen diskon 10%",
                                        "body": "Khusus bulan ini.",
                                        "offer_url": "/hub/catalog/"}])
    campaigns.campaign_launch(campaign=campaign, actor=owner)
    campaigns.campaign_prepare(campaign_id=campaign.pk)
    campaigns.campaign_send(campaign_id=campaign.pk)
    return {"campaign": campaign, "buyer": buyer, "lina": lina, "dedi": dedi}


def test_portal_offer_only_for_the_targeted_buyer(offer, outsider_client, owner_client):
    campaign = offer["campaign"]
    rows = CampaignRecipient.objects.filter(campaign=campaign)
    assert sorted(rows.values_list("skipped_reason", flat=True)) == ["", "", "no_buyer"]
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT
    lina = client_for(offer["lina"])
    home = lina.get(reverse("service:home"))
    assert home.status_code == 200
    assert reverse("sales:portal_offers").encode() in home.content
    page = lina.get(reverse("sales:portal_offers"))
    assert page.status_code == 200
    assert page.content.count(b"Semen diskon 10%") == 1  # one offer per campaign
    assert rows.filter(buyer=offer["buyer"], opened_at__isnull=False).count() == 2
    # Another buyer sees nothing and cannot follow the offer's link.
    dedi = client_for(offer["dedi"])
    assert b"Semen diskon" not in dedi.get(reverse("sales:portal_offers")).content
    token = rows.filter(buyer=offer["buyer"]).first().token
    go = reverse("sales:portal_offer_open", args=[token])
    assert dedi.get(go).status_code == 404
    assert outsider_client.get(go).status_code == 404
    assert not rows.filter(clicked_at__isnull=False).exists()
    # The right buyer follows it: tracked, and only to the variant's link.
    response = lina.get(go)
    assert response.status_code == 302 and response["Location"] == "/hub/catalog/"
    assert rows.filter(buyer=offer["buyer"], clicked_at__isnull=False).count() == 2
    # A supplier (not a buyer) has no offers page.
    assert owner_client.get(reverse("sales:portal_offers")).status_code == 404


def test_cancelled_portal_offer_disappears(offer, owner):
    campaign = Campaign.objects.get(pk=offer["campaign"].pk)
    Campaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.CANCELLED)
    page = client_for(offer["lina"]).get(reverse("sales:portal_offers"))
    assert b"Semen diskon" not in page.content
    assert CampaignVariant.objects.filter(campaign=campaign).exists()


def test_schedule_form_past_is_400_then_schedule_unschedule(org, owner, owner_client,
                                                            member_client, outsider_client):
    import datetime

    from django.utils import timezone

    segment, _contacts = small_world(org, owner)
    campaign = make_campaign(org, owner, segment)
    url = reverse("sales:campaign_schedule", args=[campaign.pk])
    page = owner_client.get(reverse("sales:campaign_detail", args=[campaign.pk]))
    assert b'id="schedule-form"' in page.content and b'type="datetime-local"' in page.content
    local = timezone.localtime()
    past = member_client.post(url, {"scheduled_for": (local - datetime.timedelta(hours=1))
                                    .strftime("%Y-%m-%dT%H:%M"), "version": "1"})
    assert past.status_code == 400
    assert b"Choose a time in the future." in past.content
    assert member_client.post(url, {"scheduled_for": "kemarin", "version": "1"}) \
        .status_code == 400
    assert member_client.post(url, {"scheduled_for": "", "version": "1"}).status_code == 400
    assert outsider_client.post(url, {"scheduled_for": "2099-01-01T09:00"}).status_code == 404
    campaign.refresh_from_db()
    assert (campaign.status, campaign.scheduled_at) == (CampaignStatus.DRAFT, None)
    when = (local + datetime.timedelta(days=1)).replace(second=0, microsecond=0)
    response = member_client.post(url, {"scheduled_for": when.strftime("%Y-%m-%dT%H:%M"),
                                        "version": "1"})
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SCHEDULED and campaign.scheduled_at == when
    page = owner_client.get(reverse("sales:campaign_detail", args=[campaign.pk]))
    assert b'id="campaign-scheduled"' in page.content and b"Launch now" in page.content
    assert b'id="campaign-progress"' not in page.content
    response = member_client.post(reverse("sales:campaign_unschedule", args=[campaign.pk]),
                                  {"version": str(campaign.version)})
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT
    again = member_client.post(reverse("sales:campaign_unschedule", args=[campaign.pk]))
    assert again.status_code == 409
