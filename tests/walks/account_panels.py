"""Outsider walk and API-docs routes for the CRM account summary (the related panels)."""

from . import REFUSE, Route

ROUTES = {
    "api/v1/crm/accounts/<account_id>/summary": Route(
        REFUSE, kwargs={"account_id": "crm_account"}, methods=("GET",)),
}

API_ROUTES = {
    "/api/v1/crm/accounts/{account_id}/summary": {"get"},
}
