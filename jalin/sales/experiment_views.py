"""Experiment pages: a campaign's results (per variant and holdout, comparison with the
control on the primary metric, plain statements, peeking warning, charts, CSV) and the
sample-size plan (for a campaign, or as an htmx partial of the campaign form)."""

import csv
from decimal import Decimal, InvalidOperation

from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from jalin.core.charts import chart_config
from jalin.core.csv_cells import safe_cell
from jalin.core.params import int_param
from jalin.tenancy.access import for_org, get_for_org_or_404
from jalin.tenancy.decorators import org_required
from jalin.tenancy.roles import SALES_VIEW

from . import campaign_results as cr
from .models import Campaign, PrimaryMetric, Segment


def _campaign(request, pk):
    return get_for_org_or_404(Campaign.objects.select_related("segment"),
                              request.organization, pk=pk)


def _percent(value, digits=1):
    return "—" if value is None else f"{value * 100:.{digits}f}%"


def _money(value):
    return "—" if value is None else f"{value:,.0f}"


def _p(value):
    if value is None:
        return "—"
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def metric_label(metric):
    return PrimaryMetric(metric).label


def comparison_rows(results):
    """Display rows of the comparisons (shared with the CSV)."""
    rows = []
    metric = results.metric
    currency = results.campaign.organization.currency
    for comparison in results.comparisons:
        r = comparison.result
        fmt = _money if metric == PrimaryMetric.REVENUE else _percent
        rows.append({
            "arm": comparison.arm, "control": comparison.control,
            "control_value": fmt(comparison.control.metric_value(metric)),
            "arm_value": fmt(comparison.arm.metric_value(metric)),
            "difference": (None if r is None else (
                f"{r.difference:+,.0f}" if metric == PrimaryMetric.REVENUE
                else _("%(points)s points") % {"points": f"{r.difference * 100:+.2f}"})),
            "relative_lift": (None if r is None or r.relative_lift is None
                              else f"{r.relative_lift * 100:+.1f}%"),
            "ci": (None if r is None else (
                f"{r.ci_low:,.0f} … {r.ci_high:,.0f}" if metric == PrimaryMetric.REVENUE
                else f"{r.ci_low * 100:.2f} … {r.ci_high * 100:.2f}")),
            "p": _p(r.p_value) if r else "—",
            "p_adjusted": _p(comparison.p_adjusted),
            "significant": comparison.significant,
            "result": r,
            "statement": cr.statement(comparison, metric=metric, holm=results.holm,
                                      currency=currency),
        })
    return rows


def _charts(results):
    labels = [arm.name for arm in results.arms]
    metric = results.metric
    if metric == PrimaryMetric.REVENUE:
        values = [arm.revenue_per_recipient for arm in results.arms]
        y_title = _("Revenue per recipient")
    else:
        values = [None if arm.metric_value(metric) is None else round(
            arm.metric_value(metric) * 100, 3) for arm in results.arms]
        y_title = _("Per cent of recipients")
    metric_chart = chart_config(kind="bar", labels=labels,
                                series=[(metric_label(metric), values)], y_title=y_title)
    funnel_chart = chart_config(kind="bar", labels=labels, series=[
        (_("Sent"), [arm.sent for arm in results.arms]),
        (_("Opened"), [arm.opened for arm in results.arms]),
        (_("Clicked"), [arm.clicked for arm in results.arms]),
        (_("Converted"), [arm.converted for arm in results.arms]),
    ], y_title=_("Recipients"))
    return metric_chart, funnel_chart


@org_required(SALES_VIEW)
@require_GET
def campaign_results(request, pk):
    campaign = _campaign(request, pk)
    results = cr.campaign_results(campaign)
    if request.GET.get("format") == "csv":
        return _results_csv(results)
    metric_chart, funnel_chart = _charts(results)
    planned = results.planned_per_group
    return render(request, "sales/campaign_results.html", {
        "campaign": campaign, "results": results, "rows": comparison_rows(results),
        "warning": cr.warning_text(results.warning), "warning_code": results.warning,
        "metric_label": metric_label(results.metric),
        "metric_chart": metric_chart, "funnel_chart": funnel_chart,
        "sample_progress": (min(results.smallest_group, planned) if planned else None),
        "arms": [{
            "arm": arm, "open_rate": _percent(arm.open_rate),
            "click_rate": _percent(arm.click_rate), "reply_rate": _percent(arm.reply_rate),
            "conversion_rate": _percent(arm.conversion_rate, 2),
            "revenue_per_recipient": _money(arm.revenue_per_recipient),
            "is_control": arm is results.control,
        } for arm in results.arms],
    })


def _results_csv(results):
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="campaign-{results.campaign.pk}-results.csv"')
    writer = csv.writer(response)
    writer.writerow(["group", "control", "recipients", "skipped", "sent", "opened", "clicked",
                     "replied", "unsubscribed", "converted", "revenue", "with_lead",
                     "with_opportunity", "orders", "metric", "metric_value", "difference",
                     "ci_low", "ci_high", "relative_lift", "p_value", "p_adjusted_holm"])
    by_arm = {c.arm.key: c for c in results.comparisons}
    for arm in results.arms:
        comparison = by_arm.get(arm.key)
        r = comparison.result if comparison else None
        writer.writerow([
            safe_cell(arm.name), "yes" if arm is results.control else "", arm.recipients,
            arm.skipped, arm.sent, arm.opened, arm.clicked, arm.replied, arm.unsubscribed,
            arm.converted, arm.revenue, arm.with_lead, arm.with_opportunity, arm.orders,
            results.metric, "" if arm.metric_value(results.metric) is None
            else arm.metric_value(results.metric),
            "" if r is None else r.difference, "" if r is None else r.ci_low,
            "" if r is None else r.ci_high,
            "" if r is None or r.relative_lift is None else r.relative_lift,
            "" if r is None else r.p_value,
            "" if comparison is None or comparison.p_adjusted is None
            else comparison.p_adjusted])
    return response


# --- Plan ------------------------------------------------------------------------------------


class PlanInputError(ValueError):
    pass


def _decimal(value, label):
    text = (value or "").strip().replace(",", ".")
    if not text:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise PlanInputError(_("%(field)s: enter a number.") % {"field": label}) from None
    if not number.is_finite() or number < 0 or number > 100:
        raise PlanInputError(_("%(field)s: enter a number between 0 and 100.") % {
            "field": label})
    return number


def plan_inputs(organization, data, *, campaign=None):
    """Plan arguments from a query string (campaign values as defaults)."""
    variants = list(campaign.variants.order_by("id")) if campaign else []
    baseline = _decimal(data.get("baseline_rate"), _("Expected baseline rate"))
    mde = _decimal(data.get("minimum_detectable_effect"), _("Smallest lift worth detecting"))
    holdout = _decimal(data.get("holdout_percent"), _("Holdout"))
    weights_text = data.getlist("weight") if hasattr(data, "getlist") else []
    if not weights_text and data.get("weights"):
        weights_text = str(data.get("weights")).split(",")
    if not weights_text:
        # The campaign form's variant blocks: a block counts once it has a name or subject.
        weights_text = [data.get(f"variant_{index}_weight") or "1" for index in range(20)
                        if (data.get(f"variant_{index}_name") or "").strip()
                        or (data.get(f"variant_{index}_subject") or "").strip()]
    try:
        weights = [int(w) for w in weights_text if str(w).strip()]
    except ValueError:
        raise PlanInputError(_("Weights must be whole numbers.")) from None
    if any(w < 1 or w > 1000 for w in weights) or len(weights) > 20:
        raise PlanInputError(_("Weights must be between 1 and 1000 (at most 20 variants)."))
    metric = data.get("primary_metric") or (campaign.primary_metric if campaign
                                            else PrimaryMetric.CONVERSION)
    if metric not in PrimaryMetric.values:
        raise PlanInputError(_("Unknown primary metric."))
    segment = campaign.segment if campaign else None
    segment_id = (data.get("segment") or data.get("segment_id") or "").strip()
    if segment_id:
        segment = for_org(Segment, organization).filter(
            pk=int_param(segment_id, positive=True) or 0).first()
        if segment is None:
            raise PlanInputError(_("No such segment."))
    try:
        days = int(data.get("attribution_days") or (campaign.attribution_days if campaign
                                                    else 30))
    except ValueError:
        raise PlanInputError(_("The attribution window is a whole number of days.")) from None
    if not 1 <= days <= 365:
        raise PlanInputError(_("The attribution window is between 1 and 365 days."))
    if holdout is not None and holdout > 50:
        raise PlanInputError(_("The holdout is at most %(max)s.") % {"max": "50%"})
    return dict(
        organization=organization,
        baseline_rate=baseline if baseline is not None else (
            campaign.baseline_rate if campaign else None),
        minimum_detectable_effect=mde if mde is not None else (
            campaign.minimum_detectable_effect if campaign else None),
        holdout_percent=holdout if holdout is not None else (
            campaign.holdout_percent if campaign else 0),
        weights=weights or [v.weight for v in variants] or [1, 1],
        variant_names=None if weights else ([v.name for v in variants] or None),
        segment=segment, attribution_days=days, metric=metric)


def _plan_context(plan, **extra):
    return {"plan": plan,
            "groups": [{"name": name, "share": f"{share * 100:.1f}%",
                        "needed": plan.per_group} for name, share in plan.groups],
            **extra}


@org_required(SALES_VIEW)
@require_GET
def campaign_plan(request, pk):
    campaign = _campaign(request, pk)
    error = ""
    try:
        plan = cr.plan(**plan_inputs(request.organization, request.GET, campaign=campaign))
    except PlanInputError as exc:
        error = str(exc)
        plan = cr.campaign_plan(campaign)
    return render(request, "sales/campaign_plan.html", _plan_context(
        plan, campaign=campaign, input_error=error,
        segments=for_org(Segment, request.organization).order_by("name")[:200],
        values=request.GET), status=400 if error else 200)


@org_required(SALES_VIEW)
@require_GET
def campaign_plan_preview(request):
    """The plan for values being typed into the campaign form (htmx partial), or a page."""
    error = ""
    plan = None
    try:
        plan = cr.plan(**plan_inputs(request.organization, request.GET))
    except PlanInputError as exc:
        error = str(exc)
    partial = request.headers.get("HX-Request") == "true"
    context = _plan_context(plan or cr.Plan(), input_error=error, values=request.GET,
                            segments=for_org(Segment, request.organization)
                            .order_by("name")[:200])
    if partial:  # htmx swaps 200s only: the message shows in place of the plan
        return render(request, "sales/_campaign_plan.html", context)
    return render(request, "sales/campaign_plan.html", context, status=400 if error else 200)
