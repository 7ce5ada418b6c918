"""`{% unread_notifications as count %}` for the nav bell, rendered on every page.

One bounded query: the ids of at most 100 unread notifications (served by the partial index
core_notification_unread), never a COUNT(*); the bell shows "99+" beyond that."""

from django import template

from ..models import Notification

register = template.Library()

BELL_LIMIT = 100


@register.simple_tag(takes_context=True)
def unread_notifications(context):
    request = context.get("request")
    user = getattr(request, "user", None)
    organization = getattr(request, "organization", None)
    if user is None or not user.is_authenticated or organization is None:
        return 0
    cached = getattr(request, "_jalin_unread_notifications", None)
    if cached is None:
        cached = len(Notification.objects.filter(
            user=user, organization=organization, read_at__isnull=True,
        ).order_by().values_list("id", flat=True)[:BELL_LIMIT])
        request._jalin_unread_notifications = cached
    return cached
