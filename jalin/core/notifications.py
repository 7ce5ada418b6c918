"""In-app notifications (the bell), optionally also sent by email.

`notify` must run inside the caller's transaction: a rolled-back mention or reminder leaves no
notification and sends no email (the email task row is written in the same transaction).
"""

from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import Notification
from .tasks import send_email


def notify(*, organization, user, kind, title, key, body="", url="", email=False):
    """Notify `user` once per `key` (e.g. "reminder:activity:12:2026-11-23T09:00").

    Returns the new Notification, or None when this key was already notified (a repeated
    reminder run, a re-saved mention) or the user is not an active member of the organization.
    """
    if not user.is_active or not user.memberships.filter(
        organization=organization, is_active=True
    ).exists():
        return None
    try:
        with transaction.atomic():
            notification = Notification.objects.create(
                organization=organization, user=user, kind=kind, title=title[:200],
                body=body, url=url[:300], key=key[:150],
            )
    except IntegrityError:
        return None
    if email and user.email:
        send_email.enqueue(to=[user.email], subject=f"[Jalin] {title}"[:200],
                           body=f"{body}\n\n{url}".strip())
        notification.emailed_at = timezone.now()
        notification.save(update_fields=["emailed_at"])
    return notification


def unread_count(*, user, organization):
    return Notification.objects.filter(
        user=user, organization=organization, read_at__isnull=True
    ).count()


def mark_read(*, user, organization, ids=None):
    """Mark some (or, with ids=None, all) of the user's notifications read; returns how many."""
    unread = Notification.objects.filter(user=user, organization=organization,
                                         read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=ids)
    return unread.update(read_at=timezone.now())
