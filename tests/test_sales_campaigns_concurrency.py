"""Campaign sending under real concurrency (PostgreSQL, threads): two sending runs at once
mail every recipient exactly once (each claims with UPDATE ... WHERE sent_at IS NULL), and
two launches at once snapshot the segment once (the campaign row is locked)."""

from collections import Counter

import pytest
from django.db import connection

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


def test_two_launches_at_once_snapshot_once(campaign, owner):
    results = run_threads(lambda _i: campaigns.campaign_launch(campaign=campaign, actor=owner), 2)
    errors = [error for _result, error in results if error is not None]
    assert len(errors) == 1 and errors[0].code == "already_launched", results
    assert CampaignRecipient.objects.filter(campaign=campaign).count() == 30


def test_two_sending_runs_mail_everyone_once(campaign, owner, settings):
    campaigns.campaign_launch(campaign=campaign, actor=owner)
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
