"""Invoices and credit notes: issuing per shipment / per order / by hand, amounts and tax
rounding, never invoicing a unit twice, gapless numbers, credit note limits and application,
and credit exposure with unpaid invoices (SQLite and PostgreSQL)."""

import datetime
from decimal import Decimal

import pytest
from django.db import transaction

from jalin.core.events_models import Event
from jalin.core.models import NumberSequence
from jalin.hub import invoicing, numbering, orders, stock
from jalin.hub.models import (
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    InvoicingMode,
    Order,
    OrderStatus,
    Payment,
    PaymentAllocation,
    PaymentTerms,
    SupplierSettings,
)
from jalin.hub.services import HubError
from jalin.hub.testing import link_buyer, make_price_list, make_product, set_price
from jalin.tenancy.models import Membership
from jalin.tenancy.roles import Role
from tests.conftest import make_org, make_user


@pytest.fixture
def shop(org, owner):
    """Supplier `org` (prices exclusive of tax, 11 %) with two products in stock and one
    buyer on net 30 days with a credit limit of 1,000,000."""
    buyer = make_org("inv-buyer", is_supplier=False, is_buyer=True)
    buyer_user = make_user("inv-buyer-user")
    Membership.objects.create(user=buyer_user, organization=buyer, role=Role.BUYER)
    base = make_price_list(org, owner, "Base", is_base=True)
    paper = make_product(org, owner, "PAP-1", "Paper")
    pens = make_product(org, owner, "PEN-1", "Pens")
    set_price(base, paper, "3333", owner)
    set_price(base, pens, "2500", owner)
    relationship = link_buyer(org, buyer, owner, payment_terms=PaymentTerms.NET,
                              payment_days=30, credit_limit=Decimal("1000000"))
    warehouse = stock.warehouse_create(supplier=org, actor=owner, code="jkt", name="Jakarta")
    for product in (paper, pens):
        stock.stock_adjust(warehouse=warehouse, product=product, delta=1000,
                           reason="count", actor=owner)
    membership = Membership.objects.get(user=owner, organization=org)
    return type("Shop", (), dict(
        supplier=org, buyer=buyer, buyer_user=buyer_user, paper=paper, pens=pens,
        relationship=relationship, owner=owner, membership=membership))


def confirmed_order(shop, lines):
    order = orders.order_place(relationship=shop.relationship, actor=shop.buyer_user,
                               lines=lines)
    return orders.order_transition(order=order, action="confirm", membership=shop.membership,
                                   actor=shop.owner)


def ship(shop, order, quantities):
    order.refresh_from_db()
    return orders.ship(order=order, membership=shop.membership, actor=shop.owner,
                       quantities=quantities)


def line_of(order, product):
    return order.lines.get(product=product)


def test_per_shipment_invoice_bills_exactly_the_shipped_quantities(shop):
    order = confirmed_order(shop, [(shop.paper.pk, 3), (shop.pens.pk, 4)])
    assert not Invoice.objects.exists()  # per shipment: nothing at confirmation
    paper, pens = line_of(order, shop.paper), line_of(order, shop.pens)
    shipment = ship(shop, order, {paper.pk: 1, pens.pk: 4})
    invoice = Invoice.objects.get()
    assert shipment.invoice == invoice
    assert (invoice.kind, invoice.number, invoice.shipment_id, invoice.order_id) == (
        InvoiceKind.INVOICE, 1, shipment.pk, order.pk)
    lines = {line.sku: line for line in invoice.lines.all()}
    # 1 × 3333 net; tax round(366.63) = 367. 4 × 2500 = 10000 net; tax 1100.
    assert (lines["PAP-1"].quantity, lines["PAP-1"].line_net, lines["PAP-1"].line_tax,
            lines["PAP-1"].line_gross) == (1, Decimal("3333"), Decimal("367"), Decimal("3700"))
    assert (lines["PEN-1"].quantity, lines["PEN-1"].line_gross) == (4, Decimal("11100"))
    assert lines["PAP-1"].unit_price == Decimal("3333") and lines["PAP-1"].tax_rate == 11
    assert (invoice.total_net, invoice.total_tax, invoice.total_gross) == (
        Decimal("13333"), Decimal("1467"), Decimal("14800"))
    assert invoice.issue_date == invoicing.today()
    assert invoice.due_date == invoice.issue_date + datetime.timedelta(days=30)
    assert invoice.status == InvoiceStatus.OPEN and invoice.balance == Decimal("14800")
    order.refresh_from_db()
    assert order.invoiced_gross == Decimal("14800")
    assert line_of(order, shop.paper).invoiced_quantity == 1
    event = Event.objects.get(type="hub.invoice.issued")
    assert event.organization == shop.supplier
    assert event.payload == {
        "invoice_id": invoice.pk, "number": 1, "order_id": order.pk,
        "supplier_id": shop.supplier.pk, "buyer_id": shop.buyer.pk, "total": "14800.00",
        "currency": "IDR", "due_date": invoice.due_date.isoformat()}
    second = ship(shop, order, {paper.pk: 2})
    assert second.invoice.number == 2
    # 2 × 3333 = 6666; tax round(733.26) = 733.
    assert second.invoice.total_gross == Decimal("7399")
    order.refresh_from_db()
    assert order.invoiced_gross == Decimal("22199")
    assert order.total_gross == Decimal("22199")  # 9999 + 1100 (1099.89) + 11100


def test_tax_inclusive_and_exempt_orders_keep_their_basis(shop):
    SupplierSettings.objects.create(supplier=shop.supplier, prices_include_tax=True)
    order = confirmed_order(shop, [(shop.paper.pk, 2)])
    invoice = ship(shop, order, {line_of(order, shop.paper).pk: 1}).invoice
    line = invoice.lines.get()
    # Inclusive: gross 3333, net round(3333 × 100/111) = 3003, tax 330.
    assert (line.line_gross, line.line_net, line.line_tax) == (
        Decimal("3333"), Decimal("3003"), Decimal("330"))
    assert invoice.prices_include_tax is True
    shop.relationship.tax_exempt = True
    shop.relationship.save()
    order = confirmed_order(shop, [(shop.pens.pk, 2)])
    invoice = ship(shop, order, {line_of(order, shop.pens).pk: 2}).invoice
    assert (invoice.total_tax, invoice.total_gross, invoice.tax_exempt) == (
        Decimal("0"), Decimal("5000"), True)


def test_per_order_invoice_is_issued_at_confirmation_for_all_lines(shop):
    SupplierSettings.objects.create(supplier=shop.supplier, invoicing=InvoicingMode.PER_ORDER)
    order = orders.order_place(relationship=shop.relationship, actor=shop.buyer_user,
                               lines=[(shop.paper.pk, 3), (shop.pens.pk, 1)])
    assert not Invoice.objects.exists()
    orders.order_transition(order=order, action="confirm", membership=shop.membership,
                            actor=shop.owner)
    invoice = Invoice.objects.get()
    order.refresh_from_db()
    assert invoice.shipment_id is None and invoice.order_id == order.pk
    assert invoice.total_gross == order.total_gross == order.invoiced_gross
    assert sorted(invoice.lines.values_list("sku", "quantity")) == [("PAP-1", 3), ("PEN-1", 1)]
    # Shipping later issues nothing more; neither does a manual issue.
    shipment = ship(shop, order, {line_of(order, shop.paper).pk: 3,
                                  line_of(order, shop.pens).pk: 1})
    assert shipment.invoice is None
    with pytest.raises(HubError) as error:
        invoicing.invoice_issue(order=order, actor=shop.owner)
    assert error.value.code == "nothing_to_invoice"
    assert Invoice.objects.count() == 1


def test_manual_issue_bills_shipped_uninvoiced_once(shop):
    order = confirmed_order(shop, [(shop.paper.pk, 5)])
    paper = line_of(order, shop.paper)
    # Shipped while the supplier invoiced per order (so no invoice), then switched.
    SupplierSettings.objects.create(supplier=shop.supplier, invoicing=InvoicingMode.PER_ORDER)
    ship(shop, order, {paper.pk: 2})
    assert not Invoice.objects.exists()
    SupplierSettings.objects.filter(supplier=shop.supplier).update(
        invoicing=InvoicingMode.PER_SHIPMENT)
    invoice = invoicing.invoice_issue(order=order, actor=shop.owner)
    assert invoice.lines.get().quantity == 2 and invoice.shipment_id is None
    with pytest.raises(HubError) as error:
        invoicing.invoice_issue(order=order, actor=shop.owner)
    assert error.value.code == "nothing_to_invoice"
    shipment = ship(shop, order, {paper.pk: 3})
    assert shipment.invoice.lines.get().quantity == 3
    paper.refresh_from_db()
    assert paper.invoiced_quantity == paper.shipped_quantity == 5
    assert sum(Invoice.objects.values_list("total_gross", flat=True)) == Decimal(
        Order.objects.get().invoiced_gross)


def test_invoiced_quantity_can_never_exceed_the_ordered_quantity(shop):
    order = confirmed_order(shop, [(shop.paper.pk, 2)])
    paper = line_of(order, shop.paper)
    ship(shop, order, {paper.pk: 2})
    locked = Order.objects.get(pk=order.pk)
    with transaction.atomic():
        # Asking again for more than is left bills nothing (the per-line counter is full).
        assert invoicing._issue(locked, {paper.pk: 2}, actor=shop.owner) is None
    from django.db import IntegrityError

    with pytest.raises(IntegrityError), transaction.atomic():
        type(paper).objects.filter(pk=paper.pk).update(invoiced_quantity=3)


def test_prepaid_invoice_is_due_on_issue(shop):
    shop.relationship.payment_terms = PaymentTerms.PREPAID
    shop.relationship.payment_days = 0
    shop.relationship.save()
    order = confirmed_order(shop, [(shop.pens.pk, 1)])
    invoice = ship(shop, order, {line_of(order, shop.pens).pk: 1}).invoice
    assert invoice.due_date == invoice.issue_date


def test_rolled_back_issue_gives_its_number_back(shop):
    order = confirmed_order(shop, [(shop.paper.pk, 3)])
    paper = line_of(order, shop.paper)
    ship(shop, order, {paper.pk: 1})
    assert numbering.last_number(supplier_id=shop.supplier.pk,
                                 sequence=numbering.INVOICE) == 1
    with pytest.raises(RuntimeError), transaction.atomic():
        shipment = ship(shop, order, {paper.pk: 1})
        assert shipment.invoice.number == 2
        raise RuntimeError("the shipment failed after the invoice was numbered")
    assert numbering.last_number(supplier_id=shop.supplier.pk,
                                 sequence=numbering.INVOICE) == 1
    assert ship(shop, order, {paper.pk: 1}).invoice.number == 2
    assert sorted(Invoice.objects.values_list("number", flat=True)) == [1, 2]


def test_numbers_are_per_supplier_and_kind(shop, owner, other_org):
    order = confirmed_order(shop, [(shop.paper.pk, 2)])
    invoice = ship(shop, order, {line_of(order, shop.paper).pk: 2}).invoice
    note = invoicing.credit_note_issue(invoice=invoice, lines=[(invoice.lines.get().pk, 1)],
                                       reason="Damaged", actor=owner)
    assert (invoice.number, note.number) == (1, 1)
    assert numbering.next_number(supplier_id=other_org.pk, sequence=numbering.INVOICE) == 1


# --- Credit notes --------------------------------------------------------------------------


@pytest.fixture
def invoice(shop):
    order = confirmed_order(shop, [(shop.paper.pk, 3), (shop.pens.pk, 2)])
    return ship(shop, order, {line_of(order, shop.paper).pk: 3,
                              line_of(order, shop.pens).pk: 2}).invoice


def test_credit_note_is_applied_to_the_invoice(shop, invoice):
    paper = invoice.lines.get(sku="PAP-1")
    total = invoice.total_gross  # 9999 + 1100 + 5000 + 550 = 16649
    assert total == Decimal("16649")
    note = invoicing.credit_note_issue(invoice=invoice, lines=[(paper.pk, 1)],
                                       reason="One ream damaged", actor=shop.owner)
    assert note.kind == InvoiceKind.CREDIT_NOTE and note.credited_invoice_id == invoice.pk
    line = note.lines.get()
    assert (line.credited_line_id, line.quantity, line.line_gross) == (paper.pk, 1,
                                                                        Decimal("3700"))
    assert note.reason == "One ream damaged" and note.due_date == note.issue_date
    invoice.refresh_from_db()
    assert invoice.amount_settled == Decimal("3700")
    assert invoice.status == InvoiceStatus.PARTIALLY_PAID
    assert invoice.balance == Decimal("12949")
    assert (note.amount_settled, note.status) == (Decimal("3700"), InvoiceStatus.PAID)
    allocation = PaymentAllocation.objects.get()
    assert (allocation.invoice_id, allocation.credit_note_id, allocation.payment_id,
            allocation.amount) == (invoice.pk, note.pk, None, Decimal("3700"))
    event = Event.objects.get(type="hub.credit_note.issued")
    assert event.payload["buyer_id"] == shop.buyer.pk
    assert event.payload["invoice_id"] == invoice.pk and event.payload["applied"] == "3700.00"


def test_credit_in_parts_adds_up_to_the_line(shop, invoice):
    paper = invoice.lines.get(sku="PAP-1")  # 3 × 3333: net 9999, tax 1100, gross 11099
    parts = [invoicing.credit_note_issue(invoice=invoice, lines=[(paper.pk, 1)],
                                         reason="Return", actor=shop.owner)
             for _ in range(3)]
    # 1 × 3333 → 3700 twice (tax 367 each); the last credits what is left: 11099 − 7400.
    assert [note.total_gross for note in parts] == [Decimal("3700"), Decimal("3700"),
                                                    Decimal("3699")]
    assert sum(note.total_tax for note in parts) == paper.line_tax
    with pytest.raises(HubError) as error:
        invoicing.credit_note_issue(invoice=invoice, lines=[(paper.pk, 1)], reason="Again",
                                    actor=shop.owner)
    assert error.value.code == "over_credit" and error.value.field == "lines[0].quantity"


def test_credit_note_refusals_write_nothing(shop, invoice, owner, other_org):
    paper = invoice.lines.get(sku="PAP-1")
    other_order = confirmed_order(shop, [(shop.pens.pk, 1)])
    other_invoice = ship(shop, other_order, {line_of(other_order, shop.pens).pk: 1}).invoice
    foreign_line = other_invoice.lines.get()
    cases = [
        ([(paper.pk, 4)], "Too many", "over_credit"),
        ([(paper.pk, 0)], "Zero", "invalid_quantity"),
        ([(foreign_line.pk, 1)], "Foreign", "not_found"),
        ([], "Nothing", "no_lines"),
        ([(paper.pk, 1)], "   ", "reason_required"),
        ([(paper.pk, 2), (paper.pk, 2)], "Repeated adds up", "over_credit"),
    ]
    for lines, reason, code in cases:
        with pytest.raises(HubError) as error:
            invoicing.credit_note_issue(invoice=invoice, lines=lines, reason=reason,
                                        actor=owner)
        assert error.value.code == code, (lines, reason)
    assert not Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE).exists()
    assert not PaymentAllocation.objects.exists()
    assert not NumberSequence.objects.filter(scope=numbering.CREDIT_NOTE).exists()
    invoice.refresh_from_db()
    assert invoice.amount_settled == 0
    note = invoicing.credit_note_issue_all(invoice=invoice, reason="Cancelled", actor=owner)
    with pytest.raises(HubError) as error:
        invoicing.credit_note_issue(invoice=note, lines=[(note.lines.first().pk, 1)],
                                    reason="A credit of a credit", actor=owner)
    assert error.value.code == "not_an_invoice"


def test_whole_invoice_credit_settles_it_and_the_rest_stays_as_credit(shop, invoice):
    paper = invoice.lines.get(sku="PAP-1")
    payment = Payment.objects.create(
        supplier=shop.supplier, buyer=shop.buyer, relationship=shop.relationship, number=1,
        amount=Decimal("10000"), amount_allocated=Decimal("10000"), currency="IDR",
        received_on=invoicing.today())
    PaymentAllocation.objects.create(invoice=invoice, payment=payment, amount=Decimal("10000"))
    invoicing.add_settlement(invoice, Decimal("10000"))
    first = invoicing.credit_note_issue(invoice=invoice, lines=[(paper.pk, 1)],
                                        reason="Damaged", actor=shop.owner)
    note = invoicing.credit_note_issue_all(invoice=invoice, reason="Order cancelled",
                                           actor=shop.owner)
    assert sorted(note.lines.values_list("sku", "quantity")) == [("PAP-1", 2), ("PEN-1", 2)]
    assert first.total_gross + note.total_gross == invoice.total_gross
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID and invoice.balance == 0
    # The invoice had 6649 open after the payment; the first note took 3700 of it, the
    # second the remaining 2949; 12949 − 2949 = 10000 stays on the account as credit.
    note.refresh_from_db()
    assert note.amount_settled == Decimal("2949") and note.balance == Decimal("10000")
    assert note.status == InvoiceStatus.PARTIALLY_PAID
    assert orders.exposure_parts(shop.relationship).credit == Decimal("10000")
    with pytest.raises(HubError) as error:
        invoicing.credit_note_issue_all(invoice=invoice, reason="Again", actor=shop.owner)
    assert error.value.code == "nothing_to_credit"


def test_credit_note_on_a_paid_invoice_is_all_account_credit(shop, invoice):
    invoicing.add_settlement(invoice, invoice.total_gross)  # paid in full (say, by transfer)
    note = invoicing.credit_note_issue(invoice=invoice,
                                       lines=[(invoice.lines.get(sku="PEN-1").pk, 1)],
                                       reason="Goodwill", actor=shop.owner)
    assert note.amount_settled == 0 and note.status == InvoiceStatus.OPEN
    assert not PaymentAllocation.objects.filter(credit_note=note).exists()
    assert orders.exposure(shop.relationship) == -note.total_gross


# --- Credit exposure -----------------------------------------------------------------------


def test_exposure_counts_uninvoiced_orders_open_invoices_less_unapplied_credit(shop):
    order = confirmed_order(shop, [(shop.pens.pk, 10)])  # 25000 + 2750 = 27750
    assert orders.exposure(shop.relationship) == Decimal("27750")
    invoice = ship(shop, order, {line_of(order, shop.pens).pk: 4}).invoice  # 11100
    parts = orders.exposure_parts(shop.relationship)
    assert (parts.orders, parts.invoices, parts.credit) == (
        Decimal("16650"), Decimal("11100"), Decimal("0"))
    assert parts.total == Decimal("27750")  # invoicing moves the amount, never doubles it
    ship(shop, order, {line_of(order, shop.pens).pk: 6})
    orders.order_transition(order=Order.objects.get(pk=order.pk), action="deliver",
                            membership=shop.membership, actor=shop.owner)
    orders.order_transition(order=Order.objects.get(pk=order.pk), action="close",
                            membership=shop.membership, actor=shop.owner)
    # A closed order no longer counts, its unpaid invoices still do.
    assert orders.exposure_parts(shop.relationship).orders == 0
    assert orders.exposure(shop.relationship) == Decimal("27750")
    payment = Payment.objects.create(
        supplier=shop.supplier, buyer=shop.buyer, relationship=shop.relationship, number=1,
        amount=Decimal("20000"), amount_allocated=Decimal("11100"), currency="IDR",
        received_on=invoicing.today())
    PaymentAllocation.objects.create(invoice=invoice, payment=payment, amount=Decimal("11100"))
    invoicing.add_settlement(invoice, Decimal("11100"))
    # Open: 16650 on the second invoice; unallocated payment 8900.
    assert orders.exposure(shop.relationship) == Decimal("16650") - Decimal("8900")


def test_unpaid_invoices_put_the_next_order_on_credit_hold(shop):
    shop.relationship.credit_limit = Decimal("30000")
    shop.relationship.save()
    order = confirmed_order(shop, [(shop.pens.pk, 10)])  # 27750
    ship(shop, order, {line_of(order, shop.pens).pk: 10})
    for action in ("deliver", "close"):
        orders.order_transition(order=Order.objects.get(pk=order.pk), action=action,
                                membership=shop.membership, actor=shop.owner)
    # The order is closed; only its unpaid invoice (27750) counts, and 2775 more is too much.
    held = orders.order_place(relationship=shop.relationship, actor=shop.buyer_user,
                              lines=[(shop.pens.pk, 1)])
    assert held.status == OrderStatus.CREDIT_HOLD
    invoice = Invoice.objects.get()
    invoicing.credit_note_issue(invoice=invoice, lines=[(invoice.lines.get().pk, 5)],
                                reason="Returned", actor=shop.owner)
    # 27750 − 13875 credited = 13875 open: room again.
    fine = orders.order_place(relationship=shop.relationship, actor=shop.buyer_user,
                              lines=[(shop.pens.pk, 1)])
    assert fine.status == OrderStatus.SUBMITTED


def test_exposures_for_many_relationships_take_a_fixed_number_of_queries(
        shop, django_assert_num_queries):
    with django_assert_num_queries(3):
        result = orders.exposures_for([shop.relationship.pk])
    assert result[shop.relationship.pk].total == 0
    assert orders.exposures_for([]) == {}


def test_invoice_lines_snapshot_the_order_line(shop, invoice):
    order_line = Order.objects.get().lines.get(sku="PAP-1")
    line = InvoiceLine.objects.get(invoice=invoice, sku="PAP-1")
    assert (line.order_line_id, line.product_id, line.name, line.unit) == (
        order_line.pk, shop.paper.pk, "Paper", "pcs")


def test_invoicing_mode_is_a_selling_setting(shop, owner_client):
    from jalin.api.testing import ApiClient, bearer_token_for

    api = ApiClient(token=bearer_token_for(shop.membership))
    assert api.get("/hub/settings/selling").json()["invoicing"] == "per_shipment"
    response = api.patch("/hub/settings/selling", {"invoicing": "per_order"})
    assert response.status_code == 200 and response.json()["invoicing"] == "per_order"
    assert response.json()["prices_include_tax"] is False
    assert api.patch("/hub/settings/selling", {"invoicing": "weekly"}).status_code == 422
    assert invoicing.invoicing_mode(shop.supplier.pk) == InvoicingMode.PER_ORDER
    page = owner_client.get("/hub/settings/")
    assert b'value="per_order" checked' in page.content
    response = owner_client.post("/hub/settings/", {"part": "supplier",
                                                    "invoicing": "per_shipment"})
    assert response.status_code == 302
    assert invoicing.invoicing_mode(shop.supplier.pk) == InvoicingMode.PER_SHIPMENT
    response = owner_client.post("/hub/settings/", {"part": "supplier", "invoicing": "x"})
    assert response.status_code == 400
    assert invoicing.invoicing_mode(shop.supplier.pk) == InvoicingMode.PER_SHIPMENT


def test_cancelling_an_order_invoiced_per_order_credits_its_invoice(shop):
    SupplierSettings.objects.create(supplier=shop.supplier, invoicing=InvoicingMode.PER_ORDER)
    order = confirmed_order(shop, [(shop.paper.pk, 3), (shop.pens.pk, 1)])
    invoice = Invoice.objects.get(order=order)
    assert orders.exposure(shop.relationship) == invoice.total_gross
    orders.order_transition(order=Order.objects.get(pk=order.pk), action="cancel",
                            membership=shop.membership, actor=shop.owner,
                            reason="Customer changed its mind")
    note = Invoice.objects.get(kind=InvoiceKind.CREDIT_NOTE)
    assert note.credited_invoice_id == invoice.pk and note.total_gross == invoice.total_gross
    assert note.reason == f"Order #{order.number} cancelled: Customer changed its mind"
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID and invoice.balance == 0
    assert orders.exposure(shop.relationship) == 0
    # An order cancelled before any invoice gets no credit note.
    other = confirmed_order(shop, [(shop.pens.pk, 1)])
    SupplierSettings.objects.filter(supplier=shop.supplier).update(
        invoicing=InvoicingMode.PER_SHIPMENT)
    plain = orders.order_place(relationship=shop.relationship, actor=shop.buyer_user,
                               lines=[(shop.pens.pk, 1)])
    orders.order_transition(order=plain, action="cancel", membership=shop.membership,
                            actor=shop.owner)
    assert Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE).count() == 1
    assert Invoice.objects.filter(order=other).count() == 1
