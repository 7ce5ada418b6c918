"""Outsider walk and API-docs routes for opportunities and pipelines: the board, list,
detail and its actions, forms, pipeline settings, and the opportunities API."""

from . import OWN, REFUSE, Route

OPP = {"pk": "sales_opportunity"}
ROUTES = {
    "sales/pipeline/": Route(OWN, methods=("GET",)),
    "sales/pipeline/column/": Route(OWN, methods=("GET",)),
    "sales/pipeline/settings/": Route(OWN),
    "sales/opportunities/": Route(OWN, methods=("GET",)),
    "sales/opportunities/export.csv": Route(OWN, methods=("GET",)),
    "sales/opportunities/new/": Route(OWN),
    "sales/opportunities/<int:pk>/": Route(REFUSE, kwargs=OPP, methods=("GET",)),
    "sales/opportunities/<int:pk>/edit/": Route(REFUSE, kwargs=OPP),
    "sales/opportunities/<int:pk>/move/": Route(REFUSE, kwargs=OPP, methods=("POST",)),
    "sales/opportunities/<int:pk>/close/": Route(REFUSE, kwargs=OPP, methods=("POST",)),
    "sales/opportunities/<int:pk>/reopen/": Route(REFUSE, kwargs=OPP, methods=("POST",)),
    "sales/opportunities/<int:pk>/lines/": Route(REFUSE, kwargs=OPP, methods=("POST",)),
    "sales/opportunities/<int:pk>/lines/<int:line_pk>/remove/": Route(
        REFUSE, kwargs={"pk": "sales_opportunity", "line_pk": "sales_opportunity_line"},
        methods=("POST",)),
    "api/v1/sales/pipelines": Route(OWN, methods=("GET",)),
    "api/v1/sales/pipelines/<pipeline_id>": Route(
        REFUSE, kwargs={"pipeline_id": "sales_pipeline"}, methods=("GET", "PUT", "DELETE"),
        body={"name": "x"}),
    "api/v1/sales/pipelines/<pipeline_id>/stages": Route(
        REFUSE, kwargs={"pipeline_id": "sales_pipeline"}, methods=("POST",),
        body={"name": "x", "probability": 10}),
    "api/v1/sales/pipelines/<pipeline_id>/stages/<stage_id>": Route(
        REFUSE, kwargs={"pipeline_id": "sales_pipeline", "stage_id": "sales_stage"},
        methods=("PUT", "DELETE"), body={"name": "x", "probability": 10}),
    "api/v1/sales/pipelines/<pipeline_id>/board": Route(
        REFUSE, kwargs={"pipeline_id": "sales_pipeline"}, methods=("GET",)),
    "api/v1/sales/pipelines/<pipeline_id>/board/<stage_id>": Route(
        REFUSE, kwargs={"pipeline_id": "sales_pipeline", "stage_id": "sales_stage"},
        methods=("GET",)),
    "api/v1/sales/close-reasons": Route(OWN, methods=("GET",)),
    "api/v1/sales/close-reasons/<reason_id>": Route(
        REFUSE, kwargs={"reason_id": "sales_close_reason"}, methods=("PUT",),
        body={"kind": "lost", "name": "x"}),
    "api/v1/sales/competitors": Route(OWN, methods=("GET",)),
    "api/v1/sales/competitors/<competitor_id>": Route(
        REFUSE, kwargs={"competitor_id": "sales_competitor"}, methods=("DELETE",)),
    "api/v1/sales/opportunities": Route(OWN, methods=("GET", "POST"), body={}),
    "api/v1/sales/opportunities/<opportunity_id>": Route(
        REFUSE, kwargs={"opportunity_id": "sales_opportunity"}, methods=("GET", "PATCH"),
        body={"version": 1, "name": "x"}),
    "api/v1/sales/opportunities/<opportunity_id>/move": Route(
        REFUSE, kwargs={"opportunity_id": "sales_opportunity"}, methods=("POST",),
        body={"stage_id": 1}),
    "api/v1/sales/opportunities/<opportunity_id>/close": Route(
        REFUSE, kwargs={"opportunity_id": "sales_opportunity"}, methods=("POST",),
        body={"won": True}),
    "api/v1/sales/opportunities/<opportunity_id>/reopen": Route(
        REFUSE, kwargs={"opportunity_id": "sales_opportunity"}, methods=("POST",), body={}),
    "api/v1/sales/opportunities/<opportunity_id>/history": Route(
        REFUSE, kwargs={"opportunity_id": "sales_opportunity"}, methods=("GET",)),
    "api/v1/sales/opportunities/<opportunity_id>/lines": Route(
        REFUSE, kwargs={"opportunity_id": "sales_opportunity"}, methods=("GET", "POST"),
        body={"description": "x", "quantity": 1, "unit_price": "1"}),
    "api/v1/sales/opportunities/<opportunity_id>/lines/<line_id>": Route(
        REFUSE, kwargs={"opportunity_id": "sales_opportunity",
                        "line_id": "sales_opportunity_line"},
        methods=("PATCH", "DELETE"), body={"quantity": 2}),
}

API_ROUTES = {
    "/api/v1/sales/pipelines": {"get", "post"},
    "/api/v1/sales/pipelines/{pipeline_id}": {"get", "put", "delete"},
    "/api/v1/sales/pipelines/{pipeline_id}/stages": {"post"},
    "/api/v1/sales/pipelines/{pipeline_id}/stages/{stage_id}": {"put", "delete"},
    "/api/v1/sales/pipelines/{pipeline_id}/board": {"get"},
    "/api/v1/sales/pipelines/{pipeline_id}/board/{stage_id}": {"get"},
    "/api/v1/sales/close-reasons": {"get", "post"},
    "/api/v1/sales/close-reasons/{reason_id}": {"put"},
    "/api/v1/sales/competitors": {"get", "post"},
    "/api/v1/sales/competitors/{competitor_id}": {"delete"},
    "/api/v1/sales/opportunities": {"get", "post"},
    "/api/v1/sales/opportunities/{opportunity_id}": {"get", "patch"},
    "/api/v1/sales/opportunities/{opportunity_id}/move": {"post"},
    "/api/v1/sales/opportunities/{opportunity_id}/close": {"post"},
    "/api/v1/sales/opportunities/{opportunity_id}/reopen": {"post"},
    "/api/v1/sales/opportunities/{opportunity_id}/history": {"get"},
    "/api/v1/sales/opportunities/{opportunity_id}/lines": {"get", "post"},
    "/api/v1/sales/opportunities/{opportunity_id}/lines/{line_id}": {"patch", "delete"},
}


def victim_records(*, org, owner, records):
    """A pipeline with a stage, a close reason, a competitor, an opportunity with a line."""
    import datetime

    from jalin.crm import services as crm
    from jalin.sales import opportunities as opps

    account = crm.account_create(organization=org, actor=owner,
                                 name="Victim Supply Secret deal account")
    pipeline = opps.pipeline_save(organization=org, actor=owner,
                                  name="Victim Supply Secret pipeline")
    stage = opps.stage_save(pipeline=pipeline, actor=owner, name="Victim Supply Secret stage",
                            probability=20)
    reason = opps.close_reason_save(organization=org, actor=owner, kind="lost",
                                    name="Victim Supply Secret reason")
    competitor = opps.competitor_save(organization=org, actor=owner,
                                      name="Victim Supply Secret rival")
    opportunity = opps.opportunity_create(
        organization=org, actor=owner, name="Victim Supply Secret deal", account=account,
        close_date=datetime.date(2026, 12, 31), pipeline=pipeline, stage=stage,
        competitors=[competitor], next_step="Victim Supply Secret step")
    line = opps.opportunity_line_add(opportunity=opportunity, actor=owner,
                                     description="Victim Supply Secret line", quantity=1,
                                     unit_price="31999888")
    return {"sales_opportunity": opportunity, "sales_opportunity_line": line,
            "sales_pipeline": pipeline, "sales_stage": stage, "sales_close_reason": reason,
            "sales_competitor": competitor}
