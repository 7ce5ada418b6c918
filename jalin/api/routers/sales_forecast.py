"""The forecast API: the pipeline forecast (per period, owner, team or product), sales targets
with attainment (CRUD), and the statistical revenue and demand forecasts from hub order
history with their backtest.

Reads need `sales.view`, target writes `sales.edit`. Another organization's target, seller,
team or product is 404 like a missing one; a stale `version` is 409; a second target for the
same seller/team and period is 409; other bad input is 422 naming the field.
"""

import datetime
from decimal import Decimal

from ninja import Field, Query, Router, Schema, Status

from jalin.hub import history_selectors
from jalin.sales import forecast_selectors as fs
from jalin.sales import targets as target_services
from jalin.sales.leads import SalesError
from jalin.sales.models import SalesTarget
from jalin.tenancy.access import get_for_org_or_404
from jalin.tenancy.roles import SALES_EDIT, SALES_VIEW

from ..auth import require
from ..errors import ProblemError
from ..idempotency import idempotent
from ..schemas import MAX_INT, Input

router = Router(tags=["sales forecast"])

ID = Field(None, ge=1, le=MAX_INT)


class FiguresOut(Schema):
    closed_won: Decimal
    commit: Decimal
    committed: Decimal
    best_case: Decimal
    best_case_total: Decimal
    pipeline: Decimal
    open_pipeline: Decimal
    weighted: Decimal
    open_count: int
    won_count: int


class PeriodOut(Schema):
    start: datetime.date
    end: datetime.date
    label: str


class RowOut(Schema):
    key: str | None = Field(description="Period start, user id, team id or product id; "
                                        "null for deals without owner/team/product")
    label: str
    total: FiguresOut
    cells: list[FiguresOut] = Field(description="Per period (empty when grouped by period)")


class PipelineForecastOut(Schema):
    period: str
    by: str
    currency: str
    periods: list[PeriodOut]
    rows: list[RowOut]
    totals: list[FiguresOut]
    grand_total: FiguresOut


class ForecastFilters(Schema):
    period: str = Field("quarter", description="month or quarter")
    by: str = Field("period", description="period, owner, team or product")
    start: datetime.date | None = Field(None, description="A day in the first period "
                                                          "(default today)")
    count: int = Field(4, ge=1, le=fs.MAX_PERIODS)
    owner_id: int | None = ID
    team_id: int | None = ID
    currency: str | None = Field(None, min_length=3, max_length=3)


class TargetOut(Schema):
    id: int
    user_id: int | None
    team_id: int | None
    period_start: datetime.date
    period_end: datetime.date
    amount: Decimal
    currency: str
    version: int
    won: Decimal
    committed: Decimal
    best_case_total: Decimal
    attainment_percent: Decimal | None
    committed_percent: Decimal | None


class TargetFilters(Schema):
    user_id: int | None = ID
    team_id: int | None = ID
    period_from: datetime.date | None = Field(None, alias="from")
    period_to: datetime.date | None = Field(None, alias="to")


class TargetIn(Input):
    user_id: int | None = ID
    team_id: int | None = ID
    period_start: datetime.date
    period_end: datetime.date
    amount: Decimal = Field(ge=0, max_digits=18, decimal_places=2)
    currency: str | None = Field(None, min_length=3, max_length=3)


class TargetUpdateIn(Input):
    version: int = Field(ge=1, le=MAX_INT)
    user_id: int | None = ID
    team_id: int | None = ID
    period_start: datetime.date | None = None
    period_end: datetime.date | None = None
    amount: Decimal | None = Field(None, ge=0, max_digits=18, decimal_places=2)
    currency: str | None = Field(None, min_length=3, max_length=3)


class AccuracyOut(Schema):
    origins: int
    horizon: int
    mae: float | None
    mape: float | None
    naive_mae: float | None
    naive_mape: float | None
    mase: float | None
    beats_naive: bool
    verdict: str


class PointOut(Schema):
    month: datetime.date
    value: float


class ForecastPointOut(Schema):
    month: datetime.date
    mean: float
    lower: float
    upper: float


class StatisticalOut(Schema):
    method: str
    level: float
    history: list[PointOut]
    forecast: list[ForecastPointOut]
    accuracy: AccuracyOut | None
    message: str


class RevenueOut(StatisticalOut):
    currency: str


class ProductDemandOut(StatisticalOut):
    product_id: int
    sku: str
    name: str
    unit: str
    units_last_12_months: int


class HorizonParams(Schema):
    horizon: int = Field(6, ge=1, le=24)


class DemandParams(Schema):
    horizon: int = Field(3, ge=1, le=24)
    limit: int = Field(20, ge=1, le=50)


# --- Helpers -------------------------------------------------------------------------------


def _invalid(field, message):
    return ProblemError(422, code="validation_error", detail=message, errors=[{
        "field": field, "loc": ["query", field], "message": message, "code": "invalid"}])


def _call(func):
    try:
        return func()
    except SalesError as error:
        if error.code == "not_found":
            raise ProblemError(404, code="not_found", detail="Not found.", errors=[{
                "field": error.field or "id", "loc": ["body", error.field or "id"],
                "message": "Not found.", "code": "not_found"}]) from error
        if error.code == "duplicate":
            raise ProblemError(409, code=error.code, detail=error.message) from error
        raise


def _figures(figures):
    return figures.as_dict()


def _target_out(item):
    target = item.target
    return {"id": target.pk, "user_id": target.user_id, "team_id": target.team_id,
            "period_start": target.period_start, "period_end": target.period_end,
            "amount": target.amount, "currency": target.currency, "version": target.version,
            "won": item.won, "committed": item.committed,
            "best_case_total": item.best_case_total, "attainment_percent": item.percent,
            "committed_percent": item.committed_percent}


def _one(organization, target):
    return _target_out(fs.attainment(organization=organization, targets=[target])[0])


def _statistical(result):
    accuracy = None
    if result.accuracy is not None:
        accuracy = {**{name: getattr(result.accuracy, name) for name in (
            "origins", "horizon", "mae", "mape", "naive_mae", "naive_mape", "mase")},
            "beats_naive": result.accuracy.beats_naive, "verdict": result.verdict}
    return {
        "method": result.method or "none", "level": result.level,
        "history": [{"month": m, "value": v} for m, v in zip(result.months, result.actuals,
                                                              strict=True)],
        "forecast": [{"month": m, "mean": a, "lower": b, "upper": c} for m, a, b, c in zip(
            result.future, result.mean, result.lower, result.upper, strict=False)],
        "accuracy": accuracy, "message": result.message,
    }


# --- Pipeline forecast ---------------------------------------------------------------------


@router.get("/sales/forecast/pipeline", response=PipelineForecastOut)
def pipeline_forecast(request, filters: Query[ForecastFilters]):
    """Committed (closed won + commit), best case, open pipeline and weighted amounts of the
    deals closing in each period, optionally per owner, team or product."""
    membership = require(request, SALES_VIEW)
    if filters.period not in fs.PERIOD_KINDS:
        raise _invalid("period", "Use month or quarter.")
    if filters.by not in fs.GROUPINGS:
        raise _invalid("by", "Use period, owner, team or product.")
    result = fs.pipeline_forecast(
        organization=membership.organization, kind=filters.period, by=filters.by,
        start=filters.start, count=filters.count, owner_id=filters.owner_id,
        team_id=filters.team_id,
        currency=filters.currency.upper() if filters.currency else None)
    return {
        "period": result.kind, "by": result.by, "currency": result.currency,
        "periods": [{"start": p.start, "end": p.end, "label": p.label}
                    for p in result.periods],
        "rows": [{"key": None if row.key is None else str(row.key), "label": row.label,
                  "total": _figures(row.total), "cells": [_figures(c) for c in row.cells]}
                 for row in result.rows],
        "totals": [_figures(f) for f in result.totals],
        "grand_total": _figures(result.grand_total),
    }


# --- Targets -------------------------------------------------------------------------------


@router.get("/sales/targets", response=list[TargetOut])
def target_list(request, filters: Query[TargetFilters]):
    """Targets (newest period first, at most 500) with attainment: won in the period ÷
    target."""
    membership = require(request, SALES_VIEW)
    overlapping = None
    if filters.period_from or filters.period_to:
        overlapping = (filters.period_from or datetime.date.min,
                       filters.period_to or datetime.date.max)
    targets = fs.targets_for(organization=membership.organization, user_id=filters.user_id,
                             team_id=filters.team_id, overlapping=overlapping)[:500]
    return [_target_out(item) for item in fs.attainment(organization=membership.organization,
                                                        targets=targets)]


@router.post("/sales/targets", response={201: TargetOut})
@idempotent
def target_create(request, payload: TargetIn):
    """A target for a seller (`user_id`), a team (`team_id`) or — with neither — the whole
    organization."""
    membership = require(request, SALES_EDIT)
    data = payload.dict()
    target = _call(lambda: target_services.target_create(
        organization=membership.organization, actor=request.user, user=data["user_id"],
        team=data["team_id"], period_start=data["period_start"],
        period_end=data["period_end"], amount=data["amount"], currency=data["currency"]))
    return Status(201, _one(membership.organization, target))


@router.get("/sales/targets/{target_id}", response=TargetOut)
def target_get(request, target_id: int):
    membership = require(request, SALES_VIEW)
    target = get_for_org_or_404(SalesTarget, membership.organization, pk=target_id)
    return _one(membership.organization, target)


@router.patch("/sales/targets/{target_id}", response=TargetOut)
def target_update(request, target_id: int, payload: TargetUpdateIn):
    """Change a target; `version` must match (409 otherwise)."""
    membership = require(request, SALES_EDIT)
    target = get_for_org_or_404(SalesTarget, membership.organization, pk=target_id)
    changes = payload.dict(exclude_unset=True)
    version = changes.pop("version")
    renamed = {"user_id": "user", "team_id": "team"}
    changes = {renamed.get(key, key): value for key, value in changes.items()}
    target = _call(lambda: target_services.target_update(target=target, actor=request.user,
                                                         version=version, **changes))
    return _one(membership.organization, target)


@router.delete("/sales/targets/{target_id}", response={204: None})
def target_delete(request, target_id: int, version: int | None = None):
    membership = require(request, SALES_EDIT)
    target = get_for_org_or_404(SalesTarget, membership.organization, pk=target_id)
    target_services.target_delete(target=target, actor=request.user, version=version)
    return Status(204, None)


# --- Statistical forecasts -----------------------------------------------------------------


@router.get("/sales/forecast/revenue", response=RevenueOut)
def revenue_forecast(request, params: Query[HorizonParams]):
    """Monthly net revenue from hub orders (organization currency, complete months) with the
    forecast for the next `horizon` months, its 80% prediction interval and the backtest
    against the seasonal-naive forecast. Too little history: `message` says why, no
    forecast."""
    membership = require(request, SALES_VIEW)
    organization = membership.organization
    result = fs.revenue_forecast(organization=organization, horizon=params.horizon)
    return {**_statistical(result), "currency": organization.currency}


def _demand_out(product, units_last_year, result):
    return {**_statistical(result), "product_id": product.pk, "sku": product.sku,
            "name": product.name, "unit": product.unit,
            "units_last_12_months": units_last_year}


@router.get("/sales/forecast/demand", response=list[ProductDemandOut])
def demand_forecast(request, params: Query[DemandParams]):
    """The `limit` products with most units ordered in the last 12 months, each with units
    per month and the forecast."""
    membership = require(request, SALES_VIEW)
    overview = fs.demand_overview(organization=membership.organization,
                                  horizon=params.horizon, limit=params.limit)
    return [_demand_out(item.product, item.units_last_year, item.forecast)
            for item in overview if item.product is not None]


@router.get("/sales/forecast/demand/{product_id}", response=ProductDemandOut)
def product_demand(request, product_id: int, params: Query[HorizonParams]):
    membership = require(request, SALES_VIEW)
    organization = membership.organization
    product = history_selectors.supplier_products(
        supplier=organization, product_ids=[product_id] if product_id <= MAX_INT else []
    ).get(product_id)
    if product is None:
        raise ProblemError(404, code="not_found", detail="Not found.")
    result = fs.product_demand(organization=organization, product=product,
                               horizon=params.horizon)
    units = sum(result.actuals[-12:]) if result.actuals else 0
    return _demand_out(product, int(units), result)
