"""Outsider walk and API-docs routes for sales quotes: the quote list, new quote from an
opportunity, quote pages and actions, the PDF, and the quotes API."""

from . import OWN, REFUSE, Route

QUOTE = {"pk": "sales_quote"}

ROUTES = {
    "sales/quotes/": Route(OWN, methods=("GET",)),
    "sales/opportunities/<int:pk>/quotes/new/": Route(
        REFUSE, kwargs={"pk": "sales_quote_opportunity"}),
    "sales/quotes/<int:pk>/": Route(REFUSE, kwargs=QUOTE, methods=("GET",)),
    "sales/quotes/<int:pk>/edit/": Route(REFUSE, kwargs=QUOTE),
    "sales/quotes/<int:pk>/send/": Route(REFUSE, kwargs=QUOTE, methods=("POST",)),
    "sales/quotes/<int:pk>/withdraw/": Route(REFUSE, kwargs=QUOTE, methods=("POST",)),
    "sales/quotes/<int:pk>/answer/": Route(REFUSE, kwargs=QUOTE, methods=("POST",)),
    "sales/quotes/<int:pk>/pdf/": Route(REFUSE, kwargs=QUOTE, methods=("GET",)),
    "api/v1/sales/quotes": Route(OWN, methods=("GET",)),
    "api/v1/sales/opportunities/<opportunity_id>/quotes": Route(
        REFUSE, kwargs={"opportunity_id": "sales_quote_opportunity"}, methods=("POST",),
        body={}),
    "api/v1/sales/quotes/<quote_id>": Route(
        REFUSE, kwargs={"quote_id": "sales_quote"}, methods=("GET", "PATCH"),
        body={"version": 1, "note": "Outsider"}),
    "api/v1/sales/quotes/<quote_id>/send": Route(
        REFUSE, kwargs={"quote_id": "sales_quote"}, methods=("POST",), body={}),
    "api/v1/sales/quotes/<quote_id>/withdraw": Route(
        REFUSE, kwargs={"quote_id": "sales_quote"}, methods=("POST",), body={}),
    "api/v1/sales/quotes/<quote_id>/answer": Route(
        REFUSE, kwargs={"quote_id": "sales_quote"}, methods=("POST",),
        body={"accepted": True}),
    "api/v1/sales/quotes/<quote_id>/pdf": Route(
        REFUSE, kwargs={"quote_id": "sales_quote"}, methods=("GET",)),
}

API_ROUTES = {
    "/api/v1/sales/quotes": {"get"},
    "/api/v1/sales/opportunities/{opportunity_id}/quotes": {"post"},
    "/api/v1/sales/quotes/{quote_id}": {"get", "patch"},
    "/api/v1/sales/quotes/{quote_id}/send": {"post"},
    "/api/v1/sales/quotes/{quote_id}/withdraw": {"post"},
    "/api/v1/sales/quotes/{quote_id}/answer": {"post"},
    "/api/v1/sales/quotes/{quote_id}/pdf": {"get"},
}


def victim_records(*, org, owner, records):
    """An opportunity of the victim's CRM account and a draft quote for it."""
    import datetime

    from django.utils import timezone

    from jalin.sales import quotes
    from jalin.sales.opportunities import opportunity_create

    opportunity = opportunity_create(
        organization=org, actor=owner, name="Victim Supply Secret deal",
        account=records["crm_account"],
        close_date=timezone.localdate() + datetime.timedelta(days=10),
        lines=[{"description": "Victim Supply Secret item", "quantity": 2,
                "unit_price": "31999888"}])
    quote = quotes.sales_quote_create(opportunity=opportunity, actor=owner,
                                      note="Victim Supply Secret terms")
    return {"sales_quote_opportunity": opportunity, "sales_quote": quote}
