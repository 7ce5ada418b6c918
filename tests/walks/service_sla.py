"""Outsider walk and API-docs routes for SLA settings (calendars, holidays, policies,
escalation rules) and the SLA attainment report."""

from . import OWN, REFUSE, Route

CALENDAR = {"pk": "sla_calendar"}
POLICY = {"pk": "sla_policy"}
RULE = {"pk": "sla_rule"}
API_CALENDAR = {"calendar_id": "sla_calendar"}

ROUTES = {
    "service/sla/": Route(OWN),
    "service/sla/calendars/<int:pk>/": Route(REFUSE, kwargs=CALENDAR),
    "service/sla/calendars/<int:pk>/holidays/": Route(REFUSE, kwargs=CALENDAR,
                                                      methods=("POST",)),
    "service/sla/calendars/<int:pk>/load/": Route(REFUSE, kwargs=CALENDAR, methods=("POST",)),
    "service/sla/calendars/<int:pk>/delete/": Route(REFUSE, kwargs=CALENDAR,
                                                    methods=("POST",)),
    "service/sla/holidays/<int:pk>/remove/": Route(REFUSE, kwargs={"pk": "sla_holiday"},
                                                   methods=("POST",)),
    "service/sla/policies/<int:pk>/": Route(REFUSE, kwargs=POLICY),
    "service/sla/policies/<int:pk>/archive/": Route(REFUSE, kwargs=POLICY, methods=("POST",)),
    "service/sla/rules/<int:pk>/": Route(REFUSE, kwargs=RULE),
    "service/sla/rules/<int:pk>/delete/": Route(REFUSE, kwargs=RULE, methods=("POST",)),
    "service/sla/report/": Route(OWN, methods=("GET",)),
    "service/sla/report/record/": Route(OWN, methods=("POST",)),
    "api/v1/service/calendars": Route(OWN, methods=("GET", "POST"),
                                      body={"name": "Taken over"}),
    "api/v1/service/calendars/<calendar_id>": Route(
        REFUSE, kwargs=API_CALENDAR, methods=("GET", "PATCH", "DELETE"),
        body={"version": 1, "name": "Taken over"}),
    "api/v1/service/calendars/<calendar_id>/holidays": Route(
        REFUSE, kwargs=API_CALENDAR, methods=("GET", "POST"),
        body={"date": "2026-12-31", "name": "Taken over"}),
    "api/v1/service/calendars/<calendar_id>/holidays/<holiday_id>": Route(
        REFUSE, kwargs={**API_CALENDAR, "holiday_id": "sla_holiday"}, methods=("DELETE",)),
    "api/v1/service/calendars/<calendar_id>/public-holidays": Route(
        REFUSE, kwargs=API_CALENDAR, methods=("POST",), body={"years": [2026]}),
    "api/v1/service/sla-policies": Route(OWN, methods=("GET", "POST"),
                                         body={"name": "Taken over", "calendar_id": 1}),
    "api/v1/service/sla-policies/<policy_id>": Route(
        REFUSE, kwargs={"policy_id": "sla_policy"}, methods=("GET", "PATCH", "DELETE"),
        body={"version": 1, "name": "Taken over"}),
    "api/v1/service/escalation-rules": Route(
        OWN, methods=("GET", "POST"),
        body={"name": "Taken over", "trigger": "breach", "action": "raise_priority"}),
    "api/v1/service/escalation-rules/<rule_id>": Route(
        REFUSE, kwargs={"rule_id": "sla_rule"}, methods=("GET", "PATCH", "DELETE"),
        body={"version": 1, "name": "Taken over"}),
    "api/v1/service/sla-results": Route(OWN, methods=("GET",)),
    "api/v1/service/sla-results/record": Route(OWN, methods=("POST",),
                                               body={"period": "2020-01"}),
    "api/v1/service/sla-report": Route(OWN, methods=("GET",)),
}

API_ROUTES = {
    "/api/v1/service/calendars": {"get", "post"},
    "/api/v1/service/calendars/{calendar_id}": {"get", "patch", "delete"},
    "/api/v1/service/calendars/{calendar_id}/holidays": {"get", "post"},
    "/api/v1/service/calendars/{calendar_id}/holidays/{holiday_id}": {"delete"},
    "/api/v1/service/calendars/{calendar_id}/public-holidays": {"post"},
    "/api/v1/service/sla-policies": {"get", "post"},
    "/api/v1/service/sla-policies/{policy_id}": {"get", "patch", "delete"},
    "/api/v1/service/escalation-rules": {"get", "post"},
    "/api/v1/service/escalation-rules/{rule_id}": {"get", "patch", "delete"},
    "/api/v1/service/sla-results": {"get"},
    "/api/v1/service/sla-results/record": {"post"},
    "/api/v1/service/sla-report": {"get"},
}


def victim_records(*, org, owner, records):
    """The victim supplier's calendar (with an own holiday), policy and escalation rule, and
    a case with SLA clocks so that its report has a row."""
    from jalin.service import calendars

    calendar = calendars.calendar_create(organization=org, actor=owner,
                                         name="Victim Supply Secret Hours", load_holidays=False)
    holiday = calendars.holiday_add(calendar=calendar, actor=owner, date="2026-12-31",
                                    name="Victim Supply Secret Day")
    policy = calendars.policy_create(organization=org, actor=owner,
                                     name="Victim Supply Secret Policy", calendar=calendar,
                                     is_default=True,
                                     targets={("normal", "first_response"): 60})
    rule = calendars.rule_create(organization=org, actor=owner,
                                 name="Victim Supply Secret Rule", trigger="breach",
                                 action="raise_priority")
    return {"sla_calendar": calendar, "sla_holiday": holiday, "sla_policy": policy,
            "sla_rule": rule}
