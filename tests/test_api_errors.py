"""Bad input of every kind gets an RFC 9457 problem document and changes nothing; never a 500."""

import json

import pytest
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jalin.api.testing import ApiClient, bearer_token_for
from jalin.tenancy.models import Invitation, Membership

pytestmark = pytest.mark.django_db


@pytest.fixture
def as_owner(owner):
    return ApiClient(token=bearer_token_for(Membership.objects.get(user=owner)))


def _problem(response, status, code=None):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    assert body["title"] and body["type"]
    assert body["instance"].startswith("/api/v1/")
    if code:
        assert body["code"] == code
    return body


def test_malformed_json_is_400(as_owner):
    for raw in ["{bad", "", "\xff", "[1,", "{'single': 'quotes'}"]:
        if raw == "":
            continue
        _problem(as_owner.post("/invitations", raw), 400, "malformed_json")
    assert not Invitation.objects.exists()


def test_wrong_types_missing_and_unknown_fields_are_422_with_field_errors(as_owner):
    body = _problem(as_owner.post("/invitations", {"email": ["a"], "role": 7}), 422,
                    "validation_error")
    assert {e["field"] for e in body["errors"]} == {"email", "role"}
    assert all(e["message"] and e["code"] for e in body["errors"])

    body = _problem(as_owner.post("/invitations", {"role": "sales"}), 422, "validation_error")
    assert body["errors"] == [{"field": "email", "loc": ["body", "email"],
                               "message": "Field required", "code": "missing"}]

    body = _problem(as_owner.post("/invitations", {"email": "a@example.test", "role": "sales",
                                                   "is_admin": True}), 422, "validation_error")
    assert [(e["field"], e["code"]) for e in body["errors"]] == [("is_admin", "extra_forbidden")]

    for not_an_object in ([1, 2], "text", 5, None):
        _problem(as_owner.post("/invitations", json.dumps(not_an_object)), 422,
                 "validation_error")
    _problem(as_owner.post("/invitations", b""), 422, "validation_error")
    assert not Invitation.objects.exists()


def test_too_long_strings_and_huge_numbers_are_422(as_owner, org):
    _problem(as_owner.post("/invitations", {"email": "a" * 10_000 + "@x.test", "role": "sales"}),
             422, "validation_error")
    _problem(as_owner.patch("/organization", {"version": 10**40, "city": "X"}), 422,
             "validation_error")
    _problem(as_owner.patch("/organization", {"version": "one"}), 422, "validation_error")
    org.refresh_from_db()
    assert org.version == 1


def test_huge_body_is_413(as_owner):
    huge = json.dumps({"email": "a@example.test", "role": "sales", "pad": "x" * (3 * 1024 * 1024)})
    _problem(as_owner.post("/invitations", huge), 413, "payload_too_large")
    assert not Invitation.objects.exists()


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=100)
def test_body_limit_follows_django_setting(as_owner):
    body = {"email": "someone.with.a.long.name@example.test", "role": "sales", "x": "y" * 100}
    _problem(as_owner.post("/invitations", body), 413, "payload_too_large")


def test_unknown_path_and_wrong_method(as_owner):
    _problem(as_owner.get("/no-such-thing"), 404, "not_found")
    _problem(as_owner.post("/no/such/thing", {}), 404, "not_found")
    response = as_owner.post("/me", {})
    _problem(response, 405, "method_not_allowed")
    assert response["Allow"] == "GET"
    _problem(as_owner.request("PUT", "/organization", {}), 405, "method_not_allowed")


def test_bad_ids_in_paths_are_404_or_422_never_500(as_owner):
    _problem(as_owner.get("/members/999999"), 404, "not_found")
    _problem(as_owner.get(f"/members/{2**63 + 5}"), 404)
    _problem(as_owner.get("/members/abc"), 422, "validation_error")
    _problem(as_owner.delete(f"/invitations/{2**70}"), 404)
    _problem(as_owner.get("/audit-log/-1"), 404)


def test_bad_query_parameters(as_owner):
    _problem(as_owner.get("/members?limit=0"), 422, "validation_error")
    _problem(as_owner.get("/members?limit=201"), 422, "validation_error")
    _problem(as_owner.get("/members?limit=ten"), 422, "validation_error")
    _problem(as_owner.get("/members?cursor=not-a-cursor"), 400, "invalid_cursor")
    _problem(as_owner.get("/invitations?status=weird"), 422, "validation_error")


def test_invalid_idempotency_key_is_400(as_owner):
    _problem(as_owner.post("/invitations", {"email": "a@example.test", "role": "sales"},
                           headers={"Idempotency-Key": "x" * 300}), 400,
             "invalid_idempotency_key")
    assert not Invitation.objects.exists()


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.sampled_from(["email", "role", "version", "name", "x"]) | st.text(),
                      children, max_size=4),
    max_leaves=8,
))
def test_arbitrary_json_never_gives_500(as_owner, body):
    for method, path in [("POST", "/invitations"), ("PATCH", "/organization"),
                         ("PATCH", f"/members/{Membership.objects.first().pk}"),
                         ("POST", "/auth/token")]:
        response = as_owner.request(method, path, json.dumps(body))
        assert response.status_code < 500, (method, path, body, response.content)
