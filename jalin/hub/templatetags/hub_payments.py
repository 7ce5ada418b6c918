"""`{% invoice_payment_panel invoice %}`: the "Pay now" button and the payment history of an
invoice, for the invoice page (included as hub/_invoice_payment_actions.html)."""

from django import template

from jalin.tenancy.roles import FINANCE_VIEW, has_perm

from .. import payment_providers, payment_selectors
from ..models import InvoiceKind

register = template.Library()


@register.inclusion_tag("hub/_invoice_payment_panel.html", takes_context=True)
def invoice_payment_panel(context, invoice):
    request = context.get("request")
    membership = getattr(request, "membership", None)
    organization = getattr(request, "organization", None)
    is_buyer = organization is not None and invoice.buyer_id == organization.pk
    can_pay = (is_buyer and invoice.kind == InvoiceKind.INVOICE and invoice.balance > 0
               and has_perm(membership, FINANCE_VIEW)
               and payment_providers.default_provider() is not None)
    return {
        "invoice": invoice, "can_pay": can_pay, "request": request,
        "csrf_token": context.get("csrf_token"),
        "allocations": list(payment_selectors.invoice_payments(invoice=invoice)),
        "is_supplier": organization is not None and invoice.supplier_id == organization.pk,
    }
