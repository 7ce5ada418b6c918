"""RFQs and quotes under real concurrency, on PostgreSQL with threads (one connection each)."""

import pytest
from django.db import connection

from jalin.hub import rfqs
from jalin.hub.models import Order, Quote, QuoteStatus, Rfq, StockLevel
from tests.rfq_world import build_world, make_quote, make_rfq
from tests.test_hub_orders_concurrency import run_threads

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only(db):
    if connection.vendor != "postgresql":
        pytest.skip("concurrency guarantees are proven on PostgreSQL")


def test_eight_concurrent_accepts_make_one_order(org, owner):
    w = build_world(org, owner)
    quote = make_quote(w, make_rfq(w), prices={w.paper.pk: "9500", w.pens.pk: "2000"})
    members = [w.buyer_membership, w.approver_membership]

    def accept(index):
        membership = members[index % 2]
        return rfqs.quote_accept(quote=quote, membership=membership, actor=membership.user)

    results = run_threads(accept, 8)
    errors = [error for _result, error in results if error is not None]
    assert errors == []
    orders = {result[0].pk for result, _error in results}
    assert len(orders) == 1 and Order.objects.count() == 1
    assert sum(1 for result, _error in results if result[1]) == 1  # one created it
    order = Order.objects.get()
    assert order.quote_id == quote.pk and order.number == 1
    assert StockLevel.objects.get(product=w.paper).reserved == 5
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.ACCEPTED


def test_accept_racing_a_revision_never_orders_a_superseded_quote(org, owner):
    w = build_world(org, owner)
    rfq = make_rfq(w)
    quote = make_quote(w, rfq, prices={w.paper.pk: "9500"})

    def act(index):
        if index % 2:
            return rfqs.quote_accept(quote=quote, membership=w.buyer_membership,
                                     actor=w.buyer_user)
        return make_quote(w, Rfq.objects.get(pk=rfq.pk), prices={w.paper.pk: "9000"})

    results = run_threads(act, 2)
    accepted, revised = results[1], results[0]
    quote.refresh_from_db()
    if accepted[1] is None:  # the accept won: the revision finds the request closed
        assert quote.status == QuoteStatus.ACCEPTED and revised[1] is not None
        assert Order.objects.get().lines.get(product=w.paper).unit_price == 9500
    else:  # the revision won: the old quote is superseded and cannot be ordered
        assert quote.status == QuoteStatus.SUPERSEDED and not Order.objects.exists()
        assert revised[1] is None
    assert Quote.objects.filter(status=QuoteStatus.SENT).count() <= 1


def test_concurrent_requests_get_gapless_numbers(org, owner):
    w = build_world(org, owner)

    def request(index):
        return make_rfq(w, title=f"R{index}")

    results = run_threads(request, 10)
    assert all(error is None for _result, error in results)
    assert sorted(Rfq.objects.values_list("number", flat=True)) == list(range(1, 11))
