"""The BRM registers API: requirements and business cases (versions, lifecycle, the
customer's sign-off), changes affecting customers, the opportunity register and the CSI
register.

Staff endpoints need brm.view to read and brm.edit to write. The customer's portal
endpoints (`/brm/portal/requirements…`) need service.view and show only requirements that
name the caller's organization as buyer. Bodies forbid unknown fields; another
organization's record is 404; a stale `version` is 409; a move the lifecycle does not allow,
or other input that cannot be carried out, is 422 naming the field, and changes nothing.
"""

import datetime
from decimal import Decimal
from typing import Literal

from ninja import Field, Query, Router, Schema, Status

from jalin.brm import register_selectors as selectors
from jalin.brm import registers, requirements
from jalin.brm.models import (
    ChangeOrigin,
    ImpactLevel,
    ImprovementSource,
    ImprovementStatus,
    OpportunityKind,
    OpportunityStatus,
    RequirementKind,
    RequirementStatus,
)
from jalin.brm.register_base import RegisterError
from jalin.tenancy.roles import BRM_EDIT, BRM_VIEW, SERVICE_VIEW

from ..auth import require
from ..errors import ProblemError
from ..idempotency import idempotent
from ..pagination import Page, PageParams, paginate
from ..schemas import MAX_INT, Input

router = Router(tags=["brm registers"])

Money = Decimal
MAX_TEXT = 20_000


def _call(function, **kwargs):
    """Run a service; its forbidden/not_found errors become 403/404 problems."""
    try:
        return function(**kwargs)
    except RegisterError as error:
        if error.code == "forbidden":
            raise ProblemError(403, code="permission_denied", detail=error.message) from error
        if error.code == "not_found":
            # Another organization's record named in the path or the body: like a missing one.
            errors = None
            if error.field:
                errors = [{"field": error.field, "loc": ["body", error.field],
                           "message": error.message, "code": "not_found"}]
            raise ProblemError(404, code="not_found", detail=error.message,
                               errors=errors) from error
        raise


def _period(start, end):
    return selectors.Period(start=start, end=end) if (start or end) else None


class ActorOut(Schema):
    id: int
    username: str
    name: str

    @staticmethod
    def resolve_name(obj):
        return obj.get_full_name() or obj.get_username()


# --- Requirements --------------------------------------------------------------------------


class RequirementContentIn(Input):
    description: str | None = Field(None, max_length=MAX_TEXT)
    costs: Money | None = Field(None, ge=0, max_digits=18, decimal_places=2)
    benefits: Money | None = Field(None, ge=0, max_digits=18, decimal_places=2)
    cost_notes: str | None = Field(None, max_length=MAX_TEXT)
    benefit_notes: str | None = Field(None, max_length=MAX_TEXT)
    risks: str | None = Field(None, max_length=MAX_TEXT)


class RequirementIn(RequirementContentIn):
    account_id: int = Field(ge=1, le=MAX_INT)
    title: str = Field(min_length=1, max_length=200)
    kind: RequirementKind = RequirementKind.NEW_SERVICE
    service_id: int | None = Field(None, ge=1, le=MAX_INT)
    owner_id: int | None = Field(None, ge=1, le=MAX_INT)
    description: str = Field(min_length=1, max_length=MAX_TEXT)


class RequirementPatchIn(RequirementContentIn):
    version: int = Field(ge=1, le=MAX_INT, description="The requirement's version you read")
    title: str | None = Field(None, min_length=1, max_length=200)
    kind: RequirementKind | None = None
    service_id: int | None = Field(None, ge=1, le=MAX_INT)
    owner_id: int | None = Field(None, ge=1, le=MAX_INT)


class TransitionIn(Input):
    action: str = Field(min_length=1, max_length=32)
    version: int = Field(ge=1, le=MAX_INT)
    comment: str = Field("", max_length=2000)


class SignOffIn(Input):
    decision: Literal["approved", "rejected"]
    version_number: int = Field(ge=1, le=MAX_INT,
                                description="The requirement version you read and decide on")
    comment: str = Field("", max_length=5000, description="Required to reject")


class VersionOut(Schema):
    number: int
    description: str
    costs: Decimal
    benefits: Decimal
    cost_notes: str
    benefit_notes: str
    risks: str
    net_benefit: Decimal
    roi_percent: Decimal | None
    created_at: datetime.datetime

    @staticmethod
    def resolve_net_benefit(obj):
        return requirements.net_benefit(obj)

    @staticmethod
    def resolve_roi_percent(obj):
        return requirements.roi_percent(obj)


class SignOffOut(Schema):
    id: int
    version_number: int
    user_id: int | None
    signer_name: str
    party: str
    decision: str
    comment: str
    decided_at: datetime.datetime

    @staticmethod
    def resolve_version_number(obj):
        return obj.requirement_version.number


class StatusChangeOut(Schema):
    from_status: str
    to_status: str
    changed_by_id: int | None
    comment: str
    changed_at: datetime.datetime


class RequirementOut(Schema):
    id: int
    number: int
    reference: str
    account_id: int
    buyer_id: int | None
    kind: RequirementKind
    service_id: int | None
    title: str
    status: RequirementStatus
    current_version: int
    owner_id: int | None
    created_at: datetime.datetime
    updated_at: datetime.datetime
    version: int

    @staticmethod
    def resolve_reference(obj):
        return f"REQ-{obj.number}"


class RequirementDetailOut(RequirementOut):
    current: VersionOut
    versions: list[VersionOut]
    sign_offs: list[SignOffOut]
    status_changes: list[StatusChangeOut]
    awaiting_sign_off: bool
    actions: list[str] = Field(description="Lifecycle actions possible now (…/transitions)")

    @staticmethod
    def resolve_current(obj):
        return next(v for v in obj.versions.all() if v.number == obj.current_version)

    @staticmethod
    def resolve_versions(obj):
        return sorted(obj.versions.all(), key=lambda version: version.number)

    @staticmethod
    def resolve_sign_offs(obj):
        return list(obj.sign_offs.all())

    @staticmethod
    def resolve_status_changes(obj):
        return list(obj.status_changes.all())

    @staticmethod
    def resolve_awaiting_sign_off(obj):
        return requirements.is_awaiting_sign_off(obj)

    @staticmethod
    def resolve_actions(obj):
        return requirements.actions_for(obj)


class PortalRequirementOut(Schema):
    id: int
    reference: str
    supplier_id: int
    title: str
    kind: RequirementKind
    status: RequirementStatus
    current_version: int
    current: VersionOut
    sign_offs: list[SignOffOut]
    awaiting_sign_off: bool
    may_sign: bool

    @staticmethod
    def resolve_reference(obj):
        return f"REQ-{obj.number}"

    @staticmethod
    def resolve_supplier_id(obj):
        return obj.organization_id

    @staticmethod
    def resolve_current(obj):
        return next(v for v in obj.versions.all() if v.number == obj.current_version)

    @staticmethod
    def resolve_sign_offs(obj):
        return [s for s in obj.sign_offs.all() if s.party == requirements.CUSTOMER]

    @staticmethod
    def resolve_awaiting_sign_off(obj):
        return requirements.is_awaiting_sign_off(obj)

    @staticmethod
    def resolve_may_sign(obj):
        return getattr(obj, "may_sign", False)


class RequirementFilters(PageParams):
    status: RequirementStatus | None = None
    account_id: int | None = Field(None, ge=1, le=MAX_INT)
    kind: RequirementKind | None = None
    awaiting_sign_off: bool | None = None


def _requirement(membership, pk):
    return selectors.requirement_detail(organization=membership.organization, pk=pk)


@router.get("/brm/requirements", response=Page[RequirementOut])
def requirement_list(request, filters: Query[RequirementFilters]):
    """Requirements and business cases, newest (highest REQ number) first."""
    membership = require(request, BRM_VIEW)
    queryset = selectors.requirements_for(
        organization=membership.organization, status=filters.status,
        account_id=filters.account_id, kind=filters.kind, awaiting=filters.awaiting_sign_off)
    return paginate(queryset, cursor=filters.cursor, limit=filters.limit,
                    order=("-number", "-id"))


@router.post("/brm/requirements", response={201: RequirementDetailOut})
@idempotent
def requirement_create(request, payload: RequirementIn):
    """A new requirement (draft) with its business case as version 1."""
    membership = require(request, BRM_EDIT)
    data = payload.model_dump(exclude_none=True)
    content = {name: data.pop(name) for name in requirements.CONTENT_FIELDS if name in data}
    requirement = _call(
        requirements.requirement_create, organization=membership.organization,
        actor=request.user, account=data["account_id"], title=data["title"],
        kind=data["kind"], service=data.get("service_id"), owner=data.get("owner_id"),
        **content)
    return Status(201, _requirement(membership, requirement.pk))


@router.get("/brm/requirements/{requirement_id}", response=RequirementDetailOut)
def requirement_get(request, requirement_id: int):
    membership = require(request, BRM_VIEW)
    return _requirement(membership, requirement_id)


@router.patch("/brm/requirements/{requirement_id}", response=RequirementDetailOut)
@idempotent
def requirement_patch(request, requirement_id: int, payload: RequirementPatchIn):
    """Change title/kind/service/owner and/or the content; changed content makes a new
    version (an approved requirement then needs a new sign-off). Send `version`; 409 when
    stale."""
    membership = require(request, BRM_EDIT)
    requirement = _requirement(membership, requirement_id)
    changes = payload.model_dump(exclude_unset=True)
    version = changes.pop("version")
    for key in ("service_id", "owner_id"):
        if key in changes:
            changes[key.removesuffix("_id")] = changes.pop(key)
    _call(requirements.requirement_update, requirement=requirement, actor=request.user,
          version=version, **changes)
    return _requirement(membership, requirement_id)


@router.get("/brm/requirements/{requirement_id}/versions/{number}", response=VersionOut)
def requirement_version_get(request, requirement_id: int, number: int):
    """One (immutable) version of the requirement and its business case."""
    membership = require(request, BRM_VIEW)
    return selectors.requirement_version(_requirement(membership, requirement_id), number)


@router.post("/brm/requirements/{requirement_id}/transitions",
             response=RequirementDetailOut)
@idempotent
def requirement_transition(request, requirement_id: int, payload: TransitionIn):
    """submit / screen / qualify / rework / defer / resume / reject. Approval comes only
    from the customer's sign-off."""
    membership = require(request, BRM_EDIT)
    requirement = _requirement(membership, requirement_id)
    _call(requirements.requirement_transition, requirement=requirement,
          action=payload.action, actor=request.user, version=payload.version,
          comment=payload.comment)
    return _requirement(membership, requirement_id)


def _portal(membership, pk):
    requirement = selectors.portal_requirement(buyer=membership.organization, pk=pk)
    requirement.may_sign = requirements.may_sign(requirement, membership)
    return requirement


@router.get("/brm/portal/requirements", response=Page[PortalRequirementOut])
def portal_requirement_list(request, filters: Query[PageParams],
                            awaiting_sign_off: bool | None = None):
    """For the customer: requirements awaiting your sign-off and those you decided."""
    membership = require(request, SERVICE_VIEW)
    queryset = selectors.portal_requirements(buyer=membership.organization,
                                             awaiting=awaiting_sign_off).prefetch_related(
        "versions", "sign_offs__requirement_version")
    page = paginate(queryset, cursor=filters.cursor, limit=filters.limit, order=("-id",))
    for requirement in page.items:
        requirement.may_sign = requirements.may_sign(requirement, membership)
    return page


@router.get("/brm/portal/requirements/{requirement_id}", response=PortalRequirementOut)
def portal_requirement_get(request, requirement_id: int):
    membership = require(request, SERVICE_VIEW)
    return _portal(membership, requirement_id)


@router.post("/brm/portal/requirements/{requirement_id}/sign-offs",
             response={201: SignOffOut})
@idempotent
def portal_sign_off(request, requirement_id: int, payload: SignOffIn):
    """Sign off (approve) or reject the current version, as the customer's decision maker.
    403 for a user who may not sign; 409 when a newer version exists than `version_number`;
    422 when it is not awaiting a sign-off."""
    membership = require(request, SERVICE_VIEW)
    requirement = _portal(membership, requirement_id)
    sign_off = _call(requirements.requirement_sign_off, requirement=requirement,
                     membership=membership, decision=payload.decision,
                     version_number=payload.version_number, comment=payload.comment)
    return Status(201, sign_off)


# --- Changes affecting customers ---------------------------------------------------------


class ChangeIn(Input):
    account_id: int = Field(ge=1, le=MAX_INT)
    origin: ChangeOrigin
    title: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=MAX_TEXT)
    service_id: int | None = Field(None, ge=1, le=MAX_INT)
    impact: str = Field("", max_length=MAX_TEXT)
    impact_level: ImpactLevel = ImpactLevel.MEDIUM
    response: str = Field("", max_length=MAX_TEXT)
    identified_at: datetime.datetime | None = None


class ChangePatchIn(Input):
    version: int = Field(ge=1, le=MAX_INT)
    origin: ChangeOrigin | None = None
    title: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=MAX_TEXT)
    service_id: int | None = Field(None, ge=1, le=MAX_INT)
    impact: str | None = Field(None, max_length=MAX_TEXT)
    impact_level: ImpactLevel | None = None
    response: str | None = Field(None, max_length=MAX_TEXT)


class ChangeOut(Schema):
    id: int
    account_id: int
    origin: ChangeOrigin
    title: str
    description: str
    service_id: int | None
    impact: str
    impact_level: ImpactLevel
    identified_at: datetime.datetime
    response: str
    responded_at: datetime.datetime | None
    responded_by_id: int | None
    response_seconds: int | None
    version: int

    @staticmethod
    def resolve_response_seconds(obj):
        delta = registers.response_time(obj)
        return None if delta is None else int(delta.total_seconds())


class ChangeFilters(PageParams):
    account_id: int | None = Field(None, ge=1, le=MAX_INT)
    origin: ChangeOrigin | None = None
    impact_level: ImpactLevel | None = None
    responded: bool | None = None
    identified_from: datetime.date | None = None
    identified_to: datetime.date | None = None


def _fk_names(changes):
    for key in ("service_id", "owner_id", "account_id"):
        if key in changes:
            changes[key.removesuffix("_id")] = changes.pop(key)
    return changes


@router.get("/brm/changes", response=Page[ChangeOut])
def change_list(request, filters: Query[ChangeFilters]):
    """Changes affecting customers, newest identified first."""
    membership = require(request, BRM_VIEW)
    queryset = selectors.changes_for(
        organization=membership.organization, account_id=filters.account_id,
        origin=filters.origin, responded=filters.responded, impact_level=filters.impact_level,
        period=_period(filters.identified_from, filters.identified_to))
    return paginate(queryset, cursor=filters.cursor, limit=filters.limit,
                    order=("-identified_at", "-id"))


@router.post("/brm/changes", response={201: ChangeOut})
@idempotent
def change_create(request, payload: ChangeIn):
    """Log a change; a `response` given here counts as responded now."""
    membership = require(request, BRM_EDIT)
    data = _fk_names(payload.model_dump(exclude_none=True))
    change = _call(registers.change_create, organization=membership.organization,
                   actor=request.user, **data)
    return Status(201, change)


@router.get("/brm/changes/{change_id}", response=ChangeOut)
def change_get(request, change_id: int):
    membership = require(request, BRM_VIEW)
    return selectors.change_detail(organization=membership.organization, pk=change_id)


@router.patch("/brm/changes/{change_id}", response=ChangeOut)
@idempotent
def change_patch(request, change_id: int, payload: ChangePatchIn):
    """Edit a change or record our response (responded_at/by are set the first time)."""
    membership = require(request, BRM_EDIT)
    change = selectors.change_detail(organization=membership.organization, pk=change_id)
    data = _fk_names(payload.model_dump(exclude_unset=True))
    version = data.pop("version")
    return _call(registers.change_update, change=change, actor=request.user, version=version,
                 **data)


# --- Opportunities -------------------------------------------------------------------------


class OpportunityIn(Input):
    title: str = Field(min_length=1, max_length=200)
    kind: OpportunityKind = OpportunityKind.TECHNOLOGY
    description: str = Field("", max_length=MAX_TEXT)
    account_id: int | None = Field(None, ge=1, le=MAX_INT)
    service_id: int | None = Field(None, ge=1, le=MAX_INT)
    owner_id: int | None = Field(None, ge=1, le=MAX_INT)
    estimated_value: Decimal | None = Field(None, max_digits=18, decimal_places=2)


class OpportunityPatchIn(Input):
    version: int = Field(ge=1, le=MAX_INT)
    title: str | None = Field(None, min_length=1, max_length=200)
    kind: OpportunityKind | None = None
    description: str | None = Field(None, max_length=MAX_TEXT)
    account_id: int | None = Field(None, ge=1, le=MAX_INT)
    service_id: int | None = Field(None, ge=1, le=MAX_INT)
    owner_id: int | None = Field(None, ge=1, le=MAX_INT)
    estimated_value: Decimal | None = Field(None, max_digits=18, decimal_places=2)


class OpportunityTransitionIn(Input):
    action: Literal["assess", "record", "decline"]
    version: int = Field(ge=1, le=MAX_INT)
    assessment: str | None = Field(None, max_length=MAX_TEXT,
                                   description="assess: the assessment with the customer")
    service_id: int | None = Field(None, ge=1, le=MAX_INT,
                                   description="record: the service of the portfolio")


class OpportunityOut(Schema):
    id: int
    title: str
    kind: OpportunityKind
    description: str
    account_id: int | None
    service_id: int | None
    status: OpportunityStatus
    assessment: str
    estimated_value: Decimal | None
    identified_at: datetime.datetime
    assessed_at: datetime.datetime | None
    recorded_at: datetime.datetime | None
    owner_id: int | None
    version: int


class OpportunityFilters(PageParams):
    status: OpportunityStatus | None = None
    kind: OpportunityKind | None = None
    account_id: int | None = Field(None, ge=1, le=MAX_INT)
    service_id: int | None = Field(None, ge=1, le=MAX_INT)


@router.get("/brm/opportunities", response=Page[OpportunityOut])
def opportunity_list(request, filters: Query[OpportunityFilters]):
    membership = require(request, BRM_VIEW)
    queryset = selectors.opportunities_for(
        organization=membership.organization, status=filters.status, kind=filters.kind,
        account_id=filters.account_id, service_id=filters.service_id)
    return paginate(queryset, cursor=filters.cursor, limit=filters.limit,
                    order=("-identified_at", "-id"))


@router.post("/brm/opportunities", response={201: OpportunityOut})
@idempotent
def opportunity_create(request, payload: OpportunityIn):
    membership = require(request, BRM_EDIT)
    data = _fk_names(payload.model_dump(exclude_none=True))
    return Status(201, _call(registers.opportunity_create,
                             organization=membership.organization, actor=request.user, **data))


@router.get("/brm/opportunities/{opportunity_id}", response=OpportunityOut)
def opportunity_get(request, opportunity_id: int):
    membership = require(request, BRM_VIEW)
    return selectors.opportunity_detail(organization=membership.organization,
                                        pk=opportunity_id)


@router.patch("/brm/opportunities/{opportunity_id}", response=OpportunityOut)
@idempotent
def opportunity_patch(request, opportunity_id: int, payload: OpportunityPatchIn):
    membership = require(request, BRM_EDIT)
    opportunity = selectors.opportunity_detail(organization=membership.organization,
                                               pk=opportunity_id)
    data = _fk_names(payload.model_dump(exclude_unset=True))
    version = data.pop("version")
    return _call(registers.opportunity_update, opportunity=opportunity, actor=request.user,
                 version=version, **data)


@router.post("/brm/opportunities/{opportunity_id}/transitions", response=OpportunityOut)
@idempotent
def opportunity_transition(request, opportunity_id: int, payload: OpportunityTransitionIn):
    """assess (with `assessment`) → record (with `service_id`), or decline."""
    membership = require(request, BRM_EDIT)
    opportunity = selectors.opportunity_detail(organization=membership.organization,
                                               pk=opportunity_id)
    return _call(registers.opportunity_transition, opportunity=opportunity,
                 action=payload.action, actor=request.user, version=payload.version,
                 assessment=payload.assessment, service=payload.service_id)


# --- Improvements (CSI register) ---------------------------------------------------------


class ImprovementIn(Input):
    title: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=MAX_TEXT)
    source: ImprovementSource = ImprovementSource.OTHER
    account_id: int | None = Field(None, ge=1, le=MAX_INT)
    service_id: int | None = Field(None, ge=1, le=MAX_INT)
    owner_id: int | None = Field(None, ge=1, le=MAX_INT)
    expected_benefit: str = Field("", max_length=MAX_TEXT)
    expected_value: Decimal | None = Field(None, max_digits=18, decimal_places=2)


class ImprovementPatchIn(Input):
    version: int = Field(ge=1, le=MAX_INT)
    title: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=MAX_TEXT)
    account_id: int | None = Field(None, ge=1, le=MAX_INT)
    service_id: int | None = Field(None, ge=1, le=MAX_INT)
    owner_id: int | None = Field(None, ge=1, le=MAX_INT)
    expected_benefit: str | None = Field(None, max_length=MAX_TEXT)
    realized_benefit: str | None = Field(None, max_length=MAX_TEXT)
    expected_value: Decimal | None = Field(None, max_digits=18, decimal_places=2)
    realized_value: Decimal | None = Field(None, max_digits=18, decimal_places=2)


class ImprovementTransitionIn(Input):
    action: str = Field(min_length=1, max_length=32,
                        description=", ".join(registers.IMPROVEMENT_ACTIONS))
    version: int = Field(ge=1, le=MAX_INT)
    comment: str = Field("", max_length=2000)
    realized_benefit: str | None = Field(None, max_length=MAX_TEXT)
    realized_value: Decimal | None = Field(None, max_digits=18, decimal_places=2)


class ImprovementStatusChangeOut(Schema):
    from_status: str
    to_status: str
    changed_by_id: int | None
    comment: str
    changed_at: datetime.datetime


class ImprovementOut(Schema):
    id: int
    number: int
    reference: str
    title: str
    description: str
    source: ImprovementSource
    source_case_id: int | None
    source_response_id: int | None
    account_id: int | None
    service_id: int | None
    owner_id: int | None
    status: ImprovementStatus
    expected_benefit: str
    realized_benefit: str
    expected_value: Decimal | None
    realized_value: Decimal | None
    raised_at: datetime.datetime
    closed_at: datetime.datetime | None
    version: int

    @staticmethod
    def resolve_reference(obj):
        return f"CSI-{obj.number}"


class ImprovementDetailOut(ImprovementOut):
    status_changes: list[ImprovementStatusChangeOut]
    actions: list[str]

    @staticmethod
    def resolve_status_changes(obj):
        return list(obj.status_changes.all())

    @staticmethod
    def resolve_actions(obj):
        return registers.improvement_actions_for(obj)


class ImprovementFilters(PageParams):
    status: ImprovementStatus | None = None
    source: ImprovementSource | None = None
    account_id: int | None = Field(None, ge=1, le=MAX_INT)
    owner_id: int | None = Field(None, ge=1, le=MAX_INT)
    raised_from: datetime.date | None = None
    raised_to: datetime.date | None = None


def _improvement(membership, pk):
    return selectors.improvement_detail(organization=membership.organization, pk=pk)


@router.get("/brm/improvements", response=Page[ImprovementOut])
def improvement_list(request, filters: Query[ImprovementFilters]):
    membership = require(request, BRM_VIEW)
    queryset = selectors.improvements_for(
        organization=membership.organization, status=filters.status, source=filters.source,
        account_id=filters.account_id, owner_id=filters.owner_id,
        period=_period(filters.raised_from, filters.raised_to))
    return paginate(queryset, cursor=filters.cursor, limit=filters.limit,
                    order=("-number", "-id"))


@router.post("/brm/improvements", response={201: ImprovementDetailOut})
@idempotent
def improvement_create(request, payload: ImprovementIn):
    membership = require(request, BRM_EDIT)
    data = _fk_names(payload.model_dump(exclude_none=True))
    improvement = _call(registers.improvement_create, organization=membership.organization,
                        actor=request.user, **data)
    return Status(201, _improvement(membership, improvement.pk))


@router.get("/brm/improvements/{improvement_id}", response=ImprovementDetailOut)
def improvement_get(request, improvement_id: int):
    membership = require(request, BRM_VIEW)
    return _improvement(membership, improvement_id)


@router.patch("/brm/improvements/{improvement_id}", response=ImprovementDetailOut)
@idempotent
def improvement_patch(request, improvement_id: int, payload: ImprovementPatchIn):
    membership = require(request, BRM_EDIT)
    improvement = _improvement(membership, improvement_id)
    data = _fk_names(payload.model_dump(exclude_unset=True))
    version = data.pop("version")
    _call(registers.improvement_update, improvement=improvement, actor=request.user,
          version=version, **data)
    return _improvement(membership, improvement_id)


@router.post("/brm/improvements/{improvement_id}/transitions",
             response=ImprovementDetailOut)
@idempotent
def improvement_transition(request, improvement_id: int, payload: ImprovementTransitionIn):
    """accept → approve → start → monitor → close (needs the realized benefit), reopen
    (monitor → in progress), cancel (any open status)."""
    membership = require(request, BRM_EDIT)
    improvement = _improvement(membership, improvement_id)
    _call(registers.improvement_transition, improvement=improvement, action=payload.action,
          actor=request.user, version=payload.version, comment=payload.comment,
          realized_benefit=payload.realized_benefit, realized_value=payload.realized_value)
    return _improvement(membership, improvement_id)
