"""The caller and their organizations."""

from ninja import Router

from jalin.tenancy.roles import ORG_MANAGE, ORG_VIEW, role_permissions
from jalin.tenancy.selectors import memberships_for_user
from jalin.tenancy.services import organization_update

from ..auth import require
from ..idempotency import idempotent
from ..schemas import MeOut, OrganizationOut, OrganizationPatchIn, OrganizationSummary

router = Router(tags=["me"])


def _visible_memberships(request):
    # A token acts for one membership only; the session may switch between all of them.
    if getattr(request, "api_token", None) is not None:
        return [request.membership]
    return list(memberships_for_user(user=request.user))


@router.get("/me", response=MeOut)
def me(request):
    membership = getattr(request, "membership", None)
    return {
        "user": request.user,
        "authentication": "token" if getattr(request, "api_token", None) else "session",
        "active_membership": membership,
        "memberships": _visible_memberships(request),
        "permissions": sorted(role_permissions(membership.role)) if membership else [],
    }


@router.get("/organizations", response=list[OrganizationSummary])
def organization_list(request):
    """Organizations you belong to (with a token: just the token's organization)."""
    return [membership.organization for membership in _visible_memberships(request)]


@router.get("/organization", response=OrganizationOut)
def organization_detail(request):
    """The organization this request acts for."""
    return require(request, ORG_VIEW).organization


@router.patch("/organization", response=OrganizationOut)
@idempotent
def organization_patch(request, payload: OrganizationPatchIn):
    """Change the organization's profile. Send the `version` you read; 409 if it moved on."""
    membership = require(request, ORG_MANAGE)
    changes = payload.model_dump(exclude_unset=True)
    version = changes.pop("version")
    return organization_update(organization=membership.organization, actor=request.user,
                               version=version, **changes)
