"""Crediting a received return: credit notes against the invoices that billed the returned
lines (amounts with tax, one per invoice, applied to the invoice balance), the link back to
the return, events, and the API / page."""

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from jalin.api.testing import ApiClient, bearer_token_for
from jalin.core.events_models import Event
from jalin.hub import orders, returns
from jalin.hub.models import Invoice, InvoiceKind, ReturnCredit, SupplierSettings
from jalin.hub.returns import ReceivedLine
from jalin.hub.services import HubError
from jalin.tenancy.models import Membership
from jalin.tenancy.roles import Role
from tests.conftest import make_user
from tests.test_hub_returns import rma  # noqa: F401 - the shared fixture


def request(rma, lines, order=None):  # noqa: F811
    return returns.return_request_create(order=order or rma.order,
                                         membership=rma.buyer_membership,
                                         actor=rma.buyer_user, lines=lines)


def approve_and_receive(rma, item, received=None):  # noqa: F811
    item = returns.return_transition(return_request=item, action="approve",
                                     membership=rma.supplier_membership, actor=rma.owner)
    return returns.return_transition(return_request=item, action="receive",
                                     membership=rma.supplier_membership, actor=rma.owner,
                                     received=received)


def credit(rma, item, **kwargs):  # noqa: F811
    return returns.return_transition(return_request=item, action="credit",
                                     membership=rma.supplier_membership, actor=rma.owner,
                                     **kwargs)


def invoices_of(order):
    return list(Invoice.objects.filter(order=order, kind=InvoiceKind.INVOICE).order_by("id"))


def test_credit_note_credits_what_came_back_with_tax(rma):  # noqa: F811
    (invoice,) = invoices_of(rma.order)  # one shipment, one invoice
    assert invoice.total_gross == Decimal("72150")  # 40,000 + 25,000 net + 11 % PPN
    item = request(rma, [(rma.paper_line.pk, 2, "damaged"), (rma.pens_line.pk, 3, "other")])
    pens = item.lines.get(order_line=rma.pens_line)
    # Only 2 of the 3 pens came back: 2 are credited.
    item = approve_and_receive(rma, item, [ReceivedLine(line_id=pens.pk, quantity=2)])
    assert "credit" in returns.actions_for(item, rma.supplier_membership)
    item = credit(rma, item, note="Goods back")
    assert item.status == "credited" and item.credited_by == rma.owner
    note = item.credit_note
    assert (note.kind, note.credited_invoice_id, note.buyer_id) == (
        InvoiceKind.CREDIT_NOTE, invoice.pk, rma.buyer.pk)
    # paper 2 × 10,000 = 20,000 + 2,200; pens 2 × 2,500 = 5,000 + 550
    assert (note.total_net, note.total_tax, note.total_gross) == (
        Decimal("25000"), Decimal("2750"), Decimal("27750"))
    assert "RMA-1" in note.reason and "Goods back" in note.reason
    assert sorted(note.lines.values_list("sku", "quantity")) == [("PAP-1", 2), ("PEN-1", 2)]
    invoice.refresh_from_db()
    assert invoice.balance == Decimal("72150") - Decimal("27750")
    assert list(ReturnCredit.objects.filter(return_request=item)
                .values_list("credit_note_id", flat=True)) == [note.pk]
    event = Event.objects.get(type="hub.return.credited")
    assert event.payload["credit_note_ids"] == [note.pk]
    assert event.payload["buyer_id"] == rma.buyer.pk
    assert Event.objects.filter(type="hub.credit_note.issued").count() == 1


def test_inclusive_prices_credit_the_gross_share(rma):  # noqa: F811
    SupplierSettings.objects.update_or_create(supplier=rma.supplier,
                                              defaults={"prices_include_tax": True})
    from jalin.hub.testing import make_delivered_order

    order = make_delivered_order(relationship=rma.relationship,
                                 supplier_membership=rma.supplier_membership, actor=rma.owner,
                                 lines=[(rma.paper.pk, 3)], placed_by=rma.buyer_user)
    item = request(rma, [(order.lines.get().pk, 1, "damaged")], order=order)
    item = credit(rma, approve_and_receive(rma, item))
    # 10,000 incl. 11 %: net round(10,000 × 100/111) = 9,009, tax 991
    assert (item.credit_note.total_net, item.credit_note.total_tax,
            item.credit_note.total_gross) == (Decimal("9009"), Decimal("991"),
                                              Decimal("10000"))


def test_one_credit_note_per_invoice_oldest_first(rma):  # noqa: F811
    order = orders.order_place(relationship=rma.relationship, actor=rma.buyer_user,
                               lines=[(rma.paper.pk, 4)])
    order = orders.order_transition(order=order, action="confirm",
                                    membership=rma.supplier_membership, actor=rma.owner)
    line = order.lines.get()
    for _ in range(2):  # two shipments of 2: two invoices
        orders.ship(order=order, membership=rma.supplier_membership, actor=rma.owner,
                    quantities={line.pk: 2})
    order.refresh_from_db()
    order = orders.order_transition(order=order, action="deliver",
                                    membership=rma.supplier_membership, actor=rma.owner)
    first, second = invoices_of(order)
    item = credit(rma, approve_and_receive(rma, request(rma, [(line.pk, 3, "damaged")],
                                                        order=order)))
    notes = {credit_row.credit_note.credited_invoice_id: credit_row.credit_note
             for credit_row in item.credits.select_related("credit_note")}
    assert set(notes) == {first.pk, second.pk}
    assert notes[first.pk].lines.get().quantity == 2
    assert notes[second.pk].lines.get().quantity == 1
    assert item.credit_note == notes[first.pk]
    # A second return of the last unit credits what is left on the second invoice.
    item = credit(rma, approve_and_receive(rma, request(rma, [(line.pk, 1, "other")],
                                                        order=order)))
    assert item.credit_note.credited_invoice_id == second.pk
    assert item.credit_note.lines.get().quantity == 1


def test_nothing_back_or_nothing_invoiced_needs_no_credit_note(rma):  # noqa: F811
    item = request(rma, [(rma.paper_line.pk, 1, "other")])
    line = item.lines.get()
    item = approve_and_receive(rma, item, [ReceivedLine(line_id=line.pk, quantity=0)])
    item = credit(rma, item)
    assert item.status == "credited" and item.credit_note is None
    assert not Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE).exists()


def test_only_finance_credits_and_the_api_and_page_show_the_note(rma, org):  # noqa: F811
    sales = make_user("s-sales")
    sales_membership = Membership.objects.create(user=sales, organization=org,
                                                 role=Role.SALES)
    finance = make_user("s-finance")
    finance_membership = Membership.objects.create(user=finance, organization=org,
                                                   role=Role.FINANCE)
    item = approve_and_receive(rma, request(rma, [(rma.paper_line.pk, 1, "damaged")]))
    with pytest.raises(HubError):
        returns.return_transition(return_request=item, action="credit",
                                  membership=sales_membership, actor=sales)
    api = ApiClient(token=bearer_token_for(finance_membership))
    response = api.post(f"/hub/returns/{item.pk}/transitions",
                        {"action": "credit", "version": item.version})
    assert response.status_code == 200, response.json()
    data = response.json()
    assert data["status"] == "credited" and len(data["credit_notes"]) == 1
    assert data["credit_notes"][0]["total_gross"] in ("11100.00", "11100")
    assert data["credit_note_id"] == data["credit_notes"][0]["id"]
    buyer_view = ApiClient(token=bearer_token_for(rma.buyer_membership)).get(
        f"/hub/returns/{item.pk}").json()
    assert buyer_view["credit_notes"][0]["id"] == data["credit_note_id"]
    client = Client()
    client.force_login(rma.buyer_user)
    page = client.get(reverse("hub:return_detail", args=[item.pk])).content.decode()
    assert "Credited" in page and "11,100" in page
    assert reverse("hub:invoice_detail", args=[data["credit_note_id"]]) in page
