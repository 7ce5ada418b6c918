"""Outsider walk and API-docs routes for hub payments, online checkout and the webhook."""

from . import OWN, PUBLIC, REFUSE, Route

PAYMENT = {"pk": "hub_payment"}

ROUTES = {
    "hub/payments/": Route(OWN, methods=("GET",)),
    "hub/payments/export.csv": Route(OWN, methods=("GET",)),
    "hub/payments/new/": Route(OWN),
    "hub/payments/open-invoices/": Route(OWN, methods=("GET",)),
    "hub/payments/<int:pk>/": Route(REFUSE, kwargs=PAYMENT, methods=("GET",)),
    "hub/payments/<int:pk>/allocate/": Route(REFUSE, kwargs=PAYMENT, methods=("POST",)),
    "hub/payments/<int:pk>/reverse/": Route(REFUSE, kwargs=PAYMENT, methods=("POST",)),
    "hub/invoices/<int:pk>/pay/": Route(REFUSE, kwargs={"pk": "hub_unpaid_invoice"},
                                        methods=("POST",)),
    # The test provider's hosted page: the unguessable token is the key (a bogus one: 404).
    "hub/pay/test/<str:token>/": Route(PUBLIC, kwargs={"token": "bogus"}),
    # Providers post here without a session; an unsigned body is refused and writes nothing.
    "hub/webhooks/payments/<str:provider>/": Route(PUBLIC, kwargs={"provider": "test"},
                                                   methods=("POST",)),
    "api/v1/hub/payments": Route(OWN, methods=("GET", "POST"), body={}),
    "api/v1/hub/payments/<payment_id>": Route(REFUSE, kwargs={"payment_id": "hub_payment"},
                                              methods=("GET",)),
    "api/v1/hub/payments/<payment_id>/allocations": Route(
        REFUSE, kwargs={"payment_id": "hub_payment"}, methods=("POST",),
        body={"invoice_id": 1, "amount": "1"}),
    "api/v1/hub/invoices/<invoice_id>/checkout": Route(
        REFUSE, kwargs={"invoice_id": "hub_unpaid_invoice"}, methods=("POST",)),
}

API_ROUTES = {
    "/api/v1/hub/payments": {"get", "post"},
    "/api/v1/hub/payments/{payment_id}": {"get"},
    "/api/v1/hub/payments/{payment_id}/allocations": {"post"},
    "/api/v1/hub/invoices/{invoice_id}/checkout": {"post"},
}


def victim_records(*, org, owner, records):
    """An invoice of the victim's buyer, a partly allocated payment and a pending checkout."""
    from decimal import Decimal

    from django.utils import timezone

    from jalin.hub import payment_providers, payments
    from jalin.hub.testing import make_invoice

    relationship = records["hub_relationship"]
    invoice = make_invoice(relationship, "777000")
    second = make_invoice(relationship, "888000")
    payment = payments.payment_record(
        relationship=relationship, amount=Decimal("500000"), currency=invoice.currency,
        received_on=timezone.localdate(), method="bank_transfer",
        reference="Victim Supply Secret transfer", actor=owner,
        allocations=[(invoice.pk, Decimal("400000"))])
    payment_providers.checkout_start(invoice=second, buyer=relationship.buyer, actor=owner)
    return {"hub_payment": payment, "hub_unpaid_invoice": second, "hub_paid_invoice": invoice}
