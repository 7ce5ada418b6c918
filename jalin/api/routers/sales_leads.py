"""The leads API: leads (create with `Idempotency-Key`, list with filters, read, update with
`version`, assign, convert, disqualify), scoring rules, assignment rules, territories and web
forms.

Reads need `sales.view`, writes `sales.edit`. Another organization's lead, account, user or
rule — in the path or the body — is 404 like a missing one; a stale `version` is 409;
converting a converted lead is 409; anything else that cannot be done is 422 naming the field,
and changes nothing.
"""

import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db.models import Q
from ninja import Field, Query, Router, Schema, Status

from jalin.core.params import int_param
from jalin.crm.models import Account, Contact
from jalin.sales import leads, webforms
from jalin.sales.models import (
    AssignmentMethod,
    AssignmentRule,
    Lead,
    LeadSource,
    LeadStatus,
    LeadWebForm,
    Pipeline,
    ScoringRule,
    Territory,
)
from jalin.tenancy.access import for_org, get_for_org_or_404
from jalin.tenancy.roles import SALES_EDIT, SALES_VIEW

from ..auth import require
from ..errors import ProblemError
from ..idempotency import idempotent
from ..pagination import Page, PageParams, paginate
from ..schemas import MAX_INT, Input

router = Router(tags=["sales leads"])

ID = Field(None, ge=1, le=MAX_INT)
SORTS = {"newest": ("-id",), "oldest": ("id",), "score": ("-score", "-id")}


class ScoreItem(Schema):
    rule: int | None
    label: str
    points: int


class LeadOut(Schema):
    id: int
    first_name: str
    last_name: str
    company: str
    job_title: str
    email: str
    phone: str
    website: str
    industry: str
    company_size: str
    country: str
    region: str
    city: str
    message: str
    source: LeadSource
    status: LeadStatus
    disqualified_reason: str
    email_opt_in: bool
    utm: dict
    score: int
    score_explanation: list[ScoreItem]
    owner_id: int | None
    territory_id: int | None
    web_form_id: int | None
    campaign_id: int | None
    converted_at: datetime.datetime | None
    converted_account_id: int | None
    converted_contact_id: int | None
    converted_opportunity_id: int | None
    created_at: datetime.datetime
    updated_at: datetime.datetime
    version: int


class LeadIn(Input):
    first_name: str = Field("", max_length=100)
    last_name: str = Field("", max_length=100)
    company: str = Field("", max_length=200)
    job_title: str = Field("", max_length=150)
    email: str = Field("", max_length=254)
    phone: str = Field("", max_length=40)
    website: str = Field("", max_length=300)
    industry: str = Field("", max_length=100)
    company_size: str = Field("", max_length=20)
    country: str = Field("", max_length=2)
    region: str = Field("", max_length=100)
    city: str = Field("", max_length=100)
    message: str = Field("", max_length=leads.MAX_MESSAGE)
    email_opt_in: bool = False
    utm: dict[str, str] = Field(default_factory=dict)
    owner_id: int | None = ID


class LeadUpdateIn(Input):
    version: int = Field(ge=1, le=MAX_INT)
    first_name: str | None = Field(None, max_length=100)
    last_name: str | None = Field(None, max_length=100)
    company: str | None = Field(None, max_length=200)
    job_title: str | None = Field(None, max_length=150)
    email: str | None = Field(None, max_length=254)
    phone: str | None = Field(None, max_length=40)
    website: str | None = Field(None, max_length=300)
    industry: str | None = Field(None, max_length=100)
    company_size: str | None = Field(None, max_length=20)
    country: str | None = Field(None, max_length=2)
    region: str | None = Field(None, max_length=100)
    city: str | None = Field(None, max_length=100)
    message: str | None = Field(None, max_length=leads.MAX_MESSAGE)
    email_opt_in: bool | None = None
    status: LeadStatus | None = None


class AssignIn(Input):
    owner_id: int | None = Field(None, ge=1, le=MAX_INT,
                                 description="A member; omit to run the assignment rules")
    version: int | None = Field(None, ge=1, le=MAX_INT)


class ConvertIn(Input):
    account_id: int | None = Field(None, ge=1, le=MAX_INT,
                                   description="Link this account; omit to create one")
    contact_id: int | None = ID
    create_opportunity: bool = True
    opportunity_name: str = Field("", max_length=200)
    amount: Decimal | None = Field(None, ge=0, max_digits=18, decimal_places=2)
    currency: str | None = Field(None, min_length=3, max_length=3)
    close_date: datetime.date | None = None
    pipeline_id: int | None = ID
    version: int | None = Field(None, ge=1, le=MAX_INT)


class DisqualifyIn(Input):
    reason: str = Field(min_length=1, max_length=200)
    version: int | None = Field(None, ge=1, le=MAX_INT)


class LeadFilters(PageParams):
    status: str | None = Field(None, description="A status, 'open' or 'all' (default all)")
    source: LeadSource | None = None
    owner: str | None = Field(None, max_length=20,
                              description="'mine', 'none' or a user id")
    min_score: int | None = Field(None, ge=-10000, le=10000)
    q: str | None = Field(None, max_length=100)
    sort: str = Field("newest", description="newest, oldest or score")


class ScoringRuleOut(Schema):
    id: int
    label: str
    field: str
    operator: str
    value: str
    points: int
    is_active: bool


class ScoringRuleIn(Input):
    label: str = Field(min_length=1, max_length=120)
    field: str = Field(max_length=60)
    operator: str = Field(max_length=30)
    value: str = Field("", max_length=200)
    points: int = Field(ge=-100, le=100)
    is_active: bool = True


class AssignmentRuleOut(Schema):
    id: int
    name: str
    method: AssignmentMethod
    position: int
    user_ids: list[int]
    last_assigned_id: int | None
    is_active: bool

    @staticmethod
    def resolve_user_ids(obj):
        return sorted(user.pk for user in obj.users.all())


class AssignmentRuleIn(Input):
    name: str = Field(min_length=1, max_length=100)
    method: AssignmentMethod
    position: int = Field(0, ge=0, le=32000)
    user_ids: list[int] = Field(default_factory=list, max_length=100)
    is_active: bool = True


class TerritoryOut(Schema):
    id: int
    name: str
    criteria: dict
    position: int
    member_ids: list[int]

    @staticmethod
    def resolve_member_ids(obj):
        return sorted(user.pk for user in obj.members.all())


class TerritoryIn(Input):
    name: str = Field(min_length=1, max_length=100)
    criteria: dict[str, list[str]]
    position: int = Field(0, ge=0, le=32000)
    member_ids: list[int] = Field(default_factory=list, max_length=100)


class WebFormOut(Schema):
    id: int
    name: str
    key: str
    fields: list[str]
    thank_you: str
    allowed_origins: list[str]
    default_owner_id: int | None
    campaign_id: int | None
    is_active: bool


class WebFormIn(Input):
    name: str = Field(min_length=1, max_length=100)
    fields: list[str] = Field(default_factory=lambda: list(webforms.DEFAULT_FIELDS),
                              max_length=20)
    thank_you: str = Field("", max_length=300)
    allowed_origins: list[str] = Field(default_factory=list, max_length=webforms.MAX_ORIGINS)
    default_owner_id: int | None = ID
    campaign_id: int | None = ID
    is_active: bool = True


# --- Helpers -------------------------------------------------------------------------------


def _not_found(field):
    return ProblemError(404, code="not_found", detail="Not found.", errors=[{
        "field": field, "loc": ["body", field], "message": "Not found.", "code": "not_found"}])


def _call(func):
    """Run a service; 'not found' references become 404, converting twice 409."""
    try:
        return func()
    except leads.SalesError as error:
        if error.code == "not_found":
            raise _not_found(error.field or "id") from error
        if error.code == "already_converted":
            raise ProblemError(409, code=error.code, detail=error.message) from error
        raise


def _lead(membership, lead_id):
    return get_for_org_or_404(Lead, membership.organization, pk=lead_id)


def _row(queryset, pk, field):
    if pk is None:
        return None
    row = queryset.filter(pk=pk).first()
    if row is None:
        raise _not_found(field)
    return row


# --- Leads ---------------------------------------------------------------------------------


@router.get("/sales/leads", response=Page[LeadOut])
def lead_list(request, filters: Query[LeadFilters]):
    """Leads, newest first (or `sort=score`), keyset-paginated."""
    membership = require(request, SALES_VIEW)
    queryset = for_org(Lead, membership.organization)
    if filters.status == "open":
        queryset = queryset.filter(status__in=(LeadStatus.NEW, LeadStatus.WORKING,
                                               LeadStatus.QUALIFIED))
    elif filters.status in LeadStatus.values:
        queryset = queryset.filter(status=filters.status)
    elif filters.status not in (None, "", "all"):
        raise ProblemError(422, code="validation_error", detail="Unknown status.", errors=[{
            "field": "status", "loc": ["query", "status"], "message": "Unknown status.",
            "code": "invalid"}])
    if filters.source:
        queryset = queryset.filter(source=filters.source)
    if filters.owner == "mine":
        queryset = queryset.filter(owner=request.user)
    elif filters.owner == "none":
        queryset = queryset.filter(owner__isnull=True)
    elif filters.owner:
        queryset = queryset.filter(owner_id=int_param(filters.owner, positive=True) or -1)
    if filters.min_score is not None:
        queryset = queryset.filter(score__gte=filters.min_score)
    if filters.q:
        queryset = queryset.filter(Q(email__icontains=filters.q)
                                   | Q(company__icontains=filters.q)
                                   | Q(last_name__icontains=filters.q))
    if filters.sort not in SORTS:
        raise ProblemError(422, code="validation_error", detail="Unknown sort.", errors=[{
            "field": "sort", "loc": ["query", "sort"], "message": "Unknown sort.",
            "code": "invalid"}])
    return paginate(queryset, cursor=filters.cursor, limit=filters.limit,
                    order=SORTS[filters.sort])


@router.post("/sales/leads", response={201: LeadOut})
@idempotent
def lead_create(request, payload: LeadIn):
    """Create a lead (source "api"); it is scored and, without `owner_id`, assigned by the
    rules. Send an `Idempotency-Key` to retry safely."""
    membership = require(request, SALES_EDIT)
    data = payload.dict()
    owner_id = data.pop("owner_id")
    lead = _call(lambda: leads.lead_create(
        organization=membership.organization, actor=request.user, source=LeadSource.API,
        owner=owner_id, **data))
    return Status(201, lead)


@router.get("/sales/leads/{lead_id}", response=LeadOut)
def lead_get(request, lead_id: int):
    membership = require(request, SALES_VIEW)
    return _lead(membership, lead_id)


@router.patch("/sales/leads/{lead_id}", response=LeadOut)
def lead_update(request, lead_id: int, payload: LeadUpdateIn):
    """Change fields (the lead is rescored); `version` must match (409 otherwise)."""
    membership = require(request, SALES_EDIT)
    lead = _lead(membership, lead_id)
    changes = payload.dict(exclude_unset=True)
    version = changes.pop("version")
    status = changes.pop("status", None)
    changes = {key: value for key, value in changes.items() if value is not None}
    return _call(lambda: leads.lead_update(lead=lead, actor=request.user, version=version,
                                           status=status, **changes))


@router.post("/sales/leads/{lead_id}/assign", response=LeadOut)
def lead_assign(request, lead_id: int, payload: AssignIn):
    membership = require(request, SALES_EDIT)
    lead = _lead(membership, lead_id)
    return _call(lambda: leads.lead_assign(lead=lead, actor=request.user,
                                           owner=payload.owner_id, version=payload.version))


@router.post("/sales/leads/{lead_id}/convert", response=LeadOut)
def lead_convert(request, lead_id: int, payload: ConvertIn):
    """Convert into an account + contact + opportunity (default pipeline, first open stage).
    A converted lead is 409."""
    membership = require(request, SALES_EDIT)
    organization = membership.organization
    lead = _lead(membership, lead_id)
    account = _row(for_org(Account, organization).filter(archived_at__isnull=True),
                   payload.account_id, "account_id")
    contact = _row(for_org(Contact, organization), payload.contact_id, "contact_id")
    pipeline = _row(for_org(Pipeline, organization), payload.pipeline_id, "pipeline_id")
    return _call(lambda: leads.lead_convert(
        lead=lead, actor=request.user, account=account, contact=contact, pipeline=pipeline,
        create_opportunity=payload.create_opportunity,
        opportunity_name=payload.opportunity_name, amount=payload.amount,
        currency=payload.currency.upper() if payload.currency else None,
        close_date=payload.close_date, version=payload.version))


@router.post("/sales/leads/{lead_id}/disqualify", response=LeadOut)
def lead_disqualify(request, lead_id: int, payload: DisqualifyIn):
    membership = require(request, SALES_EDIT)
    lead = _lead(membership, lead_id)
    return _call(lambda: leads.lead_disqualify(lead=lead, actor=request.user,
                                               reason=payload.reason, version=payload.version))


# --- Scoring rules -------------------------------------------------------------------------


@router.get("/sales/scoring-rules", response=list[ScoringRuleOut])
def scoring_rule_list(request):
    membership = require(request, SALES_VIEW)
    return list(for_org(ScoringRule, membership.organization)[:500])


@router.post("/sales/scoring-rules", response={201: ScoringRuleOut})
@idempotent
def scoring_rule_create(request, payload: ScoringRuleIn):
    """Add a rule; open leads are rescored."""
    membership = require(request, SALES_EDIT)
    rule = leads.scoring_rule_save(organization=membership.organization, actor=request.user,
                                   **payload.dict())
    return Status(201, rule)


@router.patch("/sales/scoring-rules/{rule_id}", response=ScoringRuleOut)
def scoring_rule_update(request, rule_id: int, payload: ScoringRuleIn):
    membership = require(request, SALES_EDIT)
    rule = get_for_org_or_404(ScoringRule, membership.organization, pk=rule_id)
    return leads.scoring_rule_save(organization=membership.organization, actor=request.user,
                                   rule=rule, **payload.dict())


@router.delete("/sales/scoring-rules/{rule_id}", response={204: None})
def scoring_rule_delete(request, rule_id: int):
    membership = require(request, SALES_EDIT)
    rule = get_for_org_or_404(ScoringRule, membership.organization, pk=rule_id)
    leads.scoring_rule_delete(rule=rule, actor=request.user)
    return Status(204, None)


# --- Assignment rules and territories ------------------------------------------------------


@router.get("/sales/assignment-rules", response=list[AssignmentRuleOut])
def assignment_rule_list(request):
    membership = require(request, SALES_VIEW)
    return list(for_org(AssignmentRule, membership.organization).prefetch_related("users"))


@router.post("/sales/assignment-rules", response={201: AssignmentRuleOut})
@idempotent
def assignment_rule_create(request, payload: AssignmentRuleIn):
    membership = require(request, SALES_EDIT)
    rule = _call(lambda: leads.assignment_rule_save(
        organization=membership.organization, actor=request.user, **payload.dict()))
    return Status(201, rule)


@router.patch("/sales/assignment-rules/{rule_id}", response=AssignmentRuleOut)
def assignment_rule_update(request, rule_id: int, payload: AssignmentRuleIn):
    membership = require(request, SALES_EDIT)
    rule = get_for_org_or_404(AssignmentRule, membership.organization, pk=rule_id)
    return _call(lambda: leads.assignment_rule_save(
        organization=membership.organization, actor=request.user, rule=rule,
        **payload.dict()))


@router.delete("/sales/assignment-rules/{rule_id}", response={204: None})
def assignment_rule_delete(request, rule_id: int):
    membership = require(request, SALES_EDIT)
    get_for_org_or_404(AssignmentRule, membership.organization, pk=rule_id).delete()
    return Status(204, None)


@router.get("/sales/territories", response=list[TerritoryOut])
def territory_list(request):
    membership = require(request, SALES_VIEW)
    return list(for_org(Territory, membership.organization).prefetch_related("members"))


@router.post("/sales/territories", response={201: TerritoryOut})
@idempotent
def territory_create(request, payload: TerritoryIn):
    membership = require(request, SALES_EDIT)
    territory = _call(lambda: leads.territory_save(
        organization=membership.organization, actor=request.user, **payload.dict()))
    return Status(201, territory)


@router.patch("/sales/territories/{territory_id}", response=TerritoryOut)
def territory_update(request, territory_id: int, payload: TerritoryIn):
    membership = require(request, SALES_EDIT)
    territory = get_for_org_or_404(Territory, membership.organization, pk=territory_id)
    return _call(lambda: leads.territory_save(
        organization=membership.organization, actor=request.user, territory=territory,
        **payload.dict()))


# --- Web forms -----------------------------------------------------------------------------


@router.get("/sales/web-forms", response=list[WebFormOut])
def web_form_list(request):
    membership = require(request, SALES_VIEW)
    return list(for_org(LeadWebForm, membership.organization))


def _web_form_save(request, membership, payload, form=None):
    data = payload.dict()
    try:
        return _call(lambda: webforms.webform_save(
            organization=membership.organization, actor=request.user, form=form,
            name=data["name"], fields=data["fields"], thank_you=data["thank_you"],
            allowed_origins=data["allowed_origins"], default_owner=data["default_owner_id"],
            campaign=data["campaign_id"], is_active=data["is_active"]))
    except ValidationError as error:
        if "campaign_id" in getattr(error, "message_dict", {}):
            raise _not_found("campaign_id") from error
        raise


@router.post("/sales/web-forms", response={201: WebFormOut})
@idempotent
def web_form_create(request, payload: WebFormIn):
    membership = require(request, SALES_EDIT)
    return Status(201, _web_form_save(request, membership, payload))


@router.patch("/sales/web-forms/{form_id}", response=WebFormOut)
def web_form_update(request, form_id: int, payload: WebFormIn):
    membership = require(request, SALES_EDIT)
    form = get_for_org_or_404(LeadWebForm, membership.organization, pk=form_id)
    return _web_form_save(request, membership, payload, form)
