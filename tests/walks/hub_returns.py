"""Outsider walk and API-docs routes for hub returns (RMA)."""

from . import OWN, REFUSE, Route

ROUTES = {
    "hub/orders/<int:pk>/return/": Route(REFUSE, kwargs={"pk": "hub_delivered_order"}),
    "hub/returns/": Route(OWN, methods=("GET",)),
    "hub/returns/export.csv": Route(OWN, methods=("GET",)),
    "hub/returns/<int:pk>/": Route(REFUSE, kwargs={"pk": "hub_return"}, methods=("GET",)),
    "hub/returns/<int:pk>/action/": Route(REFUSE, kwargs={"pk": "hub_return"},
                                          methods=("POST",)),
    "hub/returns/<int:pk>/receive/": Route(REFUSE, kwargs={"pk": "hub_return"},
                                           methods=("POST",)),
    "api/v1/hub/returns": Route(OWN, methods=("GET", "POST"), body={}),
    "api/v1/hub/returns/<return_id>": Route(REFUSE, kwargs={"return_id": "hub_return"},
                                            methods=("GET",)),
    "api/v1/hub/returns/<return_id>/transitions": Route(
        REFUSE, kwargs={"return_id": "hub_return"}, methods=("POST",),
        body={"action": "approve", "version": 1}),
}

API_ROUTES = {
    "/api/v1/hub/returns": {"get", "post"},
    "/api/v1/hub/returns/{return_id}": {"get"},
    "/api/v1/hub/returns/{return_id}/transitions": {"post"},
}


def victim_records(*, org, owner, records):
    """A delivered order of the victim supplier and a return its victim buyer requested."""
    from django.contrib.auth import get_user_model

    from jalin.hub import returns, stock
    from jalin.hub.testing import make_delivered_order
    from jalin.tenancy.models import Membership
    from jalin.tenancy.roles import Role

    product = records["hub_product"]
    relationship = records["hub_relationship"]
    warehouse = records.get("hub_warehouse") or stock.warehouse_create(
        supplier=org, actor=owner, code="VRMA", name="Victim Supply Secret Returns")
    stock.stock_adjust(warehouse=warehouse, product=product, delta=5,
                       reason="Victim Supply Secret returns stock", actor=owner)
    supplier_membership = Membership.objects.get(user=owner, organization=org)
    order = make_delivered_order(relationship=relationship,
                                 supplier_membership=supplier_membership, actor=owner,
                                 lines=[(product.pk, 3)])
    buyer_user = get_user_model().objects.create_user(username="victim-returns-buyer",
                                                      password="x" * 20)
    buyer_membership = Membership.objects.create(user=buyer_user,
                                                 organization=relationship.buyer,
                                                 role=Role.BUYER)
    return_request = returns.return_request_create(
        order=order, membership=buyer_membership, actor=buyer_user,
        lines=[(order.lines.get().pk, 1, "damaged")],
        note="Victim Supply Secret return note", reason="Victim Supply Secret reason")
    return {"hub_delivered_order": order, "hub_return": return_request}
