"""Customer portfolio over the API (`brm.view` to read, `brm.edit` to write).

Another organization's account, contact, objective or stakeholder — in the path or the body —
is 404 like a missing one; a stale `version` is 409; anything else that cannot be done is 422
naming the field, and changes nothing.
"""

import datetime
from decimal import Decimal

from django.contrib.auth import get_user_model
from ninja import Field, Query, Router, Schema, Status

from jalin.brm import customer_selectors as selectors
from jalin.brm import customers
from jalin.brm.models import (
    BusinessObjective,
    Health,
    ObjectiveStatus,
    Stakeholder,
    StakeholderRole,
)
from jalin.crm.models import AccountStatus, AccountTier, Contact
from jalin.tenancy.access import get_for_org_or_404
from jalin.tenancy.roles import BRM_EDIT, BRM_VIEW

from ..auth import require
from ..errors import ProblemError
from ..idempotency import idempotent
from ..schemas import MAX_INT, Input

router = Router(tags=["brm customers"])


def _not_found(field):
    return ProblemError(404, code="not_found", detail="Not found.", errors=[{
        "field": field, "loc": ["body", field], "message": "Not found.", "code": "not_found"}])


def _as_api_error(error):
    if error.code == "not_found":
        raise _not_found(error.field or "") from error
    raise error


class ProfileOut(Schema):
    health: str | None
    health_note: str
    relationship_manager_id: int | None
    review_every_days: int
    next_review_on: datetime.date | None
    business_summary: str
    activity_patterns: str
    predicted_value_override: Decimal | None
    version: int | None


class PortfolioRowOut(Schema):
    account_id: int
    name: str
    tier: str
    status: str
    health: str | None
    relationship_manager_id: int | None
    next_review_on: datetime.date | None
    revenue_12_months: Decimal | None = Field(description="Net invoiced, in the "
                                                          "organization's currency; null when "
                                                          "not linked to a hub buyer")


class PortfolioPageOut(Schema):
    items: list[PortfolioRowOut]
    next_cursor: str | None


class PortfolioFilters(Schema):
    tier: AccountTier | None = None
    health: str | None = Field(None, pattern="^(good|at_risk|critical|not_assessed)$")
    status: AccountStatus | None = None
    manager_id: int | None = Field(None, ge=1, le=MAX_INT)
    q: str = Field("", max_length=100)
    sort: str = Field("name", pattern="^(name|tier|health|next_review)$")
    cursor: str | None = Field(None, max_length=512)
    limit: int = Field(50, ge=1, le=200)


class SignalsOut(Schema):
    open_complaints: int
    sla_breaches_90d: int
    latest_scores: dict[str, int]


class PredictionOut(Schema):
    value: Decimal | None
    computed: Decimal | None
    override: Decimal | None
    trailing_12_months: Decimal
    last_6_months: Decimal
    previous_6_months: Decimal
    trend_factor: Decimal
    formula: str


class CustomerOut(Schema):
    account_id: int
    name: str
    tier: str
    hub_buyer_id: int | None
    profile: ProfileOut
    signals: SignalsOut
    prediction: PredictionOut


class RevenueMonthOut(Schema):
    month: datetime.date
    invoiced: Decimal
    credited: Decimal
    net: Decimal
    orders: int


class RevenueOut(Schema):
    linked: bool
    currency: str
    months: list[RevenueMonthOut]
    total: Decimal


class ProfilePatch(Input):
    version: int | None = Field(None, ge=1, le=MAX_INT,
                                description="The profile's version (omit on first save)")
    relationship_manager_id: int | None = Field(None, ge=1, le=MAX_INT)
    review_every_days: int | None = Field(None, ge=7, le=3650)
    next_review_on: datetime.date | None = None
    business_summary: str | None = Field(None, max_length=20_000)
    activity_patterns: str | None = Field(None, max_length=20_000)
    health: Health | None = None
    health_note: str | None = Field(None, max_length=300)
    predicted_value: Decimal | None = Field(None, ge=0, description="Override; null clears")


class ObjectiveIn(Input):
    title: str = Field(min_length=1, max_length=200)
    desired_outcome: str = Field("", max_length=20_000)
    measure: str = Field("", max_length=200)
    status: ObjectiveStatus = ObjectiveStatus.PROPOSED
    agreed_on: datetime.date | None = None
    agreed_by_contact_id: int | None = Field(None, ge=1, le=MAX_INT)
    target_date: datetime.date | None = None


class ObjectivePatch(Input):
    version: int = Field(ge=1, le=MAX_INT)
    title: str | None = Field(None, min_length=1, max_length=200)
    desired_outcome: str | None = Field(None, max_length=20_000)
    measure: str | None = Field(None, max_length=200)
    status: ObjectiveStatus | None = None
    agreed_on: datetime.date | None = None
    agreed_by_contact_id: int | None = Field(None, ge=1, le=MAX_INT)
    target_date: datetime.date | None = None


class ObjectiveOut(Schema):
    id: int
    account_id: int
    title: str
    desired_outcome: str
    measure: str
    status: ObjectiveStatus
    agreed_on: datetime.date | None
    agreed_by_contact_id: int | None
    target_date: datetime.date | None
    version: int

    @staticmethod
    def resolve_agreed_by_contact_id(obj):
        return obj.agreed_by_id


class StakeholderIn(Input):
    contact_id: int = Field(ge=1, le=MAX_INT)
    role: StakeholderRole
    influence: int = Field(3, ge=1, le=5)
    portal_user_id: int | None = Field(None, ge=1, le=MAX_INT)
    notes: str = Field("", max_length=5000)


class StakeholderOut(Schema):
    id: int
    account_id: int
    contact_id: int
    role: StakeholderRole
    influence: int
    portal_user_id: int | None
    notes: str


def _account(membership, account_id):
    return selectors.customer_account(organization=membership.organization, pk=account_id)


def _contact(membership, account, contact_id, field):
    if contact_id is None:
        return None
    contact = Contact.objects.filter(organization=membership.organization,
                                     pk=contact_id).first()
    if contact is None:
        raise _not_found(field)
    return contact


def _profile_out(profile):
    return {
        "health": profile.health if profile.pk else None, "health_note": profile.health_note,
        "relationship_manager_id": profile.relationship_manager_id,
        "review_every_days": profile.review_every_days,
        "next_review_on": profile.next_review_on,
        "business_summary": profile.business_summary,
        "activity_patterns": profile.activity_patterns,
        "predicted_value_override": profile.predicted_value,
        "version": profile.version if profile.pk else None,
    }


def _customer_out(membership, account):
    profile = customers.profile_for(account)
    revenue = selectors.revenue_by_month(organization=membership.organization,
                                         account=account, months=12)
    prediction = selectors.predicted_value(revenue, override=profile.predicted_value)
    signals = selectors.signals_for(organization=membership.organization, account=account)
    return {
        "account_id": account.pk, "name": account.name, "tier": account.tier,
        "hub_buyer_id": account.hub_organization_id, "profile": _profile_out(profile),
        "signals": {"open_complaints": signals.open_complaints,
                    "sla_breaches_90d": signals.sla_breaches_90d,
                    "latest_scores": {kind: response.score
                                      for kind, response in signals.latest.items()}},
        "prediction": {
            "value": prediction.value, "computed": prediction.computed,
            "override": prediction.override, "trailing_12_months": prediction.trailing_12,
            "last_6_months": prediction.last_6, "previous_6_months": prediction.previous_6,
            "trend_factor": prediction.trend,
            "formula": "trailing 12 months net revenue × clamp(last 6 months ÷ previous 6 "
                       "months, 0.5, 1.5); factor 1 when the previous 6 months are zero",
        },
    }


@router.get("/brm/customers", response=PortfolioPageOut)
def portfolio(request, filters: Query[PortfolioFilters]):
    """The customer portfolio: filter, sort (ascending, keyset `cursor`)."""
    membership = require(request, BRM_VIEW)
    queryset = selectors.portfolio_queryset(
        organization=membership.organization, tier=filters.tier, health=filters.health,
        status=filters.status, manager_id=filters.manager_id, search=filters.q)
    page = selectors.portfolio_page(queryset, sort=filters.sort, cursor=filters.cursor,
                                    limit=filters.limit)
    selectors.attach_portfolio_details(membership.organization, page.items)
    return {"next_cursor": page.next_cursor, "items": [{
        "account_id": a.pk, "name": a.name, "tier": a.tier, "status": a.status,
        "health": a.profile.health if a.profile else None,
        "relationship_manager_id": a.profile.relationship_manager_id if a.profile else None,
        "next_review_on": a.profile.next_review_on if a.profile else None,
        "revenue_12_months": a.revenue_12m} for a in page.items]}


@router.get("/brm/customers/{account_id}", response=CustomerOut)
def customer_detail(request, account_id: int):
    membership = require(request, BRM_VIEW)
    return _customer_out(membership, _account(membership, account_id))


@router.get("/brm/customers/{account_id}/revenue", response=RevenueOut)
def customer_revenue(request, account_id: int, months: int = Query(24, ge=1, le=60)):
    """Net revenue per month from hub invoices (credit notes deducted) and orders placed."""
    membership = require(request, BRM_VIEW)
    revenue = selectors.revenue_by_month(organization=membership.organization,
                                         account=_account(membership, account_id),
                                         months=months)
    return {"linked": revenue.linked, "currency": revenue.currency, "total": revenue.total,
            "months": [{"month": m[0], "invoiced": m[1], "credited": m[2], "net": m[3],
                        "orders": m[4]} for m in revenue.months]}


@router.patch("/brm/customers/{account_id}/profile", response=CustomerOut)
@idempotent
def profile_update(request, account_id: int, payload: ProfilePatch):
    membership = require(request, BRM_EDIT)
    account = _account(membership, account_id)
    data = payload.dict(exclude_unset=True)
    version = data.pop("version", None)
    if "relationship_manager_id" in data:
        user_id = data.pop("relationship_manager_id")
        data["relationship_manager"] = None
        if user_id is not None:
            data["relationship_manager"] = get_user_model().objects.filter(pk=user_id).first()
            if data["relationship_manager"] is None:
                raise _not_found("relationship_manager_id")
    for key in ("review_every_days", "health", "business_summary", "activity_patterns",
                "health_note"):
        if key in data and data[key] is None:
            data.pop(key)
    try:
        customers.profile_update(account=account, actor=request.user, version=version, **data)
    except customers.BrmError as error:
        _as_api_error(error)
    return _customer_out(membership, account)


@router.get("/brm/customers/{account_id}/objectives", response=list[ObjectiveOut])
def objective_list(request, account_id: int):
    membership = require(request, BRM_VIEW)
    account = _account(membership, account_id)
    return list(BusinessObjective.objects.filter(organization=membership.organization,
                                                 account=account))


@router.post("/brm/customers/{account_id}/objectives", response={201: ObjectiveOut})
@idempotent
def objective_create(request, account_id: int, payload: ObjectiveIn):
    """An "agreed" or "achieved" objective needs `agreed_on` and `agreed_by_contact_id` (a
    contact of this customer)."""
    membership = require(request, BRM_EDIT)
    account = _account(membership, account_id)
    data = payload.dict()
    data["agreed_by"] = _contact(membership, account, data.pop("agreed_by_contact_id"),
                                 "agreed_by_contact_id")
    data["status"] = data["status"].value
    try:
        objective = customers.objective_create(account=account, actor=request.user, **data)
    except customers.BrmError as error:
        _as_api_error(error)
    return Status(201, objective)


@router.patch("/brm/objectives/{objective_id}", response=ObjectiveOut)
@idempotent
def objective_update(request, objective_id: int, payload: ObjectivePatch):
    membership = require(request, BRM_EDIT)
    objective = get_for_org_or_404(BusinessObjective.objects.select_related("account"),
                                   membership.organization, pk=objective_id)
    data = payload.dict(exclude_unset=True)
    version = data.pop("version")
    if "agreed_by_contact_id" in data:
        data["agreed_by"] = _contact(membership, objective.account,
                                     data.pop("agreed_by_contact_id"), "agreed_by_contact_id")
    if data.get("status") is not None:
        data["status"] = data["status"].value
    elif "status" in data:
        data.pop("status")
    try:
        return customers.objective_update(objective=objective, actor=request.user,
                                          version=version, **data)
    except customers.BrmError as error:
        _as_api_error(error)


@router.get("/brm/customers/{account_id}/stakeholders", response=list[StakeholderOut])
def stakeholder_list(request, account_id: int):
    membership = require(request, BRM_VIEW)
    account = _account(membership, account_id)
    return list(Stakeholder.objects.filter(organization=membership.organization,
                                           account=account).order_by("role", "id"))


@router.post("/brm/customers/{account_id}/stakeholders", response={201: StakeholderOut})
@idempotent
def stakeholder_create(request, account_id: int, payload: StakeholderIn):
    membership = require(request, BRM_EDIT)
    account = _account(membership, account_id)
    contact = _contact(membership, account, payload.contact_id, "contact_id")
    portal_user = None
    if payload.portal_user_id is not None:
        portal_user = get_user_model().objects.filter(pk=payload.portal_user_id).first()
        if portal_user is None:
            raise _not_found("portal_user_id")
    try:
        stakeholder = customers.stakeholder_create(
            account=account, actor=request.user, contact=contact, role=payload.role.value,
            influence=payload.influence, portal_user=portal_user, notes=payload.notes)
    except customers.BrmError as error:
        _as_api_error(error)
    return Status(201, stakeholder)


@router.delete("/brm/stakeholders/{stakeholder_id}", response={204: None})
@idempotent
def stakeholder_delete(request, stakeholder_id: int):
    membership = require(request, BRM_EDIT)
    stakeholder = get_for_org_or_404(Stakeholder, membership.organization, pk=stakeholder_id)
    customers.stakeholder_remove(stakeholder=stakeholder, actor=request.user)
    return Status(204, None)
