"""Activity pages: list (filters, keyset pages, CSV), forms per kind, detail, My day, the
month/week calendar, .ics downloads, invitations and the panel's quick "log a call".

Thin views: reads through `selectors` (404 for foreign ids), writes through `services`; a
refused write re-renders the form with 400 (409 when someone else saved first).
"""

import datetime

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jalin.core.params import int_param
from jalin.tenancy.access import get_for_org_or_404
from jalin.tenancy.decorators import org_required
from jalin.tenancy.roles import CRM_EDIT, CRM_VIEW, has_perm

from .. import selectors as crm_selectors
from ..forms import add_service_error
from ..models import Account, Activity, ActivityKind, Contact
from ..views import _csv_response
from . import selectors, services
from .api import ics_response
from .forms import ActivityForm, FilterForm, LogCallForm, initial_for
from .ics import ics_filename

PER_PAGE = 50
MAX_EXPORT_DAYS = 366


def _can_edit(request):
    return has_perm(request.membership, CRM_EDIT)


def _filters(request):
    form = FilterForm(request.GET)
    data = form.cleaned_data if form.is_valid() else {}
    filters = selectors.ActivityFilters(
        kind=data.get("kind") or "", status=data.get("status") or "",
        assignee=int_param(request.GET.get("assignee"), positive=True),
        account=int_param(request.GET.get("account"), positive=True),
        contact=int_param(request.GET.get("contact"), positive=True),
        date_from=data.get("date_from"), date_to=data.get("date_to"), q=data.get("q") or "")
    if request.GET.get("assignee") == "me":
        filters.assignee = request.user.pk
    return form, filters


def _members(request):
    return list(request.organization.memberships.filter(is_active=True)
                .select_related("user").order_by("user__username")
                .values_list("user_id", "user__username"))


@org_required(CRM_VIEW)
@require_GET
def activity_list(request):
    form, filters = _filters(request)
    queryset = selectors.activities_list(organization=request.organization, filters=filters)
    page = crm_selectors.keyset_page(queryset, order=selectors.LIST_SORTS["created"],
                                     after=request.GET.get("after"),
                                     before=request.GET.get("before"), per_page=PER_PAGE)
    names = ("kind", "status", "assignee", "account", "contact", "date_from", "date_to", "q")
    return render(request, "crm/activities/activity_list.html", {
        "page": page, "filter_form": form, "can_edit": _can_edit(request),
        "members": _members(request), "assignee_value": request.GET.get("assignee", ""),
        "is_filtered": any(request.GET.get(name) for name in names),
        "kinds": ActivityKind.choices,
    })


@org_required(CRM_VIEW)
@require_GET
def activity_export(request):
    _form, filters = _filters(request)
    queryset = selectors.activities_list(organization=request.organization, filters=filters) \
        .order_by(*selectors.LIST_SORTS["created"])
    header = ["id", "kind", "subject", "status", "account_id", "account", "contact_id",
              "contact", "assignee", "due_at", "ends_at", "direction", "duration_seconds",
              "outcome", "location", "video_url", "completed_at", "created_at", "notes"]

    def iso(value):
        return value.isoformat() if value else ""

    def rows():
        for a in queryset.iterator(chunk_size=2000):
            yield [a.pk, a.kind, a.subject, a.status, a.account_id or "",
                   a.account.name if a.account else "", a.contact_id or "",
                   a.contact.full_name if a.contact else "",
                   a.assignee.get_username() if a.assignee else "", iso(a.due_at),
                   iso(a.ends_at), a.direction, a.duration_seconds or "", a.outcome,
                   a.location, a.video_url, iso(a.completed_at), iso(a.created_at), a.notes]

    return _csv_response("activities.csv", header, rows())


def _activity(request, pk):
    return selectors.activity_detail(organization=request.organization, pk=pk)


def _back_url(request, fallback):
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return fallback


def _form_page(request, *, activity=None):
    organization = request.organization
    if activity is None:
        kind = request.GET.get("kind") or request.POST.get("kind") or ActivityKind.TASK
        if kind not in ActivityKind.values:
            kind = ActivityKind.TASK
        initial = {"assignee": request.user.pk}
        for name in ("account", "contact"):
            value = int_param(request.GET.get(name), positive=True)
            if value is not None:
                initial[name] = value
        if initial.get("contact") and not initial.get("account"):
            contact = Contact.objects.filter(organization=organization,
                                             pk=initial["contact"]).first()
            if contact is not None and contact.account_id:
                initial["account"] = contact.account_id
        if initial.get("contact") and kind == ActivityKind.MEETING:
            initial["attendee_contacts"] = [initial["contact"]]
    else:
        kind = activity.kind
        initial = initial_for(activity)
    form = ActivityForm(request.POST or None, organization=organization, kind=kind,
                        activity=activity, initial=initial)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                if activity is None:
                    activity = services.activity_create(
                        organization=organization, actor=request.user, kind=kind,
                        status=form.status(), **form.service_fields())
                    messages.success(request, _("%(kind)s “%(subject)s” saved.") % {
                        "kind": activity.get_kind_display(), "subject": activity.subject})
                else:
                    activity = services.activity_update(
                        activity=activity, actor=request.user,
                        version=form.cleaned_data.get("version") or 0,
                        **form.service_fields())
                    messages.success(request, _("“%s” saved.") % activity.subject)
                return redirect("crm:activity_detail", pk=activity.pk)
            except services.StaleVersion as error:
                form.add_error(None, error.message)
                status = 409
            except (services.CrmError, ValidationError) as error:
                add_service_error(form, error)
                if isinstance(error, services.CrmError) and error.field and \
                        error.field.removesuffix("_ids").removesuffix("_id") not in form.fields:
                    form.add_error(None, error.message)
    return render(request, "crm/activities/activity_form.html", {
        "form": form, "activity": activity, "kind": kind,
        "kind_label": ActivityKind(kind).label, "kinds": ActivityKind.choices,
        "prefill": {k: v for k, v in initial.items() if k in ("account", "contact") and v},
    }, status=status)


@org_required(CRM_EDIT)
@require_http_methods(["GET", "POST"])
def activity_create(request):
    return _form_page(request)


@org_required(CRM_EDIT)
@require_http_methods(["GET", "POST"])
def activity_edit(request, pk):
    return _form_page(request, activity=_activity(request, pk))


@org_required(CRM_VIEW)
@require_GET
def activity_detail(request, pk):
    activity = _activity(request, pk)
    return render(request, "crm/activities/activity_detail.html", {
        "activity": activity, "can_edit": _can_edit(request),
        "attendee_contacts": list(activity.attendee_contacts.all()),
        "attendee_users": list(activity.attendee_users.all()),
        "is_meeting": activity.kind == ActivityKind.MEETING,
        "duration_minutes": (None if activity.duration_seconds is None
                             else round(activity.duration_seconds / 60)),
    })


@org_required(CRM_EDIT)
@require_POST
def activity_complete(request, pk):
    activity = get_for_org_or_404(Activity, request.organization, pk=pk)
    try:
        activity = services.activity_complete(activity=activity, actor=request.user)
    except services.CrmError as error:
        if request.headers.get("HX-Request"):
            return render(request, "crm/activities/_my_day_item.html",
                          {"activity": activity, "error": error.message}, status=409)
        messages.error(request, error.message)
        return redirect("crm:activity_detail", pk=pk)
    if request.headers.get("HX-Request"):
        return render(request, "crm/activities/_my_day_item.html",
                      {"activity": activity, "can_edit": True, "just_done": True})
    messages.success(request, _("“%s” marked done.") % activity.subject)
    return redirect(_back_url(request, reverse("crm:activity_detail", args=[pk])))


@org_required(CRM_EDIT)
@require_POST
def activity_cancel(request, pk):
    activity = get_for_org_or_404(Activity, request.organization, pk=pk)
    try:
        services.activity_cancel(activity=activity, actor=request.user)
        messages.success(request, _("“%s” cancelled.") % activity.subject)
    except services.CrmError as error:
        messages.error(request, error.message)
    return redirect("crm:activity_detail", pk=pk)


@org_required(CRM_EDIT)
@require_POST
def activity_delete(request, pk):
    activity = get_for_org_or_404(Activity, request.organization, pk=pk)
    services.activity_delete(activity=activity, actor=request.user)
    messages.success(request, _("“%s” deleted.") % activity.subject)
    if activity.account_id:
        return redirect("crm:account_detail", pk=activity.account_id)
    return redirect("crm:activity_list")


@org_required(CRM_VIEW)
@require_GET
def activity_ics(request, pk):
    activity = get_for_org_or_404(
        Activity.objects.filter(kind=ActivityKind.MEETING)
        .select_related("assignee", "created_by")
        .prefetch_related("attendee_contacts", "attendee_users"),
        request.organization, pk=pk)
    return ics_response(request, [activity], ics_filename(activity))


@org_required(CRM_EDIT)
@require_POST
def activity_invite(request, pk):
    activity = get_for_org_or_404(Activity, request.organization, pk=pk)
    try:
        addresses = services.activity_send_invitation(activity=activity, actor=request.user)
        messages.success(request, _("Invitation sent to %s.") % ", ".join(addresses))
    except services.CrmError as error:
        messages.error(request, error.message)
    return redirect("crm:activity_detail", pk=pk)


# --- The panel on account/contact pages ----------------------------------------------------


def panel_context(request, record, *, form=None):
    open_items, done_items = selectors.panel(organization=request.organization, record=record)
    field = "account" if isinstance(record, Account) else "contact"
    return {"record": record, "record_field": field, "open_items": open_items,
            "done_items": done_items, "can_edit": _can_edit(request),
            "log_form": form or LogCallForm(), "request": request}


@org_required(CRM_EDIT)
@require_POST
def activity_log_call(request):
    """The panel's quick form: log a call on an account or contact; answers the re-rendered
    panel (htmx) or redirects back to the record."""
    account_id = int_param(request.POST.get("account"), positive=True)
    contact_id = int_param(request.POST.get("contact"), positive=True)
    if contact_id is not None:
        record = get_for_org_or_404(Contact.objects.filter(archived_at__isnull=True),
                                    request.organization, pk=contact_id)
    elif account_id is not None:
        record = get_for_org_or_404(Account.objects.filter(archived_at__isnull=True),
                                    request.organization, pk=account_id)
    else:
        raise Http404
    form = LogCallForm(request.POST)
    status = 400
    if form.is_valid():
        data = form.cleaned_data
        minutes = data.get("duration_minutes")
        try:
            services.activity_create(
                organization=request.organization, actor=request.user, kind=ActivityKind.CALL,
                status="done", subject=data["subject"], direction=data["direction"],
                outcome=data.get("outcome") or "", notes=data.get("notes") or "",
                duration_seconds=None if minutes is None else minutes * 60,
                **{"account" if isinstance(record, Account) else "contact": record})
            form, status = None, 200
        except (services.CrmError, ValidationError) as error:
            add_service_error(form, error)
    if request.headers.get("HX-Request"):
        return render(request, "crm/activities/_panel.html",
                      panel_context(request, record, form=form), status=status)
    if status == 200:
        messages.success(request, _("Call logged."))
    else:
        messages.error(request, _("The call was not logged: check the subject and direction."))
    target = "crm:account_detail" if isinstance(record, Account) else "crm:contact_detail"
    return redirect(target, pk=record.pk)


# --- My day and the calendar ---------------------------------------------------------------


@org_required(CRM_VIEW)
@require_GET
def my_day(request):
    day = selectors.my_day(user=request.user, organization=request.organization)
    return render(request, "crm/activities/my_day.html", {
        "day": day, "can_edit": _can_edit(request), "kinds": ActivityKind.choices})


def _month(request):
    today = timezone.localdate()
    raw = request.GET.get("month", "")
    try:
        year, month = (int(part) for part in raw.split("-", 1))
        if not (selectors.MIN_YEAR <= year <= selectors.MAX_YEAR and 1 <= month <= 12):
            raise ValueError
    except ValueError:
        year, month = today.year, today.month
    return year, month


def _scope_user(request):
    return None if request.GET.get("scope") == "all" else request.user


@org_required(CRM_VIEW)
@require_GET
def calendar(request):
    year, month = _month(request)
    grid = selectors.month_grid(organization=request.organization, year=year, month=month,
                                user=_scope_user(request))
    today = timezone.localdate()
    week_start = grid.first if (today.year, today.month) != (year, month) else today
    week_start -= datetime.timedelta(days=week_start.weekday())
    return render(request, "crm/activities/calendar.html", {
        "grid": grid, "today": today, "scope": request.GET.get("scope", "mine"),
        "week_start": week_start,
        "weekdays": [datetime.date(2024, 1, day) for day in range(1, 8)],  # Mon..Sun
    })


@org_required(CRM_VIEW)
@require_GET
def calendar_week(request):
    today = timezone.localdate()
    try:
        start = datetime.date.fromisoformat(request.GET.get("start", ""))
        if not (selectors.MIN_YEAR <= start.year <= selectors.MAX_YEAR):
            raise ValueError
    except ValueError:
        start = today
    start -= datetime.timedelta(days=start.weekday())
    days = selectors.week_days(organization=request.organization, start_day=start,
                               user=_scope_user(request))
    return render(request, "crm/activities/calendar_week.html", {
        "days": days, "today": today, "start": start, "scope": request.GET.get("scope", "mine"),
        "previous": start - datetime.timedelta(days=7),
        "next": start + datetime.timedelta(days=7),
        "month": f"{start.year:04d}-{start.month:02d}",
    })


@org_required(CRM_VIEW)
@require_GET
def calendar_ics(request):
    """The user's meetings between ?from= and ?to= (days, inclusive; default: this month and
    the next two) as one .ics file."""
    today = timezone.localdate()
    try:
        start_day = datetime.date.fromisoformat(request.GET.get("from", ""))
    except ValueError:
        start_day = today.replace(day=1)
    try:
        end_day = datetime.date.fromisoformat(request.GET.get("to", ""))
    except ValueError:
        end_day = None
    if not (selectors.MIN_YEAR <= start_day.year <= selectors.MAX_YEAR) or (
            end_day is not None and not selectors.MIN_YEAR <= end_day.year <= selectors.MAX_YEAR):
        raise Http404
    if end_day is None:
        end_day = start_day + datetime.timedelta(days=90)
    if end_day < start_day or (end_day - start_day).days > MAX_EXPORT_DAYS:
        end_day = start_day + datetime.timedelta(days=MAX_EXPORT_DAYS)
    meetings = selectors.meetings_for_export(
        organization=request.organization, user=request.user,
        start=selectors.day_start(start_day),
        end=selectors.day_start(end_day + datetime.timedelta(days=1)))
    return ics_response(request, meetings, f"meetings-{start_day}-{end_day}.ics")
