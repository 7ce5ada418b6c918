"""Outsider walk and API-docs routes for search, the account picker, saved views and bulk
actions."""

from . import OWN, REFUSE, Route

ROUTES = {
    "crm/search/": Route(OWN, methods=("GET",)),
    "crm/search/suggest": Route(OWN, methods=("GET",)),
    "crm/accounts/lookup/": Route(OWN, methods=("GET",)),
    "crm/accounts/bulk/": Route(OWN, methods=("POST",)),
    "crm/contacts/bulk/": Route(OWN, methods=("POST",)),
    "crm/saved-views/new/": Route(OWN, methods=("GET",)),
    "crm/saved-views/<int:pk>/delete/": Route(REFUSE, kwargs={"pk": "crm_saved_view"}),
    "api/v1/crm/search": Route(OWN, methods=("GET",)),
    "api/v1/crm/saved-views": Route(OWN, methods=("GET",)),
    "api/v1/crm/saved-views/<view_id>": Route(
        REFUSE, kwargs={"view_id": "crm_saved_view"}, methods=("DELETE",)),
    "api/v1/crm/accounts/bulk": Route(OWN, methods=("POST",),
                                      body={"ids": [1], "owner_id": None}),
    "api/v1/crm/contacts/bulk": Route(OWN, methods=("POST",),
                                      body={"ids": [1], "owner_id": None}),
}

API_ROUTES = {
    "/api/v1/crm/search": {"get"},
    "/api/v1/crm/saved-views": {"get", "post"},
    "/api/v1/crm/saved-views/{view_id}": {"delete"},
    "/api/v1/crm/accounts/bulk": {"post"},
    "/api/v1/crm/contacts/bulk": {"post"},
}


def victim_records(*, org, owner, records):
    from jalin.crm.search import saved_views

    view = saved_views.saved_view_create(
        organization=org, actor=owner, target="account", name="Victim Supply Secret view",
        query={"q": "Victim Supply Secret"}, shared=True)
    return {"crm_saved_view": view}
