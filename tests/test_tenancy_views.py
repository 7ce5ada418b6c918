"""Organization pages: members, roles, invitations, settings, audit log — as owner, member
and outsider. Manage actions need members.manage (403 otherwise); another organization's
ids are 404; a refused change changes nothing."""

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from jalin.accounts.models import User
from jalin.core.audit import audit_record
from jalin.core.models import AuditLog
from jalin.tenancy import services
from jalin.tenancy.middleware import SESSION_KEY
from jalin.tenancy.models import Invitation, Membership, Organization
from jalin.tenancy.roles import Role

from .conftest import PASSWORD, make_user

HTMX = {"HX-Request": "true"}


@pytest.fixture
def member_membership(member, org):
    return Membership.objects.get(user=member, organization=org)


@pytest.fixture
def owner_membership(owner, org):
    return Membership.objects.get(user=owner, organization=org)


@pytest.fixture
def outsider_membership(outsider, other_org):
    return Membership.objects.get(user=outsider, organization=other_org)


@pytest.fixture
def pending_invitation(org, owner):
    invitation, token = services.invitation_create(
        organization=org, email="new.person@example.test", role=Role.SALES, actor=owner
    )
    mail.outbox.clear()
    return invitation, token


@pytest.fixture
def foreign_invitation(other_org, outsider):
    invitation, _token = services.invitation_create(
        organization=other_org, email="theirs@example.test", role=Role.BUYER, actor=outsider
    )
    return invitation


# --- Members list ---------------------------------------------------------------------------


def test_members_list_for_owner_shows_manage_controls(owner_client, owner, member, outsider):
    response = owner_client.get(reverse("tenancy:members"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "owner@example.test" in html and "member@example.test" in html
    assert "outsider" not in html
    assert 'name="role"' in html and "Send invitation" in html


def test_members_list_for_member_is_read_only(member_client, owner, member):
    response = member_client.get(reverse("tenancy:members"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "owner@example.test" in html
    assert 'name="role"' not in html
    assert "Send invitation" not in html
    assert reverse("tenancy:invitation_create") not in html


def test_members_list_requires_login(client, org):
    assert client.get(reverse("tenancy:members")).status_code == 302


def test_members_list_paginates_with_keyset_links(owner_client, owner, org, monkeypatch):
    from jalin.tenancy import views

    monkeypatch.setattr(views, "MEMBERS_PER_PAGE", 2)
    for i in range(3):
        Membership.objects.create(user=make_user(f"staff{i}"), organization=org, role=Role.VIEWER)
    first = owner_client.get(reverse("tenancy:members")).content.decode()
    assert "staff2" in first and "staff1" in first and "staff0" not in first
    older = re.search(r'href="(\?before=\d+)" rel="next"', first).group(1)
    second = owner_client.get(reverse("tenancy:members") + older).content.decode()
    assert "staff0" in second and "owner" in second and "staff2" not in second
    assert 'rel="prev"' in second and 'rel="next"' not in second


# --- Role change ----------------------------------------------------------------------------


def test_owner_changes_role_full_page(owner_client, member_membership):
    url = reverse("tenancy:member_role", args=[member_membership.pk])
    response = owner_client.post(url, {"role": Role.FINANCE}, follow=True)
    assert response.status_code == 200
    member_membership.refresh_from_db()
    assert member_membership.role == Role.FINANCE
    assert "Role of member is now Finance." in response.content.decode()
    assert AuditLog.objects.filter(action="membership.role_changed").count() == 1


def test_owner_changes_role_with_htmx_gets_row(owner_client, member_membership):
    url = reverse("tenancy:member_role", args=[member_membership.pk])
    response = owner_client.post(url, {"role": Role.VIEWER}, headers=HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.strip().startswith(f'<tr id="member-{member_membership.pk}"')
    assert "<html" not in html
    assert "Role of member is now Viewer." in html
    member_membership.refresh_from_db()
    assert member_membership.role == Role.VIEWER


def test_demoting_last_admin_is_refused_and_changes_nothing(owner_client, owner_membership):
    url = reverse("tenancy:member_role", args=[owner_membership.pk])
    response = owner_client.post(url, {"role": Role.SALES}, headers=HTMX)
    assert response.status_code == 400
    assert "An organization needs at least one admin." in response.content.decode()
    owner_membership.refresh_from_db()
    assert owner_membership.role == Role.ORG_ADMIN
    full = owner_client.post(url, {"role": Role.SALES})
    assert full.status_code == 400
    assert "An organization needs at least one admin." in full.content.decode()


def test_unknown_role_is_400(owner_client, member_membership):
    url = reverse("tenancy:member_role", args=[member_membership.pk])
    response = owner_client.post(url, {"role": "emperor"})
    assert response.status_code == 400
    member_membership.refresh_from_db()
    assert member_membership.role == Role.SALES


def test_member_cannot_change_roles(member_client, owner_membership):
    url = reverse("tenancy:member_role", args=[owner_membership.pk])
    assert member_client.post(url, {"role": Role.VIEWER}).status_code == 403
    owner_membership.refresh_from_db()
    assert owner_membership.role == Role.ORG_ADMIN


def test_outsider_cannot_touch_foreign_membership(outsider_client, member_membership):
    # The outsider is an admin, but of another organization: the id simply does not exist.
    role_url = reverse("tenancy:member_role", args=[member_membership.pk])
    remove_url = reverse("tenancy:member_remove", args=[member_membership.pk])
    assert outsider_client.post(role_url, {"role": Role.VIEWER}).status_code == 404
    assert outsider_client.post(remove_url).status_code == 404
    member_membership.refresh_from_db()
    assert member_membership.role == Role.SALES and member_membership.is_active


def test_role_change_needs_post(owner_client, member_membership):
    url = reverse("tenancy:member_role", args=[member_membership.pk])
    assert owner_client.get(url).status_code == 405


# --- Remove ---------------------------------------------------------------------------------


def test_owner_removes_member(owner_client, member_membership):
    url = reverse("tenancy:member_remove", args=[member_membership.pk])
    response = owner_client.post(url, follow=True)
    assert response.status_code == 200
    assert "member was removed from the organization." in response.content.decode()
    member_membership.refresh_from_db()
    assert not member_membership.is_active


def test_owner_removes_member_with_htmx_gets_empty_body(owner_client, member_membership):
    url = reverse("tenancy:member_remove", args=[member_membership.pk])
    response = owner_client.post(url, headers=HTMX)
    assert response.status_code == 200 and response.content == b""
    # Removing again: the membership is no longer active, so it is not found.
    assert owner_client.post(url, headers=HTMX).status_code == 404


def test_removing_last_admin_is_refused(owner_client, owner_membership):
    url = reverse("tenancy:member_remove", args=[owner_membership.pk])
    response = owner_client.post(url)
    assert response.status_code == 400
    owner_membership.refresh_from_db()
    assert owner_membership.is_active


def test_member_cannot_remove(member_client, owner_membership):
    url = reverse("tenancy:member_remove", args=[owner_membership.pk])
    assert member_client.post(url).status_code == 403
    owner_membership.refresh_from_db()
    assert owner_membership.is_active


# --- Invitations ----------------------------------------------------------------------------


def test_invitation_flow_new_person_creates_account(
    owner_client, org, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            reverse("tenancy:invitation_create"),
            {"email": "Newbie@Example.test", "role": Role.SERVICE_AGENT},
            follow=True,
        )
    assert response.status_code == 200
    assert "Invitation sent to newbie@example.test." in response.content.decode()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["newbie@example.test"]
    link = re.search(r"https?://\S+", message.body).group(0)
    path = link.split("testserver", 1)[1]

    visitor = Client()
    page = visitor.get(path)
    assert page.status_code == 200
    assert "Join Acme Supply" in page.content.decode()
    assert "Create your account" in page.content.decode()

    mismatch = visitor.post(path, {"username": "newbie", "password1": PASSWORD,
                                   "password2": PASSWORD + "x"})
    assert mismatch.status_code == 400
    assert not User.objects.filter(username="newbie").exists()

    joined = visitor.post(path, {"username": "newbie", "password1": PASSWORD,
                                 "password2": PASSWORD}, follow=True)
    assert joined.status_code == 200
    assert joined.redirect_chain[-1][0] == reverse("core:dashboard")
    assert "Welcome to Acme Supply." in joined.content.decode()
    user = User.objects.get(username="newbie")
    assert user.email == "newbie@example.test"
    membership = Membership.objects.get(user=user, organization=org)
    assert membership.role == Role.SERVICE_AGENT
    assert visitor.session[SESSION_KEY] == membership.pk
    # The link works once.
    assert Client().get(path).status_code == 404


def test_invitation_accepted_by_signed_in_user(pending_invitation, outsider_client, outsider, org):
    _invitation, token = pending_invitation
    path = reverse("tenancy:invitation_accept", args=[token])
    page = outsider_client.get(path)
    assert page.status_code == 200
    assert "You are signed in as outsider." in page.content.decode()
    response = outsider_client.post(path, follow=True)
    assert response.redirect_chain[-1][0] == reverse("core:dashboard")
    membership = Membership.objects.get(user=outsider, organization=org)
    assert membership.role == Role.SALES
    assert response.context["active_organization"] == org


def test_invitation_signup_with_taken_username_is_refused(pending_invitation, member):
    _invitation, token = pending_invitation
    response = Client().post(
        reverse("tenancy:invitation_accept", args=[token]),
        {"username": "MEMBER", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 400
    assert "That username is taken." in response.content.decode()
    assert Invitation.objects.get(pk=_invitation.pk).status == "pending"


def test_invitation_signup_weak_password_is_refused(pending_invitation):
    _invitation, token = pending_invitation
    response = Client().post(
        reverse("tenancy:invitation_accept", args=[token]),
        {"username": "newbie", "password1": "123", "password2": "123"},
    )
    assert response.status_code == 400
    assert not User.objects.filter(username="newbie").exists()


def test_bad_or_revoked_invitation_link_is_404(pending_invitation, owner):
    invitation, token = pending_invitation
    assert Client().get(reverse("tenancy:invitation_accept", args=["nope"])).status_code == 404
    services.invitation_revoke(invitation=invitation, actor=owner)
    response = Client().get(reverse("tenancy:invitation_accept", args=[token]))
    assert response.status_code == 404
    assert "invalid or has expired" in response.content.decode()


def test_invite_existing_member_shows_error(owner_client, member):
    response = owner_client.post(
        reverse("tenancy:invitation_create"), {"email": member.email, "role": Role.VIEWER}
    )
    assert response.status_code == 400
    assert "is already a member." in response.content.decode()
    assert not Invitation.objects.exists()


def test_invite_bad_email_is_400(owner_client, org):
    response = owner_client.post(
        reverse("tenancy:invitation_create"), {"email": "not-an-email", "role": Role.VIEWER}
    )
    assert response.status_code == 400
    assert not Invitation.objects.exists()


def test_member_cannot_invite(member_client, org):
    response = member_client.post(
        reverse("tenancy:invitation_create"), {"email": "x@example.test", "role": Role.VIEWER}
    )
    assert response.status_code == 403
    assert not Invitation.objects.exists()


def test_owner_sees_and_revokes_invitation_with_htmx(owner_client, pending_invitation):
    invitation, _token = pending_invitation
    members_page = owner_client.get(reverse("tenancy:members")).content.decode()
    assert "new.person@example.test" in members_page
    url = reverse("tenancy:invitation_revoke", args=[invitation.pk])
    response = owner_client.post(url, headers=HTMX)
    assert response.status_code == 200
    assert "Invitation revoked." in response.content.decode()
    invitation.refresh_from_db()
    assert invitation.status == "revoked"
    again = owner_client.post(url)
    assert again.status_code == 400
    assert "no longer pending" in again.content.decode()


def test_member_cannot_revoke(member_client, pending_invitation):
    invitation, _token = pending_invitation
    assert member_client.post(
        reverse("tenancy:invitation_revoke", args=[invitation.pk])
    ).status_code == 403
    invitation.refresh_from_db()
    assert invitation.status == "pending"


def test_outsider_cannot_revoke_foreign_invitation(owner_client, foreign_invitation):
    url = reverse("tenancy:invitation_revoke", args=[foreign_invitation.pk])
    assert owner_client.post(url).status_code == 404
    foreign_invitation.refresh_from_db()
    assert foreign_invitation.status == "pending"


def test_members_page_never_lists_foreign_invitations(owner_client, foreign_invitation):
    members_page = owner_client.get(reverse("tenancy:members")).content.decode()
    assert "theirs@example.test" not in members_page


# --- Organization settings ------------------------------------------------------------------


def settings_data(org, **overrides):
    data = {
        "name": org.name, "legal_name": org.legal_name, "tax_id": org.tax_id,
        "address": org.address, "city": org.city, "country": org.country,
        "currency": org.currency, "time_zone": org.time_zone, "version": org.version,
    }
    data.update(overrides)
    return data


def test_owner_edits_settings(owner_client, org):
    response = owner_client.post(
        reverse("tenancy:settings"), settings_data(org, name="Acme Nusantara", city="Bandung"),
        follow=True,
    )
    assert response.status_code == 200
    assert "Organization settings saved." in response.content.decode()
    org.refresh_from_db()
    assert (org.name, org.city, org.version) == ("Acme Nusantara", "Bandung", 2)
    assert AuditLog.objects.filter(action="organization.updated", organization=org).exists()


def test_stale_version_is_refused_with_clear_message(owner_client, org, owner):
    form_version = org.version
    services.organization_update(organization=org, actor=owner, version=form_version,
                                 city="Surabaya")
    response = owner_client.post(
        reverse("tenancy:settings"), settings_data(org, name="Too Late", version=form_version)
    )
    assert response.status_code == 409
    assert "changed by someone else. Reload and try again." in response.content.decode()
    org.refresh_from_db()
    assert org.name == "Acme Supply" and org.city == "Surabaya" and org.version == 2


def test_invalid_settings_are_400_and_change_nothing(owner_client, org):
    response = owner_client.post(
        reverse("tenancy:settings"),
        settings_data(org, currency="rupiah", time_zone="Mars/Olympus"),
    )
    assert response.status_code == 400
    org.refresh_from_db()
    assert org.currency == "IDR" and org.version == 1
    # The header still shows the saved name, not the rejected input.
    assert response.context["active_organization"].name == "Acme Supply"


def test_rejected_name_does_not_leak_into_header(owner_client, org):
    response = owner_client.post(
        reverse("tenancy:settings"), settings_data(org, name="Evil Corp", currency="xx")
    )
    assert response.status_code == 400
    assert '<span class="org-switcher-current">Acme Supply</span>' in response.content.decode()


def test_member_cannot_open_settings(member_client, org):
    assert member_client.get(reverse("tenancy:settings")).status_code == 403
    assert member_client.post(
        reverse("tenancy:settings"), settings_data(org, name="Hijacked")
    ).status_code == 403
    org.refresh_from_db()
    assert org.name == "Acme Supply"


def test_outsider_settings_edit_only_touches_own_org(outsider_client, org, other_org):
    response = outsider_client.post(
        reverse("tenancy:settings"), settings_data(other_org, city="Medan")
    )
    assert response.status_code == 302
    org.refresh_from_db()
    other_org.refresh_from_db()
    assert org.city == "" and other_org.city == "Medan"


# --- Audit log ------------------------------------------------------------------------------


def test_audit_log_visible_to_admin_with_own_entries_only(owner_client, org, other_org, owner,
                                                          outsider):
    audit_record(actor=owner, organization=org, action="invitation.created")
    audit_record(actor=outsider, organization=other_org, action="secret.thing")
    response = owner_client.get(reverse("tenancy:audit_log"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "invitation.created" in html
    assert "secret.thing" not in html


def test_audit_log_forbidden_for_member(member_client, org):
    assert member_client.get(reverse("tenancy:audit_log")).status_code == 403


def test_audit_log_filters(owner_client, org, owner):
    audit_record(actor=owner, organization=org, action="membership.role_changed",
                 object_type="tenancy.membership")
    audit_record(actor=owner, organization=org, action="invitation.created",
                 object_type="tenancy.invitation")
    url = reverse("tenancy:audit_log")
    html = owner_client.get(url, {"action": "membership."}).content.decode()
    assert "membership.role_changed" in html and "invitation.created" not in html
    html = owner_client.get(
        reverse("tenancy:audit_log"), {"object_type": "tenancy.invitation"}
    ).content.decode()
    assert "invitation.created" in html and "membership.role_changed" not in html
    empty = owner_client.get(reverse("tenancy:audit_log"), {"action": "nothing."})
    assert "Nothing matches these filters." in empty.content.decode()


def test_audit_log_keyset_links_keep_filters_and_never_count(owner_client, org, owner,
                                                             monkeypatch):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from jalin.tenancy import views

    monkeypatch.setattr(views, "AUDIT_PER_PAGE", 2)
    for i in range(5):
        audit_record(actor=owner, organization=org, action=f"demo.step{i}")
    with CaptureQueriesContext(connection) as queries:
        first = owner_client.get(reverse("tenancy:audit_log"), {"action": "demo."})
    assert not any("COUNT(" in q["sql"].upper() for q in queries.captured_queries)
    html = first.content.decode()
    assert "demo.step4" in html and "demo.step3" in html and "demo.step2" not in html
    older = re.search(r'href="\?([^"]+)" rel="next"', html).group(1).replace("&amp;", "&")
    assert "action=demo." in older
    second = owner_client.get(reverse("tenancy:audit_log") + "?" + older).content.decode()
    assert "demo.step2" in second and "demo.step1" in second and "demo.step4" not in second
    newer = re.search(r'href="\?([^"]+)" rel="prev"', second).group(1).replace("&amp;", "&")
    back = owner_client.get(reverse("tenancy:audit_log") + "?" + newer).content.decode()
    assert "demo.step4" in back and "demo.step2" not in back


def test_outsider_audit_log_shows_only_their_org(outsider_client, org, owner):
    audit_record(actor=owner, organization=org, action="acme.private")
    html = outsider_client.get(reverse("tenancy:audit_log")).content.decode()
    assert "acme.private" not in html


def test_organization_model_untouched_by_outsider_pages(outsider_client, org):
    for name in ("tenancy:members", "tenancy:audit_log", "tenancy:settings"):
        html = outsider_client.get(reverse(name)).content.decode()
        assert "Acme Supply" not in html
    assert Organization.objects.get(pk=org.pk).version == 1


def test_pages_render_in_indonesian(owner_client, org, pending_invitation):
    owner_client.post(reverse("set_language"), {"language": "id"})
    members = owner_client.get(reverse("tenancy:members")).content.decode()
    assert "Anggota" in members and "Kirim undangan" in members and "Cabut" in members
    assert "Pengaturan organisasi" in owner_client.get(reverse("tenancy:settings")).content.decode()
    assert "Log audit" in owner_client.get(reverse("tenancy:audit_log")).content.decode()
