"""Billing pages for both sides: invoice lists (filters, CSV, query counts), invoice and
credit note detail, credit notes from the page, "Issue invoice" on an order, PDFs,
statements of account with running balance and aging, credit shown to buyer and supplier."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from jalin.hub import invoicing, orders, stock
from jalin.hub.invoice_selectors import bucket_for, statement
from jalin.hub.models import (
    Invoice,
    InvoiceKind,
    InvoicingMode,
    Payment,
    PaymentAllocation,
    PaymentTerms,
    SupplierSettings,
)
from jalin.hub.testing import link_buyer, make_price_list, make_product, set_price
from jalin.tenancy.models import Membership
from jalin.tenancy.roles import Role
from tests.conftest import make_org, make_user
from tests.pdf_text import pdf_text


@pytest.fixture
def world(org, owner):
    buyer = make_org("billing-buyer", name="Toko Bangunan Sejahtera", is_supplier=False,
                     is_buyer=True)
    buyer_user = make_user("billing-buyer-user")
    Membership.objects.create(user=buyer_user, organization=buyer, role=Role.BUYER)
    base = make_price_list(org, owner, "Base", is_base=True)
    cement = make_product(org, owner, "SEM-50", "Semen 50 kg — Çap Gajah")
    set_price(base, cement, "65000", owner)
    relationship = link_buyer(org, buyer, owner, payment_terms=PaymentTerms.NET,
                              payment_days=30, credit_limit=Decimal("5000000"))
    warehouse = stock.warehouse_create(supplier=org, actor=owner, code="W1", name="Main")
    stock.stock_adjust(warehouse=warehouse, product=cement, delta=10_000, reason="count",
                       actor=owner)
    membership = Membership.objects.get(user=owner, organization=org)
    buyer_client = Client()
    buyer_client.force_login(buyer_user)
    return type("World", (), dict(
        supplier=org, owner=owner, buyer=buyer, buyer_user=buyer_user, cement=cement,
        relationship=relationship, membership=membership, buyer_client=buyer_client))


def shipped_invoice(world, quantity=10, ship=None):
    order = orders.order_place(relationship=world.relationship, actor=world.buyer_user,
                               lines=[(world.cement.pk, quantity)])
    order = orders.order_transition(order=order, action="confirm",
                                    membership=world.membership, actor=world.owner)
    shipment = orders.ship(order=order, membership=world.membership, actor=world.owner,
                           quantities={order.lines.get().pk: ship or quantity})
    return order, shipment.invoice


def test_lists_for_both_sides_with_filters_and_csv(world, owner_client, outsider_client):
    _order, invoice = shipped_invoice(world)
    note = invoicing.credit_note_issue(invoice=invoice, lines=[(invoice.lines.get().pk, 1)],
                                       reason="Sak sobek", actor=world.owner)
    page = owner_client.get("/hub/invoices/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "INV-1" in body and "CN-1" in body and "Toko Bangunan Sejahtera" in body
    only_notes = owner_client.get("/hub/invoices/?kind=credit_note").content.decode()
    assert "CN-1" in only_notes and "INV-1" not in only_notes
    assert "INV-1" not in owner_client.get("/hub/invoices/?status=paid").content.decode()
    assert "INV-1" not in owner_client.get("/hub/invoices/?overdue=1").content.decode()
    Invoice.objects.filter(pk=invoice.pk).update(
        issue_date=datetime.date(2026, 1, 1), due_date=datetime.date(2026, 1, 31))
    assert "INV-1" in owner_client.get("/hub/invoices/?overdue=1").content.decode()
    mine = world.buyer_client.get("/hub/invoices/")
    assert mine.status_code == 200 and "INV-1" in mine.content.decode()
    csv_response = owner_client.get("/hub/invoices/export.csv?kind=invoice")
    text = b"".join(csv_response.streaming_content).decode("utf-8-sig")
    assert text.splitlines()[0].startswith("id,kind,number,supplier")
    assert "INV-1" in text and "CN-1" not in text
    outsider = outsider_client.get("/hub/invoices/").content.decode()
    assert "INV-1" not in outsider and "Sejahtera" not in outsider
    assert outsider_client.get(f"/hub/invoices/{invoice.pk}/").status_code == 404
    assert outsider_client.get(f"/hub/invoices/{note.pk}/pdf/").status_code == 404


def test_invoice_list_query_count_does_not_grow(world, owner_client):
    def count():
        with CaptureQueriesContext(connection) as queries:
            assert owner_client.get("/hub/invoices/").status_code == 200
        return len(queries)

    for _ in range(3):
        shipped_invoice(world, quantity=1)
    count()  # the first request also sets up the session
    few = count()
    for _ in range(27):
        shipped_invoice(world, quantity=1)
    assert Invoice.objects.count() == 30
    assert count() == few


def test_detail_shows_lines_tax_and_credit_form_to_finance_only(world, owner_client,
                                                                 member_client):
    _order, invoice = shipped_invoice(world)
    page = owner_client.get(f"/hub/invoices/{invoice.pk}/").content.decode()
    assert 'id="tax-summary"' in page and 'id="credit-note-form"' in page
    assert "SEM-50" in page and "Net 30 days" in page
    # Sales (member) sees the invoice, not the credit note form; the buyer neither.
    member_page = member_client.get(f"/hub/invoices/{invoice.pk}/").content.decode()
    assert "SEM-50" in member_page and 'id="credit-note-form"' not in member_page
    buyer_page = world.buyer_client.get(f"/hub/invoices/{invoice.pk}/").content.decode()
    assert "SEM-50" in buyer_page and 'id="credit-note-form"' not in buyer_page
    line = invoice.lines.get()
    assert member_client.post(f"/hub/invoices/{invoice.pk}/credit-notes/", {
        f"credit_{line.pk}": "1", "reason": "x"}).status_code == 403
    assert world.buyer_client.post(f"/hub/invoices/{invoice.pk}/credit-notes/", {
        f"credit_{line.pk}": "1", "reason": "x"}).status_code == 404
    assert not Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE).exists()


def test_credit_note_from_the_page(world, owner_client):
    _order, invoice = shipped_invoice(world)
    line = invoice.lines.get()
    refused = owner_client.post(f"/hub/invoices/{invoice.pk}/credit-notes/", {
        f"credit_{line.pk}": "11", "reason": "Too many"})
    assert refused.status_code == 400 and "can still be credited" in refused.content.decode()
    assert 'value="11"' in refused.content.decode()
    no_reason = owner_client.post(f"/hub/invoices/{invoice.pk}/credit-notes/", {
        f"credit_{line.pk}": "1", "reason": ""})
    assert no_reason.status_code == 400
    bad = owner_client.post(f"/hub/invoices/{invoice.pk}/credit-notes/", {
        f"credit_{line.pk}": "abc", "reason": "x"})
    assert bad.status_code == 400
    assert not Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE).exists()
    done = owner_client.post(f"/hub/invoices/{invoice.pk}/credit-notes/", {
        f"credit_{line.pk}": "2", "reason": "Dua sak rusak"})
    note = Invoice.objects.get(kind=InvoiceKind.CREDIT_NOTE)
    assert done.status_code == 302 and done["Location"] == f"/hub/invoices/{note.pk}/"
    page = owner_client.get(f"/hub/invoices/{note.pk}/").content.decode()
    assert "Dua sak rusak" in page and "INV-1" in page
    rest = owner_client.post(f"/hub/invoices/{invoice.pk}/credit-notes/", {
        "all": "1", "reason": "Sisanya dibatalkan"})
    assert rest.status_code == 302
    invoice.refresh_from_db()
    assert invoice.balance == 0 and invoice.credit_notes.count() == 2


def test_issue_invoice_button_on_the_order(world, owner_client, member_client,
                                           outsider_client):
    SupplierSettings.objects.create(supplier=world.supplier,
                                    invoicing=InvoicingMode.PER_ORDER)
    order = orders.order_place(relationship=world.relationship, actor=world.buyer_user,
                               lines=[(world.cement.pk, 4)])
    order = orders.order_transition(order=order, action="confirm",
                                    membership=world.membership, actor=world.owner)
    assert Invoice.objects.count() == 1  # per order, at confirmation
    page = owner_client.get(f"/hub/orders/{order.pk}/").content.decode()
    assert 'id="order-invoices"' in page and 'id="issue-invoice"' not in page
    # Another order shipped without an invoice (mode switched after confirmation).
    second = orders.order_place(relationship=world.relationship, actor=world.buyer_user,
                                lines=[(world.cement.pk, 3)])
    SupplierSettings.objects.filter(supplier=world.supplier).update(
        invoicing=InvoicingMode.PER_SHIPMENT)
    second = orders.order_transition(order=second, action="confirm",
                                     membership=world.membership, actor=world.owner)
    SupplierSettings.objects.filter(supplier=world.supplier).update(
        invoicing=InvoicingMode.PER_ORDER)
    orders.ship(order=second, membership=world.membership, actor=world.owner,
                quantities={second.lines.get().pk: 3})
    page = owner_client.get(f"/hub/orders/{second.pk}/").content.decode()
    assert 'id="issue-invoice"' in page and "3 shipped units are not invoiced yet" in page
    buyer_page = world.buyer_client.get(f"/hub/orders/{second.pk}/").content.decode()
    assert 'id="issue-invoice"' not in buyer_page
    assert world.buyer_client.post(f"/hub/orders/{second.pk}/invoice/").status_code == 404
    assert outsider_client.post(f"/hub/orders/{second.pk}/invoice/").status_code == 404
    response = member_client.post(f"/hub/orders/{second.pk}/invoice/")  # sales: fulfil
    invoice = Invoice.objects.get(order=second)
    assert response.status_code == 302 and response["Location"] == (
        f"/hub/invoices/{invoice.pk}/")
    again = owner_client.post(f"/hub/orders/{second.pk}/invoice/")
    assert again.status_code == 302 and Invoice.objects.filter(order=second).count() == 1


def test_pdf_of_invoice_and_credit_note(world, owner_client):
    world.buyer.name = "Toko Bangunan Sejahtera — Çilandak 株式会社"
    world.buyer.save()
    _order, invoice = shipped_invoice(world)
    response = world.buyer_client.get(f"/hub/invoices/{invoice.pk}/pdf/")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    text = pdf_text(response.content)
    assert "INV-1" in text and "Semen 50 kg — Çap Gajah" in text
    assert "Toko Bangunan Sejahtera — Çilandak" in text
    assert "Net 30 days" in text and "11%" in text
    note = invoicing.credit_note_issue(invoice=invoice, lines=[(invoice.lines.get().pk, 1)],
                                       reason="Retur satu sak", actor=world.owner)
    text = pdf_text(owner_client.get(f"/hub/invoices/{note.pk}/pdf/").content)
    assert "CN-1" in text and "Retur satu sak" in text and "INV-1" in text


def pay(world, amount, day, allocations=()):
    payment = Payment.objects.create(
        supplier=world.supplier, buyer=world.buyer, relationship=world.relationship,
        number=Payment.objects.filter(supplier=world.supplier).count() + 1,
        amount=Decimal(amount), currency="IDR", received_on=day,
        reference=f"TRF {day}")
    for invoice, part in allocations:
        PaymentAllocation.objects.create(invoice=invoice, payment=payment, amount=Decimal(part))
        payment.amount_allocated += Decimal(part)
        invoicing.add_settlement(invoice, Decimal(part))
    payment.save()
    return payment


def test_statement_running_balance_and_aging(world):
    day = datetime.date
    invoices = []
    for quantity, issued in ((1, day(2026, 6, 1)), (2, day(2026, 7, 10)),
                             (3, day(2026, 9, 20))):
        _order, invoice = shipped_invoice(world, quantity=quantity)
        Invoice.objects.filter(pk=invoice.pk).update(
            issue_date=issued, due_date=issued + datetime.timedelta(days=30))
        invoice.refresh_from_db()
        invoices.append(invoice)
    # 1 × 65000 + 11 % = 72150; 2 × → 144300; 3 × → 216450.
    assert [i.total_gross for i in invoices] == [Decimal("72150"), Decimal("144300"),
                                                 Decimal("216450")]
    pay(world, "72150", day(2026, 6, 20), [(invoices[0], "72150")])
    pay(world, "50000", day(2026, 8, 5), [(invoices[1], "40000")])  # 10000 unallocated
    note = invoicing.credit_note_issue(invoice=invoices[2],
                                       lines=[(invoices[2].lines.get().pk, 1)],
                                       reason="Retur", actor=world.owner)
    Invoice.objects.filter(pk=note.pk).update(issue_date=day(2026, 9, 25),
                                              due_date=day(2026, 9, 25))
    result = statement(relationship=world.relationship, start=day(2026, 7, 1),
                       end=day(2026, 9, 30), on_date=day(2026, 10, 31))
    assert result.opening == Decimal("0")  # 72150 invoiced − 72150 paid before July
    assert [(row.kind, row.debit, row.credit, row.balance) for row in result.rows] == [
        ("invoice", Decimal("144300"), 0, Decimal("144300")),
        ("payment", 0, Decimal("50000"), Decimal("94300")),
        ("invoice", Decimal("216450"), 0, Decimal("310750")),
        ("credit_note", 0, Decimal("72150"), Decimal("238600")),
    ]
    assert result.closing == Decimal("238600")
    assert (result.total_debit, result.total_credit) == (Decimal("360750"),
                                                         Decimal("122150"))
    # Aging on 31 October: invoice 2 (due 9 Aug, 83 days overdue, 104300 open), invoice 3
    # (due 20 Oct, 11 days, 144300 open after the credit); 10000 of payment unallocated.
    aging = result.aging
    assert aging.buckets == {"current": 0, "1_30": Decimal("144300"), "31_60": 0,
                             "61_90": Decimal("104300"), "90_plus": 0}
    assert aging.unapplied == Decimal("10000")
    assert aging.net == Decimal("238600")  # agrees with the closing balance
    later = statement(relationship=world.relationship, start=day(2026, 10, 1),
                      end=day(2026, 10, 31))
    assert later.opening == result.closing and later.rows == []


def test_aging_buckets():
    assert [bucket_for(d) for d in (-5, 0, 1, 30, 31, 60, 61, 90, 91, 400)] == [
        "current", "current", "1_30", "1_30", "31_60", "31_60", "61_90", "61_90", "90_plus",
        "90_plus"]


def test_statement_pages_for_both_sides(world, owner_client, member_client, outsider_client):
    _order, invoice = shipped_invoice(world)
    url = f"/hub/statements/{world.buyer.pk}/"
    page = owner_client.get(url)
    assert page.status_code == 200
    body = page.content.decode()
    assert "INV-1" in body and 'id="aging"' in body and "Toko Bangunan Sejahtera" in body
    buyer_page = world.buyer_client.get(f"/hub/statements/{world.supplier.pk}/")
    assert buyer_page.status_code == 200 and "INV-1" in buyer_page.content.decode()
    assert member_client.get(url).status_code == 403  # sales has no finance.view
    assert outsider_client.get(url).status_code == 404
    assert world.buyer_client.get(f"/hub/statements/{world.buyer.pk}/").status_code == 404
    bad = owner_client.get(url + "?from=2026-12-01&to=2026-01-01")
    assert bad.status_code == 400 and "after the end date" in bad.content.decode()
    today = invoicing.today().isoformat()
    csv_response = owner_client.get(f"/hub/statements/{world.buyer.pk}/statement.csv"
                                    f"?from={today}&to={today}")
    rows = b"".join(csv_response.streaming_content).decode("utf-8-sig").splitlines()
    assert rows[0] == "date,document,kind,reference,due_date,debit,credit,balance"
    assert rows[1].split(",")[2] == "opening_balance"
    assert rows[2].split(",")[1] == "INV-1" and rows[2].split(",")[-1] == "721500.00"
    assert rows[-1].split(",")[2] == "closing_balance"
    response = owner_client.get(f"/hub/statements/{world.buyer.pk}/statement.pdf")
    assert response.status_code == 200
    text = pdf_text(response.content)
    assert "Statement of account" in text and "INV-1" in text and "Closing balance" in text


def test_credit_is_shown_to_buyer_and_supplier(world, owner_client):
    shipped_invoice(world, quantity=10, ship=4)  # 10 × 72150 = 721500 ordered, 4 invoiced
    shop = world.buyer_client.get("/hub/shop/").content.decode()
    # Exposure 721500: 432900 not invoiced + 288600 invoiced; available 4278500.
    assert "4,278,500" in shop
    catalog = world.buyer_client.get(f"/hub/shop/{world.supplier.pk}/").content.decode()
    assert 'id="credit-available"' in catalog and "4,278,500" in catalog
    assert "432,900" in catalog and "288,600" in catalog
    customers = owner_client.get("/hub/catalog/customers/").content.decode()
    assert "721,500" in customers and "4,278,500" in customers
    edit = owner_client.get(f"/hub/catalog/customers/{world.relationship.pk}/edit/")
    assert 'id="credit-exposure"' in edit.content.decode()


def test_statement_query_count_does_not_grow(world, owner_client):
    url = f"/hub/statements/{world.buyer.pk}/"

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert owner_client.get(url).status_code == 200
        return len(queries)

    for _ in range(3):
        shipped_invoice(world, quantity=1)
    count()
    few = count()
    for _ in range(27):
        shipped_invoice(world, quantity=1)
    assert count() == few
