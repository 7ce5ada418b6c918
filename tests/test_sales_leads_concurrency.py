"""Round robin under real concurrency (PostgreSQL, threads): the rule row is locked, so
twelve leads captured at once are shared out evenly, each seller exactly four."""

from collections import Counter

import pytest
from django.db import connection

from jalin.sales import leads
from jalin.sales.models import Lead
from jalin.tenancy.models import Membership, Role
from tests.conftest import make_user
from tests.test_hub_orders_concurrency import run_threads

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only(db):
    if connection.vendor != "postgresql":
        pytest.skip("concurrency guarantees are proven on PostgreSQL")


def test_round_robin_is_fair_under_concurrency(org, owner):
    sellers = []
    for index in range(3):
        user = make_user(f"rr-{index}")
        Membership.objects.create(user=user, organization=org, role=Role.SALES)
        sellers.append(user)
    leads.assignment_rule_save(organization=org, actor=owner, name="Everyone",
                               method="round_robin", user_ids=[u.pk for u in sellers])

    def capture(index):
        return leads.lead_create(organization=org, actor=owner, email=f"c{index}@x.co",
                                 source="web_form").owner_id

    results = run_threads(capture, 12)
    assert all(error is None for _result, error in results), results
    counts = Counter(Lead.objects.values_list("owner_id", flat=True))
    assert counts == {seller.pk: 4 for seller in sellers}
