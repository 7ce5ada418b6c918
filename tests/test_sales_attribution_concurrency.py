"""Attribution under real concurrency (PostgreSQL, threads): orders credited to the same
recipients at the same moment all end up in their revenue, and the same order credited twice
at once is counted once."""

from decimal import Decimal

import pytest
from django.db import connection

from jalin.sales.attribution import attribute_order
from jalin.sales.models import CampaignAttribution, CampaignRecipient
from tests.experiments_world import add_recipients, make_campaign
from tests.test_hub_orders_concurrency import run_threads
from tests.test_sales_attribution import place, shop  # noqa: F401 - the fixture

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only(db):
    if connection.vendor != "postgresql":
        pytest.skip("concurrency guarantees are proven on PostgreSQL")


def test_concurrent_orders_all_count_and_each_once(shop, org):  # noqa: F811
    campaign, (a, b) = make_campaign(org)
    recipients = (add_recipients(campaign, a, 2, account=shop.account, buyer=shop.buyer)
                  + add_recipients(campaign, b, 2, account=shop.account, buyer=shop.buyer))
    orders = [place(shop, quantity=index + 1) for index in range(4)]
    # Each order credited by two threads at once: 8 threads, 4 orders.
    results = run_threads(
        lambda index: attribute_order(supplier=org, order_id=orders[index % 4].pk), 8)
    assert all(error is None for _result, error in results), results
    assert sum(result for result, _error in results) == 4 * len(recipients)
    total = sum((order.total_net for order in orders), Decimal("0"))
    for recipient in CampaignRecipient.objects.filter(pk__in=[r.pk for r in recipients]):
        assert recipient.revenue == total
        assert recipient.converted_at == min(order.submitted_at for order in orders)
    assert CampaignAttribution.objects.count() == 4 * len(recipients)
