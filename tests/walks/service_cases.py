"""Outsider walk and API-docs routes for the service desk's cases, canned replies and teams,
and the customer portal's case pages."""

from . import OWN, REFUSE, Route

ROUTES = {
    "service/": Route(OWN, methods=("GET",)),
    "service/cases/": Route(OWN, methods=("GET",)),
    "service/cases/export.csv": Route(OWN, methods=("GET",)),
    "service/cases/new/": Route(OWN, methods=("GET",)),
    "service/cases/new/contacts/": Route(OWN, kwargs={}, methods=("GET",)),
    "service/cases/<int:pk>/": Route(REFUSE, kwargs={"pk": "service_case"}, methods=("GET",)),
    "service/cases/<int:pk>/reply/": Route(REFUSE, kwargs={"pk": "service_case"},
                                           methods=("POST",)),
    "service/cases/<int:pk>/canned/": Route(REFUSE, kwargs={"pk": "service_case"},
                                            methods=("GET",)),
    "service/cases/<int:pk>/status/": Route(REFUSE, kwargs={"pk": "service_case"},
                                            methods=("POST",)),
    "service/cases/<int:pk>/edit/": Route(REFUSE, kwargs={"pk": "service_case"},
                                          methods=("POST",)),
    "service/cases/<int:pk>/merge/": Route(REFUSE, kwargs={"pk": "service_case"}),
    "service/canned-replies/": Route(OWN, methods=("GET",)),
    "service/canned-replies/new/": Route(OWN, methods=("GET",)),
    "service/canned-replies/<int:pk>/": Route(REFUSE, kwargs={"pk": "service_canned_reply"}),
    "service/canned-replies/<int:pk>/delete/": Route(
        REFUSE, kwargs={"pk": "service_canned_reply"}, methods=("POST",)),
    "service/teams/": Route(OWN, methods=("GET",)),
    "service/teams/new/": Route(OWN, methods=("GET",)),
    "service/teams/<int:pk>/": Route(REFUSE, kwargs={"pk": "service_team"}),
    "service/my/cases/": Route(OWN, methods=("GET",)),
    "service/my/cases/new/": Route(OWN, methods=("GET",)),
    "service/my/cases/<int:pk>/": Route(REFUSE, kwargs={"pk": "service_case"},
                                        methods=("GET",)),
    "service/my/cases/<int:pk>/reply/": Route(REFUSE, kwargs={"pk": "service_case"},
                                              methods=("POST",)),
}

API_ROUTES = {}


def victim_records(*, org, owner, records):
    """A complaint of the victim supplier's customer with an internal note and a reply, a
    canned reply and a team."""
    from jalin.service import cases, desk

    case = cases.case_open(
        organization=org, subject="Victim Supply Secret complaint", kind="complaint",
        channel="staff", actor=owner, account=records["crm_account"],
        description="Victim Supply Secret description")
    cases.case_add_message(case=case, body="Victim Supply Secret internal note",
                           from_staff=True, channel="staff", visibility="internal",
                           author=owner)
    cases.case_add_message(case=case, body="Victim Supply Secret reply", from_staff=True,
                           channel="staff", author=owner)
    reply = desk.canned_reply_create(organization=org, actor=owner,
                                     title="Victim Supply Secret canned",
                                     body="Victim Supply Secret canned body")
    team = desk.team_create(organization=org, actor=owner, name="Victim Supply Secret team",
                            members=[owner])
    return {"service_case": case, "service_canned_reply": reply, "service_team": team}

ROUTES.update({
    "api/v1/service/cases": Route(OWN, methods=("GET", "POST"), body={}),
    "api/v1/service/cases/<case_id>": Route(
        REFUSE, kwargs={"case_id": "service_case"}, methods=("GET", "PATCH"),
        body={"version": 1, "priority": "low"}),
    "api/v1/service/cases/<case_id>/status": Route(
        REFUSE, kwargs={"case_id": "service_case"}, methods=("POST",),
        body={"status": "open"}),
    "api/v1/service/cases/<case_id>/merge": Route(
        REFUSE, kwargs={"case_id": "service_case"}, methods=("POST",), body={"target_id": 1}),
    "api/v1/service/cases/<case_id>/messages": Route(
        REFUSE, kwargs={"case_id": "service_case"}, methods=("GET", "POST"),
        body={"body": "outsider"}),
    "api/v1/service/cases/<case_id>/canned-replies/<reply_id>": Route(
        REFUSE, kwargs={"case_id": "service_case", "reply_id": "service_canned_reply"},
        methods=("GET",)),
    "api/v1/service/portal/cases": Route(OWN, methods=("GET", "POST"), body={}),
    "api/v1/service/portal/cases/<case_id>": Route(
        REFUSE, kwargs={"case_id": "service_case"}, methods=("GET",)),
    "api/v1/service/portal/cases/<case_id>/messages": Route(
        REFUSE, kwargs={"case_id": "service_case"}, methods=("GET", "POST"),
        body={"body": "outsider"}),
    "api/v1/service/canned-replies": Route(OWN, methods=("GET", "POST"), body={}),
    "api/v1/service/canned-replies/<reply_id>": Route(
        REFUSE, kwargs={"reply_id": "service_canned_reply"}, methods=("GET", "PATCH", "DELETE"),
        body={"title": "x", "body": "y", "version": 1}),
    "api/v1/service/teams": Route(OWN, methods=("GET", "POST"), body={}),
    "api/v1/service/teams/<team_id>": Route(
        REFUSE, kwargs={"team_id": "service_team"}, methods=("GET", "PATCH"),
        body={"name": "outsider"}),
})

API_ROUTES.update({
    "/api/v1/service/cases": {"get", "post"},
    "/api/v1/service/cases/{case_id}": {"get", "patch"},
    "/api/v1/service/cases/{case_id}/status": {"post"},
    "/api/v1/service/cases/{case_id}/merge": {"post"},
    "/api/v1/service/cases/{case_id}/messages": {"get", "post"},
    "/api/v1/service/cases/{case_id}/canned-replies/{reply_id}": {"get"},
    "/api/v1/service/portal/cases": {"get", "post"},
    "/api/v1/service/portal/cases/{case_id}": {"get"},
    "/api/v1/service/portal/cases/{case_id}/messages": {"get", "post"},
    "/api/v1/service/canned-replies": {"get", "post"},
    "/api/v1/service/canned-replies/{reply_id}": {"get", "patch", "delete"},
    "/api/v1/service/teams": {"get", "post"},
    "/api/v1/service/teams/{team_id}": {"get", "patch"},
})
