"""Sales quote pages: three personas, new quote from an opportunity (prefilled lines, customer
prices), line errors named, draft edit with a stale version (409), send into the portal, withdraw,
the PDF, the list with its query count."""

import datetime

import pytest
from django.test import Client
from django.urls import reverse

from jalin.sales import quotes
from jalin.sales.models import SalesQuote, SalesQuoteStatus
from jalin.tenancy.models import Membership, Role
from tests.conftest import make_user
from tests.sales_quote_world import build_sales_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def w(org, owner):
    return build_sales_world(org, owner)


@pytest.fixture
def sales_client(w):
    client = Client()
    client.force_login(w.sales)
    return client


def form(rows, valid_until=None, **extra):
    data = {"sku": [], "description": [], "quantity": [], "unit_price": [], "fallback": []}
    for sku, description, quantity, price in rows:
        data["sku"].append(sku)
        data["description"].append(description)
        data["quantity"].append(quantity)
        data["unit_price"].append(price)
        data["fallback"].append("")
    data["valid_until"] = (valid_until
                           or quotes.today() + datetime.timedelta(days=14)).isoformat()
    data.update(extra)
    return data


def test_pages_three_personas(w, owner_client, member_client, outsider_client):
    quote = quotes.sales_quote_create(opportunity=w.hub_deal, actor=w.sales)
    pages = (("sales:quotes", []), ("sales:quote_detail", [quote.pk]),
             ("sales:quote_new", [w.hub_deal.pk]), ("sales:quote_edit", [quote.pk]))
    for name, args in pages:
        url = reverse(name, args=args)
        assert owner_client.get(url).status_code == 200, url
        assert member_client.get(url).status_code == 200, url
    pdf = owner_client.get(reverse("sales:quote_pdf", args=[quote.pk]))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    for name, args in pages[1:] + (("sales:quote_pdf", [quote.pk]),):
        assert outsider_client.get(reverse(name, args=args)).status_code == 404
    for name in ("sales:quote_send", "sales:quote_withdraw", "sales:quote_answer"):
        assert outsider_client.post(reverse(name, args=[quote.pk])).status_code == 404
    assert "SQ-1" not in outsider_client.get(reverse("sales:quotes")).content.decode()
    assert SalesQuote.objects.get(pk=quote.pk).status == SalesQuoteStatus.DRAFT


def test_a_viewer_reads_but_cannot_change(w, org):
    viewer = make_user("viewer")
    Membership.objects.create(user=viewer, organization=org, role=Role.VIEWER)
    client = Client()
    client.force_login(viewer)
    quote = quotes.sales_quote_create(opportunity=w.hub_deal, actor=w.sales)
    if client.get(reverse("sales:quote_detail", args=[quote.pk])).status_code != 200:
        pytest.skip("viewers have no sales.view")
    assert client.post(reverse("sales:quote_send", args=[quote.pk])).status_code == 403
    assert SalesQuote.objects.get(pk=quote.pk).status == SalesQuoteStatus.DRAFT


def test_new_quote_form_prefills_the_deal_and_saves_customer_prices(w, sales_client):
    url = reverse("sales:quote_new", args=[w.hub_deal.pk])
    page = sales_client.get(url).content.decode()
    assert 'value="PAP-1"' in page and 'value="PEN-1"' in page
    assert 'id="quote-hub-customer"' in page
    response = sales_client.post(url, form([("PAP-1", "Paper", "5", ""),
                                            ("PEN-1", "Pens", "10", ""), ("", "", "", "")]))
    assert response.status_code == 302
    quote = SalesQuote.objects.get()
    assert response["Location"] == reverse("sales:quote_detail", args=[quote.pk])
    assert str(quote.total_gross) == "69400.00"
    detail = sales_client.get(response["Location"]).content.decode()
    assert "SQ-1" in detail and 'id="quote-send"' in detail


def test_form_errors_name_the_line_and_write_nothing(w, sales_client):
    url = reverse("sales:quote_new", args=[w.hub_deal.pk])
    for rows, message in (([("NOPE-1", "", "1", "")], "Line 1: No product with SKU NOPE-1."),
                          ([("PAP-1", "", "1", ""), ("PEN-1", "", "x", "")], "Line 2: "),
                          ([("CUS-1", "", "1", "")], "Line 1: There is no price")):
        response = sales_client.post(url, form(rows))
        assert response.status_code == 400
        assert message in response.content.decode()
    bad_date = form([("PAP-1", "", "1", "")])
    bad_date["valid_until"] = "31-12-2026"
    response = sales_client.post(url, bad_date)
    assert response.status_code == 400
    assert not SalesQuote.objects.exists()


def test_edit_send_and_withdraw_through_the_pages(w, sales_client):
    quote = quotes.sales_quote_create(opportunity=w.hub_deal, actor=w.sales)
    edit = reverse("sales:quote_edit", args=[quote.pk])
    response = sales_client.post(edit, form([("PAP-1", "Paper", "10", "7500")],
                                            version=str(quote.version)))
    assert response.status_code == 302
    quote.refresh_from_db()
    assert str(quote.total_net) == "75000.00"
    stale = sales_client.post(edit, form([("PAP-1", "Paper", "1", "")], version="1"))
    assert stale.status_code == 409
    assert "changed by someone else" in stale.content.decode()
    response = sales_client.post(reverse("sales:quote_send", args=[quote.pk]),
                                 {"version": str(quote.version)})
    assert response.status_code == 302
    quote.refresh_from_db()
    assert quote.status == SalesQuoteStatus.SENT and quote.hub_quote_id
    detail = sales_client.get(reverse("sales:quote_detail", args=[quote.pk])).content.decode()
    assert 'id="quote-hub"' in detail and 'id="quote-edit"' not in detail
    assert sales_client.get(edit).status_code == 302  # no editing once sent
    again = sales_client.post(reverse("sales:quote_send", args=[quote.pk]), {})
    assert again.status_code == 400 and "Only a draft" in again.content.decode()
    response = sales_client.post(reverse("sales:quote_withdraw", args=[quote.pk]),
                                 {"version": str(quote.version), "comment": "Re-quote"})
    assert response.status_code == 302
    assert SalesQuote.objects.get(pk=quote.pk).status == SalesQuoteStatus.WITHDRAWN


def test_list_keyset_and_query_count(w, sales_client, django_assert_max_num_queries):
    for _ in range(55):
        quotes.sales_quote_create(opportunity=w.pdf_deal, actor=w.sales)
    with django_assert_max_num_queries(12):
        response = sales_client.get(reverse("sales:quotes"))
    page = response.context["page"]
    assert len(page.items) == 50 and page.next_cursor
    assert page.items[0].number == 55
    second = sales_client.get(reverse("sales:quotes"), {"cursor": page.next_cursor})
    assert [q.number for q in second.context["page"].items] == [5, 4, 3, 2, 1]
    assert sales_client.get(reverse("sales:quotes"), {"cursor": "junk"}).status_code == 200
    filtered = sales_client.get(reverse("sales:quotes"), {"status": "sent"})
    assert filtered.context["page"].items == []
