"""Results of a campaign and its experiment, and the sample-size plan before launch.

`campaign_results(campaign)` reads everything with a fixed number of grouped queries (the
variants; recipients grouped by variant with counts, sums and sums of squares; recipients with
a lead / an opportunity grouped by variant; attributed orders grouped by variant; the
campaign's leads and opportunities), whatever the number of recipients, and compares each
variant with the control on the campaign's primary metric through `experiment_stats`:

- the analysed group of an arm is its assigned recipients that were not skipped (intention to
  treat: a recipient counts whether or not the mail was opened);
- control = the holdout when there is one (conversion and revenue), else the first variant.
  Clicks and replies need a message, so for those metrics the holdout is shown but never the
  control;
- conversion/click/reply: two-proportion z-test with a Wald interval; revenue per recipient:
  Welch's t-test from (n, Σx, Σx²);
- more than one comparison: Holm-adjusted p-values decide significance;
- the planned sample per group comes from the campaign's baseline rate and minimum detectable
  effect; `peeking_warning` says when the result should not be acted on yet.

`plan(...)` is the guidance shown before launch (and as an htmx partial of the campaign form).
"""

import datetime
import math
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import (
    Count,
    DecimalField,
    F,
    Max,
    Q,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from . import experiment_stats
from .models import (
    Campaign,
    CampaignAttribution,
    CampaignRecipient,
    Lead,
    Opportunity,
    PrimaryMetric,
    SegmentMember,
)

CONFIDENCE = 0.95
RATE_METRICS = (PrimaryMetric.CONVERSION, PrimaryMetric.CLICK, PrimaryMetric.REPLY)
MESSAGE_METRICS = (PrimaryMetric.CLICK, PrimaryMetric.REPLY)
HOLDOUT = "holdout"


@dataclass
class Arm:
    key: str                 # "holdout" or the variant id as text
    name: str
    variant_id: int | None
    weight: int = 0
    assigned: int = 0        # every recipient given this arm, skipped ones included
    skipped: int = 0
    recipients: int = 0      # analysed: assigned and not skipped
    sent: int = 0
    opened: int = 0
    clicked: int = 0
    replied: int = 0
    unsubscribed: int = 0
    converted: int = 0
    revenue: Decimal = Decimal("0")
    revenue_squares: float = 0.0
    with_lead: int = 0
    with_opportunity: int = 0
    orders: int = 0
    last_sent_at: datetime.datetime | None = None

    @property
    def is_holdout(self):
        return self.variant_id is None

    def _rate(self, count):
        return count / self.recipients if self.recipients else None

    @property
    def open_rate(self):
        return self._rate(self.opened)

    @property
    def click_rate(self):
        return self._rate(self.clicked)

    @property
    def reply_rate(self):
        return self._rate(self.replied)

    @property
    def conversion_rate(self):
        return self._rate(self.converted)

    @property
    def revenue_per_recipient(self):
        return self.revenue / self.recipients if self.recipients else None

    def successes(self, metric):
        return {PrimaryMetric.CONVERSION: self.converted, PrimaryMetric.CLICK: self.clicked,
                PrimaryMetric.REPLY: self.replied}[metric]

    def metric_value(self, metric):
        if metric == PrimaryMetric.REVENUE:
            return self.revenue_per_recipient
        return self._rate(self.successes(metric))


@dataclass
class ArmComparison:
    arm: Arm
    control: Arm
    result: experiment_stats.Comparison | None = None
    reason: str = ""                 # why there is no result ("" when there is one)
    p_adjusted: float | None = None  # Holm, when more than one comparison

    @property
    def p_decisive(self):
        return self.p_adjusted if self.p_adjusted is not None else (
            self.result.p_value if self.result else None)

    @property
    def significant(self):
        return self.p_decisive is not None and self.p_decisive < 1 - CONFIDENCE


@dataclass
class Results:
    campaign: Campaign
    metric: str
    arms: list
    control: Arm | None
    comparisons: list
    holm: bool
    planned_per_group: int | None
    plan_error: str
    smallest_group: int
    window_ends: datetime.datetime | None
    window_closed: bool
    warning: str                      # experiment_stats.peeking_warning code, or "sending"
    leads: int = 0
    opportunities: int = 0
    opportunity_amount: Decimal = Decimal("0")
    orders: int = 0
    totals: dict = field(default_factory=dict)

    @property
    def is_experiment(self):
        return len(self.arms) > 1


def _planned(campaign):
    """(per-group sample from the campaign's baseline and MDE, error text)."""
    if campaign.baseline_rate is None or campaign.minimum_detectable_effect is None:
        return None, _("Set the expected baseline rate and the smallest lift worth detecting "
                       "to get a planned sample size.")
    try:
        return experiment_stats.sample_size_per_group(
            baseline_rate=float(campaign.baseline_rate) / 100,
            minimum_detectable_effect=float(campaign.minimum_detectable_effect) / 100), ""
    except ValueError:
        return None, _("The baseline rate plus the lift must stay between %(low)s and %(high)s, "
                       "and the lift must not be zero.") % {"low": "0%", "high": "100%"}


def _arm_rows(campaign):
    """One grouped query: per variant (null = holdout) counts, revenue sums and squares."""
    eligible = Q(skipped_reason="")
    money = DecimalField(max_digits=36, decimal_places=4)
    return (CampaignRecipient.objects.filter(campaign_id=campaign.pk)
            .values("variant_id")
            .annotate(
                assigned=Count("id"),
                skipped=Count("id", filter=~eligible),
                recipients=Count("id", filter=eligible),
                # The launch stamps the holdout's rows with its time: they were sent nothing.
                sent=Count("id", filter=eligible & Q(sent_at__isnull=False,
                                                     variant__isnull=False)),
                opened=Count("id", filter=eligible & Q(opened_at__isnull=False)),
                clicked=Count("id", filter=eligible & Q(clicked_at__isnull=False)),
                replied=Count("id", filter=eligible & Q(replied_at__isnull=False)),
                unsubscribed=Count("id", filter=eligible & Q(unsubscribed_at__isnull=False)),
                converted=Count("id", filter=eligible & Q(converted_at__isnull=False)),
                revenue_total=Coalesce(Sum("revenue", filter=eligible), Value(Decimal("0")),
                                       output_field=money),
                revenue_squares=Coalesce(
                    Sum(F("revenue") * F("revenue"), filter=eligible, output_field=money),
                    Value(Decimal("0")), output_field=money),
                last_sent_at=Max("sent_at"),
            ).order_by())


def _with_lead_rows(campaign):
    """Recipients per variant with a lead of the campaign (its email, or converted into its
    contact). Leads are few: IN (subquery) is one hashed pass over the recipients."""
    leads = Lead.objects.filter(campaign_id=campaign.pk)
    return (CampaignRecipient.objects.filter(campaign_id=campaign.pk, skipped_reason="")
            .filter(Q(contact_id__in=leads.filter(converted_contact__isnull=False)
                      .values("converted_contact_id"))
                    | Q(email__in=leads.exclude(email="").values("email")))
            .values("variant_id").annotate(n=Count("id")).order_by())


def _with_opportunity_rows(campaign):
    """Recipients per variant with an opportunity of the campaign on their contact (or their
    account, for opportunities without a contact)."""
    opportunities = Opportunity.objects.filter(campaign_id=campaign.pk)
    return (CampaignRecipient.objects.filter(campaign_id=campaign.pk, skipped_reason="")
            .filter(Q(contact_id__in=opportunities.filter(contact__isnull=False)
                      .values("contact_id"))
                    | Q(account_id__in=opportunities.filter(contact__isnull=True)
                        .values("account_id")))
            .values("variant_id").annotate(n=Count("id")).order_by())


def campaign_results(campaign, *, now=None):
    now = now or timezone.now()
    metric = campaign.primary_metric
    variants = list(campaign.variants.order_by("id"))
    arms = {str(v.pk): Arm(key=str(v.pk), name=v.name, variant_id=v.pk, weight=v.weight)
            for v in variants}
    holdout = None
    for row in _arm_rows(campaign):
        if row["variant_id"] is None:
            holdout = Arm(key=HOLDOUT, name=_("Holdout (sent nothing)"), variant_id=None)
            arm = holdout
        else:
            arm = arms.get(str(row["variant_id"]))
            if arm is None:
                continue
        for name in ("assigned", "skipped", "recipients", "sent", "opened", "clicked",
                     "replied", "unsubscribed", "converted", "last_sent_at"):
            setattr(arm, name, row[name])
        arm.revenue = Decimal(row["revenue_total"] or 0)
        arm.revenue_squares = float(row["revenue_squares"] or 0)
    if holdout is None and campaign.holdout_percent:
        holdout = Arm(key=HOLDOUT, name=_("Holdout (sent nothing)"), variant_id=None)
    ordered = ([holdout] if holdout else []) + list(arms.values())
    by_variant = {arm.variant_id: arm for arm in ordered}
    for name, rows in (("with_lead", _with_lead_rows(campaign)),
                       ("with_opportunity", _with_opportunity_rows(campaign))):
        for row in rows:
            arm = by_variant.get(row["variant_id"])
            if arm is not None:
                setattr(arm, name, row["n"])
    for row in (CampaignAttribution.objects.filter(recipient__campaign_id=campaign.pk,
                                                   recipient__skipped_reason="")
                .values("recipient__variant_id")
                .annotate(orders=Count("order_id", distinct=True)).order_by()):
        arm = by_variant.get(row["recipient__variant_id"])
        if arm is not None:
            arm.orders = row["orders"]

    # Control and comparisons.
    candidates_for_control = [a for a in ordered if not (a.is_holdout and metric in
                                                          MESSAGE_METRICS)]
    control = candidates_for_control[0] if candidates_for_control else None
    treated = candidates_for_control[1:]
    comparisons = [_compare(arm, control, metric) for arm in treated]
    with_result = [c for c in comparisons if c.result is not None]
    holm = len(comparisons) > 1
    if holm and with_result:
        adjusted = experiment_stats.holm_adjusted([c.result.p_value for c in with_result])
        for comparison, p in zip(with_result, adjusted, strict=True):
            comparison.p_adjusted = p

    planned, plan_error = _planned(campaign)
    compared = ([control] if control else []) + treated
    smallest = min((a.recipients for a in compared), default=0)
    last_sent = max([a.last_sent_at for a in ordered if a.last_sent_at]
                    + ([campaign.sent_at] if campaign.sent_at else []), default=None)
    window_ends = (last_sent + datetime.timedelta(days=campaign.attribution_days)
                   if last_sent else None)
    window_closed = bool(window_ends and now >= window_ends)
    if campaign.status in ("draft", "scheduled", "preparing", "sending"):
        warning = "sending" if campaign.status in ("preparing", "sending") else "not_sent"
    else:
        warning = experiment_stats.peeking_warning(
            planned_per_group=planned, smallest_group=smallest, window_closed=window_closed)

    leads = Lead.objects.filter(campaign_id=campaign.pk).count()
    opportunities = Opportunity.objects.filter(campaign_id=campaign.pk).aggregate(
        n=Count("id"), amount=Coalesce(Sum("amount"), Value(Decimal("0")),
                                       output_field=DecimalField(max_digits=30,
                                                                 decimal_places=2)))
    results = Results(
        campaign=campaign, metric=metric, arms=ordered, control=control,
        comparisons=comparisons, holm=holm, planned_per_group=planned, plan_error=plan_error,
        smallest_group=smallest, window_ends=window_ends, window_closed=window_closed,
        warning=warning, leads=leads, opportunities=opportunities["n"],
        opportunity_amount=opportunities["amount"],
        orders=sum(a.orders for a in ordered))
    results.totals = {name: sum(getattr(a, name) for a in ordered) for name in (
        "assigned", "skipped", "recipients", "sent", "opened", "clicked", "replied",
        "unsubscribed", "converted", "with_lead", "with_opportunity", "orders")}
    results.totals["revenue"] = sum((a.revenue for a in ordered), Decimal("0"))
    return results


def _compare(arm, control, metric):
    comparison = ArmComparison(arm=arm, control=control)
    try:
        if metric == PrimaryMetric.REVENUE:
            comparison.result = experiment_stats.compare_means(
                n_a=control.recipients, sum_a=float(control.revenue),
                sum_squares_a=control.revenue_squares,
                n_b=arm.recipients, sum_b=float(arm.revenue),
                sum_squares_b=arm.revenue_squares, confidence=CONFIDENCE)
        else:
            comparison.result = experiment_stats.compare_rates(
                successes_a=control.successes(metric), n_a=control.recipients,
                successes_b=arm.successes(metric), n_b=arm.recipients, confidence=CONFIDENCE)
    except ValueError:
        comparison.reason = _("Not enough recipients in both groups yet.")
    return comparison


# --- Plain statements -------------------------------------------------------------------------


def _points(value):
    return f"{abs(value) * 100:.1f}"


def _money(value):
    return f"{abs(value):,.0f}"


def _p(value):
    return "< 0.001" if value < 0.001 else f"= {value:.3f}"


def statement(comparison, *, metric, holm, currency="IDR"):
    """"Variant B converts 2.1 points better than Holdout (95% CI 0.4 to 3.8), p = 0.014;
    significant after Holm adjustment." — or why there is no result yet."""
    if comparison.result is None:
        return comparison.reason
    r = comparison.result
    names = {"arm": comparison.arm.name, "control": comparison.control.name}
    if metric == PrimaryMetric.REVENUE:
        figures = {**names, "currency": currency, "diff": _money(r.difference),
                   "low": f"{r.ci_low:,.0f}", "high": f"{r.ci_high:,.0f}"}
        if r.difference > 0:
            text = _("%(arm)s brings %(currency)s %(diff)s more per recipient than %(control)s "
                     "(95%% CI %(low)s to %(high)s)") % figures
        elif r.difference < 0:
            text = _("%(arm)s brings %(currency)s %(diff)s less per recipient than "
                     "%(control)s (95%% CI %(low)s to %(high)s)") % figures
        else:
            text = _("%(arm)s brings the same revenue per recipient as %(control)s "
                     "(95%% CI %(low)s to %(high)s)") % figures
    else:
        verb = {PrimaryMetric.CONVERSION: _("converts"), PrimaryMetric.CLICK: _("is clicked"),
                PrimaryMetric.REPLY: _("gets replies")}[metric]
        figures = {**names, "verb": verb, "diff": _points(r.difference),
                   "low": f"{r.ci_low * 100:.1f}", "high": f"{r.ci_high * 100:.1f}"}
        if r.difference > 0:
            text = _("%(arm)s %(verb)s %(diff)s points better than %(control)s "
                     "(95%% CI %(low)s to %(high)s)") % figures
        elif r.difference < 0:
            text = _("%(arm)s %(verb)s %(diff)s points worse than %(control)s "
                     "(95%% CI %(low)s to %(high)s)") % figures
        else:
            text = _("%(arm)s %(verb)s exactly as often as %(control)s "
                     "(95%% CI %(low)s to %(high)s)") % figures
    text += ", p " + _p(r.p_value)
    if holm:
        suffix = (_("; significant after Holm adjustment (adjusted p %(p)s).")
                  if comparison.significant
                  else _("; not significant after Holm adjustment (adjusted p %(p)s)."))
        text += suffix % {"p": _p(comparison.p_adjusted)}
    else:
        suffix = (_("; significant at the %(level)s level.") if comparison.significant
                  else _("; not significant at the %(level)s level."))
        text += suffix % {"level": "5%"}
    return text


WARNINGS = {
    "not_sent": lambda: _("This campaign has not gone out yet: there is nothing to compare."),
    "sending": lambda: _("Still sending. Do not read the comparison until every recipient has "
                         "been sent and the attribution window has closed."),
    "underpowered": lambda: _("Peeking warning: the smallest group has fewer recipients than "
                              "the plan needs. A difference that looks significant now is much "
                              "more likely to be chance; do not stop or pick a winner yet."),
    "window_open": lambda: _("Peeking warning: the attribution window is still open and orders "
                             "are still coming in. Wait until it closes before deciding."),
}


def warning_text(code):
    return WARNINGS[code]() if code in WARNINGS else ""


# --- Sample-size plan ---------------------------------------------------------------------


@dataclass
class Plan:
    per_group: int | None = None
    groups: list = field(default_factory=list)   # [(name, share 0..1)]
    total_needed: int | None = None
    segment_size: int | None = None
    reachable: int | None = None       # members with an email address and email consent
    big_enough: bool | None = None
    growth_per_day: float | None = None
    days_to_enough: int | None = None
    attribution_days: int = 30
    error: str = ""
    metric: str = PrimaryMetric.CONVERSION

    @property
    def shortfall(self):
        if self.total_needed is None or self.reachable is None:
            return None
        return max(self.total_needed - self.reachable, 0)


GROWTH_DAYS = 30


def plan(*, organization, baseline_rate, minimum_detectable_effect, holdout_percent=0,
         weights=(1,), variant_names=None, segment=None, attribution_days=30,
         metric=PrimaryMetric.CONVERSION, now=None):
    """Sample-size guidance. Rates in percent (e.g. 4 and 1 for 4% → 5%). The smallest group
    must reach the per-group sample, so the total needed is per_group / smallest share."""
    now = now or timezone.now()
    result = Plan(attribution_days=attribution_days, metric=metric)
    weights = [int(w) for w in weights] or [1]
    names = list(variant_names or [chr(ord("A") + i) for i in range(len(weights))])
    holdout = float(holdout_percent or 0) / 100
    if baseline_rate is None or minimum_detectable_effect is None:
        result.error = _("Enter the expected baseline rate and the smallest lift worth "
                         "detecting.")
    elif any(w <= 0 for w in weights) or not 0 <= holdout <= 0.5:
        result.error = _("Weights must be positive and the holdout between %(low)s and "
                         "%(high)s.") % {"low": "0%", "high": "50%"}
    else:
        try:
            result.per_group = experiment_stats.sample_size_per_group(
                baseline_rate=float(baseline_rate) / 100,
                minimum_detectable_effect=float(minimum_detectable_effect) / 100)
        except ValueError:
            result.error = _("The baseline rate plus the lift must stay between %(low)s and "
                             "%(high)s, and the lift must not be zero.") % {
                                 "low": "0%", "high": "100%"}
    total_weight = sum(w for w in weights if w > 0) or 1
    groups = [(name, (1 - holdout) * w / total_weight) for name, w in zip(
        names, weights, strict=False)]
    if holdout and metric not in MESSAGE_METRICS:
        groups.insert(0, (_("Holdout"), holdout))
    result.groups = groups
    compared = [share for _name, share in groups]
    if result.per_group and len(compared) >= 2 and min(compared) > 0:
        result.total_needed = math.ceil(result.per_group / min(compared))
    elif result.per_group and len(compared) < 2 and not result.error:
        result.error = _("Add a second variant or a holdout to run an experiment.")
    if segment is not None:
        members = SegmentMember.objects.filter(segment_id=segment.pk)
        figures = members.aggregate(
            size=Count("id"),
            reachable=Count("id", filter=Q(contact__email_opt_in=True) & ~Q(contact__email="")),
            recent=Count("id", filter=Q(added_at__gte=now - datetime.timedelta(
                days=GROWTH_DAYS))),
        )
        result.segment_size = figures["size"]
        result.reachable = figures["reachable"]
        result.growth_per_day = figures["recent"] / GROWTH_DAYS
        if result.total_needed is not None:
            result.big_enough = result.reachable >= result.total_needed
            if not result.big_enough and result.growth_per_day:
                result.days_to_enough = math.ceil(
                    (result.total_needed - result.reachable) / result.growth_per_day)
    return result


def campaign_plan(campaign, *, now=None):
    variants = list(campaign.variants.order_by("id"))
    return plan(organization=campaign.organization, baseline_rate=campaign.baseline_rate,
                minimum_detectable_effect=campaign.minimum_detectable_effect,
                holdout_percent=campaign.holdout_percent,
                weights=[v.weight for v in variants] or [1],
                variant_names=[v.name for v in variants] or None,
                segment=campaign.segment, attribution_days=campaign.attribution_days,
                metric=campaign.primary_metric, now=now)

