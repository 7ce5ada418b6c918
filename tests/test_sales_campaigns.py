"""Campaign services: drafts and variants, launch (reproducible weighted assignment, holdout,
consent/suppression skips), batched idempotent sending over a real SMTP socket with one-click
unsubscribe headers, opens/clicks/replies, unsubscribe, cancel/resume."""

import datetime
import email
import email.policy
from collections import Counter
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from jalin.core.audit import AuditLog
from jalin.core.models import Event
from jalin.crm.models import Contact
from jalin.sales import campaigns, experiment_stats
from jalin.sales.models import (
    Campaign,
    CampaignRecipient,
    CampaignStatus,
    CampaignVariant,
    EmailSuppression,
)
from jalin.tenancy.services import StaleVersion
from tests.campaign_world import make_campaign, make_segment, small_world
from tests.conftest import make_org
from tests.mail_servers import free_port, smtp_sink

IMMEDIATE = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}


def smtp_settings(settings, port):
    settings.MAILERS = {"default": {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {"host": "127.0.0.1", "port": port, "use_tls": False, "timeout": 10}}}


def parsed(envelope):
    return email.message_from_bytes(envelope.original_content or envelope.content,
                                    policy=email.policy.default)


# --- Drafts and variants -------------------------------------------------------------------


def test_create_with_default_variant_audit_and_event(org, owner):
    campaign = campaigns.campaign_create(organization=org, actor=owner, name=" Promo  Natal ")
    assert campaign.name == "Promo Natal"
    assert campaign.status == CampaignStatus.DRAFT
    assert len(campaign.seed) == 16
    assert list(campaign.variants.values_list("name", "weight")) == [("A", 1)]
    assert campaign.owner == owner
    assert AuditLog.objects.filter(action="sales.campaign.created", object_id=str(campaign.pk))
    assert Event.objects.filter(type="sales.campaign.created", aggregate_id=str(campaign.pk))


@pytest.mark.parametrize("values, field", [
    ({"name": ""}, "name"),
    ({"name": "x", "holdout_percent": 60}, "holdout_percent"),
    ({"name": "x", "attribution_days": 0}, "attribution_days"),
    ({"name": "x", "channel": "fax"}, "channel"),
    ({"name": "x", "baseline_rate": 120}, "baseline_rate"),
    ({"name": "x", "variants": [{"name": "A"}, {"name": "a"}]}, "variants"),
    ({"name": "x", "variants": [{"name": "A", "weight": 0}]}, "variants.0.weight"),
    ({"name": "x", "variants": [{"name": "A", "offer_url": "javascript:alert(1)"}]},
     "variants.0.offer_url"),
])
def test_create_refuses_bad_input_and_writes_nothing(org, owner, values, field):
    with pytest.raises(ValidationError) as error:
        campaigns.campaign_create(organization=org, actor=owner, **values)
    assert field in error.value.message_dict
    assert not Campaign.objects.exists() and not CampaignVariant.objects.exists()


def test_other_organizations_segment_is_not_found(org, owner, other_org):
    segment = make_segment(other_org, [], name="Theirs")
    with pytest.raises(campaigns.SalesError) as error:
        campaigns.campaign_create(organization=org, actor=owner, name="x", segment=segment)
    assert (error.value.code, error.value.field) == ("not_found", "segment_id")
    assert not Campaign.objects.exists()


def test_update_needs_current_version_and_draft(org, owner):
    campaign = campaigns.campaign_create(organization=org, actor=owner, name="x")
    updated = campaigns.campaign_update(campaign=campaign, actor=owner, version=1,
                                        name="y", holdout_percent="10")
    assert (updated.name, updated.version, updated.holdout_percent) == ("y", 2, Decimal("10"))
    with pytest.raises(StaleVersion):
        campaigns.campaign_update(campaign=campaign, actor=owner, version=1, name="z")
    Campaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.SENT)
    with pytest.raises(campaigns.SalesError) as error:
        campaigns.campaign_update(campaign=campaign, actor=owner, version=2, name="z")
    assert error.value.code == "not_draft"


def test_variants_add_update_remove_but_never_the_last(org, owner):
    campaign = campaigns.campaign_create(organization=org, actor=owner, name="x")
    b = campaigns.variant_add(campaign=campaign, actor=owner, name="B", weight=3,
                              subject="s", body="b")
    with pytest.raises(ValidationError):
        campaigns.variant_add(campaign=campaign, actor=owner, name="b")
    campaigns.variant_update(variant=b, actor=owner, weight=2, offer_url="/hub/catalog/")
    b.refresh_from_db()
    assert (b.weight, b.offer_url) == (2, "/hub/catalog/")
    a = campaign.variants.get(name="A")
    campaigns.variant_remove(variant=a, actor=owner)
    with pytest.raises(campaigns.SalesError) as error:
        campaigns.variant_remove(variant=b, actor=owner)
    assert error.value.code == "last_variant"
    assert list(campaign.variants.values_list("name", flat=True)) == ["B"]


def test_variant_links_are_the_messages_links_then_the_offer():
    variant = CampaignVariant(body="Lihat https://a.example/x, lalu https://b.example/y.\n"
                                   "Lagi https://a.example/x", offer_url="/hub/")
    assert campaigns.variant_links(variant) == ["https://a.example/x", "https://b.example/y",
                                                "/hub/"]


# --- Launch --------------------------------------------------------------------------------


def test_launch_snapshots_members_with_skips_and_reproducible_groups(org, owner):
    segment, contacts = small_world(org, owner)
    EmailSuppression.objects.create(organization=org, email="ani@maju.example",
                                    reason="unsubscribed")
    campaign = make_campaign(org, owner, segment)
    campaigns.campaign_launch(campaign=campaign, actor=owner)
    campaign.refresh_from_db()
    # The launch itself copies nobody: it only marks the campaign as preparing.
    assert campaign.status == CampaignStatus.PREPARING and campaign.sent_at
    assert (campaign.recipients_expected, campaign.recipients_prepared) == (5, 0)
    assert not CampaignRecipient.objects.filter(campaign=campaign).exists()
    assert campaigns.campaign_prepare(campaign_id=campaign.pk) == 5
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENDING and campaign.recipients_prepared == 5
    rows = {r.contact_id: r for r in CampaignRecipient.objects.filter(campaign=campaign)}
    reasons = {name: rows[c.pk].skipped_reason for name, c in contacts.items()}
    assert reasons == {"ani": "unsubscribed", "budi": "", "citra": "no_consent",
                       "dodi": "no_email", "eka": "suppressed"}
    variants = list(campaign.variants.order_by("id"))
    for contact in contacts.values():
        index = experiment_stats.assign_group(seed=campaign.seed, key=contact.pk,
                                              weights=[1, 1])
        assert rows[contact.pk].variant_id == variants[index].pk
        assert len(rows[contact.pk].token) == 43
    assert all(r.sent_at is None for r in rows.values())
    assert Event.objects.get(type="sales.campaign.launched").payload["expected"] == 5
    event = Event.objects.get(type="sales.campaign.prepared")
    assert event.payload["recipients"] == 5 and event.payload["skipped"] == 4
    with pytest.raises(campaigns.SalesError) as error:
        campaigns.campaign_launch(campaign=campaign, actor=owner)
    assert error.value.code == "already_launched"
    assert CampaignRecipient.objects.filter(campaign=campaign).count() == 5


def test_assignment_follows_weights_and_holdout(org, owner):
    contacts = Contact.objects.bulk_create([
        Contact(organization=org, last_name=f"C{i}", email=f"c{i}@x.example", email_opt_in=True)
        for i in range(3000)])
    segment = make_segment(org, contacts)
    campaign = make_campaign(org, owner, segment, holdout_percent=20, variants=[
        {"name": "A", "weight": 3, "subject": "s", "body": "b"},
        {"name": "B", "weight": 1, "subject": "s", "body": "b"}])
    campaigns.campaign_launch(campaign=campaign, actor=owner)
    campaigns.campaign_prepare(campaign_id=campaign.pk)
    names = dict(campaign.variants.values_list("id", "name"))
    counts = Counter(names.get(v, "holdout") for v in CampaignRecipient.objects.filter(
        campaign=campaign).values_list("variant_id", flat=True))
    assert abs(counts["holdout"] / 3000 - 0.20) < 0.03
    assert abs(counts["A"] / 3000 - 0.60) < 0.03
    assert abs(counts["B"] / 3000 - 0.20) < 0.03
    # Holdout recipients are "sent" nothing, at the launch time (the attribution start).
    holdout = CampaignRecipient.objects.filter(campaign=campaign, variant__isnull=True)
    campaign.refresh_from_db()
    assert set(holdout.values_list("sent_at", flat=True)) == {campaign.sent_at}
    progress = campaigns.campaign_progress(campaign)
    assert progress["holdout"] == counts["holdout"]
    assert progress["to_send"] == counts["A"] + counts["B"]
    assert progress["sent"] == 0


def test_launch_needs_segment_and_complete_variants(org, owner):
    campaign = campaigns.campaign_create(organization=org, actor=owner, name="x")
    with pytest.raises(ValidationError) as error:
        campaigns.campaign_launch(campaign=campaign, actor=owner)
    assert "segment_id" in error.value.message_dict
    segment, _contacts = small_world(org, owner)
    campaigns.campaign_update(campaign=campaign, actor=owner, version=1, segment=segment)
    with pytest.raises(ValidationError) as error:  # variant A has no subject/body
        campaigns.campaign_launch(campaign=campaign, actor=owner)
    assert "variant" in error.value.message_dict
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT
    assert not CampaignRecipient.objects.exists()


# --- Sending -------------------------------------------------------------------------------


def test_send_over_smtp_with_unsubscribe_headers_tracking_and_reply_to(org, owner, settings):
    segment, contacts = small_world(org, owner)
    campaign = make_campaign(org, owner, segment)
    campaigns.campaign_launch(campaign=campaign, actor=owner)
    campaigns.campaign_prepare(campaign_id=campaign.pk)
    recipient = CampaignRecipient.objects.get(campaign=campaign, contact=contacts["budi"])
    with smtp_sink() as (sink, port):
        smtp_settings(settings, port)
        assert campaigns.campaign_send(campaign_id=campaign.pk) == 2  # ani and budi
    assert mail.outbox == []  # really went over SMTP
    assert sorted(e.rcpt_tos[0] for e in sink.envelopes) == ["ani@maju.example",
                                                             "budi@maju.example"]
    envelope = next(e for e in sink.envelopes if e.rcpt_tos == ["budi@maju.example"])
    message = parsed(envelope)
    token = recipient.token
    site = settings.JALIN_SITE_URL
    assert str(message["List-Unsubscribe"]).strip() == f"<{site}/sales/u/{token}/>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert str(message["Reply-To"]).strip() == f"no-reply+{token}@jalin.local"
    assert str(message["Message-ID"]).strip() == f"<campaign.{token}@jalin.local>"
    assert "Acme Supply" in str(message["From"])
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    variant = recipient.variant
    if variant.name == "A":
        assert message["Subject"] == "Diskon untuk Budi"
        assert text.startswith("Halo Budi,")
        assert f"{site}/sales/k/{token}/0/." in text  # the sentence's full stop stays outside
    else:
        assert message["Subject"] == "Katalog baru"
        assert f"{site}/sales/k/{token}/0/" in text
    assert "https://shop.example" not in text  # every link is tracked
    assert f'src="{site}/sales/o/{token}.gif"' in html
    assert f"{site}/sales/u/{token}/" in text
    recipient.refresh_from_db()
    assert recipient.sent_at is not None
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT
    assert Event.objects.filter(type="sales.campaign.sent", aggregate_id=str(campaign.pk))


def test_sending_is_idempotent_per_recipient(org, owner, settings,
                                             django_assert_max_num_queries):
    contacts = Contact.objects.bulk_create([
        Contact(organization=org, last_name=f"C{i}", email=f"c{i}@x.example", email_opt_in=True)
        for i in range(7)])
    campaign = make_campaign(org, owner, make_segment(org, contacts))
    campaigns.campaign_launch(campaign=campaign, actor=owner)
    campaigns.campaign_prepare(campaign_id=campaign.pk)
    first = CampaignRecipient.objects.filter(campaign=campaign).order_by("id").first()
    # Someone (another worker) already claimed the first recipient.
    CampaignRecipient.objects.filter(pk=first.pk).update(sent_at=timezone.now())
    with smtp_sink() as (sink, port):
        smtp_settings(settings, port)
        assert campaigns.campaign_send_batch(campaign_id=campaign.pk, batch_size=3) == 3
        campaign.refresh_from_db()
        with django_assert_max_num_queries(0):  # the polled progress counts nothing
            progress = campaigns.campaign_progress(campaign)
        assert (progress["phase"], progress["sent"], progress["to_send"]) == ("sending", 3, 7)
        assert campaigns.campaign_send(campaign_id=campaign.pk, batch_size=2) == 3
        assert campaigns.campaign_send(campaign_id=campaign.pk) == 0  # nothing left
    addresses = [envelope.rcpt_tos[0] for envelope in sink.envelopes]
    assert len(addresses) == 6 == len(set(addresses))
    assert first.email not in addresses
    assert CampaignRecipient.objects.filter(campaign=campaign, sent_at__isnull=True).count() == 0
    campaign.refresh_from_db()
    # Done: counted from the recipients, so the one another worker sent counts too.
    assert campaigns.campaign_progress(campaign)["sent"] == 7


def test_a_failing_mail_server_stops_sending_and_resume_finishes(org, owner, settings,
                                                                  django_capture_on_commit_callbacks):
    segment, contacts = small_world(org, owner)
    campaign = make_campaign(org, owner, segment)
    campaigns.campaign_launch(campaign=campaign, actor=owner)
    campaigns.campaign_prepare(campaign_id=campaign.pk)
    smtp_settings(settings, free_port())  # nobody listens there
    assert campaigns.campaign_send_batch(campaign_id=campaign.pk) is None
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENDING
    assert "Error" in campaign.send_error or "refused" in campaign.send_error.lower()
    assert not CampaignRecipient.objects.filter(campaign=campaign, sent_at__isnull=False,
                                                variant__isnull=False).exists()
    settings.TASKS = IMMEDIATE
    with smtp_sink() as (sink, port):
        smtp_settings(settings, port)
        with django_capture_on_commit_callbacks(execute=True):
            campaigns.campaign_resume(campaign=campaign, actor=owner)
    assert len(sink.envelopes) == 2
    campaign.refresh_from_db()
    assert (campaign.status, campaign.send_error) == (CampaignStatus.SENT, "")


def test_launch_queues_the_sending_task(org, owner, settings,
                                       django_capture_on_commit_callbacks):
    settings.TASKS = IMMEDIATE
    segment, _contacts = small_world(org, owner)
    campaign = make_campaign(org, owner, segment)
    with django_capture_on_commit_callbacks(execute=True):
        campaigns.campaign_launch(campaign=campaign, actor=owner)  # prepare, then send
    assert sorted(m.to[0] for m in mail.outbox) == ["ani@maju.example", "budi@maju.example"]
    assert mail.outbox[0].extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT


def test_cancel_stops_sending(org, owner):
    segment, _contacts = small_world(org, owner)
    campaign = make_campaign(org, owner, segment)
    campaigns.campaign_launch(campaign=campaign, actor=owner)
    campaigns.campaign_prepare(campaign_id=campaign.pk)
    campaigns.campaign_cancel(campaign=campaign, actor=owner)
    assert campaigns.campaign_send(campaign_id=campaign.pk) == 0
    assert mail.outbox == []
    with pytest.raises(campaigns.SalesError):
        campaigns.campaign_cancel(campaign=campaign, actor=owner)


# --- Tracking: pixel, clicks, unsubscribe, replies -----------------------------------------


@pytest.fixture
def sent(org, owner):
    segment, contacts = small_world(org, owner)
    campaign = make_campaign(org, owner, segment)
    campaigns.campaign_launch(campaign=campaign, actor=owner)
    campaigns.campaign_prepare(campaign_id=campaign.pk)
    campaigns.campaign_send(campaign_id=campaign.pk)
    return CampaignRecipient.objects.select_related("variant").get(
        campaign=campaign, contact=contacts["budi"])


def test_open_pixel_records_the_first_open(sent):
    client = Client()
    response = client.get(reverse("sales:campaign_open", args=[sent.token]))
    assert response.status_code == 200 and response["Content-Type"] == "image/gif"
    sent.refresh_from_db()
    first = sent.opened_at
    assert first is not None
    client.get(reverse("sales:campaign_open", args=[sent.token]))
    sent.refresh_from_db()
    assert sent.opened_at == first
    # Unknown tokens get the same pixel and change nothing.
    assert client.get(reverse("sales:campaign_open", args=["x" * 43])).status_code == 200


def test_click_redirects_only_to_the_variants_own_links(sent):
    client = Client()
    response = client.get(reverse("sales:campaign_click", args=[sent.token, 0]))
    assert response.status_code == 302
    assert response["Location"] == campaigns.variant_links(sent.variant)[0]
    assert response["Location"].startswith("https://shop.example/")
    sent.refresh_from_db()
    assert sent.clicked_at and sent.opened_at
    assert client.get(reverse("sales:campaign_click", args=[sent.token, 7])).status_code == 404
    assert client.get(reverse("sales:campaign_click", args=["y" * 43, 0])).status_code == 404
    assert client.get(f"/sales/k/{sent.token}/0/?next=https://evil.example")["Location"] \
        .startswith("https://shop.example/")


def test_one_click_unsubscribe_post_suppresses_the_address(org, owner, sent):
    client = Client(enforce_csrf_checks=True)
    url = reverse("sales:campaign_unsubscribe", args=[sent.token])
    page = client.get(url)  # a link scanner's GET changes nothing
    assert page.status_code == 200 and b"unsubscribe-form" in page.content
    sent.refresh_from_db()
    assert sent.unsubscribed_at is None
    response = client.post(url, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200 and b'id="unsubscribed"' in response.content
    sent.refresh_from_db()
    assert sent.unsubscribed_at is not None
    assert EmailSuppression.objects.get(organization=org, email="budi@maju.example").reason \
        == "unsubscribed"
    assert client.post(url).status_code == 200  # again: same answer, one event
    assert Event.objects.filter(type="sales.campaign.unsubscribed").count() == 1
    # The next campaign skips the address.
    again = make_campaign(org, owner, sent.campaign.segment, name="Lagi")
    campaigns.campaign_launch(campaign=again, actor=owner)
    campaigns.campaign_prepare(campaign_id=again.pk)
    assert CampaignRecipient.objects.get(campaign=again, contact=sent.contact) \
        .skipped_reason == "unsubscribed"
    assert Client().get(reverse("sales:campaign_unsubscribe", args=["z" * 43])) \
        .status_code == 404


def test_unsubscribe_page_button(sent):
    client = Client()
    response = client.post(reverse("sales:campaign_unsubscribe", args=[sent.token]))
    assert response.status_code == 200
    assert Event.objects.get(type="sales.campaign.unsubscribed").payload["source"] == "page"


def test_a_reply_to_the_token_address_is_recorded_once(org, sent, other_org):
    raw = (f"From: Budi <budi@maju.example>\r\nTo: {campaigns.reply_address(sent.token)}\r\n"
           f"Subject: Re: Diskon\r\nMessage-ID: <r1@maju>\r\n\r\nTertarik!\r\n")
    assert campaigns.campaign_reply_receive(raw=raw, organization=other_org) == []
    assert [r.pk for r in campaigns.campaign_reply_receive(raw=raw, organization=org)] \
        == [sent.pk]
    assert campaigns.campaign_reply_receive(raw=raw) == []
    sent.refresh_from_db()
    assert sent.replied_at is not None
    by_reference = (f"From: x@y\r\nTo: sales@acme.example\r\nIn-Reply-To: "
                    f"{campaigns.message_id(sent.token)}\r\n\r\nhi\r\n")
    assert campaigns.reply_tokens(by_reference) == [sent.token]


def test_progress_and_counts_use_a_fixed_number_of_queries(org, owner, sent,
                                                           django_assert_max_num_queries):
    campaign = sent.campaign
    with django_assert_max_num_queries(3):
        progress = campaigns.campaign_progress(campaign)
        counts = campaigns.variant_counts(campaign)
        skipped = campaigns.skipped_counts(campaign)
    assert progress["sent"] == 2 and progress["to_send"] == 2 and progress["percent"] == 100
    assert sum(row["recipients"] for row in counts.values()) == 5
    assert sum(row["sent"] for row in counts.values()) == 2
    assert skipped == {"no_consent": 1, "no_email": 1, "suppressed": 1}


def test_other_organizations_cannot_reach_recipients(org, sent):
    stranger = make_org("stranger-co")
    assert campaigns.campaign_reply_receive(
        raw=f"To: {campaigns.reply_address(sent.token)}\r\n\r\nx", organization=stranger) == []


# --- Background preparation ----------------------------------------------------------------


def test_preparing_shows_progress_without_counting_and_cancel_stops_it(
        org, owner, django_assert_max_num_queries):
    contacts = Contact.objects.bulk_create([
        Contact(organization=org, last_name=f"C{i}", email=f"c{i}@x.example", email_opt_in=True)
        for i in range(25)])
    segment = make_segment(org, contacts)
    campaign = make_campaign(org, owner, segment)
    with django_assert_max_num_queries(12):  # the same whatever the segment's size
        campaigns.campaign_launch(campaign=campaign, actor=owner)
    assert campaigns.campaign_prepare(campaign_id=campaign.pk, batch_size=10,
                                      max_batches=1) == 10
    campaign.refresh_from_db()
    with django_assert_max_num_queries(0):
        progress = campaigns.campaign_progress(campaign)
    assert (progress["phase"], progress["prepared"], progress["expected"],
            progress["percent"]) == ("preparing", 10, 25, 40)
    campaigns.campaign_cancel(campaign=campaign, actor=owner)
    assert campaigns.campaign_prepare(campaign_id=campaign.pk) == 0
    assert CampaignRecipient.objects.filter(campaign=campaign).count() == 10
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.CANCELLED
    assert campaigns.campaign_progress(campaign)["phase"] == "done"


def test_a_stalled_preparation_is_queued_again(org, owner, settings,
                                               django_capture_on_commit_callbacks):
    segment, _contacts = small_world(org, owner)
    campaign = make_campaign(org, owner, segment)
    launched_at = timezone.now() - datetime.timedelta(minutes=30)
    campaigns.campaign_launch(campaign=campaign, actor=owner, now=launched_at)
    assert campaigns.campaigns_launch_due(now=launched_at + datetime.timedelta(minutes=5)) \
        is None  # still within the grace period
    settings.TASKS = IMMEDIATE
    with django_capture_on_commit_callbacks(execute=True):
        assert campaigns.campaigns_launch_due() == {"launched": 0, "requeued": 1}
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT
    assert CampaignRecipient.objects.filter(campaign=campaign).count() == 5
    assert len(mail.outbox) == 2


# --- Scheduling ----------------------------------------------------------------------------


def test_schedule_refuses_the_past_and_incomplete_campaigns(org, owner):
    segment, _contacts = small_world(org, owner)
    campaign = make_campaign(org, owner, segment)
    now = timezone.now()
    for when, code in ((now - datetime.timedelta(minutes=1), "past"), (None, "required"),
                       (now + datetime.timedelta(days=400), "too_far")):
        with pytest.raises(ValidationError) as error:
            campaigns.campaign_schedule(campaign=campaign, actor=owner, scheduled_for=when)
        assert error.value.error_dict["scheduled_for"][0].code == code
    bare = campaigns.campaign_create(organization=org, actor=owner, name="x", segment=segment)
    with pytest.raises(ValidationError) as error:  # variant A has no subject/body
        campaigns.campaign_schedule(campaign=bare, actor=owner,
                                    scheduled_for=now + datetime.timedelta(hours=1))
    assert "variant" in error.value.message_dict
    assert set(Campaign.objects.values_list("status", flat=True)) == {CampaignStatus.DRAFT}
    assert not Campaign.objects.filter(scheduled_at__isnull=False).exists()
    assert not Event.objects.filter(type="sales.campaign.scheduled").exists()


def test_the_scheduler_launches_due_campaigns_only(org, owner, settings,
                                                  django_capture_on_commit_callbacks):
    from jalin.core.housekeeping import registered_housekeeping

    assert registered_housekeeping()["sales.campaigns_launch_due"].func \
        is campaigns.campaigns_launch_due
    segment, _contacts = small_world(org, owner)
    now = timezone.now()
    due = make_campaign(org, owner, segment, name="Due")
    later = make_campaign(org, owner, segment, name="Later")
    dropped = make_campaign(org, owner, segment, name="Dropped")
    for campaign, hours in ((due, 1), (later, 5), (dropped, 1)):
        campaigns.campaign_schedule(campaign=campaign, actor=owner,
                                    scheduled_for=now + datetime.timedelta(hours=hours))
    campaigns.campaign_cancel(campaign=dropped, actor=owner)
    with pytest.raises(campaigns.SalesError) as error:  # no longer a draft
        campaigns.campaign_update(campaign=later, actor=owner, version=2, name="x")
    assert error.value.code == "not_draft"
    assert campaigns.campaigns_launch_due(now=now) is None
    settings.TASKS = IMMEDIATE
    with django_capture_on_commit_callbacks(execute=True):
        assert campaigns.campaigns_launch_due(now=now + datetime.timedelta(hours=2)) == {
            "launched": 1, "requeued": 0}
    statuses = dict(Campaign.objects.values_list("name", "status"))
    assert statuses == {"Due": "sent", "Later": "scheduled", "Dropped": "cancelled"}
    assert len(mail.outbox) == 2
    launched = AuditLog.objects.get(action="sales.campaign.launched")
    assert launched.actor is None and launched.after["scheduled"] is True
    # Unschedule: a draft again, editable, and the scheduler leaves it alone.
    campaigns.campaign_unschedule(campaign=later, actor=owner)
    later.refresh_from_db()
    assert (later.status, later.scheduled_at) == (CampaignStatus.DRAFT, None)
    assert campaigns.campaigns_launch_due(now=now + datetime.timedelta(hours=6)) is None


# --- Unsubscribe withdraws the CRM consent -------------------------------------------------


def test_unsubscribing_withdraws_crm_consent_and_the_next_campaign_skips(org, owner):
    from jalin.core.events import events_process
    from jalin.crm.models import TimelineEntry

    segment, contacts = small_world(org, owner)
    first = make_campaign(org, owner, segment, name="Kampanye A")
    campaigns.campaign_launch(campaign=first, actor=owner)
    campaigns.campaign_prepare(campaign_id=first.pk)
    campaigns.campaign_send(campaign_id=first.pk)
    budi = contacts["budi"]
    recipient = CampaignRecipient.objects.get(campaign=first, contact=budi)
    response = Client().post(reverse("sales:campaign_unsubscribe", args=[recipient.token]),
                             {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    budi.refresh_from_db()
    assert budi.email_opt_in is False and budi.email_opt_in_at is not None
    audit = AuditLog.objects.get(action="crm.contact.consent_withdrawn")
    assert audit.object_id == str(budi.pk) and audit.after["reason"] == "Kampanye A"
    events_process(batch_size=1000)
    line = TimelineEntry.objects.get(contact=budi, event_type="crm.contact.consent_withdrawn")
    assert line.account_id == budi.account_id
    from jalin.crm.timeline.render import sentence

    assert sentence(line) == "Contact Budi Santoso unsubscribed from e-mail (Kampanye A)"
    # Unsubscribing again changes nothing more.
    Client().post(reverse("sales:campaign_unsubscribe", args=[recipient.token]))
    assert AuditLog.objects.filter(action="crm.contact.consent_withdrawn").count() == 1
    # Campaign B skips him; with a new address (not on the suppression list) the withdrawn
    # consent alone still keeps him out.
    second = make_campaign(org, owner, segment, name="Kampanye B")
    campaigns.campaign_launch(campaign=second, actor=owner)
    campaigns.campaign_prepare(campaign_id=second.pk)
    assert CampaignRecipient.objects.get(campaign=second, contact=budi).skipped_reason \
        == "unsubscribed"
    Contact.objects.filter(pk=budi.pk).update(email="budi.baru@maju.example")
    third = make_campaign(org, owner, segment, name="Kampanye C")
    campaigns.campaign_launch(campaign=third, actor=owner)
    campaigns.campaign_prepare(campaign_id=third.pk)
    assert CampaignRecipient.objects.get(campaign=third, contact=budi).skipped_reason \
        == "no_consent"
    campaigns.campaign_send(campaign_id=third.pk)
    assert "budi.baru@maju.example" not in [m.to[0] for m in mail.outbox]
