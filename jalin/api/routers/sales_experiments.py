"""The experiments API: a campaign's results (per group, the comparison of each variant with
the control on the primary metric, Holm adjustment, planned sample, peeking warning) and the
sample-size plan — for a campaign, or for values not saved yet.

Reads need `sales.view`. Another organization's campaign or segment is 404; input that cannot
be used is 422 naming the field.
"""

import datetime
from decimal import Decimal

from django.http import QueryDict
from ninja import Query, Router, Schema

from jalin.sales import campaign_results as cr
from jalin.sales.experiment_views import PlanInputError, plan_inputs
from jalin.sales.models import Campaign
from jalin.tenancy.access import get_for_org_or_404
from jalin.tenancy.roles import SALES_VIEW

from ..auth import require
from ..errors import ProblemError

router = Router(tags=["sales experiments"])


class ArmOut(Schema):
    key: str
    name: str
    variant_id: int | None
    is_holdout: bool
    is_control: bool
    recipients: int
    skipped: int
    sent: int
    opened: int
    clicked: int
    replied: int
    unsubscribed: int
    converted: int
    revenue: Decimal
    conversion_rate: float | None
    click_rate: float | None
    revenue_per_recipient: Decimal | None
    recipients_with_lead: int
    recipients_with_opportunity: int
    orders: int


class ComparisonOut(Schema):
    variant_id: int | None
    name: str
    control: str
    control_value: float | None
    value: float | None
    difference: float | None
    relative_lift: float | None
    ci_low: float | None
    ci_high: float | None
    confidence: float
    statistic: float | None
    p_value: float | None
    p_value_holm: float | None
    significant: bool
    statement: str


class ResultsOut(Schema):
    campaign_id: int
    status: str
    primary_metric: str
    attribution_days: int
    window_ends: datetime.datetime | None
    window_closed: bool
    planned_per_group: int | None
    smallest_group: int
    warning: str
    warning_text: str
    holm_adjusted: bool
    groups: list[ArmOut]
    comparisons: list[ComparisonOut]
    leads: int
    opportunities: int
    opportunity_amount: Decimal
    orders: int


class PlanGroupOut(Schema):
    name: str
    share: float


class PlanOut(Schema):
    per_group: int | None
    total_needed: int | None
    groups: list[PlanGroupOut]
    segment_size: int | None
    reachable: int | None
    big_enough: bool | None
    shortfall: int | None
    growth_per_day: float | None
    days_to_enough: int | None
    attribution_days: int
    primary_metric: str
    error: str


class PlanQuery(Schema):
    baseline_rate: str | None = None
    minimum_detectable_effect: str | None = None
    holdout_percent: str | None = None
    weights: str | None = None
    segment_id: str | None = None
    primary_metric: str | None = None
    attribution_days: str | None = None


def _campaign(membership, campaign_id):
    return get_for_org_or_404(Campaign.objects.select_related("segment", "organization"),
                              membership.organization, pk=campaign_id)


def _float(value):
    return None if value is None else float(value)


@router.get("/sales/campaigns/{campaign_id}/results", response=ResultsOut)
def campaign_results(request, campaign_id: int):
    """Per group (variants and holdout) counts, revenue, leads, opportunities and orders;
    each variant against the control on the primary metric with a 95% interval and p-value
    (Holm-adjusted when several variants are compared); the planned sample and whether the
    result may be acted on yet (`warning`: underpowered, window_open, sending, not_sent)."""
    membership = require(request, SALES_VIEW)
    campaign = _campaign(membership, campaign_id)
    results = cr.campaign_results(campaign)
    metric = results.metric
    return {
        "campaign_id": campaign.pk, "status": campaign.status, "primary_metric": metric,
        "attribution_days": campaign.attribution_days, "window_ends": results.window_ends,
        "window_closed": results.window_closed,
        "planned_per_group": results.planned_per_group,
        "smallest_group": results.smallest_group, "warning": results.warning,
        "warning_text": cr.warning_text(results.warning), "holm_adjusted": results.holm,
        "groups": [{
            "key": arm.key, "name": arm.name, "variant_id": arm.variant_id,
            "is_holdout": arm.is_holdout, "is_control": arm is results.control,
            "recipients": arm.recipients, "skipped": arm.skipped, "sent": arm.sent,
            "opened": arm.opened, "clicked": arm.clicked, "replied": arm.replied,
            "unsubscribed": arm.unsubscribed, "converted": arm.converted,
            "revenue": arm.revenue, "conversion_rate": arm.conversion_rate,
            "click_rate": arm.click_rate,
            "revenue_per_recipient": (None if arm.revenue_per_recipient is None
                                      else arm.revenue_per_recipient.quantize(Decimal("0.01"))),
            "recipients_with_lead": arm.with_lead,
            "recipients_with_opportunity": arm.with_opportunity, "orders": arm.orders,
        } for arm in results.arms],
        "comparisons": [{
            "variant_id": c.arm.variant_id, "name": c.arm.name, "control": c.control.name,
            "control_value": _float(c.control.metric_value(metric)),
            "value": _float(c.arm.metric_value(metric)),
            "difference": c.result.difference if c.result else None,
            "relative_lift": c.result.relative_lift if c.result else None,
            "ci_low": c.result.ci_low if c.result else None,
            "ci_high": c.result.ci_high if c.result else None,
            "confidence": cr.CONFIDENCE,
            "statistic": c.result.statistic if c.result else None,
            "p_value": c.result.p_value if c.result else None,
            "p_value_holm": c.p_adjusted, "significant": c.significant,
            "statement": cr.statement(c, metric=metric, holm=results.holm,
                                      currency=campaign.organization.currency),
        } for c in results.comparisons],
        "leads": results.leads, "opportunities": results.opportunities,
        "opportunity_amount": results.opportunity_amount, "orders": results.orders,
    }


def _plan_out(plan):
    return {
        "per_group": plan.per_group, "total_needed": plan.total_needed,
        "groups": [{"name": str(name), "share": share} for name, share in plan.groups],
        "segment_size": plan.segment_size, "reachable": plan.reachable,
        "big_enough": plan.big_enough, "shortfall": plan.shortfall,
        "growth_per_day": plan.growth_per_day, "days_to_enough": plan.days_to_enough,
        "attribution_days": plan.attribution_days, "primary_metric": plan.metric,
        "error": plan.error,
    }


def _query(params):
    data = QueryDict(mutable=True)
    for key, value in params.dict().items():
        if value is not None:
            data[key] = value
    return data


def _plan(membership, params, campaign=None):
    try:
        return cr.plan(**plan_inputs(membership.organization, _query(params),
                                     campaign=campaign))
    except PlanInputError as exc:
        raise ProblemError(422, code="validation_error", detail=str(exc)) from None


@router.get("/sales/campaigns/{campaign_id}/plan", response=PlanOut)
def campaign_plan(request, campaign_id: int, params: Query[PlanQuery]):
    """The sample-size plan of a campaign (its own baseline rate, lift, holdout, variant
    weights and segment; query parameters override them for a what-if)."""
    membership = require(request, SALES_VIEW)
    return _plan_out(_plan(membership, params, _campaign(membership, campaign_id)))


@router.get("/sales/experiments/plan", response=PlanOut)
def experiment_plan(request, params: Query[PlanQuery]):
    """The plan for values not saved yet: `baseline_rate` and `minimum_detectable_effect`
    in percent, `holdout_percent`, `weights` ("1,1"), `segment_id`, `primary_metric`."""
    membership = require(request, SALES_VIEW)
    return _plan_out(_plan(membership, params))
