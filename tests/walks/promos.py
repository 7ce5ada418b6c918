"""Outsider walk and API-docs routes for promotions and segments: the hub promotion pages and
API, Sales → Promotions (analysis, customer segment) and Segments, and their API."""

from . import API_METHODS, OWN, REFUSE, Route

ROUTES = {
    "hub/catalog/promotions/": Route(OWN),
    "hub/catalog/promotions/<int:pk>/edit/": Route(REFUSE, kwargs={"pk": "hub_promotion"}),
    "hub/catalog/promotions/<int:pk>/deactivate/": Route(
        REFUSE, kwargs={"pk": "hub_promotion"}, methods=("POST",)),
    "sales/promotions/": Route(OWN, methods=("GET",)),
    "sales/promotions/<int:pk>/": Route(REFUSE, kwargs={"pk": "hub_promotion"},
                                        methods=("GET",)),
    "sales/promotions/<int:pk>/segment/": Route(REFUSE, kwargs={"pk": "hub_promotion"},
                                                methods=("POST",)),
    "sales/segments/": Route(OWN, methods=("GET",)),
    "sales/segments/new/": Route(OWN),
    "sales/segments/preview/": Route(OWN, methods=("POST",)),
    "sales/segments/<int:pk>/": Route(REFUSE, kwargs={"pk": "sales_segment"},
                                      methods=("GET",)),
    "sales/segments/<int:pk>/edit/": Route(REFUSE, kwargs={"pk": "sales_segment"}),
    "sales/segments/<int:pk>/export.csv": Route(REFUSE, kwargs={"pk": "sales_segment"},
                                                methods=("GET",)),
    "sales/segments/<int:pk>/refresh/": Route(REFUSE, kwargs={"pk": "sales_segment"},
                                              methods=("POST",)),
    "sales/segments/<int:pk>/delete/": Route(REFUSE, kwargs={"pk": "sales_segment"},
                                             methods=("POST",)),
    "sales/segments/<int:pk>/members/": Route(REFUSE, kwargs={"pk": "sales_static_list"},
                                              methods=("POST",)),
    "api/v1/hub/promotions": Route(OWN, methods=("GET", "POST"), body={}),
    "api/v1/hub/promotions/<promotion_id>": Route(
        REFUSE, kwargs={"promotion_id": "hub_promotion"}, methods=("GET", "PATCH"),
        body={"version": 1, "name": "Outsider"}),
    "api/v1/hub/promotions/<promotion_id>/deactivate": Route(
        REFUSE, kwargs={"promotion_id": "hub_promotion"}, methods=("POST",), body={}),
    "api/v1/sales/segments": Route(OWN, methods=("GET", "POST"), body={}),
    "api/v1/sales/segments/fields": Route(OWN, methods=("GET",)),
    "api/v1/sales/segments/preview": Route(OWN, methods=("POST",), body={"rules": {}}),
    "api/v1/sales/segments/<segment_id>": Route(
        REFUSE, kwargs={"segment_id": "sales_segment"}, methods=API_METHODS,
        body={"version": 1, "name": "Outsider"}),
    "api/v1/sales/segments/<segment_id>/refresh": Route(
        REFUSE, kwargs={"segment_id": "sales_segment"}, methods=("POST",), body={}),
    "api/v1/sales/segments/<segment_id>/members": Route(
        REFUSE, kwargs={"segment_id": "sales_static_list"}, methods=("GET", "POST"),
        body={"contact_ids": [1]}),
    "api/v1/sales/segments/<segment_id>/members/remove": Route(
        REFUSE, kwargs={"segment_id": "sales_static_list"}, methods=("POST",),
        body={"contact_ids": [1]}),
    "api/v1/sales/promotions/<promotion_id>/analysis": Route(
        REFUSE, kwargs={"promotion_id": "hub_promotion"}, methods=("GET",)),
    "api/v1/sales/promotions/<promotion_id>/segment": Route(
        REFUSE, kwargs={"promotion_id": "hub_promotion"}, methods=("GET", "POST"),
        body={"segment_id": None}),
}

API_ROUTES = {
    "/api/v1/hub/promotions": {"get", "post"},
    "/api/v1/hub/promotions/{promotion_id}": {"get", "patch"},
    "/api/v1/hub/promotions/{promotion_id}/deactivate": {"post"},
    "/api/v1/sales/segments": {"get", "post"},
    "/api/v1/sales/segments/fields": {"get"},
    "/api/v1/sales/segments/preview": {"post"},
    "/api/v1/sales/segments/{segment_id}": {"get", "patch", "delete"},
    "/api/v1/sales/segments/{segment_id}/refresh": {"post"},
    "/api/v1/sales/segments/{segment_id}/members": {"get", "post"},
    "/api/v1/sales/segments/{segment_id}/members/remove": {"post"},
    "/api/v1/sales/promotions/{promotion_id}/analysis": {"get"},
    "/api/v1/sales/promotions/{promotion_id}/segment": {"get", "post"},
}


def victim_records(*, org, owner, records):
    """A victim promotion, a dynamic segment and a static list with the victim's contact."""
    import datetime

    from jalin.hub import promotions
    from jalin.sales import segments

    today = datetime.date.today()
    promotion = promotions.promotion_create(
        supplier=org, actor=owner, name="Victim Supply Secret Sale", starts_on=today,
        ends_on=today + datetime.timedelta(days=3), discount_percent="10",
        products=[records["hub_product"]])
    segment = segments.segment_create(
        organization=org, actor=owner, name="Victim Supply Secret Segment",
        rules={"conditions": [{"field": "account.name", "op": "contains", "value": "Victim"}]})
    segments.segment_refresh(segment=segment)
    static = segments.segment_create(organization=org, actor=owner,
                                     name="Victim Supply Secret List", kind="static")
    if records.get("crm_contact") is not None:
        segments.segment_add_contacts(segment=static, actor=owner,
                                      contacts=[records["crm_contact"]])
    return {"hub_promotion": promotion, "sales_segment": segment, "sales_static_list": static}
