"""The hub panel of the CRM account page: the recent orders and the open (and overdue)
invoices of the account's buyer organization (`Account.hub_organization`) with this supplier.

The hub never imports CRM: the panel registers into jalin.core.panels under the CRM's target
name and reads only `record.hub_organization_id` from the account it is given. Bounded
queries: orders (buyer, status, id index; LIMIT), open invoices (supplier, status, due_date
index; LIMIT) and the open balance of that one buyer (one aggregate over its open invoices).
"""

from django.db.models import F, Q, Sum
from django.urls import reverse

from jalin.tenancy.access import for_org

from .invoice_selectors import OPEN_STATUSES
from .invoicing import today
from .models import Invoice, InvoiceKind, Order, OrderStatus

ROWS = 5
ACCOUNT_TARGET = "crm.account"  # the CRM account page's panel target (hub never imports CRM)


def account_hub(*, organization, record, user):
    buyer_id = getattr(record, "hub_organization_id", None)
    if not buyer_id or buyer_id == organization.pk:
        return {"linked": False}
    orders = (for_org(Order, organization).filter(supplier=organization, buyer_id=buyer_id)
              .exclude(status=OrderStatus.DRAFT).order_by("-id")[:ROWS])
    on_date = today()
    open_invoices = for_org(Invoice, organization).filter(
        supplier=organization, buyer_id=buyer_id, kind=InvoiceKind.INVOICE,
        status__in=OPEN_STATUSES)
    invoices = open_invoices.order_by("due_date", "id")[:ROWS]
    balances = (open_invoices.order_by().values("currency").annotate(
        balance=Sum(F("total_gross") - F("amount_settled")),
        overdue=Sum(F("total_gross") - F("amount_settled"),
                    filter=Q(due_date__lt=on_date))).order_by("currency"))
    orders_url = reverse("hub:orders")
    invoices_url = reverse("hub:invoices")
    query = f"side=supplier&counterparty={buyer_id}"
    return {
        "linked": True,
        "buyer_id": buyer_id,
        "orders": [{"id": order.pk, "number": order.number, "label": str(order),
                    "status": order.status, "status_label": str(order.get_status_display()),
                    "total": order.total_gross, "currency": order.currency,
                    "placed_at": order.submitted_at or order.created_at,
                    "url": reverse("hub:order_detail", args=[order.pk])} for order in orders],
        "open_invoices": [{"id": invoice.pk, "label": str(invoice),
                           "status": invoice.status,
                           "status_label": str(invoice.get_status_display()),
                           "due_date": invoice.due_date, "overdue": invoice.due_date < on_date,
                           "balance": invoice.balance, "currency": invoice.currency,
                           "url": reverse("hub:invoice_detail", args=[invoice.pk])}
                          for invoice in invoices],
        "balances": [{"currency": row["currency"], "open": row["balance"],
                      "overdue": row["overdue"] or 0} for row in balances],
        "orders_url": f"{orders_url}?{query}",
        "invoices_url": f"{invoices_url}?{query}",
        "overdue_url": f"{invoices_url}?{query}&overdue=1",
    }


def register():
    from django.utils.translation import gettext_lazy as _

    from jalin.core.panels import register_panel
    from jalin.tenancy.roles import ORDERS_VIEW

    register_panel(ACCOUNT_TARGET, "hub", title=_("Orders and invoices"), order=30,
                   selector=account_hub, template="hub/panels/_account.html",
                   permission=ORDERS_VIEW)
