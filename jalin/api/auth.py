"""Who is calling, and for which organization.

Two ways in, tried in this order:

- `Authorization: Bearer jln_...`: an API token bound to one membership. The request then acts
  as that membership's user in that organization, whatever the session says.
- The browser session (for the interactive docs and our own pages' scripts). It acts through
  the session's active membership, and unsafe methods need the CSRF token like any form.

Both end with request.user / request.membership / request.organization set, so endpoints and
`require()` do not care which one it was.
"""

from django.utils.translation import gettext as _
from ninja.errors import AuthenticationError
from ninja.security import HttpBearer, SessionAuth

from jalin.accounts.services import api_token_authenticate
from jalin.tenancy.roles import has_perm

from .errors import ProblemError


class BearerTokenAuth(HttpBearer):
    def authenticate(self, request, token):
        api_token = api_token_authenticate(token.strip())
        if api_token is None:
            # A wrong token is an error in its own right, not a reason to try the session.
            raise AuthenticationError(message=_("The API token is invalid, expired or revoked."))
        membership = api_token.membership
        request.user = membership.user
        request.membership = membership
        request.organization = membership.organization
        request.all_memberships = [membership]
        request.api_token = api_token
        return api_token


class SessionMembershipAuth(SessionAuth):
    """ninja's session auth (which enforces CSRF on unsafe methods), but an anonymous caller
    gets 401 rather than a CSRF 403."""

    def __call__(self, request):
        if not request.user.is_authenticated:
            return None
        request.api_token = None
        return super().__call__(request)


def require(request, perm=None):
    """The caller's membership, holding `perm` if given; otherwise a 403 problem."""
    membership = getattr(request, "membership", None)
    if membership is None:
        raise ProblemError(403, code="no_organization",
                           detail=_("You are not acting for any organization."))
    if perm is not None and not has_perm(membership, perm):
        raise ProblemError(
            403, code="permission_denied",
            detail=_("Your role does not allow this (needs %(perm)s).") % {"perm": perm},
        )
    return membership
