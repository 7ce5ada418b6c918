"""Returns under real concurrency, on PostgreSQL with threads (one connection each)."""

import pytest
from django.db import connection
from django.db.models import Sum

from jalin.hub import returns, stock
from jalin.hub.models import ReturnLine, ReturnRequest
from jalin.hub.services import HubError
from jalin.hub.testing import (
    link_buyer,
    make_delivered_order,
    make_price_list,
    make_product,
    set_price,
)
from jalin.tenancy.models import Membership
from jalin.tenancy.roles import Role
from tests.conftest import make_org, make_user
from tests.test_hub_orders_concurrency import run_threads

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only(db):
    if connection.vendor != "postgresql":
        pytest.skip("concurrency guarantees are proven on PostgreSQL")


def test_concurrent_requests_never_return_the_same_unit_twice(org, owner):
    base = make_price_list(org, owner, "Base", is_base=True)
    product = make_product(org, owner, "R-1")
    set_price(base, product, "100", owner)
    warehouse = stock.warehouse_create(supplier=org, actor=owner, code="W1", name="Main")
    stock.stock_adjust(warehouse=warehouse, product=product, delta=10, reason="count",
                       actor=owner)
    buyer = make_org("race-buyer", is_supplier=False, is_buyer=True)
    relationship = link_buyer(org, buyer, owner)
    order = make_delivered_order(
        relationship=relationship, actor=owner, lines=[(product.pk, 5)],
        supplier_membership=Membership.objects.get(user=owner, organization=org))
    line = order.lines.get()
    users = [make_user(f"race-{i}") for i in range(8)]
    memberships = [Membership.objects.create(user=user, organization=buyer, role=Role.BUYER)
                   for user in users]

    def request(index):
        return returns.return_request_create(order=order, membership=memberships[index],
                                             actor=users[index],
                                             lines=[(line.pk, 2, "damaged")])

    results = run_threads(request, 8)
    made = [r for r, e in results if e is None]
    refused = [e for r, e in results if e is not None]
    assert len(made) == 2  # 2 + 2 of 5 delivered units; a third request of 2 does not fit
    assert all(isinstance(e, HubError) and e.code == "over_return" for e in refused), refused
    assert ReturnLine.objects.aggregate(total=Sum("quantity"))["total"] == 4
    assert sorted(ReturnRequest.objects.values_list("number", flat=True)) == [1, 2]
