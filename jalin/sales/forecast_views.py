"""Forecast pages: the pipeline forecast (per period, seller, team or product, with the
targets of the shown periods and their attainment, CSV), sales targets, the statistical revenue
forecast from hub order history with its backtest, and demand per product (table, CSV, one
product's page). Thin: parsing and rendering; the figures come from forecast_selectors."""

import csv
import datetime

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from jalin.core.charts import chart_config
from jalin.core.csv_cells import Echo, safe_cell
from jalin.core.params import int_param
from jalin.hub import history_selectors
from jalin.tenancy.access import get_for_org_or_404
from jalin.tenancy.decorators import org_required
from jalin.tenancy.roles import SALES_EDIT, SALES_VIEW, has_perm
from jalin.tenancy.services import StaleVersion, TenancyError

from . import forecast_selectors as fs
from . import targets as target_services
from .lead_views import _errors, _members
from .models import SalesTarget, SalesTeam

DEFAULT_COUNT = {fs.MONTH: 6, fs.QUARTER: 4}
MAX_HORIZON = 24
MAX_ID = 2**63 - 1
FIGURES = ("won", "commit", "committed", "best_case", "best_case_total", "open_pipeline",
           "weighted")


class BadInput(Exception):
    def __init__(self, message):
        super().__init__(message)
        self.message = message


def parse_start(value, kind):
    """`YYYY-MM` or `YYYY-MM-DD` → the first day of the period containing it."""
    value = (value or "").strip()
    if not value:
        return fs.period_start(kind, timezone.localdate())
    try:
        day = (datetime.date.fromisoformat(value + "-01") if len(value) == 7
               else datetime.date.fromisoformat(value))
    except ValueError:
        raise BadInput(_("Enter the first period as YYYY-MM.")) from None
    return fs.period_start(kind, day)


def forecast_params(params, *, user=None):
    """(kwargs for pipeline_forecast, form values) from query parameters; BadInput if bad."""
    kind = params.get("period") or fs.QUARTER
    if kind not in fs.PERIOD_KINDS:
        raise BadInput(_("The period is month or quarter."))
    by = params.get("by") or "period"
    if by not in fs.GROUPINGS:
        raise BadInput(_("Group by period, owner, team or product."))
    count = params.get("count") or str(DEFAULT_COUNT[kind])
    count = int_param(count)
    if count is None or not 1 <= count <= fs.MAX_PERIODS:
        raise BadInput(_("Show between 1 and %(max)d periods.") % {"max": fs.MAX_PERIODS})
    start = parse_start(params.get("start"), kind)
    owner = params.get("owner") or ""
    owner_id = None
    if owner == "mine" and user is not None:
        owner_id = user.pk
    elif owner and owner != "mine":
        owner_id = int_param(owner)
        if owner_id is None:
            raise BadInput(_("Unknown owner."))
    team = params.get("team") or ""
    team_id = int_param(team) if team else None
    if team and team_id is None:
        raise BadInput(_("Unknown team."))
    return ({"kind": kind, "by": by, "count": count, "start": start, "owner_id": owner_id,
             "team_id": team_id},
            {"period": kind, "by": by, "count": count, "start": start.strftime("%Y-%m"),
             "owner": owner, "team": team})


def _pipeline_chart(result):
    labels = [span.label for span in result.periods]
    return chart_config(kind="bar", stacked=True, labels=labels, y_title=result.currency,
                        series=[(_("Closed won"), [f.won for f in result.totals]),
                                (_("Commit"), [f.commit for f in result.totals]),
                                (_("Best case"), [f.best_case for f in result.totals]),
                                (_("Pipeline"), [f.pipeline for f in result.totals])])


@org_required(SALES_VIEW)
@require_GET
def forecast(request):
    organization = request.organization
    error, status = "", 200
    try:
        kwargs, form = forecast_params(request.GET, user=request.user)
    except BadInput as exc:
        error, status = exc.message, 400
        kwargs, form = forecast_params({})
    result = fs.pipeline_forecast(organization=organization, **kwargs)
    first, last = result.periods[0].start, result.periods[-1].end
    attainments = fs.attainment(organization=organization, targets=fs.targets_for(
        organization=organization, user_id=kwargs["owner_id"], team_id=kwargs["team_id"],
        overlapping=(first, last))[:100])
    query = request.GET.copy()
    return render(request, "sales/forecast.html", {
        "result": result, "form": form, "error": error, "chart": _pipeline_chart(result),
        "attainments": attainments, "query": query.urlencode(),
        "members": _members(organization),
        "teams": list(SalesTeam.objects.filter(organization=organization).order_by("name")),
        "groupings": [("period", _("Period")), ("owner", _("Owner")), ("team", _("Team")),
                      ("product", _("Product"))],
    }, status=status)


@org_required(SALES_VIEW)
@require_GET
def forecast_export(request):
    try:
        kwargs, _form = forecast_params(request.GET, user=request.user)
    except BadInput as exc:
        return render(request, "sales/forecast_error.html", {"error": exc.message}, status=400)
    result = fs.pipeline_forecast(organization=request.organization, **kwargs)
    writer = csv.writer(Echo())

    def rows():
        yield "\ufeff"
        yield writer.writerow(["group", "period", "period_start", "currency", *FIGURES,
                               "open_deals", "won_deals"])
        for row in result.rows:
            cells = (zip(result.periods, row.cells, strict=True) if row.cells
                     else [(next(p for p in result.periods if p.start == row.key), row.total)])
            for span, figures in cells:
                yield writer.writerow([safe_cell(value) for value in (
                    row.label, span.label, span.start.isoformat(), result.currency,
                    *(getattr(figures, name) for name in FIGURES), figures.open_count,
                    figures.won_count)])

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="forecast.csv"'
    return response


# --- Targets -------------------------------------------------------------------------------


def _target_values(data):
    return {"user": data.get("user") or None, "team": data.get("team") or None,
            "period_start": data.get("period_start", ""),
            "period_end": data.get("period_end", ""), "amount": data.get("amount", ""),
            "currency": data.get("currency") or None}


@org_required(SALES_VIEW)
@require_http_methods(["GET", "POST"])
def target_list(request):
    organization = request.organization
    can_edit = has_perm(request.membership, SALES_EDIT)
    errors, status, data = {}, 200, {}
    if request.method == "POST":
        if not can_edit:
            raise Http404
        data = request.POST
        target = None
        if int_param(data.get("target")):
            target = get_for_org_or_404(SalesTarget, organization, pk=int_param(data["target"]))
        try:
            if target is not None and data.get("delete"):
                target_services.target_delete(target=target, actor=request.user,
                                              version=int_param(data.get("version")))
                messages.success(request, _("Target deleted."))
            elif target is not None:
                target_services.target_update(target=target, actor=request.user,
                                              version=int_param(data.get("version")),
                                              **_target_values(data))
                messages.success(request, _("Target saved."))
            else:
                target_services.target_create(organization=organization, actor=request.user,
                                              **_target_values(data))
                messages.success(request, _("Target saved."))
        except StaleVersion as exc:
            errors, status = {"form": exc.message}, 409
        except (ValidationError, TenancyError) as exc:
            errors, status = _errors(exc), 400
        else:
            return redirect("sales:forecast_targets")
    attainments = fs.attainment(organization=organization,
                                targets=fs.targets_for(organization=organization)[:200])
    today = timezone.localdate()
    quarter = fs.periods(fs.QUARTER, today, 1)[0]
    return render(request, "sales/forecast_targets.html", {
        "attainments": attainments, "errors": errors, "data": data, "can_edit": can_edit,
        "members": _members(organization),
        "teams": list(SalesTeam.objects.filter(organization=organization).order_by("name")),
        "default_start": quarter.start.isoformat(), "default_end": quarter.end.isoformat(),
        "currency": organization.currency,
    }, status=status)


# --- Statistical forecasts -----------------------------------------------------------------


def _horizon(request, default):
    horizon = int_param(request.GET.get("horizon") or default)
    if horizon is None or not 1 <= horizon <= MAX_HORIZON:
        raise BadInput(_("Forecast between 1 and %(max)d months ahead.") % {
            "max": MAX_HORIZON})
    return horizon


def _series_chart(result, *, y_title):
    labels = [month.strftime("%Y-%m") for month in result.months + result.future]
    gap = [None] * len(result.months)
    pad = [None] * len(result.future)
    # The forecast line starts at the last actual, so the two lines join.
    joint = gap[:-1] + [result.actuals[-1]] if result.months else []
    return chart_config(kind="line", labels=labels, y_title=y_title, series=[
        (_("Actual"), list(result.actuals) + pad),
        (_("Forecast"), joint + list(result.mean)),
        (_("Lower bound"), gap + list(result.lower)),
        (_("Upper bound"), gap + list(result.upper)),
    ])


def _forecast_rows(result):
    if not result.has_forecast:
        return []
    return list(zip(result.future, result.mean, result.lower, result.upper, strict=True))


@org_required(SALES_VIEW)
@require_GET
def revenue(request):
    organization = request.organization
    error, status = "", 200
    try:
        horizon = _horizon(request, 6)
    except BadInput as exc:
        error, status, horizon = exc.message, 400, 6
    result = fs.revenue_forecast(organization=organization, horizon=horizon)
    return render(request, "sales/forecast_revenue.html", {
        "result": result, "horizon": horizon, "error": error,
        "currency": organization.currency,
        "chart": _series_chart(result, y_title=organization.currency)
        if result.has_forecast else None,
        "history": list(zip(result.months, result.actuals, strict=True))[::-1][:24],
        "rows": _forecast_rows(result), "level": round(result.level * 100),
    }, status=status)


@org_required(SALES_VIEW)
@require_GET
def demand(request):
    error, status = "", 200
    try:
        horizon = _horizon(request, 3)
    except BadInput as exc:
        error, status, horizon = exc.message, 400, 3
    overview = fs.demand_overview(organization=request.organization, horizon=horizon)
    return render(request, "sales/forecast_demand.html", {
        "overview": overview, "horizon": horizon, "error": error,
    }, status=status)


@org_required(SALES_VIEW)
@require_GET
def demand_export(request):
    try:
        horizon = _horizon(request, 3)
    except BadInput as exc:
        return render(request, "sales/forecast_error.html", {"error": exc.message}, status=400)
    overview = fs.demand_overview(organization=request.organization, horizon=horizon)
    writer = csv.writer(Echo())

    def rows():
        yield "\ufeff"
        yield writer.writerow(["sku", "product", "unit", "units_last_12_months", "month",
                               "forecast_units", "lower", "upper", "level", "mase"])
        for item in overview:
            product = item.forecast
            mase = product.accuracy.mase if product.accuracy else None
            for month, mean, lower, upper in _forecast_rows(product):
                yield writer.writerow([safe_cell(value) for value in (
                    item.product.sku if item.product else "",
                    item.product.name if item.product else "",
                    item.product.unit if item.product else "", item.units_last_year,
                    month.strftime("%Y-%m"), round(mean, 1), round(lower, 1),
                    round(upper, 1), product.level,
                    "" if mase is None else round(mase, 3))])

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="demand-forecast.csv"'
    return response


@org_required(SALES_VIEW)
@require_GET
def demand_product(request, product_id):
    organization = request.organization
    product = history_selectors.supplier_products(
        supplier=organization, product_ids=[product_id] if product_id <= MAX_ID else []
    ).get(product_id)
    if product is None:
        raise Http404
    error, status = "", 200
    try:
        horizon = _horizon(request, 6)
    except BadInput as exc:
        error, status, horizon = exc.message, 400, 6
    result = fs.product_demand(organization=organization, product=product, horizon=horizon)
    return render(request, "sales/forecast_product.html", {
        "product": product, "result": result, "horizon": horizon, "error": error,
        "chart": _series_chart(result, y_title=product.unit) if result.has_forecast else None,
        "history": list(zip(result.months, result.actuals, strict=True))[::-1][:24],
        "rows": _forecast_rows(result), "level": round(result.level * 100),
    }, status=status)
