from .selectors import memberships_for_user

SESSION_KEY = "jalin_active_membership"


def resolve_active_membership(request):
    """The membership the user acts through now: the one chosen in the session, else the first."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    memberships = list(memberships_for_user(user=user))
    request.all_memberships = memberships
    if not memberships:
        return None
    chosen = request.session.get(SESSION_KEY)
    for membership in memberships:
        if membership.pk == chosen:
            return membership
    return memberships[0]


class ActiveOrganizationMiddleware:
    """Sets request.membership / request.organization (None when not signed in or no org).

    The JSON API replaces both with the token's membership during authentication.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.all_memberships = []
        request.membership = resolve_active_membership(request)
        request.organization = request.membership.organization if request.membership else None
        return self.get_response(request)
