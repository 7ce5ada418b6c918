"""Notifications: the bell's unread count (one query), the page with keyset pages and
mark-read, and the API; every read and write is the user's own, in the acting org."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from jalin.api.testing import ApiClient, bearer_token_for
from jalin.core.models import Notification
from jalin.core.notifications import notify
from jalin.tenancy.models import Membership


def note(org, user, key, title="Reminder: call Budi"):
    with transaction.atomic():
        return notify(organization=org, user=user, kind="reminder", key=key, title=title,
                      url="/crm/my-day/")


def test_bell_shows_unread_count_with_one_query(org, owner, owner_client):
    page = owner_client.get("/").content.decode()
    assert 'id="nav-bell"' in page and "nav-bell-count" not in page
    for i in range(3):
        note(org, owner, f"k{i}")
    page = owner_client.get("/").content.decode()
    assert '<span class="badge nav-bell-count">3</span>' in page
    with CaptureQueriesContext(connection) as context:
        owner_client.get("/")
    bell = [q for q in context.captured_queries if "core_notification" in q["sql"]]
    assert len(bell) == 1 and "COUNT(" not in bell[0]["sql"].upper()
    assert "LIMIT 100" in bell[0]["sql"].upper()


def test_page_lists_newest_first_and_marks_read(org, owner, member, owner_client):
    first = note(org, owner, "a", "First")
    note(org, owner, "b", "Second")
    note(org, member, "c", "Member's own")
    page = owner_client.get("/notifications/").content.decode()
    assert page.index("Second") < page.index("First") and "Member's own" not in page
    response = owner_client.post("/notifications/read/", {"id": first.pk})
    assert response.status_code == 302
    assert Notification.objects.get(pk=first.pk).read_at is not None
    assert Notification.objects.filter(user=owner, read_at__isnull=True).count() == 1
    owner_client.post("/notifications/read/", {"all": "1", "next": "https://evil.test/"})
    assert not Notification.objects.filter(user=owner, read_at__isnull=True).exists()
    assert Notification.objects.filter(user=member, read_at__isnull=True).count() == 1


def test_page_keyset(org, owner, owner_client):
    for i in range(35):
        note(org, owner, f"n{i}", f"Note {i:02d}")
    page = owner_client.get("/notifications/").content.decode()
    assert "Note 34" in page and "Note 04" not in page and "?before=" in page
    older = owner_client.get(
        "/notifications/?before=" + str(Notification.objects.order_by("pk")[5].pk))
    assert "Note 04" in older.content.decode()


def test_others_cannot_mark_mine(org, owner, outsider_client):
    mine = note(org, owner, "x")
    outsider_client.post("/notifications/read/", {"id": mine.pk})
    assert Notification.objects.get(pk=mine.pk).read_at is None


@pytest.fixture
def owner_api(owner):
    return ApiClient(token=bearer_token_for(Membership.objects.get(user=owner)))


def test_api_list_and_read(org, owner, member, owner_api):
    ids = [note(org, owner, f"k{i}", f"T{i}").pk for i in range(3)]
    foreign = note(org, member, "m").pk
    listed = owner_api.get("/notifications?limit=2").json()
    assert [n["title"] for n in listed["items"]] == ["T2", "T1"] and listed["next_cursor"]
    marked = owner_api.post("/notifications/read", {"ids": [ids[0], foreign]})
    assert marked.json() == {"marked": 1}
    assert Notification.objects.get(pk=foreign).read_at is None
    unread = owner_api.get("/notifications?unread=true").json()["items"]
    assert sorted(n["id"] for n in unread) == sorted(ids[1:])
    assert owner_api.post("/notifications/read", {"all": True}).json() == {"marked": 2}
    assert owner_api.post("/notifications/read", {"bogus": 1}).status_code == 422
