"""Payment pages: supplier list (filters, CSV, query counts), record form with htmx open
invoices, detail, allocate later, reverse; buyer list with "Pay now"; owner / member /
outsider permissions."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from jalin.hub import payments
from jalin.hub.models import InvoiceStatus, Payment, PaymentReversal
from tests import payments_world
from tests.payments_world import client_for

TODAY = timezone.localdate()


@pytest.fixture
def world(org, owner):
    return payments_world.build(org, owner)


def make_payment(world, amount="1000", allocations=(), relationship=None, **extra):
    return payments.payment_record(
        relationship=relationship or world.relationship, amount=Decimal(amount),
        currency="IDR", received_on=extra.pop("received_on", TODAY),
        method=extra.pop("method", "bank_transfer"), reference=extra.pop("reference", "R"),
        actor=world.owner, allocations=list(allocations), **extra)


def test_permissions_owner_member_outsider(world, owner_client, member_client,
                                          outsider_client):
    payment = make_payment(world, reference="Secret transfer 77")
    list_url = reverse("hub:payments") + "?side=supplier"
    assert owner_client.get(list_url).status_code == 200
    assert "Secret transfer 77" in owner_client.get(list_url).content.decode()
    # A sales member has no finance.view: no payments at all.
    assert member_client.get(list_url).status_code == 403
    assert member_client.get(reverse("hub:payment_detail", args=[payment.pk])).status_code \
        == 403
    assert member_client.get(reverse("hub:payment_record")).status_code == 403
    # The outsider (another company): its own empty list, 404 for the payment.
    page = outsider_client.get(list_url)
    assert page.status_code == 200 and "Secret transfer 77" not in page.content.decode()
    for name in ("hub:payment_detail",):
        assert outsider_client.get(reverse(name, args=[payment.pk])).status_code == 404
    for name in ("hub:payment_allocate", "hub:payment_reverse"):
        assert outsider_client.post(reverse(name, args=[payment.pk]),
                                    {"reason": "x", "invoice": world.inv_old.pk,
                                     "amount": "1"}).status_code == 404
    assert not PaymentReversal.objects.exists()


def test_supplier_records_a_payment_with_manual_allocation(world, owner_client):
    form = owner_client.get(reverse("hub:payment_record")).content.decode()
    assert "Record payment" in form and 'hx-get="/hub/payments/open-invoices/"' in form
    partial = owner_client.get(reverse("hub:payment_open_invoices"),
                               {"customer": world.buyer.pk}, headers={"HX-Request": "true"})
    html = partial.content.decode()
    assert partial.status_code == 200
    assert f'name="alloc_{world.inv_old.pk}"' in html
    assert f'name="alloc_{world.foreign_invoice.pk}"' not in html  # other customer's
    assert html.index(str(world.inv_old)) < html.index(str(world.inv_mid))  # oldest due first
    response = owner_client.post(reverse("hub:payment_record"), {
        "customer": world.buyer.pk, "amount": "150000", "currency": "IDR",
        "received_on": TODAY.isoformat(), "method": "bank_transfer", "reference": "BCA 1",
        "allocation": "manual", f"alloc_{world.inv_mid.pk}": "120000", "token": "t-1"})
    assert response.status_code == 302
    payment = Payment.objects.get()
    assert response["Location"] == reverse("hub:payment_detail", args=[payment.pk])
    assert payment.amount_allocated == Decimal("120000")
    # The same form submitted again (double click) makes no second payment.
    again = owner_client.post(reverse("hub:payment_record"), {
        "customer": world.buyer.pk, "amount": "150000", "currency": "IDR",
        "received_on": TODAY.isoformat(), "method": "bank_transfer", "reference": "BCA 1",
        "allocation": "manual", f"alloc_{world.inv_mid.pk}": "120000", "token": "t-1"})
    assert again["Location"] == response["Location"] and Payment.objects.count() == 1
    detail = owner_client.get(response["Location"]).content.decode()
    assert "Allocate the remainder" in detail and str(world.inv_mid) in detail


def test_record_form_errors_change_nothing(world, owner_client):
    cases = [
        {"customer": world.other_buyer.pk + 999, "amount": "10"},
        {"customer": world.buyer.pk, "amount": "abc"},
        {"customer": world.buyer.pk, "amount": "500000", "allocation": "manual",
         f"alloc_{world.inv_old.pk}": "100001"},
        {"customer": world.buyer.pk, "amount": "10", "allocation": "manual",
         f"alloc_{world.foreign_invoice.pk}": "10"},
        {"customer": world.buyer.pk, "amount": "10", "received_on": "not-a-date"},
    ]
    for case in cases:
        data = {"currency": "IDR", "received_on": TODAY.isoformat(),
                "method": "bank_transfer", **case}
        response = owner_client.post(reverse("hub:payment_record"), data)
        assert response.status_code == 400, case
        assert 'id="payment-error"' in response.content.decode()
    assert not Payment.objects.exists()
    world.inv_old.refresh_from_db()
    assert world.inv_old.amount_settled == 0


def test_allocate_later_and_reverse_from_the_detail_page(world, owner_client):
    payment = make_payment(world, "150000")
    url = reverse("hub:payment_allocate", args=[payment.pk])
    bad = owner_client.post(url, {"invoice": world.inv_old.pk, "amount": "150000"})
    assert bad.status_code == 400  # more than the invoice's balance
    assert owner_client.post(url, {"invoice": world.foreign_invoice.pk,
                                   "amount": "1"}).status_code == 400
    ok = owner_client.post(url, {"invoice": world.inv_old.pk, "amount": "100000"})
    assert ok.status_code == 302
    world.inv_old.refresh_from_db()
    assert world.inv_old.status == InvoiceStatus.PAID
    reverse_url = reverse("hub:payment_reverse", args=[payment.pk])
    assert owner_client.post(reverse_url, {"reason": ""}).status_code == 400
    assert owner_client.post(reverse_url, {"reason": "Duplicate entry"}).status_code == 302
    world.inv_old.refresh_from_db()
    assert world.inv_old.status == InvoiceStatus.OPEN
    detail = owner_client.get(reverse("hub:payment_detail", args=[payment.pk])).content
    assert b"Duplicate entry" in detail and b"reverse-form" not in detail


def test_list_filters_and_csv_export(world, owner_client):
    make_payment(world, "1000", reference="=cmd|calc")
    make_payment(world, "2000", method="cash", reference="Cash desk")
    make_payment(world, "3000", relationship=world.other_relationship, reference="Other co")
    base = reverse("hub:payments") + "?side=supplier"
    html = owner_client.get(base + f"&customer={world.other_buyer.pk}").content.decode()
    assert "Other co" in html and "Cash desk" not in html
    html = owner_client.get(base + "&method=cash").content.decode()
    assert "Cash desk" in html and "Other co" not in html
    tomorrow = (TODAY.toordinal() + 1)
    from datetime import date

    html = owner_client.get(base + f"&from={date.fromordinal(tomorrow).isoformat()}").content
    assert b"Cash desk" not in html
    response = owner_client.get(reverse("hub:payment_export") + "?side=supplier&method=")
    body = b"".join(response.streaming_content).decode()
    assert response["Content-Type"].startswith("text/csv")
    assert body.count("\n") == 4  # header + 3
    assert "'=cmd|calc" in body  # formula-looking cells are quoted


def test_list_query_count_does_not_grow(world, owner_client):
    url = reverse("hub:payments") + "?side=supplier"

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert owner_client.get(url).status_code == 200
        return len(queries)

    for _ in range(3):
        make_payment(world)
    count()  # warm up: the first request of a session does its own bookkeeping
    three = count()
    for _ in range(27):
        make_payment(world)
    assert count() == three


def test_buyer_sees_its_payments_and_invoices_to_pay(world):
    make_payment(world, "1000", reference="Ours")
    make_payment(world, "1000", relationship=world.other_relationship, reference="Theirs")
    buyer = client_for(world.buyer_user)
    html = buyer.get(reverse("hub:payments") + "?side=buyer").content.decode()
    assert "Ours" in html and "Theirs" not in html
    assert "Pay now" in html
    assert reverse("hub:invoice_pay", args=[world.inv_mid.pk]) in html
    assert reverse("hub:invoice_pay", args=[world.foreign_invoice.pk]) not in html
    other_payment = Payment.objects.get(reference="Theirs")
    assert buyer.get(reverse("hub:payment_detail",
                             args=[other_payment.pk])).status_code == 404
    own = Payment.objects.get(reference="Ours")
    detail = buyer.get(reverse("hub:payment_detail", args=[own.pk])).content.decode()
    assert "allocate-form" not in detail and "reverse-form" not in detail
    # A buyer cannot record, allocate or reverse: its role has no finance.edit.
    assert buyer.get(reverse("hub:payment_record")).status_code == 403
    assert buyer.post(reverse("hub:payment_reverse", args=[own.pk]),
                      {"reason": "x"}).status_code == 403
    # The buyer query count does not grow with its invoices either.
    url = reverse("hub:payments") + "?side=buyer"
    buyer.get(url)
    with CaptureQueriesContext(connection) as before:
        buyer.get(url)
    from jalin.hub.testing import make_invoice

    for _ in range(10):
        make_invoice(world.relationship, "10")
        make_payment(world, "5")
    with CaptureQueriesContext(connection) as after:
        buyer.get(url)
    assert len(after) == len(before)


def test_payments_link_in_the_hub_navigation(world, owner_client):
    html = owner_client.get(reverse("hub:orders") + "?side=supplier").content.decode()
    assert reverse("hub:payments") + "?side=supplier" in html
    buyer = client_for(world.buyer_user)
    html = buyer.get(reverse("hub:orders") + "?side=buyer").content.decode()
    assert reverse("hub:payments") + "?side=buyer" in html


def test_invoice_page_has_pay_now_and_linked_payments(world, owner_client):
    from jalin.hub.models import PaymentCheckout

    payment = make_payment(world, "50000", [(world.inv_mid.pk, Decimal("50000"))],
                           reference="P-1")
    url = reverse("hub:invoice_detail", args=[world.inv_mid.pk])
    buyer = client_for(world.buyer_user)
    html = buyer.get(url).content.decode()
    assert 'id="pay-now"' in html and "150,000" in html.split('id="pay-now"')[1][:200]
    assert reverse("hub:payment_detail", args=[payment.pk]) in html  # linked history
    assert 'id="record-payment-link"' not in html
    buyer.post(reverse("hub:invoice_pay", args=[world.inv_mid.pk]))
    assert PaymentCheckout.objects.count() == 1
    assert 'id="invoice-checkouts"' in buyer.get(url).content.decode()
    supplier_html = owner_client.get(url).content.decode()
    assert 'id="pay-now"' not in supplier_html
    assert 'id="record-payment-link"' in supplier_html
    assert reverse("hub:payment_detail", args=[payment.pk]) in supplier_html
    # A viewer of the buyer (no finance.view) sees no Pay now and no payment links.
    viewer_html = client_for(world.buyer_viewer).get(url).content.decode()
    assert 'id="pay-now"' not in viewer_html
    assert reverse("hub:payment_detail", args=[payment.pk]) not in viewer_html
    # A paid invoice has no Pay now.
    make_payment(world, "100000", [(world.inv_old.pk, Decimal("100000"))])
    paid_html = buyer.get(reverse("hub:invoice_detail", args=[world.inv_old.pk])).content
    assert b'id="pay-now"' not in paid_html and b'id="invoice-paid"' in paid_html
