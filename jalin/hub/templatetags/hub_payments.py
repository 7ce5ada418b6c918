"""`{% invoice_payment_panel invoice %}`: the "Pay now" button (buyer), "Record a payment"
(supplier finance) and the invoice's online payment attempts, for the invoice page (included
there as hub/_invoice_payment_actions.html, below its list of payments and credits)."""

from django import template

from jalin.tenancy.roles import FINANCE_EDIT, FINANCE_VIEW, has_perm

from .. import payment_providers, payment_selectors
from ..models import InvoiceKind

register = template.Library()

RECENT_CHECKOUTS = 5


@register.inclusion_tag("hub/_invoice_payment_panel.html", takes_context=True)
def invoice_payment_panel(context, invoice):
    request = context.get("request")
    membership = getattr(request, "membership", None)
    organization = getattr(request, "organization", None)
    is_invoice = invoice.kind == InvoiceKind.INVOICE
    is_buyer = organization is not None and invoice.buyer_id == organization.pk
    is_supplier = organization is not None and invoice.supplier_id == organization.pk
    can_view = has_perm(membership, FINANCE_VIEW)
    can_pay = (is_buyer and is_invoice and invoice.balance > 0 and can_view
               and payment_providers.default_provider() is not None)
    checkouts = []
    if is_invoice and can_view:
        checkouts = list(payment_selectors.invoice_checkouts(invoice=invoice)
                         [:RECENT_CHECKOUTS])
    return {
        "invoice": invoice, "is_invoice": is_invoice, "can_pay": can_pay,
        "checkouts": checkouts,
        "can_record": is_supplier and has_perm(membership, FINANCE_EDIT),
        "csrf_token": context.get("csrf_token"),
    }
