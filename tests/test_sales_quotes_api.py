"""Sales quotes API over HTTP: create from an opportunity (copied lines or given ones) with
Idempotency-Key, bad input 422 with nothing written, foreign ids 404, edit with version (409),
send into the portal, withdraw, answer, PDF, list filters and query count; outsiders see
nothing."""

import pytest

from jalin.api.testing import ApiClient, bearer_token_for
from jalin.hub.models import Rfq
from jalin.sales import quotes
from jalin.sales.models import SalesQuote
from jalin.tenancy.models import Membership
from tests.sales_quote_world import build_sales_world

pytestmark = pytest.mark.django_db


def api_for(user, organization):
    membership = Membership.objects.get(user=user, organization=organization)
    return ApiClient(token=bearer_token_for(membership))


@pytest.fixture
def w(org, owner):
    return build_sales_world(org, owner)


@pytest.fixture
def apis(w, org, outsider, other_org):
    return api_for(w.sales, org), api_for(outsider, other_org)


def test_create_copies_the_deal_at_customer_prices_idempotently(w, apis):
    api, _outsider = apis
    url = f"/sales/opportunities/{w.hub_deal.pk}/quotes"
    first = api.post(url, {}, headers={"Idempotency-Key": "q-1"})
    assert first.status_code == 201, first.content
    data = first.json()
    assert (data["label"], data["status"], data["currency"], data["total_gross"]) == (
        "SQ-1", "draft", "IDR", "69400.00")
    assert [(ln["sku"], ln["unit_price"], ln["price_source"]) for ln in data["lines"]] == [
        ("PAP-1", "8000.0000", "customer"), ("PEN-1", "2500.0000", "base")]
    again = api.post(url, {}, headers={"Idempotency-Key": "q-1"})
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert SalesQuote.objects.count() == 1
    given = api.post(url, {"lines": [{"product_id": w.pens.pk, "quantity": 3,
                                      "unit_price": "2000"}], "note": "Special"})
    assert given.status_code == 201
    assert given.json()["lines"][0]["price_source"] == "manual"
    assert given.json()["total_net"] == "6000.00"


def test_bad_input_422_foreign_ids_404_and_nothing_written(w, apis, other_org, outsider):
    api, outsider_api = apis
    url = f"/sales/opportunities/{w.hub_deal.pk}/quotes"
    for body, status, field in (
            ({"lines": []}, 422, "lines"),
            ({"lines": [{"quantity": 0, "description": "x"}]}, 422, None),
            ({"lines": [{"quantity": 1, "description": "x"}]}, 422, "lines[0].unit_price"),
            ({"lines": [{"quantity": 1, "product_id": w.custom.pk}]}, 422,
             "lines[0].unit_price"),
            ({"lines": [{"quantity": 1, "product_id": 99999999}]}, 404, "lines[0].product_id"),
            ({"valid_until": "2001-01-01"}, 422, "valid_until"),
            ({"surprise": 1}, 422, None)):
        response = api.post(url, body)
        assert response.status_code == status, (body, response.content)
        assert response["Content-Type"].startswith("application/problem+json")
        if field:
            assert response.json()["errors"][0]["field"] == field, response.json()
    assert api.post("/sales/opportunities/99999999/quotes", {}).status_code == 404
    assert outsider_api.post(url, {}).status_code == 404
    assert not SalesQuote.objects.exists()


def test_edit_send_withdraw_answer_and_pdf(w, apis):
    api, outsider_api = apis
    quote = quotes.sales_quote_create(opportunity=w.hub_deal, actor=w.sales)
    url = f"/sales/quotes/{quote.pk}"
    assert outsider_api.get(url).status_code == 404
    assert outsider_api.post(f"{url}/send", {}).status_code == 404
    edited = api.patch(url, {"version": quote.version, "lines": [
        {"product_id": w.paper.pk, "quantity": 10}]})
    assert edited.status_code == 200, edited.content
    assert edited.json()["total_net"] == "80000.00"
    stale = api.patch(url, {"version": quote.version, "note": "late"})
    assert stale.status_code == 409
    sent = api.post(f"{url}/send", {"version": edited.json()["version"]})
    assert sent.status_code == 200, sent.content
    assert sent.json()["status"] == "sent" and sent.json()["hub_quote_id"]
    assert Rfq.objects.get().supplier_initiated
    assert api.post(f"{url}/send", {}).status_code == 422
    answer = api.post(f"{url}/answer", {"accepted": True})
    assert answer.status_code == 422 and answer.json()["code"] == "hub_quote"
    pdf = api.get(f"{url}/pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    withdrawn = api.post(f"{url}/withdraw", {"comment": "Re-quote"})
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"


def test_list_filters_and_query_count(w, apis, django_assert_max_num_queries):
    api, outsider_api = apis
    for _ in range(3):
        quotes.sales_quote_create(opportunity=w.pdf_deal, actor=w.sales)
    quotes.sales_quote_create(opportunity=w.hub_deal, actor=w.sales)
    with django_assert_max_num_queries(10):
        response = api.get("/sales/quotes?limit=2")
    data = response.json()
    assert [item["label"] for item in data["items"]] == ["SQ-4", "SQ-3"]
    rest = api.get(f"/sales/quotes?limit=2&cursor={data['next_cursor']}").json()
    assert [item["label"] for item in rest["items"]] == ["SQ-2", "SQ-1"]
    by_deal = api.get(f"/sales/quotes?opportunity_id={w.hub_deal.pk}").json()
    assert [item["label"] for item in by_deal["items"]] == ["SQ-4"]
    assert api.get("/sales/quotes?status=sent").json()["items"] == []
    assert api.get("/sales/quotes?status=bogus").status_code == 422
    assert outsider_api.get("/sales/quotes").json()["items"] == []
