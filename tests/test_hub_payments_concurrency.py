"""Payments under real concurrency, on PostgreSQL with threads (one connection each):
duplicate webhook deliveries record one payment; two reminder runs send each level once;
concurrent allocations never over-allocate a payment or over-settle an invoice."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from jalin.core.models import Notification
from jalin.hub import payment_providers as providers
from jalin.hub import payments
from jalin.hub.models import (
    Invoice,
    InvoiceReminder,
    Payment,
    PaymentAllocation,
    ProviderEvent,
    WebhookDelivery,
)
from jalin.hub.services import HubError
from jalin.hub.testing import make_invoice
from tests import payments_world
from tests.test_hub_orders_concurrency import run_threads

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only(db):
    if connection.vendor != "postgresql":
        pytest.skip("concurrency guarantees are proven on PostgreSQL")


@pytest.fixture
def world(org, owner):
    return payments_world.build(org, owner)


def test_concurrent_duplicate_deliveries_record_one_payment(world):
    checkout, _url = providers.checkout_start(invoice=world.inv_mid, buyer=world.buyer,
                                              actor=world.buyer_user)
    provider = providers.provider_named("test")
    body = provider.event_body(checkout, providers.SUCCEEDED)
    header = providers.signature_header(provider.secret(), body)

    def deliver(index):
        response = Client().post("/hub/webhooks/payments/test/", body,
                                 content_type="application/json",
                                 headers={providers.SIGNATURE_HEADER: header})
        return response.status_code, response.json()["outcome"]

    results = run_threads(deliver, 8)
    assert all(error is None for _result, error in results), results
    outcomes = sorted(result for result, _error in results)
    assert outcomes.count((200, "payment_recorded")) == 1
    assert outcomes.count((200, "already_processed")) == 7
    assert Payment.objects.count() == 1 and ProviderEvent.objects.count() == 1
    assert PaymentAllocation.objects.count() == 1
    assert Invoice.objects.get(pk=world.inv_mid.pk).status == "paid"
    assert WebhookDelivery.objects.count() == 8


def test_concurrent_different_events_for_one_checkout_record_one_payment(world):
    checkout, _url = providers.checkout_start(invoice=world.inv_mid, buyer=world.buyer,
                                              actor=world.buyer_user)
    provider = providers.provider_named("test")

    def deliver(index):
        body = provider.event_body(checkout, providers.SUCCEEDED)  # new id and reference
        return providers.webhook_receive(
            provider_name="test", body=body,
            headers={providers.SIGNATURE_HEADER: providers.signature_header(
                provider.secret(), body)}).outcome

    results = run_threads(deliver, 6)
    assert all(error is None for _result, error in results), results
    assert sorted(result for result, _e in results).count("payment_recorded") == 1
    assert Payment.objects.count() == 1


def test_two_reminder_runs_at_once_send_each_level_once(world):
    due = datetime.date(2026, 3, 2)
    invoices = [make_invoice(world.relationship, "1000", due_date=due,
                             issue_date=due - datetime.timedelta(days=30)) for _ in range(5)]
    Invoice.objects.exclude(pk__in=[i.pk for i in invoices]).update(
        due_date=datetime.date(2030, 1, 1))
    today = due + datetime.timedelta(days=8)
    now = timezone.make_aware(datetime.datetime.combine(today, datetime.time(9)))

    def remind(index):
        return payments.send_overdue_reminders(today=today, now=now)

    results = run_threads(remind, 4)
    assert all(error is None for _result, error in results), results
    assert sum(result for result, _e in results) == 5
    assert InvoiceReminder.objects.count() == 5
    assert set(InvoiceReminder.objects.values_list("level", flat=True)) == {2}
    assert Notification.objects.filter(kind="invoice_overdue").count() == 5


def test_concurrent_payments_never_over_settle_an_invoice(world):
    def pay(index):
        return payments.payment_record(
            relationship=world.relationship, amount=Decimal("60000"), currency="IDR",
            received_on=timezone.localdate(), method="bank_transfer", reference=f"T{index}",
            actor=world.owner, allocations=[(world.inv_old.pk, Decimal("60000"))])

    results = run_threads(pay, 6)
    made = [result for result, error in results if error is None]
    refused = [error for _result, error in results if error is not None]
    assert len(made) == 1 and len(refused) == 5
    assert all(isinstance(error, HubError) for error in refused), refused
    invoice = Invoice.objects.get(pk=world.inv_old.pk)
    assert invoice.amount_settled == Decimal("60000")
    assert sorted(Payment.objects.values_list("number", flat=True)) == [1]  # gapless


def test_concurrent_allocations_never_over_allocate_a_payment(world):
    payment = payments.payment_record(
        relationship=world.relationship, amount=Decimal("100000"), currency="IDR",
        received_on=timezone.localdate(), method="bank_transfer", reference="",
        actor=world.owner, allocations=[])
    targets = [world.inv_old, world.inv_mid, world.inv_new, world.inv_mid]

    def allocate(index):
        return payments.payment_allocate(payment=payment, invoice=targets[index],
                                         amount=Decimal("60000"), actor=world.owner)

    results = run_threads(allocate, 4)
    assert sum(error is None for _r, error in results) == 1
    payment.refresh_from_db()
    assert payment.amount_allocated == Decimal("60000")
    total = sum(PaymentAllocation.objects.filter(payment=payment)
                .values_list("amount", flat=True))
    assert total == Decimal("60000")
