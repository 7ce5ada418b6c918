"""Pages of the changes, opportunity and CSI registers: lists with filters, sort, keyset
pages and CSV export; a detail page per record with its edit form and lifecycle buttons.

Each register is declared once as `RegisterPages` (jalin.brm.register_pages builds the
views); here are only what differs: its filters, form fields, choices and CSV columns.
"""

from functools import partial

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

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
from .register_pages import (
    CsvExport,
    RegisterPages,
    action_choices,
    can_edit,
    choice,
    duration_text,
    int_or_none,
    iso,
    member_choices,
    period_of,
    post_fields,
    post_fk,
    service_choices,
)


def _lifecycle_form(request, record, moves, actions_for, **choices):
    """The form's context of a register with an owner and lifecycle buttons."""
    return {**choices, "members": member_choices(request.organization),
            "can_edit": can_edit(request), "actions": action_choices(moves, record, actions_for)}


# --- Changes affecting customers ---------------------------------------------------------


def _change_filters(request):
    return {
        "account_id": int_or_none(request.GET.get("account")),
        "origin": choice(request.GET.get("origin"), ChangeOrigin),
        "impact_level": choice(request.GET.get("impact"), ImpactLevel),
        "responded": {"yes": True, "no": False}.get(request.GET.get("responded")),
        "period": period_of(request),
    }


def _with_response_times(changes):
    for change in changes:
        change.response_time_text = duration_text(registers.response_time(change))


def _change_row(c):
    return (c.pk, c.account.name, c.origin, c.impact_level, c.title, c.impact,
            iso(c.identified_at), c.response, iso(c.responded_at),
            int(registers.response_time(c).total_seconds()) if c.responded_at else "")


def _change_fields(request):
    return post_fields(request, ("origin", "title", "description", "impact", "impact_level",
                                 "response"), ("service",))


def _change_form(request, change):
    return {
        "origins": ChangeOrigin.choices, "impacts": ImpactLevel.choices,
        "can_edit": can_edit(request),
        "response_time": duration_text(registers.response_time(change)) if change else "",
    }


CHANGES = RegisterPages(
    name="change", section="changes", model=CustomerChange,
    select=selectors.changes_for, filters=_change_filters,
    sorts=selectors.CHANGE_SORTS, default_sort="identified", annotate=_with_response_times,
    list_template="brm/changes.html",
    list_context=lambda request: {"origins": ChangeOrigin.choices,
                                  "impacts": ImpactLevel.choices},
    export=CsvExport("changes.csv", (
        "id", "customer", "origin", "impact_level", "title", "impact", "identified_at",
        "response", "responded_at", "response_seconds"), _change_row,
        order=("-identified_at", "-id")),
    get=selectors.change_detail, form_template="brm/change_form.html",
    form_context=_change_form,
    create=registers.change_create,
    create_fields=lambda request: {"account": post_fk(request, "account") or None,
                                   **_change_fields(request)},
    created=lambda change: _("Change logged."),
    update=registers.change_update, update_fields=_change_fields,
    saved=gettext_lazy("Change saved."),
)
change_list = CHANGES.list_view()
change_export = CHANGES.export_view()
change_create = CHANGES.create_view()
change_detail = CHANGES.detail_view()


# --- Opportunities -------------------------------------------------------------------------


def _opportunity_filters(request):
    return {
        "status": choice(request.GET.get("status"), OpportunityStatus),
        "kind": choice(request.GET.get("kind"), OpportunityKind),
        "account_id": int_or_none(request.GET.get("account")),
        "service_id": int_or_none(request.GET.get("service")),
        "period": period_of(request),
    }


def _opportunity_row(o):
    return (o.pk, o.title, o.kind, o.status, o.account.name if o.account else "",
            o.service.name if o.service else "", o.estimated_value or "", o.assessment,
            iso(o.identified_at), iso(o.assessed_at), iso(o.recorded_at))


def _opportunity_fields(request):
    return post_fields(request, ("title", "kind", "description", "estimated_value"),
                       ("account", "service", "owner"))


def _opportunity_form(request, opportunity):
    return _lifecycle_form(request, opportunity, registers.OPPORTUNITY_ACTIONS,
                           registers.opportunity_actions_for, kinds=OpportunityKind.choices)


def _opportunity_move(request, action):
    return {"assessment": request.POST.get("assessment") if action == "assess" else None,
            "service": post_fk(request, "service") if action == "record" else None}


OPPORTUNITIES = RegisterPages(
    name="opportunity", section="opportunities", model=OpportunityRecord,
    select=selectors.opportunities_for, filters=_opportunity_filters,
    sorts=selectors.OPPORTUNITY_SORTS, default_sort="identified",
    list_template="brm/opportunities.html",
    list_context=lambda request: {"statuses": OpportunityStatus.choices,
                                  "kinds": OpportunityKind.choices,
                                  "services": service_choices(request.organization)},
    export=CsvExport("opportunities.csv", (
        "id", "title", "kind", "status", "customer", "service", "estimated_value",
        "assessment", "identified_at", "assessed_at", "recorded_at"), _opportunity_row,
        order=("-identified_at", "-id")),
    get=selectors.opportunity_detail, form_template="brm/opportunity_form.html",
    form_context=_opportunity_form,
    create=registers.opportunity_create, create_fields=_opportunity_fields,
    created=lambda opportunity: _("Opportunity recorded."),
    update=registers.opportunity_update, update_fields=_opportunity_fields,
    saved=gettext_lazy("Opportunity saved."),
    transition=registers.opportunity_transition, transition_fields=_opportunity_move,
    moved=gettext_lazy("Opportunity updated."),
)
opportunity_list = OPPORTUNITIES.list_view()
opportunity_export = OPPORTUNITIES.export_view()
opportunity_create = OPPORTUNITIES.create_view()
opportunity_detail = OPPORTUNITIES.detail_view()
opportunity_transition = OPPORTUNITIES.transition_view()


# --- Improvements (CSI register) ---------------------------------------------------------


def _improvement_filters(request):
    status = request.GET.get("status")
    return {
        "status": choice(status, ImprovementStatus),
        "open_only": status == "open",
        "source": choice(request.GET.get("source"), ImprovementSource),
        "account_id": int_or_none(request.GET.get("account")),
        "owner_id": int_or_none(request.GET.get("owner")),
        "period": period_of(request),
    }


def _improvement_row(i):
    return (f"CSI-{i.number}", i.title, i.source, i.status,
            i.account.name if i.account else "", i.service.name if i.service else "",
            i.owner.get_username() if i.owner else "",
            f"#{i.source_case.number}" if i.source_case else "", i.source_response_id or "",
            i.expected_benefit, i.expected_value if i.expected_value is not None else "",
            i.realized_benefit, i.realized_value if i.realized_value is not None else "",
            iso(i.raised_at), iso(i.closed_at))


def _improvement_fields(request, *, creating):
    names = ["title", "description", "expected_benefit", "expected_value"]
    names += ["source"] if creating else ["realized_benefit", "realized_value"]
    return post_fields(request, names, ("account", "service", "owner"))


def _improvement_form(request, improvement):
    return _lifecycle_form(request, improvement, registers.IMPROVEMENT_ACTIONS,
                           registers.improvement_actions_for,
                           sources=ImprovementSource.choices)


def _improvement_move(request, action):
    closing = action == "close"
    return {"comment": request.POST.get("comment", ""),
            "realized_benefit": request.POST.get("realized_benefit") if closing else None,
            "realized_value": request.POST.get("realized_value") if closing else None}


IMPROVEMENTS = RegisterPages(
    name="improvement", section="improvements", model=Improvement,
    select=selectors.improvements_for, filters=_improvement_filters,
    sorts=selectors.IMPROVEMENT_SORTS, default_sort="number",
    list_template="brm/improvements.html",
    list_context=lambda request: {"statuses": ImprovementStatus.choices,
                                  "sources": ImprovementSource.choices,
                                  "status_value": request.GET.get("status", ""),
                                  "members": member_choices(request.organization)},
    export=CsvExport("improvements.csv", (
        "number", "title", "source", "status", "customer", "service", "owner", "source_case",
        "source_response_id", "expected_benefit", "expected_value", "realized_benefit",
        "realized_value", "raised_at", "closed_at"), _improvement_row,
        order=("-number", "-id")),
    get=selectors.improvement_detail, form_template="brm/improvement_form.html",
    form_context=_improvement_form,
    create=registers.improvement_create,
    create_fields=partial(_improvement_fields, creating=True),
    created=lambda improvement: _("Improvement CSI-%(number)s raised.") % {
        "number": improvement.number},
    update=registers.improvement_update,
    update_fields=partial(_improvement_fields, creating=False),
    saved=gettext_lazy("Improvement saved."),
    transition=registers.improvement_transition, transition_fields=_improvement_move,
    moved=gettext_lazy("Improvement updated."),
)
improvement_list = IMPROVEMENTS.list_view()
improvement_export = IMPROVEMENTS.export_view()
improvement_create = IMPROVEMENTS.create_view()
improvement_detail = IMPROVEMENTS.detail_view()
improvement_transition = IMPROVEMENTS.transition_view()
