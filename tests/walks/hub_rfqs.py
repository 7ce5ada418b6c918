"""Outsider walk and API-docs routes for requests for quotation and quotes."""

from . import OWN, REFUSE, Route

ROUTES = {
    "hub/shop/<int:supplier_id>/rfq/": Route(REFUSE, kwargs={"supplier_id": "org"}),
    "hub/rfqs/": Route(OWN, methods=("GET",)),
    "hub/rfqs/export.csv": Route(OWN, methods=("GET",)),
    "hub/rfqs/<int:pk>/": Route(REFUSE, kwargs={"pk": "hub_rfq"}, methods=("GET",)),
    "hub/rfqs/<int:pk>/submit/": Route(REFUSE, kwargs={"pk": "hub_rfq"}, methods=("POST",)),
    "hub/rfqs/<int:pk>/cancel/": Route(REFUSE, kwargs={"pk": "hub_rfq"}, methods=("POST",)),
    "hub/rfqs/<int:pk>/decline/": Route(REFUSE, kwargs={"pk": "hub_rfq"}, methods=("POST",)),
    "hub/rfqs/<int:pk>/quote/": Route(REFUSE, kwargs={"pk": "hub_rfq"}),
    "hub/quotes/<int:pk>/send/": Route(REFUSE, kwargs={"pk": "hub_quote"}, methods=("POST",)),
    "hub/quotes/<int:pk>/accept/": Route(REFUSE, kwargs={"pk": "hub_quote"},
                                         methods=("POST",)),
    "hub/quotes/<int:pk>/decline/": Route(REFUSE, kwargs={"pk": "hub_quote"},
                                          methods=("POST",)),
    "api/v1/hub/rfqs": Route(OWN, methods=("GET", "POST"), body={}),
    "api/v1/hub/rfqs/<rfq_id>": Route(REFUSE, kwargs={"rfq_id": "hub_rfq"}, methods=("GET",)),
    "api/v1/hub/rfqs/<rfq_id>/submit": Route(REFUSE, kwargs={"rfq_id": "hub_rfq"},
                                             methods=("POST",), body={}),
    "api/v1/hub/rfqs/<rfq_id>/cancel": Route(REFUSE, kwargs={"rfq_id": "hub_rfq"},
                                             methods=("POST",), body={}),
    "api/v1/hub/rfqs/<rfq_id>/decline": Route(REFUSE, kwargs={"rfq_id": "hub_rfq"},
                                              methods=("POST",), body={}),
    "api/v1/hub/rfqs/<rfq_id>/quotes": Route(
        REFUSE, kwargs={"rfq_id": "hub_rfq"}, methods=("POST",),
        body={"valid_until": "2099-01-01", "lines": [{"rfq_line_id": 1, "unit_price": "1"}]}),
    "api/v1/hub/quotes/<quote_id>/send": Route(REFUSE, kwargs={"quote_id": "hub_quote"},
                                               methods=("POST",), body={}),
    "api/v1/hub/quotes/<quote_id>/accept": Route(REFUSE, kwargs={"quote_id": "hub_quote"},
                                                 methods=("POST",), body={}),
    "api/v1/hub/quotes/<quote_id>/decline": Route(REFUSE, kwargs={"quote_id": "hub_quote"},
                                                  methods=("POST",), body={}),
}

API_ROUTES = {
    "/api/v1/hub/rfqs": {"get", "post"},
    "/api/v1/hub/rfqs/{rfq_id}": {"get"},
    "/api/v1/hub/rfqs/{rfq_id}/submit": {"post"},
    "/api/v1/hub/rfqs/{rfq_id}/cancel": {"post"},
    "/api/v1/hub/rfqs/{rfq_id}/decline": {"post"},
    "/api/v1/hub/rfqs/{rfq_id}/quotes": {"post"},
    "/api/v1/hub/quotes/{quote_id}/send": {"post"},
    "/api/v1/hub/quotes/{quote_id}/accept": {"post"},
    "/api/v1/hub/quotes/{quote_id}/decline": {"post"},
}


def victim_records(*, org, owner, records):
    """An RFQ from the victim's buyer with a sent quote, both carrying the marker."""
    import datetime

    from django.utils import timezone

    from jalin.hub import rfqs
    from jalin.tenancy.models import Membership

    relationship = records["hub_relationship"]
    rfq = rfqs.rfq_create(
        relationship=relationship, actor=owner, title="Victim Supply Secret RFQ",
        note="Victim Supply Secret buyer note",
        lines=[{"product_id": records["hub_product"].pk, "quantity": 3,
                "note": "Victim Supply Secret line"},
               {"description": "Victim Supply Secret custom item", "quantity": 2}])
    membership = Membership.objects.get(user=owner, organization=org)
    product_line = rfq.lines.order_by("position").first()
    quote = rfqs.quote_save(
        rfq=rfq, membership=membership, actor=owner, note="Victim Supply Secret terms",
        valid_until=timezone.localdate() + datetime.timedelta(days=30),
        lines=[{"rfq_line_id": product_line.pk, "unit_price": "31999887"}])
    rfq.refresh_from_db()
    return {"hub_rfq": rfq, "hub_quote": quote}
