"""Outsider walk and API-docs routes for satisfaction surveys."""

from . import OWN, PUBLIC, REFUSE, Route

ROUTES = {
    "service/surveys/": Route(OWN, methods=("GET",)),
    "service/surveys/new/": Route(OWN),
    "service/surveys/dashboard/": Route(OWN, methods=("GET",)),
    "service/surveys/answers/": Route(OWN, methods=("GET",)),
    "service/surveys/answers/export.csv": Route(OWN, methods=("GET",)),
    "service/surveys/<int:pk>/": Route(REFUSE, kwargs={"pk": "survey"}, methods=("GET",)),
    "service/surveys/<int:pk>/edit/": Route(REFUSE, kwargs={"pk": "survey"}),
    "service/surveys/<int:pk>/send/": Route(REFUSE, kwargs={"pk": "survey"},
                                            methods=("POST",)),
    # The token is the credential: a wrong one is a plain "not found" page, for anyone.
    "service/s/<str:token>/": Route(PUBLIC, kwargs={"token": "bogus"}),
    "service/my/surveys/": Route(OWN, methods=("GET",)),
    "service/my/surveys/<int:pk>/": Route(REFUSE, kwargs={"pk": "survey_invitation"}),
    "api/v1/service/surveys": Route(OWN, methods=("GET", "POST"), body={}),
    "api/v1/service/surveys/<survey_id>": Route(
        REFUSE, kwargs={"survey_id": "survey"}, methods=("GET", "PATCH"),
        body={"version": 1, "name": "Taken over"}),
    "api/v1/service/surveys/<survey_id>/invitations": Route(
        REFUSE, kwargs={"survey_id": "survey"}, methods=("GET", "POST"),
        body={"account_id": 1}),
    "api/v1/service/survey-answers": Route(OWN, methods=("GET",)),
    "api/v1/service/survey-stats": Route(OWN, methods=("GET",)),
    "api/v1/service/portal/survey-invitations": Route(OWN, methods=("GET",)),
    "api/v1/service/portal/survey-invitations/<invitation_id>/answer": Route(
        REFUSE, kwargs={"invitation_id": "survey_invitation"}, methods=("POST",),
        body={"score": 3}),
}

API_ROUTES = {
    "/api/v1/service/surveys": {"get", "post"},
    "/api/v1/service/surveys/{survey_id}": {"get", "patch"},
    "/api/v1/service/surveys/{survey_id}/invitations": {"get", "post"},
    "/api/v1/service/survey-answers": {"get"},
    "/api/v1/service/survey-stats": {"get"},
    "/api/v1/service/portal/survey-invitations": {"get"},
    "/api/v1/service/portal/survey-invitations/{invitation_id}/answer": {"post"},
}


def victim_records(*, org, owner, records):
    """A victim survey, an answered invitation (with a secret comment) and an open one
    addressed to the victim's own buyer."""
    from jalin.service import surveys

    survey = surveys.survey_create(
        organization=org, actor=owner, name="Victim Supply Secret survey", kind="csat",
        question="Victim Supply Secret question?", trigger="manual", good_threshold=4)
    buyer = records["hub_relationship"].buyer
    account = records["crm_account"]
    answered, _token = surveys.invitation_create(
        survey=survey, account=account, buyer=buyer,
        recipient_email="victim-invitee@victim.test")
    surveys.survey_answer(invitation=answered, score=2,
                          comment="Victim Supply Secret comment")
    invitation, _token = surveys.invitation_create(
        survey=survey, account=account, buyer=buyer,
        recipient_email="victim-invitee@victim.test")
    return {"survey": survey, "survey_invitation": invitation}
