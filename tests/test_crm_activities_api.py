"""/api/v1/crm/activities and /crm/my-day over HTTP: CRUD with per-kind errors, foreign ids
(404 in the path, 422 naming the field in the body), stale versions, idempotency, cursors,
permissions, the .ics endpoint and flat query counts."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from icalendar import Calendar

from jalin.api.testing import ApiClient, bearer_token_for
from jalin.crm import services as crm_services
from jalin.crm.activities import services
from jalin.crm.models import Activity
from jalin.tenancy.models import Membership
from jalin.tenancy.roles import Role

from .conftest import make_user


def api_for(user):
    return ApiClient(token=bearer_token_for(Membership.objects.get(user=user)))


@pytest.fixture
def owner_api(owner):
    return api_for(owner)


@pytest.fixture
def member_api(member):
    return api_for(member)


@pytest.fixture
def outsider_api(outsider):
    return api_for(outsider)


@pytest.fixture
def viewer_api(org):
    viewer = make_user("viewer")
    Membership.objects.create(user=viewer, organization=org, role=Role.VIEWER)
    return api_for(viewer)


@pytest.fixture
def contact(org, owner):
    account = crm_services.account_create(organization=org, actor=owner, name="PT Maju")
    return crm_services.contact_create(organization=org, actor=owner, last_name="Santoso",
                                       email="budi@maju.test", account=account)


def test_meeting_crud(org, member, member_api, contact):
    created = member_api.post("/crm/activities", {
        "kind": "meeting", "subject": "Demo", "due_at": "2026-12-01T10:00:00+07:00",
        "ends_at": "2026-12-01T11:00:00+07:00", "contact_id": contact.pk,
        "attendee_contact_ids": [contact.pk], "attendee_user_ids": [member.pk],
        "video_url": "https://meet.example.test/x"})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["account_id"] == contact.account_id and body["assignee_id"] == member.pk
    assert body["attendee_contact_ids"] == [contact.pk] and body["ical_uid"]
    url = f"/crm/activities/{body['id']}"
    patched = member_api.patch(url, {"version": 1, "location": "Lantai 3"})
    assert patched.status_code == 200 and patched.json()["version"] == 2
    assert patched.json()["attendee_user_ids"] == [member.pk]  # untouched
    stale = member_api.patch(url, {"version": 1, "location": "Lost"})
    assert stale.status_code == 409 and stale.json()["code"] == "stale"
    ics = member_api.get(f"{url}/ics")
    assert ics.status_code == 200 and ics["Content-Type"] == "text/calendar; charset=utf-8"
    (event,) = Calendar.from_ical(ics.content).walk("VEVENT")
    assert str(event["LOCATION"]) == "Lantai 3" and int(event["SEQUENCE"]) == 2
    done = member_api.post(f"{url}/complete", {"version": 2})
    assert done.status_code == 200 and done.json()["status"] == "done"
    assert member_api.delete(url).status_code == 204
    assert member_api.get(url).status_code == 404


def test_validation_errors_name_the_field(org, member_api, outsider, contact, other_org):
    rival = crm_services.account_create(organization=other_org, actor=outsider, name="Rival")
    cases = [
        ({"kind": "call", "subject": "x"}, "direction"),
        ({"kind": "meeting", "subject": "x"}, "due_at"),
        ({"kind": "meeting", "subject": "x", "due_at": "2026-12-01T10:00:00Z",
          "ends_at": "2026-12-01T09:00:00Z"}, "ends_at"),
        ({"kind": "task", "subject": "x"}, "due_at"),
        ({"kind": "task", "subject": "x", "due_at": "2026-12-01T10:00:00Z",
          "account_id": rival.pk}, "account_id"),
        ({"kind": "meeting", "subject": "x", "due_at": "2026-12-01T10:00:00Z",
          "attendee_user_ids": [outsider.pk]}, "attendee_user_ids"),
        ({"kind": "task", "subject": "x", "due_at": "2026-12-01T10:00:00Z",
          "assignee_id": outsider.pk}, "assignee_id"),
    ]
    for body, field in cases:
        response = member_api.post("/crm/activities", body)
        assert response.status_code == 422, (body, response.content)
        assert field in {e["field"] for e in response.json()["errors"]}, response.json()
    bad_kind = member_api.post("/crm/activities", {"kind": "party", "subject": "x"})
    assert bad_kind.status_code == 422
    negative = member_api.post("/crm/activities", {"kind": "call", "subject": "x",
                                                   "direction": "inbound",
                                                   "duration_seconds": -5})
    assert negative.status_code == 422
    assert not Activity.objects.exists()


def test_permissions(org, owner, outsider_api, viewer_api):
    task = services.activity_create(organization=org, actor=owner, kind="task", subject="T",
                                    due_at=timezone.now())
    url = f"/crm/activities/{task.pk}"
    assert outsider_api.get(url).status_code == 404
    assert outsider_api.patch(url, {"version": 1, "subject": "x"}).status_code == 404
    assert outsider_api.post(f"{url}/complete", {}).status_code == 404
    assert outsider_api.get("/crm/activities").json()["items"] == []
    assert viewer_api.get(url).status_code == 200
    assert viewer_api.post("/crm/activities", {"kind": "note",
                                               "subject": "x"}).status_code == 403
    assert viewer_api.delete(url).status_code == 403
    assert Activity.objects.get().status == "open"


def test_idempotent_create(member_api):
    body = {"kind": "note", "subject": "Once"}
    headers = {"Idempotency-Key": "act-1"}
    first = member_api.post("/crm/activities", body, headers=headers)
    again = member_api.post("/crm/activities", body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true" and Activity.objects.count() == 1


def test_list_filters_cursor_and_my_day(org, owner, member, owner_api):
    now = timezone.now()
    for i in range(5):
        services.activity_create(organization=org, actor=owner, kind="task", subject=f"T{i}",
                                 due_at=now + datetime.timedelta(hours=i))
    services.activity_create(organization=org, actor=owner, kind="note", subject="N",
                             assignee=member)
    first = owner_api.get("/crm/activities?kind=task&limit=3").json()
    second = owner_api.get(f"/crm/activities?kind=task&limit=3&cursor={first['next_cursor']}")
    subjects = [a["subject"] for a in first["items"] + second.json()["items"]]
    assert sorted(subjects) == ["T0", "T1", "T2", "T3", "T4"]
    mine = owner_api.get(f"/crm/activities?assignee_id={member.pk}").json()["items"]
    assert [a["subject"] for a in mine] == ["N"]
    day = owner_api.get("/crm/my-day").json()
    assert len(day["due_today"]) + len(day["upcoming"]) == 5
    assert owner_api.get("/crm/activities?cursor=bogus").status_code == 400


def test_list_query_count_does_not_grow(org, owner, owner_api, contact):
    def rows(count):
        for i in range(count):
            services.activity_create(
                organization=org, actor=owner, kind="meeting", subject=f"M{i}",
                due_at=timezone.now() + datetime.timedelta(hours=i),
                attendee_contacts=[contact], contact=contact)

    def count(url):
        with CaptureQueriesContext(connection) as context:
            assert owner_api.get(url).status_code == 200
        return len(context.captured_queries)

    rows(3)
    count("/crm/activities")  # warm up (the token's last-use stamp is written once)
    few = [count("/crm/activities"), count("/crm/my-day")]
    rows(30)
    assert [count("/crm/activities"), count("/crm/my-day")] == few


@pytest.mark.parametrize("query", [
    "date_from=0001-01-01&date_to=9999-12-31", "date_from=9999-12-31", "assignee_id=0",
    "kind=party", "account_id=99999999999999999999",
])
def test_odd_filters_never_fail(owner_api, query):
    assert owner_api.get(f"/crm/activities?{query}").status_code in (200, 422)


@pytest.mark.parametrize("when", ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59+14:00",
                                  "9999-12-31T23:59:59"])
def test_extreme_dates_are_422(member_api, when):
    response = member_api.post("/crm/activities", {"kind": "task", "subject": "x",
                                                   "due_at": when})
    assert response.status_code == 422, response.content
    assert not Activity.objects.exists()
