"""Forecast reads: the pipeline forecast (per period, rep, team or product), targets with
attainment, and the statistical forecasts of revenue and product demand from hub order history.

Pipeline forecast — opportunities by expected close date, in the organization's currency:

- closed won: won deals closing in the period;
- commit: open deals in the commit category; **committed** = closed won + commit;
- best case: open deals in best case; **best case total** = committed + best case;
- pipeline: open deals in the pipeline category; **open pipeline** = commit + best case +
  pipeline (omitted deals count nowhere);
- **weighted** = Σ amount × probability of the open, not omitted deals (the deal's own
  probability when set, otherwise its stage's).

Each table is one grouped aggregate query (plus one small query for the names of the owners,
teams or products it shows), whatever the number of opportunities; the indexes
(organization, status, close_date) and (organization, owner, status, close_date) serve it.

Statistical forecasts use `jalin.sales.forecasting` (exponential smoothing, backtested against
seasonal naive) on monthly series read through `jalin.hub.history_selectors`; results are
cached by the series' content, so a page is fitted once per change of history.
"""

import datetime
import hashlib
import json
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.cache import cache
from django.db.models import Count, DecimalField, ExpressionWrapper, F, Q, Sum
from django.db.models.functions import Coalesce, TruncMonth, TruncQuarter
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from jalin.accounts.models import User
from jalin.hub import history_selectors

from . import forecasting
from .models import (
    ForecastCategory,
    Opportunity,
    OpportunityLine,
    OpportunityStatus,
    SalesTarget,
    SalesTeam,
)

MONTH, QUARTER = "month", "quarter"
PERIOD_KINDS = (MONTH, QUARTER)
GROUPINGS = ("period", "owner", "team", "product")
MAX_PERIODS = 24
CENT = Decimal("0.01")
WEIGHTED = DecimalField(max_digits=28, decimal_places=2)


# --- Periods -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    kind: str
    start: datetime.date
    end: datetime.date          # inclusive

    @property
    def label(self):
        if self.kind == QUARTER:
            return f"Q{(self.start.month - 1) // 3 + 1} {self.start.year}"
        return date_format(self.start, "M Y")

    @property
    def key(self):
        return self.start.isoformat()


def _add_months(day, months):
    index = day.year * 12 + day.month - 1 + months
    return datetime.date(index // 12, index % 12 + 1, 1)


def period_start(kind, day):
    if kind == QUARTER:
        return datetime.date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    return day.replace(day=1)


def periods(kind, start, count):
    """`count` consecutive periods of `kind` from the one containing `start`."""
    step = 3 if kind == QUARTER else 1
    first = period_start(kind, start)
    result = []
    for index in range(count):
        begin = _add_months(first, index * step)
        result.append(Period(kind, begin, _add_months(begin, step) - datetime.timedelta(days=1)))
    return result


# --- Pipeline forecast ---------------------------------------------------------------------


@dataclass
class Figures:
    won: Decimal = Decimal("0.00")
    commit: Decimal = Decimal("0.00")
    best_case: Decimal = Decimal("0.00")
    pipeline: Decimal = Decimal("0.00")
    weighted: Decimal = Decimal("0.00")
    open_count: int = 0
    won_count: int = 0

    @property
    def committed(self):
        return self.won + self.commit

    @property
    def best_case_total(self):
        return self.committed + self.best_case

    @property
    def open_pipeline(self):
        return self.commit + self.best_case + self.pipeline

    def add(self, other):
        for name in ("won", "commit", "best_case", "pipeline", "weighted", "open_count",
                     "won_count"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self):
        return {"closed_won": self.won, "commit": self.commit, "committed": self.committed,
                "best_case": self.best_case, "best_case_total": self.best_case_total,
                "pipeline": self.pipeline, "open_pipeline": self.open_pipeline,
                "weighted": self.weighted, "open_count": self.open_count,
                "won_count": self.won_count}


@dataclass
class Row:
    key: object                 # period start, user id, team id or product id (None: none)
    label: str
    cells: list                 # Figures per period
    total: Figures


@dataclass
class PipelineForecast:
    kind: str
    by: str
    currency: str
    periods: list
    rows: list
    totals: list                # Figures per period
    grand_total: Figures
    other_currencies: list = field(default_factory=list)   # [(currency, open deals)]


def _aggregates(prefix, amount):
    """Conditional sums over opportunities (prefix "" ) or their lines ("opportunity__")."""
    status, category = f"{prefix}status", f"{prefix}forecast_category"
    probability = Coalesce(f"{prefix}probability", f"{prefix}stage__probability")
    open_q = Q(**{status: OpportunityStatus.OPEN}) & Q(**{f"{category}__in": (
        ForecastCategory.COMMIT, ForecastCategory.BEST_CASE, ForecastCategory.PIPELINE)})
    counted = f"{prefix}id" if prefix else "id"
    return {
        "won": Sum(amount, filter=Q(**{status: OpportunityStatus.WON})),
        "commit": Sum(amount, filter=Q(**{status: OpportunityStatus.OPEN,
                                          category: ForecastCategory.COMMIT})),
        "best_case": Sum(amount, filter=Q(**{status: OpportunityStatus.OPEN,
                                             category: ForecastCategory.BEST_CASE})),
        "pipeline": Sum(amount, filter=Q(**{status: OpportunityStatus.OPEN,
                                            category: ForecastCategory.PIPELINE})),
        "weighted_x100": Sum(ExpressionWrapper(F(amount) * probability, output_field=WEIGHTED),
                             filter=open_q),
        "open_count": Count(counted, filter=open_q, distinct=bool(prefix)),
        "won_count": Count(counted, filter=Q(**{status: OpportunityStatus.WON}),
                           distinct=bool(prefix)),
    }


def _decimal(value):
    # SQLite may hand back floats for sums of decimal expressions.
    return Decimal(str(value)) if value is not None else Decimal("0")


def _figures(row):
    def money(name):
        return _decimal(row[name]).quantize(CENT)

    return Figures(won=money("won"), commit=money("commit"), best_case=money("best_case"),
                   pipeline=money("pipeline"),
                   weighted=(_decimal(row["weighted_x100"]) / 100).quantize(CENT),
                   open_count=row["open_count"] or 0, won_count=row["won_count"] or 0)


def pipeline_forecast(*, organization, kind=QUARTER, start=None, count=4, by="period",
                      currency=None, owner_id=None, team_id=None):
    """The forecast table: one row per owner/team/product (or one row per period when
    `by="period"`), one cell per period, totals per period. Raises ValueError on a bad
    kind/grouping/count (callers check their input first)."""
    if kind not in PERIOD_KINDS or by not in GROUPINGS or not 1 <= count <= MAX_PERIODS:
        raise ValueError("bad forecast parameters")
    currency = currency or organization.currency
    start = start or timezone.localdate()
    spans = periods(kind, start, count)
    trunc = TruncQuarter if kind == QUARTER else TruncMonth
    filters = {"status__in": (OpportunityStatus.OPEN, OpportunityStatus.WON)}
    if owner_id:
        filters["owner_id"] = owner_id
    if team_id:
        filters["team_id"] = team_id
    if by == "product":
        prefix = "opportunity__"
        base = OpportunityLine.objects.filter(
            opportunity__organization=organization, opportunity__currency=currency,
            opportunity__close_date__gte=spans[0].start,
            opportunity__close_date__lte=spans[-1].end,
            **{prefix + key: value for key, value in filters.items()})
        dimension, amount = "product_id", "amount"
    else:
        prefix = ""
        base = Opportunity.objects.filter(organization=organization, currency=currency,
                                          close_date__gte=spans[0].start,
                                          close_date__lte=spans[-1].end, **filters)
        dimension = {"period": None, "owner": "owner_id", "team": "team_id"}[by]
        amount = "amount"
    group = ["bucket"] + ([dimension] if dimension else [])
    rows = (base.order_by().annotate(bucket=trunc(f"{prefix}close_date"))
            .values(*group).annotate(**_aggregates(prefix, amount)))
    index = {span.start: position for position, span in enumerate(spans)}
    cells = {}
    for row in rows:
        bucket = row["bucket"]
        bucket = bucket.date() if isinstance(bucket, datetime.datetime) else bucket
        key = row[dimension] if dimension else None
        per_period = cells.setdefault(key, [Figures() for _ in spans])
        per_period[index[bucket]].add(_figures(row))
    totals = [Figures() for _ in spans]
    for per_period in cells.values():
        for position, figures in enumerate(per_period):
            totals[position].add(figures)
    grand = Figures()
    for figures in totals:
        grand.add(figures)
    if by == "period":
        table = [Row(key=span.start, label=span.label, cells=[], total=totals[i])
                 for i, span in enumerate(spans)]
    else:
        labels = _labels(by, organization, [key for key in cells if key is not None])
        table = []
        for key, per_period in cells.items():
            total = Figures()
            for figures in per_period:
                total.add(figures)
            table.append(Row(key=key, label=labels.get(key) or _none_label(by),
                             cells=per_period, total=total))
        table.sort(key=lambda row: (-row.total.open_pipeline - row.total.won, row.label))
    return PipelineForecast(kind=kind, by=by, currency=currency, periods=spans, rows=table,
                            totals=totals, grand_total=grand)


def _none_label(by):
    return {"owner": _("No owner"), "team": _("No team"),
            "product": _("No product (free-text lines)")}.get(by, "")


def _labels(by, organization, keys):
    if not keys:
        return {}
    if by == "owner":
        return {user.pk: (user.get_full_name() or user.get_username())
                for user in User.objects.filter(pk__in=keys)}
    if by == "team":
        return dict(SalesTeam.objects.filter(organization=organization, pk__in=keys)
                    .values_list("pk", "name"))
    return {pk: f"{product.sku} · {product.name}" for pk, product in
            history_selectors.supplier_products(supplier=organization,
                                                product_ids=keys).items()}


# --- Targets and attainment ----------------------------------------------------------------


@dataclass
class Attainment:
    target: SalesTarget
    won: Decimal
    committed: Decimal
    best_case_total: Decimal

    @property
    def percent(self):
        if not self.target.amount:
            return None
        return (self.won / self.target.amount * 100).quantize(Decimal("0.1"))

    @property
    def committed_percent(self):
        if not self.target.amount:
            return None
        return (self.committed / self.target.amount * 100).quantize(Decimal("0.1"))

    @property
    def gap(self):
        return max(self.target.amount - self.won, Decimal("0.00"))


def targets_for(*, organization, user_id=None, team_id=None, overlapping=None):
    """The organization's targets (newest period first); `overlapping` = (start, end)."""
    queryset = (SalesTarget.objects.filter(organization=organization)
                .select_related("user", "team"))
    if user_id:
        queryset = queryset.filter(user_id=user_id)
    if team_id:
        queryset = queryset.filter(team_id=team_id)
    if overlapping:
        queryset = queryset.filter(period_start__lte=overlapping[1],
                                   period_end__gte=overlapping[0])
    return queryset.order_by("-period_start", "user_id", "team_id", "id")


ATTAINMENT_CHUNK = 40


def attainment(*, organization, targets):
    """Won (and committed, best case) per target: deals closing within the target's period,
    of its seller or team (or everyone's for an organization target), in its currency. One
    query per 40 targets (conditional sums)."""
    targets = list(targets)
    results = []
    for offset in range(0, len(targets), ATTAINMENT_CHUNK):
        chunk = targets[offset:offset + ATTAINMENT_CHUNK]
        sums = {}
        for target in chunk:
            subject = Q(close_date__gte=target.period_start, close_date__lte=target.period_end,
                        currency=target.currency)
            if target.user_id:
                subject &= Q(owner_id=target.user_id)
            elif target.team_id:
                subject &= Q(team_id=target.team_id)
            sums[f"won_{target.pk}"] = Sum("amount", filter=subject & Q(
                status=OpportunityStatus.WON))
            sums[f"commit_{target.pk}"] = Sum("amount", filter=subject & Q(
                status=OpportunityStatus.OPEN, forecast_category=ForecastCategory.COMMIT))
            sums[f"best_{target.pk}"] = Sum("amount", filter=subject & Q(
                status=OpportunityStatus.OPEN, forecast_category=ForecastCategory.BEST_CASE))
        first = min(t.period_start for t in chunk)
        last = max(t.period_end for t in chunk)
        row = (Opportunity.objects.filter(organization=organization,
                                          status__in=(OpportunityStatus.OPEN,
                                                      OpportunityStatus.WON),
                                          close_date__gte=first, close_date__lte=last)
               .aggregate(**sums))
        for target in chunk:
            won = _decimal(row[f"won_{target.pk}"]).quantize(CENT)
            committed = won + _decimal(row[f"commit_{target.pk}"]).quantize(CENT)
            best = committed + _decimal(row[f"best_{target.pk}"]).quantize(CENT)
            results.append(Attainment(target=target, won=won, committed=committed,
                                      best_case_total=best))
    return results


# --- Statistical forecasts from hub order history ------------------------------------------

HISTORY_MONTHS = 48
MIN_HISTORY_MONTHS = 6
BACKTEST_HORIZON = 3
BACKTEST_ORIGINS = 6
SEASON = 12
MIN_BACKTEST_MONTHS = SEASON + BACKTEST_HORIZON
CACHE_SECONDS = 6 * 3600


@dataclass
class StatisticalForecast:
    months: list                # history months (first day)
    actuals: list               # floats
    future: list                # forecast months
    mean: list = field(default_factory=list)
    lower: list = field(default_factory=list)
    upper: list = field(default_factory=list)
    level: float = 0.8
    method: str = ""
    accuracy: forecasting.Accuracy | None = None
    message: str = ""           # why there is no forecast / no backtest

    @property
    def has_forecast(self):
        return bool(self.mean)

    @property
    def verdict(self):
        return verdict(self.accuracy)

    @property
    def total_mean(self):
        return sum(self.mean)


def verdict(accuracy):
    """A plain-language statement of the backtest."""
    if accuracy is None or accuracy.mase is None:
        return ""
    if accuracy.mase < 1:
        return _("The forecast beats the seasonal-naive forecast (same month last year) by "
                 "%(percent)s%%: its average error is %(mae)s against %(naive)s.") % {
            "percent": f"{(1 - accuracy.mase) * 100:.0f}", "mae": f"{accuracy.mae:,.0f}",
            "naive": f"{accuracy.naive_mae:,.0f}"}
    return _("The forecast does not beat the seasonal-naive forecast (same month last "
             "year): its average error is %(percent)s%% larger (%(mae)s against %(naive)s). "
             "Plan with last year's figures and read the model's numbers with care.") % {
        "percent": f"{(accuracy.mase - 1) * 100:.0f}", "mae": f"{accuracy.mae:,.0f}",
        "naive": f"{accuracy.naive_mae:,.0f}"}


def _history_window(today):
    end = (today or timezone.localdate()).replace(day=1)     # complete months only
    return _add_months(end, -HISTORY_MONTHS), end


def _series(start, end, values_by_month):
    """Dense monthly series from the first month with a value up to `end` (exclusive)."""
    months, month = [], start
    while month < end:
        months.append(month)
        month = _add_months(month, 1)
    values = [float(values_by_month.get(m, 0)) for m in months]
    first = next((i for i, v in enumerate(values) if v), len(values))
    return months[first:], values[first:]


def statistical_forecast(months, values, *, horizon, level=0.8, end=None):
    """Forecast + backtest of a monthly series (cached by content)."""
    end = end or (_add_months(months[-1], 1) if months else None)
    future = [_add_months(end, i) for i in range(horizon)] if end else []
    result = StatisticalForecast(months=months, actuals=values, future=future, level=level)
    if len(values) < MIN_HISTORY_MONTHS:
        result.message = _("Not enough history for a forecast: it needs at least %(n)d "
                           "months of orders, there are %(have)d.") % {
            "n": MIN_HISTORY_MONTHS, "have": len(values)}
        return result
    key = "sales-forecast:" + hashlib.sha256(json.dumps(
        [values, horizon, level, forecasting.MIN_POINTS_FOR_MODEL]).encode()).hexdigest()
    cached = cache.get(key)
    if cached is None:
        fitted = forecasting.forecast(values, horizon=horizon, season_length=SEASON,
                                      level=level)
        accuracy = None
        if len(values) >= MIN_BACKTEST_MONTHS:
            accuracy = forecasting.backtest(values, horizon=BACKTEST_HORIZON,
                                            season_length=SEASON, origins=BACKTEST_ORIGINS)
        cached = (fitted, accuracy)
        cache.set(key, cached, CACHE_SECONDS)
    fitted, accuracy = cached
    result.mean, result.lower, result.upper = fitted.mean, fitted.lower, fitted.upper
    result.method, result.accuracy = fitted.method, accuracy
    if accuracy is None:
        result.message = _("Accuracy is measured once there are %(n)d months of history "
                           "(a year to learn the season and three months to test on).") % {
            "n": MIN_BACKTEST_MONTHS}
    return result


def revenue_forecast(*, organization, horizon=6, level=0.8, today=None):
    """Monthly net revenue (hub orders received, organization currency) and its forecast."""
    start, end = _history_window(today)
    by_month = history_selectors.monthly_revenue(supplier=organization, start=start, end=end,
                                                 currency=organization.currency)
    months, values = _series(start, end, {m: net for m, (net, _n) in by_month.items()})
    return statistical_forecast(months, values, horizon=horizon, level=level, end=end)


@dataclass
class ProductDemand:
    product: object
    units_last_year: int
    forecast: StatisticalForecast


def demand_overview(*, organization, horizon=3, limit=20, level=0.8, today=None):
    """The `limit` products with most units ordered in the last 12 complete months, each with
    its monthly units and forecast. Three queries whatever the order volume."""
    start, end = _history_window(today)
    top = history_selectors.top_products_by_units(supplier=organization,
                                                  start=_add_months(end, -12), end=end,
                                                  limit=limit)
    ids = [product_id for product_id, _units, _net in top]
    products = history_selectors.supplier_products(supplier=organization, product_ids=ids)
    units = history_selectors.monthly_units(supplier=organization, start=start, end=end,
                                            product_ids=ids)
    result = []
    for product_id, total, _net in top:
        months, values = _series(start, end, units.get(product_id, {}))
        result.append(ProductDemand(
            product=products.get(product_id), units_last_year=total,
            forecast=statistical_forecast(months, values, horizon=horizon, level=level,
                                          end=end)))
    return result


def product_demand(*, organization, product, horizon=6, level=0.8, today=None):
    start, end = _history_window(today)
    units = history_selectors.monthly_units(supplier=organization, start=start, end=end,
                                            product_ids=[product.pk]).get(product.pk, {})
    months, values = _series(start, end, units)
    return statistical_forecast(months, values, horizon=horizon, level=level, end=end)
