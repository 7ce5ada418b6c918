"""Outsider walk and API-docs routes for hub invoices, credit notes and statements."""

from . import OWN, REFUSE, Route

INVOICE = {"pk": "hub_invoice"}
API_INVOICE = {"invoice_id": "hub_invoice"}

ROUTES = {
    "hub/invoices/": Route(OWN, methods=("GET",)),
    "hub/invoices/export.csv": Route(OWN, methods=("GET",)),
    "hub/invoices/<int:pk>/": Route(REFUSE, kwargs=INVOICE, methods=("GET",)),
    "hub/invoices/<int:pk>/pdf/": Route(REFUSE, kwargs=INVOICE, methods=("GET",)),
    "hub/invoices/<int:pk>/credit-notes/": Route(REFUSE, kwargs=INVOICE, methods=("POST",)),
    "hub/orders/<int:pk>/invoice/": Route(REFUSE, kwargs={"pk": "hub_invoice_order"},
                                          methods=("POST",)),
    "hub/statements/<int:counterparty_id>/": Route(
        REFUSE, kwargs={"counterparty_id": "hub_invoice_buyer"}, methods=("GET",)),
    "hub/statements/<int:counterparty_id>/statement.csv": Route(
        REFUSE, kwargs={"counterparty_id": "hub_invoice_buyer"}, methods=("GET",)),
    "hub/statements/<int:counterparty_id>/statement.pdf": Route(
        REFUSE, kwargs={"counterparty_id": "hub_invoice_buyer"}, methods=("GET",)),
    "api/v1/hub/invoices": Route(OWN, methods=("GET",)),
    "api/v1/hub/invoices/<invoice_id>": Route(REFUSE, kwargs=API_INVOICE, methods=("GET",)),
    "api/v1/hub/invoices/<invoice_id>/pdf": Route(REFUSE, kwargs=API_INVOICE,
                                                  methods=("GET",)),
    "api/v1/hub/invoices/<invoice_id>/credit-notes": Route(
        REFUSE, kwargs=API_INVOICE, methods=("POST",), body={"all": True, "reason": "Taken"}),
    "api/v1/hub/orders/<order_id>/invoices": Route(
        REFUSE, kwargs={"order_id": "hub_invoice_order"}, methods=("POST",)),
    "api/v1/hub/statements/<counterparty_id>": Route(
        REFUSE, kwargs={"counterparty_id": "hub_invoice_buyer"}, methods=("GET",)),
}

API_ROUTES = {
    "/api/v1/hub/invoices": {"get"},
    "/api/v1/hub/invoices/{invoice_id}": {"get"},
    "/api/v1/hub/invoices/{invoice_id}/pdf": {"get"},
    "/api/v1/hub/invoices/{invoice_id}/credit-notes": {"post"},
    "/api/v1/hub/orders/{order_id}/invoices": {"post"},
    "/api/v1/hub/statements/{counterparty_id}": {"get"},
}


def victim_records(*, org, owner, records):
    """The victim supplier's order, shipped in part (so invoiced per shipment) with one unit
    still to invoice by hand, a credit note and a payment from its victim buyer."""
    from decimal import Decimal

    from jalin.hub import invoicing, orders, payments, stock
    from jalin.hub.models import InvoicingMode, SupplierSettings
    from jalin.tenancy.models import Membership

    product = records["hub_product"]
    relationship = records["hub_relationship"]
    warehouse = stock.warehouse_create(supplier=org, actor=owner, code="VICTIM-INV",
                                       name="Victim Supply Secret Billing Warehouse")
    stock.stock_adjust(warehouse=warehouse, product=product, delta=20,
                       reason="Victim Supply Secret count", actor=owner)
    membership = Membership.objects.get(user=owner, organization=org)
    order = orders.order_place(relationship=relationship, actor=owner,
                               lines=[(product.pk, 3)], entered_by_supplier=True,
                               buyer_reference="Victim Supply Secret invoice PO")
    order = orders.order_transition(order=order, action="confirm", membership=membership,
                                    actor=owner)
    line = order.lines.get()
    invoice = orders.ship(order=order, membership=membership, actor=owner,
                          quantities={line.pk: 2}).invoice
    invoicing.credit_note_issue(invoice=invoice, lines=[(invoice.lines.get().pk, 1)],
                                reason="Victim Supply Secret damage", actor=owner)
    # One more unit shipped while invoicing per order: left for a manual "Issue invoice".
    SupplierSettings.objects.update_or_create(supplier=org,
                                              defaults={"invoicing": InvoicingMode.PER_ORDER})
    order.refresh_from_db()
    orders.ship(order=order, membership=membership, actor=owner, quantities={line.pk: 1})
    # Through the payments service, so its number comes from the supplier's counter.
    payments.payment_record(relationship=relationship, amount=Decimal("1000"), currency="IDR",
                            received_on=invoicing.today(), method="bank_transfer",
                            reference="Victim Supply Secret transfer", actor=owner,
                            allocations=[])
    order.refresh_from_db()
    return {"hub_invoice": invoice, "hub_invoice_order": order,
            "hub_invoice_buyer": relationship.buyer}
