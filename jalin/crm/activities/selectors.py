"""Reads for activities: the filtered list, My day, the calendar and the record panels.

Everything is scoped by organization first and ordered by an indexed key ending in the
primary key; related rows come in with select_related, so every page is a fixed number of
queries. Days are the organization's days: settings.TIME_ZONE (Asia/Jakarta).
"""

import calendar as pycalendar
import datetime
from dataclasses import dataclass, field

from django.db.models import F, Prefetch, Q
from django.utils import timezone

from jalin.tenancy.access import for_org, get_for_org_or_404

from ..models import Activity, ActivityKind, ActivityStatus, Contact

LIST_SORTS = {"created": ("-created_at", "-id"), "updated": ("-updated_at", "-id")}
PANEL_DONE_LIMIT = 10
PANEL_OPEN_LIMIT = 20
MY_DAY_LIMIT = 100
UPCOMING_DAYS = 7
CALENDAR_LIMIT = 1000
_BIGINT = 2**63 - 1
MIN_YEAR, MAX_YEAR = 1900, 9000  # far from datetime's limits in any time zone


@dataclass
class ActivityFilters:
    kind: str = ""
    status: str = ""
    assignee: int | None = None
    account: int | None = None
    contact: int | None = None
    date_from: datetime.date | None = None  # on due_at, org days, inclusive
    date_to: datetime.date | None = None
    q: str = ""


def org_timezone():
    return timezone.get_default_timezone()


def day_start(day):
    """The aware moment a calendar day starts in the organization's time zone."""
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=org_timezone())


def _clean_id(value):
    return value if isinstance(value, int) and 0 < value <= _BIGINT else None


def activities_list(*, organization, filters=None):
    """Activities matching `filters`, unordered (the paginator orders them)."""
    filters = filters or ActivityFilters()
    queryset = for_org(Activity, organization).select_related("account", "contact", "assignee")
    if filters.kind:
        queryset = queryset.filter(kind=filters.kind)
    if filters.status:
        queryset = queryset.filter(status=filters.status)
    for name in ("assignee", "account", "contact"):
        value = getattr(filters, name)
        if value is not None:
            value = _clean_id(value)
            if value is None:
                return queryset.none()
            queryset = queryset.filter(**{f"{name}_id": value})
    if filters.date_from and filters.date_from.year > MAX_YEAR:
        return queryset.none()
    if filters.date_from and filters.date_from.year >= MIN_YEAR:
        queryset = queryset.filter(due_at__gte=day_start(filters.date_from))
    if filters.date_to and filters.date_to.year < MIN_YEAR:
        return queryset.none()
    if filters.date_to and filters.date_to.year <= MAX_YEAR:
        queryset = queryset.filter(
            due_at__lt=day_start(filters.date_to + datetime.timedelta(days=1)))
    q = (filters.q or "").strip()[:100]
    if q:
        queryset = queryset.filter(subject__icontains=q)
    return queryset


def activity_detail(*, organization, pk):
    return get_for_org_or_404(
        Activity.objects.select_related("account", "contact", "assignee", "created_by")
        .prefetch_related(Prefetch("attendee_contacts",
                                   queryset=Contact.objects.order_by("last_name", "id")),
                          "attendee_users"),
        organization, pk=pk)


@dataclass
class MyDay:
    today: datetime.date
    overdue: list = field(default_factory=list)
    due_today: list = field(default_factory=list)
    upcoming: list = field(default_factory=list)

    def __bool__(self):
        return bool(self.overdue or self.due_today or self.upcoming)


def my_day(*, user, organization, now=None):
    """The user's open activities: overdue (before today), today, and the next 7 days, in
    the organization's time zone. One query (the crm_activity_my_day index)."""
    now = now or timezone.now()
    today = timezone.localtime(now, org_timezone()).date()
    start_today = day_start(today)
    start_tomorrow = day_start(today + datetime.timedelta(days=1))
    horizon = day_start(today + datetime.timedelta(days=UPCOMING_DAYS + 1))
    rows = list(
        for_org(Activity, organization)
        .filter(assignee=user, status=ActivityStatus.OPEN, due_at__lt=horizon)
        .select_related("account", "contact")
        .order_by("due_at", "id")[:MY_DAY_LIMIT * 3]
    )
    result = MyDay(today=today)
    for activity in rows:
        if activity.due_at < start_today:
            result.overdue.append(activity)
        elif activity.due_at < start_tomorrow:
            result.due_today.append(activity)
        else:
            result.upcoming.append(activity)
    result.overdue = result.overdue[-MY_DAY_LIMIT:]
    return result


def calendar_range(*, organization, start, end, user=None, kinds=None):
    """Activities with due_at in [start, end) (aware datetimes), oldest first; `user`
    limits to the ones assigned to or attended by that user."""
    queryset = (for_org(Activity, organization)
                .filter(due_at__gte=start, due_at__lt=end)
                .exclude(status=ActivityStatus.CANCELLED)
                .select_related("account", "contact", "assignee"))
    if kinds:
        queryset = queryset.filter(kind__in=kinds)
    if user is not None:
        queryset = queryset.filter(Q(assignee=user) | Q(attendee_users=user)).distinct()
    return list(queryset.order_by("due_at", "id")[:CALENDAR_LIMIT])


def meetings_for_export(*, organization, user, start, end):
    """The user's meetings (assigned or attending) in [start, end), with attendees."""
    queryset = (for_org(Activity, organization)
                .filter(kind=ActivityKind.MEETING, due_at__gte=start, due_at__lt=end)
                .filter(Q(assignee=user) | Q(attendee_users=user)).distinct()
                .select_related("assignee", "created_by")
                .prefetch_related("attendee_contacts", "attendee_users"))
    return list(queryset.order_by("due_at", "id")[:CALENDAR_LIMIT])


@dataclass
class MonthGrid:
    year: int
    month: int
    weeks: list  # [[{"date": date, "in_month": bool, "items": [...]}, ...7], ...]
    previous: datetime.date
    next: datetime.date
    first: datetime.date
    count: int

    @property
    def days(self):
        return [day for week in self.weeks for day in week if day["items"]]


def month_grid(*, organization, year, month, user=None, firstweekday=0):
    """A month calendar (weeks Monday first) with the activities of each day."""
    cal = pycalendar.Calendar(firstweekday=firstweekday)
    dates = list(cal.itermonthdates(year, month))
    start, end = day_start(dates[0]), day_start(dates[-1] + datetime.timedelta(days=1))
    items = calendar_range(organization=organization, start=start, end=end, user=user)
    by_day = {}
    tz = org_timezone()
    for activity in items:
        by_day.setdefault(timezone.localtime(activity.due_at, tz).date(), []).append(activity)
    weeks = []
    for index in range(0, len(dates), 7):
        weeks.append([{"date": day, "in_month": day.month == month,
                       "items": by_day.get(day, [])} for day in dates[index:index + 7]])
    first = datetime.date(year, month, 1)
    previous = (first - datetime.timedelta(days=1)).replace(day=1)
    following = (first + datetime.timedelta(days=32)).replace(day=1)
    return MonthGrid(year=year, month=month, weeks=weeks, previous=previous, next=following,
                     first=first, count=len(items))


def week_days(*, organization, start_day, user=None):
    """Seven days from `start_day` with their activities."""
    start = day_start(start_day)
    end = day_start(start_day + datetime.timedelta(days=7))
    items = calendar_range(organization=organization, start=start, end=end, user=user)
    tz = org_timezone()
    days = [{"date": start_day + datetime.timedelta(days=i), "items": []} for i in range(7)]
    for activity in items:
        offset = (timezone.localtime(activity.due_at, tz).date() - start_day).days
        if 0 <= offset < 7:
            days[offset]["items"].append(activity)
    return days


def panel(*, organization, record):
    """For an account or contact page: open activities (next due first) and the last 10
    done. Two queries whatever the history holds."""
    field_name = "account" if record._meta.model_name == "account" else "contact"
    base = (for_org(Activity, organization).filter(**{field_name: record})
            .select_related("assignee", "contact", "account"))
    open_items = list(base.filter(status=ActivityStatus.OPEN)
                      .order_by(F("due_at").asc(nulls_last=True), "id")[:PANEL_OPEN_LIMIT])
    done_items = list(base.filter(status=ActivityStatus.DONE)
                      .order_by("-completed_at", "-id")[:PANEL_DONE_LIMIT])
    return open_items, done_items
