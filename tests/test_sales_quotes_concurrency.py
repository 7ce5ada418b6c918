"""Sales quotes under real concurrency (PostgreSQL, threads): quotes made at once get distinct
gapless numbers; a quote sent twice at once reaches the portal once; a withdraw racing the
buyer's accept ends either withdrawn with no order or accepted with one — never both."""

import pytest
from django.db import connection

from jalin.core.events import events_process
from jalin.hub import rfqs
from jalin.hub.models import Order, Quote, QuoteStatus, Rfq
from jalin.sales import quotes
from jalin.sales.models import SalesQuote, SalesQuoteStatus
from tests.sales_quote_world import build_sales_world
from tests.test_hub_orders_concurrency import run_threads

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only(db):
    if connection.vendor != "postgresql":
        pytest.skip("concurrency guarantees are proven on PostgreSQL")


@pytest.fixture
def w(org, owner):
    return build_sales_world(org, owner)


def test_concurrent_creates_get_distinct_gapless_numbers(w):
    results = run_threads(lambda index: quotes.sales_quote_create(
        opportunity=w.pdf_deal, actor=w.sales).number, 6)
    assert all(error is None for _result, error in results), results
    assert sorted(result for result, _error in results) == [1, 2, 3, 4, 5, 6]


def test_a_quote_sent_twice_at_once_reaches_the_portal_once(w):
    quote = quotes.sales_quote_create(opportunity=w.hub_deal, actor=w.sales)

    def send(index):
        return quotes.sales_quote_send(quote=SalesQuote.objects.get(pk=quote.pk),
                                       actor=w.sales, membership=w.sales_membership)

    results = run_threads(send, 4)
    sent = [result for result, error in results if error is None]
    errors = [error for _result, error in results if error is not None]
    assert len(sent) == 1, results
    assert all(isinstance(error, quotes.SalesError) and error.code == "not_draft"
               for error in errors), errors
    assert Rfq.objects.count() == 1 and Quote.objects.count() == 1
    assert SalesQuote.objects.get(pk=quote.pk).hub_quote_id == Quote.objects.get().pk


def test_withdraw_racing_the_buyers_accept_never_gives_both(w):
    quote = quotes.sales_quote_send(
        quote=quotes.sales_quote_create(opportunity=w.hub_deal, actor=w.sales),
        actor=w.sales, membership=w.sales_membership)
    hub_quote_id = quote.hub_quote_id

    def act(index):
        if index == 0:
            return quotes.sales_quote_withdraw(quote=SalesQuote.objects.get(pk=quote.pk),
                                               actor=w.sales, membership=w.sales_membership)
        return rfqs.quote_accept(quote=Quote.objects.get(pk=hub_quote_id),
                                 membership=w.buyer_membership, actor=w.buyer_user)

    results = run_threads(act, 2)
    events_process()
    hub_quote = Quote.objects.get(pk=hub_quote_id)
    sales_quote = SalesQuote.objects.get(pk=quote.pk)
    if hub_quote.status == QuoteStatus.ACCEPTED:
        assert Order.objects.count() == 1 and results[0][1] is not None
        assert sales_quote.status == SalesQuoteStatus.ACCEPTED
        assert sales_quote.hub_order == Order.objects.get()
    else:
        assert hub_quote.status == QuoteStatus.WITHDRAWN and not Order.objects.exists()
        assert sales_quote.status == SalesQuoteStatus.WITHDRAWN and results[1][1] is not None
