from django.conf import settings
from django.urls import reverse

from jalin.core.models import AuditLog

PROFILE = reverse("accounts:profile")


def _data(**overrides):
    data = {"first_name": "Sari", "last_name": "Wijaya", "email": "sari@example.test",
            "preferred_language": "id"}
    data.update(overrides)
    return data


def test_profile_shows_username_and_fields(owner_client):
    html = owner_client.get(PROFILE).content.decode()
    assert "owner" in html
    for name in ("first_name", "last_name", "email", "preferred_language"):
        assert f'name="{name}"' in html
    assert 'autocomplete="email"' in html


def test_profile_update_saves_audits_and_sets_language(owner_client, owner):
    response = owner_client.post(PROFILE, _data())
    assert response.status_code == 302
    owner.refresh_from_db()
    assert (owner.first_name, owner.email, owner.preferred_language) == (
        "Sari", "sari@example.test", "id"
    )
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "id"
    entry = AuditLog.objects.get(action="accounts.profile_updated")
    assert entry.before["email"] == "owner@example.test"
    assert entry.after["email"] == "sari@example.test"


def test_unchanged_profile_writes_no_audit_entry(owner_client, owner):
    owner_client.post(PROFILE, _data(first_name="", last_name="", email="owner@example.test",
                                     preferred_language=""))
    assert not AuditLog.objects.filter(action="accounts.profile_updated").exists()


def test_bad_profile_input_is_400_and_changes_nothing(owner_client, owner):
    for bad in (_data(email="not-an-email"), _data(email=""), _data(preferred_language="xx")):
        response = owner_client.post(PROFILE, bad)
        assert response.status_code == 400
    owner.refresh_from_db()
    assert owner.email == "owner@example.test" and owner.preferred_language == ""


def test_username_cannot_be_changed_through_profile(owner_client, owner):
    owner_client.post(PROFILE, _data(username="hijack"))
    owner.refresh_from_db()
    assert owner.username == "owner"
