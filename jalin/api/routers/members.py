"""Members of the current organization, and invitations to join it."""

from typing import Literal

from django.utils import timezone
from ninja import Field, Query, Router, Status

from jalin.tenancy.access import for_org, get_for_org_or_404
from jalin.tenancy.models import Invitation, Membership
from jalin.tenancy.roles import MEMBERS_MANAGE, MEMBERS_VIEW
from jalin.tenancy.selectors import members_for_org
from jalin.tenancy.services import (
    invitation_create,
    invitation_revoke,
    membership_change_role,
    membership_remove,
)

from ..auth import require
from ..idempotency import idempotent
from ..pagination import Page, PageParams, paginate
from ..schemas import InvitationIn, InvitationOut, MemberOut, MemberPatchIn

router = Router(tags=["members"])


def _active_member(organization, membership_id):
    return get_for_org_or_404(Membership.objects.active().select_related("user"),
                              organization, pk=membership_id)


@router.get("/members", response=Page[MemberOut])
def member_list(request, params: Query[PageParams]):
    membership = require(request, MEMBERS_VIEW)
    return paginate(members_for_org(organization=membership.organization),
                    cursor=params.cursor, limit=params.limit, order=("id",))


@router.get("/members/{membership_id}", response=MemberOut)
def member_detail(request, membership_id: int):
    membership = require(request, MEMBERS_VIEW)
    return _active_member(membership.organization, membership_id)


@router.patch("/members/{membership_id}", response=MemberOut)
@idempotent
def member_patch(request, membership_id: int, payload: MemberPatchIn):
    """Change a member's role. The last organization admin cannot be demoted (422)."""
    membership = require(request, MEMBERS_MANAGE)
    target = _active_member(membership.organization, membership_id)
    return membership_change_role(membership=target, role=payload.role.value,
                                  actor=request.user)


@router.delete("/members/{membership_id}", response={204: None})
@idempotent
def member_remove(request, membership_id: int):
    """Remove a member (their API tokens are revoked). The last admin cannot be removed."""
    membership = require(request, MEMBERS_MANAGE)
    target = _active_member(membership.organization, membership_id)
    membership_remove(membership=target, actor=request.user)
    return Status(204, None)


class InvitationFilters(PageParams):
    status: Literal["pending", "accepted", "revoked", "expired"] | None = Field(None)


def _invitations(organization, status):
    queryset = for_org(Invitation.objects.select_related("invited_by"), organization)
    now = timezone.now()
    if status == "pending":
        queryset = queryset.pending()
    elif status == "accepted":
        queryset = queryset.filter(accepted_at__isnull=False)
    elif status == "revoked":
        queryset = queryset.filter(revoked_at__isnull=False, accepted_at__isnull=True)
    elif status == "expired":
        queryset = queryset.filter(accepted_at__isnull=True, revoked_at__isnull=True,
                                   expires_at__lte=now)
    return queryset


@router.get("/invitations", response=Page[InvitationOut])
def invitation_list(request, filters: Query[InvitationFilters]):
    membership = require(request, MEMBERS_MANAGE)
    return paginate(_invitations(membership.organization, filters.status),
                    cursor=filters.cursor, limit=filters.limit, order=("-created_at", "-id"))


@router.get("/invitations/{invitation_id}", response=InvitationOut)
def invitation_detail(request, invitation_id: int):
    membership = require(request, MEMBERS_MANAGE)
    return get_for_org_or_404(Invitation.objects.select_related("invited_by"),
                              membership.organization, pk=invitation_id)


@router.post("/invitations", response={201: InvitationOut})
@idempotent
def invitation_post(request, payload: InvitationIn):
    """Invite someone by email. The link goes by email only; it is never in the response."""
    membership = require(request, MEMBERS_MANAGE)
    invitation, _token = invitation_create(
        organization=membership.organization, email=payload.email, role=payload.role.value,
        actor=request.user, base_url=request.build_absolute_uri("/").rstrip("/"),
    )
    return Status(201, invitation)


@router.delete("/invitations/{invitation_id}", response={204: None})
@idempotent
def invitation_delete(request, invitation_id: int):
    """Revoke a pending invitation (422 `not_pending` otherwise)."""
    membership = require(request, MEMBERS_MANAGE)
    invitation = get_for_org_or_404(Invitation, membership.organization, pk=invitation_id)
    invitation_revoke(invitation=invitation, actor=request.user)
    return Status(204, None)
