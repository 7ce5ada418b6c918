"""The demo's experiment: created once, its orders attributed once, its results page works."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from jalin.accounts.models import User
from jalin.sales.demo_experiments import CAMPAIGN_NAME
from jalin.sales.models import Campaign, CampaignAttribution, CampaignRecipient

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_demo_experiment_is_idempotent_and_has_results():
    call_command("demo", stdout=StringIO())
    campaign = Campaign.objects.get(name=CAMPAIGN_NAME)
    recipients = CampaignRecipient.objects.filter(campaign=campaign).count()
    attributions = CampaignAttribution.objects.count()
    assert recipients > 0 and campaign.variants.count() == 2
    assert attributions > 0  # the demo buyers' orders came after the send
    call_command("demo", stdout=StringIO())
    assert Campaign.objects.filter(name=CAMPAIGN_NAME).count() == 1
    assert CampaignRecipient.objects.filter(campaign=campaign).count() == recipients
    assert CampaignAttribution.objects.count() == attributions

    client = Client()
    client.force_login(User.objects.get(username="budi"))
    response = client.get(f"/sales/campaigns/{campaign.pk}/results/")
    assert response.status_code == 200
    assert 'id="peeking-warning"' in response.content.decode()
