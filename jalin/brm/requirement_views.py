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
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from jalin.crm.selectors import keyset_page
from jalin.tenancy.decorators import org_required
from jalin.tenancy.roles import BRM_VIEW, SERVICE_VIEW

from . import register_selectors as selectors
from . import requirements
from .models import Requirement, RequirementKind, RequirementStatus, SignOffDecision
from .register_base import RegisterError, StaleVersion
from .register_pages import (
    PER_PAGE,
    CsvExport,
    RegisterPages,
    can_edit,
    choice,
    error_status,
    int_or_none,
    iso,
    member_choices,
    post_fields,
    post_fk,
)


def _filters(request):
    return {
        "status": choice(request.GET.get("status"), RequirementStatus),
        "account_id": int_or_none(request.GET.get("account")),
        "kind": choice(request.GET.get("kind"), RequirementKind),
        "awaiting": {"yes": True, "no": False}.get(request.GET.get("awaiting")),
    }


def _row(item):
    current = next(v for v in item.versions.all() if v.number == item.current_version)
    roi = requirements.roi_percent(current)
    return (f"REQ-{item.number}", item.title, item.account.name, item.kind, item.status,
            item.current_version, current.costs, current.benefits,
            requirements.net_benefit(current), "" if roi is None else roi,
            item.service.name if item.service else "", iso(item.created_at),
            iso(item.updated_at))


def _update_fields(request):
    return post_fields(request, ("title", "kind", *requirements.CONTENT_FIELDS),
                       ("service", "owner"))


def _create_fields(request):
    fields = _update_fields(request)
    fields["owner"] = fields["owner"] or request.user
    return {"account": post_fk(request, "account") or None, **fields}


def _form(request, requirement):
    current = None
    if requirement is not None:
        current = selectors.requirement_version(requirement, requirement.current_version)
    return {"current": current, "kinds": RequirementKind.choices,
            "members": member_choices(request.organization)}


def _move(request, action):
    return {"comment": request.POST.get("comment", "")}


def _move_refused(request, requirement, *, status, error, field):
    return _detail(request, requirement.pk, status=status, error=error)


REQUIREMENTS = RegisterPages(
    name="requirement", section="requirements", model=Requirement,
    select=selectors.requirements_for, filters=_filters,
    sorts=selectors.REQUIREMENT_SORTS, default_sort="number", dated=False,
    list_template="brm/requirements.html",
    list_context=lambda request: {"statuses": RequirementStatus.choices,
                                  "kinds": RequirementKind.choices,
                                  "awaiting_value": request.GET.get("awaiting", "")},
    export=CsvExport("requirements.csv", (
        "number", "title", "customer", "kind", "status", "version", "costs", "benefits",
        "net_benefit", "roi_percent", "service", "created_at", "updated_at"), _row,
        order=("-number", "-id"), prefetch=("versions",)),
    get=selectors.requirement_detail, form_template="brm/requirement_form.html",
    form_context=_form,
    create=requirements.requirement_create, create_fields=_create_fields,
    created=lambda requirement: _("Requirement REQ-%(number)s created.") % {
        "number": requirement.number},
    update=requirements.requirement_update, update_fields=_update_fields,
    saved=gettext_lazy("Requirement saved."),
    transition=requirements.requirement_transition, transition_fields=_move,
    moved=gettext_lazy("Requirement updated."), transition_refused=_move_refused,
)
requirement_list = REQUIREMENTS.list_view()
requirement_export = REQUIREMENTS.export_view()
requirement_create = REQUIREMENTS.create_view()
requirement_edit = REQUIREMENTS.edit_view()
requirement_transition = REQUIREMENTS.transition_view()


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
