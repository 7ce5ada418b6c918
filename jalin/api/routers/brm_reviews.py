"""BRM API: customer service reviews (staff, and the buyer's held reviews), the BRM metrics
and referrals.

Bodies forbid unknown fields. Another organization's review or account — in the path or in
the body — is 404, like a missing one; a stale `version` is 409; anything else that cannot be
done is 422 naming the field, and changes nothing. The metrics endpoint answers the same JSON
the dashboard draws (with each metric's definition).
"""

import datetime
from typing import Any, Literal

from ninja import Field, Query, Router, Schema, Status

from jalin.brm import metrics, referrals, review_selectors, reviews
from jalin.brm.models import ReviewStatus
from jalin.brm.periods import last_periods, parse_period
from jalin.brm.review_report import report_of
from jalin.tenancy.roles import BRM_EDIT, BRM_VIEW, SERVICE_VIEW

from ..auth import require
from ..errors import ProblemError
from ..idempotency import idempotent
from ..pagination import Page, PageParams, paginate
from ..schemas import MAX_INT, Input

router = Router(tags=["brm reviews and metrics"])


class ReviewOut(Schema):
    id: int
    account_id: int
    account_name: str
    buyer_id: int | None
    scheduled_for: datetime.date
    period_start: datetime.date
    period_end: datetime.date
    status: ReviewStatus
    held_at: datetime.datetime | None
    version: int

    @staticmethod
    def resolve_account_name(obj):
        return obj.account.name


class ReviewDetailOut(ReviewOut):
    minutes: str
    report: dict[str, Any] = Field(description="Frozen once held; computed now while scheduled")

    @staticmethod
    def resolve_report(obj):
        return report_of(obj)


class PortalReviewOut(ReviewDetailOut):
    supplier_name: str

    @staticmethod
    def resolve_supplier_name(obj):
        return obj.organization.name


class ReviewIn(Input):
    account_id: int = Field(ge=1, le=MAX_INT)
    scheduled_for: datetime.date
    period_start: datetime.date | None = None
    period_end: datetime.date | None = None


class ReviewHoldIn(Input):
    version: int = Field(ge=1, le=MAX_INT)
    minutes: str = Field("", max_length=reviews.MAX_MINUTES)


class ReviewCancelIn(Input):
    version: int = Field(ge=1, le=MAX_INT)
    reason: str = Field("", max_length=500)


class ReviewFilters(PageParams):
    status: ReviewStatus | None = None
    account_id: int | None = Field(None, ge=1, le=MAX_INT)


class MetricsQuery(Schema):
    period: Literal["month", "quarter"] = "month"
    on: str = Field("", max_length=10, description="2026-11, 2026-Q4 or a date; default: now")
    account_id: int | None = Field(None, ge=1, le=MAX_INT)
    trend: int = Field(6, ge=1, le=24, description="How many periods of trend, ending here")


class ReferralIn(Input):
    referrer_id: int = Field(ge=1, le=MAX_INT)
    referred_account_id: int | None = Field(None, ge=1, le=MAX_INT)
    referred_name: str = Field("", max_length=200)
    referred_on: datetime.date | None = None
    note: str = Field("", max_length=referrals.MAX_NOTE)


class ReferralOut(Schema):
    id: int
    referrer_id: int
    referred_account_id: int | None
    referred_name: str
    referred_on: datetime.date
    note: str
    created_at: datetime.datetime


class ReferralFilters(PageParams):
    referrer_id: int | None = Field(None, ge=1, le=MAX_INT)


def _not_found_account(error):
    if error.code == "not_found":
        raise ProblemError(404, code="not_found", detail=error.message, errors=[{
            "field": error.field, "loc": ["body", error.field], "message": error.message,
            "code": "not_found"}]) from error
    raise error


# --- Reviews (staff) -----------------------------------------------------------------------


@router.get("/brm/reviews", response=Page[ReviewOut])
def review_list(request, filters: Query[ReviewFilters]):
    """Service reviews of your customers, newest first."""
    membership = require(request, BRM_VIEW)
    queryset = review_selectors.reviews_for(organization=membership.organization,
                                            status=filters.status,
                                            account_id=filters.account_id)
    return paginate(queryset, cursor=filters.cursor, limit=filters.limit, order=("-id",))


@router.post("/brm/reviews", response={201: ReviewDetailOut})
@idempotent
def review_create(request, payload: ReviewIn):
    """Schedule a review (brm.edit). Without a period it covers the days since the customer's
    last review up to the day before this one."""
    membership = require(request, BRM_EDIT)
    try:
        account = reviews.account_for(organization=membership.organization,
                                      account_id=payload.account_id)
        review = reviews.review_create(
            organization=membership.organization, account=account, actor=request.user,
            scheduled_for=payload.scheduled_for, period_start=payload.period_start,
            period_end=payload.period_end)
    except reviews.ReviewError as error:
        _not_found_account(error)
    return Status(201, review_selectors.review_detail(organization=membership.organization,
                                                      pk=review.pk))


@router.get("/brm/reviews/{review_id}", response=ReviewDetailOut)
def review_detail(request, review_id: int):
    membership = require(request, BRM_VIEW)
    return review_selectors.review_detail(organization=membership.organization, pk=review_id)


@router.post("/brm/reviews/{review_id}/hold", response=ReviewDetailOut)
@idempotent
def review_hold(request, review_id: int, payload: ReviewHoldIn):
    """The review took place: its report is frozen as of now, with the minutes."""
    membership = require(request, BRM_EDIT)
    review = review_selectors.review_detail(organization=membership.organization, pk=review_id)
    reviews.review_hold(review=review, actor=request.user, version=payload.version,
                        minutes=payload.minutes)
    return review_selectors.review_detail(organization=membership.organization, pk=review_id)


@router.post("/brm/reviews/{review_id}/cancel", response=ReviewDetailOut)
@idempotent
def review_cancel(request, review_id: int, payload: ReviewCancelIn):
    membership = require(request, BRM_EDIT)
    review = review_selectors.review_detail(organization=membership.organization, pk=review_id)
    reviews.review_cancel(review=review, actor=request.user, version=payload.version,
                          reason=payload.reason)
    return review_selectors.review_detail(organization=membership.organization, pk=review_id)


# --- Reviews (portal) ----------------------------------------------------------------------


@router.get("/brm/portal/reviews", response=Page[PortalReviewOut])
def portal_review_list(request, filters: Query[PageParams]):
    """Held service reviews of your organization with its suppliers (buyers)."""
    membership = require(request, SERVICE_VIEW)
    queryset = review_selectors.buyer_reviews_for(buyer=membership.organization)
    return paginate(queryset, cursor=filters.cursor, limit=filters.limit, order=("-id",))


@router.get("/brm/portal/reviews/{review_id}", response=PortalReviewOut)
def portal_review_detail(request, review_id: int):
    membership = require(request, SERVICE_VIEW)
    return review_selectors.buyer_review_detail(buyer=membership.organization, pk=review_id)


# --- Metrics and referrals -----------------------------------------------------------------


@router.get("/brm/metrics", response=dict[str, Any])
def brm_metrics(request, query: Query[MetricsQuery]):
    """The BRM metrics of a month or quarter, overall and per customer, with definitions and
    a trend of the last `trend` periods."""
    membership = require(request, BRM_VIEW)
    organization = membership.organization
    try:
        period = parse_period(query.period, query.on, organization=organization)
    except (ValueError, TypeError, IndexError) as exc:
        raise ProblemError(422, code="invalid", detail="on: use 2026-11, 2026-Q4 or a date.",
                           errors=[{"field": "on", "loc": ["query", "on"],
                                    "message": "Use 2026-11, 2026-Q4 or a date.",
                                    "code": "invalid"}]) from exc
    data = metrics.brm_metrics(organization=organization, period=period,
                               account_id=query.account_id)
    data["trend"] = metrics.trend(organization=organization,
                                  periods=last_periods(period, query.trend),
                                  account_id=query.account_id)
    return data


@router.get("/brm/referrals", response=Page[ReferralOut])
def referral_list(request, filters: Query[ReferralFilters]):
    membership = require(request, BRM_VIEW)
    queryset = referrals.referrals_for(organization=membership.organization,
                                       referrer_id=filters.referrer_id)
    return paginate(queryset, cursor=filters.cursor, limit=filters.limit, order=("-id",))


@router.post("/brm/referrals", response={201: ReferralOut})
@idempotent
def referral_create(request, payload: ReferralIn):
    """Record that a customer referred another company to you (brm.edit)."""
    membership = require(request, BRM_EDIT)
    try:
        referral = referrals.referral_create(
            organization=membership.organization, actor=request.user,
            referrer_id=payload.referrer_id, referred_account_id=payload.referred_account_id,
            referred_name=payload.referred_name, referred_on=payload.referred_on,
            note=payload.note)
    except referrals.ReferralError as error:
        _not_found_account(error)
    return Status(201, referral)
