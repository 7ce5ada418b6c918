"""The keyset pagination helper, directly and through list endpoints."""

import base64
import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from jalin.api.pagination import InvalidCursor, encode_cursor, paginate
from jalin.api.testing import ApiClient, bearer_token_for
from jalin.core.audit import audit_record
from jalin.core.models import AuditLog
from jalin.tenancy.models import Invitation, Membership

pytestmark = pytest.mark.django_db


def _walk(queryset, *, order, limit):
    seen, cursor, pages = [], None, 0
    while True:
        page = paginate(queryset, cursor=cursor, limit=limit, order=order)
        seen.extend(page.items)
        pages += 1
        if page.next_cursor is None:
            return seen, pages
        cursor = page.next_cursor


def test_descending_by_id_visits_every_row_once(org):
    for n in range(7):
        audit_record(actor=None, organization=org, action=f"a{n}")
    rows, pages = _walk(AuditLog.objects.all(), order=("-id",), limit=3)
    assert [r.pk for r in rows] == list(AuditLog.objects.order_by("-id").values_list("pk",
                                                                                     flat=True))
    assert pages == 3


def test_created_at_then_id_handles_equal_timestamps(org, owner):
    same = timezone.now()
    for n in range(5):
        Invitation.objects.create(organization=org, email=f"e{n}@x.test", role="sales",
                                  token_hash=f"h{n}", expires_at=same + timedelta(days=1),
                                  created_at=same if n < 4 else same - timedelta(seconds=1))
    Invitation.objects.create(organization=org, email="newest@x.test", role="sales",
                              token_hash="hn", expires_at=same + timedelta(days=1),
                              created_at=same + timedelta(microseconds=1))
    rows, _pages = _walk(Invitation.objects.all(), order=("-created_at", "-id"), limit=2)
    expected = list(Invitation.objects.order_by("-created_at", "-id"))
    assert rows == expected
    assert rows[0].email == "newest@x.test" and rows[-1].email == "e4@x.test"


def test_ascending_order(org):
    for n in range(5):
        audit_record(actor=None, organization=org, action=f"a{n}")
    rows, _pages = _walk(AuditLog.objects.all(), order=("id",), limit=2)
    assert [r.pk for r in rows] == sorted(r.pk for r in rows)
    assert len(rows) == 5


def test_no_count_query_and_one_query_per_page(org):
    for n in range(5):
        audit_record(actor=None, organization=org, action=f"a{n}")
    with CaptureQueriesContext(connection) as queries:
        page = paginate(AuditLog.objects.all(), limit=2, order=("-id",))
    assert len(queries) == 1
    assert "COUNT(" not in queries[0]["sql"].upper()
    assert len(page.items) == 2 and page.next_cursor


@pytest.mark.parametrize("cursor", [
    "%%%", "bm90IGpzb24", base64.urlsafe_b64encode(b'{"a": 1}').decode(),
    encode_cursor(("-created_at", "-id"), ["2024-01-01T00:00:00+00:00", 5]),  # other order
    encode_cursor(("-id",), ["five"]), encode_cursor(("-id",), [2**70]),
    encode_cursor(("-id",), [None]), encode_cursor(("-id",), [True]),
    encode_cursor(("-id",), [1, 2]),
])
def test_invalid_cursors_raise(cursor, org):
    with pytest.raises(InvalidCursor):
        paginate(AuditLog.objects.all(), cursor=cursor, order=("-id",))


def test_bad_datetime_in_cursor_is_invalid(org):
    cursor = encode_cursor(("-created_at", "-id"), ["yesterday", 1])
    with pytest.raises(InvalidCursor):
        paginate(Invitation.objects.all(), cursor=cursor, order=("-created_at", "-id"))


def test_order_must_end_with_pk_and_share_direction():
    with pytest.raises(ValueError):
        paginate(AuditLog.objects.all(), order=("-created_at",))
    with pytest.raises(ValueError):
        paginate(AuditLog.objects.all(), order=("-created_at", "id"))


def test_api_list_walks_pages_with_next_cursor(owner, org):
    api = ApiClient(token=bearer_token_for(Membership.objects.get(user=owner)))
    for n in range(5):
        audit_record(actor=None, organization=org, action=f"bulk.{n}")
    ids, url = [], "/audit-log?limit=2&action__ignored=1"
    while url:
        body = api.get(url).json()
        assert len(body["items"]) <= 2
        ids.extend(item["id"] for item in body["items"])
        url = f"/audit-log?limit=2&cursor={body['next_cursor']}" if body["next_cursor"] else None
    assert ids == list(AuditLog.objects.filter(organization=org).order_by("-id")
                       .values_list("id", flat=True))
    # The cursor is opaque but not secret: it holds the sort values, nothing else.
    first = api.get("/audit-log?limit=1").json()["next_cursor"]
    decoded = json.loads(base64.urlsafe_b64decode(first + "=" * (-len(first) % 4)))
    assert decoded == [["-id"], [ids[0]]]
