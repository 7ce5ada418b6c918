"""Sign-in, sign-out, lockout and password hashing."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from jalin.accounts.models import LoginFailure, User
from jalin.core.models import AuditLog

from .conftest import PASSWORD

LOGIN_URL = reverse("accounts:login")
DASHBOARD_URL = reverse("core:dashboard")


def _login(client, username="owner", password=PASSWORD, ip="192.0.2.10", **extra):
    return client.post(
        LOGIN_URL, {"username": username, "password": password}, REMOTE_ADDR=ip, **extra
    )


def _fail(client, times, username="owner", ip="192.0.2.10", expect=200):
    for _ in range(times):
        response = _login(client, username=username, password="wrong-password", ip=ip)
        assert response.status_code == expect


def test_login_page_renders_accessible_form(client, db):
    response = client.get(LOGIN_URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="csrfmiddlewaretoken"' in html
    assert 'autocomplete="username"' in html
    assert 'autocomplete="current-password"' in html
    assert '<label for="id_username"' in html and '<label for="id_password"' in html


def test_login_with_right_password_signs_in_and_redirects(client, owner):
    response = _login(client)
    assert response.status_code == 302
    assert response["Location"] == DASHBOARD_URL
    assert client.get(DASHBOARD_URL).status_code == 200
    assert AuditLog.objects.filter(action="auth.login", actor=owner).count() == 1


def test_login_honours_safe_next_and_ignores_foreign_next(client, owner):
    response = client.post(
        LOGIN_URL + "?next=/accounts/profile/", {"username": "owner", "password": PASSWORD}
    )
    assert response["Location"] == "/accounts/profile/"
    client.logout()
    response = client.post(
        LOGIN_URL + "?next=https://evil.example/", {"username": "owner", "password": PASSWORD}
    )
    assert response["Location"] == DASHBOARD_URL


def test_wrong_password_is_refused_and_audited(client, owner):
    response = _login(client, password="not-it")
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert client.get(DASHBOARD_URL).status_code == 302
    failure = AuditLog.objects.get(action="auth.login_failed")
    assert failure.organization is None and failure.object_repr == "owner"
    assert failure.ip_address == "192.0.2.10"


def test_login_rotates_session_key(client, owner):
    # An attacker who planted a session id before sign-in must not own the signed-in session.
    session = client.session
    session["planted"] = "x"
    session.save()
    planted_key = session.session_key
    assert client.cookies[settings.SESSION_COOKIE_NAME].value == planted_key

    _login(client)

    new_key = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert new_key != planted_key
    assert not Session.objects.filter(session_key=planted_key).exists()
    fixated = Client()
    fixated.cookies[settings.SESSION_COOKIE_NAME] = planted_key
    assert fixated.get(DASHBOARD_URL).status_code == 302


def test_logout_deletes_session_on_server(client, owner):
    _login(client)
    old_key = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert Session.objects.filter(session_key=old_key).exists()

    response = client.post(reverse("accounts:logout"))

    assert response.status_code == 302
    assert response["Location"] == LOGIN_URL
    assert not Session.objects.filter(session_key=old_key).exists()
    # Replaying the old cookie (e.g. stolen before logout) gets nowhere.
    replay = Client()
    replay.cookies[settings.SESSION_COOKIE_NAME] = old_key
    response = replay.get(DASHBOARD_URL)
    assert response.status_code == 302 and response["Location"].startswith(LOGIN_URL)
    assert AuditLog.objects.filter(action="auth.logout", actor=owner).count() == 1


def test_logout_is_post_only(owner_client):
    assert owner_client.get(reverse("accounts:logout")).status_code == 405
    assert owner_client.get(DASHBOARD_URL).status_code == 200


def test_signed_in_user_visiting_login_is_sent_on(owner_client):
    response = owner_client.get(LOGIN_URL)
    assert response.status_code == 302 and response["Location"] == DASHBOARD_URL


def test_login_sets_preferred_language_cookie(client, owner):
    owner.preferred_language = "id"
    owner.save()
    response = _login(client)
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "id"


def test_inactive_user_cannot_sign_in(client, owner):
    owner.is_active = False
    owner.save()
    response = _login(client)
    assert response.status_code == 200
    assert client.get(DASHBOARD_URL).status_code == 302


# --- Lockout ---------------------------------------------------------------------------------


def test_lockout_refuses_even_the_right_password(client, owner, settings):
    _fail(client, settings.JALIN_LOCKOUT_FAILURES)

    response = _login(client)

    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in response.content.decode()
    assert client.get(DASHBOARD_URL).status_code == 302
    assert AuditLog.objects.filter(action="auth.locked_out").count() == 1


def test_one_failure_short_of_the_limit_still_lets_the_right_password_in(client, owner, settings):
    _fail(client, settings.JALIN_LOCKOUT_FAILURES - 1)
    assert _login(client).status_code == 302


def test_lockout_is_per_ip(client, owner, settings):
    _fail(client, settings.JALIN_LOCKOUT_FAILURES, ip="192.0.2.10")
    assert _login(client, ip="192.0.2.10").status_code == 429
    assert _login(Client(), ip="198.51.100.7").status_code == 302


def test_lockout_is_per_username_and_ignores_case(client, owner, member, settings):
    _fail(client, settings.JALIN_LOCKOUT_FAILURES, username="OWNER")
    assert _login(client, username="owner").status_code == 429
    assert _login(client, username="member").status_code == 302


def test_lockout_ends_after_the_window(client, owner, settings):
    _fail(client, settings.JALIN_LOCKOUT_FAILURES)
    assert _login(client).status_code == 429
    LoginFailure.objects.update(
        created_at=LoginFailure.objects.first().created_at
        - timedelta(seconds=settings.JALIN_LOCKOUT_WINDOW_SECONDS + 1)
    )
    assert _login(client).status_code == 302


def test_successful_login_clears_failure_counter(client, owner, settings):
    _fail(client, settings.JALIN_LOCKOUT_FAILURES - 1)
    assert _login(client).status_code == 302
    assert not LoginFailure.objects.filter(username="owner").exists()
    client.post(reverse("accounts:logout"))
    # A fresh allowance: the earlier failures no longer count towards the limit.
    _fail(client, settings.JALIN_LOCKOUT_FAILURES - 1)
    assert _login(client).status_code == 302


def test_locked_attempts_do_not_add_failures(client, owner, settings):
    _fail(client, settings.JALIN_LOCKOUT_FAILURES)
    _fail(client, 3, expect=429)
    assert LoginFailure.objects.count() == settings.JALIN_LOCKOUT_FAILURES


# --- Password hashing --------------------------------------------------------------------------


@pytest.mark.django_db
def test_passwords_are_hashed_with_argon2id():
    user = User.objects.create_user(username="hashy", password=PASSWORD)
    assert user.password.startswith("argon2$argon2id$")
    assert PASSWORD not in user.password
    assert user.check_password(PASSWORD)
