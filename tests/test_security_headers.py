"""Content-Security-Policy with nonces, CSRF on every form, and other response headers."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from jalin.accounts.models import ApiToken

from .conftest import PASSWORD

SCRIPT_TAG = re.compile(r"<script\b[^>]*>", re.IGNORECASE)
NONCE_ATTR = re.compile(r'\bnonce="([^"]+)"')


def _script_src(response):
    policy = response["Content-Security-Policy"]
    directives = dict(
        (part.strip().split(" ", 1) + [""])[:2] for part in policy.split(";") if part.strip()
    )
    return directives["script-src"].split(), directives


def _header_nonce(response):
    sources, _ = _script_src(response)
    nonces = [s for s in sources if s.startswith("'nonce-")]
    assert len(nonces) == 1, sources
    return nonces[0][len("'nonce-"):-1]


def _assert_scripts_carry_nonce(response):
    nonce = _header_nonce(response)
    tags = SCRIPT_TAG.findall(response.content.decode())
    assert tags, "expected the page to load its scripts"
    for tag in tags:
        match = NONCE_ATTR.search(tag)
        assert match and match.group(1) == nonce, tag
        assert "src=" in tag, f"inline script: {tag}"
    return nonce


@pytest.mark.django_db
def test_csp_header_is_strict_on_login_page(client):
    response = client.get(reverse("accounts:login"))
    sources, directives = _script_src(response)
    assert "'self'" in sources
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    assert "'unsafe-eval'" not in response["Content-Security-Policy"]
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert "'unsafe-inline'" not in directives["style-src"]


@pytest.mark.django_db
def test_every_script_on_login_page_carries_the_header_nonce(client):
    _assert_scripts_carry_nonce(client.get(reverse("accounts:login")))


def test_every_script_on_dashboard_carries_the_header_nonce(owner_client):
    response = owner_client.get(reverse("core:dashboard"))
    assert response.status_code == 200
    _assert_scripts_carry_nonce(response)


def test_every_script_on_token_page_carries_the_header_nonce(owner_client):
    _assert_scripts_carry_nonce(owner_client.get(reverse("accounts:tokens")))


def test_nonce_changes_between_requests(owner_client):
    nonces = {_header_nonce(owner_client.get(reverse("core:dashboard"))) for _ in range(3)}
    assert len(nonces) == 3
    assert all(len(n) >= 16 for n in nonces)


def test_no_inline_event_handlers_or_styles_on_account_pages(owner_client, client):
    pages = [
        owner_client.get(reverse("accounts:profile")),
        owner_client.get(reverse("accounts:tokens")),
        owner_client.get(reverse("accounts:password_change")),
        client.get(reverse("accounts:login")),
        client.get(reverse("accounts:password_reset")),
    ]
    for response in pages:
        html = response.content.decode()
        assert response.status_code == 200
        assert not re.search(r"\son[a-z]+\s*=", html), response.request["PATH_INFO"]
        assert " style=" not in html and "<style" not in html


@pytest.mark.django_db
def test_other_security_headers(client):
    response = client.get(reverse("accounts:login"))
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "no-cache" in response["Cache-Control"] or "no-store" in response["Cache-Control"]


# --- CSRF ------------------------------------------------------------------------------------


def test_login_post_without_csrf_token_is_rejected(owner):
    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("accounts:login"), {"username": "owner", "password": PASSWORD})
    assert response.status_code == 403
    assert client.get(reverse("core:dashboard")).status_code == 302


def test_login_post_with_csrf_token_is_accepted(owner):
    client = Client(enforce_csrf_checks=True)
    client.get(reverse("accounts:login"))
    from django.conf import settings

    token = client.cookies[settings.CSRF_COOKIE_NAME].value
    response = client.post(
        reverse("accounts:login"),
        {"username": "owner", "password": PASSWORD, "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302


def _csrf_client(user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def test_logout_without_csrf_token_is_rejected(owner):
    client = _csrf_client(owner)
    assert client.post(reverse("accounts:logout")).status_code == 403
    assert client.get(reverse("core:dashboard")).status_code == 200


def test_token_create_without_csrf_token_is_rejected(owner):
    client = _csrf_client(owner)
    response = client.post(reverse("accounts:token_create"), {"name": "ci", "days": "30"})
    assert response.status_code == 403
    assert not ApiToken.objects.exists()


def test_token_revoke_and_profile_without_csrf_token_are_rejected(owner):
    from jalin.accounts.services import api_token_create

    token, _raw = api_token_create(membership=owner.memberships.get(), name="ci", actor=owner)
    client = _csrf_client(owner)
    assert client.post(reverse("accounts:token_revoke", args=[token.pk])).status_code == 403
    token.refresh_from_db()
    assert token.revoked_at is None
    response = client.post(reverse("accounts:profile"), {"email": "x@example.test"})
    assert response.status_code == 403


@pytest.mark.parametrize(
    "url_name", ["accounts:login", "accounts:password_reset"]
)
@pytest.mark.django_db
def test_anonymous_forms_render_csrf_token(client, url_name):
    html = client.get(reverse(url_name)).content.decode()
    assert html.count("<form") == html.count('name="csrfmiddlewaretoken"')


@pytest.mark.parametrize(
    "url_name", ["accounts:profile", "accounts:tokens", "accounts:password_change"]
)
def test_signed_in_forms_render_csrf_token(owner_client, owner, url_name):
    from jalin.accounts.services import api_token_create

    api_token_create(membership=owner.memberships.get(), name="ci", actor=owner)
    html = owner_client.get(reverse(url_name)).content.decode()
    assert html.count("<form") >= 2
    assert html.count("<form") == html.count('name="csrfmiddlewaretoken"')
