"""Service and agreement portfolios over the API.

Staff (`service.view` to read, `service.edit` to write): /service/services…,
/service/agreements…. Buyers: /portal/agreements… (only agreements whose customer is their
organization; their buyer_approver or org_admin signs). Another organization's record — in
the path or the body — is 404 like a missing one; a stale `version` is 409; a move the
lifecycle does not allow, or anything else that cannot be done, is 422 and changes nothing.
"""

import datetime
from decimal import Decimal

from django.contrib.auth import get_user_model
from ninja import Field, Query, Router, Schema, Status

from jalin.crm.models import Account
from jalin.service import agreements, service_catalogue
from jalin.service import portfolio_selectors as selectors
from jalin.service.models import (
    Agreement,
    AgreementKind,
    AgreementStatus,
    ItilStage,
    Service,
    ServiceStatus,
    ServiceSubscription,
    SignatureDecision,
    SlaPolicy,
    Team,
)
from jalin.tenancy.access import get_for_org_or_404
from jalin.tenancy.roles import SERVICE_EDIT, SERVICE_VIEW

from ..auth import require
from ..errors import ProblemError
from ..idempotency import idempotent
from ..pagination import Page, PageParams, paginate
from ..schemas import MAX_INT, Input, OrganizationSummary

router = Router(tags=["service portfolio"])


def _as_api_error(error):
    if error.code == "forbidden":
        raise ProblemError(403, code="permission_denied", detail=error.message) from error
    if error.code == "not_found":
        raise ProblemError(404, code="not_found", detail=error.message, errors=[{
            "field": error.field, "loc": ["body", error.field or ""],
            "message": error.message, "code": "not_found"}]) from error
    raise error


def _member(membership, user_id, field="owner_id"):
    if user_id is None:
        return None
    user = get_user_model().objects.filter(
        pk=user_id, memberships__organization=membership.organization,
        memberships__is_active=True).first()
    if user is None:
        raise ProblemError(404, code="not_found", detail="No such member.", errors=[{
            "field": field, "loc": ["body", field], "message": "No such member.",
            "code": "not_found"}])
    return user


def _own(model, membership, pk, field):
    if pk is None:
        return None
    obj = model.objects.filter(organization=membership.organization, pk=pk).first()
    if obj is None:
        raise ProblemError(404, code="not_found", detail="Not found.", errors=[{
            "field": field, "loc": ["body", field], "message": "Not found.",
            "code": "not_found"}])
    return obj


# --- Services ------------------------------------------------------------------------------


class ServiceIn(Input):
    code: str = Field(min_length=1, max_length=30)
    name: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=20_000)
    category: str = Field("", max_length=100)
    utility: str = Field("", max_length=20_000)
    warranty: str = Field("", max_length=20_000)
    stage: ItilStage = ItilStage.STRATEGY
    owner_id: int | None = Field(None, ge=1, le=MAX_INT)


class ServicePatch(Input):
    version: int = Field(ge=1, le=MAX_INT)
    code: str | None = Field(None, min_length=1, max_length=30)
    name: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=20_000)
    category: str | None = Field(None, max_length=100)
    utility: str | None = Field(None, max_length=20_000)
    warranty: str | None = Field(None, max_length=20_000)
    stage: ItilStage | None = None
    owner_id: int | None = Field(None, ge=1, le=MAX_INT)


class TransitionIn(Input):
    to_status: str = Field(min_length=1, max_length=30)
    comment: str = Field("", max_length=2000)
    version: int | None = Field(None, ge=1, le=MAX_INT)


class StatusChangeOut(Schema):
    from_status: str
    to_status: str
    changed_by_id: int | None
    comment: str
    changed_at: datetime.datetime


class ServiceOut(Schema):
    id: int
    code: str
    name: str
    description: str
    category: str
    utility: str
    warranty: str
    status: ServiceStatus
    stage: ItilStage
    owner_id: int | None
    live_since: datetime.date | None
    retired_on: datetime.date | None
    created_at: datetime.datetime
    updated_at: datetime.datetime
    version: int


class ServiceDetailOut(ServiceOut):
    allowed_statuses: list[str]
    status_changes: list[StatusChangeOut]

    @staticmethod
    def resolve_allowed_statuses(obj):
        return [str(value) for value in service_catalogue.allowed_targets(obj)]

    @staticmethod
    def resolve_status_changes(obj):
        return list(obj.status_changes.all())


class ServiceFilters(PageParams):
    section: str | None = Field(None, pattern="^(pipeline|catalogue|retired)$")
    status: ServiceStatus | None = None
    stage: ItilStage | None = None


class SubscriptionIn(Input):
    account_id: int = Field(ge=1, le=MAX_INT)
    agreement_id: int | None = Field(None, ge=1, le=MAX_INT)
    started_on: datetime.date | None = None


class SubscriptionEndIn(Input):
    ended_on: datetime.date | None = None


class SubscriptionOut(Schema):
    id: int
    service_id: int
    account_id: int
    agreement_id: int | None
    started_on: datetime.date
    ended_on: datetime.date | None


def _service(membership, service_id):
    return selectors.service_detail(organization=membership.organization, pk=service_id)


@router.get("/service/services", response=Page[ServiceOut])
def service_list(request, filters: Query[ServiceFilters]):
    """The service portfolio; `section` pipeline / catalogue / retired."""
    membership = require(request, SERVICE_VIEW)
    queryset = selectors.services_for(organization=membership.organization,
                                      section=filters.section, status=filters.status,
                                      stage=filters.stage)
    return paginate(queryset, cursor=filters.cursor, limit=filters.limit, order=("-id",))


@router.post("/service/services", response={201: ServiceDetailOut})
@idempotent
def service_create(request, payload: ServiceIn):
    membership = require(request, SERVICE_EDIT)
    data = payload.dict()
    owner = _member(membership, data.pop("owner_id"))
    service = service_catalogue.service_create(organization=membership.organization,
                                               actor=request.user, owner=owner, **data)
    return Status(201, _service(membership, service.pk))


@router.get("/service/services/{service_id}", response=ServiceDetailOut)
def service_detail(request, service_id: int):
    membership = require(request, SERVICE_VIEW)
    return _service(membership, service_id)


@router.patch("/service/services/{service_id}", response=ServiceDetailOut)
@idempotent
def service_update(request, service_id: int, payload: ServicePatch):
    membership = require(request, SERVICE_EDIT)
    service = _service(membership, service_id)
    data = payload.dict(exclude_unset=True)
    version = data.pop("version")
    if "owner_id" in data:
        data["owner"] = _member(membership, data.pop("owner_id"))
    data = {key: value for key, value in data.items() if value is not None or key == "owner"}
    service_catalogue.service_update(service=service, actor=request.user, version=version,
                                     **data)
    return _service(membership, service_id)


@router.post("/service/services/{service_id}/transitions", response=ServiceDetailOut)
@idempotent
def service_transition(request, service_id: int, payload: TransitionIn):
    """Move along the lifecycle (`allowed_statuses`); each move is a history row."""
    membership = require(request, SERVICE_EDIT)
    service = _service(membership, service_id)
    service_catalogue.service_transition(service=service, to_status=payload.to_status,
                                         actor=request.user, comment=payload.comment,
                                         version=payload.version)
    return _service(membership, service_id)


@router.get("/service/services/{service_id}/subscriptions", response=list[SubscriptionOut])
def subscription_list(request, service_id: int):
    """Customers using the service (ended ones included, with `ended_on`)."""
    membership = require(request, SERVICE_VIEW)
    return list(selectors.subscriptions_of(_service(membership, service_id)))


@router.post("/service/services/{service_id}/subscriptions", response={201: SubscriptionOut})
@idempotent
def subscription_add(request, service_id: int, payload: SubscriptionIn):
    membership = require(request, SERVICE_EDIT)
    service = _service(membership, service_id)
    account = _own(Account, membership, payload.account_id, "account_id")
    agreement = _own(Agreement, membership, payload.agreement_id, "agreement_id")
    subscription = service_catalogue.subscription_add(
        service=service, account=account, agreement=agreement, actor=request.user,
        started_on=payload.started_on)
    return Status(201, subscription)


@router.post("/service/subscriptions/{subscription_id}/end", response=SubscriptionOut)
@idempotent
def subscription_end(request, subscription_id: int, payload: SubscriptionEndIn):
    membership = require(request, SERVICE_EDIT)
    subscription = get_for_org_or_404(ServiceSubscription, membership.organization,
                                      pk=subscription_id)
    return service_catalogue.subscription_end(subscription=subscription, actor=request.user,
                                              ended_on=payload.ended_on)


# --- Agreements ----------------------------------------------------------------------------


class AgreementIn(Input):
    kind: AgreementKind = AgreementKind.SLA
    title: str = Field(min_length=1, max_length=200)
    account_id: int | None = Field(None, ge=1, le=MAX_INT,
                                   description="The customer (contract, SLA)")
    team_id: int | None = Field(None, ge=1, le=MAX_INT, description="The internal team (OLA)")
    counterparty: str = Field("", max_length=200,
                              description="The third party (underpinning contract)")
    service_ids: list[int] = Field(default_factory=list, max_length=500)
    sla_policy_id: int | None = Field(None, ge=1, le=MAX_INT)
    required_attainment_percent: Decimal = Field(Decimal("95"), ge=0, le=100)
    availability_percent: Decimal | None = Field(None, ge=0, le=100)
    rto_minutes: int | None = Field(None, ge=0, le=10_000_000)
    rpo_minutes: int | None = Field(None, ge=0, le=10_000_000)
    maintenance_window: str = Field("", max_length=200)
    starts_on: datetime.date | None = None
    ends_on: datetime.date | None = None
    review_on: datetime.date | None = None
    renewal_notice_days: int = Field(60, ge=0, le=3650)
    owner_id: int | None = Field(None, ge=1, le=MAX_INT)
    notes: str = Field("", max_length=20_000)


class AgreementPatch(Input):
    version: int = Field(ge=1, le=MAX_INT)
    kind: AgreementKind | None = None
    title: str | None = Field(None, min_length=1, max_length=200)
    account_id: int | None = Field(None, ge=1, le=MAX_INT)
    team_id: int | None = Field(None, ge=1, le=MAX_INT)
    counterparty: str | None = Field(None, max_length=200)
    service_ids: list[int] | None = Field(None, max_length=500)
    sla_policy_id: int | None = Field(None, ge=1, le=MAX_INT)
    required_attainment_percent: Decimal | None = Field(None, ge=0, le=100)
    availability_percent: Decimal | None = Field(None, ge=0, le=100)
    rto_minutes: int | None = Field(None, ge=0, le=10_000_000)
    rpo_minutes: int | None = Field(None, ge=0, le=10_000_000)
    maintenance_window: str | None = Field(None, max_length=200)
    starts_on: datetime.date | None = None
    ends_on: datetime.date | None = None
    review_on: datetime.date | None = None
    renewal_notice_days: int | None = Field(None, ge=0, le=3650)
    owner_id: int | None = Field(None, ge=1, le=MAX_INT)
    notes: str | None = Field(None, max_length=20_000)


class SignatureIn(Input):
    party: str = Field(pattern="^(provider|customer)$")
    decision: SignatureDecision
    comment: str = Field("", max_length=2000, description="Required to decline")
    signer_name: str = Field("", max_length=200,
                             description="Who signed on paper (customer side without a "
                                         "hub buyer)")


class SignatureOut(Schema):
    id: int
    party: str
    user_id: int | None
    signer_name: str
    decision: str
    comment: str
    decided_at: datetime.datetime
    round: int


class DocumentOut(Schema):
    id: int
    title: str
    original_name: str
    size: int
    content_type: str
    shared_with_customer: bool
    uploaded_at: datetime.datetime


class AgreementOut(Schema):
    id: int
    number: int
    label: str
    kind: AgreementKind
    title: str
    status: AgreementStatus
    account_id: int | None
    buyer_id: int | None
    team_id: int | None
    counterparty: str
    sla_policy_id: int | None
    required_attainment_percent: Decimal
    availability_percent: Decimal | None
    rto_minutes: int | None
    rpo_minutes: int | None
    maintenance_window: str
    starts_on: datetime.date | None
    ends_on: datetime.date | None
    review_on: datetime.date | None
    renewal_notice_days: int
    owner_id: int | None
    version: int

    @staticmethod
    def resolve_label(obj):
        return f"AGR-{obj.number}"


class AgreementDetailOut(AgreementOut):
    notes: str
    service_ids: list[int]
    signature_round: int
    allowed_statuses: list[str]
    signable_parties: list[str] = Field(description="Parties you may sign for now")
    status_changes: list[StatusChangeOut]
    signatures: list[SignatureOut]
    documents: list[DocumentOut]

    @staticmethod
    def resolve_service_ids(obj):
        return [service.pk for service in obj.services.all()]

    @staticmethod
    def resolve_status_changes(obj):
        return list(obj.status_changes.all())

    @staticmethod
    def resolve_signatures(obj):
        return list(obj.signatures.all())

    @staticmethod
    def resolve_documents(obj):
        return list(obj.documents.all())


class PortalAgreementOut(Schema):
    id: int
    number: int
    kind: AgreementKind
    title: str
    status: AgreementStatus
    supplier: OrganizationSummary
    required_attainment_percent: Decimal
    availability_percent: Decimal | None
    rto_minutes: int | None
    rpo_minutes: int | None
    maintenance_window: str
    starts_on: datetime.date | None
    ends_on: datetime.date | None
    review_on: datetime.date | None

    @staticmethod
    def resolve_supplier(obj):
        return obj.organization


class PortalAgreementDetailOut(PortalAgreementOut):
    signature_round: int
    signable_parties: list[str] = Field(description="Parties you may sign for now")
    signatures: list[SignatureOut]
    documents: list[DocumentOut]

    @staticmethod
    def resolve_signatures(obj):
        return list(obj.signatures.all())

    @staticmethod
    def resolve_documents(obj):
        return [document for document in obj.documents.all() if document.shared_with_customer]


class AgreementFilters(PageParams):
    status: AgreementStatus | None = None
    kind: AgreementKind | None = None
    account_id: int | None = Field(None, ge=1, le=MAX_INT)
    expiring_within_days: int | None = Field(None, ge=0, le=3650)


def _agreement(membership, agreement_id):
    agreement = selectors.agreement_detail(organization=membership.organization,
                                           pk=agreement_id)
    agreement.allowed_statuses = [str(v) for v in agreements.allowed_targets(agreement)]
    agreement.signable_parties = agreements.signable_parties(agreement, membership)
    return agreement


def _agreement_data(membership, data):
    out = dict(data)
    if "account_id" in out:
        out["account"] = _own(Account, membership, out.pop("account_id"), "account_id")
    if "team_id" in out:
        out["team"] = _own(Team, membership, out.pop("team_id"), "team_id")
    if "sla_policy_id" in out:
        out["sla_policy"] = _own(SlaPolicy, membership, out.pop("sla_policy_id"),
                                 "sla_policy_id")
    if "owner_id" in out:
        out["owner"] = _member(membership, out.pop("owner_id"))
    if "service_ids" in out:
        ids = out.pop("service_ids")
        if ids is not None:
            services = list(Service.objects.filter(organization=membership.organization,
                                                   pk__in=ids))
            if len(services) != len(set(ids)):
                raise ProblemError(404, code="not_found", detail="No such service.", errors=[{
                    "field": "service_ids", "loc": ["body", "service_ids"],
                    "message": "No such service.", "code": "not_found"}])
            out["services"] = services
    return out


@router.get("/service/agreements", response=Page[AgreementOut])
def agreement_list(request, filters: Query[AgreementFilters]):
    """Your agreements, newest first; `expiring_within_days` keeps active/suspended ones
    ending within that many days."""
    membership = require(request, SERVICE_VIEW)
    queryset = selectors.agreements_for(organization=membership.organization,
                                        status=filters.status, kind=filters.kind,
                                        account_id=filters.account_id,
                                        expiring_within=filters.expiring_within_days)
    return paginate(queryset, cursor=filters.cursor, limit=filters.limit, order=("-id",))


@router.post("/service/agreements", response={201: AgreementDetailOut})
@idempotent
def agreement_create(request, payload: AgreementIn):
    """Create an agreement (number AGR-n taken under a lock). Contract/SLA need
    `account_id`, OLA `team_id`, underpinning `counterparty`."""
    membership = require(request, SERVICE_EDIT)
    data = _agreement_data(membership, payload.dict())
    try:
        agreement = agreements.agreement_create(organization=membership.organization,
                                                actor=request.user, **data)
    except agreements.PortfolioError as error:
        _as_api_error(error)
    return Status(201, _agreement(membership, agreement.pk))


@router.get("/service/agreements/{agreement_id}", response=AgreementDetailOut)
def agreement_detail(request, agreement_id: int):
    membership = require(request, SERVICE_VIEW)
    return _agreement(membership, agreement_id)


@router.patch("/service/agreements/{agreement_id}", response=AgreementDetailOut)
@idempotent
def agreement_update(request, agreement_id: int, payload: AgreementPatch):
    """Terms change in draft/negotiation only; later only owner, review date, renewal notice
    and notes."""
    membership = require(request, SERVICE_EDIT)
    agreement = _agreement(membership, agreement_id)
    data = payload.dict(exclude_unset=True)
    version = data.pop("version")
    data = _agreement_data(membership, data)
    try:
        agreements.agreement_update(agreement=agreement, actor=request.user, version=version,
                                    **data)
    except agreements.PortfolioError as error:
        _as_api_error(error)
    return _agreement(membership, agreement_id)


@router.post("/service/agreements/{agreement_id}/transitions", response=AgreementDetailOut)
@idempotent
def agreement_transition(request, agreement_id: int, payload: TransitionIn):
    """Move along the lifecycle (`allowed_statuses`). "active" comes from signatures only,
    "expired" from the daily job only."""
    membership = require(request, SERVICE_EDIT)
    agreement = _agreement(membership, agreement_id)
    agreements.agreement_transition(agreement=agreement, to_status=payload.to_status,
                                    actor=request.user, comment=payload.comment,
                                    version=payload.version)
    return _agreement(membership, agreement_id)


@router.post("/service/agreements/{agreement_id}/signatures", response={201: SignatureOut})
@idempotent
def agreement_sign(request, agreement_id: int, payload: SignatureIn):
    """Sign or decline for the provider (or record the customer's paper signature when the
    customer is not on the hub). Both parties signed → active; a decline → negotiation."""
    membership = require(request, SERVICE_EDIT)
    agreement = _agreement(membership, agreement_id)
    try:
        signature = agreements.agreement_sign(
            agreement=agreement, membership=membership, actor=request.user,
            party=payload.party, decision=payload.decision.value, comment=payload.comment,
            signer_name=payload.signer_name)
    except agreements.PortfolioError as error:
        _as_api_error(error)
    return Status(201, signature)


# --- Portal --------------------------------------------------------------------------------


class PortalFilters(PageParams):
    status: AgreementStatus | None = None


class PortalSignatureIn(Input):
    decision: SignatureDecision
    comment: str = Field("", max_length=2000, description="Required to decline")


def _portal(membership, agreement_id):
    agreement = selectors.portal_agreement_detail(buyer=membership.organization,
                                                  pk=agreement_id)
    agreement.signable_parties = agreements.signable_parties(agreement, membership)
    return agreement


@router.get("/portal/agreements", response=Page[PortalAgreementOut])
def portal_agreement_list(request, filters: Query[PortalFilters]):
    """Agreements your suppliers made with your organization (drafts excluded)."""
    membership = require(request, SERVICE_VIEW)
    queryset = selectors.portal_agreements_for(buyer=membership.organization,
                                               status=filters.status)
    return paginate(queryset, cursor=filters.cursor, limit=filters.limit, order=("-id",))


@router.get("/portal/agreements/{agreement_id}", response=PortalAgreementDetailOut)
def portal_agreement_detail(request, agreement_id: int):
    membership = require(request, SERVICE_VIEW)
    return _portal(membership, agreement_id)


@router.post("/portal/agreements/{agreement_id}/signatures", response={201: SignatureOut})
@idempotent
def portal_agreement_sign(request, agreement_id: int, payload: PortalSignatureIn):
    """Sign or decline for your company (buyer_approver or org_admin)."""
    membership = require(request, SERVICE_VIEW)
    agreement = _portal(membership, agreement_id)
    try:
        signature = agreements.agreement_sign(
            agreement=agreement, membership=membership, actor=request.user,
            party=agreements.CUSTOMER, decision=payload.decision.value,
            comment=payload.comment)
    except agreements.PortfolioError as error:
        _as_api_error(error)
    return Status(201, signature)
