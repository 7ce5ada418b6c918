"""Outsider walk and API-docs routes for the BRM registers (requirements with sign-off,
changes, opportunities, improvements)."""

from . import OWN, REFUSE, Route

_REQ = {"pk": "brm_requirement"}
ROUTES = {
    "brm/requirements/": Route(OWN, methods=("GET",)),
    "brm/requirements/export.csv": Route(OWN, methods=("GET",)),
    "brm/requirements/new/": Route(OWN, methods=("GET",)),
    "brm/requirements/<int:pk>/": Route(REFUSE, kwargs=_REQ, methods=("GET",)),
    "brm/requirements/<int:pk>/edit/": Route(REFUSE, kwargs=_REQ),
    "brm/requirements/<int:pk>/transition/": Route(REFUSE, kwargs=_REQ, methods=("POST",)),
    "brm/requirements/<int:pk>/versions/<int:number>/": Route(
        REFUSE, kwargs={**_REQ, "number": "brm_version_number"}, methods=("GET",)),
    "brm/portal/requirements/": Route(OWN, methods=("GET",)),
    "brm/portal/requirements/<int:pk>/": Route(REFUSE, kwargs=_REQ, methods=("GET",)),
    "brm/portal/requirements/<int:pk>/sign/": Route(REFUSE, kwargs=_REQ, methods=("POST",)),
    "brm/changes/": Route(OWN, methods=("GET",)),
    "brm/changes/export.csv": Route(OWN, methods=("GET",)),
    "brm/changes/new/": Route(OWN, methods=("GET",)),
    "brm/changes/<int:pk>/": Route(REFUSE, kwargs={"pk": "brm_change"}),
    "brm/opportunities/": Route(OWN, methods=("GET",)),
    "brm/opportunities/export.csv": Route(OWN, methods=("GET",)),
    "brm/opportunities/new/": Route(OWN, methods=("GET",)),
    "brm/opportunities/<int:pk>/": Route(REFUSE, kwargs={"pk": "brm_opportunity"}),
    "brm/opportunities/<int:pk>/transition/": Route(
        REFUSE, kwargs={"pk": "brm_opportunity"}, methods=("POST",)),
    "brm/improvements/": Route(OWN, methods=("GET",)),
    "brm/improvements/export.csv": Route(OWN, methods=("GET",)),
    "brm/improvements/new/": Route(OWN, methods=("GET",)),
    "brm/improvements/<int:pk>/": Route(REFUSE, kwargs={"pk": "brm_improvement"}),
    "brm/improvements/<int:pk>/transition/": Route(
        REFUSE, kwargs={"pk": "brm_improvement"}, methods=("POST",)),
    # API
    "api/v1/brm/requirements": Route(OWN, methods=("GET", "POST"), body={}),
    "api/v1/brm/requirements/<requirement_id>": Route(
        REFUSE, kwargs={"requirement_id": "brm_requirement"}, methods=("GET", "PATCH"),
        body={"version": 1, "title": "Outsider"}),
    "api/v1/brm/requirements/<requirement_id>/versions/<number>": Route(
        REFUSE, kwargs={"requirement_id": "brm_requirement", "number": "brm_version_number"},
        methods=("GET",)),
    "api/v1/brm/requirements/<requirement_id>/transitions": Route(
        REFUSE, kwargs={"requirement_id": "brm_requirement"}, methods=("POST",),
        body={"action": "reject", "version": 1}),
    "api/v1/brm/portal/requirements": Route(OWN, methods=("GET",)),
    "api/v1/brm/portal/requirements/<requirement_id>": Route(
        REFUSE, kwargs={"requirement_id": "brm_requirement"}, methods=("GET",)),
    "api/v1/brm/portal/requirements/<requirement_id>/sign-offs": Route(
        REFUSE, kwargs={"requirement_id": "brm_requirement"}, methods=("POST",),
        body={"decision": "approved", "version_number": 1}),
    "api/v1/brm/changes": Route(OWN, methods=("GET", "POST"), body={}),
    "api/v1/brm/changes/<change_id>": Route(
        REFUSE, kwargs={"change_id": "brm_change"}, methods=("GET", "PATCH"),
        body={"version": 1, "title": "Outsider"}),
    "api/v1/brm/opportunities": Route(OWN, methods=("GET", "POST"), body={}),
    "api/v1/brm/opportunities/<opportunity_id>": Route(
        REFUSE, kwargs={"opportunity_id": "brm_opportunity"}, methods=("GET", "PATCH"),
        body={"version": 1, "title": "Outsider"}),
    "api/v1/brm/opportunities/<opportunity_id>/transitions": Route(
        REFUSE, kwargs={"opportunity_id": "brm_opportunity"}, methods=("POST",),
        body={"action": "decline", "version": 1}),
    "api/v1/brm/improvements": Route(OWN, methods=("GET", "POST"), body={}),
    "api/v1/brm/improvements/<improvement_id>": Route(
        REFUSE, kwargs={"improvement_id": "brm_improvement"}, methods=("GET", "PATCH"),
        body={"version": 1, "title": "Outsider"}),
    "api/v1/brm/improvements/<improvement_id>/transitions": Route(
        REFUSE, kwargs={"improvement_id": "brm_improvement"}, methods=("POST",),
        body={"action": "cancel", "version": 1}),
}

API_ROUTES = {
    "/api/v1/brm/requirements": {"get", "post"},
    "/api/v1/brm/requirements/{requirement_id}": {"get", "patch"},
    "/api/v1/brm/requirements/{requirement_id}/versions/{number}": {"get"},
    "/api/v1/brm/requirements/{requirement_id}/transitions": {"post"},
    "/api/v1/brm/portal/requirements": {"get"},
    "/api/v1/brm/portal/requirements/{requirement_id}": {"get"},
    "/api/v1/brm/portal/requirements/{requirement_id}/sign-offs": {"post"},
    "/api/v1/brm/changes": {"get", "post"},
    "/api/v1/brm/changes/{change_id}": {"get", "patch"},
    "/api/v1/brm/opportunities": {"get", "post"},
    "/api/v1/brm/opportunities/{opportunity_id}": {"get", "patch"},
    "/api/v1/brm/opportunities/{opportunity_id}/transitions": {"post"},
    "/api/v1/brm/improvements": {"get", "post"},
    "/api/v1/brm/improvements/{improvement_id}": {"get", "patch"},
    "/api/v1/brm/improvements/{improvement_id}/transitions": {"post"},
}


def victim_records(*, org, owner, records):
    """A qualified requirement awaiting the victim's buyer's sign-off, a change, an
    opportunity and an improvement, all marked with the victim text."""
    from jalin.brm import registers, requirements
    from jalin.crm.models import Account

    buyer = records["hub_relationship"].buyer
    account = Account.objects.create(organization=org, name="Victim Supply Secret Buyer",
                                     hub_organization=buyer)
    requirement = requirements.requirement_create(
        organization=org, account=account, title="Victim Supply Secret requirement",
        actor=owner, description="Victim Supply Secret needs", costs="10", benefits="20")
    for action in ("submit", "screen", "qualify"):
        requirement = requirements.requirement_transition(
            requirement=requirement, action=action, actor=owner, version=requirement.version)
    change = registers.change_create(organization=org, actor=owner, account=account,
                                     origin="ours", title="Victim Supply Secret change")
    opportunity = registers.opportunity_create(organization=org, actor=owner,
                                               title="Victim Supply Secret opportunity")
    improvement = registers.improvement_create(organization=org, actor=owner,
                                               title="Victim Supply Secret improvement")
    return {"brm_requirement": requirement, "brm_version_number": 1, "brm_change": change,
            "brm_opportunity": opportunity, "brm_improvement": improvement}
