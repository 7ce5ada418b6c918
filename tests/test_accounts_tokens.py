"""The API token page: list, create (shown once), revoke; org admins see the whole org."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from jalin.accounts.models import ApiToken
from jalin.accounts.services import api_token_authenticate, api_token_create
from jalin.core.models import AuditLog
from jalin.tenancy.models import Membership
from jalin.tenancy.roles import Role

from .conftest import make_user

TOKENS = reverse("accounts:tokens")
CREATE = reverse("accounts:token_create")
RAW = re.compile(r"jln_[0-9a-f]{12}_[A-Za-z0-9_-]{20,}")


def _token_for(user, name="sync"):
    membership = Membership.objects.get(user=user)
    token, raw = api_token_create(membership=membership, name=name, actor=user)
    return token, raw


def _revoke_url(token):
    return reverse("accounts:token_revoke", args=[token.pk])


def test_create_shows_raw_token_once_and_stores_only_a_hash(member_client, member):
    response = member_client.post(CREATE, {"name": "ERP sync", "days": "90"})

    assert response.status_code == 200
    raw = RAW.search(response.content.decode()).group(0)
    assert "no-store" in response["Cache-Control"]
    token = ApiToken.objects.get()
    assert token.name == "ERP sync" and token.membership.user == member
    secret = raw.split("_", 2)[2]
    assert secret not in token.secret_hash and len(secret) >= 40
    assert api_token_authenticate(raw) == token
    assert (token.expires_at - token.created_at).days == 90
    # The list shows the key id but never the secret again.
    listing = member_client.get(TOKENS).content.decode()
    assert token.key_id in listing and raw not in listing
    assert AuditLog.objects.filter(action="api_token.created", actor=member).exists()


@pytest.mark.parametrize(
    "data", [{"name": "", "days": "30"}, {"name": "x" * 101, "days": "30"},
             {"name": "ok", "days": "7"}, {"name": "ok", "days": "forever"}, {}]
)
def test_bad_create_input_is_a_400_and_creates_nothing(member_client, data):
    response = member_client.post(CREATE, data)
    assert response.status_code == 400
    assert not ApiToken.objects.exists()


def test_list_shows_columns_and_status(member_client, member):
    active, _ = _token_for(member, "active one")
    revoked, _ = _token_for(member, "revoked one")
    revoked.revoked_at = revoked.created_at
    revoked.save()
    html = member_client.get(TOKENS).content.decode()
    for text in ("active one", "revoked one", active.key_id, "Last used", "Expires",
                 "Active", "Revoked", "Never"):
        assert text in html
    # Only the active token offers a revoke button.
    assert html.count("Revoke token") == 1


def test_member_sees_only_own_tokens(member_client, member, owner):
    _token_for(member, "mine")
    _token_for(owner, "the boss's")
    html = member_client.get(TOKENS).content.decode()
    assert "mine" in html and "the boss" not in html


def test_member_revokes_own_token(member_client, member):
    token, raw = _token_for(member)
    response = member_client.post(_revoke_url(token))
    assert response.status_code == 302 and response["Location"] == TOKENS
    token.refresh_from_db()
    assert token.status == "revoked"
    assert api_token_authenticate(raw) is None
    assert AuditLog.objects.filter(action="api_token.revoked", actor=member).exists()


def test_member_cannot_revoke_a_colleagues_token(member_client, owner):
    token, _ = _token_for(owner)
    assert member_client.post(_revoke_url(token)).status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_org_admin_sees_and_revokes_everyones_tokens_in_org(owner_client, member):
    token, _ = _token_for(member, "member's token")
    html = owner_client.get(TOKENS).content.decode()
    assert "member&#x27;s token" in html or "member's token" in html
    assert "member" in html  # the Person column
    assert owner_client.post(_revoke_url(token)).status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_outsider_cannot_see_or_revoke_foreign_tokens(outsider_client, owner):
    token, _ = _token_for(owner, "acme secret integration")
    assert "acme secret integration" not in outsider_client.get(TOKENS).content.decode()
    assert outsider_client.post(_revoke_url(token)).status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_revoke_is_post_only_and_missing_token_is_404(owner_client, owner):
    token, _ = _token_for(owner)
    assert owner_client.get(_revoke_url(token)).status_code == 405
    assert owner_client.post(reverse("accounts:token_revoke", args=[999999])).status_code == 404


def test_revoking_twice_is_harmless(owner_client, owner):
    token, _ = _token_for(owner)
    owner_client.post(_revoke_url(token))
    first = ApiToken.objects.get(pk=token.pk).revoked_at
    assert owner_client.post(_revoke_url(token)).status_code == 302
    assert ApiToken.objects.get(pk=token.pk).revoked_at == first
    assert AuditLog.objects.filter(action="api_token.revoked").count() == 1


def test_viewer_role_may_not_hold_tokens(org):
    viewer = make_user("viewer")
    Membership.objects.create(user=viewer, organization=org, role=Role.VIEWER)
    client = Client()
    client.force_login(viewer)
    assert client.get(TOKENS).status_code == 403
    assert client.post(CREATE, {"name": "x", "days": "30"}).status_code == 403
    assert not ApiToken.objects.exists()


def test_token_pages_need_sign_in(client, db):
    response = client.get(TOKENS)
    assert response.status_code == 302 and response["Location"].startswith(
        reverse("accounts:login")
    )
    assert client.post(CREATE, {"name": "x", "days": "30"}).status_code == 302


def test_secret_containing_underscores_authenticates(member, monkeypatch):
    # url-safe secrets contain "_" about half the time; the parser must not split on them.
    monkeypatch.setattr(
        "jalin.accounts.models.secrets.token_urlsafe", lambda n: "under_score_" + "x" * 32
    )
    token, raw = _token_for(member)
    assert raw.count("_") == 4
    assert api_token_authenticate(raw) == token
