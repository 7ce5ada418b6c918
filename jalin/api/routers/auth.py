"""Tokens: exchange a password for a bearer token, list and revoke them."""

from django.utils.translation import gettext as _
from ninja import Query, Router, Status

from jalin.accounts.models import ApiToken
from jalin.accounts.services import (
    api_token_create,
    api_token_revoke,
    authenticate_with_lockout,
    client_ip,
)
from jalin.tenancy.access import get_for_org_or_404
from jalin.tenancy.roles import MEMBERS_MANAGE, TOKENS_OWN, has_perm
from jalin.tenancy.selectors import memberships_for_user

from ..auth import require
from ..errors import ProblemError, field_error
from ..idempotency import idempotent
from ..pagination import Page, PageParams, paginate
from ..schemas import TokenCreatedOut, TokenIn, TokenOut

router = Router(tags=["auth"])


def _choose_membership(user, organization_slug):
    memberships = list(memberships_for_user(user=user))
    if organization_slug:
        for membership in memberships:
            if membership.organization.slug == organization_slug:
                return membership
        message = _("You are not a member of this organization.")
        raise ProblemError(422, code="not_a_member", detail=message,
                           errors=[field_error("organization", message, "not_a_member")])
    if not memberships:
        raise ProblemError(403, code="no_organization",
                           detail=_("You are not a member of any organization."))
    if len(memberships) > 1:
        message = _("You belong to several organizations; name one (its slug).")
        raise ProblemError(422, code="organization_required", detail=message,
                           errors=[field_error("organization", message, "required")])
    return memberships[0]


@router.post("/auth/token", auth=None, response={201: TokenCreatedOut})
def token_create(request, payload: TokenIn):
    """Exchange username + password (+ organization) for a bearer token.

    The token is shown once. Failed attempts count towards the same lockout as the sign-in
    page (429 while locked out).
    """
    user = authenticate_with_lockout(
        request=request, username=payload.username, password=payload.password,
        ip_address=client_ip(request),
    )
    if user is None:
        raise ProblemError(401, code="invalid_credentials",
                           detail=_("Wrong username or password."),
                           headers={"WWW-Authenticate": 'Bearer realm="jalin"'})
    membership = _choose_membership(user, payload.organization)
    if not has_perm(membership, TOKENS_OWN):
        raise ProblemError(403, code="permission_denied",
                           detail=_("Your role may not use API tokens."))
    token, raw = api_token_create(membership=membership, name=payload.name, actor=user,
                                  days=payload.days)
    token.token = raw
    return Status(201, token)


@router.get("/auth/tokens", response=Page[TokenOut])
def token_list(request, params: Query[PageParams]):
    """Your own tokens in the current organization (active, expired and revoked)."""
    membership = require(request, TOKENS_OWN)
    return paginate(ApiToken.objects.filter(membership=membership), cursor=params.cursor,
                    limit=params.limit, order=("-created_at", "-id"))


@router.delete("/auth/tokens/{token_id}", response={204: None})
@idempotent
def token_revoke(request, token_id: int):
    """Revoke one of your tokens; member managers may revoke anyone's in the organization."""
    membership = require(request)
    token = get_for_org_or_404(ApiToken.objects.select_related("membership__organization"),
                               membership.organization, pk=token_id)
    if token.membership_id != membership.pk and not has_perm(membership, MEMBERS_MANAGE):
        # Someone else's token is as invisible as a missing one.
        raise ProblemError(404, code="not_found", detail=_("Not found."))
    api_token_revoke(token=token, actor=request.user)
    return Status(204, None)
