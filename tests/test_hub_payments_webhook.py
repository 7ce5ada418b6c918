"""The payment webhook over HTTP: signatures (good, bad, missing, malformed), stale and
future timestamps, replayed event ids, amount/currency mismatch, malformed JSON, missing
fields, oversize bodies, unknown and foreign checkouts; the full test-provider flow; the
delivery log; the deploy check."""

import json
import time
from decimal import Decimal

import pytest
from django.core.checks import run_checks
from django.test import Client
from django.urls import reverse

from jalin.core.events import Event
from jalin.hub import payment_providers as providers
from jalin.hub.models import (
    CheckoutStatus,
    InvoiceStatus,
    Payment,
    PaymentAllocation,
    PaymentCheckout,
    ProviderEvent,
    WebhookDelivery,
)
from tests import payments_world

SECRET = providers.DEV_TEST_SECRET
URL = "/hub/webhooks/payments/test/"


@pytest.fixture
def world(org, owner):
    world = payments_world.build(org, owner)
    world.checkout, _url = providers.checkout_start(invoice=world.inv_mid, buyer=world.buyer,
                                                    actor=world.buyer_user)
    return world


def event(checkout, *, event_id="evt_1", kind=providers.SUCCEEDED, amount=None,
          currency=None, reference="ref-1"):
    data = {"checkout": checkout.token}
    if kind == providers.SUCCEEDED:
        data.update(amount=str(checkout.amount if amount is None else amount),
                    currency=currency or checkout.currency, reference=reference)
    return json.dumps({"id": event_id, "type": kind, "created": int(time.time()),
                       "data": data}).encode()


def post(body, *, secret=SECRET, timestamp=None, header=None, url=URL):
    if header is None:
        header = providers.signature_header(secret, body, timestamp)
    headers = {providers.SIGNATURE_HEADER: header} if header else {}
    # A fresh client each time: no session, no CSRF token, like a provider.
    return Client(enforce_csrf_checks=True).post(url, body, content_type="application/json",
                                                 headers=headers)


def nothing_recorded(world):
    assert not Payment.objects.exists()
    assert not ProviderEvent.objects.exists()
    world.inv_mid.refresh_from_db()
    assert world.inv_mid.amount_settled == 0
    world.checkout.refresh_from_db()
    assert world.checkout.status == CheckoutStatus.PENDING


def test_signed_success_records_an_allocated_provider_payment(world):
    response = post(event(world.checkout))
    assert response.status_code == 200, response.content
    assert response.json()["outcome"] == "payment_recorded"
    payment = Payment.objects.get()
    assert (payment.method, payment.provider, payment.provider_reference) == (
        "provider", "test", "ref-1")
    assert payment.amount == Decimal("200000") and payment.amount_allocated == payment.amount
    assert PaymentAllocation.objects.get().invoice_id == world.inv_mid.pk
    world.inv_mid.refresh_from_db()
    assert world.inv_mid.status == InvoiceStatus.PAID
    world.checkout.refresh_from_db()
    assert world.checkout.status == CheckoutStatus.SUCCEEDED
    assert world.checkout.payment_id == payment.pk
    assert Event.objects.filter(type="hub.payment.recorded").count() == 1
    assert Event.objects.filter(type="hub.invoice.paid").count() == 1
    log = WebhookDelivery.objects.get()
    assert (log.event_id, log.status_code, log.outcome, log.supplier_id) == (
        "evt_1", 200, "payment_recorded", world.supplier.pk)


def test_replayed_event_is_answered_200_and_records_nothing(world):
    body = event(world.checkout)
    assert post(body).status_code == 200
    again = post(body)  # a new signature, same event id
    assert again.status_code == 200 and again.json()["outcome"] == "already_processed"
    # Another event id for the same checkout: already succeeded, nothing more.
    third = post(event(world.checkout, event_id="evt_2", reference="ref-2"))
    assert third.status_code == 200 and third.json()["outcome"] == "already_processed"
    assert Payment.objects.count() == 1 and ProviderEvent.objects.count() == 1
    assert list(WebhookDelivery.objects.order_by("id").values_list("outcome", flat=True)) == [
        "payment_recorded", "already_processed", "already_processed"]


@pytest.mark.parametrize("case", ["missing", "bad", "wrong_secret", "malformed", "no_v1"])
def test_bad_signatures_are_refused(world, case):
    body = event(world.checkout)
    header = {
        "missing": "",
        "bad": f"t={int(time.time())},v1={'0' * 64}",
        "wrong_secret": providers.signature_header("another-secret", body),
        "malformed": "signature-please",
        "no_v1": f"t={int(time.time())}",
    }[case]
    response = post(body, header=header) if header else Client().post(
        URL, body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["outcome"] in ("missing_signature", "bad_signature",
                                          "malformed_signature")
    nothing_recorded(world)
    assert WebhookDelivery.objects.get().status_code == 400


def test_tampered_body_fails_the_signature(world):
    body = event(world.checkout)
    header = providers.signature_header(SECRET, body)
    tampered = body.replace(b'"ref-1"', b'"ref-9"')
    assert tampered != body
    response = post(tampered, header=header)
    assert response.status_code == 400 and response.json()["outcome"] == "bad_signature"
    nothing_recorded(world)


@pytest.mark.parametrize("offset", [-301, 301, -3600])
def test_stale_or_future_timestamps_are_refused(world, offset):
    response = post(event(world.checkout), timestamp=time.time() + offset)
    assert response.status_code == 400 and response.json()["outcome"] == "stale"
    nothing_recorded(world)


def test_timestamp_within_tolerance_is_accepted(world):
    assert post(event(world.checkout), timestamp=time.time() - 200).status_code == 200


@pytest.mark.parametrize("changes, status, outcome", [
    ({"amount": "199999"}, 422, "amount_mismatch"),
    ({"amount": "200000.5"}, 422, "amount_mismatch"),
    ({"currency": "USD"}, 422, "currency_mismatch"),
])
def test_amount_or_currency_mismatch_is_refused(world, changes, status, outcome):
    response = post(event(world.checkout, **changes))
    assert (response.status_code, response.json()["outcome"]) == (status, outcome)
    nothing_recorded(world)


@pytest.mark.parametrize("body", [
    b"{not json",
    b"[]",
    b'{"id": "evt_1", "type": "checkout.succeeded"}',
    b'{"id": "", "type": "checkout.succeeded", "data": {"checkout": "x"}}',
    b'{"id": "evt_1", "type": "checkout.succeeded", "data": {"checkout": 5}}',
    b'{"id": "evt_1", "type": "checkout.succeeded", "data": {"checkout": "x", '
    b'"amount": 5, "currency": "IDR"}}',
    b'{"id": "evt_1", "type": "checkout.succeeded", "data": {"checkout": "x", '
    b'"amount": "NaN", "currency": "IDR"}}',
    b"\xff\xfe",
])
def test_malformed_or_incomplete_events_are_400(world, body):
    response = post(body)
    assert response.status_code == 400, body
    assert response.json()["outcome"] in ("malformed", "invalid_event")
    nothing_recorded(world)


def test_oversize_body_is_413(world):
    padding = "x" * (64 * 1024)
    body = json.dumps({"id": "evt_big", "type": providers.SUCCEEDED,
                       "data": {"checkout": world.checkout.token, "pad": padding}}).encode()
    response = post(body)
    assert response.status_code == 413
    nothing_recorded(world)
    assert WebhookDelivery.objects.get().outcome == "too_large"


def test_unknown_or_foreign_checkouts_are_refused(world):
    unknown = json.dumps({"id": "evt_x", "type": providers.SUCCEEDED, "data": {
        "checkout": "no-such-token", "amount": "1", "currency": "IDR"}}).encode()
    response = post(unknown)
    assert response.status_code == 404 and response.json()["outcome"] == "unknown_checkout"
    # A checkout made for another provider cannot be completed through the test provider.
    PaymentCheckout.objects.filter(pk=world.checkout.pk).update(provider="other")
    response = post(event(world.checkout))
    assert response.status_code == 404
    PaymentCheckout.objects.filter(pk=world.checkout.pk).update(provider="test")
    nothing_recorded(world)
    # An unknown provider in the path.
    response = post(event(world.checkout), url="/hub/webhooks/payments/nope/")
    assert response.status_code == 404 and response.json()["outcome"] == "unknown_provider"
    nothing_recorded(world)


def test_only_post_and_no_session_needed(world):
    assert Client().get(URL).status_code == 405
    assert post(event(world.checkout)).status_code == 200  # CSRF-exempt, anonymous


def test_failed_event_marks_the_checkout_failed(world):
    response = post(event(world.checkout, kind=providers.FAILED))
    assert response.status_code == 200 and response.json()["outcome"] == "failed"
    world.checkout.refresh_from_db()
    assert world.checkout.status == CheckoutStatus.FAILED
    assert not Payment.objects.exists()
    # The provider may still report success later (the buyer retried): money is recorded.
    assert post(event(world.checkout, event_id="evt_2")).status_code == 200
    assert Payment.objects.count() == 1


def test_unknown_event_type_is_acknowledged_and_ignored(world):
    body = json.dumps({"id": "evt_r", "type": "charge.refunded",
                       "data": {"checkout": world.checkout.token}}).encode()
    response = post(body)
    assert response.status_code == 200 and response.json()["outcome"] == "already_processed"
    assert not Payment.objects.exists() and not ProviderEvent.objects.exists()


def test_invoice_paid_meanwhile_keeps_the_money_as_credit(world):
    from jalin.hub import payments

    payments.payment_record(relationship=world.relationship, amount=Decimal("200000"),
                            currency="IDR", received_on=world.inv_mid.issue_date,
                            method="bank_transfer", reference="", actor=world.owner,
                            allocations=[(world.inv_mid.pk, Decimal("200000"))])
    assert post(event(world.checkout)).status_code == 200
    online = Payment.objects.get(method="provider")
    assert online.amount_allocated == 0 and online.unallocated == Decimal("200000")


# --- The whole flow through the pages ----------------------------------------------------------


def test_buyer_pays_an_invoice_through_the_test_provider(org, owner):
    world = payments_world.build(org, owner)
    buyer = payments_world.client_for(world.buyer_user)
    page = buyer.get(reverse("hub:payments") + "?side=buyer").content.decode()
    assert "Pay now" in page and str(world.inv_mid) in page
    response = buyer.post(reverse("hub:invoice_pay", args=[world.inv_mid.pk]))
    assert response.status_code == 302
    checkout = PaymentCheckout.objects.get()
    assert response["Location"] == f"/hub/pay/test/{checkout.token}/"
    assert checkout.amount == Decimal("200000") and checkout.status == "pending"
    # The provider's page: anyone with the link, clearly labelled.
    provider_page = Client().get(response["Location"])
    assert provider_page.status_code == 200
    assert "Test payment provider" in provider_page.content.decode()
    paid = buyer.post(response["Location"], {"action": "pay"})
    assert paid.status_code == 302
    world.inv_mid.refresh_from_db()
    assert world.inv_mid.status == InvoiceStatus.PAID
    checkout.refresh_from_db()
    assert checkout.status == CheckoutStatus.SUCCEEDED
    log = WebhookDelivery.objects.get()
    assert (log.status_code, log.outcome, log.remote_addr) == (200, "payment_recorded",
                                                               "in-process")
    landing = buyer.get(paid["Location"]).content.decode()
    assert "Payment received" in landing
    # The page cannot be used twice.
    assert buyer.post(response["Location"], {"action": "pay"}).status_code == 400
    assert Payment.objects.count() == 1


def test_the_same_signed_request_over_http_then_replayed(org, owner):
    """What the test provider sends is exactly what the HTTP endpoint accepts."""
    world = payments_world.build(org, owner)
    checkout, _url = providers.checkout_start(invoice=world.inv_old, buyer=world.buyer,
                                              actor=world.buyer_user)
    provider = providers.provider_named("test")
    body = provider.event_body(checkout, providers.SUCCEEDED)
    header = providers.signature_header(provider.secret(), body)
    assert post(body, header=header).status_code == 200
    assert post(body, header=header).json()["outcome"] == "already_processed"
    assert Payment.objects.count() == 1


def test_decline_and_expired_checkouts(org, owner):
    world = payments_world.build(org, owner)
    buyer = payments_world.client_for(world.buyer_user)
    buyer.post(reverse("hub:invoice_pay", args=[world.inv_mid.pk]))
    checkout = PaymentCheckout.objects.get()
    url = f"/hub/pay/test/{checkout.token}/"
    assert buyer.post(url, {"action": "decline"}).status_code == 302
    checkout.refresh_from_db()
    assert checkout.status == CheckoutStatus.FAILED
    assert not Payment.objects.exists()
    # An expired checkout cannot be paid; the housekeeping job marks it.
    buyer.post(reverse("hub:invoice_pay", args=[world.inv_mid.pk]))
    second = PaymentCheckout.objects.latest("id")
    from django.utils import timezone

    PaymentCheckout.objects.filter(pk=second.pk).update(expires_at=timezone.now())
    assert buyer.post(f"/hub/pay/test/{second.token}/", {"action": "pay"}).status_code == 400
    assert providers.checkout_expire() == 1
    assert not Payment.objects.exists()
    assert Client().get("/hub/pay/test/not-a-token/").status_code == 404


def test_pay_now_is_refused_for_paid_and_foreign_invoices(org, owner):
    world = payments_world.build(org, owner)
    buyer = payments_world.client_for(world.buyer_user)
    assert buyer.post(reverse("hub:invoice_pay",
                              args=[world.foreign_invoice.pk])).status_code == 404
    viewer = payments_world.client_for(world.buyer_viewer)  # no finance.view
    assert viewer.post(reverse("hub:invoice_pay", args=[world.inv_mid.pk])).status_code == 403
    assert not PaymentCheckout.objects.exists()


def test_test_provider_can_be_switched_off(world, settings):
    settings.JALIN_PAYMENT_PROVIDERS = []
    assert post(event(world.checkout)).status_code == 404
    assert Client().get(f"/hub/pay/test/{world.checkout.token}/").status_code == 404
    nothing_recorded(world)


def test_deploy_check_warns_about_the_test_provider_in_production(settings, db):
    # Some system checks look at the database connection (its health check on reuse).
    settings.PRODUCTION = True
    settings.JALIN_PAYMENT_PROVIDERS = ["test"]
    settings.JALIN_PAYMENT_TEST_SECRET = SECRET
    ids = {message.id for message in run_checks(include_deployment_checks=True)}
    assert {"jalin.W101", "jalin.W102"} <= ids
    settings.JALIN_PAYMENT_PROVIDERS = []
    ids = {message.id for message in run_checks(include_deployment_checks=True)}
    assert not {"jalin.W101", "jalin.W102"} & ids


def test_delivery_log_is_purged_after_90_days(world):
    import datetime

    from django.utils import timezone

    post(b"{}")
    old = WebhookDelivery.objects.get()
    WebhookDelivery.objects.filter(pk=old.pk).update(
        received_at=timezone.now() - datetime.timedelta(days=91))
    post(b"{}")
    assert providers.webhook_deliveries_purge() == 1
    assert WebhookDelivery.objects.count() == 1


def test_operators_see_deliveries_in_the_admin(world):
    from tests.conftest import make_user

    post(b"{}")
    admin = make_user("operator", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(admin)
    page = client.get("/admin/hub/webhookdelivery/")
    assert page.status_code == 200 and b"invalid_event" in page.content
