"""Each endpoint with the personas: owner (org admin), member (sales), outsider (other org)."""

import pytest
from django.core import mail

from jalin.api.testing import ApiClient, bearer_token_for
from jalin.core.audit import audit_record
from jalin.core.events_models import Event
from jalin.core.models import AuditLog
from jalin.tenancy.models import Invitation, Membership, Organization
from jalin.tenancy.roles import Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def as_owner(owner):
    return ApiClient(token=bearer_token_for(Membership.objects.get(user=owner)))


@pytest.fixture
def as_member(member):
    return ApiClient(token=bearer_token_for(Membership.objects.get(user=member)))


@pytest.fixture
def as_outsider(outsider):
    return ApiClient(token=bearer_token_for(Membership.objects.get(user=outsider)))


def _problem(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == code
    return response.json()


def test_me_lists_user_membership_and_permissions(as_member, org):
    body = as_member.get("/me").json()
    assert body["user"]["username"] == "member"
    assert body["active_membership"]["role"] == Role.SALES
    assert body["active_membership"]["organization"]["slug"] == org.slug
    assert "crm.edit" in body["permissions"] and "members.manage" not in body["permissions"]


def test_session_me_lists_all_memberships(owner, owner_client, org, other_org):
    Membership.objects.create(user=owner, organization=other_org, role=Role.VIEWER)
    body = ApiClient(client=owner_client).get("/me").json()
    assert body["authentication"] == "session"
    assert sorted(m["organization"]["slug"] for m in body["memberships"]) == sorted(
        [org.slug, other_org.slug]
    )
    slugs = [o["slug"] for o in ApiClient(client=owner_client).get("/organizations").json()]
    assert sorted(slugs) == sorted([org.slug, other_org.slug])


def test_organizations_lists_only_own(as_outsider, other_org, org):
    assert [o["slug"] for o in as_outsider.get("/organizations").json()] == [other_org.slug]


def test_organization_detail_is_the_callers(as_outsider, as_member, org, other_org):
    assert as_member.get("/organization").json()["slug"] == org.slug
    assert as_outsider.get("/organization").json()["slug"] == other_org.slug


def test_organization_patch_with_version(as_owner, org):
    response = as_owner.patch("/organization", {"version": 1, "city": "Bandung"})
    assert response.status_code == 200, response.content
    assert response.json()["city"] == "Bandung" and response.json()["version"] == 2
    org.refresh_from_db()
    assert org.city == "Bandung" and org.version == 2
    assert AuditLog.objects.filter(organization=org, action="organization.updated").exists()


def test_organization_patch_stale_version_is_409_and_changes_nothing(as_owner, org):
    as_owner.patch("/organization", {"version": 1, "city": "Bandung"})
    _problem(as_owner.patch("/organization", {"version": 1, "city": "Medan"}), 409, "stale")
    org.refresh_from_db()
    assert org.city == "Bandung"


def test_organization_patch_invalid_values_are_422_per_field(as_owner, org):
    body = _problem(as_owner.patch("/organization", {"version": 1, "currency": "rp"}), 422,
                    "validation_error")
    assert [e["field"] for e in body["errors"]] == ["currency"]
    body = _problem(as_owner.patch("/organization", {"version": 1, "name": None}), 422,
                    "validation_error")
    assert body["errors"][0]["field"] == "name"
    org.refresh_from_db()
    assert org.version == 1


def test_organization_patch_needs_org_manage(as_member, org):
    _problem(as_member.patch("/organization", {"version": 1, "city": "X"}), 403,
             "permission_denied")
    org.refresh_from_db()
    assert org.city == ""


def test_members_list_and_detail(as_member, owner, member, outsider):
    body = as_member.get("/members").json()
    expected = list(Membership.objects.filter(user__in=[owner, member]).order_by("id")
                    .values_list("user__username", flat=True))
    assert [m["user"]["username"] for m in body["items"]] == expected
    assert body["next_cursor"] is None
    owner_id = Membership.objects.get(user=owner).pk
    assert as_member.get(f"/members/{owner_id}").json()["role"] == Role.ORG_ADMIN


def test_outsider_cannot_see_or_change_members(as_outsider, member):
    target = Membership.objects.get(user=member)
    assert "member" not in str(as_outsider.get("/members").json())
    _problem(as_outsider.get(f"/members/{target.pk}"), 404, "not_found")
    _problem(as_outsider.patch(f"/members/{target.pk}", {"role": "viewer"}), 404, "not_found")
    _problem(as_outsider.delete(f"/members/{target.pk}"), 404, "not_found")
    target.refresh_from_db()
    assert target.role == Role.SALES and target.is_active


def test_member_role_change(as_owner, as_member, member):
    target = Membership.objects.get(user=member)
    _problem(as_member.patch(f"/members/{target.pk}", {"role": "org_admin"}), 403,
             "permission_denied")
    response = as_owner.patch(f"/members/{target.pk}", {"role": "viewer"})
    assert response.status_code == 200 and response.json()["role"] == "viewer"
    target.refresh_from_db()
    assert target.role == Role.VIEWER


def test_last_admin_cannot_be_demoted_or_removed(as_owner, owner):
    mine = Membership.objects.get(user=owner)
    body = _problem(as_owner.patch(f"/members/{mine.pk}", {"role": "sales"}), 422, "last_admin")
    assert body["errors"][0]["field"] == "role"
    _problem(as_owner.delete(f"/members/{mine.pk}"), 422, "last_admin")
    mine.refresh_from_db()
    assert mine.role == Role.ORG_ADMIN and mine.is_active


def test_member_remove(as_owner, member):
    target = Membership.objects.get(user=member)
    assert as_owner.delete(f"/members/{target.pk}").status_code == 204
    target.refresh_from_db()
    assert not target.is_active
    _problem(as_owner.get(f"/members/{target.pk}"), 404, "not_found")


def test_invitation_create_list_detail_revoke(as_owner, org, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = as_owner.post("/invitations", {"email": "New@Example.test", "role": "finance"})
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["email"] == "new@example.test" and created["status"] == "pending"
    assert "token" not in created and "token_hash" not in created
    assert len(mail.outbox) == 1
    listing = as_owner.get("/invitations?status=pending").json()
    assert [i["id"] for i in listing["items"]] == [created["id"]]
    assert as_owner.get(f"/invitations/{created['id']}").json()["invited_by"] == "owner"
    assert as_owner.delete(f"/invitations/{created['id']}").status_code == 204
    assert Invitation.objects.get(pk=created["id"]).status == "revoked"
    assert as_owner.get("/invitations?status=pending").json()["items"] == []
    # Revoking twice is a domain error, not a crash.
    _problem(as_owner.delete(f"/invitations/{created['id']}"), 422, "not_pending")


def test_invitation_domain_errors(as_owner, member):
    body = _problem(as_owner.post("/invitations", {"email": "not-an-email", "role": "sales"}),
                    422, "invalid_email")
    assert body["errors"][0]["field"] == "email"
    _problem(as_owner.post("/invitations", {"email": member.email, "role": "sales"}), 422,
             "already_member")
    assert not Invitation.objects.exists()


def test_invitations_need_members_manage(as_member, org):
    _problem(as_member.get("/invitations"), 403, "permission_denied")
    _problem(as_member.post("/invitations", {"email": "x@example.test", "role": "sales"}), 403,
             "permission_denied")
    assert not Invitation.objects.exists()


def test_outsider_cannot_see_or_revoke_invitations(as_owner, as_outsider):
    created = as_owner.post("/invitations", {"email": "x@example.test", "role": "sales"}).json()
    assert as_outsider.get("/invitations").json()["items"] == []
    _problem(as_outsider.get(f"/invitations/{created['id']}"), 404, "not_found")
    _problem(as_outsider.delete(f"/invitations/{created['id']}"), 404, "not_found")
    assert Invitation.objects.get(pk=created["id"]).status == "pending"


def test_audit_log_filters_and_isolation(as_owner, as_outsider, as_member, owner, org,
                                         other_org):
    as_owner.post("/invitations", {"email": "x@example.test", "role": "sales"})
    foreign = audit_record(actor=None, organization=other_org, action="secret.thing")
    entries = as_owner.get("/audit-log").json()["items"]
    actions = [e["action"] for e in entries]
    assert "invitation.created" in actions and "secret.thing" not in actions
    assert entries == sorted(entries, key=lambda e: -e["id"])
    filtered = as_owner.get("/audit-log?action=invitation.created").json()["items"]
    assert [e["action"] for e in filtered] == ["invitation.created"]
    by_type = as_owner.get("/audit-log?object_type=tenancy.invitation").json()["items"]
    assert {e["object_type"] for e in by_type} == {"tenancy.invitation"}
    assert filtered[0]["request_id"]  # ties the entry to the API request
    # Another org's entry is a 404 for us, and the audit log needs audit.view.
    _problem(as_owner.get(f"/audit-log/{foreign.pk}"), 404, "not_found")
    assert as_outsider.get(f"/audit-log/{foreign.pk}").json()["action"] == "secret.thing"
    _problem(as_outsider.get(f"/audit-log/{filtered[0]['id']}"), 404, "not_found")
    _problem(as_member.get("/audit-log"), 403, "permission_denied")


def _event(org, position, type="thing.happened"):
    event = Event.objects.create(organization=org, type=type, payload={"n": position})
    if position is not None:
        Event.objects.filter(pk=event.pk).update(position=position)
    return event


def test_events_feed_in_position_order_from_cursor(as_owner, org, other_org):
    _event(org, 3)
    _event(org, 1)
    _event(org, None)  # not sequenced yet: invisible to integrators
    _event(other_org, 2)
    _event(org, 5)
    page = as_owner.get("/events?limit=2").json()
    assert [e["position"] for e in page["items"]] == [1, 3]
    assert page["next_after"] == 3 and page["has_more"] is True
    page = as_owner.get(f"/events?after={page['next_after']}&limit=2").json()
    assert [e["position"] for e in page["items"]] == [5]
    assert page["has_more"] is False and page["next_after"] == 5
    empty = as_owner.get("/events?after=5").json()
    assert empty == {"items": [], "next_after": 5, "has_more": False}


def test_events_need_events_view_and_valid_after(as_member, as_owner):
    _problem(as_member.get("/events"), 403, "permission_denied")
    body = _problem(as_owner.get("/events?after=-1"), 422, "validation_error")
    assert body["errors"][0]["field"] == "after"
    _problem(as_owner.get("/events?after=abc"), 422, "validation_error")
    _problem(as_owner.get(f"/events?after={2**70}"), 422, "validation_error")


def test_outsider_never_sees_org_events(as_outsider, org):
    _event(org, 1)
    assert as_outsider.get("/events").json()["items"] == []


def test_api_writes_emit_events_and_audit(as_owner, org):
    as_owner.post("/invitations", {"email": "z@example.test", "role": "viewer"})
    assert Event.objects.filter(organization=org, type="invitation.created").exists()
    assert Organization.objects.get(pk=org.pk).version == 1
