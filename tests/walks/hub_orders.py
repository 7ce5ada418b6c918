"""Outsider walk and API-docs routes for hub stock, carts and orders."""

from . import OWN, REFUSE, Route

ROUTES = {
    "hub/catalog/warehouses/": Route(OWN),
    "hub/catalog/stock/": Route(OWN, methods=("GET",)),
    "hub/catalog/stock/low/": Route(OWN, methods=("GET",)),
    "hub/catalog/stock/adjust/": Route(OWN, methods=("POST",)),
    "hub/shop/<int:supplier_id>/cart/": Route(REFUSE, kwargs={"supplier_id": "org"},
                                              methods=("POST",)),
    "hub/shop/<int:supplier_id>/quick-order/": Route(REFUSE, kwargs={"supplier_id": "org"}),
    "hub/shop/<int:supplier_id>/checkout/": Route(REFUSE, kwargs={"supplier_id": "org"},
                                                  methods=("POST",)),
    "hub/cart/": Route(OWN, methods=("GET",)),
    "hub/cart/checkout/": Route(OWN, methods=("POST",)),
    "hub/orders/": Route(OWN, methods=("GET",)),
    "hub/orders/new/": Route(OWN),
    "hub/settings/": Route(OWN),
    "hub/orders/<int:pk>/": Route(REFUSE, kwargs={"pk": "hub_order"}, methods=("GET",)),
    "hub/orders/<int:pk>/action/": Route(REFUSE, kwargs={"pk": "hub_order"},
                                         methods=("POST",)),
    "hub/orders/<int:pk>/ship/": Route(REFUSE, kwargs={"pk": "hub_order"}, methods=("POST",)),
    "hub/orders/<int:pk>/reorder/": Route(REFUSE, kwargs={"pk": "hub_order"},
                                          methods=("POST",)),
    "api/v1/hub/warehouses": Route(OWN, methods=("GET", "POST"),
                                   body={"code": "OUT", "name": "Outsider"}),
    "api/v1/hub/stock": Route(OWN, methods=("GET",)),
    "api/v1/hub/stock/adjustments": Route(OWN, methods=("POST",), body={}),
    "api/v1/hub/carts/<supplier_id>": Route(REFUSE, kwargs={"supplier_id": "org"},
                                            methods=("GET",)),
    "api/v1/hub/carts/<supplier_id>/lines": Route(
        REFUSE, kwargs={"supplier_id": "org"}, methods=("POST",),
        body={"product_id": 1, "quantity": 1}),
    "api/v1/hub/carts/<supplier_id>/checkout": Route(REFUSE, kwargs={"supplier_id": "org"},
                                                     methods=("POST",)),
    "api/v1/hub/orders": Route(OWN, methods=("GET", "POST"), body={}),
    "api/v1/hub/settings/selling": Route(OWN, methods=("GET", "PATCH"),
                                         body={"prices_include_tax": True}),
    "api/v1/hub/settings/buying": Route(OWN, methods=("GET", "PATCH"),
                                        body={"approval_threshold": "1"}),
    "api/v1/hub/orders/<order_id>": Route(REFUSE, kwargs={"order_id": "hub_order"},
                                          methods=("GET",)),
    "api/v1/hub/orders/<order_id>/transitions": Route(
        REFUSE, kwargs={"order_id": "hub_order"}, methods=("POST",),
        body={"action": "cancel", "version": 3}),
    "api/v1/hub/orders/<order_id>/shipments": Route(
        REFUSE, kwargs={"order_id": "hub_order"}, methods=("POST",),
        body={"version": 3, "lines": [{"order_line_id": 1, "quantity": 1}]}),
}

API_ROUTES = {
    "/api/v1/hub/warehouses": {"get", "post"},
    "/api/v1/hub/stock": {"get"},
    "/api/v1/hub/stock/adjustments": {"post"},
    "/api/v1/hub/carts/{supplier_id}": {"get"},
    "/api/v1/hub/carts/{supplier_id}/lines": {"post"},
    "/api/v1/hub/carts/{supplier_id}/checkout": {"post"},
    "/api/v1/hub/orders": {"get", "post"},
    "/api/v1/hub/settings/selling": {"get", "patch"},
    "/api/v1/hub/settings/buying": {"get", "patch"},
    "/api/v1/hub/orders/{order_id}": {"get"},
    "/api/v1/hub/orders/{order_id}/transitions": {"post"},
    "/api/v1/hub/orders/{order_id}/shipments": {"post"},
}


def victim_records(*, org, owner, records):
    """The victim supplier's warehouse, stock and one confirmed, partly shipped order from
    its victim buyer."""
    from jalin.hub import orders, stock
    from jalin.tenancy.models import Membership

    product = records["hub_product"]
    relationship = records["hub_relationship"]
    warehouse = stock.warehouse_create(supplier=org, actor=owner, code="VICTIM",
                                       name="Victim Supply Secret Warehouse")
    stock.stock_adjust(warehouse=warehouse, product=product, delta=50,
                       reason="Victim Supply Secret count", actor=owner)
    order = orders.order_place(relationship=relationship, actor=owner,
                               lines=[(product.pk, 2)], entered_by_supplier=True,
                               buyer_reference="Victim Supply Secret PO")
    membership = Membership.objects.get(user=owner, organization=org)
    order = orders.order_transition(order=order, action="confirm", membership=membership,
                                    actor=owner)
    orders.ship(order=order, membership=membership, actor=owner,
                quantities={order.lines.get().pk: 1}, tracking="Victim Supply Secret track")
    order.refresh_from_db()
    return {"hub_order": order, "hub_warehouse": warehouse}
