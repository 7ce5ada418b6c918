"""Reads for the accounts pages."""

from jalin.tenancy.access import for_org
from jalin.tenancy.roles import MEMBERS_MANAGE, has_perm

from .models import ApiToken


def api_tokens_visible_to(*, membership):
    """Tokens `membership` may see and revoke: its own; an org admin sees the whole org's."""
    if membership is None:
        return ApiToken.objects.none()
    tokens = for_org(ApiToken, membership.organization).select_related("membership__user")
    if has_perm(membership, MEMBERS_MANAGE):
        return tokens
    return tokens.filter(membership=membership)
