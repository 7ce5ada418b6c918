"""Outsider walk and API-docs routes for activities, My day, the calendar and notifications."""

from . import OWN, REFUSE, Route

API = ("GET", "POST", "PATCH", "DELETE")

ROUTES = {
    "crm/activities/": Route(OWN, methods=("GET",)),
    "crm/activities/export.csv": Route(OWN, methods=("GET",)),
    "crm/activities/new/": Route(OWN, methods=("GET",)),
    # Posting the victim's account id must be refused (404), not log a call on it.
    "crm/activities/log-call/": Route(OWN, methods=("GET",)),
    "crm/activities/<int:pk>/": Route(REFUSE, kwargs={"pk": "crm_activity"}),
    "crm/activities/<int:pk>/edit/": Route(REFUSE, kwargs={"pk": "crm_activity"}),
    "crm/activities/<int:pk>/complete/": Route(REFUSE, kwargs={"pk": "crm_activity"}),
    "crm/activities/<int:pk>/cancel/": Route(REFUSE, kwargs={"pk": "crm_activity"}),
    "crm/activities/<int:pk>/delete/": Route(REFUSE, kwargs={"pk": "crm_activity"}),
    "crm/activities/<int:pk>/invite/": Route(REFUSE, kwargs={"pk": "crm_activity"}),
    "crm/activities/<int:pk>/meeting.ics": Route(REFUSE, kwargs={"pk": "crm_activity"}),
    "crm/my-day/": Route(OWN, methods=("GET",)),
    "crm/calendar/": Route(OWN, methods=("GET",)),
    "crm/calendar/week/": Route(OWN, methods=("GET",)),
    "crm/calendar/meetings.ics": Route(OWN, methods=("GET",)),
    "notifications/": Route(OWN, methods=("GET",)),
    "notifications/read/": Route(OWN),
    "api/v1/crm/activities": Route(OWN, methods=("GET",)),
    "api/v1/crm/activities/<activity_id>": Route(
        REFUSE, kwargs={"activity_id": "crm_activity"}, methods=API,
        body={"version": 1, "subject": "Taken over"},
    ),
    "api/v1/crm/activities/<activity_id>/complete": Route(
        REFUSE, kwargs={"activity_id": "crm_activity"}, methods=("POST",), body={},
    ),
    "api/v1/crm/activities/<activity_id>/ics": Route(
        REFUSE, kwargs={"activity_id": "crm_activity"}, methods=("GET",),
    ),
    "api/v1/crm/my-day": Route(OWN, methods=("GET",)),
    "api/v1/notifications": Route(OWN, methods=("GET",)),
    "api/v1/notifications/read": Route(OWN, methods=("POST",), body={"all": True}),
}

API_ROUTES = {
    "/api/v1/crm/activities": {"get", "post"},
    "/api/v1/crm/activities/{activity_id}": {"get", "patch", "delete"},
    "/api/v1/crm/activities/{activity_id}/complete": {"post"},
    "/api/v1/crm/activities/{activity_id}/ics": {"get"},
    "/api/v1/crm/my-day": {"get"},
    "/api/v1/notifications": {"get"},
    "/api/v1/notifications/read": {"post"},
}


def victim_records(*, org, owner, records):
    import datetime

    from django.utils import timezone

    from jalin.core.notifications import notify
    from jalin.crm.activities import services

    with_contact = records["crm_contact"]
    meeting = services.activity_create(
        organization=org, actor=owner, kind="meeting", subject="Victim Supply Secret meeting",
        due_at=timezone.now() + datetime.timedelta(hours=2), location="Victim Supply Secret HQ",
        account=records["crm_account"], contact=with_contact,
        attendee_contacts=[with_contact], remind_at=timezone.now())
    from django.db import transaction

    with transaction.atomic():
        notify(organization=org, user=owner, kind="reminder", key="victim-walk",
               title="Victim Supply Secret reminder")
    return {"crm_activity": meeting}
