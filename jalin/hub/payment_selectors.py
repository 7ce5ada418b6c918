"""Reads of payments and of the invoices a payment can settle. Everything starts from the
acting organization: a supplier sees the payments it received, a buyer the ones it made."""

from django.db.models import Prefetch

from jalin.tenancy.access import for_org, get_for_org_or_404

from .models import Invoice, InvoiceKind, Payment, PaymentAllocation, PaymentCheckout
from .order_selectors import on_side
from .payments import OPEN_INVOICE_STATUSES


def payments_for(*, organization, side=None, buyer_id=None, supplier_id=None, method=None,
                 date_from=None, date_to=None):
    queryset = (for_org(Payment, organization)
                .select_related("supplier", "buyer", "reversal"))
    queryset = on_side(queryset, organization=organization, side=side)
    if buyer_id:
        queryset = queryset.filter(buyer_id=buyer_id)
    if supplier_id:
        queryset = queryset.filter(supplier_id=supplier_id)
    if method:
        queryset = queryset.filter(method=method)
    if date_from:
        queryset = queryset.filter(received_on__gte=date_from)
    if date_to:
        queryset = queryset.filter(received_on__lte=date_to)
    return queryset


def payment_detail(*, organization, pk):
    queryset = payments_for(organization=organization).prefetch_related(
        Prefetch("allocations",
                 queryset=PaymentAllocation.objects.select_related("invoice").order_by("id")))
    return get_for_org_or_404(queryset, organization, pk=pk)


def invoices_to_pay(*, buyer, supplier_id=None):
    """The buyer's invoices with a balance, oldest due first."""
    queryset = (Invoice.objects.filter(buyer=buyer, kind=InvoiceKind.INVOICE,
                                       status__in=OPEN_INVOICE_STATUSES)
                .select_related("supplier").order_by("due_date", "id"))
    if supplier_id:
        queryset = queryset.filter(supplier_id=supplier_id)
    return queryset


def invoice_for_buyer_or_404(*, buyer, pk):
    return get_for_org_or_404(Invoice.objects.filter(buyer=buyer, kind=InvoiceKind.INVOICE)
                              .select_related("supplier"), buyer, pk=pk)


def invoice_for_party_or_404(*, organization, pk):
    return get_for_org_or_404(Invoice.objects.select_related("supplier", "buyer"),
                              organization, pk=pk)


def invoice_payments(*, invoice):
    """What settled an invoice: its allocations (payments and credit notes), oldest first."""
    return (PaymentAllocation.objects.filter(invoice=invoice)
            .select_related("payment", "credit_note").order_by("id"))


def invoice_checkouts(*, invoice):
    return PaymentCheckout.objects.filter(invoice=invoice).order_by("-id")


def checkout_by_token(*, provider, token):
    return (PaymentCheckout.objects.filter(provider=provider, token=token)
            .select_related("invoice", "supplier", "buyer").first())
