"""Outsider walk and API-docs routes for order upload, saved lists and the save-cart /
add-to-list actions of the shop."""

from . import OWN, REFUSE, Route

SUPPLIER = {"supplier_id": "org"}
LIST = {"pk": "hub_saved_list"}
API_LIST = {"list_id": "hub_saved_list"}

ROUTES = {
    "hub/shop/<int:supplier_id>/upload/": Route(REFUSE, kwargs=SUPPLIER),
    "hub/shop/<int:supplier_id>/upload/apply/": Route(REFUSE, kwargs=SUPPLIER,
                                                      methods=("POST",)),
    "hub/shop/<int:supplier_id>/upload/report.csv": Route(REFUSE, kwargs=SUPPLIER,
                                                          methods=("GET",)),
    "hub/shop/<int:supplier_id>/save-cart/": Route(REFUSE, kwargs=SUPPLIER, methods=("POST",)),
    "hub/shop/<int:supplier_id>/add-to-list/": Route(REFUSE, kwargs=SUPPLIER,
                                                     methods=("POST",)),
    "hub/lists/": Route(OWN),
    "hub/lists/<int:pk>/": Route(REFUSE, kwargs=LIST, methods=("GET",)),
    "hub/lists/<int:pk>/edit/": Route(REFUSE, kwargs=LIST, methods=("POST",)),
    "hub/lists/<int:pk>/delete/": Route(REFUSE, kwargs=LIST, methods=("POST",)),
    "hub/lists/<int:pk>/lines/": Route(REFUSE, kwargs=LIST, methods=("POST",)),
    "hub/lists/<int:pk>/add-to-cart/": Route(REFUSE, kwargs=LIST, methods=("POST",)),
    "api/v1/hub/carts/<supplier_id>/upload": Route(REFUSE, kwargs=SUPPLIER,
                                                   methods=("POST",)),
    "api/v1/hub/lists": Route(OWN, methods=("GET", "POST"),
                              body={"supplier_id": 1, "name": "Taken over"}),
    "api/v1/hub/lists/<list_id>": Route(REFUSE, kwargs=API_LIST,
                                        methods=("GET", "PATCH", "DELETE"),
                                        body={"version": 1, "name": "Taken over"}),
    "api/v1/hub/lists/<list_id>/lines": Route(REFUSE, kwargs=API_LIST, methods=("POST",),
                                              body={"product_id": 1, "quantity": 5}),
    "api/v1/hub/lists/<list_id>/add-to-cart": Route(REFUSE, kwargs=API_LIST,
                                                    methods=("POST",)),
}

API_ROUTES = {
    "/api/v1/hub/carts/{supplier_id}/upload": {"post"},
    "/api/v1/hub/lists": {"get", "post"},
    "/api/v1/hub/lists/{list_id}": {"get", "patch", "delete"},
    "/api/v1/hub/lists/{list_id}/lines": {"post"},
    "/api/v1/hub/lists/{list_id}/add-to-cart": {"post"},
}


def victim_records(*, org, owner, records):
    """A shared saved list of the victim supplier's buyer, with the victim's product on it."""
    from jalin.hub import saved_lists
    from jalin.tenancy.models import Membership
    from jalin.tenancy.roles import Role
    from tests.conftest import make_user

    relationship = records["hub_relationship"]
    buyer_user = make_user("victim-list-owner")
    Membership.objects.create(user=buyer_user, organization=relationship.buyer,
                              role=Role.BUYER)
    saved_list = saved_lists.list_create(
        relationship=relationship, user=buyer_user, name="Victim Supply Secret List",
        shared=True, quantities={records["hub_product"].pk: 3})
    return {"hub_saved_list": saved_list}
