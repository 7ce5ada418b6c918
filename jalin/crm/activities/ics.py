"""iCalendar (RFC 5545) files for meetings, built with the `icalendar` library.

One VEVENT per meeting: UID is the meeting's stable `ical_uid`, SEQUENCE its `version` (so a
calendar replaces an older copy), DTSTART/DTEND in UTC, LOCATION, URL (the video link),
ORGANIZER (the assignee) and ATTENDEEs (attendee contacts with an email, and colleagues).
METHOD:PUBLISH for a download, METHOD:REQUEST for an emailed invitation.
"""

import datetime

from django.utils import timezone
from icalendar import Calendar, Event, vCalAddress, vText

from ..models import ActivityStatus

PRODID = "-//Jalin//CRM//EN"
DEFAULT_LENGTH = datetime.timedelta(hours=1)


def _address(email, name="", role=None):
    address = vCalAddress(f"mailto:{email}")
    if name:
        address.params["CN"] = vText(name)
    if role:
        address.params["ROLE"] = vText(role)
        address.params["PARTSTAT"] = vText("NEEDS-ACTION")
        address.params["RSVP"] = vText("TRUE")
    return address


def _utc(value):
    return value.astimezone(datetime.UTC)


def meeting_event(activity, *, url=""):
    """The VEVENT for one meeting (attendees read from the prefetched relations)."""
    event = Event()
    event.add("uid", activity.ical_uid or f"activity-{activity.pk}@jalin.local")
    event.add("sequence", activity.version)
    event.add("dtstamp", _utc(activity.updated_at or timezone.now()))
    event.add("summary", activity.subject)
    start = activity.due_at
    end = activity.ends_at or (start + DEFAULT_LENGTH if start else None)
    if start is not None:
        event.add("dtstart", _utc(start))
        event.add("dtend", _utc(end))
    if activity.location:
        event.add("location", activity.location)
    if activity.video_url:
        event.add("url", activity.video_url)
    elif url:
        event.add("url", url)
    description = activity.notes
    if activity.video_url:
        description = f"{description}\n\n{activity.video_url}".strip()
    if description:
        event.add("description", description)
    if activity.status == ActivityStatus.CANCELLED:
        event.add("status", "CANCELLED")
    else:
        event.add("status", "CONFIRMED")
    organizer = activity.assignee or activity.created_by
    if organizer is not None and organizer.email:
        event.add("organizer", _address(organizer.email,
                                        organizer.get_full_name() or organizer.get_username()))
    for contact in activity.attendee_contacts.all():
        if contact.email:
            event.add("attendee", _address(contact.email, contact.full_name, "REQ-PARTICIPANT"))
    for user in activity.attendee_users.all():
        if user.email:
            event.add("attendee", _address(user.email, user.get_full_name() or
                                           user.get_username(), "REQ-PARTICIPANT"))
    return event


def calendar_for(activities, *, method="PUBLISH", url_for=None):
    """A VCALENDAR holding one VEVENT per activity; returns bytes (CRLF lines, UTF-8)."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    for activity in activities:
        calendar.add_component(meeting_event(
            activity, url=url_for(activity) if url_for else ""))
    return calendar.to_ical()


def ics_filename(activity):
    safe = "".join(ch if ch.isalnum() else "-" for ch in activity.subject.lower())
    safe = "-".join(part for part in safe.split("-") if part)[:60] or "meeting"
    return f"{safe}.ics"
