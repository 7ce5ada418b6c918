"""Billing API: invoices for both parties, issuing for shipped units, credit notes,
PDF, statements; isolation, permissions, mass assignment, foreign ids, query counts."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from jalin.api.testing import ApiClient, bearer_token_for
from jalin.hub import invoicing, orders, stock
from jalin.hub.models import (
    Invoice,
    InvoiceKind,
    InvoicingMode,
    PaymentTerms,
    SupplierSettings,
)
from jalin.hub.testing import link_buyer, make_price_list, make_product, set_price
from jalin.tenancy.models import Membership
from jalin.tenancy.roles import Role
from tests.conftest import make_org, make_user
from tests.pdf_text import pdf_text


def api_for(user, organization):
    membership = Membership.objects.get(user=user, organization=organization)
    return ApiClient(token=bearer_token_for(membership))


def person(org, username, role):
    user = make_user(username)
    Membership.objects.create(user=user, organization=org, role=role)
    return user, api_for(user, org)


@pytest.fixture
def world(org, owner):
    base = make_price_list(org, owner, "Base", is_base=True)
    paper = make_product(org, owner, "PAP-1", "Paper")
    set_price(base, paper, "10000", owner)
    warehouse = stock.warehouse_create(supplier=org, actor=owner, code="W1", name="Main")
    stock.stock_adjust(warehouse=warehouse, product=paper, delta=10_000, reason="count",
                       actor=owner)
    buyer_a = make_org("buyer-a", is_supplier=False, is_buyer=True)
    buyer_b = make_org("buyer-b", is_supplier=False, is_buyer=True)
    rel_a = link_buyer(org, buyer_a, owner, payment_terms=PaymentTerms.NET, payment_days=14,
                       credit_limit=Decimal("1000000"))
    rel_b = link_buyer(org, buyer_b, owner)
    user_a, api_a = person(buyer_a, "a-buyer", Role.BUYER)
    user_b, api_b = person(buyer_b, "b-buyer", Role.BUYER)
    _sales, sales_api = person(org, "s-sales", Role.SALES)
    _finance, finance_api = person(org, "s-finance", Role.FINANCE)
    membership = Membership.objects.get(user=owner, organization=org)
    return type("World", (), dict(
        supplier=org, owner=owner, paper=paper, buyer_a=buyer_a, buyer_b=buyer_b,
        rel_a=rel_a, rel_b=rel_b, user_a=user_a, user_b=user_b, api_a=api_a, api_b=api_b,
        sales_api=sales_api, finance_api=finance_api, membership=membership,
        owner_api=api_for(owner, org)))


def shipped(world, rel, user, quantity=5, ship=None):
    order = orders.order_place(relationship=rel, actor=user,
                               lines=[(world.paper.pk, quantity)])
    order = orders.order_transition(order=order, action="confirm",
                                    membership=world.membership, actor=world.owner)
    shipment = orders.ship(order=order, membership=world.membership, actor=world.owner,
                           quantities={order.lines.get().pk: ship or quantity})
    return order, shipment.invoice


def test_each_party_lists_and_reads_only_its_own(world):
    _order, invoice_a = shipped(world, world.rel_a, world.user_a)
    _order, invoice_b = shipped(world, world.rel_b, world.user_b, quantity=1)
    listed = world.api_a.get("/hub/invoices").json()
    assert [item["id"] for item in listed["items"]] == [invoice_a.pk]
    item = listed["items"][0]
    assert item["display_number"] == "INV-1" and item["total_gross"] == "55500.00"
    assert item["due_date"] == (invoice_a.issue_date + datetime.timedelta(days=14)).isoformat()
    assert world.api_a.get(f"/hub/invoices/{invoice_b.pk}").status_code == 404
    assert world.api_a.get(f"/hub/invoices/{invoice_b.pk}/pdf").status_code == 404
    supplier = world.owner_api.get("/hub/invoices?side=supplier").json()
    assert {item["id"] for item in supplier["items"]} == {invoice_a.pk, invoice_b.pk}
    assert world.owner_api.get("/hub/invoices?side=buyer").json()["items"] == []
    narrowed = world.owner_api.get(f"/hub/invoices?counterparty_id={world.buyer_b.pk}").json()
    assert [item["id"] for item in narrowed["items"]] == [invoice_b.pk]
    by_order = world.owner_api.get(f"/hub/invoices?order_id={invoice_a.order_id}").json()
    assert [item["id"] for item in by_order["items"]] == [invoice_a.pk]
    assert world.api_b.get(f"/hub/invoices?order_id={invoice_a.order_id}").json()["items"] == []
    detail = world.api_a.get(f"/hub/invoices/{invoice_a.pk}").json()
    assert detail["lines"][0]["sku"] == "PAP-1" and detail["lines"][0]["quantity"] == 5
    assert detail["tax_summary"] == [{"rate": "11.0000", "net": "50000.00",
                                      "tax": "5500.00", "gross": "55500.00"}]
    assert detail["creditable"] == []  # the buyer cannot credit
    owner_detail = world.owner_api.get(f"/hub/invoices/{invoice_a.pk}").json()
    assert owner_detail["creditable"] == [{"invoice_line_id": detail["lines"][0]["id"],
                                           "quantity": 5}]
    pdf = world.api_a.get(detail["pdf_url"].removeprefix("/api/v1"))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert "INV-1" in pdf_text(pdf.content)


def test_filters_and_cursor(world):
    invoices = [shipped(world, world.rel_a, world.user_a, quantity=1)[1] for _ in range(3)]
    page = world.api_a.get("/hub/invoices?limit=2").json()
    assert [item["id"] for item in page["items"]] == [invoices[2].pk, invoices[1].pk]
    rest = world.api_a.get(f"/hub/invoices?limit=2&cursor={page['next_cursor']}").json()
    assert [item["id"] for item in rest["items"]] == [invoices[0].pk]
    assert rest["next_cursor"] is None
    assert world.api_a.get("/hub/invoices?kind=credit_note").json()["items"] == []
    assert world.api_a.get("/hub/invoices?status=paid").json()["items"] == []
    assert world.api_a.get("/hub/invoices?overdue=true").json()["items"] == []
    Invoice.objects.filter(pk=invoices[0].pk).update(
        issue_date=datetime.date(2026, 1, 1), due_date=datetime.date(2026, 1, 15))
    overdue = world.api_a.get("/hub/invoices?overdue=true").json()["items"]
    assert [item["id"] for item in overdue] == [invoices[0].pk]
    assert world.api_a.get("/hub/invoices?kind=bill").status_code == 422
    assert world.api_a.get("/hub/invoices?cursor=garbage").status_code == 400


def test_list_query_count_stays_flat(world):
    def count():
        with CaptureQueriesContext(connection) as queries:
            assert world.owner_api.get("/hub/invoices?limit=200").status_code == 200
        return len(queries)

    for _ in range(3):
        shipped(world, world.rel_a, world.user_a, quantity=1)
    count()
    few = count()
    for _ in range(27):
        shipped(world, world.rel_a, world.user_a, quantity=1)
    assert count() == few


def test_issue_invoice_for_shipped_units(world, outsider):
    SupplierSettings.objects.create(supplier=world.supplier,
                                    invoicing=InvoicingMode.PER_ORDER)
    order = orders.order_place(relationship=world.rel_a, actor=world.user_a,
                               lines=[(world.paper.pk, 2)])
    SupplierSettings.objects.filter(supplier=world.supplier).update(invoicing="per_shipment")
    order = orders.order_transition(order=order, action="confirm",
                                    membership=world.membership, actor=world.owner)
    SupplierSettings.objects.filter(supplier=world.supplier).update(invoicing="per_order")
    orders.ship(order=order, membership=world.membership, actor=world.owner,
                quantities={order.lines.get().pk: 2})
    assert not Invoice.objects.exists()
    url = f"/hub/orders/{order.pk}/invoices"
    assert world.api_a.post(url).status_code == 403  # the buyer
    _viewer, viewer_api = person(world.supplier, "s-viewer", Role.VIEWER)
    assert viewer_api.post(url).status_code == 403
    outsider_api = api_for(outsider, outsider.memberships.get().organization)
    assert outsider_api.post(url).status_code == 404
    assert world.api_b.post(url).status_code == 404
    response = world.sales_api.post(url, headers={"Idempotency-Key": "inv-1"})
    assert response.status_code == 201, response.json()
    assert response.json()["display_number"] == "INV-1"
    assert response.json()["lines"][0]["quantity"] == 2
    replay = world.sales_api.post(url, headers={"Idempotency-Key": "inv-1"})
    assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"
    again = world.finance_api.post(url)
    assert again.status_code == 422 and again.json()["code"] == "nothing_to_invoice"
    assert Invoice.objects.count() == 1
    assert world.sales_api.post("/hub/orders/999999/invoices").status_code == 404


def test_credit_notes_through_the_api(world, outsider):
    _order, invoice = shipped(world, world.rel_a, world.user_a)
    line = invoice.lines.get()
    url = f"/hub/invoices/{invoice.pk}/credit-notes"
    body = {"lines": [{"invoice_line_id": line.pk, "quantity": 2}], "reason": "Wet paper"}
    assert world.sales_api.post(url, body).status_code == 403  # no finance.edit
    assert world.api_a.post(url, body).status_code == 403  # the buyer
    buyer_admin, buyer_admin_api = person(world.buyer_a, "a-admin", Role.ORG_ADMIN)
    assert buyer_admin_api.post(url, body).status_code == 403  # finance.edit, wrong side
    outsider_api = api_for(outsider, outsider.memberships.get().organization)
    assert outsider_api.post(url, body).status_code == 404
    # Mass assignment and bad bodies: 422, nothing written.
    for bad in ({**body, "total_gross": "1"}, {**body, "number": 7},
                {**body, "all": True}, {"reason": "x"}, {"lines": body["lines"]},
                {**body, "reason": ""},
                {"lines": [{"invoice_line_id": line.pk, "quantity": 0}], "reason": "x"},
                {"lines": [{"invoice_line_id": line.pk, "quantity": 6}], "reason": "x"}):
        response = world.finance_api.post(url, bad)
        assert response.status_code == 422, (bad, response.json())
    _order, other = shipped(world, world.rel_b, world.user_b, quantity=1)
    foreign = world.finance_api.post(url, {
        "lines": [{"invoice_line_id": other.lines.get().pk, "quantity": 1}], "reason": "x"})
    assert foreign.status_code == 422
    assert foreign.json()["errors"][0]["field"] == "lines[0].invoice_line_id"
    assert not Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE).exists()
    response = world.finance_api.post(url, body, headers={"Idempotency-Key": "cn-1"})
    assert response.status_code == 201, response.json()
    note = response.json()
    assert note["kind"] == "credit_note" and note["display_number"] == "CN-1"
    assert note["credited_invoice_id"] == invoice.pk and note["total_gross"] == "22200.00"
    assert note["applications"][0]["invoice_id"] == invoice.pk
    assert world.finance_api.post(url, body, headers={"Idempotency-Key": "cn-1"}
                                  ).json()["id"] == note["id"]
    rest = world.owner_api.post(url, {"all": True, "reason": "Cancelled"})
    assert rest.status_code == 201 and rest.json()["lines"][0]["quantity"] == 3
    detail = world.api_a.get(f"/hub/invoices/{invoice.pk}").json()
    assert detail["status"] == "paid" and detail["balance"] == "0.00"
    assert sorted(detail["credit_note_ids"]) == sorted([note["id"], rest.json()["id"]])
    assert world.owner_api.post(url, {"all": True, "reason": "x"}).json()["code"] == (
        "nothing_to_credit")
    credit_of_credit = world.owner_api.post(f"/hub/invoices/{note['id']}/credit-notes",
                                            {"all": True, "reason": "x"})
    assert credit_of_credit.status_code == 422


def test_statements_through_the_api(world, outsider):
    _order, invoice = shipped(world, world.rel_a, world.user_a)
    today = invoicing.today()
    response = world.owner_api.get(f"/hub/statements/{world.buyer_a.pk}")
    assert response.status_code == 200, response.json()
    data = response.json()
    assert data["buyer"]["id"] == world.buyer_a.pk and data["opening_balance"] == "0.00"
    assert [(row["number"], row["debit"], row["balance"]) for row in data["rows"]] == [
        ("INV-1", "55500.00", "55500.00")]
    assert data["closing_balance"] == "55500.00" and data["aging"]["current"] == "55500.00"
    assert data["start"] == (today - datetime.timedelta(days=90)).isoformat()
    buyer_view = world.api_a.get(f"/hub/statements/{world.supplier.pk}?from={today}&to={today}")
    assert buyer_view.status_code == 200
    assert buyer_view.json()["rows"][0]["document_id"] == invoice.pk
    later = world.api_a.get(f"/hub/statements/{world.supplier.pk}?from=2099-01-01&to=2099-02-01")
    assert later.json()["opening_balance"] == "55500.00" and later.json()["rows"] == []
    bad = world.api_a.get(f"/hub/statements/{world.supplier.pk}?from=2026-05-01&to=2026-01-01")
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_period"
    assert world.api_a.get(f"/hub/statements/{world.supplier.pk}?from=yesterday"
                           ).status_code == 422
    assert world.sales_api.get(f"/hub/statements/{world.buyer_a.pk}").status_code == 403
    assert world.api_b.get(f"/hub/statements/{world.buyer_a.pk}").status_code == 404
    outsider_api = api_for(outsider, outsider.memberships.get().organization)
    assert outsider_api.get(f"/hub/statements/{world.buyer_a.pk}").status_code == 404


def test_suppliers_endpoint_shows_available_credit(world):
    shipped(world, world.rel_a, world.user_a, quantity=10, ship=4)
    items = world.api_a.get("/hub/suppliers").json()["items"]
    credit = items[0]["credit"]
    # 10 × 11100 ordered; 4 invoiced (44400); 66600 not invoiced yet.
    assert credit == {"uninvoiced_orders": "66600.00", "open_invoices": "44400.00",
                      "unapplied_credit": "0.00", "exposure": "111000.00",
                      "available": "889000.00"}
