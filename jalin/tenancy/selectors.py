from .models import Membership


def memberships_for_user(*, user):
    if not getattr(user, "is_authenticated", False):
        return Membership.objects.none()
    return (
        Membership.objects.active()
        .filter(user=user)
        .select_related("organization")
        .order_by("organization__name")
    )


def members_for_org(*, organization):
    return (
        Membership.objects.for_org(organization).active()
        .select_related("user").order_by("user__username")
    )
