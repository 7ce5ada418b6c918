"""Sales pages for opportunities: the kanban board (drag and drop and keyboard moves through
htmx, "load more" per column), the list (filters, sorts, keyset pages, CSV), the detail page
(lines, competitors, next step, stage history, won/lost, reopen, quotes include), new/edit
forms and the pipeline settings (stages, close reasons, competitors).

Views are thin: they parse the request, call `opportunities` services or
`opportunity_selectors`, and render. A stale version answers 409 with the page (or board) and
a clear message; bad input 400 with the form and its messages; never a 500.
"""

import csv

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jalin.api.pagination import InvalidCursor
from jalin.core.csv_cells import Echo, safe_cell
from jalin.core.params import int_param
from jalin.crm.models import Account, Contact
from jalin.hub.selectors import products_for_supplier
from jalin.tenancy.access import for_org, get_for_org_or_404
from jalin.tenancy.decorators import org_required
from jalin.tenancy.roles import SALES_EDIT, SALES_VIEW, has_perm
from jalin.tenancy.services import StaleVersion, TenancyError

from . import leads, webforms
from . import opportunities as opps
from . import opportunity_selectors as selectors
from .lead_views import _members
from .models import (
    CloseReason,
    Competitor,
    ForecastCategory,
    Opportunity,
    OpportunityLine,
    OpportunityStatus,
    Pipeline,
    PipelineStage,
    SalesTeam,
    StageKind,
)

PER_PAGE = 50
EXPORT_LIMIT = 50_000
BOARD_FILTERS = ("owner", "team", "q")
LIST_FILTERS = ("owner", "team", "stage", "status", "close_from", "close_to", "account", "q",
                "pipeline")


def _messages(exc):
    if isinstance(exc, ValidationError):
        return webforms.validation_messages(exc)
    if isinstance(exc, TenancyError):
        return {(exc.field or "form").removesuffix("_id"): exc.message}
    return {"form": str(exc)}


def _opportunity(request, pk):
    return get_for_org_or_404(
        Opportunity.objects.select_related("account", "contact", "owner", "team", "stage",
                                           "pipeline", "close_reason", "lost_to", "lead",
                                           "campaign"),
        request.organization, pk=pk)


def _pipelines(organization):
    return list(for_org(Pipeline, organization).filter(archived_at__isnull=True)
                .order_by("-is_default", "name"))


def _current_pipeline(request):
    pipelines = _pipelines(request.organization)
    wanted = int_param(request.GET.get("pipeline") or request.POST.get("pipeline"))
    for pipeline in pipelines:
        if pipeline.pk == wanted:
            return pipeline, pipelines
    if pipelines:
        return pipelines[0], pipelines
    pipeline = leads.default_pipeline(request.organization)
    return pipeline, [pipeline]


# --- Board ---------------------------------------------------------------------------------


def _board_filters(data):
    return {name: (data.get(name) or "").strip()[:100] for name in BOARD_FILTERS}


def _board_context(request, pipeline, pipelines, filters, error=""):
    columns = selectors.board(organization=request.organization, pipeline=pipeline,
                              user=request.user, **filters)
    stages = [column.stage for column in columns]
    for index, column in enumerate(columns):
        column.previous = stages[index - 1] if index > 0 else None
        column.next = stages[index + 1] if index + 1 < len(stages) else None
    query = urlencode({key: value for key, value in filters.items() if value})
    return {
        "pipeline": pipeline, "pipelines": pipelines, "columns": columns, "filters": filters,
        "filter_query": query, "board_error": error,
        "members": _members(request.organization),
        "teams": list(for_org(SalesTeam, request.organization)),
        "can_edit": has_perm(request.membership, SALES_EDIT),
        "today": timezone.localdate(),
    }


@org_required(SALES_VIEW)
@require_GET
def board(request):
    pipeline, pipelines = _current_pipeline(request)
    context = _board_context(request, pipeline, pipelines, _board_filters(request.GET))
    if request.headers.get("HX-Request") and request.GET.get("partial") == "board":
        return render(request, "sales/_board.html", context)
    return render(request, "sales/board.html", context)


@org_required(SALES_VIEW)
@require_GET
def board_column(request):
    """More cards of a column (htmx "load more")."""
    pipeline, _pipelines_ = _current_pipeline(request)
    stage = get_for_org_or_404(PipelineStage.objects.filter(pipeline=pipeline),
                               request.organization, pk=int_param(request.GET.get("stage")) or 0)
    filters = _board_filters(request.GET)
    try:
        page = selectors.board_column_page(organization=request.organization,
                                           pipeline=pipeline, stage=stage,
                                           cursor=request.GET.get("cursor") or None,
                                           user=request.user, **filters)
    except InvalidCursor:
        raise Http404() from None
    stages = [s for s in selectors.PipelineStage.objects.filter(pipeline=pipeline)
              .order_by("position", "id") if s.kind == StageKind.OPEN]
    index = [s.pk for s in stages].index(stage.pk) if stage in stages else 0
    column = selectors.BoardColumn(stage=stage, cards=page.items,
                                   next_cursor=page.next_cursor)
    column.previous = stages[index - 1] if index > 0 else None
    column.next = stages[index + 1] if index + 1 < len(stages) else None
    return render(request, "sales/_board_cards.html", {
        "column": column, "pipeline": pipeline,
        "filter_query": urlencode({k: v for k, v in filters.items() if v}),
        "can_edit": has_perm(request.membership, SALES_EDIT),
        "today": timezone.localdate()})


@org_required(SALES_EDIT)
@require_POST
def opportunity_move(request, pk):
    """Move a card (drag and drop or the keyboard buttons). htmx gets the board back; a
    plain form post is redirected to where it came from."""
    opportunity = _opportunity(request, pk)
    data = request.POST
    error, status = "", 200
    try:
        opps.opportunity_move(opportunity=opportunity, actor=request.user,
                              stage=int_param(data.get("stage")) or -1,
                              after=int_param(data.get("after")),
                              before=int_param(data.get("before")),
                              version=int_param(data.get("version")))
    except StaleVersion:
        error, status = _("Someone else moved or changed this deal meanwhile; the board "
                          "shows it as it is now."), 409
    except (ValidationError, TenancyError) as exc:
        error, status = " ".join(_messages(exc).values()), 400
    if request.headers.get("HX-Request") and data.get("return") != "detail":
        pipeline = opportunity.pipeline
        context = _board_context(request, pipeline, _pipelines(request.organization),
                                 _board_filters(data), error=error)
        return render(request, "sales/_board.html", context, status=status)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, _("Deal moved."))
    if data.get("return") == "detail":
        return redirect("sales:opportunity_detail", pk=pk)
    return redirect(reverse("sales:board") + f"?pipeline={opportunity.pipeline_id}")


# --- List ----------------------------------------------------------------------------------


def _list_filters(request):
    data = request.GET
    filters = {name: (data.get(name) or "").strip()[:100] for name in LIST_FILTERS}
    filters["status"] = filters["status"] if filters["status"] in selectors.STATUS_FILTERS \
        else "open"
    sort = data.get("sort") if data.get("sort") in selectors.SORTS else "newest"
    return filters, sort


@org_required(SALES_VIEW)
@require_GET
def opportunity_list(request):
    filters, sort = _list_filters(request)
    try:
        page = selectors.opportunity_list(organization=request.organization, user=request.user,
                                          sort=sort, cursor=request.GET.get("cursor") or None,
                                          limit=PER_PAGE, **filters)
    except InvalidCursor:
        page = selectors.opportunity_list(organization=request.organization, user=request.user,
                                          sort=sort, limit=PER_PAGE, **filters)
    query = request.GET.copy()
    query.pop("cursor", None)
    pipeline, pipelines = _current_pipeline(request)
    return render(request, "sales/opportunities.html", {
        "page": page, "filters": filters, "sort": sort, "query": query.urlencode(),
        "members": _members(request.organization), "pipelines": pipelines,
        "stages": list(PipelineStage.objects.filter(pipeline__in=pipelines)
                       .select_related("pipeline").order_by("pipeline__name", "position")),
        "teams": list(for_org(SalesTeam, request.organization)),
        "can_edit": has_perm(request.membership, SALES_EDIT),
        "sorts": [("newest", _("Newest")), ("oldest", _("Oldest")),
                  ("close_date", _("Closing soonest")), ("close_date_desc", _("Closing last")),
                  ("amount", _("Largest amount")), ("stage_age", _("Longest in stage"))],
        "statuses": [("open", _("Open")), ("won", _("Won")), ("lost", _("Lost")),
                     ("closed", _("Closed")), ("all", _("All"))],
    })


@org_required(SALES_VIEW)
@require_GET
def opportunity_export(request):
    filters, sort = _list_filters(request)
    rows_iter = selectors.opportunity_export_rows(organization=request.organization,
                                                  user=request.user, sort=sort,
                                                  limit=EXPORT_LIMIT, **filters)
    writer = csv.writer(Echo())
    header = ["id", "name", "account", "stage", "status", "amount", "currency", "probability",
              "forecast_category", "close_date", "owner", "team", "next_step", "created_at"]

    def rows():
        yield "\ufeff"
        yield writer.writerow(header)
        for o in rows_iter:
            yield writer.writerow([safe_cell(value) for value in (
                o.pk, o.name, o.account.name, o.stage.name, o.status, o.amount, o.currency,
                o.effective_probability, o.forecast_category, o.close_date.isoformat(),
                o.owner.get_username() if o.owner else "", o.team.name if o.team else "",
                o.next_step, o.created_at.isoformat())])

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="opportunities.csv"'
    return response


# --- Detail --------------------------------------------------------------------------------


def _detail_page(request, pk, errors=None, status=200):
    opportunity = _opportunity(request, pk)
    organization = request.organization
    stages = list(PipelineStage.objects.filter(pipeline=opportunity.pipeline)
                  .order_by("position", "id"))
    return render(request, "sales/opportunity_detail.html", {
        "opportunity": opportunity,
        "lines": list(opportunity.lines.select_related("product")),
        "competitors": list(opportunity.competitors.all()),
        "history": selectors.stage_history(opportunity),
        "open_stages": [s for s in stages if s.kind == StageKind.OPEN],
        "lost_reasons": list(opps.close_reasons(organization, StageKind.LOST)),
        "won_reasons": list(opps.close_reasons(organization, StageKind.WON)),
        "all_competitors": list(for_org(Competitor, organization)),
        "products": list(products_for_supplier(supplier=organization, is_active=True)
                         .order_by("name")[:500]),
        "errors": errors or {},
        "can_edit": has_perm(request.membership, SALES_EDIT),
        "is_open": opportunity.status == OpportunityStatus.OPEN,
    }, status=status)


@org_required(SALES_VIEW)
@require_GET
def opportunity_detail(request, pk):
    return _detail_page(request, pk)


def _action(request, pk, key, func, success):
    try:
        func()
    except StaleVersion as exc:
        return _detail_page(request, pk, errors={key: exc.message}, status=409)
    except (ValidationError, TenancyError) as exc:
        return _detail_page(request, pk, errors={key: " ".join(_messages(exc).values())},
                            status=400)
    messages.success(request, success)
    return redirect("sales:opportunity_detail", pk=pk)


@org_required(SALES_EDIT)
@require_POST
def opportunity_close(request, pk):
    opportunity = _opportunity(request, pk)
    data = request.POST
    won = data.get("outcome") == "won"
    return _action(request, pk, "close", lambda: opps.opportunity_close(
        opportunity=opportunity, actor=request.user, won=won,
        reason=int_param(data.get("reason")), note=data.get("note", ""),
        lost_to=int_param(data.get("lost_to")), version=int_param(data.get("version"))),
        _("Deal won.") if won else _("Deal closed as lost."))


@org_required(SALES_EDIT)
@require_POST
def opportunity_reopen(request, pk):
    opportunity = _opportunity(request, pk)
    data = request.POST
    return _action(request, pk, "reopen", lambda: opps.opportunity_reopen(
        opportunity=opportunity, actor=request.user, stage=int_param(data.get("stage")),
        version=int_param(data.get("version"))), _("Deal reopened."))


@org_required(SALES_EDIT)
@require_POST
def opportunity_line_add(request, pk):
    opportunity = _opportunity(request, pk)
    data = request.POST
    return _action(request, pk, "lines", lambda: opps.opportunity_line_add(
        opportunity=opportunity, actor=request.user, version=int_param(data.get("version")),
        product=int_param(data.get("product")), description=data.get("description", ""),
        quantity=data.get("quantity", ""), unit_price=data.get("unit_price", "").replace(
            ",", ""), discount_percent=data.get("discount_percent") or 0),
        _("Line added."))


@org_required(SALES_EDIT)
@require_POST
def opportunity_line_remove(request, pk, line_pk):
    opportunity = _opportunity(request, pk)
    line = OpportunityLine.objects.filter(opportunity=opportunity, pk=line_pk).first()
    if line is None:
        raise Http404()
    line.opportunity = opportunity
    return _action(request, pk, "lines", lambda: opps.opportunity_line_remove(
        line=line, actor=request.user, version=int_param(request.POST.get("version"))),
        _("Line removed."))


# --- New and edit --------------------------------------------------------------------------


def _form_context(request, opportunity=None, data=None, errors=None):
    organization = request.organization
    pipeline, pipelines = _current_pipeline(request)
    account_id = int_param((data or {}).get("account") or request.GET.get("account"))
    return {
        "opportunity": opportunity, "data": data or {}, "errors": errors or {},
        "pipelines": pipelines, "pipeline": pipeline,
        "stages": [s for s in PipelineStage.objects.filter(pipeline__in=pipelines)
                   .select_related("pipeline").order_by("pipeline__name", "position")
                   if s.kind == StageKind.OPEN],
        "accounts": list(for_org(Account, organization).filter(archived_at__isnull=True)
                         .order_by("name")[:500]),
        "account_id": account_id,
        "contacts": list(for_org(Contact, organization).filter(
            account_id=account_id or (opportunity.account_id if opportunity else 0),
            archived_at__isnull=True).order_by("last_name")[:200]),
        "members": _members(organization),
        "teams": list(for_org(SalesTeam, organization)),
        "all_competitors": list(for_org(Competitor, organization)),
        "categories": [(value, label) for value, label in ForecastCategory.choices
                       if value in opps.OPEN_CATEGORIES],
    }


def _form_values(data):
    return {
        "name": data.get("name", ""), "account": int_param(data.get("account")),
        "contact": int_param(data.get("contact")), "close_date": data.get("close_date", ""),
        "amount": (data.get("amount") or "").replace(",", "").strip() or None,
        "currency": (data.get("currency") or "").strip() or None,
        "owner": int_param(data.get("owner")), "team": int_param(data.get("team")),
        "next_step": data.get("next_step", ""),
        "next_step_on": data.get("next_step_on") or None,
        "probability": (data.get("probability") or "").strip() or None,
        "forecast_category": data.get("forecast_category") or None,
        "competitors": [int_param(value) for value in data.getlist("competitors")
                        if int_param(value)],
    }


@org_required(SALES_EDIT)
@require_http_methods(["GET", "POST"])
def opportunity_new(request):
    if request.method == "POST":
        values = _form_values(request.POST)
        try:
            opportunity = opps.opportunity_create(
                organization=request.organization, actor=request.user,
                pipeline=int_param(request.POST.get("pipeline")),
                stage=int_param(request.POST.get("stage")), **values)
        except (ValidationError, TenancyError) as exc:
            return render(request, "sales/opportunity_form.html", _form_context(
                request, data=request.POST, errors=_messages(exc)), status=400)
        messages.success(request, _("Opportunity created."))
        return redirect("sales:opportunity_detail", pk=opportunity.pk)
    return render(request, "sales/opportunity_form.html", _form_context(request))


@org_required(SALES_EDIT)
@require_http_methods(["GET", "POST"])
def opportunity_edit(request, pk):
    opportunity = _opportunity(request, pk)
    if request.method == "POST":
        values = _form_values(request.POST)
        if opportunity.lines.exists():
            values.pop("amount")
        if values["currency"] is None:
            values.pop("currency")
        if values["forecast_category"] is None:
            if opportunity.status == OpportunityStatus.OPEN:
                values["forecast_category"] = opportunity.stage.forecast_category
            else:
                values.pop("forecast_category")
        try:
            opps.opportunity_update(opportunity=opportunity, actor=request.user,
                                    version=int_param(request.POST.get("version")), **values)
        except StaleVersion as exc:
            return render(request, "sales/opportunity_form.html", _form_context(
                request, opportunity, request.POST, {"form": exc.message}), status=409)
        except (ValidationError, TenancyError) as exc:
            return render(request, "sales/opportunity_form.html", _form_context(
                request, opportunity, request.POST, _messages(exc)), status=400)
        messages.success(request, _("Opportunity saved."))
        return redirect("sales:opportunity_detail", pk=pk)
    data = {
        "name": opportunity.name, "account": opportunity.account_id,
        "contact": opportunity.contact_id or "", "close_date": opportunity.close_date.isoformat(),
        "amount": opportunity.amount, "currency": opportunity.currency,
        "owner": opportunity.owner_id or "", "team": opportunity.team_id or "",
        "next_step": opportunity.next_step,
        "next_step_on": opportunity.next_step_on.isoformat() if opportunity.next_step_on
        else "",
        "probability": "" if opportunity.probability is None else opportunity.probability,
        "forecast_category": opportunity.forecast_category,
        "competitors": [c.pk for c in opportunity.competitors.all()],
        "version": opportunity.version,
    }
    return render(request, "sales/opportunity_form.html",
                  _form_context(request, opportunity, data))


# --- Pipeline settings ---------------------------------------------------------------------


def _settings_page(request, errors=None, status=200):
    pipeline, pipelines = _current_pipeline(request)
    organization = request.organization
    return render(request, "sales/pipeline_settings.html", {
        "pipeline": pipeline, "pipelines": pipelines,
        "stages": opps.pipeline_stages(pipeline),
        "reasons": list(for_org(CloseReason, organization)),
        "competitors": list(for_org(Competitor, organization)),
        "kinds": StageKind.choices, "categories": ForecastCategory.choices,
        "errors": errors or {},
        "can_edit": has_perm(request.membership, SALES_EDIT),
    }, status=status)


@org_required(SALES_VIEW)
@require_http_methods(["GET", "POST"])
def pipeline_settings(request):
    if request.method == "GET":
        return _settings_page(request)
    if not has_perm(request.membership, SALES_EDIT):
        raise Http404()
    organization = request.organization
    data = request.POST
    action = data.get("action", "")
    pipeline, _pipelines_ = _current_pipeline(request)
    try:
        if action == "pipeline_new":
            pipeline = opps.pipeline_save(organization=organization, actor=request.user,
                                          name=data.get("name", ""),
                                          stale_after_days=data.get("stale_after_days", 30))
        elif action == "pipeline_save":
            opps.pipeline_save(organization=organization, actor=request.user,
                               pipeline=pipeline, name=data.get("name", ""),
                               stale_after_days=data.get("stale_after_days", 30),
                               is_default=data.get("is_default") == "1")
        elif action == "pipeline_archive":
            opps.pipeline_archive(pipeline=pipeline, actor=request.user)
            pipeline = None
        elif action == "stage_save":
            stage = None
            if int_param(data.get("stage")):
                stage = PipelineStage.objects.filter(pipeline=pipeline,
                                                     pk=int_param(data["stage"])).first()
                if stage is None:
                    raise Http404()
            opps.stage_save(pipeline=pipeline, actor=request.user, stage=stage,
                            name=data.get("name", ""), probability=data.get("probability"),
                            kind=data.get("kind", StageKind.OPEN),
                            forecast_category=data.get("forecast_category") or None,
                            position=data.get("position") or None)
        elif action == "stage_delete":
            stage = PipelineStage.objects.filter(pipeline=pipeline,
                                                 pk=int_param(data.get("stage")) or 0).first()
            if stage is None:
                raise Http404()
            opps.stage_delete(stage=stage, actor=request.user)
        elif action == "reason_save":
            reason = None
            if int_param(data.get("reason")):
                reason = for_org(CloseReason, organization).filter(
                    pk=int_param(data["reason"])).first()
                if reason is None:
                    raise Http404()
            opps.close_reason_save(organization=organization, actor=request.user,
                                   reason=reason, kind=data.get("kind", ""),
                                   name=data.get("name", ""),
                                   is_active=data.get("is_active", "1") == "1")
        elif action == "competitor_new":
            opps.competitor_save(organization=organization, actor=request.user,
                                 name=data.get("name", ""))
        elif action == "competitor_delete":
            competitor = for_org(Competitor, organization).filter(
                pk=int_param(data.get("competitor")) or 0).first()
            if competitor is None:
                raise Http404()
            opps.competitor_delete(competitor=competitor, actor=request.user)
        else:
            return _settings_page(request, errors={"form": _("Unknown action.")}, status=400)
    except (ValidationError, TenancyError) as exc:
        return _settings_page(request, errors={action: " ".join(_messages(exc).values())},
                              status=400)
    messages.success(request, _("Settings saved."))
    url = reverse("sales:pipeline_settings")
    if pipeline is not None:
        url += f"?pipeline={pipeline.pk}"
    return redirect(url)

