"""/api/v1/crm/ endpoints for activities, My day and meeting calendars.

The same services and selectors as the pages. Foreign or missing ids in the path are 404;
foreign ids in a body (account, contact, assignee, attendees) are 422 naming the field; PATCH
needs `version` and answers 409 `stale` if the activity changed since it was read.
"""

from datetime import date, datetime
from typing import Literal

from django.db.models import prefetch_related_objects
from django.http import HttpResponse
from django.urls import reverse
from ninja import Field, Query, Router, Schema, Status

from jalin.api.auth import require
from jalin.api.idempotency import idempotent
from jalin.api.pagination import Page, PageParams, paginate
from jalin.api.schemas import MAX_INT, Input
from jalin.tenancy.access import get_for_org_or_404
from jalin.tenancy.roles import CRM_EDIT, CRM_VIEW

from ..models import Activity, ActivityKind, ActivityStatus, CallDirection, CallOutcome
from . import selectors, services
from .ics import calendar_for, ics_filename

router = Router(tags=["crm"])

Kind = Literal[tuple(ActivityKind.values)]
StatusChoice = Literal[tuple(ActivityStatus.values)]
NewStatus = Literal["open", "done"]
Direction = Literal[tuple(CallDirection.values + [""])]
Outcome = Literal[tuple(CallOutcome.values + [""])]
BigId = Field(None, ge=1, le=2**63 - 1)


class ActivityOut(Schema):
    id: int
    kind: str
    subject: str
    notes: str
    status: str
    account_id: int | None
    contact_id: int | None
    assignee_id: int | None
    created_by_id: int | None
    due_at: datetime | None
    ends_at: datetime | None
    all_day: bool
    direction: str
    duration_seconds: int | None
    outcome: str
    location: str
    video_url: str
    attendee_contact_ids: list[int]
    attendee_user_ids: list[int]
    ical_uid: str
    remind_at: datetime | None
    reminded_at: datetime | None
    completed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int = Field(description="Send back in PATCH; a stale version gets 409")

    @staticmethod
    def resolve_attendee_contact_ids(obj):
        return sorted(contact.pk for contact in obj.attendee_contacts.all())

    @staticmethod
    def resolve_attendee_user_ids(obj):
        return sorted(user.pk for user in obj.attendee_users.all())


class ActivityFields(Input):
    notes: str | None = Field(None, max_length=20000)
    account_id: int | None = BigId
    contact_id: int | None = BigId
    assignee_id: int | None = BigId
    due_at: datetime | None = None
    ends_at: datetime | None = None
    all_day: bool | None = None
    direction: Direction | None = None
    duration_seconds: int | None = Field(None, ge=0, le=MAX_INT)
    outcome: Outcome | None = None
    location: str | None = Field(None, max_length=300)
    video_url: str | None = Field(None, max_length=500)
    attendee_contact_ids: list[int] | None = Field(None, max_length=100)
    attendee_user_ids: list[int] | None = Field(None, max_length=100)
    remind_at: datetime | None = None


class ActivityIn(ActivityFields):
    kind: Kind
    subject: str = Field(min_length=1, max_length=200)
    status: NewStatus = Field("open", description="`done` logs something that happened")


class ActivityPatchIn(ActivityFields):
    version: int = Field(ge=1, le=MAX_INT)
    subject: str | None = Field(None, min_length=1, max_length=200)


class CompleteIn(Input):
    version: int | None = Field(None, ge=1, le=MAX_INT)
    outcome: Outcome | None = None


class ActivityFilters(PageParams):
    kind: Kind | None = None
    status: StatusChoice | None = None
    assignee_id: int | None = BigId
    account_id: int | None = BigId
    contact_id: int | None = BigId
    date_from: date | None = Field(None, description="due on or after this day (org time)")
    date_to: date | None = Field(None, description="due on or before this day (org time)")
    sort: Literal["created", "updated"] = "created"


class MyDayOut(Schema):
    today: date
    overdue: list[ActivityOut]
    due_today: list[ActivityOut]
    upcoming: list[ActivityOut]


_RENAMED = {"account_id": "account", "contact_id": "contact", "assignee_id": "assignee",
            "attendee_contact_ids": "attendee_contacts",
            "attendee_user_ids": "attendee_users"}


def _service_kwargs(payload, *, exclude=("version", "kind", "status")):
    sent = payload.model_dump(exclude_unset=True)
    return {_RENAMED.get(key, key): value for key, value in sent.items() if key not in exclude}


def _queryset():
    return Activity.objects.prefetch_related("attendee_contacts", "attendee_users")


def _activity(organization, activity_id):
    return get_for_org_or_404(_queryset(), organization, pk=activity_id)


@router.get("/crm/activities", response=Page[ActivityOut])
def activity_list(request, filters: Query[ActivityFilters]):
    """Filters: `kind`, `status`, `assignee_id`, `account_id`, `contact_id`, `date_from` /
    `date_to` (on the due date, organization time zone). Newest first (`sort`)."""
    membership = require(request, CRM_VIEW)
    queryset = selectors.activities_list(
        organization=membership.organization,
        filters=selectors.ActivityFilters(
            kind=filters.kind or "", status=filters.status or "",
            assignee=filters.assignee_id, account=filters.account_id,
            contact=filters.contact_id, date_from=filters.date_from,
            date_to=filters.date_to))
    return paginate(queryset.prefetch_related("attendee_contacts", "attendee_users"),
                    cursor=filters.cursor, limit=filters.limit,
                    order=selectors.LIST_SORTS[filters.sort])


@router.get("/crm/activities/{activity_id}", response=ActivityOut)
def activity_detail(request, activity_id: int):
    membership = require(request, CRM_VIEW)
    return _activity(membership.organization, activity_id)


@router.post("/crm/activities", response={201: ActivityOut})
@idempotent
def activity_post(request, payload: ActivityIn):
    """Calls need `direction`; meetings `due_at` (and `ends_at` after it); tasks `due_at`.
    The assignee defaults to the caller. Meetings get a stable iCalendar UID."""
    membership = require(request, CRM_EDIT)
    activity = services.activity_create(
        organization=membership.organization, actor=request.user, kind=payload.kind,
        status=payload.status, **_service_kwargs(payload))
    return Status(201, _activity(membership.organization, activity.pk))


@router.patch("/crm/activities/{activity_id}", response=ActivityOut)
@idempotent
def activity_patch(request, activity_id: int, payload: ActivityPatchIn):
    membership = require(request, CRM_EDIT)
    activity = _activity(membership.organization, activity_id)
    services.activity_update(activity=activity, actor=request.user, version=payload.version,
                             **_service_kwargs(payload))
    return _activity(membership.organization, activity_id)


@router.delete("/crm/activities/{activity_id}", response={204: None})
@idempotent
def activity_delete(request, activity_id: int):
    membership = require(request, CRM_EDIT)
    services.activity_delete(activity=_activity(membership.organization, activity_id),
                             actor=request.user)
    return Status(204, None)


@router.post("/crm/activities/{activity_id}/complete", response=ActivityOut)
@idempotent
def activity_complete(request, activity_id: int, payload: CompleteIn | None = None):
    """Mark done; completing a done activity again changes nothing. Calls may send the
    `outcome`; `version` is optional (checked when sent)."""
    membership = require(request, CRM_EDIT)
    activity = _activity(membership.organization, activity_id)
    services.activity_complete(activity=activity, actor=request.user,
                               version=payload.version if payload else None,
                               outcome=(payload.outcome or None) if payload else None)
    return _activity(membership.organization, activity_id)


@router.get("/crm/activities/{activity_id}/ics")
def activity_ics(request, activity_id: int):
    """The meeting as an iCalendar file (METHOD:PUBLISH, text/calendar)."""
    membership = require(request, CRM_VIEW)
    activity = get_for_org_or_404(
        _queryset().select_related("assignee", "created_by").filter(
            kind=ActivityKind.MEETING), membership.organization, pk=activity_id)
    return ics_response(request, [activity], ics_filename(activity))


def ics_response(request, activities, filename):
    body = calendar_for(activities, url_for=lambda a: request.build_absolute_uri(
        reverse("crm:activity_detail", args=[a.pk])))
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@router.get("/crm/my-day", response=MyDayOut)
def my_day(request):
    """The caller's open activities: overdue, due today and the next 7 days (organization
    time zone)."""
    membership = require(request, CRM_VIEW)
    result = selectors.my_day(user=request.user, organization=membership.organization)
    prefetch_related_objects([*result.overdue, *result.due_today, *result.upcoming],
                             "attendee_contacts", "attendee_users")
    return result
