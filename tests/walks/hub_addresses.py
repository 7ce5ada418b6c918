"""Outsider walk and API-docs routes for buyer addresses."""

from . import OWN, REFUSE, Route

ADDRESS = {"pk": "hub_address"}
API_ADDRESS = {"address_id": "hub_address"}

ROUTES = {
    "hub/addresses/": Route(OWN),
    "hub/addresses/<int:pk>/edit/": Route(REFUSE, kwargs=ADDRESS),
    "hub/addresses/<int:pk>/archive/": Route(REFUSE, kwargs=ADDRESS, methods=("POST",)),
    "hub/addresses/<int:pk>/default/": Route(REFUSE, kwargs=ADDRESS, methods=("POST",)),
    "api/v1/hub/addresses": Route(OWN, methods=("GET", "POST"),
                                  body={"label": "Taken over", "recipient": "X",
                                        "street": "1 Road", "city": "Jakarta"}),
    "api/v1/hub/addresses/<address_id>": Route(REFUSE, kwargs=API_ADDRESS,
                                               methods=("GET", "PATCH", "DELETE"),
                                               body={"version": 1, "label": "Taken over"}),
}

API_ROUTES = {
    "/api/v1/hub/addresses": {"get", "post"},
    "/api/v1/hub/addresses/{address_id}": {"get", "patch", "delete"},
}


def victim_records(*, org, owner, records):
    """The default shipping address of the victim supplier's buyer."""
    from jalin.hub import addresses

    buyer = records["hub_relationship"].buyer
    address = addresses.address_create(
        buyer=buyer, actor=owner, label="Victim Supply Secret Warehouse",
        recipient="Victim Supply Secret Receiving", street="Jl. Rahasia 1", city="Bandung")
    return {"hub_address": address}
