"""Outsider walk and API-docs routes for leads: the sales dashboard, lead pages, rules, web
forms admin, the public web form and the leads API."""

from . import API_METHODS, OWN, PUBLIC, REFUSE, Route

ROUTES = {
    "sales/": Route(OWN, methods=("GET",)),
    "sales/leads/": Route(OWN, methods=("GET",)),
    "sales/leads/export.csv": Route(OWN, methods=("GET",)),
    "sales/leads/new/": Route(OWN, methods=("GET",)),
    "sales/leads/import/": Route(OWN, methods=("GET",)),
    "sales/leads/rules/": Route(OWN),
    "sales/leads/<int:pk>/": Route(REFUSE, kwargs={"pk": "sales_lead"}, methods=("GET",)),
    "sales/leads/<int:pk>/convert/": Route(REFUSE, kwargs={"pk": "sales_lead"},
                                           methods=("POST",)),
    "sales/leads/<int:pk>/disqualify/": Route(REFUSE, kwargs={"pk": "sales_lead"},
                                              methods=("POST",)),
    "sales/leads/<int:pk>/assign/": Route(REFUSE, kwargs={"pk": "sales_lead"},
                                          methods=("POST",)),
    "sales/web-forms/": Route(OWN, methods=("GET",)),
    "sales/web-forms/new/": Route(OWN, methods=("GET",)),
    "sales/web-forms/<int:pk>/": Route(REFUSE, kwargs={"pk": "sales_web_form"}),
    # Public by design (embedded on the owner's site); an unknown key is 404.
    "sales/f/<str:key>/": Route(PUBLIC, kwargs={"key": "bogus"}),
    "api/v1/sales/leads": Route(OWN, methods=("GET", "POST"), body={}),
    "api/v1/sales/leads/<lead_id>": Route(
        REFUSE, kwargs={"lead_id": "sales_lead"}, methods=("GET", "PATCH"),
        body={"version": 1, "city": "Outsider"}),
    "api/v1/sales/leads/<lead_id>/assign": Route(
        REFUSE, kwargs={"lead_id": "sales_lead"}, methods=("POST",), body={}),
    "api/v1/sales/leads/<lead_id>/convert": Route(
        REFUSE, kwargs={"lead_id": "sales_lead"}, methods=("POST",), body={}),
    "api/v1/sales/leads/<lead_id>/disqualify": Route(
        REFUSE, kwargs={"lead_id": "sales_lead"}, methods=("POST",), body={"reason": "x"}),
    "api/v1/sales/scoring-rules": Route(OWN, methods=("GET",)),
    "api/v1/sales/scoring-rules/<rule_id>": Route(
        REFUSE, kwargs={"rule_id": "sales_scoring_rule"}, methods=API_METHODS,
        body={"label": "x", "field": "city", "operator": "is_set", "points": 1}),
    "api/v1/sales/assignment-rules": Route(OWN, methods=("GET",)),
    "api/v1/sales/assignment-rules/<rule_id>": Route(
        REFUSE, kwargs={"rule_id": "sales_assignment_rule"}, methods=API_METHODS,
        body={"name": "x", "method": "account_owner"}),
    "api/v1/sales/territories": Route(OWN, methods=("GET",)),
    "api/v1/sales/territories/<territory_id>": Route(
        REFUSE, kwargs={"territory_id": "sales_territory"}, methods=API_METHODS,
        body={"name": "x", "criteria": {"country": ["ID"]}}),
    "api/v1/sales/web-forms": Route(OWN, methods=("GET",)),
    "api/v1/sales/web-forms/<form_id>": Route(
        REFUSE, kwargs={"form_id": "sales_web_form"}, methods=API_METHODS,
        body={"name": "x"}),
}

API_ROUTES = {
    "/api/v1/sales/leads": {"get", "post"},
    "/api/v1/sales/leads/{lead_id}": {"get", "patch"},
    "/api/v1/sales/leads/{lead_id}/assign": {"post"},
    "/api/v1/sales/leads/{lead_id}/convert": {"post"},
    "/api/v1/sales/leads/{lead_id}/disqualify": {"post"},
    "/api/v1/sales/scoring-rules": {"get", "post"},
    "/api/v1/sales/scoring-rules/{rule_id}": {"patch", "delete"},
    "/api/v1/sales/assignment-rules": {"get", "post"},
    "/api/v1/sales/assignment-rules/{rule_id}": {"patch", "delete"},
    "/api/v1/sales/territories": {"get", "post"},
    "/api/v1/sales/territories/{territory_id}": {"patch"},
    "/api/v1/sales/web-forms": {"get", "post"},
    "/api/v1/sales/web-forms/{form_id}": {"patch"},
}


def victim_records(*, org, owner, records):
    """A lead, a scoring rule, an assignment rule, a territory and a web form of the victim."""
    from jalin.sales import leads, webforms

    lead = leads.lead_create(organization=org, actor=owner, company="Victim Supply Secret Co",
                             email="secret@victim.example", message="Victim Supply Secret")
    scoring = leads.scoring_rule_save(organization=org, actor=owner,
                                      label="Victim Supply Secret rule", field="city",
                                      operator="is_set", points=5)
    assignment = leads.assignment_rule_save(organization=org, actor=owner,
                                            name="Victim Supply Secret rr",
                                            method="round_robin", user_ids=[owner.pk])
    territory = leads.territory_save(organization=org, actor=owner,
                                     name="Victim Supply Secret land",
                                     criteria={"country": ["ID"]}, member_ids=[owner.pk])
    form = webforms.webform_save(organization=org, actor=owner,
                                 name="Victim Supply Secret form")
    return {"sales_lead": lead, "sales_scoring_rule": scoring,
            "sales_assignment_rule": assignment, "sales_territory": territory,
            "sales_web_form": form}
