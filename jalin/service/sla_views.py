"""Pages for SLA settings (calendars with holidays, SLA policies with targets, escalation
rules) and the SLA attainment report. Thin: they call jalin/service/calendars.py and
jalin/service/sla_results.py like the JSON API does.

Everyone with `service.view` reads; organization admins (`org.manage`) change settings and
record a month's results. Another organization's record is 404.
"""

import csv
import datetime

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from jalin.core.charts import chart_config
from jalin.core.csv_cells import Echo, safe_cell
from jalin.core.params import int_param
from jalin.crm.models import Account
from jalin.tenancy.access import for_org, get_for_org_or_404
from jalin.tenancy.decorators import org_required
from jalin.tenancy.roles import ORG_MANAGE, SERVICE_VIEW, has_perm
from jalin.tenancy.services import StaleVersion

from . import calendars, sla_results
from .calendars import SlaError
from .models import (
    BusinessCalendar,
    CasePriority,
    EscalationAction,
    EscalationRule,
    EscalationTrigger,
    Holiday,
    Service,
    SlaMetric,
    SlaPolicy,
    Team,
)

WEEKDAYS = [(1, _("Monday")), (2, _("Tuesday")), (3, _("Wednesday")), (4, _("Thursday")),
            (5, _("Friday")), (6, _("Saturday")), (7, _("Sunday"))]


def _can_manage(request):
    return has_perm(request.membership, ORG_MANAGE)


def _require_manage(request):
    if not _can_manage(request):
        raise PermissionDenied


def _hours_text(weekly_hours):
    """{"1": [["08:00", "12:00"], ...]} -> {1: "08:00-12:00, ..."} for the form."""
    return {day: ", ".join(f"{s}-{e}" for s, e in (weekly_hours or {}).get(str(day), []))
            for day, _label in WEEKDAYS}


def _hours_from_post(post):
    """Weekday fields "08:00-12:00, 13:00-17:00" -> the stored shape (checked later)."""
    hours = {}
    for day, _label in WEEKDAYS:
        text = post.get(f"hours_{day}", "").strip()
        windows = []
        for part in filter(None, (p.strip() for p in text.split(","))):
            if part.count("-") != 1:
                raise SlaError(_("Write each window as HH:MM-HH:MM, e.g. 08:00-17:00."),
                               field=f"weekly_hours.{day}")
            start, end = (p.strip() for p in part.split("-"))
            windows.append([start, end])
        if windows:
            hours[str(day)] = windows
    return hours


def _calendar_fields(post):
    return {"name": post.get("name", ""), "time_zone": post.get("time_zone", "").strip(),
            "country": post.get("country", ""), "weekly_hours": _hours_from_post(post),
            "always_open": bool(post.get("always_open")),
            "is_default": bool(post.get("is_default"))}


def _targets_from_post(post):
    targets = []
    for priority in CasePriority.values:
        for metric in SlaMetric.values:
            value = post.get(f"target_{priority}_{metric}", "").strip()
            targets.append({"priority": priority, "metric": metric, "minutes": value or None})
    return targets


def _policy_fields(post):
    return {"name": post.get("name", ""), "calendar": int_param(post.get("calendar")),
            "warn_at_percent": post.get("warn_at_percent", "").strip(),
            "required_attainment_percent": post.get("required_attainment_percent", "").strip(),
            "is_default": bool(post.get("is_default"))}


def _rule_fields(post):
    return {"name": post.get("name", ""), "trigger": post.get("trigger", ""),
            "metric": post.get("metric", ""), "priority": post.get("priority", ""),
            "action": post.get("action", ""), "user": int_param(post.get("user")),
            "team": int_param(post.get("team")), "is_active": bool(post.get("is_active"))}


def _settings_context(request):
    organization = request.organization
    members = (organization.memberships.filter(is_active=True).select_related("user")
               .order_by("user__username"))
    return {
        "calendars": for_org(BusinessCalendar, organization).order_by("name"),
        "policies": (for_org(SlaPolicy, organization).select_related("calendar")
                     .prefetch_related("targets").order_by("archived_at", "name")),
        "rules": (for_org(EscalationRule, organization).select_related("user", "team")
                  .order_by("trigger", "name")),
        "teams": for_org(Team, organization).filter(archived_at__isnull=True),
        "members": [m.user for m in members],
        "can_manage": _can_manage(request),
        "weekdays": WEEKDAYS, "priorities": CasePriority.choices, "metrics": SlaMetric.choices,
        "triggers": EscalationTrigger.choices, "actions": EscalationAction.choices,
        "default_hours": _hours_text({str(d): [["08:00", "17:00"]] for d in range(1, 6)}),
    }


@org_required(SERVICE_VIEW)
@require_http_methods(["GET", "POST"])
def sla_settings(request):
    """Calendars, policies and escalation rules; admins add new ones here (`form` says which)."""
    error, status, form, values = None, 200, "", {}
    if request.method == "POST":
        _require_manage(request)
        form, values = request.POST.get("form", ""), request.POST
        try:
            if form == "calendar":
                created = calendars.calendar_create(organization=request.organization,
                                                    actor=request.user,
                                                    **_calendar_fields(request.POST))
                messages.success(request, _("Calendar “%(name)s” added.") % {
                    "name": created.name})
                return redirect("service:sla_calendar", pk=created.pk)
            if form == "policy":
                created = calendars.policy_create(organization=request.organization,
                                                  actor=request.user,
                                                  targets=_targets_from_post(request.POST),
                                                  **_policy_fields(request.POST))
                messages.success(request, _("SLA policy “%(name)s” added.") % {
                    "name": created.name})
                return redirect("service:sla_policy", pk=created.pk)
            if form == "rule":
                created = calendars.rule_create(organization=request.organization,
                                                actor=request.user,
                                                **_rule_fields(request.POST))
                messages.success(request, _("Escalation rule “%(name)s” added.") % {
                    "name": created.name})
                return redirect("service:sla_settings")
            if form == "defaults":
                policy = calendars.ensure_default_policy(organization=request.organization)
                if policy is None:
                    raise SlaError(_("You already have SLA policies; mark one as the default."),
                                   code="exists")
                messages.success(request, _("Default calendar and SLA policy are set up."))
                return redirect("service:sla_settings")
            raise SlaError(_("Unknown form."), code="invalid")
        except SlaError as exc:
            error, status = exc, 422
    return render(request, "service/sla/settings.html", {
        **_settings_context(request), "error": error, "form": form, "values": values,
    }, status=status)


@org_required(SERVICE_VIEW)
@require_http_methods(["GET", "POST"])
def sla_calendar(request, pk):
    calendar = get_for_org_or_404(BusinessCalendar, request.organization, pk=pk)
    error, status = None, 200
    values = {"name": calendar.name, "time_zone": calendar.time_zone,
              "country": calendar.country, "always_open": calendar.always_open,
              "is_default": calendar.is_default, "version": calendar.version}
    hours = _hours_text(calendar.weekly_hours)
    if request.method == "POST":
        _require_manage(request)
        values = request.POST
        hours = {day: request.POST.get(f"hours_{day}", "") for day, _label in WEEKDAYS}
        try:
            calendar = calendars.calendar_update(
                calendar=calendar, actor=request.user,
                version=int_param(request.POST.get("version")), **_calendar_fields(request.POST))
        except StaleVersion as exc:
            error, status = exc, 409
        except SlaError as exc:
            error, status = exc, 422
        else:
            messages.success(request, _("Calendar saved."))
            return redirect("service:sla_calendar", pk=calendar.pk)
    year = timezone.localdate().year
    return render(request, "service/sla/calendar.html", {
        "calendar": calendar, "values": values, "hours": hours, "weekdays": WEEKDAYS,
        "holidays": Holiday.objects.filter(calendar=calendar, date__year__gte=year - 1),
        "years": [year, year + 1], "error": error, "can_manage": _can_manage(request),
    }, status=status)


@org_required(ORG_MANAGE)
@require_POST
def sla_calendar_holiday_add(request, pk):
    calendar = get_for_org_or_404(BusinessCalendar, request.organization, pk=pk)
    try:
        calendars.holiday_add(calendar=calendar, actor=request.user,
                              date=request.POST.get("date", ""),
                              name=request.POST.get("name", ""))
    except SlaError as exc:
        messages.error(request, exc.message)
        return redirect("service:sla_calendar", pk=calendar.pk)
    messages.success(request, _("Holiday added."))
    return redirect("service:sla_calendar", pk=calendar.pk)


@org_required(ORG_MANAGE)
@require_POST
def sla_calendar_load(request, pk):
    calendar = get_for_org_or_404(BusinessCalendar, request.organization, pk=pk)
    year = int_param(request.POST.get("year"))
    this_year = timezone.localdate().year
    if year is None or not this_year - 1 <= year <= this_year + 5:
        messages.error(request, _("Choose a year from last year to five years ahead."))
    elif not calendar.country:
        messages.error(request, _("Set the calendar's country first."))
    else:
        added = calendars.calendar_load_public_holidays(calendar=calendar, years=[year])
        messages.success(request, _("%(count)s public holidays added.") % {"count": added})
    return redirect("service:sla_calendar", pk=calendar.pk)


@org_required(ORG_MANAGE)
@require_POST
def sla_holiday_remove(request, pk):
    holiday = get_for_org_or_404(Holiday, request.organization, pk=pk)
    calendars.holiday_remove(holiday=holiday, actor=request.user)
    messages.success(request, _("Holiday removed."))
    return redirect("service:sla_calendar", pk=holiday.calendar_id)


@org_required(ORG_MANAGE)
@require_POST
def sla_calendar_delete(request, pk):
    calendar = get_for_org_or_404(BusinessCalendar, request.organization, pk=pk)
    try:
        calendars.calendar_delete(calendar=calendar, actor=request.user)
    except SlaError as exc:
        messages.error(request, exc.message)
        return redirect("service:sla_calendar", pk=calendar.pk)
    messages.success(request, _("Calendar deleted."))
    return redirect("service:sla_settings")


@org_required(SERVICE_VIEW)
@require_http_methods(["GET", "POST"])
def sla_policy(request, pk):
    policy = get_for_org_or_404(SlaPolicy, request.organization, pk=pk)
    error, status = None, 200
    targets = calendars.targets_of(policy)
    values = {"name": policy.name, "calendar": policy.calendar_id,
              "warn_at_percent": policy.warn_at_percent,
              "required_attainment_percent": policy.required_attainment_percent,
              "is_default": policy.is_default, "version": policy.version,
              **{f"target_{p}_{m}": v for (p, m), v in targets.items()}}
    if request.method == "POST":
        _require_manage(request)
        values = request.POST
        try:
            policy = calendars.policy_update(
                policy=policy, actor=request.user, version=int_param(request.POST.get("version")),
                targets=_targets_from_post(request.POST), **_policy_fields(request.POST))
        except StaleVersion as exc:
            error, status = exc, 409
        except SlaError as exc:
            error, status = exc, 422
        else:
            messages.success(request, _("SLA policy saved."))
            return redirect("service:sla_policy", pk=policy.pk)
    grid = [(value, label, [(metric, f"target_{value}_{metric}") for metric in SlaMetric.values])
            for value, label in CasePriority.choices]
    return render(request, "service/sla/policy.html", {
        "policy": policy, "values": values, "grid": grid, "metrics": SlaMetric.choices,
        "calendars": for_org(BusinessCalendar, request.organization).order_by("name"),
        "error": error, "can_manage": _can_manage(request),
    }, status=status)


@org_required(ORG_MANAGE)
@require_POST
def sla_policy_archive(request, pk):
    policy = get_for_org_or_404(SlaPolicy, request.organization, pk=pk)
    calendars.policy_archive(policy=policy, actor=request.user)
    messages.success(request, _("SLA policy archived."))
    return redirect("service:sla_settings")


@org_required(SERVICE_VIEW)
@require_http_methods(["GET", "POST"])
def sla_rule(request, pk):
    rule = get_for_org_or_404(EscalationRule, request.organization, pk=pk)
    error, status = None, 200
    values = {"name": rule.name, "trigger": rule.trigger, "metric": rule.metric,
              "priority": rule.priority, "action": rule.action, "user": rule.user_id,
              "team": rule.team_id, "is_active": rule.is_active, "version": rule.version}
    if request.method == "POST":
        _require_manage(request)
        values = request.POST
        try:
            rule = calendars.rule_update(rule=rule, actor=request.user,
                                         version=int_param(request.POST.get("version")),
                                         **_rule_fields(request.POST))
        except StaleVersion as exc:
            error, status = exc, 409
        except SlaError as exc:
            error, status = exc, 422
        else:
            messages.success(request, _("Escalation rule saved."))
            return redirect("service:sla_settings")
    return render(request, "service/sla/rule.html", {
        **_settings_context(request), "rule": rule, "values": values, "error": error,
        "firings": rule.firings.select_related("clock__case").order_by("-fired_at")[:50],
    }, status=status)


@org_required(ORG_MANAGE)
@require_POST
def sla_rule_delete(request, pk):
    rule = get_for_org_or_404(EscalationRule, request.organization, pk=pk)
    kept = calendars.rule_delete(rule=rule, actor=request.user)
    messages.success(request, _("Escalation rule deactivated: it has fired before.") if kept
                     else _("Escalation rule deleted."))
    return redirect("service:sla_settings")


# --- Report --------------------------------------------------------------------------------


def _report_filters(request):
    organization = request.organization
    params = request.GET

    def pick(model, name):
        pk = int_param(params.get(name))
        if pk is None:
            return None
        return get_for_org_or_404(model, organization, pk=pk).pk

    metric = params.get("metric", "")
    priority = params.get("priority", "")
    return {
        "group_by": params.get("group_by", "account") or "account",
        # `from`/`to` (dates, as the BRM metrics link) are taken as their months.
        "first": (params.get("first", "") or params.get("from", "")).strip() or None,
        "last": (params.get("last", "") or params.get("to", "")).strip() or None,
        "metric": metric if metric in SlaMetric.values else "",
        "priority": priority if priority in CasePriority.values else "",
        "account": pick(Account, "account"), "service": pick(Service, "service"),
        "team": pick(Team, "team"),
    }


def _report_csv(report):
    writer = csv.writer(Echo())
    header = ["group", "period", "total", "achieved", "breached", "attainment_percent",
              "required_percent", "met", "recorded"]

    def rows():
        yield "\ufeff"
        yield writer.writerow(header)
        for row in report["rows"]:
            yield writer.writerow([safe_cell(v) for v in (
                row["label"], row["period"].strftime("%Y-%m"), row["total"], row["achieved"],
                row["breached"], row["attainment_percent"] if row["attainment_percent"]
                is not None else "", row["required_percent"],
                "" if row["met"] is None else ("yes" if row["met"] else "no"),
                "yes" if row["frozen"] else "no")])

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="sla-attainment.csv"'
    return response


def _chart(report):
    labels = [m.strftime("%Y-%m") for m in report["months"]]
    groups = {}
    for row in report["rows"]:
        groups.setdefault(row["label"], {})[row["period"]] = row["attainment_percent"]
    series = [(label, [values.get(month) for month in report["months"]])
              for label, values in list(groups.items())[:12]]
    return chart_config(kind="line" if len(labels) > 1 else "bar", labels=labels,
                        series=series, y_title=_("Attainment (%)"), y_max=100)


@org_required(SERVICE_VIEW)
@require_http_methods(["GET"])
def sla_report(request):
    """Attainment per customer, service, team, agreement or month, with filters, a chart, a
    table and CSV (?format=csv)."""
    filters = _report_filters(request)
    error, status = None, 200
    try:
        report = sla_results.sla_report(organization=request.organization, **filters)
    except SlaError as exc:
        error, status = exc, 422
        filters.update(group_by="account", first=None, last=None)
        report = sla_results.sla_report(organization=request.organization, **filters)
    if request.GET.get("format") == "csv" and error is None:
        return _report_csv(report)
    organization = request.organization
    this_month = sla_results.month_start(timezone.localdate())
    last_month = sla_results.month_start(this_month - datetime.timedelta(days=1))
    return render(request, "service/sla/report.html", {
        "report": report, "filters": filters, "error": error, "chart": _chart(report),
        "groups": [("account", _("Customer")), ("service", _("Service")), ("team", _("Team")),
                   ("agreement", _("Agreement")), ("period", _("Month"))],
        "accounts": for_org(Account, organization).filter(archived_at__isnull=True)
        .order_by("name")[:500],
        "services": for_org(Service, organization).order_by("name"),
        "teams": for_org(Team, organization).order_by("name"),
        "priorities": CasePriority.choices, "metrics": SlaMetric.choices,
        "can_manage": _can_manage(request), "last_month": last_month.strftime("%Y-%m"),
        "query": request.GET.urlencode(),
    }, status=status)


@org_required(ORG_MANAGE)
@require_POST
def sla_results_record(request):
    try:
        rows = sla_results.sla_results_record(organization=request.organization,
                                              period=request.POST.get("period", ""))
    except SlaError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("%(count)s result rows are recorded for this month.")
                         % {"count": len(rows)})
    return redirect("service:sla_report")
