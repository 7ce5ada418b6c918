"""Outsider walk and API-docs routes for forecasts: the pipeline forecast, targets, the
revenue and demand forecasts (pages, CSV, API)."""

from . import OWN, REFUSE, Route

ROUTES = {
    "sales/forecast/": Route(OWN, methods=("GET",)),
    "sales/forecast/export.csv": Route(OWN, methods=("GET",)),
    "sales/forecast/targets/": Route(OWN),
    "sales/forecast/revenue/": Route(OWN, methods=("GET",)),
    "sales/forecast/demand/": Route(OWN, methods=("GET",)),
    "sales/forecast/demand/export.csv": Route(OWN, methods=("GET",)),
    "sales/forecast/demand/<int:product_id>/": Route(
        REFUSE, kwargs={"product_id": "hub_product"}, methods=("GET",)),
    "api/v1/sales/forecast/pipeline": Route(OWN, methods=("GET",)),
    "api/v1/sales/forecast/revenue": Route(OWN, methods=("GET",)),
    "api/v1/sales/forecast/demand": Route(OWN, methods=("GET",)),
    "api/v1/sales/forecast/demand/<product_id>": Route(
        REFUSE, kwargs={"product_id": "hub_product"}, methods=("GET",)),
    "api/v1/sales/targets": Route(OWN, methods=("GET", "POST"), body={}),
    "api/v1/sales/targets/<target_id>": Route(
        REFUSE, kwargs={"target_id": "sales_target"}, methods=("GET", "PATCH", "DELETE"),
        body={"version": 1, "amount": "1"}),
}

API_ROUTES = {
    "/api/v1/sales/forecast/pipeline": {"get"},
    "/api/v1/sales/forecast/revenue": {"get"},
    "/api/v1/sales/forecast/demand": {"get"},
    "/api/v1/sales/forecast/demand/{product_id}": {"get"},
    "/api/v1/sales/targets": {"get", "post"},
    "/api/v1/sales/targets/{target_id}": {"get", "patch", "delete"},
}


def victim_records(*, org, owner, records):
    """A sales target of the victim (its product comes from the hub's victim records)."""
    import datetime

    from jalin.sales import targets

    target = targets.target_create(organization=org, actor=owner, user=owner,
                                   period_start=datetime.date(2026, 1, 1),
                                   period_end=datetime.date(2026, 3, 31), amount="31999777")
    return {"sales_target": target}
