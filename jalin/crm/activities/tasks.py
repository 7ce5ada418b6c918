"""Background tasks for activities: the meeting invitation email (the .ics attached)."""

import logging

from django.conf import settings
from django.core.mail import EmailMessage
from django.tasks import task
from django.utils.translation import gettext as _

from .ics import calendar_for, ics_filename

logger = logging.getLogger("jalin.crm.activities")


@task()
def send_meeting_invitation(*, activity_id):
    """Email the meeting as METHOD:REQUEST to its attendee contacts that have an email.
    Reads the meeting when it runs, so the invitation shows what was committed."""
    from ..models import Activity, ActivityKind

    activity = (Activity.objects.select_related("assignee", "created_by")
                .prefetch_related("attendee_contacts", "attendee_users")
                .filter(pk=activity_id, kind=ActivityKind.MEETING).first())
    if activity is None:
        return 0
    recipients = sorted({c.email for c in activity.attendee_contacts.all() if c.email})
    if not recipients:
        return 0
    when = activity.due_at.strftime("%Y-%m-%d %H:%M %Z") if activity.due_at else ""
    body = "\n".join(part for part in (activity.subject, when, activity.location,
                                       activity.video_url, activity.notes) if part)
    organizer = activity.assignee or activity.created_by
    message = EmailMessage(
        subject=(_("Invitation: %(subject)s") % {"subject": activity.subject})[:200], body=body,
        from_email=settings.DEFAULT_FROM_EMAIL, to=recipients,
        reply_to=[organizer.email] if organizer is not None and organizer.email else None,
    )
    message.attach(ics_filename(activity), calendar_for([activity], method="REQUEST"),
                   "text/calendar; method=REQUEST; charset=utf-8")
    sent = message.send(fail_silently=False)
    logger.info("Sent invitation for meeting %s to %d attendee(s)", activity_id,
                len(recipients))
    return sent
