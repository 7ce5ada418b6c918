"""Pages of requirements and business cases.

Staff (brm.view to read, brm.edit to write): the list (filters, sort, keyset pages, CSV),
a new requirement, the detail page (current version with net benefit and ROI, sign-offs
with who/when and the version they signed, history, lifecycle buttons), editing (which
makes a new version) and each old version with a diff against the one before.

The customer (service.view, acting for the buyer organization the requirement names): the
portal list of requirements awaiting its sign-off and those it decided, the portal detail
with the sign-off form (approve, or reject with a comment).
"""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jalin.crm.selectors import keyset_page
from jalin.tenancy.access import for_org
from jalin.tenancy.decorators import org_required
from jalin.tenancy.roles import BRM_EDIT, BRM_VIEW, SERVICE_VIEW

from . import register_selectors as selectors
from . import requirements
from .models import Requirement, RequirementKind, RequirementStatus, SignOffDecision
from .register_base import RegisterError, StaleVersion
from .register_views import (
    EXPORT_LIMIT,
    PER_PAGE,
    account_choices,
    can_edit,
    choice,
    csv_response,
    error_status,
    int_or_none,
    iso,
    list_query,
    member_choices,
    page_of,
    post_fk,
    service_choices,
)


def _filters(request):
    awaiting = {"yes": True, "no": False}.get(request.GET.get("awaiting"))
    filters = {
        "status": choice(request.GET.get("status"), RequirementStatus),
        "account_id": int_or_none(request.GET.get("account")),
        "kind": choice(request.GET.get("kind"), RequirementKind),
        "awaiting": awaiting,
    }
    return selectors.requirements_for(organization=request.organization, **filters), filters


@org_required(BRM_VIEW)
@require_GET
def requirement_list(request):
    queryset, filters = _filters(request)
    page, sort = page_of(request, queryset, selectors.REQUIREMENT_SORTS, "number")
    return render(request, "brm/requirements.html", {
        "page": page, "sort": sort, "filters": filters, "query": list_query(request),
        "statuses": RequirementStatus.choices, "kinds": RequirementKind.choices,
        "accounts": account_choices(request.organization,
                                    used_by=for_org(Requirement, request.organization)),
        "awaiting_value": request.GET.get("awaiting", ""),
        "can_edit": can_edit(request), "section": "requirements",
    })


@org_required(BRM_VIEW)
@require_GET
def requirement_export(request):
    queryset, _unused = _filters(request)
    queryset = queryset.prefetch_related("versions")

    def rows():
        for item in queryset.order_by("-number", "-id")[:EXPORT_LIMIT].iterator(
                chunk_size=500):
            current = next(v for v in item.versions.all() if v.number == item.current_version)
            roi = requirements.roi_percent(current)
            yield (f"REQ-{item.number}", item.title, item.account.name, item.kind, item.status,
                   item.current_version, current.costs, current.benefits,
                   requirements.net_benefit(current), "" if roi is None else roi,
                   item.service.name if item.service else "", iso(item.created_at),
                   iso(item.updated_at))

    return csv_response("requirements.csv", [
        "number", "title", "customer", "kind", "status", "version", "costs", "benefits",
        "net_benefit", "roi_percent", "service", "created_at", "updated_at"], rows())


def _content_fields(request):
    return {name: request.POST.get(name, "") for name in requirements.CONTENT_FIELDS}


def _form(request, *, requirement=None, status=200, error=None, field=None):
    current = None
    if requirement is not None:
        current = selectors.requirement_version(requirement, requirement.current_version)
    selected = requirement.account_id if requirement else int_or_none(
        request.POST.get("account") or request.GET.get("account"))
    return render(request, "brm/requirement_form.html", {
        "requirement": requirement, "current": current, "data": request.POST,
        "error": error, "error_field": field, "kinds": RequirementKind.choices,
        "accounts": account_choices(request.organization, selected=selected),
        "selected_account": selected, "services": service_choices(request.organization),
        "members": member_choices(request.organization), "section": "requirements",
    }, status=status)


@org_required(BRM_EDIT)
@require_http_methods(["GET", "POST"])
def requirement_create(request):
    if request.method == "GET":
        return _form(request)
    try:
        requirement = requirements.requirement_create(
            organization=request.organization, actor=request.user,
            account=post_fk(request, "account") or None, title=request.POST.get("title", ""),
            kind=request.POST.get("kind", ""), service=post_fk(request, "service"),
            owner=post_fk(request, "owner") or request.user, **_content_fields(request))
    except (RegisterError, StaleVersion) as exc:
        return _form(request, status=error_status(exc), error=exc.message, field=exc.field)
    messages.success(request, _("Requirement REQ-%(number)s created.") % {
        "number": requirement.number})
    return redirect("brm:requirement_detail", pk=requirement.pk)


@org_required(BRM_EDIT)
@require_http_methods(["GET", "POST"])
def requirement_edit(request, pk):
    requirement = selectors.requirement_detail(organization=request.organization, pk=pk)
    if request.method == "GET":
        return _form(request, requirement=requirement)
    try:
        requirements.requirement_update(
            requirement=requirement, actor=request.user,
            version=int_or_none(request.POST.get("version")) or 0,
            title=request.POST.get("title", ""), kind=request.POST.get("kind", ""),
            service=post_fk(request, "service"), owner=post_fk(request, "owner"),
            **_content_fields(request))
    except (RegisterError, StaleVersion) as exc:
        return _form(request, requirement=requirement, status=error_status(exc),
                     error=exc.message, field=exc.field)
    messages.success(request, _("Requirement saved."))
    return redirect("brm:requirement_detail", pk=pk)


def _detail(request, pk, *, status=200, error=None):
    requirement = selectors.requirement_detail(organization=request.organization, pk=pk)
    current = selectors.requirement_version(requirement, requirement.current_version)
    sign_offs = list(requirement.sign_offs.all())
    return render(request, "brm/requirement_detail.html", {
        "requirement": requirement, "current": current,
        "net_benefit": requirements.net_benefit(current),
        "roi": requirements.roi_percent(current),
        "versions": list(requirement.versions.all()), "sign_offs": sign_offs,
        "current_sign_off": next((s for s in sign_offs if s.party == requirements.CUSTOMER
                                  and s.requirement_version.number == current.number), None),
        "history": list(requirement.status_changes.all()),
        "awaiting": requirements.is_awaiting_sign_off(requirement),
        "actions": [(name, requirements.action_label(name))
                    for name in requirements.actions_for(requirement)],
        "can_edit": can_edit(request), "error": error, "section": "requirements",
    }, status=status)


@org_required(BRM_VIEW)
@require_GET
def requirement_detail(request, pk):
    return _detail(request, pk)


@org_required(BRM_EDIT)
@require_POST
def requirement_transition(request, pk):
    requirement = selectors.requirement_detail(organization=request.organization, pk=pk)
    try:
        requirements.requirement_transition(
            requirement=requirement, action=request.POST.get("action", ""),
            actor=request.user, version=int_or_none(request.POST.get("version")) or 0,
            comment=request.POST.get("comment", ""))
    except (RegisterError, StaleVersion) as exc:
        return _detail(request, pk, status=error_status(exc), error=exc.message)
    messages.success(request, _("Requirement updated."))
    return redirect("brm:requirement_detail", pk=pk)


@org_required(BRM_VIEW)
@require_GET
def requirement_version(request, pk, number):
    requirement = selectors.requirement_detail(organization=request.organization, pk=pk)
    version = selectors.requirement_version(requirement, number)
    against_number = int_or_none(request.GET.get("against"))
    if against_number is None or against_number == number:
        against_number = number - 1
    against = None
    if against_number >= 1:
        against = next((v for v in requirement.versions.all() if v.number == against_number),
                       None)
    return render(request, "brm/requirement_version.html", {
        "requirement": requirement, "version": version, "against": against,
        "diff": requirements.version_diff(against, version),
        "versions": list(requirement.versions.all()),
        "sign_offs": [s for s in requirement.sign_offs.all()
                      if s.requirement_version_id == version.pk],
        "net_benefit": requirements.net_benefit(version),
        "roi": requirements.roi_percent(version), "section": "requirements",
    })


# --- The customer's portal ---------------------------------------------------------------


@org_required(SERVICE_VIEW)
@require_GET
def portal_requirement_list(request):
    buyer = request.organization
    awaiting = list(selectors.portal_requirements(buyer=buyer, awaiting=True)
                    .order_by("-id")[:200])
    decided = keyset_page(selectors.portal_requirements(buyer=buyer, awaiting=False),
                          order=("-updated_at", "-id"), after=request.GET.get("after"),
                          before=request.GET.get("before"), per_page=PER_PAGE)
    return render(request, "brm/portal_requirements.html", {
        "awaiting": awaiting, "page": decided,
    })


def _portal_detail(request, pk, *, status=200, error=None):
    requirement = selectors.portal_requirement(buyer=request.organization, pk=pk)
    current = selectors.requirement_version(requirement, requirement.current_version)
    sign_offs = [s for s in requirement.sign_offs.all() if s.party == requirements.CUSTOMER]
    awaiting = requirements.is_awaiting_sign_off(requirement)
    return render(request, "brm/portal_requirement.html", {
        "requirement": requirement, "current": current, "sign_offs": sign_offs,
        "net_benefit": requirements.net_benefit(current),
        "roi": requirements.roi_percent(current), "awaiting": awaiting,
        "may_sign": awaiting and requirements.may_sign(requirement, request.membership),
        "error": error, "comment": request.POST.get("comment", ""),
    }, status=status)


@org_required(SERVICE_VIEW)
@require_GET
def portal_requirement_detail(request, pk):
    return _portal_detail(request, pk)


@org_required(SERVICE_VIEW)
@require_POST
def portal_requirement_sign(request, pk):
    requirement = selectors.portal_requirement(buyer=request.organization, pk=pk)
    decision = request.POST.get("decision", "")
    try:
        requirements.requirement_sign_off(
            requirement=requirement, membership=request.membership, decision=decision,
            version_number=int_or_none(request.POST.get("version_number")) or 0,
            comment=request.POST.get("comment", ""))
    except (RegisterError, StaleVersion) as exc:
        return _portal_detail(request, pk, status=error_status(exc), error=exc.message)
    if decision == SignOffDecision.APPROVED:
        messages.success(request, _("Signed off. Thank you."))
    else:
        messages.success(request, _("Your rejection has been recorded."))
    return redirect("brm:portal_requirement_detail", pk=pk)
