"""Idle timeout and absolute session age, enforced on the server."""

from datetime import timedelta
from unittest import mock

from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from jalin.accounts.services import AUTHENTICATED_AT_SESSION_KEY, LAST_ACTIVITY_SESSION_KEY
from jalin.core.models import AuditLog

from .conftest import PASSWORD

DASHBOARD = reverse("core:dashboard")
LOGIN = reverse("accounts:login")


def _signed_in(user):
    client = Client()
    response = client.post(LOGIN, {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    return client


def _age_session(client, key, seconds):
    session = client.session
    session[key] = session[key] - seconds
    session.save()


def _stored_session(client):
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    return Session.objects.get(session_key=key)


def test_login_records_activity_and_sign_in_time(owner):
    client = _signed_in(owner)
    now = timezone.now().timestamp()
    assert abs(client.session[LAST_ACTIVITY_SESSION_KEY] - now) < 5
    assert abs(client.session[AUTHENTICATED_AT_SESSION_KEY] - now) < 5


def test_recent_activity_keeps_the_session(owner, settings):
    client = _signed_in(owner)
    _age_session(client, LAST_ACTIVITY_SESSION_KEY, settings.JALIN_IDLE_TIMEOUT_SECONDS - 5)
    assert client.get(DASHBOARD).status_code == 200


def test_idle_session_is_ended_and_redirects_to_login(owner, settings):
    client = _signed_in(owner)
    old_key = client.cookies[settings.SESSION_COOKIE_NAME].value
    _age_session(client, LAST_ACTIVITY_SESSION_KEY, settings.JALIN_IDLE_TIMEOUT_SECONDS + 1)

    response = client.get(DASHBOARD + "?tab=x")

    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN}?next=/%3Ftab%3Dx"
    assert not Session.objects.filter(session_key=old_key).exists()
    assert client.get(DASHBOARD).status_code == 302
    assert AuditLog.objects.filter(action="auth.session_expired", actor=owner).exists()
    # The login page tells the person why.
    page = client.get(response["Location"])
    assert "signed out after a period of inactivity" in page.content.decode()


def test_idle_htmx_request_gets_hx_redirect(owner, settings):
    client = _signed_in(owner)
    _age_session(client, LAST_ACTIVITY_SESSION_KEY, settings.JALIN_IDLE_TIMEOUT_SECONDS + 1)

    response = client.get(
        DASHBOARD, headers={"HX-Request": "true",
                            "HX-Current-URL": "http://testserver/accounts/profile/?a=1"},
    )

    assert response.status_code == 200
    assert response["HX-Redirect"] == f"{LOGIN}?next=/accounts/profile/%3Fa%3D1"
    assert client.get(DASHBOARD).status_code == 302


def test_idle_post_is_refused_and_changes_nothing(owner, settings):
    client = _signed_in(owner)
    _age_session(client, LAST_ACTIVITY_SESSION_KEY, settings.JALIN_IDLE_TIMEOUT_SECONDS + 1)
    response = client.post(reverse("accounts:profile"), {"email": "changed@example.test"})
    assert response.status_code == 302
    owner.refresh_from_db()
    assert owner.email == "owner@example.test"


def test_absolute_session_age_is_enforced(owner, settings):
    client = _signed_in(owner)
    _age_session(client, AUTHENTICATED_AT_SESSION_KEY, settings.SESSION_COOKIE_AGE + 1)
    response = client.get(DASHBOARD)
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)


def test_activity_is_not_written_on_every_request(owner):
    client = _signed_in(owner)
    before = _stored_session(client)
    for _ in range(3):
        assert client.get(DASHBOARD).status_code == 200
    after = _stored_session(client)
    # Every save moves expire_date to now + SESSION_COOKIE_AGE, so an unchanged expire_date
    # means the row was not written.
    assert (after.expire_date, after.session_data) == (before.expire_date, before.session_data)


def test_activity_is_refreshed_after_a_minute(owner):
    client = _signed_in(owner)
    stamp = client.session[LAST_ACTIVITY_SESSION_KEY]
    later = timezone.now() + timedelta(seconds=61)
    with mock.patch("jalin.accounts.middleware.timezone.now", return_value=later):
        assert client.get(DASHBOARD).status_code == 200
    assert client.session[LAST_ACTIVITY_SESSION_KEY] >= stamp + 61


def test_anonymous_requests_create_no_session(client, db):
    client.get(LOGIN)
    assert settings.SESSION_COOKIE_NAME not in client.cookies
    assert not Session.objects.exists()

