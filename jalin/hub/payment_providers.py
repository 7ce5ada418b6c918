"""Online payment of invoices through a payment provider, and the provider's webhook.

A provider does two things for us (`PaymentProvider`):

1. `start(checkout, return_url)` → the URL of its hosted payment page for a checkout (an
   invoice's balance, a one-time token, an expiry);
2. `verify(headers, body, now)` + `parse(body)` → a verified, parsed webhook event telling us
   that a checkout succeeded or failed.

`test` is the built-in provider for the demo and the tests: its hosted page is
`/hub/pay/test/<token>/` ("Test payment provider", Pay / Decline) and it signs its webhooks
exactly as documented for integrators in docs/hub.md:

    Jalin-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + raw body)>

`webhook_receive` is the one code path for every delivery (the HTTP endpoint calls it; the
test provider's page calls it in-process): size cap, signature (constant-time), timestamp
tolerance, JSON shape, replay protection (a `ProviderEvent` row per provider event id), and
the payment — all in one transaction, so a rejected delivery writes nothing but its line in
the delivery log (`WebhookDelivery`).
"""

import datetime
import hashlib
import hmac
import json
import logging
import secrets
import time
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from jalin.core.audit import audit_record
from jalin.core.events import emit_event

from . import payments, tax
from .models import (
    CheckoutStatus,
    Invoice,
    InvoiceKind,
    PaymentCheckout,
    PaymentMethod,
    ProviderEvent,
    WebhookDelivery,
)
from .services import HubError

logger = logging.getLogger("jalin.hub.payments")

SIGNATURE_HEADER = "Jalin-Signature"
DEV_TEST_SECRET = "dev-only-payment-test-secret-change-me"  # noqa: S105 - dev default
SUCCEEDED, FAILED = "checkout.succeeded", "checkout.failed"


def max_body_bytes():
    return int(getattr(settings, "JALIN_PAYMENT_WEBHOOK_MAX_BYTES", 64 * 1024))


def tolerance_seconds():
    return int(getattr(settings, "JALIN_PAYMENT_WEBHOOK_TOLERANCE_SECONDS", 300))


class WebhookRejected(Exception):
    def __init__(self, status, outcome, detail):
        super().__init__(detail)
        self.status, self.outcome, self.detail = status, outcome, detail


@dataclass(frozen=True)
class ProviderEventData:
    event_id: str
    kind: str
    checkout_token: str
    amount: Decimal | None
    currency: str
    reference: str


@dataclass
class WebhookResult:
    status: int
    outcome: str
    detail: str
    event_id: str = ""
    checkout: PaymentCheckout | None = None


# --- Signing (the scheme every HMAC provider here uses) -------------------------------------


def sign(secret, body, timestamp):
    message = f"{int(timestamp)}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secret, body, timestamp=None):
    timestamp = int(time.time() if timestamp is None else timestamp)
    return f"t={timestamp},v1={sign(secret, body, timestamp)}"


def verify_signature(*, secret, header, body, now=None):
    """Raise WebhookRejected unless `header` is a valid, fresh signature of `body`."""
    if not header:
        raise WebhookRejected(400, "missing_signature",
                              f"The {SIGNATURE_HEADER} header is missing.")
    timestamp, candidates = None, []
    for part in header.split(","):
        key, _sep, value = part.strip().partition("=")
        if key == "t" and value.isdigit() and len(value) <= 12:
            timestamp = int(value)
        elif key == "v1" and value:
            candidates.append(value.strip())
    if timestamp is None or not candidates:
        raise WebhookRejected(400, "malformed_signature",
                              f"The {SIGNATURE_HEADER} header needs t=<unix time>,v1=<hex>.")
    expected = sign(secret, body, timestamp)
    # Every candidate is compared, in constant time, so timing tells nothing.
    matched = False
    for candidate in candidates:
        matched |= hmac.compare_digest(expected.encode(), candidate.encode())
    if not matched:
        raise WebhookRejected(400, "bad_signature", "The signature does not match.")
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance_seconds():
        raise WebhookRejected(400, "stale", "The signature timestamp is too old or in the "
                                            "future.")


# --- Providers ---------------------------------------------------------------------------------


class PaymentProvider:
    name = ""
    label = ""

    def secret(self):
        raise NotImplementedError

    def start(self, checkout, *, return_url):
        """The URL the buyer is sent to, to pay `checkout`."""
        raise NotImplementedError

    def verify(self, *, headers, body, now=None):
        verify_signature(secret=self.secret(), header=headers.get(SIGNATURE_HEADER, ""),
                         body=body, now=now)

    def parse(self, body):
        """The event in a verified body; WebhookRejected for a malformed one."""
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise WebhookRejected(400, "malformed", "The body is not JSON.") from exc
        if not isinstance(data, dict) or not isinstance(data.get("data"), dict):
            raise WebhookRejected(400, "invalid_event", "The event needs id, type and data.")
        inner = data["data"]
        fields = {"id": data.get("id"), "type": data.get("type"),
                  "data.checkout": inner.get("checkout")}
        for name, value in fields.items():
            if not isinstance(value, str) or not value or len(value) > 120:
                raise WebhookRejected(400, "invalid_event", f"Missing or invalid {name}.")
        amount, currency = inner.get("amount"), inner.get("currency")
        if data["type"] == SUCCEEDED:
            if not isinstance(amount, str) or not isinstance(currency, str):
                raise WebhookRejected(400, "invalid_event",
                                      "A succeeded event needs data.amount (a decimal string) "
                                      "and data.currency.")
            try:
                amount = Decimal(amount)
            except InvalidOperation as exc:
                raise WebhookRejected(400, "invalid_event", "data.amount is not a number.") \
                    from exc
            if not amount.is_finite() or amount <= 0:
                raise WebhookRejected(400, "invalid_event", "data.amount must be positive.")
        else:
            amount = None
        reference = inner.get("reference") or ""
        if not isinstance(reference, str) or len(reference) > 100:
            raise WebhookRejected(400, "invalid_event", "data.reference is too long.")
        return ProviderEventData(event_id=data["id"], kind=data["type"],
                                 checkout_token=inner["checkout"], amount=amount,
                                 currency=currency if isinstance(currency, str) else "",
                                 reference=reference)


class TestProvider(PaymentProvider):
    """The built-in provider: a hosted page in Jalin itself; nothing leaves the machine."""

    name = "test"
    label = gettext_lazy("Test payment provider")

    def secret(self):
        return getattr(settings, "JALIN_PAYMENT_TEST_SECRET", "") or DEV_TEST_SECRET

    def start(self, checkout, *, return_url):
        return reverse("hub:test_provider_page", args=[checkout.token])

    def event_body(self, checkout, kind):
        """The JSON a test-provider webhook carries (what a real provider would send)."""
        data = {"checkout": checkout.token}
        if kind == SUCCEEDED:
            data.update(amount=str(checkout.amount), currency=checkout.currency,
                        reference=f"tp_{secrets.token_hex(8)}")
        event = {"id": f"evt_{secrets.token_hex(12)}", "type": kind,
                 "created": int(time.time()), "data": data}
        return json.dumps(event, separators=(",", ":")).encode()

    def deliver(self, checkout, kind):
        """Send a signed webhook for the checkout through the same code path as the HTTP
        endpoint (in-process: the demo needs no network)."""
        body = self.event_body(checkout, kind)
        headers = {SIGNATURE_HEADER: signature_header(self.secret(), body)}
        return webhook_receive(provider_name=self.name, body=body, headers=headers,
                               remote_addr="in-process")


PROVIDERS = {TestProvider.name: TestProvider()}


def enabled_providers():
    names = getattr(settings, "JALIN_PAYMENT_PROVIDERS", None)
    if names is None:
        names = ["test"]
    return {name: PROVIDERS[name] for name in names if name in PROVIDERS}


def provider_named(name):
    return enabled_providers().get(name)


def default_provider():
    providers = enabled_providers()
    return next(iter(providers.values()), None)


# --- Checkouts ---------------------------------------------------------------------------------


def checkout_minutes():
    return int(getattr(settings, "JALIN_PAYMENT_CHECKOUT_MINUTES", 60))


def checkout_start(*, invoice, buyer, actor, provider=None, return_url=""):
    """Start paying the invoice's balance online. Returns (checkout, redirect URL)."""
    provider = provider or default_provider()
    if provider is None:
        raise HubError(_("Online payment is not available."), code="no_provider")
    if invoice.buyer_id != buyer.pk or invoice.kind != InvoiceKind.INVOICE:
        raise HubError(_("No such invoice."), code="not_found", field="invoice_id")
    with transaction.atomic():
        locked = Invoice.objects.select_for_update(of=("self",)).get(pk=invoice.pk)
        if locked.balance <= 0:
            raise HubError(_("This invoice is already paid."), code="already_paid")
        now = timezone.now()
        checkout = PaymentCheckout.objects.create(
            supplier_id=locked.supplier_id, buyer_id=locked.buyer_id, invoice=locked,
            provider=provider.name, token=secrets.token_urlsafe(32), amount=locked.balance,
            currency=locked.currency, created_by=payments._user(actor), created_at=now,
            expires_at=now + datetime.timedelta(minutes=checkout_minutes()))
        audit_record(actor=actor, organization=locked.supplier, action="hub.checkout.started",
                     obj=checkout, after={"invoice_id": locked.pk, "provider": provider.name,
                                          "amount": str(checkout.amount)})
        emit_event(type="hub.checkout.started", organization=locked.supplier,
                   aggregate=checkout, actor=actor,
                   payload={"checkout_id": checkout.pk, "invoice_id": locked.pk,
                            "number": locked.number, "supplier_id": locked.supplier_id,
                            "buyer_id": locked.buyer_id, "amount": str(checkout.amount),
                            "currency": checkout.currency, "provider": provider.name})
    return checkout, provider.start(checkout, return_url=return_url)


def checkout_expire(*, now=None):
    """Housekeeping: pending checkouts past their expiry become expired."""
    now = now or timezone.now()
    return PaymentCheckout.objects.filter(status=CheckoutStatus.PENDING,
                                          expires_at__lt=now).update(status=CheckoutStatus.EXPIRED)


WEBHOOK_LOG_DAYS = 90


def webhook_deliveries_purge(*, now=None):
    """Housekeeping: the delivery log keeps 90 days."""
    cutoff = (now or timezone.now()) - datetime.timedelta(days=WEBHOOK_LOG_DAYS)
    return WebhookDelivery.objects.filter(received_at__lt=cutoff).delete()[0]


# --- The webhook ---------------------------------------------------------------------------------


class _AlreadyProcessed(Exception):
    pass


def _process(provider, event, *, now):
    """Apply a verified event in the caller's transaction. Raises WebhookRejected (4xx,
    nothing kept) or _AlreadyProcessed (200, nothing kept)."""
    checkout = (PaymentCheckout.objects.select_for_update(of=("self",))
                .select_related("invoice__relationship__supplier", "supplier")
                .filter(provider=provider.name, token=event.checkout_token).first())
    if checkout is None:
        raise WebhookRejected(404, "unknown_checkout", "No such checkout.")
    try:
        with transaction.atomic():
            ProviderEvent.objects.create(provider=provider.name, event_id=event.event_id,
                                         kind=event.kind, checkout=checkout, processed_at=now)
    except IntegrityError as exc:
        raise _AlreadyProcessed() from exc
    if event.kind == FAILED:
        if checkout.status != CheckoutStatus.PENDING:
            raise _AlreadyProcessed()
        checkout.status, checkout.completed_at = CheckoutStatus.FAILED, now
        checkout.save(update_fields=["status", "completed_at"])
        emit_event(type="hub.checkout.failed", organization=checkout.supplier,
                   aggregate=checkout,
                   payload={"checkout_id": checkout.pk, "invoice_id": checkout.invoice_id,
                            "supplier_id": checkout.supplier_id,
                            "buyer_id": checkout.buyer_id})
        return checkout, "failed"
    if event.kind != SUCCEEDED:
        raise _AlreadyProcessed()  # an event type we do not act on (answered 200, ignored)
    if checkout.status == CheckoutStatus.SUCCEEDED:
        raise _AlreadyProcessed()
    if (event.currency or "").upper() != checkout.currency:
        raise WebhookRejected(422, "currency_mismatch",
                              "The currency differs from the checkout's.")
    if tax.round_money(event.amount, checkout.currency) != event.amount \
            or event.amount != checkout.amount:
        raise WebhookRejected(422, "amount_mismatch", "The amount differs from the checkout's.")
    invoice = checkout.invoice
    # Money was taken by the provider: record all of it. What the invoice no longer needs
    # (someone paid it meanwhile) stays on the buyer's account as a credit.
    balance = Invoice.objects.filter(pk=invoice.pk).values_list(
        "total_gross", "amount_settled").first()
    share = min(event.amount, balance[0] - balance[1])
    reference = event.reference or checkout.token
    try:
        with transaction.atomic():
            payment = payments._record(
                relationship=invoice.relationship, amount=event.amount,
                currency=checkout.currency, received_on=timezone.localdate(now),
                method=PaymentMethod.PROVIDER, actor=None,
                reference=f"{provider.name} {reference}"[:120],
                allocations=[(invoice.pk, share)] if share > 0 else [],
                provider=provider.name, provider_reference=reference[:120])
    except IntegrityError as exc:  # the same provider payment recorded by another event
        raise _AlreadyProcessed() from exc
    checkout.status, checkout.completed_at, checkout.payment = (
        CheckoutStatus.SUCCEEDED, now, payment)
    checkout.save(update_fields=["status", "completed_at", "payment"])
    return checkout, "payment_recorded"


def _log(provider_name, result, *, body_bytes, remote_addr, now):
    try:
        WebhookDelivery.objects.create(
            provider=provider_name[:40], received_at=now, event_id=result.event_id[:120],
            status_code=result.status, outcome=result.outcome, detail=result.detail[:300],
            body_bytes=body_bytes, remote_addr=(remote_addr or "")[:64],
            supplier_id=result.checkout.supplier_id if result.checkout else None)
    except Exception:  # noqa: BLE001 - the log must never change the answer
        logger.exception("Could not log a webhook delivery")
    log = logger.info if result.status < 400 else logger.warning
    log("Payment webhook %s event=%s -> %s %s", provider_name, result.event_id or "-",
        result.status, result.outcome)


def webhook_receive(*, provider_name, body, headers, remote_addr="", now=None):
    """Handle one webhook delivery; always returns a WebhookResult (never raises for input)."""
    received = timezone.now()
    now_unix = time.time() if now is None else now
    result = WebhookResult(status=500, outcome="error", detail="")
    provider = provider_named(provider_name)
    try:
        if provider is None:
            raise WebhookRejected(404, "unknown_provider", "No such payment provider.")
        if len(body) > max_body_bytes():
            raise WebhookRejected(413, "too_large", "The body is too large.")
        provider.verify(headers=headers, body=body, now=now_unix)
        event = provider.parse(body)
        result.event_id = event.event_id
        try:
            with transaction.atomic():
                checkout, outcome = _process(provider, event, now=received)
            result.checkout = checkout
            result.status, result.outcome = 200, outcome
            result.detail = "Processed."
        except _AlreadyProcessed:
            result.status, result.outcome, result.detail = (
                200, "already_processed", "Already processed.")
    except WebhookRejected as rejected:
        result.status, result.outcome, result.detail = (
            rejected.status, rejected.outcome, rejected.detail)
    except HubError as error:  # e.g. the relationship or invoice cannot take the payment
        result.status, result.outcome, result.detail = 422, error.code or "refused", \
            str(error.message)
    _log(provider_name, result, body_bytes=len(body), remote_addr=remote_addr, now=received)
    return result
