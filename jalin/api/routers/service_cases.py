"""The service desk API: cases (staff side `/service/cases`, customer side
`/service/portal/cases`), their messages, status, updates with `version`, merging; canned
replies and teams.

Staff endpoints need `service.view` (reads) or `service.edit` (writes) in a supplier
organization. Customer endpoints serve the buyer organization: its cases only, public messages
only. Another organization's case, account, contact, order, team... — in the path or the body
— is 404, like a missing one; a stale `version` is 409; anything else that cannot be done is
422 naming the field, and changes nothing. Creating a case honours `Idempotency-Key`.
"""

import datetime

from ninja import Field, Query, Router, Schema, Status

from jalin.crm.models import Contact
from jalin.hub import order_selectors
from jalin.service import case_selectors as sel
from jalin.service import cases, desk
from jalin.service.cases import ServiceError
from jalin.service.models import (
    Agreement,
    CannedReply,
    CaseChannel,
    CaseKind,
    CasePriority,
    CaseStatus,
    MessageVisibility,
    Service,
    ServiceStatus,
    Team,
)
from jalin.service.portal import portal_open_case, supplier_choices
from jalin.tenancy.access import for_org, get_for_org_or_404
from jalin.tenancy.roles import SERVICE_EDIT, SERVICE_VIEW

from ..auth import require
from ..errors import ProblemError
from ..idempotency import idempotent
from ..pagination import Page, PageParams, paginate
from ..schemas import MAX_INT, Input

router = Router(tags=["service desk"])

ID = Field(None, ge=1, le=MAX_INT)


# --- Schemas -------------------------------------------------------------------------------


class UserSummary(Schema):
    id: int
    username: str
    name: str

    @staticmethod
    def resolve_name(obj):
        return obj.get_full_name() or obj.get_username()


class CaseOut(Schema):
    id: int
    number: int
    subject: str
    kind: CaseKind
    status: CaseStatus
    priority: CasePriority
    channel: CaseChannel
    category: str
    account_id: int | None
    contact_id: int | None
    buyer_id: int | None
    order_id: int | None
    service_id: int | None
    agreement_id: int | None
    team_id: int | None
    assignee: UserSummary | None
    merged_into_id: int | None
    follow_up_of_id: int | None
    sla_due_at: datetime.datetime | None = Field(
        None, description="Due time of the nearest running SLA clock")
    first_responded_at: datetime.datetime | None
    resolved_at: datetime.datetime | None
    closed_at: datetime.datetime | None
    created_at: datetime.datetime
    updated_at: datetime.datetime
    version: int

    @staticmethod
    def resolve_sla_due_at(obj):
        return getattr(obj, "due_at", None)


class SlaClockOut(Schema):
    metric: str
    state: str
    target_seconds: int
    elapsed_seconds: int
    paused_seconds: int
    due_at: datetime.datetime | None
    warned_at: datetime.datetime | None
    breached_at: datetime.datetime | None
    stopped_at: datetime.datetime | None
    policy_id: int | None
    agreement_id: int | None


class CaseEventOut(Schema):
    action: str
    from_value: str
    to_value: str
    note: str
    actor_id: int | None
    created_at: datetime.datetime


class CaseDetailOut(CaseOut):
    description: str
    requester_email: str
    sla_clocks: list[SlaClockOut]
    history: list[CaseEventOut]
    allowed_statuses: list[str]

    @staticmethod
    def resolve_sla_clocks(obj):
        return sel.sla_clocks(obj)

    @staticmethod
    def resolve_history(obj):
        return sel.history(obj)

    @staticmethod
    def resolve_allowed_statuses(obj):
        return [str(status) for status in cases.allowed_statuses(obj)]


class PortalCaseOut(Schema):
    """A case as the customer sees it (no internal fields)."""

    id: int
    number: int
    supplier_id: int
    supplier_name: str
    subject: str
    description: str
    kind: CaseKind
    status: CaseStatus
    order_id: int | None
    service_id: int | None
    created_at: datetime.datetime
    updated_at: datetime.datetime

    @staticmethod
    def resolve_supplier_id(obj):
        return obj.organization_id

    @staticmethod
    def resolve_supplier_name(obj):
        return obj.organization.name


class MessageOut(Schema):
    id: int
    visibility: MessageVisibility
    from_staff: bool
    channel: CaseChannel
    author_id: int | None
    author_email: str
    body: str
    created_at: datetime.datetime


class PortalMessageOut(Schema):
    id: int
    from_staff: bool
    author_name: str
    body: str
    created_at: datetime.datetime

    @staticmethod
    def resolve_author_name(obj):
        if obj.author is None:
            return ""
        return obj.author.get_full_name() or obj.author.get_username()


class CaseIn(Input):
    subject: str = Field(min_length=1, max_length=cases.MAX_SUBJECT)
    kind: CaseKind
    description: str = Field("", max_length=cases.MAX_BODY)
    priority: CasePriority | None = None
    channel: CaseChannel = CaseChannel.API
    category: str = Field("", max_length=cases.MAX_CATEGORY)
    requester_email: str = Field("", max_length=254)
    account_id: int | None = ID
    contact_id: int | None = ID
    order_id: int | None = ID
    service_id: int | None = ID
    team_id: int | None = ID
    assignee_id: int | None = ID


class PortalCaseIn(Input):
    supplier_id: int = Field(ge=1, le=MAX_INT)
    subject: str = Field(min_length=1, max_length=cases.MAX_SUBJECT)
    kind: CaseKind
    description: str = Field("", max_length=cases.MAX_BODY)
    order_id: int | None = ID
    service_id: int | None = ID


class CaseUpdateIn(Input):
    version: int = Field(ge=1, le=MAX_INT)
    subject: str | None = Field(None, min_length=1, max_length=cases.MAX_SUBJECT)
    kind: CaseKind | None = None
    priority: CasePriority | None = None
    category: str | None = Field(None, max_length=cases.MAX_CATEGORY)
    account_id: int | None = ID
    contact_id: int | None = ID
    order_id: int | None = ID
    service_id: int | None = ID
    agreement_id: int | None = ID
    team_id: int | None = ID
    assignee_id: int | None = ID


class StatusIn(Input):
    status: CaseStatus
    version: int | None = Field(None, ge=1, le=MAX_INT)
    note: str = Field("", max_length=cases.MAX_NOTE)


class MergeIn(Input):
    target_id: int = Field(ge=1, le=MAX_INT, description="The case to merge this one into")


class MessageIn(Input):
    body: str = Field(min_length=1, max_length=cases.MAX_BODY)
    internal: bool = Field(False, description="An internal note, never shown to the customer")


class PortalMessageIn(Input):
    body: str = Field(min_length=1, max_length=cases.MAX_BODY)


class CaseFilters(PageParams):
    status: str | None = Field(None, description="A status, 'active' (new/open/waiting), "
                                                 "'done' or 'all'; default: active")
    kind: CaseKind | None = None
    priority: CasePriority | None = None
    assignee: str | None = Field(None, max_length=20,
                                 description="'mine', 'unassigned' or a user id")
    team_id: int | None = ID
    account_id: int | None = ID
    sla: str | None = Field(None, description="'breached' or 'at_risk'")
    q: str | None = Field(None, max_length=100, description="Subject text or case number")


class PortalFilters(PageParams):
    status: CaseStatus | None = None


class CannedReplyOut(Schema):
    id: int
    title: str
    body: str
    version: int
    updated_at: datetime.datetime


class CannedReplyIn(Input):
    title: str = Field(min_length=1, max_length=desk.MAX_TITLE)
    body: str = Field(min_length=1, max_length=desk.MAX_BODY)


class CannedReplyUpdateIn(CannedReplyIn):
    version: int = Field(ge=1, le=MAX_INT)


class RenderedOut(Schema):
    text: str


class TeamOut(Schema):
    id: int
    name: str
    member_ids: list[int]
    archived: bool

    @staticmethod
    def resolve_member_ids(obj):
        return sorted(member.pk for member in obj.members.all())

    @staticmethod
    def resolve_archived(obj):
        return obj.archived_at is not None


class TeamIn(Input):
    name: str = Field(min_length=1, max_length=desk.MAX_TEAM_NAME)
    member_ids: list[int] = Field(default_factory=list, max_length=desk.MAX_TEAM_MEMBERS)


class TeamUpdateIn(Input):
    name: str | None = Field(None, min_length=1, max_length=desk.MAX_TEAM_NAME)
    member_ids: list[int] | None = Field(None, max_length=desk.MAX_TEAM_MEMBERS)
    archived: bool | None = None


# --- Helpers -------------------------------------------------------------------------------


def _staff(request, perm=SERVICE_VIEW):
    membership = require(request, perm)
    if not membership.organization.is_supplier:
        raise ProblemError(403, code="permission_denied",
                           detail="Only a supplier organization has a service desk.")
    return membership


def _buyer(request):
    membership = require(request, SERVICE_VIEW)
    if not membership.organization.is_buyer:
        raise ProblemError(403, code="permission_denied",
                           detail="Only a buyer organization has the customer portal.")
    return membership


def _not_found(field):
    return ProblemError(404, code="not_found", detail="Not found.", errors=[{
        "field": field, "loc": ["body", field], "message": "Not found.", "code": "not_found"}])


def _body_row(queryset, pk, field):
    """The row with id `pk` of an organization-scoped queryset; 404 naming `field`."""
    if pk is None:
        return None
    row = queryset.filter(pk=pk).first()
    if row is None:
        raise _not_found(field)
    return row


def _agent(organization, pk, field="assignee_id"):
    if pk is None:
        return None
    agent = next((user for user in sel.agents_for(organization=organization) if user.pk == pk),
                 None)
    if agent is None:
        raise _not_found(field)
    return agent


def _service_errors(func):
    try:
        return func()
    except ServiceError as error:
        if error.code == "not_found":
            raise _not_found(error.field or "id") from error
        raise


def _staff_case(membership, case_id):
    return get_for_org_or_404(sel.with_sla(sel.cases_for(organization=membership.organization)),
                              membership.organization, pk=case_id)


def _detail_out(membership, case_id):
    return _staff_case(membership, case_id)


# --- Staff: cases --------------------------------------------------------------------------


@router.get("/service/cases", response=Page[CaseOut])
def case_list(request, filters: Query[CaseFilters]):
    """The desk's cases, newest first, with the nearest running SLA clock's due time."""
    membership = _staff(request)
    parsed = sel.parse_filters({
        "status": filters.status or "", "kind": filters.kind.value if filters.kind else "",
        "priority": filters.priority.value if filters.priority else "",
        "assignee": filters.assignee or "", "team": filters.team_id or "",
        "account": filters.account_id or "", "sla": filters.sla or "", "q": filters.q or ""})
    if filters.status and parsed.status != filters.status:
        raise ProblemError(422, code="validation_error", detail="Unknown status.", errors=[{
            "field": "status", "loc": ["query", "status"], "message": "Unknown status.",
            "code": "invalid"}])
    queryset = sel.filter_cases(sel.with_sla(sel.cases_for(organization=membership.organization)),
                                parsed, user=request.user)
    return paginate(queryset, cursor=filters.cursor, limit=filters.limit, order=("-id",))


@router.post("/service/cases", response={201: CaseDetailOut})
@idempotent
def case_create(request, payload: CaseIn):
    """Open a case as staff (`service.edit`). Send an `Idempotency-Key` to retry safely."""
    membership = _staff(request, SERVICE_EDIT)
    organization = membership.organization
    account = _body_row(sel.accounts_for(organization=organization), payload.account_id,
                        "account_id")
    contact = _body_row(for_org(Contact, organization), payload.contact_id, "contact_id")
    order = _body_row(order_selectors.orders_for(organization=organization, side="supplier"),
                      payload.order_id, "order_id")
    service = _body_row(for_org(Service, organization), payload.service_id, "service_id")
    team = _body_row(sel.teams_for(organization=organization), payload.team_id, "team_id")
    assignee = _agent(organization, payload.assignee_id)
    case = _service_errors(lambda: cases.case_open(
        organization=organization, subject=payload.subject, kind=payload.kind.value,
        channel=payload.channel.value, description=payload.description,
        priority=payload.priority.value if payload.priority else None, actor=request.user,
        account=account, contact=contact, order=order, service=service, team=team,
        assignee=assignee, category=payload.category, requester_email=payload.requester_email))
    return Status(201, _detail_out(membership, case.pk))


@router.get("/service/cases/{case_id}", response=CaseDetailOut)
def case_detail(request, case_id: int):
    membership = _staff(request)
    return _detail_out(membership, case_id)


@router.patch("/service/cases/{case_id}", response=CaseDetailOut)
@idempotent
def case_update(request, case_id: int, payload: CaseUpdateIn):
    """Change fields and links; send the `version` you read (409 if it moved on). A link
    given as null is cleared; fields you leave out stay as they are."""
    membership = _staff(request, SERVICE_EDIT)
    organization = membership.organization
    case = _staff_case(membership, case_id)
    given = payload.model_dump(exclude_unset=True)
    version = given.pop("version")
    changes = {}
    for field in ("subject", "category"):
        if field in given:
            if given[field] is None:
                raise ProblemError(422, code="validation_error", detail="May not be null.",
                                   errors=[{"field": field, "loc": ["body", field],
                                            "message": "May not be null.", "code": "null"}])
            changes[field] = given[field]
    for field in ("kind", "priority"):
        if field in given:
            if given[field] is None:
                raise ProblemError(422, code="validation_error", detail="May not be null.",
                                   errors=[{"field": field, "loc": ["body", field],
                                            "message": "May not be null.", "code": "null"}])
            changes[field] = getattr(payload, field).value
    scoped = {
        "account_id": sel.accounts_for(organization=organization),
        "contact_id": for_org(Contact, organization),
        "order_id": order_selectors.orders_for(organization=organization, side="supplier"),
        "service_id": for_org(Service, organization),
        "agreement_id": for_org(Agreement, organization),
        "team_id": sel.teams_for(organization=organization),
    }
    for field, queryset in scoped.items():
        if field in given:
            changes[field.removesuffix("_id")] = _body_row(queryset, given[field], field)
    if "assignee_id" in given:
        changes["assignee"] = _agent(organization, given["assignee_id"])
    _service_errors(lambda: cases.case_update(case=case, actor=request.user, version=version,
                                              **changes))
    return _detail_out(membership, case.pk)


@router.post("/service/cases/{case_id}/status", response=CaseDetailOut)
@idempotent
def case_status(request, case_id: int, payload: StatusIn):
    """Move the case along new → open → waiting → resolved → closed (reopen: resolved →
    open). Merging goes through …/merge."""
    membership = _staff(request, SERVICE_EDIT)
    case = _staff_case(membership, case_id)
    cases.case_set_status(case=case, status=payload.status.value, actor=request.user,
                          note=payload.note, version=payload.version)
    return _detail_out(membership, case.pk)


@router.post("/service/cases/{case_id}/merge", response=CaseDetailOut)
@idempotent
def case_merge(request, case_id: int, payload: MergeIn):
    """Merge this case (a duplicate) into `target_id`; answers the target."""
    membership = _staff(request, SERVICE_EDIT)
    case = _staff_case(membership, case_id)
    target = _body_row(sel.cases_for(organization=membership.organization), payload.target_id,
                       "target_id")
    _service_errors(lambda: cases.case_merge(source=case, target=target, actor=request.user))
    return _detail_out(membership, target.pk)


@router.get("/service/cases/{case_id}/messages", response=Page[MessageOut])
def message_list(request, case_id: int, params: Query[PageParams]):
    """Replies and internal notes, oldest first."""
    membership = _staff(request)
    case = _staff_case(membership, case_id)
    return paginate(case.messages.all(), cursor=params.cursor, limit=params.limit,
                    order=("id",))


@router.post("/service/cases/{case_id}/messages", response={201: MessageOut})
@idempotent
def message_create(request, case_id: int, payload: MessageIn):
    """A public reply to the customer, or an internal note (`internal: true`)."""
    membership = _staff(request, SERVICE_EDIT)
    case = _staff_case(membership, case_id)
    message = cases.case_add_message(
        case=case, body=payload.body, from_staff=True, channel=CaseChannel.API,
        visibility=MessageVisibility.INTERNAL if payload.internal else MessageVisibility.PUBLIC,
        author=request.user)
    return Status(201, message)


# --- Customer (portal) side ----------------------------------------------------------------


@router.get("/service/portal/cases", response=Page[PortalCaseOut])
def portal_case_list(request, filters: Query[PortalFilters]):
    """Your organization's cases with your suppliers, newest first."""
    membership = _buyer(request)
    queryset = sel.buyer_cases(buyer=membership.organization)
    if filters.status:
        queryset = queryset.filter(status=filters.status.value)
    return paginate(queryset, cursor=filters.cursor, limit=filters.limit, order=("-id",))


@router.post("/service/portal/cases", response={201: PortalCaseOut})
@idempotent
def portal_case_create(request, payload: PortalCaseIn):
    """Open a case with a supplier you trade with (or that keeps you as a customer).
    Send an `Idempotency-Key` to retry safely."""
    membership = _buyer(request)
    buyer = membership.organization
    supplier = next((org for org in supplier_choices(buyer) if org.pk == payload.supplier_id),
                    None)
    if supplier is None:
        raise _not_found("supplier_id")
    order = _body_row(order_selectors.orders_for(organization=buyer, side="buyer")
                      .filter(supplier=supplier), payload.order_id, "order_id")
    service = _body_row(Service.objects.filter(organization=supplier, status__in=(
        ServiceStatus.LIVE, ServiceStatus.PENDING_RETIREMENT)), payload.service_id,
        "service_id")
    case = _service_errors(lambda: portal_open_case(
        buyer=buyer, supplier=supplier, user=request.user, subject=payload.subject,
        kind=payload.kind.value, description=payload.description, order=order,
        service=service, channel=CaseChannel.API))
    return Status(201, sel.buyer_case_detail(buyer=buyer, pk=case.pk))


@router.get("/service/portal/cases/{case_id}", response=PortalCaseOut)
def portal_case_detail(request, case_id: int):
    membership = _buyer(request)
    return sel.buyer_case_detail(buyer=membership.organization, pk=case_id)


@router.get("/service/portal/cases/{case_id}/messages", response=Page[PortalMessageOut])
def portal_message_list(request, case_id: int, params: Query[PageParams]):
    """The conversation as you see it: public replies and your messages, never internal
    notes."""
    membership = _buyer(request)
    case = sel.buyer_case_detail(buyer=membership.organization, pk=case_id)
    queryset = case.messages.filter(visibility=MessageVisibility.PUBLIC).select_related(
        "author")
    return paginate(queryset, cursor=params.cursor, limit=params.limit, order=("id",))


@router.post("/service/portal/cases/{case_id}/messages", response={201: PortalMessageOut})
@idempotent
def portal_message_create(request, case_id: int, payload: PortalMessageIn):
    """Write to the supplier; a waiting or resolved case opens again."""
    membership = _buyer(request)
    case = sel.buyer_case_detail(buyer=membership.organization, pk=case_id)
    message = cases.case_add_message(case=case, body=payload.body, from_staff=False,
                                     channel=CaseChannel.API, author=request.user)
    return Status(201, message)


# --- Canned replies ------------------------------------------------------------------------


@router.get("/service/canned-replies", response=Page[CannedReplyOut])
def canned_list(request, params: Query[PageParams]):
    membership = _staff(request)
    return paginate(sel.canned_replies_for(organization=membership.organization),
                    cursor=params.cursor, limit=params.limit, order=("id",))


@router.post("/service/canned-replies", response={201: CannedReplyOut})
@idempotent
def canned_create(request, payload: CannedReplyIn):
    membership = _staff(request, SERVICE_EDIT)
    reply = desk.canned_reply_create(organization=membership.organization, actor=request.user,
                                     title=payload.title, body=payload.body)
    return Status(201, reply)


@router.get("/service/canned-replies/{reply_id}", response=CannedReplyOut)
def canned_detail(request, reply_id: int):
    membership = _staff(request)
    return get_for_org_or_404(CannedReply, membership.organization, pk=reply_id)


@router.patch("/service/canned-replies/{reply_id}", response=CannedReplyOut)
@idempotent
def canned_update(request, reply_id: int, payload: CannedReplyUpdateIn):
    membership = _staff(request, SERVICE_EDIT)
    reply = get_for_org_or_404(CannedReply, membership.organization, pk=reply_id)
    return desk.canned_reply_update(reply=reply, actor=request.user, title=payload.title,
                                    body=payload.body, version=payload.version)


@router.delete("/service/canned-replies/{reply_id}", response={204: None})
def canned_delete(request, reply_id: int):
    membership = _staff(request, SERVICE_EDIT)
    reply = get_for_org_or_404(CannedReply, membership.organization, pk=reply_id)
    desk.canned_reply_delete(reply=reply, actor=request.user)
    return Status(204, None)


@router.get("/service/cases/{case_id}/canned-replies/{reply_id}", response=RenderedOut)
def canned_render(request, case_id: int, reply_id: int):
    """The canned reply's text with its placeholders filled in for this case."""
    membership = _staff(request)
    case = _staff_case(membership, case_id)
    reply = get_for_org_or_404(CannedReply, membership.organization, pk=reply_id)
    return {"text": desk.render_canned(reply.body, case=case, agent=request.user)}


# --- Teams ---------------------------------------------------------------------------------


@router.get("/service/teams", response=Page[TeamOut])
def team_list(request, params: Query[PageParams]):
    membership = _staff(request)
    queryset = sel.teams_for(organization=membership.organization,
                             include_archived=True).prefetch_related("members")
    return paginate(queryset, cursor=params.cursor, limit=params.limit, order=("id",))


@router.post("/service/teams", response={201: TeamOut})
@idempotent
def team_create(request, payload: TeamIn):
    membership = _staff(request, SERVICE_EDIT)
    team = _service_errors(lambda: desk.team_create(
        organization=membership.organization, actor=request.user, name=payload.name,
        members=payload.member_ids))
    return Status(201, team)


@router.get("/service/teams/{team_id}", response=TeamOut)
def team_detail(request, team_id: int):
    membership = _staff(request)
    return get_for_org_or_404(Team.objects.prefetch_related("members"),
                              membership.organization, pk=team_id)


@router.patch("/service/teams/{team_id}", response=TeamOut)
@idempotent
def team_update(request, team_id: int, payload: TeamUpdateIn):
    membership = _staff(request, SERVICE_EDIT)
    team = get_for_org_or_404(Team, membership.organization, pk=team_id)
    return _service_errors(lambda: desk.team_update(
        team=team, actor=request.user, name=payload.name, members=payload.member_ids,
        archived=payload.archived))
