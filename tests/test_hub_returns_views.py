"""Hub return pages: request from a delivered order (double submit → one return), the queues
with filters and CSV, approve / reject / receive on the supplier side, owner / member /
outsider access, query counts."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from jalin.hub import returns
from jalin.hub.models import ReturnRequest, StockLevel
from jalin.tenancy.models import Membership
from jalin.tenancy.roles import Role
from tests.conftest import make_user
from tests.test_hub_returns import rma  # noqa: F401 - the shared fixture


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


def make_return(rma, quantity=1, line=None):  # noqa: F811
    return returns.return_request_create(
        order=rma.order, membership=rma.buyer_membership, actor=rma.buyer_user,
        lines=[((line or rma.paper_line).pk, quantity, "damaged")])


def test_buyer_requests_a_return_from_the_order_page(rma):  # noqa: F811
    buyer = client_for(rma.buyer_user)
    page = buyer.get(reverse("hub:order_detail", args=[rma.order.pk])).content.decode()
    assert "Request a return" in page
    url = reverse("hub:return_create", args=[rma.order.pk])
    form = buyer.get(url).content.decode()
    assert "PAP-1" in form and "Request return" in form
    bad = buyer.post(url, {"token": "t0", f"qty_{rma.paper_line.pk}": "9",
                           f"reason_{rma.paper_line.pk}": "damaged"})
    assert bad.status_code == 400 and "Only 4 of PAP-1" in bad.content.decode()
    data = {"token": "t1", f"qty_{rma.paper_line.pk}": "2",
            f"reason_{rma.paper_line.pk}": "damaged", f"qty_{rma.pens_line.pk}": "0",
            "note": "Wet boxes"}
    first = buyer.post(url, data)
    second = buyer.post(url, data)  # a double click
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert ReturnRequest.objects.count() == 1
    detail = buyer.get(first["Location"]).content.decode()
    assert "RMA-1" in detail and "Requested" in detail and "Wet boxes" in detail
    assert "Withdraw request" in detail and "Approve" not in detail
    mine = buyer.get(reverse("hub:returns") + "?side=buyer").content.decode()
    assert "RMA-1" in mine
    order_page = buyer.get(reverse("hub:order_detail", args=[rma.order.pk])).content.decode()
    assert "RMA-1" in order_page


def test_supplier_approves_receives_and_exports(rma):  # noqa: F811
    item = make_return(rma, quantity=2)
    owner = client_for(rma.owner)
    queue = owner.get(reverse("hub:returns") + "?side=supplier&status=requested")
    assert queue.status_code == 200 and "RMA-1" in queue.content.decode()
    assert "RMA-1" not in owner.get(
        reverse("hub:returns") + "?side=supplier&status=approved").content.decode()
    csv_response = owner.get(reverse("hub:return_export") + "?side=supplier")
    body = b"".join(csv_response.streaming_content).decode()
    assert csv_response["Content-Type"].startswith("text/csv")
    assert "number,status,order_number" in body and "\r\n1,requested," in body
    detail_url = reverse("hub:return_detail", args=[item.pk])
    assert "Approve" in owner.get(detail_url).content.decode()
    action = reverse("hub:return_action", args=[item.pk])
    refused = owner.post(action, {"action": "reject", "version": 1, "note": ""})
    assert refused.status_code == 400 and "Say why" in refused.content.decode()
    assert owner.post(action, {"action": "approve", "version": 1}).status_code == 302
    stale = owner.post(action, {"action": "reject", "version": 1, "note": "x"})
    assert stale.status_code == 409
    page = owner.get(detail_url).content.decode()
    assert "receive-form" in page
    line = item.lines.get()
    response = owner.post(reverse("hub:return_receive", args=[item.pk]), {
        "version": 2, f"received_{line.pk}": "2", f"condition_{line.pk}": "as_new",
        f"restock_{line.pk}": "on", "warehouse": rma.warehouse.pk})
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.status == "received"
    assert StockLevel.objects.get(warehouse=rma.warehouse, product=rma.paper).on_hand == 48
    page = owner.get(detail_url).content.decode()
    assert "Restocked into" in page
    assert "Issue credit note" in page


def test_member_owner_and_outsider_access(rma, org, outsider_client):  # noqa: F811
    item = make_return(rma)
    member = make_user("sales-member")
    Membership.objects.create(user=member, organization=org, role=Role.SALES)
    member_client = client_for(member)
    detail = reverse("hub:return_detail", args=[item.pk])
    assert member_client.get(detail).status_code == 200
    response = member_client.post(reverse("hub:return_action", args=[item.pk]),
                                  {"action": "approve", "version": 1})
    assert response.status_code == 302
    item.refresh_from_db()
    # Sales may not credit (finance.edit); the buyer may not receive.
    assert "Issue credit note" not in member_client.get(detail).content.decode()
    buyer = client_for(rma.buyer_user)
    assert buyer.post(reverse("hub:return_receive", args=[item.pk]),
                      {"version": 2}).status_code == 403
    for url, method in [(detail, "get"), (reverse("hub:return_action", args=[item.pk]), "post"),
                        (reverse("hub:return_receive", args=[item.pk]), "post"),
                        (reverse("hub:return_create", args=[rma.order.pk]), "get")]:
        response = getattr(outsider_client, method)(url, {"action": "cancel", "version": 2})
        assert response.status_code == 404, url
    listing = outsider_client.get(reverse("hub:returns")).content.decode()
    assert "RMA-1" not in listing
    item.refresh_from_db()
    assert (item.status, item.version) == ("approved", 2)


def test_returns_list_query_count(rma):  # noqa: F811
    owner = client_for(rma.owner)

    def count():
        owner.get(reverse("hub:returns"))
        with CaptureQueriesContext(connection) as ctx:
            assert owner.get(reverse("hub:returns") + "?side=supplier").status_code == 200
        return len(ctx.captured_queries)

    def make(n):
        for _ in range(n):
            item = make_return(rma, line=rma.pens_line)
            returns.return_transition(return_request=item, action="cancel",
                                      membership=rma.buyer_membership, actor=rma.buyer_user)

    make(3)
    few = count()
    make(27)
    assert count() <= few


@pytest.mark.parametrize("status", ["submitted"])
def test_no_return_offer_before_delivery(rma, status):  # noqa: F811
    from jalin.hub import orders

    order = orders.order_place(relationship=rma.relationship, actor=rma.buyer_user,
                               lines=[(rma.paper.pk, 1)])
    buyer = client_for(rma.buyer_user)
    page = buyer.get(reverse("hub:order_detail", args=[order.pk])).content.decode()
    assert order.status == status and "Request a return" not in page
    form = buyer.get(reverse("hub:return_create", args=[order.pk])).content.decode()
    assert "Only delivered orders can be returned." in form


def test_supplier_sets_the_return_window_on_the_settings_page_and_api(rma):  # noqa: F811
    from jalin.api.testing import ApiClient, bearer_token_for
    from jalin.hub.models import SupplierSettings

    owner = client_for(rma.owner)
    url = reverse("hub:ordering_settings")
    assert 'name="return_window_days"' in owner.get(url).content.decode()
    assert 'value="30"' in owner.get(url).content.decode()
    response = owner.post(url, {"part": "supplier", "return_window_days": "14"})
    assert response.status_code == 302
    assert SupplierSettings.objects.get(supplier=rma.supplier).return_window_days == 14
    bad = owner.post(url, {"part": "supplier", "return_window_days": "400"})
    assert bad.status_code == 400 and "0 to 365 days" in bad.content.decode()
    assert returns.return_window_days(rma.supplier.pk) == 14
    api = ApiClient(token=bearer_token_for(rma.supplier_membership))
    assert api.get("/hub/settings/selling").json()["return_window_days"] == 14
    assert api.patch("/hub/settings/selling", {"return_window_days": 0}).status_code == 200
    assert api.patch("/hub/settings/selling", {"return_window_days": -1}).status_code == 422
    assert returns.return_window_days(rma.supplier.pk) == 0
