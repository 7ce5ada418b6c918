from .roles import role_permissions


def tenancy(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    membership = getattr(request, "membership", None)
    return {
        "active_membership": membership,
        "active_organization": membership.organization if membership else None,
        "my_memberships": getattr(request, "all_memberships", []),
        "perms_active": role_permissions(membership.role) if membership else frozenset(),
    }
