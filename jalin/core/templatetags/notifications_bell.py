"""`{% unread_notifications as count %}` for the nav bell: one indexed COUNT over the
user's unread notifications (the partial index core_notification_unread)."""

from django import template

from ..notifications import unread_count

register = template.Library()


@register.simple_tag(takes_context=True)
def unread_notifications(context):
    request = context.get("request")
    user = getattr(request, "user", None)
    organization = getattr(request, "organization", None)
    if user is None or not user.is_authenticated or organization is None:
        return 0
    cache = getattr(request, "_jalin_unread_notifications", None)
    if cache is None:
        cache = unread_count(user=user, organization=organization)
        request._jalin_unread_notifications = cache
    return cache
