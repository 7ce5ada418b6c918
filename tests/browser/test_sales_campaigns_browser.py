"""Campaigns in a real browser: a seller creates a two-variant campaign with the form,
launches it and watches the progress (htmx) go from preparing the recipients to delivery; a
recipient unsubscribes from the e-mail's link (the contact's CRM consent goes with it); the
seller reads the experiment's results page (both variants, the comparison
and the warning against reading it early); the buyer sees a portal offer and follows it."""

import re

import pytest
from django.core import mail
from django.urls import reverse
from playwright.sync_api import expect

from jalin.crm.models import Account, Contact
from jalin.sales import campaigns
from jalin.sales.models import Campaign, CampaignRecipient, EmailSuppression
from tests.browser.test_hub_orders_browser import new_page
from tests.browser.test_shell_browser import csp_problems, sign_in
from tests.campaign_world import make_buyer, make_campaign, make_contact, make_segment, small_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_create_launch_progress_and_unsubscribe(browser, page, live_server, org, owner,
                                                console_messages):
    segment, _contacts = small_world(org, owner)
    sign_in(page, live_server, "owner")
    page.goto(live_server.url + reverse("sales:campaigns"))
    page.locator("#new-campaign").click()
    page.wait_for_url(re.compile(r"/sales/campaigns/new/$"))
    form = page.locator("#campaign-form")
    form.locator("input[name=name]").fill("Promo Desember")
    form.locator("select[name=segment]").select_option(str(segment.pk))
    form.locator("input[name=holdout_percent]").fill("0")
    form.locator("input[name=variant_0_subject]").fill("Diskon untuk {first_name}")
    form.locator("textarea[name=variant_0_body]").fill("Halo {first_name}, https://x.example/a")
    form.locator("input[name=variant_1_subject]").fill("Katalog baru")
    form.locator("textarea[name=variant_1_body]").fill("Lihat https://x.example/b")
    form.locator("#campaign-save").click()
    page.wait_for_url(re.compile(r"/sales/campaigns/\d+/$"))
    campaign = Campaign.objects.get()
    assert list(campaign.variants.values_list("name", flat=True)) == ["A", "B"]

    page.locator("#campaign-launch").click()
    page.locator("#campaign-progress").wait_for()
    # The launch returns at once: the recipients are prepared in the background.
    assert page.locator("#campaign-status").inner_text().strip() == "Preparing"
    expect(page.locator("#campaign-progress-text")).to_contain_text(
        "0 of about 5 segment members prepared")
    # What the worker does: the snapshot in batches, then the sending.
    campaigns.campaign_prepare(campaign_id=campaign.pk, batch_size=3, max_batches=1)
    # The progress section polls (htmx) and moves without a reload.
    expect(page.locator("#campaign-progress-text")).to_contain_text(
        "3 of about 5 segment members prepared", timeout=15_000)
    campaigns.campaign_prepare(campaign_id=campaign.pk)
    expect(page.locator("#campaign-progress-text")).to_contain_text("0 of 2 sent",
                                                                    timeout=15_000)
    expect(page.locator("#campaign-status")).to_have_text("Sending")
    campaigns.campaign_send(campaign_id=campaign.pk)
    expect(page.locator("#campaign-progress-text")).to_contain_text("2 of 2 sent",
                                                                    timeout=15_000)
    expect(page.locator("#campaign-status")).to_have_text("Sent")
    # Done: the section stops polling.
    expect(page.locator("#campaign-progress")).not_to_have_attribute("hx-trigger",
                                                                     re.compile(".*"))
    assert len(mail.outbox) == 2

    # A recipient follows the unsubscribe link of the e-mail and confirms.
    recipient = CampaignRecipient.objects.filter(campaign=campaign,
                                                 sent_at__isnull=False).first()
    reader = new_page(browser, console_messages)
    reader.goto(live_server.url + reverse("sales:campaign_unsubscribe", args=[recipient.token]))
    reader.locator("#unsubscribe-button").click()
    reader.locator("#unsubscribed").wait_for()
    assert EmailSuppression.objects.filter(organization=org, email=recipient.email).exists()
    # ... and the CRM knows: the contact no longer agrees to e-mail.
    assert Contact.objects.get(pk=recipient.contact_id).email_opt_in is False

    # The seller opens the results page from the campaign page.
    page.goto(live_server.url + reverse("sales:campaign_detail", args=[campaign.pk]))
    page.locator("#campaign-results-link").click()
    page.wait_for_url(re.compile(r"/sales/campaigns/\d+/results/$"))
    variants = {v.name: str(v.pk) for v in campaign.variants.all()}
    arms = page.locator("#arms-table")
    shown = 0
    for name, key in variants.items():
        row = arms.locator(f"tr[data-arm='{key}']")
        assert row.locator("td").first.inner_text().startswith(name)
        # Assignment hashes the contact ids: which variant each lands in depends on them.
        # Skipped contacts (no consent, no address) are in no group.
        assigned = CampaignRecipient.objects.filter(campaign=campaign, variant_id=key,
                                                    skipped_reason="").count()
        assert row.locator(".recipients").inner_text().strip() == str(assigned)
        shown += assigned
    assert shown == 2
    # One variant compared against the other (no holdout: A is the control).
    assert page.locator(f"#comparison-table tr[data-arm='{variants['B']}']").count() == 1
    # Two recipients are far from the planned sample: the page says not to decide yet.
    assert page.locator("#peeking-warning").is_visible()
    assert not csp_problems(console_messages), console_messages


def test_buyer_follows_a_portal_offer(browser, page, live_server, org, owner, console_messages):
    buyer, _lina = make_buyer()
    account = Account.objects.create(organization=org, name="Toko Bangunan",
                                     hub_organization=buyer)
    contact = make_contact(org, last_name="Lina", email="lina@toko.example", account=account)
    campaign = make_campaign(org, owner, make_segment(org, [contact]), channel="portal_offer",
                             variants=[{"name": "A", "subject": "Semen diskon 10%",
                                        "body": "Khusus bulan ini.",
                                        "offer_url": "/service/"}])
    campaigns.campaign_launch(campaign=campaign, actor=owner)
    campaigns.campaign_prepare(campaign_id=campaign.pk)
    campaigns.campaign_send(campaign_id=campaign.pk)
    sign_in(page, live_server, "lina")
    page.goto(live_server.url + reverse("service:home"))
    page.locator(f"a[href='{reverse('sales:portal_offers')}']").first.click()
    page.wait_for_url(re.compile(r"/sales/offers/$"))
    offer = page.locator(".portal-offer")
    assert "Semen diskon 10%" in offer.inner_text()
    offer.locator(".offer-open").click()
    page.wait_for_url(re.compile(r"/service/$"))
    recipient = CampaignRecipient.objects.get(campaign=campaign)
    assert recipient.opened_at and recipient.clicked_at
    assert not csp_problems(console_messages), console_messages
