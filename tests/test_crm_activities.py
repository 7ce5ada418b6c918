"""Activity services: per-kind validation, references from another organization, stale
versions, audit and events, search index, reminders (idempotent, and on PostgreSQL safe
when two workers run at once), selectors for My day and the calendar, and .ics files."""

import datetime

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone
from icalendar import Calendar

from jalin.core.events_models import Event
from jalin.core.models import AuditLog, Notification
from jalin.crm import services as crm_services
from jalin.crm.activities import selectors, services
from jalin.crm.activities.ics import calendar_for
from jalin.crm.activities.tasks import send_meeting_invitation
from jalin.crm.models import Activity, SearchDocument
from jalin.tenancy.models import Membership
from jalin.tenancy.services import StaleVersion

JAKARTA = datetime.timezone(datetime.timedelta(hours=7))


@pytest.fixture
def account(org, owner):
    return crm_services.account_create(organization=org, actor=owner, name="PT Maju Jaya")


@pytest.fixture
def contact(org, owner, account):
    return crm_services.contact_create(organization=org, actor=owner, last_name="Santoso",
                                       first_name="Budi", email="budi@maju.test",
                                       account=account)


@pytest.fixture
def foreign(other_org, outsider):
    account = crm_services.account_create(organization=other_org, actor=outsider, name="Rival")
    contact = crm_services.contact_create(organization=other_org, actor=outsider,
                                          last_name="Rival", email="r@rival.test")
    return account, contact


def at(day, hour, minute=0):
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=JAKARTA)


def meeting(org, actor, **extra):
    fields = {"subject": "Quarterly review", "due_at": timezone.now() + datetime.timedelta(days=1)}
    fields.update(extra)
    return services.activity_create(organization=org, actor=actor, kind="meeting", **fields)


def test_create_call_writes_audit_event_and_search(org, owner, contact):
    call = services.activity_create(organization=org, actor=owner, kind="call",
                                    subject="Intro call", direction="outbound",
                                    duration_seconds=300, outcome="connected", contact=contact,
                                    status="done")
    assert call.account_id == contact.account_id  # filled in from the contact
    assert call.assignee == owner and call.completed_at is not None and call.due_at
    assert AuditLog.objects.filter(action="crm.activity.created",
                                   object_id=str(call.pk)).exists()
    event = Event.objects.get(type="crm.activity.created", aggregate_id=str(call.pk))
    assert event.payload["account_id"] == contact.account_id
    assert event.payload["contact_id"] == contact.pk
    assert event.payload["kind"] == "call" and event.payload["title"] == "Intro call"
    assert SearchDocument.objects.filter(kind="activity", object_id=call.pk).exists()


@pytest.mark.parametrize(("kind", "fields", "field"), [
    ("call", {"subject": "x"}, "direction"),
    ("call", {"subject": "x", "direction": "sideways"}, "direction"),
    ("call", {"subject": "x", "direction": "inbound", "duration_seconds": -1},
     "duration_seconds"),
    ("call", {"subject": "x", "direction": "inbound", "outcome": "maybe"}, "outcome"),
    ("meeting", {"subject": "x"}, "due_at"),
    ("meeting", {"subject": "x", "due_at": "2026-11-23T10:00:00+07:00",
                 "ends_at": "2026-11-23T09:00:00+07:00"}, "ends_at"),
    ("meeting", {"subject": "x", "due_at": "2026-11-23T10:00:00+07:00",
                 "video_url": "javascript:alert(1)"}, "video_url"),
    ("task", {"subject": "x"}, "due_at"),
    ("note", {"subject": "  "}, "subject"),
    ("note", {"subject": "x", "remind_at": "2026-11-23T10:00:00+07:00"}, "remind_at"),
])
def test_per_kind_validation_names_the_field(org, owner, kind, fields, field):
    with pytest.raises(ValidationError) as error:
        services.activity_create(organization=org, actor=owner, kind=kind, **fields)
    assert field in error.value.error_dict
    assert not Activity.objects.exists() and not Event.objects.filter(
        type__startswith="crm.activity").exists()


@pytest.mark.parametrize(("name", "field"), [
    ("account", "account_id"), ("contact", "contact_id"),
    ("attendee_contacts", "attendee_contact_ids"), ("attendee_users", "attendee_user_ids"),
    ("assignee", "assignee_id"),
])
def test_foreign_references_are_refused(org, owner, outsider, foreign, name, field):
    account, contact = foreign
    value = {"account": account, "contact": contact, "attendee_contacts": [contact.pk],
             "attendee_users": [outsider.pk], "assignee": outsider}[name]
    with pytest.raises(services.CrmError) as error:
        meeting(org, owner, **{name: value})
    assert error.value.field == field
    assert not Activity.objects.exists()


def test_inactive_member_cannot_be_assigned(org, owner, member):
    Membership.objects.filter(user=member).update(is_active=False)
    with pytest.raises(services.CrmError) as error:
        services.activity_create(organization=org, actor=owner, kind="note", subject="n",
                                 assignee=member)
    assert error.value.field == "assignee_id"


def test_meeting_gets_ical_uid_and_attendees(org, owner, member, contact):
    created = meeting(org, owner, attendee_contacts=[contact.pk], attendee_users=[member.pk],
                      location="Jakarta", video_url="https://meet.example.test/abc")
    assert created.ical_uid.endswith("@jalin.local") and len(created.ical_uid) > 30
    assert list(created.attendee_contacts.all()) == [contact]
    assert list(created.attendee_users.all()) == [member]


def test_update_needs_current_version_and_rearms_reminder(org, owner):
    task = services.activity_create(organization=org, actor=owner, kind="task",
                                    subject="Send quote", due_at=timezone.now(),
                                    remind_at=timezone.now())
    Activity.objects.filter(pk=task.pk).update(reminded_at=timezone.now())
    task.refresh_from_db()
    later = timezone.now() + datetime.timedelta(hours=3)
    updated = services.activity_update(activity=task, actor=owner, version=1, remind_at=later)
    assert updated.version == 2 and updated.reminded_at is None
    with pytest.raises(StaleVersion):
        services.activity_update(activity=task, actor=owner, version=1, subject="Lost")
    assert Activity.objects.get(pk=task.pk).subject == "Send quote"
    event = Event.objects.get(type="crm.activity.updated")
    assert event.payload["changed"] == ["remind_at"] and "account_id" in event.payload
    # Nothing changed: no new version, no event.
    same = services.activity_update(activity=updated, actor=owner, version=2,
                                    subject="Send quote")
    assert same.version == 2 and Event.objects.filter(type="crm.activity.updated").count() == 1


def test_complete_cancel_delete(org, owner, account):
    task = services.activity_create(organization=org, actor=owner, kind="task", subject="T",
                                    due_at=timezone.now(), account=account)
    done = services.activity_complete(activity=task, actor=owner, version=1)
    assert done.status == "done" and done.completed_at and done.version == 2
    assert services.activity_complete(activity=task, actor=owner).version == 2  # idempotent
    with pytest.raises(services.CrmError):
        services.activity_cancel(activity=task, actor=owner)
    services.activity_delete(activity=task, actor=owner)
    assert not Activity.objects.exists()
    assert not SearchDocument.objects.filter(kind="activity").exists()
    types = list(Event.objects.filter(type__startswith="crm.activity")
                 .order_by("id").values_list("type", flat=True))
    assert types == ["crm.activity.created", "crm.activity.completed", "crm.activity.deleted"]
    deleted = Event.objects.get(type="crm.activity.deleted")
    assert deleted.payload["account_id"] == account.pk and deleted.payload["title"] == "T"


# --- Reminders -----------------------------------------------------------------------------


def test_reminders_are_sent_once(org, owner, member):
    now = timezone.now()
    due = services.activity_create(organization=org, actor=owner, kind="task", subject="Call",
                                   due_at=now, remind_at=now - datetime.timedelta(minutes=1),
                                   assignee=member)
    services.activity_create(organization=org, actor=owner, kind="task", subject="Later",
                             due_at=now, remind_at=now + datetime.timedelta(hours=1))
    done = services.activity_create(organization=org, actor=owner, kind="task", subject="Done",
                                    due_at=now, remind_at=now - datetime.timedelta(hours=1))
    services.activity_complete(activity=done, actor=owner)
    assert services.send_due_reminders(now=now) == 1
    assert services.send_due_reminders(now=now) == 0
    notification = Notification.objects.get()
    assert notification.user == member and notification.kind == "reminder"
    assert notification.url == f"/crm/activities/{due.pk}/" and notification.emailed_at
    assert str(due.pk) in notification.key
    due.refresh_from_db()
    assert due.reminded_at == now
    # Moving the reminder re-arms it: a second, distinct notification.
    services.activity_update(activity=due, actor=owner, version=due.version,
                             remind_at=now + datetime.timedelta(minutes=5))
    assert services.send_due_reminders(now=now + datetime.timedelta(minutes=6)) == 1
    assert Notification.objects.count() == 2


def test_reminder_for_a_departed_member_is_marked_but_not_sent(org, owner, member):
    now = timezone.now()
    task = services.activity_create(organization=org, actor=owner, kind="task", subject="T",
                                    due_at=now, remind_at=now, assignee=member)
    Membership.objects.filter(user=member).update(is_active=False)
    assert services.send_due_reminders(now=now) == 0
    task.refresh_from_db()
    assert task.reminded_at is not None and not Notification.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_reminder_runs_at_once_send_one_notification(org, owner):
    import threading

    from django.db import connection, connections

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SKIP LOCKED decides the race")
    now = timezone.now()
    services.activity_create(organization=org, actor=owner, kind="task", subject="Race",
                             due_at=now, remind_at=now)
    barrier = threading.Barrier(2)
    results, errors = [], []

    def run():
        try:
            barrier.wait()
            results.append(services.send_due_reminders(now=now))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert sorted(results) == [0, 1]
    assert Notification.objects.count() == 1


# --- Selectors -----------------------------------------------------------------------------


def test_my_day_groups_in_jakarta_time(org, owner, member):
    # 23:30 UTC on the 22nd is already 06:30 on the 23rd in Jakarta.
    now = datetime.datetime(2026, 11, 22, 23, 30, tzinfo=datetime.UTC)
    today = datetime.date(2026, 11, 23)

    def task(subject, when, **extra):
        return services.activity_create(organization=org, actor=owner, kind="task",
                                        subject=subject, due_at=when, **extra)

    task("Yesterday", at(today - datetime.timedelta(days=1), 17))
    task("Early today", at(today, 0, 30))
    task("Tonight", at(today, 23, 59))
    task("In a week", at(today + datetime.timedelta(days=7), 12))
    task("Too far", at(today + datetime.timedelta(days=8), 12))
    task("Someone else's", at(today, 12), assignee=member)
    done = task("Done already", at(today, 12))
    services.activity_complete(activity=done, actor=owner)
    day = selectors.my_day(user=owner, organization=org, now=now)
    assert day.today == today
    assert [a.subject for a in day.overdue] == ["Yesterday"]
    assert [a.subject for a in day.due_today] == ["Early today", "Tonight"]
    assert [a.subject for a in day.upcoming] == ["In a week"]


def test_month_grid_places_activities_on_local_days(org, owner):
    services.activity_create(organization=org, actor=owner, kind="task", subject="Late night",
                             due_at=datetime.datetime(2026, 11, 30, 18, 0, tzinfo=datetime.UTC))
    grid = selectors.month_grid(organization=org, year=2026, month=11, user=owner)
    days = {day["date"]: day["items"] for week in grid.weeks for day in week}
    assert [a.subject for a in days[datetime.date(2026, 12, 1)]] == ["Late night"]
    assert grid.previous == datetime.date(2026, 10, 1) and grid.next == datetime.date(2026, 12, 1)
    assert all(len(week) == 7 for week in grid.weeks)


# --- iCalendar -----------------------------------------------------------------------------


def parse(data):
    calendar = Calendar.from_ical(data)
    return calendar, [c for c in calendar.walk("VEVENT")]


def test_ics_round_trip(org, owner, member, contact):
    start = datetime.datetime(2026, 12, 1, 10, 0, tzinfo=JAKARTA)
    created = meeting(org, owner, subject="Kick-off", due_at=start,
                      ends_at=start + datetime.timedelta(minutes=90), location="Ruang 1",
                      video_url="https://meet.example.test/kick", notes="Agenda",
                      attendee_contacts=[contact], attendee_users=[member])
    created = services.activity_update(activity=created, actor=owner, version=1,
                                       location="Ruang 2")
    calendar, events = parse(calendar_for([Activity.objects.get(pk=created.pk)]))
    assert str(calendar["METHOD"]) == "PUBLISH"
    (event,) = events
    assert str(event["UID"]) == created.ical_uid
    assert int(event["SEQUENCE"]) == 2
    assert event.decoded("DTSTART") == start.astimezone(datetime.UTC)
    assert event.decoded("DTSTART").utcoffset() == datetime.timedelta(0)
    assert event.decoded("DTEND") == start.astimezone(datetime.UTC) + datetime.timedelta(
        minutes=90)
    assert str(event["LOCATION"]) == "Ruang 2" and str(event["SUMMARY"]) == "Kick-off"
    assert str(event["URL"]) == "https://meet.example.test/kick"
    assert str(event["ORGANIZER"]) == "mailto:owner@example.test"
    attendees = sorted(str(a) for a in event["ATTENDEE"])
    assert attendees == ["mailto:budi@maju.test", "mailto:member@example.test"]


def test_invitation_task_emails_request_ics(org, owner, contact, account):
    no_email = crm_services.contact_create(organization=org, actor=owner, last_name="Tanpa")
    created = meeting(org, owner, attendee_contacts=[contact, no_email])
    assert services.activity_send_invitation(activity=created, actor=owner) == [
        "budi@maju.test"]
    send_meeting_invitation.call(activity_id=created.pk)
    (message,) = mail.outbox
    assert message.to == ["budi@maju.test"]
    (name, content, mimetype) = message.attachments[0]
    assert name.endswith(".ics") and mimetype.startswith("text/calendar")
    calendar, (event,) = parse(content)
    assert str(calendar["METHOD"]) == "REQUEST" and str(event["UID"]) == created.ical_uid


def test_invitation_needs_an_attendee_with_email(org, owner):
    created = meeting(org, owner)
    with pytest.raises(services.CrmError) as error:
        services.activity_send_invitation(activity=created, actor=owner)
    assert error.value.field == "attendee_contact_ids"

