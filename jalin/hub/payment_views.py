"""Hub pages for payments.

Supplier (finance.view; writes finance.edit): payments received (filters, keyset, CSV),
"Record payment" with allocation to the customer's open invoices (loaded with htmx), payment
detail with its allocations, allocate the remainder later, reverse a mistaken payment.
Buyer (finance.view): payments made per supplier, invoices to pay with "Pay now".
Anyone with the link: the built-in test provider's payment page. Providers: the webhook.

Views stay thin: reads through `payment_selectors`, writes through `payments` /
`payment_providers`.
"""

import csv
import datetime
import uuid

from django.contrib import messages
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jalin.core.csv_cells import Echo, safe_cell
from jalin.core.pagination import keyset_paginate
from jalin.core.params import int_param
from jalin.tenancy.decorators import org_required
from jalin.tenancy.roles import FINANCE_EDIT, FINANCE_VIEW, has_perm

from . import payment_providers as providers
from . import payment_selectors, payments, selectors
from .models import CheckoutStatus, PaymentMethod
from .services import HubError

PER_PAGE = 50


def _date(value):
    try:
        return datetime.date.fromisoformat((value or "").strip())
    except ValueError:
        return None


def _side(request):
    organization = request.organization
    side = request.GET.get("side")
    if side in ("buyer", "supplier"):
        return side
    return "buyer" if organization.is_buyer and not organization.is_supplier else "supplier"


def _filters(request, side):
    method = request.GET.get("method") or None
    if method not in PaymentMethod.values:
        method = None
    return {
        "side": side,
        "buyer_id": int_param(request.GET.get("customer")) if side == "supplier" else None,
        "supplier_id": int_param(request.GET.get("supplier")) if side == "buyer" else None,
        "method": method,
        "date_from": _date(request.GET.get("from")),
        "date_to": _date(request.GET.get("to")),
    }


def invoice_url(invoice):
    """The invoice's page when invoicing provides one, else the buyer's payments page."""
    try:
        return reverse("hub:invoice_detail", args=[invoice.pk])
    except NoReverseMatch:
        return reverse("hub:payments") + "?side=buyer"


# --- Lists ---------------------------------------------------------------------------------


@org_required(FINANCE_VIEW)
@require_GET
def payment_list(request):
    organization = request.organization
    side = _side(request)
    filters = _filters(request, side)
    queryset = payment_selectors.payments_for(organization=organization, **filters)
    context = {
        "page": keyset_paginate(queryset, request.GET, per_page=PER_PAGE),
        "side": side, "filters": filters, "methods": PaymentMethod.choices,
        "query": request.GET.urlencode(),
        "is_filtered": any(value for key, value in filters.items() if key != "side"),
        "can_edit": side == "supplier" and has_perm(request.membership, FINANCE_EDIT),
    }
    if side == "supplier":
        context["customers"] = (selectors.relationships_for_supplier(supplier=organization)
                                .order_by("buyer__name"))
    else:
        context["suppliers"] = selectors.suppliers_for_buyer(buyer=organization)
        context["to_pay"] = list(payment_selectors.invoices_to_pay(
            buyer=organization, supplier_id=filters["supplier_id"])[:PER_PAGE])
        context["can_pay"] = providers.default_provider() is not None
    return render(request, "hub/payments.html", context)


@org_required(FINANCE_VIEW)
@require_GET
def payment_export(request):
    side = _side(request)
    queryset = payment_selectors.payments_for(organization=request.organization,
                                              **_filters(request, side)).order_by("-id")
    writer = csv.writer(Echo())
    header = ["number", "received_on", "supplier", "buyer", "method", "amount", "currency",
              "allocated", "unallocated", "reference", "reversed"]

    def lines():
        yield "\ufeff"
        yield writer.writerow(header)
        for payment in queryset.iterator(chunk_size=2000):
            reversed_ = hasattr(payment, "reversal")
            yield writer.writerow([safe_cell(value) for value in (
                payment.number, payment.received_on.isoformat(), payment.supplier.name,
                payment.buyer.name, payment.method, payment.amount, payment.currency,
                payment.amount_allocated, payment.unallocated, payment.reference,
                "yes" if reversed_ else "")])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="payments.csv"'
    return response


# --- Recording (supplier) --------------------------------------------------------------------


def _customers(supplier):
    return list(selectors.relationships_for_supplier(supplier=supplier).order_by("buyer__name"))


def _allocation_rows(relationship, currency, values):
    invoices = list(payments.open_invoices(relationship=relationship, currency=currency)
                    [:payments.MAX_ALLOCATIONS]) if relationship else []
    return [(invoice, values.get(f"alloc_{invoice.pk}", "")) for invoice in invoices]


@org_required(FINANCE_EDIT)
@require_GET
def open_invoices_partial(request):
    """htmx: the chosen customer's open invoices, with an amount field each."""
    supplier = request.organization
    buyer_id = int_param(request.GET.get("customer"))
    relationship = next((r for r in _customers(supplier) if r.buyer_id == buyer_id), None)
    currency = (request.GET.get("currency") or "").strip().upper()[:3] or (
        relationship.currency if relationship else "")
    return render(request, "hub/_payment_open_invoices.html", {
        "relationship": relationship,
        "rows": _allocation_rows(relationship, currency, request.GET),
        "currency": currency,
    })


@org_required(FINANCE_EDIT)
@require_http_methods(["GET", "POST"])
def payment_record(request):
    supplier = request.organization
    customers = _customers(supplier)
    data = request.POST if request.method == "POST" else request.GET
    buyer_id = int_param(data.get("customer"))
    relationship = next((r for r in customers if r.buyer_id == buyer_id), None)
    currency = (data.get("currency") or "").strip().upper()[:3] or (
        relationship.currency if relationship else supplier.currency or "IDR")
    error, field, status = None, None, 200
    if request.method == "POST":
        token = (request.POST.get("token") or "").strip()[:64]
        try:
            if relationship is None:
                raise HubError(_("Choose a customer."), code="not_found", field="customer")
            allocations = None
            if request.POST.get("allocation") == "manual":
                allocations = []
                for key, value in request.POST.items():
                    if key.startswith("alloc_") and value.strip():
                        invoice_id = int_param(key[len("alloc_"):])
                        if invoice_id is None:
                            continue
                        allocations.append((invoice_id, value))
            payment = payments.payment_record(
                relationship=relationship, amount=request.POST.get("amount"),
                currency=currency,
                received_on=_date(request.POST.get("received_on")),
                method=request.POST.get("method", ""),
                reference=request.POST.get("reference", ""), actor=request.user,
                allocations=allocations,
                idempotency_key=f"form:{request.membership.pk}:{token}" if token else None)
        except HubError as exc:
            error, field, status = exc.message, exc.field, 400
        else:
            messages.success(request, _("Payment %(number)s recorded.") % {
                "number": payment.number})
            return redirect("hub:payment_detail", pk=payment.pk)
    return render(request, "hub/payment_form.html", {
        "customers": customers, "relationship": relationship, "buyer_id": buyer_id,
        "currency": currency, "values": data, "error": error, "field": field,
        "methods": [(value, label) for value, label in PaymentMethod.choices
                    if value in payments.MANUAL_METHODS],
        "rows": _allocation_rows(relationship, currency, data),
        "today": timezone.localdate().isoformat(), "token": uuid.uuid4().hex,
        "manual": data.get("allocation") == "manual",
    }, status=status)


# --- Detail ----------------------------------------------------------------------------------


def _detail_page(request, pk, *, error=None, status=200):
    payment = payment_selectors.payment_detail(organization=request.organization, pk=pk)
    side = "supplier" if payment.supplier_id == request.organization.pk else "buyer"
    reversal = payment.reversal if hasattr(payment, "reversal") else None
    can_edit = side == "supplier" and has_perm(request.membership, FINANCE_EDIT) \
        and reversal is None
    open_rows = []
    if can_edit and payment.unallocated > 0:
        open_rows = list(payments.open_invoices(relationship=payment.relationship,
                                                currency=payment.currency)[:PER_PAGE])
    return render(request, "hub/payment_detail.html", {
        "payment": payment, "side": side, "reversal": reversal, "can_edit": can_edit,
        "can_reverse": can_edit and payment.method in payments.MANUAL_METHODS,
        "open_invoices": open_rows, "error": error,
    }, status=status)


@org_required(FINANCE_VIEW)
@require_GET
def payment_detail(request, pk):
    return _detail_page(request, pk)


def _supplier_payment(request, pk):
    payment = payment_selectors.payment_detail(organization=request.organization, pk=pk)
    if payment.supplier_id != request.organization.pk:
        raise Http404
    return payment


@org_required(FINANCE_EDIT)
@require_POST
def payment_allocate(request, pk):
    payment = _supplier_payment(request, pk)
    invoice_id = int_param(request.POST.get("invoice"))
    try:
        if invoice_id is None:
            raise HubError(_("Choose an invoice."), code="not_found", field="invoice_id")
        payments.payment_allocate(payment=payment, invoice=invoice_id,
                                  amount=request.POST.get("amount"), actor=request.user)
    except HubError as exc:
        return _detail_page(request, pk, error=exc.message, status=400)
    messages.success(request, _("Payment allocated."))
    return redirect("hub:payment_detail", pk=pk)


@org_required(FINANCE_EDIT)
@require_POST
def payment_reverse(request, pk):
    payment = _supplier_payment(request, pk)
    try:
        payments.payment_reverse(payment=payment, actor=request.user,
                                 reason=request.POST.get("reason", ""))
    except HubError as exc:
        return _detail_page(request, pk, error=exc.message, status=400)
    messages.success(request, _("Payment reversed; its invoices are open again."))
    return redirect("hub:payment_detail", pk=pk)


# --- Paying online (buyer) -------------------------------------------------------------------


@org_required(FINANCE_VIEW)
@require_POST
def invoice_pay(request, pk):
    """"Pay now": start a checkout for the invoice's balance and go to the provider."""
    invoice = payment_selectors.invoice_for_buyer_or_404(buyer=request.organization, pk=pk)
    try:
        _checkout, url = providers.checkout_start(invoice=invoice, buyer=request.organization,
                                                  actor=request.user,
                                                  return_url=invoice_url(invoice))
    except HubError as exc:
        messages.error(request, exc.message)
        return redirect(invoice_url(invoice))
    return redirect(url)


def _test_checkout(token):
    provider = providers.provider_named("test")
    if provider is None:
        raise Http404
    checkout = payment_selectors.checkout_by_token(provider="test", token=str(token)[:64])
    if checkout is None:
        raise Http404
    return provider, checkout


@require_http_methods(["GET", "POST"])
def test_provider_page(request, token):
    """The built-in test provider's hosted page. Like a real provider's page it needs no
    Jalin sign-in: the unguessable token is the key. Pay / Decline send a signed webhook."""
    provider, checkout = _test_checkout(token)
    expired = checkout.expires_at < timezone.now()
    error = None
    if request.method == "POST":
        action = request.POST.get("action")
        if checkout.status != CheckoutStatus.PENDING or expired:
            error = _("This payment can no longer be made.")
        elif action not in ("pay", "decline"):
            error = _("Choose Pay or Decline.")
        else:
            result = provider.deliver(checkout, providers.SUCCEEDED if action == "pay"
                                      else providers.FAILED)
            if result.status == 200 and action == "pay":
                messages.success(request, _("Payment received. Thank you."))
            elif result.status == 200:
                messages.warning(request, _("The payment was declined."))
            else:
                messages.error(request, _("The payment could not be recorded (%(detail)s).")
                               % {"detail": result.detail})
            return redirect(invoice_url(checkout.invoice))
    return render(request, "hub/test_provider.html", {
        "checkout": checkout, "expired": expired, "error": error,
        "payable": checkout.status == CheckoutStatus.PENDING and not expired,
    }, status=400 if error else 200)


# --- Provider webhooks -----------------------------------------------------------------------


@csrf_exempt
@require_POST
def webhook(request, provider):
    """POST /hub/webhooks/payments/<provider>/ — see docs/hub.md for the signature scheme."""
    limit = providers.max_body_bytes()
    declared = int_param(request.META.get("CONTENT_LENGTH"), default=0) or 0
    if declared > limit:
        result = providers.WebhookResult(413, "too_large", "The body is too large.")
        providers._log(provider, result, body_bytes=declared,
                       remote_addr=request.META.get("REMOTE_ADDR", ""), now=timezone.now())
        return _webhook_response(result)
    body = request.read(limit + 1)
    result = providers.webhook_receive(provider_name=provider, body=body,
                                       headers=request.headers,
                                       remote_addr=request.META.get("REMOTE_ADDR", ""))
    return _webhook_response(result)


def _webhook_response(result):
    import json

    return HttpResponse(json.dumps({"outcome": result.outcome, "detail": result.detail}),
                        status=result.status, content_type="application/json")
