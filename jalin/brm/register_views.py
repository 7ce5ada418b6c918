"""Pages of the changes, opportunity and CSI registers: lists with filters, sort, keyset
pages and CSV export; a detail page per record with its edit form and lifecycle buttons.

Views stay thin: reads through `register_selectors`, writes through `registers` — the same
services as the JSON API. Input a person can fix answers 400 (409 for a stale version) with
the form and the message, and changes nothing.
"""

import csv

from django.contrib import messages
from django.http import StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jalin.core.csv_cells import Echo, safe_cell
from jalin.crm.models import Account
from jalin.crm.selectors import keyset_page
from jalin.service.models import Service
from jalin.tenancy.access import for_org
from jalin.tenancy.decorators import org_required
from jalin.tenancy.models import Membership
from jalin.tenancy.roles import BRM_EDIT, BRM_VIEW, has_perm

from . import register_selectors as selectors
from . import registers
from .models import (
    ChangeOrigin,
    CustomerChange,
    ImpactLevel,
    Improvement,
    ImprovementSource,
    ImprovementStatus,
    OpportunityKind,
    OpportunityRecord,
    OpportunityStatus,
)
from .register_base import RegisterError, StaleVersion

PER_PAGE = 50
EXPORT_LIMIT = 50_000
ACCOUNT_CHOICES_LIMIT = 500


# --- Shared helpers ------------------------------------------------------------------------


def int_or_none(value):
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 2**31 else None


def choice(value, choices):
    return value if value in choices.values else None


def _safe_date(value):
    try:
        return parse_date(value or "")
    except ValueError:
        return None


def period_of(request):
    start, end = _safe_date(request.GET.get("from")), _safe_date(request.GET.get("to"))
    return selectors.Period(start=start, end=end) if (start or end) else None


def can_edit(request):
    return has_perm(request.membership, BRM_EDIT)


def account_choices(organization, *, used_by=None, selected=None):
    """(id, name) of the customers to pick from: those a register uses (filters) or the
    first ACCOUNT_CHOICES_LIMIT by name (forms), plus the selected one."""
    queryset = for_org(Account, organization)
    if used_by is not None:
        queryset = queryset.filter(pk__in=used_by.values("account_id"))
    rows = list(queryset.order_by("name", "id").values_list("id", "name")
                [:ACCOUNT_CHOICES_LIMIT])
    if selected and all(row[0] != selected for row in rows):
        extra = for_org(Account, organization).filter(pk=selected).values_list("id", "name")
        rows = list(extra) + rows
    return rows


def service_choices(organization):
    return list(for_org(Service, organization).order_by("name", "id")
                .values_list("id", "name")[:ACCOUNT_CHOICES_LIMIT])


def member_choices(organization):
    return [(m.user_id, m.user.get_full_name() or m.user.get_username())
            for m in Membership.objects.filter(organization=organization, is_active=True)
            .select_related("user").order_by("user__username")[:ACCOUNT_CHOICES_LIMIT]]


def list_query(request):
    query = request.GET.copy()
    for key in ("before", "after"):
        query.pop(key, None)
    return query.urlencode()


def page_of(request, queryset, sorts, default):
    sort = request.GET.get("sort")
    sort = sort if sort in sorts else default
    page = keyset_page(queryset, order=sorts[sort], after=request.GET.get("after"),
                       before=request.GET.get("before"), per_page=PER_PAGE)
    return page, sort


def csv_response(filename, header, rows):
    writer = csv.writer(Echo())

    def stream():
        yield "\ufeff"
        yield writer.writerow(header)
        for row in rows:
            yield writer.writerow([safe_cell(value) for value in row])

    response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def iso(value):
    return value.isoformat() if value else ""


def error_status(error):
    if isinstance(error, StaleVersion):
        return 409
    return 403 if error.code == "forbidden" else 400


def post_fk(request, name):
    raw = (request.POST.get(name) or "").strip()
    if not raw:
        return None
    return int_or_none(raw) or -1  # -1: no such record → the service answers "choose one"


def duration_text(delta):
    """A response time as "2 d 3 h" / "3 h 5 min" / "4 min"."""
    if delta is None:
        return ""
    minutes = max(int(delta.total_seconds() // 60), 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return _("%(days)d d %(hours)d h") % {"days": days, "hours": hours}
    if hours:
        return _("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": minutes}
    return _("%(minutes)d min") % {"minutes": minutes}


# --- Changes affecting customers ---------------------------------------------------------


def _change_filters(request):
    responded = request.GET.get("responded")
    filters = {
        "account_id": int_or_none(request.GET.get("account")),
        "origin": choice(request.GET.get("origin"), ChangeOrigin),
        "impact_level": choice(request.GET.get("impact"), ImpactLevel),
        "responded": {"yes": True, "no": False}.get(responded),
        "period": period_of(request),
    }
    return selectors.changes_for(organization=request.organization, **filters), filters


@org_required(BRM_VIEW)
@require_GET
def change_list(request):
    queryset, filters = _change_filters(request)
    page, sort = page_of(request, queryset, selectors.CHANGE_SORTS, "identified")
    for change in page.items:
        change.response_time_text = duration_text(registers.response_time(change))
    return render(request, "brm/changes.html", {
        "page": page, "sort": sort, "filters": filters, "query": list_query(request),
        "origins": ChangeOrigin.choices, "impacts": ImpactLevel.choices,
        "accounts": account_choices(request.organization,
                                    used_by=for_org(CustomerChange, request.organization)),
        "can_edit": can_edit(request), "section": "changes",
        "date_from": request.GET.get("from", ""), "date_to": request.GET.get("to", ""),
    })


@org_required(BRM_VIEW)
@require_GET
def change_export(request):
    queryset, _filters = _change_filters(request)
    rows = ((c.pk, c.account.name, c.origin, c.impact_level, c.title, c.impact,
             iso(c.identified_at), c.response, iso(c.responded_at),
             int(registers.response_time(c).total_seconds()) if c.responded_at else "")
            for c in queryset.order_by("-identified_at", "-id")[:EXPORT_LIMIT]
            .iterator(chunk_size=500))
    return csv_response("changes.csv", ["id", "customer", "origin", "impact_level", "title",
                                        "impact", "identified_at", "response", "responded_at",
                                        "response_seconds"], rows)


def _change_fields(request):
    fields = {name: request.POST.get(name, "") for name in (
        "origin", "title", "description", "impact", "impact_level", "response")}
    fields["service"] = post_fk(request, "service")
    return fields


def _change_form(request, *, change=None, status=200, error=None, field=None):
    selected = change.account_id if change else int_or_none(
        request.POST.get("account") or request.GET.get("account"))
    return render(request, "brm/change_form.html", {
        "change": change, "error": error, "error_field": field, "data": request.POST,
        "accounts": account_choices(request.organization, selected=selected),
        "selected_account": selected, "services": service_choices(request.organization),
        "origins": ChangeOrigin.choices, "impacts": ImpactLevel.choices,
        "can_edit": can_edit(request), "section": "changes",
        "response_time": duration_text(registers.response_time(change)) if change else "",
    }, status=status)


@org_required(BRM_EDIT)
@require_http_methods(["GET", "POST"])
def change_create(request):
    if request.method == "GET":
        return _change_form(request)
    try:
        change = registers.change_create(organization=request.organization,
                                         actor=request.user,
                                         account=post_fk(request, "account") or None,
                                         **_change_fields(request))
    except (RegisterError, StaleVersion) as exc:
        return _change_form(request, status=error_status(exc), error=exc.message,
                            field=exc.field)
    messages.success(request, _("Change logged."))
    return redirect("brm:change_detail", pk=change.pk)


@org_required(BRM_VIEW)
@require_http_methods(["GET", "POST"])
def change_detail(request, pk):
    change = selectors.change_detail(organization=request.organization, pk=pk)
    if request.method == "GET":
        return _change_form(request, change=change)
    if not can_edit(request):
        return _change_form(request, change=change, status=403,
                            error=_("Your role does not allow changes here."))
    try:
        registers.change_update(change=change, actor=request.user,
                                version=int_or_none(request.POST.get("version")) or 0,
                                **_change_fields(request))
    except (RegisterError, StaleVersion) as exc:
        return _change_form(request, change=change, status=error_status(exc),
                            error=exc.message, field=exc.field)
    messages.success(request, _("Change saved."))
    return redirect("brm:change_detail", pk=change.pk)


# --- Opportunities -------------------------------------------------------------------------


def _opportunity_filters(request):
    filters = {
        "status": choice(request.GET.get("status"), OpportunityStatus),
        "kind": choice(request.GET.get("kind"), OpportunityKind),
        "account_id": int_or_none(request.GET.get("account")),
        "service_id": int_or_none(request.GET.get("service")),
        "period": period_of(request),
    }
    return selectors.opportunities_for(organization=request.organization, **filters), filters


@org_required(BRM_VIEW)
@require_GET
def opportunity_list(request):
    queryset, filters = _opportunity_filters(request)
    page, sort = page_of(request, queryset, selectors.OPPORTUNITY_SORTS, "identified")
    return render(request, "brm/opportunities.html", {
        "page": page, "sort": sort, "filters": filters, "query": list_query(request),
        "statuses": OpportunityStatus.choices, "kinds": OpportunityKind.choices,
        "accounts": account_choices(request.organization,
                                    used_by=for_org(OpportunityRecord, request.organization)),
        "services": service_choices(request.organization),
        "can_edit": can_edit(request), "section": "opportunities",
        "date_from": request.GET.get("from", ""), "date_to": request.GET.get("to", ""),
    })


@org_required(BRM_VIEW)
@require_GET
def opportunity_export(request):
    queryset, _filters = _opportunity_filters(request)
    rows = ((o.pk, o.title, o.kind, o.status, o.account.name if o.account else "",
             o.service.name if o.service else "", o.estimated_value or "", o.assessment,
             iso(o.identified_at), iso(o.assessed_at), iso(o.recorded_at))
            for o in queryset.order_by("-identified_at", "-id")[:EXPORT_LIMIT]
            .iterator(chunk_size=500))
    return csv_response("opportunities.csv", [
        "id", "title", "kind", "status", "customer", "service", "estimated_value",
        "assessment", "identified_at", "assessed_at", "recorded_at"], rows)


def _opportunity_fields(request):
    fields = {name: request.POST.get(name, "") for name in (
        "title", "kind", "description", "estimated_value")}
    fields["account"] = post_fk(request, "account")
    fields["service"] = post_fk(request, "service")
    fields["owner"] = post_fk(request, "owner")
    return fields


def _opportunity_page(request, *, opportunity=None, status=200, error=None, field=None):
    selected = opportunity.account_id if opportunity else int_or_none(
        request.POST.get("account") or request.GET.get("account"))
    return render(request, "brm/opportunity_form.html", {
        "opportunity": opportunity, "error": error, "error_field": field,
        "data": request.POST, "kinds": OpportunityKind.choices,
        "accounts": account_choices(request.organization, selected=selected),
        "selected_account": selected, "services": service_choices(request.organization),
        "members": member_choices(request.organization), "can_edit": can_edit(request),
        "actions": ([(name, str(registers.OPPORTUNITY_ACTIONS[name].label))
                     for name in registers.opportunity_actions_for(opportunity)]
                    if opportunity else []),
        "section": "opportunities",
    }, status=status)


@org_required(BRM_EDIT)
@require_http_methods(["GET", "POST"])
def opportunity_create(request):
    if request.method == "GET":
        return _opportunity_page(request)
    try:
        opportunity = registers.opportunity_create(organization=request.organization,
                                                   actor=request.user,
                                                   **_opportunity_fields(request))
    except (RegisterError, StaleVersion) as exc:
        return _opportunity_page(request, status=error_status(exc), error=exc.message,
                                 field=exc.field)
    messages.success(request, _("Opportunity recorded."))
    return redirect("brm:opportunity_detail", pk=opportunity.pk)


@org_required(BRM_VIEW)
@require_http_methods(["GET", "POST"])
def opportunity_detail(request, pk):
    opportunity = selectors.opportunity_detail(organization=request.organization, pk=pk)
    if request.method == "GET":
        return _opportunity_page(request, opportunity=opportunity)
    if not can_edit(request):
        return _opportunity_page(request, opportunity=opportunity, status=403,
                                 error=_("Your role does not allow changes here."))
    try:
        registers.opportunity_update(opportunity=opportunity, actor=request.user,
                                     version=int_or_none(request.POST.get("version")) or 0,
                                     **_opportunity_fields(request))
    except (RegisterError, StaleVersion) as exc:
        return _opportunity_page(request, opportunity=opportunity, status=error_status(exc),
                                 error=exc.message, field=exc.field)
    messages.success(request, _("Opportunity saved."))
    return redirect("brm:opportunity_detail", pk=pk)


@org_required(BRM_EDIT)
@require_POST
def opportunity_transition(request, pk):
    opportunity = selectors.opportunity_detail(organization=request.organization, pk=pk)
    action = request.POST.get("action", "")
    try:
        registers.opportunity_transition(
            opportunity=opportunity, action=action, actor=request.user,
            version=int_or_none(request.POST.get("version")) or 0,
            assessment=request.POST.get("assessment") if action == "assess" else None,
            service=post_fk(request, "service") if action == "record" else None)
    except (RegisterError, StaleVersion) as exc:
        return _opportunity_page(request, opportunity=opportunity, status=error_status(exc),
                                 error=exc.message, field=exc.field)
    messages.success(request, _("Opportunity updated."))
    return redirect("brm:opportunity_detail", pk=pk)


# --- Improvements (CSI register) ---------------------------------------------------------


def _improvement_filters(request):
    status = request.GET.get("status")
    filters = {
        "status": choice(status, ImprovementStatus),
        "open_only": status == "open",
        "source": choice(request.GET.get("source"), ImprovementSource),
        "account_id": int_or_none(request.GET.get("account")),
        "owner_id": int_or_none(request.GET.get("owner")),
        "period": period_of(request),
    }
    return selectors.improvements_for(organization=request.organization, **filters), filters


@org_required(BRM_VIEW)
@require_GET
def improvement_list(request):
    queryset, filters = _improvement_filters(request)
    page, sort = page_of(request, queryset, selectors.IMPROVEMENT_SORTS, "number")
    return render(request, "brm/improvements.html", {
        "page": page, "sort": sort, "filters": filters, "query": list_query(request),
        "statuses": ImprovementStatus.choices, "sources": ImprovementSource.choices,
        "status_value": request.GET.get("status", ""),
        "accounts": account_choices(request.organization,
                                    used_by=for_org(Improvement, request.organization)),
        "members": member_choices(request.organization),
        "can_edit": can_edit(request), "section": "improvements",
        "date_from": request.GET.get("from", ""), "date_to": request.GET.get("to", ""),
    })


@org_required(BRM_VIEW)
@require_GET
def improvement_export(request):
    queryset, _filters = _improvement_filters(request)
    rows = ((f"CSI-{i.number}", i.title, i.source, i.status,
             i.account.name if i.account else "", i.service.name if i.service else "",
             i.owner.get_username() if i.owner else "",
             f"#{i.source_case.number}" if i.source_case else "", i.source_response_id or "",
             i.expected_benefit, i.expected_value if i.expected_value is not None else "",
             i.realized_benefit, i.realized_value if i.realized_value is not None else "",
             iso(i.raised_at), iso(i.closed_at))
            for i in queryset.order_by("-number", "-id")[:EXPORT_LIMIT].iterator(chunk_size=500))
    return csv_response("improvements.csv", [
        "number", "title", "source", "status", "customer", "service", "owner", "source_case",
        "source_response_id", "expected_benefit", "expected_value", "realized_benefit",
        "realized_value", "raised_at", "closed_at"], rows)


def _improvement_fields(request, *, creating):
    names = ["title", "description", "expected_benefit", "expected_value"]
    names += ["source"] if creating else ["realized_benefit", "realized_value"]
    fields = {name: request.POST.get(name, "") for name in names}
    fields["account"] = post_fk(request, "account")
    fields["service"] = post_fk(request, "service")
    fields["owner"] = post_fk(request, "owner")
    return fields


def _improvement_page(request, *, improvement=None, status=200, error=None, field=None):
    selected = improvement.account_id if improvement else int_or_none(
        request.POST.get("account") or request.GET.get("account"))
    return render(request, "brm/improvement_form.html", {
        "improvement": improvement, "error": error, "error_field": field,
        "data": request.POST, "sources": ImprovementSource.choices,
        "accounts": account_choices(request.organization, selected=selected),
        "selected_account": selected, "services": service_choices(request.organization),
        "members": member_choices(request.organization), "can_edit": can_edit(request),
        "actions": ([(name, str(registers.IMPROVEMENT_ACTIONS[name].label))
                     for name in registers.improvement_actions_for(improvement)]
                    if improvement else []),
        "section": "improvements",
    }, status=status)


@org_required(BRM_EDIT)
@require_http_methods(["GET", "POST"])
def improvement_create(request):
    if request.method == "GET":
        return _improvement_page(request)
    try:
        improvement = registers.improvement_create(
            organization=request.organization, actor=request.user,
            **_improvement_fields(request, creating=True))
    except (RegisterError, StaleVersion) as exc:
        return _improvement_page(request, status=error_status(exc), error=exc.message,
                                 field=exc.field)
    messages.success(request, _("Improvement CSI-%(number)s raised.") % {
        "number": improvement.number})
    return redirect("brm:improvement_detail", pk=improvement.pk)


@org_required(BRM_VIEW)
@require_http_methods(["GET", "POST"])
def improvement_detail(request, pk):
    improvement = selectors.improvement_detail(organization=request.organization, pk=pk)
    if request.method == "GET":
        return _improvement_page(request, improvement=improvement)
    if not can_edit(request):
        return _improvement_page(request, improvement=improvement, status=403,
                                 error=_("Your role does not allow changes here."))
    try:
        registers.improvement_update(improvement=improvement, actor=request.user,
                                     version=int_or_none(request.POST.get("version")) or 0,
                                     **_improvement_fields(request, creating=False))
    except (RegisterError, StaleVersion) as exc:
        return _improvement_page(request, improvement=improvement, status=error_status(exc),
                                 error=exc.message, field=exc.field)
    messages.success(request, _("Improvement saved."))
    return redirect("brm:improvement_detail", pk=pk)


@org_required(BRM_EDIT)
@require_POST
def improvement_transition(request, pk):
    improvement = selectors.improvement_detail(organization=request.organization, pk=pk)
    action = request.POST.get("action", "")
    try:
        registers.improvement_transition(
            improvement=improvement, action=action, actor=request.user,
            version=int_or_none(request.POST.get("version")) or 0,
            comment=request.POST.get("comment", ""),
            realized_benefit=request.POST.get("realized_benefit") if action == "close"
            else None,
            realized_value=request.POST.get("realized_value") if action == "close" else None)
    except (RegisterError, StaleVersion) as exc:
        return _improvement_page(request, improvement=improvement, status=error_status(exc),
                                 error=exc.message, field=exc.field)
    messages.success(request, _("Improvement updated."))
    return redirect("brm:improvement_detail", pk=pk)
