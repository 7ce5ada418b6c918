"""Forms for the activity pages. They only shape input; the services decide."""

from django import forms
from django.utils.translation import gettext_lazy as _

from jalin.core.params import int_param

from ..models import (
    Account,
    ActivityKind,
    ActivityStatus,
    CallDirection,
    CallOutcome,
    Contact,
)

MAX_OPTIONS = 300
DATETIME_WIDGET = {"attrs": {"type": "datetime-local"}, "format": "%Y-%m-%dT%H:%M"}

# The fields each kind shows (besides subject, notes, account, contact, assignee).
KIND_FIELDS = {
    ActivityKind.CALL: ("due_at", "direction", "duration_minutes", "outcome", "remind_at"),
    ActivityKind.MEETING: ("due_at", "ends_at", "location", "video_url", "attendee_contacts",
                           "attendee_users", "remind_at"),
    ActivityKind.TASK: ("due_at", "remind_at"),
    ActivityKind.NOTE: (),
}
COMMON_FIELDS = ("subject", "account", "contact", "assignee", "notes")


def _members(organization):
    return list(organization.memberships.filter(is_active=True, user__is_active=True)
                .select_related("user").order_by("user__username")
                .values_list("user_id", "user__username"))


def _accounts(organization, current_id):
    queryset = Account.objects.filter(organization=organization, archived_at__isnull=True)
    rows = list(queryset.order_by("name", "id").values_list("pk", "name")[:MAX_OPTIONS])
    if current_id and all(pk != current_id for pk, _name in rows):
        rows += list(queryset.filter(pk=current_id).values_list("pk", "name"))
    return rows


def _contact_label(row):
    first, last, email = row[1], row[2], row[3]
    name = f"{first} {last}".strip()
    return f"{name} <{email}>" if email else name


def _contacts(organization, account_id, current_ids):
    queryset = Contact.objects.filter(organization=organization, archived_at__isnull=True)
    preferred = queryset.filter(account_id=account_id) if account_id else queryset
    rows = list(preferred.order_by("last_name", "first_name", "id")
                .values_list("pk", "first_name", "last_name", "email")[:MAX_OPTIONS])
    missing = set(current_ids) - {row[0] for row in rows}
    if missing:
        rows += list(queryset.filter(pk__in=missing)
                     .values_list("pk", "first_name", "last_name", "email"))
    return [(row[0], _contact_label(row)) for row in rows]


class ActivityForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    subject = forms.CharField(label=_("Subject"), max_length=200)
    account = forms.TypedChoiceField(label=_("Account"), required=False, coerce=int,
                                     empty_value=None)
    contact = forms.TypedChoiceField(label=_("Contact"), required=False, coerce=int,
                                     empty_value=None)
    assignee = forms.TypedChoiceField(label=_("Assigned to"), required=False, coerce=int,
                                      empty_value=None)
    due_at = forms.DateTimeField(label=_("When"), required=False,
                                 widget=forms.DateTimeInput(**DATETIME_WIDGET))
    ends_at = forms.DateTimeField(label=_("Ends"), required=False,
                                  widget=forms.DateTimeInput(**DATETIME_WIDGET))
    direction = forms.ChoiceField(label=_("Direction"), required=False,
                                  choices=[("", "—"), *CallDirection.choices])
    duration_minutes = forms.IntegerField(label=_("Duration (minutes)"), required=False,
                                          min_value=0, max_value=7 * 24 * 60)
    outcome = forms.ChoiceField(label=_("Outcome"), required=False,
                                choices=[("", "—"), *CallOutcome.choices])
    location = forms.CharField(label=_("Location"), required=False, max_length=300)
    video_url = forms.CharField(label=_("Video link"), required=False, max_length=500,
                                widget=forms.URLInput)
    attendee_contacts = forms.TypedMultipleChoiceField(
        label=_("Attendees (contacts)"), required=False, coerce=int,
        widget=forms.SelectMultiple(attrs={"size": 6}))
    attendee_users = forms.TypedMultipleChoiceField(
        label=_("Attendees (colleagues)"), required=False, coerce=int,
        widget=forms.SelectMultiple(attrs={"size": 4}))
    remind_at = forms.DateTimeField(label=_("Remind me at"), required=False,
                                    widget=forms.DateTimeInput(**DATETIME_WIDGET))
    notes = forms.CharField(label=_("Notes"), required=False, max_length=20000,
                            widget=forms.Textarea(attrs={"rows": 4}))
    done = forms.BooleanField(label=_("Already happened (log it as done)"), required=False)

    def __init__(self, *args, organization, kind, activity=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind = kind
        keep = set(COMMON_FIELDS) | set(KIND_FIELDS[kind]) | {"version"}
        if activity is None and kind == ActivityKind.CALL:
            keep.add("done")
        for name in list(self.fields):
            if name not in keep:
                del self.fields[name]
        data_account = self.data.get("account") if self.is_bound else None
        account_id = (int_param(data_account, positive=True)
                      or int_param(self.initial.get("account"), positive=True))
        self.fields["account"].choices = [("", "—"), *_accounts(organization, account_id)]
        contact_ids = [int_param(self.initial.get("contact"), positive=True)]
        if "attendee_contacts" in self.fields:
            contact_ids += list(self.initial.get("attendee_contacts") or [])
            if self.is_bound:
                contact_ids += [int_param(v, positive=True)
                                for v in self.data.getlist("attendee_contacts")]
        if self.is_bound:
            contact_ids.append(int_param(self.data.get("contact"), positive=True))
        contacts = _contacts(organization, account_id, [i for i in contact_ids if i])
        self.fields["contact"].choices = [("", "—"), *contacts]
        members = _members(organization)
        self.fields["assignee"].choices = [("", "—"), *members]
        if "attendee_contacts" in self.fields:
            self.fields["attendee_contacts"].choices = contacts
            self.fields["attendee_users"].choices = members
        if kind in (ActivityKind.MEETING, ActivityKind.TASK):
            self.fields["due_at"].required = True
            self.fields["due_at"].label = (_("Starts") if kind == ActivityKind.MEETING
                                           else _("Due"))
        if kind == ActivityKind.CALL:
            self.fields["direction"].required = True

    def service_fields(self):
        data = self.cleaned_data
        fields = {}
        for name in self.fields:
            if name in ("version", "done", "duration_minutes"):
                continue
            fields[name] = data.get(name)
        if "duration_minutes" in self.fields:
            minutes = data.get("duration_minutes")
            fields["duration_seconds"] = None if minutes is None else minutes * 60
        return fields

    def status(self):
        return ActivityStatus.DONE if self.cleaned_data.get("done") else ActivityStatus.OPEN


def initial_for(activity):
    initial = {
        "version": activity.version, "subject": activity.subject,
        "account": activity.account_id, "contact": activity.contact_id,
        "assignee": activity.assignee_id, "notes": activity.notes,
        "due_at": activity.due_at, "ends_at": activity.ends_at,
        "direction": activity.direction, "outcome": activity.outcome,
        "location": activity.location, "video_url": activity.video_url,
        "remind_at": activity.remind_at,
        "duration_minutes": (activity.duration_seconds // 60
                             if activity.duration_seconds is not None else None),
    }
    if activity.kind == ActivityKind.MEETING:
        initial["attendee_contacts"] = [c.pk for c in activity.attendee_contacts.all()]
        initial["attendee_users"] = [u.pk for u in activity.attendee_users.all()]
    return initial


class FilterForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), required=False,
                             choices=[("", _("Any")), *ActivityKind.choices])
    status = forms.ChoiceField(label=_("Status"), required=False,
                               choices=[("", _("Any")), *ActivityStatus.choices])
    date_from = forms.DateField(label=_("From"), required=False,
                                widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), required=False,
                              widget=forms.DateInput(attrs={"type": "date"}))
    q = forms.CharField(label=_("Subject contains"), required=False, max_length=100)


class LogCallForm(forms.Form):
    """The panel's quick form: a call that just happened."""

    subject = forms.CharField(label=_("Subject"), max_length=200)
    direction = forms.ChoiceField(label=_("Direction"), choices=CallDirection.choices,
                                  initial=CallDirection.OUTBOUND)
    outcome = forms.ChoiceField(label=_("Outcome"), required=False,
                                choices=[("", "—"), *CallOutcome.choices])
    duration_minutes = forms.IntegerField(label=_("Minutes"), required=False, min_value=0,
                                          max_value=24 * 60)
    notes = forms.CharField(label=_("Notes"), required=False, max_length=20000,
                            widget=forms.Textarea(attrs={"rows": 2}))
