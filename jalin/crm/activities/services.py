"""Write paths for activities: calls, meetings, tasks and notes.

Keyword-only services that own their transaction, write the audit log, emit a
`crm.activity.*` event (payload: `kind`, `account_id`, `contact_id`, `title`, and `changed`
on updates) and keep the search index in step. References (account, contact, assignee,
attendees) may be objects or ids; anything outside the organization is a `CrmError` naming
the API field (422), and nothing is written. Field problems raise a `ValidationError` keyed
by field. `send_due_reminders` is the worker's reminder job.
"""

import datetime
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from jalin.core.audit import audit_record
from jalin.core.events import emit_event
from jalin.core.notifications import notify
from jalin.tenancy.models import Membership
from jalin.tenancy.services import StaleVersion

from ..models import (
    Account,
    Activity,
    ActivityKind,
    ActivityStatus,
    CallDirection,
    CallOutcome,
    Contact,
)
from ..search import index as search_index
from ..services import CrmError, _account_ref, _ref_id

__all__ = [
    "CrmError", "StaleVersion", "activity_cancel", "activity_complete", "activity_create",
    "activity_delete", "activity_send_invitation", "activity_update", "send_due_reminders",
]

ACTIVITY_FIELDS = (
    "subject", "notes", "account", "contact", "assignee", "due_at", "ends_at", "all_day",
    "direction", "duration_seconds", "outcome", "location", "video_url", "remind_at",
    "attendee_contacts", "attendee_users",
)
CALL_FIELDS = ("direction", "duration_seconds", "outcome")
MEETING_FIELDS = ("location", "video_url", "attendee_contacts", "attendee_users")
REFERENCE_FIELDS = ("account", "contact", "assignee")
MAX_ATTENDEES = 100
MAX_DURATION_SECONDS = 7 * 24 * 3600
REMINDER_BATCH = 200


def _field_error(field, message, code):
    return ValidationError({field: [ValidationError(message, code=code)]})


def _ids(value, field):
    if value is None:
        return []
    if not isinstance(value, (list, tuple, set)):
        raise _field_error(field, _("Send a list of ids."), "invalid_type")
    ids = []
    for item in value:
        item_id = _ref_id(item)
        if item_id is None:
            continue
        if item_id not in ids:
            ids.append(item_id)
    if len(ids) > MAX_ATTENDEES:
        raise _field_error(field, _("At most %(max)d attendees.") % {"max": MAX_ATTENDEES},
                           "too_many")
    return ids


def _aware(value, field):
    if value in (None, ""):
        return None
    if isinstance(value, str):
        from django.utils.dateparse import parse_datetime

        parsed = parse_datetime(value)
        if parsed is None:
            raise _field_error(field, _("Enter a valid date and time."), "invalid")
        value = parsed
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        value = datetime.datetime.combine(value, datetime.time(9, 0))
    if not isinstance(value, datetime.datetime):
        raise _field_error(field, _("Enter a valid date and time."), "invalid")
    if timezone.is_naive(value):
        value = timezone.make_aware(value, timezone.get_default_timezone())
    if not (1900 <= value.year <= 9000):
        raise _field_error(field, _("Enter a date between 1900 and 9000."), "out_of_range")
    return value


def _contact(organization, value):
    contact_id = _ref_id(value)
    if contact_id is None:
        return None
    contact = Contact.objects.filter(organization=organization, pk=contact_id,
                                     archived_at__isnull=True).first()
    if contact is None:
        raise CrmError(_("No such contact in this organization."), code="invalid_contact",
                       field="contact_id")
    return contact


def _assignee(organization, value):
    user_id = _ref_id(value)
    if user_id is None:
        return None
    membership = (Membership.objects.filter(organization=organization, user_id=user_id,
                                            is_active=True, user__is_active=True)
                  .select_related("user").first())
    if membership is None:
        raise CrmError(_("The assignee must be an active member of this organization."),
                       code="invalid_assignee", field="assignee_id")
    return membership.user


def _attendee_contacts(organization, value):
    ids = _ids(value, "attendee_contact_ids")
    if not ids:
        return []
    contacts = {c.pk: c for c in Contact.objects.filter(organization=organization, pk__in=ids,
                                                         archived_at__isnull=True)}
    if len(contacts) != len(ids):
        raise CrmError(_("Every attendee must be a contact of this organization."),
                       code="invalid_attendee", field="attendee_contact_ids")
    return [contacts[i] for i in ids]


def _attendee_users(organization, value):
    ids = _ids(value, "attendee_user_ids")
    if not ids:
        return []
    users = {m.user_id: m.user for m in Membership.objects.filter(
        organization=organization, user_id__in=ids, is_active=True).select_related("user")}
    if len(users) != len(ids):
        raise CrmError(_("Every attendee must be a member of this organization."),
                       code="invalid_attendee", field="attendee_user_ids")
    return [users[i] for i in ids]


def ical_domain():
    """The host part of meeting UIDs: the domain of DEFAULT_FROM_EMAIL (jalin.local)."""
    configured = getattr(settings, "JALIN_ICAL_DOMAIN", "")
    if configured:
        return configured
    address = str(settings.DEFAULT_FROM_EMAIL).rstrip(">")
    return address.rsplit("@", 1)[-1] if "@" in address else "jalin.local"


def _apply(activity, organization, fields, attendees):
    """Set `fields` on `activity` (kind already set) and return the attendee lists to save
    (None = unchanged). Raises CrmError / ValidationError; touches no rows."""
    unknown = set(fields) - set(ACTIVITY_FIELDS)
    if unknown:
        raise CrmError(_("Unknown fields: %s") % ", ".join(sorted(unknown)), code="unknown")
    for name, value in fields.items():
        if name == "account":
            activity.account = _account_ref(organization, value, field="account_id")
        elif name == "contact":
            activity.contact = _contact(organization, value)
        elif name == "assignee":
            activity.assignee = _assignee(organization, value)
        elif name in ("due_at", "ends_at", "remind_at"):
            setattr(activity, name, _aware(value, name))
        elif name == "attendee_contacts":
            attendees["contacts"] = _attendee_contacts(organization, value)
        elif name == "attendee_users":
            attendees["users"] = _attendee_users(organization, value)
        elif name == "all_day":
            activity.all_day = bool(value)
        elif name == "duration_seconds":
            if value in (None, ""):
                activity.duration_seconds = None
            else:
                try:
                    seconds = int(value)
                except (TypeError, ValueError):
                    raise _field_error(name, _("Enter a whole number of seconds."),
                                       "invalid") from None
                if seconds < 0 or seconds > MAX_DURATION_SECONDS:
                    raise _field_error(name, _("The duration cannot be negative or longer "
                                               "than a week."), "out_of_range")
                activity.duration_seconds = seconds
        elif name == "subject":
            activity.subject = " ".join((value or "").split())
        else:
            setattr(activity, name, "" if value is None else value)
    # The contact's company fills in an empty account.
    if activity.contact_id and activity.account_id is None and activity.contact.account_id:
        activity.account = Account.objects.filter(
            organization=organization, pk=activity.contact.account_id,
            archived_at__isnull=True).first()
    _validate_kind(activity, attendees)


def _validate_kind(activity, attendees):
    errors = {}

    def add(field, message, code):
        errors.setdefault(field, []).append(ValidationError(message, code=code))

    if not activity.subject:
        add("subject", _("Enter a subject."), "required")
    elif len(activity.subject) > 200:
        add("subject", _("At most 200 characters."), "too_long")
    kind = activity.kind
    if kind not in ActivityKind.values:
        add("kind", _("Choose call, meeting, task or note."), "invalid_choice")
    if kind == ActivityKind.CALL:
        if activity.direction not in CallDirection.values:
            add("direction", _("Choose inbound or outbound."), "required")
        if activity.outcome and activity.outcome not in CallOutcome.values:
            add("outcome", _("Choose a listed outcome."), "invalid_choice")
    else:
        activity.direction, activity.outcome, activity.duration_seconds = "", "", None
    if kind == ActivityKind.MEETING:
        if activity.due_at is None:
            add("due_at", _("A meeting needs a start time."), "required")
        elif activity.ends_at is not None and activity.ends_at <= activity.due_at:
            add("ends_at", _("The meeting must end after it starts."), "invalid")
        if activity.video_url:
            try:
                URLValidator(schemes=["http", "https"])(activity.video_url)
            except ValidationError:
                add("video_url", _("Enter a valid http(s) link."), "invalid")
        if len(activity.location) > 300:
            add("location", _("At most 300 characters."), "too_long")
        if len(activity.video_url) > 500:
            add("video_url", _("At most 500 characters."), "too_long")
    else:
        activity.location, activity.video_url, activity.ends_at = "", "", None
        attendees.clear()  # only meetings have attendees
    if kind == ActivityKind.TASK and activity.due_at is None:
        add("due_at", _("A task needs a due date."), "required")
    if activity.remind_at is not None and activity.kind == ActivityKind.NOTE:
        add("remind_at", _("Notes have no reminders."), "invalid")
    if errors:
        raise ValidationError(errors)


def _state(activity, contacts=None, users=None):
    state = {"kind": activity.kind, "status": activity.status}
    for name in ACTIVITY_FIELDS:
        if name in REFERENCE_FIELDS:
            state[f"{name}_id"] = getattr(activity, f"{name}_id")
        elif name == "attendee_contacts":
            if contacts is not None:
                state["attendee_contact_ids"] = sorted(c.pk for c in contacts)
        elif name == "attendee_users":
            if users is not None:
                state["attendee_user_ids"] = sorted(u.pk for u in users)
        else:
            value = getattr(activity, name)
            state[name] = value.isoformat() if hasattr(value, "isoformat") else value
    return state


def _payload(activity, **extra):
    return {"kind": activity.kind, "account_id": activity.account_id,
            "contact_id": activity.contact_id, "title": activity.subject[:120], **extra}


def _emit(type_, activity, actor, **extra):
    emit_event(type=type_, organization=activity.organization, aggregate=activity, actor=actor,
               payload=_payload(activity, **extra))


def _reindex(activity):
    search_index.index_activity(activity)


def activity_create(*, organization, actor, kind, status=ActivityStatus.OPEN, **fields):
    """Create an activity of `kind`. `fields` are ACTIVITY_FIELDS (references as objects or
    ids, attendees as lists). The assignee defaults to the actor when the actor is a member.
    `status="done"` logs something that already happened (a call made, a note)."""
    activity = Activity(organization=organization, kind=kind)
    if status not in (ActivityStatus.OPEN, ActivityStatus.DONE):
        raise _field_error("status", _("A new activity must be open or done."), "invalid_choice")
    activity.status = status
    attendees = {}
    if ("assignee" not in fields and getattr(actor, "pk", None)
            and Membership.objects.filter(organization=organization, user=actor,
                                          is_active=True).exists()):
        fields = {**fields, "assignee": actor}
    _apply(activity, organization, fields, attendees)
    now = timezone.now()
    if activity.status == ActivityStatus.DONE:
        activity.completed_at = now
        if activity.due_at is None:
            activity.due_at = now
    if kind == ActivityKind.MEETING:
        activity.ical_uid = f"{uuid.uuid4()}@{ical_domain()}"
    activity.created_by = actor if getattr(actor, "is_authenticated", False) else None
    activity.created_at = activity.updated_at = now
    with transaction.atomic():
        activity.save()
        contacts = attendees.get("contacts") or []
        users = attendees.get("users") or []
        if kind == ActivityKind.MEETING:
            activity.attendee_contacts.set(contacts)
            activity.attendee_users.set(users)
        _reindex(activity)
        after = _state(activity, contacts, users)
        audit_record(actor=actor, organization=organization, action="crm.activity.created",
                     obj=activity, after=after)
        _emit("crm.activity.created", activity, actor, changed=sorted(after))
    return activity


def _locked(activity, version):
    locked = Activity.objects.select_for_update().select_related("organization") \
        .get(pk=activity.pk)
    if version is not None and locked.version != version:
        raise StaleVersion()
    return locked


def activity_update(*, activity, actor, version, **changes):
    """Change some fields; `version` must match (409 otherwise). The kind never changes.
    Moving `remind_at` re-arms the reminder."""
    organization = activity.organization
    with transaction.atomic():
        locked = _locked(activity, version)
        old_contacts = list(locked.attendee_contacts.all())
        old_users = list(locked.attendee_users.all())
        before = _state(locked, old_contacts, old_users)
        attendees = {}
        _apply(locked, organization, changes, attendees)
        contacts = old_contacts if attendees.get("contacts") is None else attendees["contacts"]
        users = old_users if attendees.get("users") is None else attendees["users"]
        after = _state(locked, contacts, users)
        changed = sorted(key for key in after if before.get(key) != after.get(key))
        if not changed:
            return locked
        if "remind_at" in changed:
            locked.reminded_at = None
        locked.version += 1
        locked.updated_at = timezone.now()
        locked.save()
        if "attendee_contact_ids" in changed:
            locked.attendee_contacts.set(contacts)
        if "attendee_user_ids" in changed:
            locked.attendee_users.set(users)
        _reindex(locked)
        audit_record(actor=actor, organization=organization, action="crm.activity.updated",
                     obj=locked, before={k: before.get(k) for k in changed},
                     after={k: after.get(k) for k in changed})
        _emit("crm.activity.updated", locked, actor, changed=changed)
    return locked


def _set_status(activity, actor, version, status, event, *, outcome=None):
    with transaction.atomic():
        locked = _locked(activity, version)
        if locked.status == status:
            return locked
        if locked.status != ActivityStatus.OPEN:
            raise CrmError(_("Only an open activity can be completed or cancelled."),
                           code="not_open", field="status")
        before = locked.status
        locked.status = status
        now = timezone.now()
        locked.completed_at = now if status == ActivityStatus.DONE else None
        if outcome is not None and locked.kind == ActivityKind.CALL:
            if outcome not in CallOutcome.values:
                raise _field_error("outcome", _("Choose a listed outcome."), "invalid_choice")
            locked.outcome = outcome
        locked.version += 1
        locked.updated_at = now
        locked.save()
        audit_record(actor=actor, organization=locked.organization,
                     action=f"crm.activity.{event}", obj=locked,
                     before={"status": before}, after={"status": status})
        _emit(f"crm.activity.{event}", locked, actor, changed=["status"])
    return locked


def activity_complete(*, activity, actor, version=None, outcome=None):
    """Mark done (idempotent: completing a done activity changes nothing)."""
    return _set_status(activity, actor, version, ActivityStatus.DONE, "completed",
                       outcome=outcome)


def activity_cancel(*, activity, actor, version=None):
    return _set_status(activity, actor, version, ActivityStatus.CANCELLED, "cancelled")


def activity_delete(*, activity, actor, version=None):
    """Delete for good (comments and documents attached to it go with it)."""
    with transaction.atomic():
        locked = _locked(activity, version)
        _emit("crm.activity.deleted", locked, actor)
        audit_record(actor=actor, organization=locked.organization,
                     action="crm.activity.deleted", obj=locked,
                     before=_state(locked))
        search_index.unindex(organization_id=locked.organization_id,
                             kind=search_index.ACTIVITY, object_id=locked.pk)
        locked.delete()


def activity_send_invitation(*, activity, actor):
    """Email the meeting (METHOD:REQUEST .ics) to the attendee contacts that have an email.
    Returns the addresses; the email itself goes out from the task queue after commit."""
    from .tasks import send_meeting_invitation

    if activity.kind != ActivityKind.MEETING:
        raise CrmError(_("Only meetings have invitations."), code="not_a_meeting",
                       field="kind")
    if activity.status != ActivityStatus.OPEN:
        raise CrmError(_("Invitations can be sent only for open meetings."), code="not_open",
                       field="status")
    addresses = sorted({c.email for c in activity.attendee_contacts.all() if c.email})
    if not addresses:
        raise CrmError(_("No attendee contact has an email address."), code="no_recipients",
                       field="attendee_contact_ids")
    with transaction.atomic():
        send_meeting_invitation.enqueue(activity_id=activity.pk)
        audit_record(actor=actor, organization=activity.organization,
                     action="crm.activity.invitation_sent", obj=activity,
                     after={"to": addresses, "sequence": activity.version})
    return addresses


# --- Reminders -----------------------------------------------------------------------------


def _due_reminders(now):
    queryset = Activity.objects.filter(
        remind_at__isnull=False, remind_at__lte=now, reminded_at__isnull=True,
        status=ActivityStatus.OPEN,
    ).order_by("remind_at", "id")
    if connection.features.has_select_for_update_skip_locked:
        # Two workers at once: each takes rows the other has not locked.
        queryset = queryset.select_for_update(skip_locked=True)
    return queryset


def send_due_reminders(*, now=None):
    """Notify assignees of activities whose `remind_at` has come (in-app + email), once.

    Safe to run twice at the same time: rows are claimed with SELECT ... FOR UPDATE SKIP
    LOCKED (PostgreSQL), `reminded_at` is set in the same transaction, and the notification
    key (activity id + remind_at) is unique per user. Returns how many reminders were sent."""
    from django.contrib.auth import get_user_model
    from django.urls import reverse

    from jalin.tenancy.models import Organization

    now = now or timezone.now()
    sent = 0
    while True:
        with transaction.atomic():
            batch = list(_due_reminders(now)[:REMINDER_BATCH])
            if not batch:
                break
            users = get_user_model().objects.in_bulk(
                {a.assignee_id for a in batch if a.assignee_id})
            orgs = Organization.objects.in_bulk({a.organization_id for a in batch})
            for activity in batch:
                user = users.get(activity.assignee_id)
                if user is not None:
                    when = timezone.localtime(activity.due_at).strftime("%Y-%m-%d %H:%M") \
                        if activity.due_at else ""
                    created = notify(
                        organization=orgs[activity.organization_id], user=user,
                        kind="reminder",
                        title=_("Reminder: %(subject)s") % {"subject": activity.subject},
                        body=(_("Due %(when)s") % {"when": when}) if when else "",
                        url=reverse("crm:activity_detail", args=[activity.pk]),
                        key=f"reminder:activity:{activity.pk}:{activity.remind_at.isoformat()}",
                        email=True,
                    )
                    sent += created is not None
                activity.reminded_at = now
            Activity.objects.bulk_update(batch, ["reminded_at"])
        if len(batch) < REMINDER_BATCH:
            break
    return sent
