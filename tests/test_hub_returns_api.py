"""Hub returns API: request (Idempotency-Key, unknown fields), read, transitions, isolation
(404 for other organizations' returns, orders and lines), 409 stale, 422 invalid, query
counts."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from jalin.api.testing import ApiClient, bearer_token_for
from jalin.hub import returns
from jalin.hub.models import ReturnRequest, StockLevel
from jalin.hub.testing import link_buyer, make_delivered_order
from jalin.tenancy.models import Membership
from jalin.tenancy.roles import Role
from tests.conftest import make_org, make_user
from tests.test_hub_returns import rma  # noqa: F401 - the shared fixture


def api_for(user, organization):
    membership = Membership.objects.get(user=user, organization=organization)
    return ApiClient(token=bearer_token_for(membership))


@pytest.fixture
def apis(rma):  # noqa: F811
    other = make_org("other-buyer", is_supplier=False, is_buyer=True)
    link_buyer(rma.supplier, other, rma.owner)
    other_user = make_user("other-buyer-user")
    Membership.objects.create(user=other_user, organization=other, role=Role.BUYER)
    finance = make_user("fin")
    Membership.objects.create(user=finance, organization=rma.supplier, role=Role.FINANCE)
    return type("Apis", (), dict(
        buyer=api_for(rma.buyer_user, rma.buyer), owner=api_for(rma.owner, rma.supplier),
        other=api_for(other_user, other), finance=api_for(finance, rma.supplier),
        other_org=other,
    ))


def post_return(api, body, key="k1"):
    return api.post("/hub/returns", body, headers={"Idempotency-Key": key})


def body_for(rma, quantity=2, **extra):  # noqa: F811
    return {"order_id": rma.order.pk, "lines": [
        {"order_line_id": rma.paper_line.pk, "quantity": quantity, "reason": "damaged"}],
        "note": "Wet", **extra}


def test_request_and_walk_the_lifecycle(rma, apis):  # noqa: F811
    response = post_return(apis.buyer, body_for(rma))
    assert response.status_code == 201, response.json()
    data = response.json()
    assert (data["number"], data["status"], data["order_number"]) == (1, "requested",
                                                                     rma.order.number)
    assert data["lines"][0]["sku"] == "PAP-1" and data["lines"][0]["reason"] == "damaged"
    assert data["actions"] == ["cancel"]
    replay = post_return(apis.buyer, body_for(rma))
    assert replay.json()["id"] == data["id"] and ReturnRequest.objects.count() == 1
    return_id = data["id"]
    detail = apis.owner.get(f"/hub/returns/{return_id}").json()
    assert detail["actions"] == ["approve", "reject"]
    url = f"/hub/returns/{return_id}/transitions"
    assert apis.owner.post(url, {"action": "approve", "version": 1}).status_code == 200
    stale = apis.owner.post(url, {"action": "receive", "version": 1})
    assert stale.status_code == 409
    line_id = detail["lines"][0]["id"]
    received = apis.owner.post(url, {"action": "receive", "version": 2, "lines": [
        {"line_id": line_id, "received_quantity": 2, "condition": "opened",
         "restock": True}], "warehouse_id": rma.warehouse.pk})
    assert received.status_code == 200, received.json()
    assert received.json()["status"] == "received"
    assert received.json()["lines"][0]["condition"] == "opened"
    assert received.json()["restock_warehouse_id"] == rma.warehouse.pk
    assert StockLevel.objects.get(warehouse=rma.warehouse, product=rma.paper).on_hand == 48
    assert [c["to_status"] for c in received.json()["status_changes"]] == [
        "requested", "approved", "received"]
    listing = apis.buyer.get("/hub/returns?status=received").json()
    assert [item["id"] for item in listing["items"]] == [return_id]
    assert apis.buyer.get("/hub/returns?status=requested").json()["items"] == []


def test_bad_input_is_422_and_changes_nothing(rma, apis):  # noqa: F811
    cases = [
        body_for(rma, supplier_id=1),  # unknown field: mass assignment refused
        body_for(rma, quantity=0),
        body_for(rma, quantity=5),  # more than delivered
        {**body_for(rma), "lines": []},
        {**body_for(rma), "lines": [{"order_line_id": rma.paper_line.pk, "quantity": 1,
                                     "reason": "bored"}]},
    ]
    for index, body in enumerate(cases):
        response = post_return(apis.buyer, body, key=f"bad-{index}")
        assert response.status_code == 422, (index, response.json())
    assert post_return(apis.buyer, body_for(rma), key="").status_code in (400, 428)
    response = apis.buyer.post("/hub/returns", body_for(rma))
    assert response.status_code == 428
    assert not ReturnRequest.objects.exists()


def test_other_organizations_get_404(rma, apis, owner):  # noqa: F811
    item = returns.return_request_create(order=rma.order, membership=rma.buyer_membership,
                                         actor=rma.buyer_user,
                                         lines=[(rma.paper_line.pk, 1, "other")])
    assert apis.other.get(f"/hub/returns/{item.pk}").status_code == 404
    assert apis.other.post(f"/hub/returns/{item.pk}/transitions",
                           {"action": "cancel", "version": 1}).status_code == 404
    assert apis.other.get("/hub/returns").json()["items"] == []
    # Another buyer naming this buyer's order: 404.
    assert post_return(apis.other, body_for(rma)).status_code == 404
    # This buyer naming another buyer's order line: 404 too.
    other_order = make_delivered_order(
        relationship=rma.supplier.hub_customer_relationships.get(buyer=apis.other_org),
        supplier_membership=rma.supplier_membership, actor=owner, lines=[(rma.paper.pk, 1)])
    body = {"order_id": rma.order.pk, "lines": [
        {"order_line_id": other_order.lines.get().pk, "quantity": 1}]}
    response = post_return(apis.buyer, body, key="foreign-line")
    assert response.status_code == 404, response.json()
    # The supplier cannot request returns (403), the buyer cannot approve (403).
    assert post_return(apis.owner, body_for(rma), key="sup").status_code == 403
    response = apis.buyer.post(f"/hub/returns/{item.pk}/transitions",
                               {"action": "approve", "version": 1})
    assert response.status_code == 403
    response = apis.buyer.post(f"/hub/returns/{item.pk}/transitions",
                               {"action": "cancel", "version": 1, "status": "credited"})
    assert response.status_code == 422  # unknown field
    item.refresh_from_db()
    assert item.status == "requested"


def test_list_query_count_does_not_grow(rma, apis):  # noqa: F811
    def count():
        apis.owner.get("/hub/returns")  # warm-up (token bookkeeping)
        with CaptureQueriesContext(connection) as ctx:
            assert apis.owner.get("/hub/returns").status_code == 200
        return len(ctx.captured_queries)

    def make(n):
        for _ in range(n):
            returns.return_request_create(order=rma.order, membership=rma.buyer_membership,
                                          actor=rma.buyer_user,
                                          lines=[(rma.pens_line.pk, 1, "other")])
            item = ReturnRequest.objects.order_by("-id").first()
            returns.return_transition(return_request=item, action="cancel",
                                      membership=rma.buyer_membership, actor=rma.buyer_user)

    make(3)
    few = count()
    make(27)
    assert count() <= few
