"""Double submits over real HTTP: two overlapping POSTs of "Accept and order" to the threaded
live server, on SQLite and PostgreSQL. The second request answers the order the first placed
(idempotent), never a 500 and never a second order.

On SQLite this used to fail with 500s ('cannot release savepoint - SQL statements in progress',
'database table is locked'): the test database was Django's in-memory one, whose connections
from the live server's request threads are either one shared connection or shared-cache
connections with table locks that fail at once instead of waiting. The test database is a file
now (tests/conftest.py): each request thread has its own connection and WAL, BEGIN IMMEDIATE
and the busy timeout serialize the writers, as in production."""

import http.cookiejar
import re
import threading
import urllib.error
import urllib.parse
import urllib.request

import pytest
from django.db import connection
from django.urls import reverse

from jalin.hub.models import Order, Quote, QuoteStatus
from tests.conftest import PASSWORD
from tests.rfq_world import build_world, make_quote, make_rfq

pytestmark = pytest.mark.django_db(transaction=True)

ROUNDS = 5
WAIT = 60
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class Browser:
    """A cookie-keeping HTTP client of the live server (one session, like one browser tab)."""

    def __init__(self, live_server):
        self.base = live_server.url
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, path):
        with self.opener.open(self.base + path, timeout=WAIT) as response:
            return response.read().decode()

    def post(self, path, data, referer):
        request = urllib.request.Request(  # noqa: S310 - the live server's http URL
            self.base + path, data=urllib.parse.urlencode(data).encode(),
            headers={"Referer": self.base + referer})
        try:
            with self.opener.open(request, timeout=WAIT) as response:
                return response.status, response.url
        except urllib.error.HTTPError as error:
            return error.code, error.url

    def sign_in(self, username):
        path = reverse("accounts:login")
        token = CSRF.search(self.get(path)).group(1)
        status, url = self.post(path, {"csrfmiddlewaretoken": token, "username": username,
                                       "password": PASSWORD}, path)
        assert status == 200 and not url.endswith(path)


def post_together(browser, path, data, referer, count=2):
    """POST the same form from `count` threads at once (a double click)."""
    barrier = threading.Barrier(count)
    results = [None] * count

    def post(index):
        barrier.wait(WAIT)
        results[index] = browser.post(path, data, referer)

    threads = [threading.Thread(target=post, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
        assert not thread.is_alive(), "request did not finish"
    return results


def test_sqlite_test_database_is_a_file(live_server):
    # The cause of the old SQLite failure, checked directly: with the in-memory test database
    # the live server's request threads share Django's one connection (or open shared-cache
    # connections with table locks that fail at once instead of waiting), unlike production.
    if connection.vendor == "sqlite":
        assert not connection.is_in_memory_db()
    assert live_server.thread.connections_override == {}


def test_double_clicked_accept_places_one_order(live_server, org, owner):
    w = build_world(org, owner)
    browser = Browser(live_server)
    browser.sign_in(w.buyer_user.username)
    for round_ in range(ROUNDS):
        rfq = make_rfq(w, title=f"Round {round_}")
        quote = make_quote(w, rfq)
        detail = reverse("hub:rfq_detail", args=[rfq.pk])
        token = CSRF.search(browser.get(detail)).group(1)

        results = post_together(browser, reverse("hub:quote_accept", args=[quote.pk]),
                                {"csrfmiddlewaretoken": token}, detail)

        order = Order.objects.get(quote=quote)
        order_url = reverse("hub:order_detail", args=[order.pk])
        assert [status for status, _url in results] == [200, 200], results
        assert all(url.endswith(order_url) for _status, url in results), results
        assert Quote.objects.get(pk=quote.pk).status == QuoteStatus.ACCEPTED
    assert Order.objects.count() == ROUNDS
