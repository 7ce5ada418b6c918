"""RFQ and quote API: create (idempotent), read, cancel, quote, accept → 201 order, decline;
isolation (404), field-named 422s, mass assignment, stale versions, query counts."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from jalin.api.testing import ApiClient, bearer_token_for
from jalin.hub.models import Order, Quote, QuoteStatus, Rfq, RfqStatus
from jalin.hub.testing import make_product
from tests.rfq_world import build_world, in_days, make_quote, make_rfq

pytestmark = pytest.mark.django_db


def api(membership):
    return ApiClient(token=bearer_token_for(membership))


@pytest.fixture
def w(org, owner):
    world = build_world(org, owner)
    world.buyer_api = api(world.buyer_membership)
    world.sales_api = api(world.sales_membership)
    world.b_api = api(world.b_membership)
    world.viewer_api = api(world.buyer_viewer_membership)
    return world


def create(w, client=None, key="rfq-1", **body):
    data = {"supplier_id": w.supplier.pk, "title": "Paper for Q1",
            "lines": [{"product_id": w.paper.pk, "quantity": 5},
                      {"description": "Printed bags", "quantity": 20, "note": "logo"}]}
    data.update(body)
    return (client or w.buyer_api).post("/hub/rfqs", data, headers={"Idempotency-Key": key})


def quote_body(rfq_json, w, **extra):
    lines = []
    for line in rfq_json["lines"]:
        item = {"rfq_line_id": line["id"], "unit_price": "9500.5"}
        if line["product_id"] is None:
            item.update(product_id=w.custom.pk, unit_price="1200", lead_time_days=14)
        lines.append(item)
    return {"valid_until": in_days(10).isoformat(), "note": "Delivery included",
            "lines": lines, **extra}


def test_buyer_requests_supplier_quotes_buyer_accepts(w):
    response = create(w)
    assert response.status_code == 201, response.json()
    rfq = response.json()
    assert (rfq["number"], rfq["status"], rfq["note"]) == (1, "submitted", "")
    assert [ln["sku"] for ln in rfq["lines"]] == ["PAP-1", None]
    replay = create(w)
    assert replay.json()["id"] == rfq["id"] and replay["Idempotent-Replayed"] == "true"
    assert Rfq.objects.count() == 1

    listed = w.sales_api.get("/hub/rfqs?side=supplier").json()
    assert [item["id"] for item in listed["items"]] == [rfq["id"]]
    response = w.sales_api.post(f"/hub/rfqs/{rfq['id']}/quotes", quote_body(rfq, w))
    assert response.status_code == 201, response.json()
    quote = response.json()
    assert quote["status"] == "sent" and quote["note"] == "Delivery included"
    # 5 × 9,500.5 = 47,502.5 → 47,503 + 11 % (5,225) ; 20 × 1,200 = 24,000 + 2,640
    assert quote["total_gross"] == "79368.00"
    assert quote["lines"][1]["lead_time_days"] == 14

    seen = w.buyer_api.get(f"/hub/rfqs/{rfq['id']}").json()
    assert seen["status"] == "quoted" and seen["quotes"][0]["id"] == quote["id"]
    response = w.buyer_api.post(f"/hub/quotes/{quote['id']}/accept", {},
                                headers={"Idempotency-Key": "acc-1"})
    assert response.status_code == 201, response.json()
    order = response.json()
    assert order["total_gross"] == "79368.00" and order["status"] == "submitted"
    assert {ln["sku"]: ln["unit_price"] for ln in order["lines"]} == {
        "PAP-1": "9500.5000", "CUS-1": "1200.0000"}
    # Another key (a second tab): the same order, 200.
    again = w.buyer_api.post(f"/hub/quotes/{quote['id']}/accept", {},
                             headers={"Idempotency-Key": "acc-2"})
    assert again.status_code == 200 and again.json()["id"] == order["id"]
    assert Order.objects.count() == 1
    detail = w.buyer_api.get(f"/hub/rfqs/{rfq['id']}").json()
    assert detail["status"] == "accepted" and detail["quotes"][0]["order_id"] == order["id"]
    assert [c["to_status"] for c in detail["status_changes"]] == [
        "draft", "submitted", "sent", "quoted", "accepted", "accepted"]


def test_keys_and_permissions(w):
    response = w.buyer_api.post("/hub/rfqs", {"supplier_id": w.supplier.pk, "title": "x",
                                              "lines": [{"product_id": w.paper.pk,
                                                         "quantity": 1}]})
    assert response.status_code == 428
    assert create(w, client=w.viewer_api).status_code == 403
    assert create(w, client=w.sales_api).status_code in (403, 422)
    rfq = make_rfq(w)
    body = {"valid_until": in_days(3).isoformat(),
            "lines": [{"rfq_line_id": rfq.lines.first().pk, "unit_price": "1"}]}
    assert w.buyer_api.post(f"/hub/rfqs/{rfq.pk}/quotes", body).status_code == 403
    quote = make_quote(w, rfq)
    response = w.sales_api.post(f"/hub/quotes/{quote.pk}/accept", {},
                                headers={"Idempotency-Key": "s"})
    assert response.status_code == 403
    response = w.buyer_api.post(f"/hub/quotes/{quote.pk}/accept", {})
    assert response.status_code == 428
    assert not Order.objects.exists()


def test_other_buyers_and_foreign_ids_are_404_and_422(w, owner, other_org):
    rfq = make_rfq(w)
    quote = make_quote(w, rfq)
    for path in (f"/hub/rfqs/{rfq.pk}",):
        assert w.b_api.get(path).status_code == 404
    assert w.b_api.post(f"/hub/rfqs/{rfq.pk}/cancel", {}).status_code == 404
    assert w.b_api.post(f"/hub/quotes/{quote.pk}/decline", {}).status_code == 404
    assert w.b_api.post(f"/hub/quotes/{quote.pk}/accept", {},
                        headers={"Idempotency-Key": "x"}).status_code == 404
    assert w.b_api.get("/hub/rfqs").json()["items"] == []
    other_org.is_supplier = True
    other_org.save()
    foreign = make_product(other_org, owner, "X-1")
    response = create(w, key="f", lines=[{"product_id": foreign.pk, "quantity": 1}])
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "lines[0].product_id"
    response = create(w, key="g", supplier_id=other_org.pk)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "supplier_id"
    other_rfq = make_rfq(w, title="Other")
    body = {"valid_until": in_days(3).isoformat(),
            "lines": [{"rfq_line_id": other_rfq.lines.first().pk, "unit_price": "1"}]}
    response = w.sales_api.post(f"/hub/rfqs/{rfq.pk}/quotes", body)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "lines[0].rfq_line_id"
    body["lines"] = [{"rfq_line_id": rfq.lines.first().pk, "unit_price": "1",
                      "product_id": foreign.pk}]
    response = w.sales_api.post(f"/hub/rfqs/{rfq.pk}/quotes", body)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "lines[0].product_id"
    assert Quote.objects.count() == 1 and Rfq.objects.count() == 2


def test_mass_assignment_and_bad_input_are_refused(w):
    for extra in ({"status": "accepted"}, {"number": 99}, {"buyer_id": w.buyer_b.pk}):
        response = create(w, key=f"m{len(extra)}{list(extra)[0]}", **extra)
        assert response.status_code == 422, extra
    response = create(w, key="p", lines=[{"product_id": w.paper.pk, "quantity": 1,
                                          "unit_price": "1"}])
    assert response.status_code == 422  # buyers cannot set prices
    response = create(w, key="q", lines=[{"product_id": w.paper.pk, "quantity": 0}])
    assert response.status_code == 422
    response = create(w, key="d", needed_by="yesterday")
    assert response.status_code == 422
    response = w.buyer_api.post("/hub/rfqs", b"{not json", headers={"Idempotency-Key": "j"})
    assert response.status_code in (400, 422)
    assert not Rfq.objects.exists()
    rfq = make_rfq(w)
    line = rfq.lines.first().pk
    for bad in ({"unit_price": "-1"}, {"unit_price": "abc"}, {"unit_price": "1.123456"},
                {"unit_price": "1", "total_gross": "5"}, {"unit_price": "1", "quantity": 0}):
        body = {"valid_until": in_days(3).isoformat(), "lines": [{"rfq_line_id": line, **bad}]}
        assert w.sales_api.post(f"/hub/rfqs/{rfq.pk}/quotes", body).status_code == 422, bad
    body = {"valid_until": in_days(-1).isoformat(),
            "lines": [{"rfq_line_id": line, "unit_price": "1"}]}
    response = w.sales_api.post(f"/hub/rfqs/{rfq.pk}/quotes", body)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "valid_until"
    assert not Quote.objects.exists()


def test_stale_versions_are_409(w):
    rfq = make_rfq(w)
    old_version = rfq.version
    quote = make_quote(w, rfq)  # moves the RFQ to quoted (version + 1)
    response = w.buyer_api.post(f"/hub/rfqs/{rfq.pk}/cancel", {"version": old_version})
    assert response.status_code == 409
    body = {"valid_until": in_days(3).isoformat(), "version": old_version,
            "lines": [{"rfq_line_id": rfq.lines.first().pk, "unit_price": "1"}]}
    assert w.sales_api.post(f"/hub/rfqs/{rfq.pk}/quotes", body).status_code == 409
    response = w.buyer_api.post(f"/hub/quotes/{quote.pk}/decline",
                                {"version": quote.version - 1})
    assert response.status_code == 409
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.SENT
    response = w.buyer_api.post(f"/hub/quotes/{quote.pk}/decline",
                                {"version": quote.version, "comment": "Too dear"})
    assert response.status_code == 200 and response.json()["status"] == "declined"
    assert w.buyer_api.get(f"/hub/rfqs/{rfq.pk}").json()["status"] == "declined"


def test_cancel_and_expired_accept(w):
    rfq = make_rfq(w)
    quote = make_quote(w, rfq)
    Quote.objects.filter(pk=quote.pk).update(valid_until=in_days(-1))
    response = w.buyer_api.post(f"/hub/quotes/{quote.pk}/accept", {},
                                headers={"Idempotency-Key": "late"})
    assert response.status_code == 422 and response.json()["code"] == "expired"
    response = w.buyer_api.post(f"/hub/quotes/{quote.pk}/accept",  # no body at all
                                headers={"Idempotency-Key": "late-2"})
    assert response.status_code in (400, 422)  # a JSON body is required ({} is enough)
    response = w.buyer_api.post(f"/hub/rfqs/{rfq.pk}/cancel", {"comment": "Found another"})
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    rfq.refresh_from_db()
    assert rfq.status == RfqStatus.CANCELLED and not Order.objects.exists()


def test_list_query_count_does_not_grow(w):
    def count(client):
        client.get("/hub/rfqs")  # warm: the token's last-used stamp is written once
        with CaptureQueriesContext(connection) as ctx:
            response = client.get("/hub/rfqs")
            assert response.status_code == 200
        return len(ctx.captured_queries), len(response.json()["items"])

    for index in range(3):
        make_rfq(w, title=f"R{index}")
    few, items = count(w.sales_api)
    assert items == 3
    for index in range(27):
        make_rfq(w, title=f"S{index}")
    many, items = count(w.sales_api)
    assert items == 30 and many == few
    buyer_few = count(w.buyer_api)[0]
    assert buyer_few == few
