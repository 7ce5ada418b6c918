"""Idempotency-Key: replay, misuse, 5xx rollback, expiry, and concurrent duplicates."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from jalin.api.idempotency import idempotency_records_purge
from jalin.api.models import IdempotencyRecord
from jalin.api.routers import members as members_router
from jalin.api.testing import ApiClient, bearer_token_for
from jalin.core.events_models import Event
from jalin.core.models import AuditLog
from jalin.tenancy.models import Invitation, Membership

INVITE = {"email": "buyer@example.test", "role": "buyer"}


@pytest.fixture
def as_owner(owner):
    return ApiClient(token=bearer_token_for(Membership.objects.get(user=owner)))


def _key(value):
    return {"Idempotency-Key": value}


def _counts():
    return Invitation.objects.count(), AuditLog.objects.count(), Event.objects.count()


@pytest.mark.django_db
def test_replay_returns_the_first_response_and_creates_nothing(as_owner):
    first = as_owner.post("/invitations", INVITE, headers=_key("k-1"))
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first
    before = _counts()
    again = as_owner.post("/invitations", INVITE, headers=_key("k-1"))
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert again["Content-Type"] == first["Content-Type"]
    assert _counts() == before
    # Same JSON with other key order and spacing is the same request.
    reordered = as_owner.post("/invitations", '{ "role": "buyer",  "email": "buyer@example.test" }',
                              headers=_key("k-1"))
    assert reordered.status_code == 201 and reordered["Idempotent-Replayed"] == "true"
    # Without a key, a second POST is a second invitation.
    assert as_owner.post("/invitations", INVITE).status_code == 201
    assert Invitation.objects.count() == 2


@pytest.mark.django_db
def test_same_key_with_other_body_or_path_is_422(as_owner, org):
    as_owner.post("/invitations", INVITE, headers=_key("k-2"))
    before = _counts()
    for response in [
        as_owner.post("/invitations", {**INVITE, "role": "sales"}, headers=_key("k-2")),
        as_owner.patch("/organization", {"version": 1, "city": "Solo"}, headers=_key("k-2")),
    ]:
        assert response.status_code == 422
        assert response["Content-Type"] == "application/problem+json"
        body = response.json()
        assert body["code"] == "idempotency_key_reused"
        assert body["errors"][0]["field"] == "Idempotency-Key"
    assert _counts() == before
    org.refresh_from_db()
    assert org.city == ""


@pytest.mark.django_db
def test_keys_are_scoped_to_the_caller(as_owner, outsider, member):
    as_owner.post("/invitations", INVITE, headers=_key("shared"))
    as_outsider = ApiClient(token=bearer_token_for(Membership.objects.get(user=outsider)))
    response = as_outsider.post("/invitations", INVITE, headers=_key("shared"))
    assert response.status_code == 201 and "Idempotent-Replayed" not in response
    assert Invitation.objects.count() == 2
    assert {i.organization_id for i in Invitation.objects.all()} == {
        Membership.objects.get(user=outsider).organization_id,
        Membership.objects.get(user=member).organization_id,
    }


@pytest.mark.django_db
def test_domain_errors_are_replayed_too(as_owner, member):
    body = {"email": member.email, "role": "sales"}
    first = as_owner.post("/invitations", body, headers=_key("k-err"))
    assert first.status_code == 422 and first.json()["code"] == "already_member"
    again = as_owner.post("/invitations", body, headers=_key("k-err"))
    assert again.status_code == 422 and again["Idempotent-Replayed"] == "true"


@pytest.mark.django_db
def test_delete_with_key_is_replayed_instead_of_failing(as_owner):
    invitation = as_owner.post("/invitations", INVITE).json()
    first = as_owner.delete(f"/invitations/{invitation['id']}", headers=_key("del-1"))
    assert first.status_code == 204
    again = as_owner.delete(f"/invitations/{invitation['id']}", headers=_key("del-1"))
    assert again.status_code == 204 and again["Idempotent-Replayed"] == "true"
    # Without the key the second revoke is the honest domain error.
    assert as_owner.delete(f"/invitations/{invitation['id']}").status_code == 422


@pytest.mark.django_db
def test_server_errors_are_not_stored_and_roll_back(as_owner, monkeypatch):
    original = members_router.invitation_create

    def create_then_crash(**kwargs):
        original(**kwargs)
        raise RuntimeError("boom after the write")

    monkeypatch.setattr(members_router, "invitation_create", create_then_crash)
    before = _counts()
    response = as_owner.post("/invitations", INVITE, headers=_key("k-500"))
    assert response.status_code == 500
    assert response["Content-Type"] == "application/problem+json"
    assert "boom" not in response.content.decode()
    assert _counts() == before  # the write inside the handler was rolled back
    assert not IdempotencyRecord.objects.exists()

    monkeypatch.setattr(members_router, "invitation_create", original)
    retry = as_owner.post("/invitations", INVITE, headers=_key("k-500"))
    assert retry.status_code == 201 and "Idempotent-Replayed" not in retry
    assert Invitation.objects.count() == 1


@pytest.mark.django_db
def test_keys_expire_after_24_hours(as_owner):
    as_owner.post("/invitations", INVITE, headers=_key("old"))
    as_owner.post("/invitations", {**INVITE, "email": "b@example.test"}, headers=_key("fresh"))
    IdempotencyRecord.objects.filter(key="old").update(
        created_at=timezone.now() - timedelta(hours=25)
    )
    # Expired but not yet purged: the key is free for a new request.
    response = as_owner.post("/invitations", {**INVITE, "email": "c@example.test"},
                             headers=_key("old"))
    assert response.status_code == 201 and "Idempotent-Replayed" not in response
    IdempotencyRecord.objects.filter(key="old").update(
        created_at=timezone.now() - timedelta(hours=25)
    )
    assert idempotency_records_purge() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["fresh"]


@pytest.mark.django_db
def test_records_store_scope_and_fingerprint(as_owner, owner, org):
    as_owner.post("/invitations", INVITE, headers=_key("k-rec"))
    record = IdempotencyRecord.objects.get()
    assert (record.organization, record.user, record.method, record.path) == (
        org, owner, "POST", "/api/v1/invitations"
    )
    assert len(record.request_fingerprint) == 64 and record.status_code == 201
    assert record.completed_at is not None


def _post_concurrently(token, count, headers, monkeypatch):
    """POST the same invitation from `count` threads at once; the handler dawdles so the
    requests really overlap."""
    original = members_router.invitation_create

    def slow_create(**kwargs):
        time.sleep(0.3)
        return original(**kwargs)

    monkeypatch.setattr(members_router, "invitation_create", slow_create)
    barrier = threading.Barrier(count)
    responses = [None] * count

    def worker(index):
        try:
            barrier.wait()
            responses[index] = ApiClient(token=token).post("/invitations", INVITE,
                                                           headers=headers)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return responses


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_create_exactly_one(owner, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: concurrency is proven with real row locks")
    token = bearer_token_for(Membership.objects.get(user=owner))

    responses = _post_concurrently(token, 5, _key("race-1"), monkeypatch)
    assert [r.status_code for r in responses] == [201] * 5
    assert Invitation.objects.count() == 1
    assert len({r.content for r in responses}) == 1
    assert sum("Idempotent-Replayed" not in r for r in responses) == 1
    assert IdempotencyRecord.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_without_key_do_overlap(owner, monkeypatch):
    # Control for the test above: the same threads without a key really run in parallel
    # and create one invitation each, so "exactly one" there is the key's doing.
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
    token = bearer_token_for(Membership.objects.get(user=owner))
    started = time.monotonic()
    responses = _post_concurrently(token, 5, {}, monkeypatch)
    assert [r.status_code for r in responses] == [201] * 5
    assert Invitation.objects.count() == 5
    assert time.monotonic() - started < 5 * 0.3  # they overlapped
