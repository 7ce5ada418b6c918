"""Campaign launching and sending under real concurrency (PostgreSQL, threads): two launches
at once (service or web request) — one wins, the other is refused (409); two workers
preparing the same campaign at once copy every member once (each batch holds the campaign
row with its resume point); a preparation whose worker died resumes without duplicates; two
sending runs at once mail every recipient exactly once (each claims with UPDATE ... WHERE
sent_at IS NULL)."""

from collections import Counter

import pytest
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse

from jalin.core.models import Event
from jalin.crm.models import Contact
from jalin.sales import campaigns
from jalin.sales.models import CampaignRecipient, CampaignStatus
from tests.campaign_world import make_campaign, make_segment
from tests.mail_servers import smtp_sink
from tests.test_hub_orders_concurrency import run_threads

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only(db):
    if connection.vendor != "postgresql":
        pytest.skip("concurrency guarantees are proven on PostgreSQL")


@pytest.fixture
def campaign(org, owner):
    contacts = Contact.objects.bulk_create([
        Contact(organization=org, last_name=f"C{i}", email=f"c{i}@x.example", email_opt_in=True)
        for i in range(30)])
    return make_campaign(org, owner, make_segment(org, contacts))


def test_two_launches_at_once_one_wins(campaign, owner):
    results = run_threads(lambda _i: campaigns.campaign_launch(campaign=campaign, actor=owner), 2)
    errors = [error for _result, error in results if error is not None]
    assert len(errors) == 1 and errors[0].code == "already_launched", results
    assert Event.objects.filter(type="sales.campaign.launched").count() == 1
    campaigns.campaign_prepare(campaign_id=campaign.pk)
    assert CampaignRecipient.objects.filter(campaign=campaign).count() == 30


def test_two_launch_requests_at_once_one_is_409(campaign, owner):
    def launch(_i):
        client = Client()
        client.force_login(owner)
        return client.post(reverse("sales:campaign_launch", args=[campaign.pk])).status_code

    results = run_threads(launch, 2)
    assert sorted(result for result, _error in results) == [302, 409], results
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.PREPARING


def test_two_workers_preparing_at_once_copy_everyone_once(campaign, owner):
    campaigns.campaign_launch(campaign=campaign, actor=owner)
    # Small batches, so the two runs interleave on the campaign row's lock.
    results = run_threads(
        lambda _i: campaigns.campaign_prepare(campaign_id=campaign.pk, batch_size=4), 2)
    assert all(error is None for _result, error in results), results
    assert sum(result for result, _error in results) == 30
    contacts = Counter(CampaignRecipient.objects.filter(campaign=campaign)
                       .values_list("contact_id", flat=True))
    assert len(contacts) == 30 and set(contacts.values()) == {1}
    campaign.refresh_from_db()
    assert (campaign.status, campaign.recipients_prepared) == (CampaignStatus.SENDING, 30)
    assert Event.objects.filter(type="sales.campaign.prepared").count() == 1


def test_a_preparation_that_died_resumes_without_duplicates(campaign, owner):
    campaigns.campaign_launch(campaign=campaign, actor=owner)
    campaigns.campaign_prepare(campaign_id=campaign.pk, batch_size=7, max_batches=2)
    # A worker dies inside its third batch: its rows roll back with the cursor.
    with pytest.raises(RuntimeError), transaction.atomic():
        campaigns.campaign_prepare_batch(campaign_id=campaign.pk, batch_size=7)
        raise RuntimeError("worker killed")
    assert CampaignRecipient.objects.filter(campaign=campaign).count() == 14
    campaign.refresh_from_db()
    assert campaign.recipients_prepared == 14
    assert campaigns.campaign_prepare(campaign_id=campaign.pk, batch_size=7) == 16
    assert CampaignRecipient.objects.filter(campaign=campaign).count() == 30
    assert campaigns.campaign_prepare(campaign_id=campaign.pk) == 0  # done: nothing more


def test_two_sending_runs_mail_everyone_once(campaign, owner, settings):
    campaigns.campaign_launch(campaign=campaign, actor=owner)
    campaigns.campaign_prepare(campaign_id=campaign.pk)
    with smtp_sink() as (sink, port):
        settings.MAILERS = {"default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "use_tls": False, "timeout": 10}}}
        results = run_threads(
            lambda _i: campaigns.campaign_send(campaign_id=campaign.pk, batch_size=5), 3)
    assert all(error is None for _result, error in results), results
    assert sum(result for result, _error in results) == 30
    sent = Counter(envelope.rcpt_tos[0] for envelope in sink.envelopes)
    assert len(sent) == 30 and set(sent.values()) == {1}
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT
    assert (campaign.recipients_sent, campaign.recipients_to_send) == (30, 30)
