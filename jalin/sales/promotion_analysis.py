"""Promotion analysis: did a hub promotion sell more, to whom, and at what margin?

Data comes from the hub's selectors (`jalin.hub.promotion_selectors`); sales never reads hub
tables itself. Figures are over the promotion's products (all, when it lists none) and net of
tax:

- **Promotion period**: `starts_on` to `ends_on`, or to today while it runs, for the buyers
  it targets (everyone when it lists none).
- **Before**: the same number of days right before it started, same products, same buyers —
  the comparable baseline period. Uplift % = (period − before) / before.
- **Not targeted** (only when the promotion targets some buyers): the same period, same
  products, the other buyers trading with the supplier. Their revenue per trading buyer
  against the targeted buyers' revenue per trading buyer gives a second uplift that does not
  depend on the season.
- Discount given (what the promotion took off its lines), margin where products have a unit
  cost (revenue − units × unit cost, over the lines with a cost), and new vs repeat buyers
  (new: the buyer's first order from this supplier falls in the period).

A fixed number of queries (two per compared group, one per chart series).
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _

from jalin.core.charts import chart_config
from jalin.hub import promotion_selectors as hub

ONE_DAY = datetime.timedelta(days=1)


def uplift(value, baseline):
    """(value − baseline) / baseline in percent, one decimal; None without a baseline."""
    if baseline is None or value is None or not baseline:
        return None
    return ((Decimal(value) - Decimal(baseline)) * 100 / Decimal(baseline)).quantize(
        Decimal("0.1"))


def _per(amount, count):
    if not count:
        return None
    return (Decimal(amount) / count).quantize(Decimal("0.01"))


@dataclass
class Analysis:
    promotion: object
    status: str  # "scheduled", "running" or "ended"
    start: datetime.date
    end: datetime.date | None
    days: int
    targeted: bool
    period: hub.Figures | None = None
    before: hub.Figures | None = None
    before_start: datetime.date | None = None
    before_end: datetime.date | None = None
    untargeted: hub.Figures | None = None
    targeted_buyers: int = 0
    untargeted_buyers: int = 0
    uplift_revenue: Decimal | None = None
    uplift_orders: Decimal | None = None
    uplift_units: Decimal | None = None
    revenue_per_targeted_buyer: Decimal | None = None
    revenue_per_untargeted_buyer: Decimal | None = None
    uplift_vs_untargeted: Decimal | None = None
    chart: dict = field(default_factory=dict)

    @property
    def verdict(self):
        """One plain sentence for the page."""
        if self.status == "scheduled":
            return _("The promotion has not started yet.")
        if self.uplift_revenue is None:
            return _("No sales in the period before the promotion to compare with.")
        if self.uplift_revenue >= 0:
            return _("Revenue was %(pct)s%% higher than in the %(days)s days before.") % {
                "pct": self.uplift_revenue, "days": self.days}
        return _("Revenue was %(pct)s%% lower than in the %(days)s days before.") % {
            "pct": -self.uplift_revenue, "days": self.days}


def analyse(promotion, *, today=None):
    today = today or timezone.localdate()
    start = promotion.starts_on
    if start > today:
        return Analysis(promotion=promotion, status="scheduled", start=start, end=None, days=0,
                        targeted=False)
    end = min(promotion.ends_on, today)
    status = "running" if promotion.ends_on >= today and promotion.is_active else "ended"
    days = (end - start).days + 1
    scope = hub.promotion_scope(promotion)
    supplier_id = promotion.supplier_id
    buyers = None if scope.everyone else scope.buyer_ids
    before_end = start - ONE_DAY
    before_start = before_end - datetime.timedelta(days=days - 1)
    result = Analysis(promotion=promotion, status=status, start=start, end=end, days=days,
                      targeted=not scope.everyone, before_start=before_start,
                      before_end=before_end)
    result.period = hub.sales_figures(supplier_id=supplier_id, start=start, end=end,
                                      scope=scope, buyers=buyers, promotion_id=promotion.pk)
    result.before = hub.sales_figures(supplier_id=supplier_id, start=before_start,
                                      end=before_end, scope=scope, buyers=buyers,
                                      promotion_id=promotion.pk)
    result.uplift_revenue = uplift(result.period.revenue, result.before.revenue)
    result.uplift_orders = uplift(result.period.orders, result.before.orders)
    result.uplift_units = uplift(result.period.units, result.before.units)
    if not scope.everyone:
        trading = hub.trading_buyer_ids(supplier_id)
        result.targeted_buyers = len(trading & scope.buyer_ids)
        result.untargeted_buyers = len(trading - scope.buyer_ids)
        result.untargeted = hub.sales_figures(
            supplier_id=supplier_id, start=start, end=end, scope=scope,
            exclude_buyers=scope.buyer_ids, promotion_id=promotion.pk)
        result.revenue_per_targeted_buyer = _per(result.period.revenue, result.targeted_buyers)
        result.revenue_per_untargeted_buyer = _per(result.untargeted.revenue,
                                                   result.untargeted_buyers)
        result.uplift_vs_untargeted = uplift(result.revenue_per_targeted_buyer,
                                             result.revenue_per_untargeted_buyer)
    result.chart = _chart(supplier_id, scope, buyers, start, end, before_start, days)
    return result


def _chart(supplier_id, scope, buyers, start, end, before_start, days):
    """Daily revenue of the promotion period next to the period before, day by day."""
    during = hub.daily_revenue(supplier_id=supplier_id, start=start, end=end, scope=scope,
                               buyers=buyers)
    before = hub.daily_revenue(supplier_id=supplier_id, start=before_start,
                               end=start - ONE_DAY, scope=scope, buyers=buyers)
    labels = [_("Day %(n)s") % {"n": n + 1} for n in range(days)]
    return chart_config(
        kind="line", labels=labels, y_title=_("Net revenue"),
        series=[
            (_("Promotion period"), [during.get(start + datetime.timedelta(days=n), 0)
                                     for n in range(days)]),
            (_("Before"), [before.get(before_start + datetime.timedelta(days=n), 0)
                           for n in range(days)]),
        ])


def as_dict(analysis):
    """The analysis as JSON-able data (API)."""

    def figures(value):
        if value is None:
            return None
        return {"revenue": str(value.revenue), "orders": value.orders, "units": value.units,
                "buyers": value.buyers, "new_buyers": value.new_buyers,
                "repeat_buyers": value.repeat_buyers, "discount": str(value.discount),
                "cost": str(value.cost),
                "margin": None if value.margin is None else str(value.margin),
                "margin_percent": None if value.margin_percent is None
                else str(value.margin_percent.quantize(Decimal("0.1")))}

    def text(value):
        return None if value is None else str(value)

    return {
        "promotion_id": analysis.promotion.pk, "status": analysis.status,
        "start": analysis.start.isoformat(),
        "end": analysis.end.isoformat() if analysis.end else None,
        "days": analysis.days, "targeted": analysis.targeted,
        "period": figures(analysis.period),
        "before": figures(analysis.before),
        "before_start": analysis.before_start.isoformat() if analysis.before_start else None,
        "before_end": analysis.before_end.isoformat() if analysis.before_end else None,
        "untargeted": figures(analysis.untargeted),
        "targeted_buyers": analysis.targeted_buyers,
        "untargeted_buyers": analysis.untargeted_buyers,
        "uplift_revenue_percent": text(analysis.uplift_revenue),
        "uplift_orders_percent": text(analysis.uplift_orders),
        "uplift_units_percent": text(analysis.uplift_units),
        "revenue_per_targeted_buyer": text(analysis.revenue_per_targeted_buyer),
        "revenue_per_untargeted_buyer": text(analysis.revenue_per_untargeted_buyer),
        "uplift_vs_untargeted_percent": text(analysis.uplift_vs_untargeted),
        "verdict": analysis.verdict,
    }
