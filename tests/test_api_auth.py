"""API authentication: the token endpoint, bearer tokens, the session with CSRF, lockout."""

import pytest
from django.test import Client, override_settings

from jalin.accounts.models import ApiToken
from jalin.api.testing import ApiClient, bearer_token_for
from jalin.tenancy.models import Membership
from jalin.tenancy.roles import Role

from .conftest import PASSWORD, make_user

pytestmark = pytest.mark.django_db


def _problem(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert {"type", "title", "detail", "instance"} <= body.keys()
    return body


def test_token_exchange_returns_token_once_and_stores_only_a_hash(owner, org):
    response = ApiClient().post("/auth/token", {"username": "owner", "password": PASSWORD,
                                                "name": "ERP sync"})
    assert response.status_code == 201
    body = response.json()
    raw = body["token"]
    assert raw.startswith("jln_")
    assert body["membership"]["organization"]["slug"] == org.slug
    assert body["name"] == "ERP sync" and body["expires_at"]
    stored = ApiToken.objects.get(pk=body["id"])
    assert raw.split("_")[2] not in (stored.secret_hash, stored.key_id)
    # The token works, and the listing never shows the secret again.
    listing = ApiClient(token=raw).get("/auth/tokens").json()
    assert [item["id"] for item in listing["items"]] == [stored.pk]
    assert "token" not in listing["items"][0]


def test_token_exchange_needs_organization_when_user_has_several(owner, org, other_org):
    Membership.objects.create(user=owner, organization=other_org, role=Role.SALES)
    api = ApiClient()
    body = _problem(api.post("/auth/token", {"username": "owner", "password": PASSWORD}), 422,
                    "organization_required")
    assert body["errors"][0]["field"] == "organization"
    response = api.post("/auth/token", {"username": "owner", "password": PASSWORD,
                                        "organization": other_org.slug})
    assert response.status_code == 201
    token = ApiToken.objects.get(pk=response.json()["id"])
    assert token.membership.organization == other_org
    assert ApiClient(token=response.json()["token"]).get("/organization").json()["slug"] == (
        other_org.slug
    )


def test_token_exchange_refuses_foreign_organization(owner, other_org):
    _problem(ApiClient().post("/auth/token", {"username": "owner", "password": PASSWORD,
                                              "organization": other_org.slug}),
             422, "not_a_member")
    assert not ApiToken.objects.exists()


def test_token_exchange_wrong_password_is_401(owner):
    response = ApiClient().post("/auth/token", {"username": "owner", "password": "nope"})
    _problem(response, 401, "invalid_credentials")
    assert not ApiToken.objects.exists()


def test_token_exchange_role_without_tokens_permission_is_403(org):
    viewer = make_user("viewer")
    Membership.objects.create(user=viewer, organization=org, role=Role.VIEWER)
    _problem(ApiClient().post("/auth/token", {"username": "viewer", "password": PASSWORD}),
             403, "permission_denied")


@override_settings(JALIN_LOCKOUT_FAILURES=3)
def test_token_endpoint_shares_the_login_lockout(owner):
    api = ApiClient()
    for _attempt in range(3):
        _problem(api.post("/auth/token", {"username": "owner", "password": "wrong"}), 401,
                 "invalid_credentials")
    # Now even the right password is refused.
    response = api.post("/auth/token", {"username": "owner", "password": PASSWORD})
    _problem(response, 429, "locked_out")
    assert int(response["Retry-After"]) > 0
    assert not ApiToken.objects.exists()


def test_anonymous_gets_401_problem_with_challenge(org):
    for method, path in [("GET", "/me"), ("POST", "/invitations"), ("GET", "/members")]:
        response = ApiClient(client=Client(enforce_csrf_checks=True)).request(method, path, {})
        _problem(response, 401, "not_authenticated")
        assert response["WWW-Authenticate"].startswith("Bearer")


def test_bad_revoked_and_expired_tokens_are_401(owner):
    membership = Membership.objects.get(user=owner)
    raw = bearer_token_for(membership)
    _problem(ApiClient(token="jln_nothing_here").get("/me"), 401, "not_authenticated")
    _problem(ApiClient(token=raw + "x").get("/me"), 401, "not_authenticated")
    ApiClient(token=raw).delete(f"/auth/tokens/{ApiToken.objects.get().pk}")
    _problem(ApiClient(token=raw).get("/me"), 401, "not_authenticated")


def test_bearer_token_overrides_the_session_membership(owner, outsider, other_org):
    # A browser signed in as owner, but the request carries the outsider's token: the token wins.
    client = Client()
    client.force_login(owner)
    raw = bearer_token_for(Membership.objects.get(user=outsider))
    body = ApiClient(client=client, token=raw).get("/me").json()
    assert body["user"]["username"] == "outsider"
    assert body["authentication"] == "token"
    assert [m["organization"]["slug"] for m in body["memberships"]] == [other_org.slug]


def test_session_auth_enforces_csrf_on_unsafe_methods(owner):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    api = ApiClient(client=client)
    assert api.get("/me").json()["authentication"] == "session"
    body = {"email": "new@example.test", "role": "sales"}
    _problem(api.post("/invitations", body), 403, "csrf_failed")
    # With the CSRF token (as the docs page sends it) the same request goes through.
    client.get("/api/v1/docs")
    token = client.cookies["csrftoken"].value
    response = api.post("/invitations", body, headers={"X-CSRFToken": token})
    assert response.status_code == 201


def test_bearer_requests_need_no_csrf(owner):
    raw = bearer_token_for(Membership.objects.get(user=owner))
    api = ApiClient(client=Client(enforce_csrf_checks=True), token=raw)
    assert api.post("/invitations", {"email": "a@example.test", "role": "sales"}).status_code == 201


def test_token_list_shows_only_own_tokens(owner, member):
    owner_raw = bearer_token_for(Membership.objects.get(user=owner), name="owner's")
    bearer_token_for(Membership.objects.get(user=member), name="member's")
    names = [t["name"] for t in ApiClient(token=owner_raw).get("/auth/tokens").json()["items"]]
    assert names == ["owner's"]


def test_token_revoke_rules(owner, member, outsider):
    owner_membership = Membership.objects.get(user=owner)
    member_raw = bearer_token_for(Membership.objects.get(user=member))
    member_token = ApiToken.objects.get(membership__user=member)
    owner_raw = bearer_token_for(owner_membership)
    owner_token = ApiToken.objects.get(membership=owner_membership)
    outsider_raw = bearer_token_for(Membership.objects.get(user=outsider))

    # A plain member cannot revoke a colleague's token (it is invisible to them).
    _problem(ApiClient(token=member_raw).delete(f"/auth/tokens/{owner_token.pk}"), 404,
             "not_found")
    # Another organization's admin cannot either.
    _problem(ApiClient(token=outsider_raw).delete(f"/auth/tokens/{member_token.pk}"), 404,
             "not_found")
    owner_token.refresh_from_db()
    member_token.refresh_from_db()
    assert owner_token.revoked_at is None and member_token.revoked_at is None

    # The org admin may revoke the member's token; the member may revoke their own.
    assert ApiClient(token=owner_raw).delete(f"/auth/tokens/{member_token.pk}").status_code == 204
    member_token.refresh_from_db()
    assert member_token.revoked_at is not None
    assert ApiClient(token=owner_raw).delete(f"/auth/tokens/{owner_token.pk}").status_code == 204
    owner_token.refresh_from_db()
    assert owner_token.revoked_at is not None


def test_removed_member_token_stops_working(owner, member):
    member_raw = bearer_token_for(Membership.objects.get(user=member))
    owner_raw = bearer_token_for(Membership.objects.get(user=owner))
    assert ApiClient(token=member_raw).get("/me").status_code == 200
    member_id = Membership.objects.get(user=member).pk
    assert ApiClient(token=owner_raw).delete(f"/members/{member_id}").status_code == 204
    _problem(ApiClient(token=member_raw).get("/me"), 401, "not_authenticated")


def test_session_user_without_membership_gets_403_for_org_endpoints(db):
    loner = make_user("loner")
    client = Client()
    client.force_login(loner)
    api = ApiClient(client=client)
    me = api.get("/me").json()
    assert me["active_membership"] is None and me["memberships"] == [] and me["permissions"] == []
    _problem(api.get("/organization"), 403, "no_organization")
    _problem(api.get("/members"), 403, "no_organization")
