"""Outsider walk and API-docs routes for threads (comments and @mentions)."""

from . import OWN, REFUSE, Route

API = ("GET", "POST", "PATCH", "DELETE")

ROUTES = {
    # Posting names the record in the form: the victim's account id must answer 404.
    "crm/comments/new/": Route(OWN),
    "crm/comments/<int:pk>/edit/": Route(REFUSE, kwargs={"pk": "crm_comment"}),
    "crm/comments/<int:pk>/delete/": Route(REFUSE, kwargs={"pk": "crm_comment"}),
    "crm/comments/<int:pk>/history/": Route(REFUSE, kwargs={"pk": "crm_comment"}),
    "crm/threads/accounts/<int:pk>/": Route(REFUSE, kwargs={"pk": "crm_account"}),
    "crm/threads/contacts/<int:pk>/": Route(REFUSE, kwargs={"pk": "crm_contact"}),
    "crm/threads/activities/<int:pk>/": Route(REFUSE, kwargs={"pk": "crm_activity"}),
    "crm/mentions/": Route(OWN, methods=("GET",)),
    "api/v1/crm/comments": Route(OWN, methods=("GET", "POST"),
                                 body={"body": "Taken over"}),
    "api/v1/crm/comments/<comment_id>": Route(
        REFUSE, kwargs={"comment_id": "crm_comment"}, methods=API,
        body={"version": 2, "body": "Taken over"},
    ),
    "api/v1/crm/comments/<comment_id>/revisions": Route(
        REFUSE, kwargs={"comment_id": "crm_comment"}, methods=("GET",),
    ),
}

API_ROUTES = {
    "/api/v1/crm/comments": {"get", "post"},
    "/api/v1/crm/comments/{comment_id}": {"get", "patch", "delete"},
    "/api/v1/crm/comments/{comment_id}/revisions": {"get"},
}


def victim_records(*, org, owner, records):
    from jalin.crm.threads import services

    comment = services.comment_post(
        organization=org, actor=owner, record=records["crm_account"],
        body="Victim Supply Secret plan, ask @victim-member")
    comment = services.comment_edit(comment=comment, actor=owner, version=1,
                                    body="Victim Supply Secret plan v2, ask @victim-member")
    services.comment_post(organization=org, actor=owner, record=records["crm_account"],
                          body="Victim Supply Secret reply", parent=comment)
    services.comment_post(organization=org, actor=owner, record=records["crm_contact"],
                          body="Victim Supply Secret about the person")
    if records.get("crm_activity") is not None:
        services.comment_post(organization=org, actor=owner, record=records["crm_activity"],
                              body="Victim Supply Secret about the meeting")
    return {"crm_comment": comment}
