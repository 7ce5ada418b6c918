"""Password reset by email and password change."""

import re

from django.core import mail
from django.test import Client
from django.urls import reverse

from jalin.core.models import AuditLog

from .conftest import PASSWORD

NEW_PASSWORD = "a-brand-new-passphrase-77"
LINK = re.compile(r"https?://[^/\s]+(/accounts/password/reset/[^\s]+/)")


def _request_reset(client, email):
    return client.post(reverse("accounts:password_reset"), {"email": email})


def test_password_reset_end_to_end(client, owner):
    other_session = Client()
    other_session.force_login(owner)

    response = _request_reset(client, "owner@example.test")
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:password_reset_done")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["owner@example.test"]
    assert message.subject == "Reset your Jalin password"
    link = LINK.search(message.body).group(1)

    # The emailed link swaps its token into the session and redirects to a token-free URL,
    # so the token cannot leak through the Referer header.
    response = client.get(link)
    assert response.status_code == 302
    form_url = response["Location"]
    assert "set-password" in form_url
    response = client.get(form_url)
    assert response.status_code == 200
    assert 'autocomplete="new-password"' in response.content.decode()

    response = client.post(
        form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:password_reset_complete")

    fresh = Client()
    assert fresh.post(
        reverse("accounts:login"), {"username": "owner", "password": PASSWORD}
    ).status_code == 200
    assert fresh.post(
        reverse("accounts:login"), {"username": "owner", "password": NEW_PASSWORD}
    ).status_code == 302
    # The session signed in with the old password has ended.
    assert other_session.get(reverse("core:dashboard")).status_code == 302
    # The link works once.
    assert "does not work" in client.get(link).content.decode()
    actions = set(AuditLog.objects.filter(object_id=str(owner.pk)).values_list("action", flat=True))
    assert {"auth.password_reset_requested", "auth.password_reset_completed"} <= actions


def test_unknown_email_sends_nothing_but_looks_the_same(client, owner):
    response = _request_reset(client, "nobody@example.test")
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:password_reset_done")
    assert mail.outbox == []


def test_tampered_reset_link_is_refused(client, owner):
    _request_reset(client, "owner@example.test")
    link = LINK.search(mail.outbox[0].body).group(1)
    tampered = link.rstrip("/")[:-3] + "abc/"
    response = client.get(tampered)
    assert response.status_code == 200
    assert "does not work" in response.content.decode()


def test_reset_pages_carry_csrf_token(client, db):
    html = client.get(reverse("accounts:password_reset")).content.decode()
    assert 'name="csrfmiddlewaretoken"' in html
    assert 'autocomplete="email"' in html


def test_password_change_keeps_this_session_and_ends_others(client, owner):
    client.post(reverse("accounts:login"), {"username": "owner", "password": PASSWORD})
    elsewhere = Client()
    elsewhere.force_login(owner)

    response = client.post(
        reverse("accounts:password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:password_change_done")
    assert client.get(reverse("core:dashboard")).status_code == 200
    assert elsewhere.get(reverse("core:dashboard")).status_code == 302
    owner.refresh_from_db()
    assert owner.check_password(NEW_PASSWORD)
    assert AuditLog.objects.filter(action="auth.password_changed", actor=owner).exists()


def test_password_change_with_wrong_old_password_changes_nothing(owner_client, owner):
    response = owner_client.post(
        reverse("accounts:password_change"),
        {"old_password": "nope", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 200
    owner.refresh_from_db()
    assert owner.check_password(PASSWORD)


def test_password_change_requires_sign_in(client, db):
    response = client.get(reverse("accounts:password_change"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
