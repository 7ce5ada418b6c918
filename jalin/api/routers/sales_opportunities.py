"""The opportunities API: pipelines (with stages), close reasons and competitors; opportunities
(list with filters and keyset pages, create with `Idempotency-Key`, read, update with
`version`), move on the board, close won/lost, reopen, lines, stage history, and the board.

Reads need `sales.view`, writes `sales.edit`. Another organization's opportunity, account,
stage, user or reason — in the path or the body — is 404 like a missing one; a stale
`version` is 409; anything else that cannot be done is 422 naming the field, and changes
nothing.
"""

import datetime
from decimal import Decimal

from django.db.models import prefetch_related_objects
from ninja import Field, Query, Router, Schema, Status

from jalin.sales import opportunities as opps
from jalin.sales import opportunity_selectors as selectors
from jalin.sales.leads import SalesError
from jalin.sales.models import (
    CloseReason,
    Competitor,
    ForecastCategory,
    Opportunity,
    OpportunityLine,
    OpportunityStatus,
    Pipeline,
    PipelineStage,
    StageKind,
)
from jalin.tenancy.access import for_org, get_for_org_or_404
from jalin.tenancy.roles import SALES_EDIT, SALES_VIEW

from ..auth import require
from ..errors import ProblemError
from ..idempotency import idempotent
from ..pagination import Page, PageParams
from ..schemas import MAX_INT, Input

router = Router(tags=["sales opportunities"])

ID = Field(None, ge=1, le=MAX_INT)
VERSION = Field(None, ge=1, le=MAX_INT)
AMOUNT = Field(None, ge=0, max_digits=18, decimal_places=2)


class StageOut(Schema):
    id: int
    name: str
    position: int
    probability: int
    kind: StageKind
    forecast_category: ForecastCategory


class PipelineOut(Schema):
    id: int
    name: str
    is_default: bool
    stale_after_days: int
    stages: list[StageOut]

    @staticmethod
    def resolve_stages(obj):
        return list(obj.stages.all())


class PipelineIn(Input):
    name: str = Field(min_length=1, max_length=100)
    stale_after_days: int = Field(30, ge=1, le=3650)
    is_default: bool = False


class StageIn(Input):
    name: str = Field(min_length=1, max_length=60)
    probability: int = Field(ge=0, le=100)
    kind: StageKind = StageKind.OPEN
    forecast_category: ForecastCategory | None = None
    position: int | None = Field(None, ge=0, le=32000)


class ReasonOut(Schema):
    id: int
    kind: str
    name: str
    is_active: bool


class ReasonIn(Input):
    kind: str = Field(pattern="^(won|lost)$")
    name: str = Field(min_length=1, max_length=100)
    is_active: bool = True


class CompetitorOut(Schema):
    id: int
    name: str


class CompetitorIn(Input):
    name: str = Field(min_length=1, max_length=100)


class LineOut(Schema):
    id: int
    position: int
    product_id: int | None
    description: str
    quantity: int
    unit_price: Decimal
    discount_percent: Decimal
    amount: Decimal


class LineIn(Input):
    product_id: int | None = ID
    description: str = Field("", max_length=200)
    quantity: int = Field(1, ge=1, le=10**9)
    unit_price: Decimal = Field(ge=0, max_digits=22, decimal_places=4)
    discount_percent: Decimal = Field(Decimal("0"), ge=0, le=100, max_digits=5,
                                      decimal_places=2)


class LineUpdateIn(Input):
    version: int | None = VERSION
    product_id: int | None = ID
    description: str | None = Field(None, max_length=200)
    quantity: int | None = Field(None, ge=1, le=10**9)
    unit_price: Decimal | None = Field(None, ge=0, max_digits=22, decimal_places=4)
    discount_percent: Decimal | None = Field(None, ge=0, le=100, max_digits=5,
                                             decimal_places=2)


class LineAddIn(LineIn):
    version: int | None = VERSION


class OpportunityOut(Schema):
    id: int
    name: str
    account_id: int
    contact_id: int | None
    pipeline_id: int
    stage_id: int
    stage_name: str
    status: OpportunityStatus
    amount: Decimal
    currency: str
    probability: int | None
    effective_probability: int
    forecast_category: ForecastCategory
    close_date: datetime.date
    owner_id: int | None
    team_id: int | None
    next_step: str
    next_step_on: datetime.date | None
    competitor_ids: list[int]
    close_reason_id: int | None
    close_note: str
    lost_to_id: int | None
    closed_at: datetime.datetime | None
    lead_id: int | None
    campaign_id: int | None
    hub_order_id: int | None
    stage_entered_at: datetime.datetime
    board_rank: float
    stale_alerted_at: datetime.datetime | None
    created_at: datetime.datetime
    updated_at: datetime.datetime
    version: int

    @staticmethod
    def resolve_stage_name(obj):
        return obj.stage.name

    @staticmethod
    def resolve_competitor_ids(obj):
        return sorted(competitor.pk for competitor in obj.competitors.all())


class OpportunityDetailOut(OpportunityOut):
    lines: list[LineOut]

    @staticmethod
    def resolve_lines(obj):
        return list(obj.lines.all())


class OpportunityIn(Input):
    name: str = Field(min_length=1, max_length=200)
    account_id: int = Field(ge=1, le=MAX_INT)
    contact_id: int | None = ID
    close_date: datetime.date
    amount: Decimal | None = AMOUNT
    currency: str | None = Field(None, min_length=3, max_length=3)
    pipeline_id: int | None = ID
    stage_id: int | None = ID
    owner_id: int | None = ID
    team_id: int | None = ID
    next_step: str = Field("", max_length=200)
    next_step_on: datetime.date | None = None
    probability: int | None = Field(None, ge=0, le=100)
    forecast_category: ForecastCategory | None = None
    competitor_ids: list[int] = Field(default_factory=list, max_length=20)
    campaign_id: int | None = ID
    lines: list[LineIn] = Field(default_factory=list, max_length=200)


class OpportunityUpdateIn(Input):
    version: int = Field(ge=1, le=MAX_INT)
    name: str | None = Field(None, min_length=1, max_length=200)
    account_id: int | None = ID
    contact_id: int | None = ID
    close_date: datetime.date | None = None
    amount: Decimal | None = AMOUNT
    currency: str | None = Field(None, min_length=3, max_length=3)
    owner_id: int | None = ID
    team_id: int | None = ID
    next_step: str | None = Field(None, max_length=200)
    next_step_on: datetime.date | None = None
    probability: int | None = Field(None, ge=0, le=100)
    forecast_category: ForecastCategory | None = None
    competitor_ids: list[int] | None = Field(None, max_length=20)
    campaign_id: int | None = ID


class MoveIn(Input):
    stage_id: int = Field(ge=1, le=MAX_INT)
    after_id: int | None = Field(None, ge=1, le=MAX_INT,
                                 description="Place below this card of the target column")
    before_id: int | None = Field(None, ge=1, le=MAX_INT,
                                  description="Place above this card of the target column")
    version: int | None = VERSION


class CloseIn(Input):
    won: bool
    reason_id: int | None = ID
    note: str = Field("", max_length=2000)
    lost_to_id: int | None = ID
    version: int | None = VERSION


class ReopenIn(Input):
    stage_id: int | None = ID
    version: int | None = VERSION


class StageChangeOut(Schema):
    id: int
    from_stage_id: int | None
    from_stage: str | None
    to_stage_id: int
    to_stage: str
    seconds_in_previous: int
    seconds_in_stage: int
    amount: Decimal
    changed_by_id: int | None
    changed_by: str | None
    changed_at: datetime.datetime

    @staticmethod
    def resolve_from_stage(obj):
        return obj.from_stage.name if obj.from_stage else None

    @staticmethod
    def resolve_to_stage(obj):
        return obj.to_stage.name

    @staticmethod
    def resolve_changed_by(obj):
        return obj.changed_by.get_username() if obj.changed_by else None


class CardOut(Schema):
    id: int
    name: str
    account_id: int
    account_name: str
    amount: Decimal
    currency: str
    close_date: datetime.date
    owner_id: int | None
    board_rank: float
    stale: bool
    version: int

    @staticmethod
    def resolve_account_name(obj):
        return obj.account.name

    @staticmethod
    def resolve_stale(obj):
        return obj.stale_alerted_at is not None


class TotalOut(Schema):
    currency: str
    amount: Decimal


class ColumnOut(Schema):
    stage: StageOut
    count: int
    totals: list[TotalOut]
    cards: list[CardOut]
    next_cursor: str | None


class BoardOut(Schema):
    pipeline_id: int
    columns: list[ColumnOut]


class OpportunityFilters(PageParams):
    status: str = Field("open", description="open, won, lost, closed or all")
    owner: str | None = Field(None, max_length=20, description="'mine', 'none' or a user id")
    team: int | None = ID
    stage: int | None = ID
    pipeline: int | None = ID
    account: int | None = ID
    close_from: datetime.date | None = None
    close_to: datetime.date | None = None
    q: str | None = Field(None, max_length=100)
    sort: str = Field("newest", description=", ".join(selectors.SORTS))


class BoardFilters(Schema):
    owner: str | None = Field(None, max_length=20)
    team: int | None = ID
    q: str | None = Field(None, max_length=100)
    limit: int = Field(selectors.BOARD_CARDS, ge=1, le=selectors.MAX_BOARD_CARDS)


class ColumnFilters(BoardFilters):
    cursor: str | None = Field(None, max_length=500)


# --- Helpers -------------------------------------------------------------------------------


def _not_found(field):
    return ProblemError(404, code="not_found", detail="Not found.", errors=[{
        "field": field, "loc": ["body", field], "message": "Not found.", "code": "not_found"}])


def _invalid(field, message, where="query"):
    return ProblemError(422, code="validation_error", detail=message, errors=[{
        "field": field, "loc": [where, field], "message": message, "code": "invalid"}])


def _call(func):
    """Run a service; references outside the organization become 404."""
    try:
        return func()
    except SalesError as error:
        if error.code == "not_found":
            raise _not_found(error.field or "id") from error
        raise


def _opportunity(membership, pk):
    return get_for_org_or_404(
        Opportunity.objects.select_related("stage").prefetch_related("competitors"),
        membership.organization, pk=pk)


def _pipeline(membership, pk):
    return get_for_org_or_404(Pipeline.objects.filter(archived_at__isnull=True),
                              membership.organization, pk=pk)


def _row(queryset, pk, field):
    if pk is None:
        return None
    row = queryset.filter(pk=pk).first()
    if row is None:
        raise _not_found(field)
    return row


def _detail(opportunity):
    return (Opportunity.objects.select_related("stage")
            .prefetch_related("competitors", "lines").get(pk=opportunity.pk))


def _filters(filters):
    return {"owner": filters.owner or "", "team": filters.team or "", "q": filters.q or ""}


# --- Pipelines and settings ----------------------------------------------------------------


@router.get("/sales/pipelines", response=list[PipelineOut])
def pipeline_list(request):
    membership = require(request, SALES_VIEW)
    return list(for_org(Pipeline, membership.organization).filter(archived_at__isnull=True)
                .prefetch_related("stages").order_by("-is_default", "name")[:100])


@router.post("/sales/pipelines", response={201: PipelineOut})
@idempotent
def pipeline_create(request, payload: PipelineIn):
    """A new pipeline with the default stages (edit them afterwards)."""
    membership = require(request, SALES_EDIT)
    pipeline = opps.pipeline_save(organization=membership.organization, actor=request.user,
                                  **payload.dict())
    return Status(201, Pipeline.objects.prefetch_related("stages").get(pk=pipeline.pk))


@router.get("/sales/pipelines/{pipeline_id}", response=PipelineOut)
def pipeline_get(request, pipeline_id: int):
    membership = require(request, SALES_VIEW)
    return _pipeline(membership, pipeline_id)


@router.put("/sales/pipelines/{pipeline_id}", response=PipelineOut)
def pipeline_update(request, pipeline_id: int, payload: PipelineIn):
    membership = require(request, SALES_EDIT)
    pipeline = _pipeline(membership, pipeline_id)
    opps.pipeline_save(organization=membership.organization, actor=request.user,
                       pipeline=pipeline, **payload.dict())
    return Pipeline.objects.prefetch_related("stages").get(pk=pipeline.pk)


@router.delete("/sales/pipelines/{pipeline_id}", response={204: None})
def pipeline_archive(request, pipeline_id: int):
    """Archive a pipeline (not the default one, and only without open deals)."""
    membership = require(request, SALES_EDIT)
    pipeline = _pipeline(membership, pipeline_id)
    _call(lambda: opps.pipeline_archive(pipeline=pipeline, actor=request.user))
    return Status(204, None)


@router.post("/sales/pipelines/{pipeline_id}/stages", response={201: StageOut})
def stage_create(request, pipeline_id: int, payload: StageIn):
    membership = require(request, SALES_EDIT)
    pipeline = _pipeline(membership, pipeline_id)
    return Status(201, opps.stage_save(pipeline=pipeline, actor=request.user,
                                       **payload.dict()))


@router.put("/sales/pipelines/{pipeline_id}/stages/{stage_id}", response=StageOut)
def stage_update(request, pipeline_id: int, stage_id: int, payload: StageIn):
    membership = require(request, SALES_EDIT)
    pipeline = _pipeline(membership, pipeline_id)
    stage = get_for_org_or_404(PipelineStage.objects.filter(pipeline=pipeline),
                               membership.organization, pk=stage_id)
    return opps.stage_save(pipeline=pipeline, actor=request.user, stage=stage,
                           **payload.dict())


@router.delete("/sales/pipelines/{pipeline_id}/stages/{stage_id}", response={204: None})
def stage_delete(request, pipeline_id: int, stage_id: int):
    membership = require(request, SALES_EDIT)
    pipeline = _pipeline(membership, pipeline_id)
    stage = get_for_org_or_404(PipelineStage.objects.filter(pipeline=pipeline),
                               membership.organization, pk=stage_id)
    _call(lambda: opps.stage_delete(stage=stage, actor=request.user))
    return Status(204, None)


@router.get("/sales/close-reasons", response=list[ReasonOut])
def close_reason_list(request):
    membership = require(request, SALES_VIEW)
    return list(for_org(CloseReason, membership.organization)[:500])


@router.post("/sales/close-reasons", response={201: ReasonOut})
def close_reason_create(request, payload: ReasonIn):
    membership = require(request, SALES_EDIT)
    return Status(201, opps.close_reason_save(organization=membership.organization,
                                              actor=request.user, **payload.dict()))


@router.put("/sales/close-reasons/{reason_id}", response=ReasonOut)
def close_reason_update(request, reason_id: int, payload: ReasonIn):
    membership = require(request, SALES_EDIT)
    reason = get_for_org_or_404(CloseReason, membership.organization, pk=reason_id)
    return opps.close_reason_save(organization=membership.organization, actor=request.user,
                                  reason=reason, **payload.dict())


@router.get("/sales/competitors", response=list[CompetitorOut])
def competitor_list(request):
    membership = require(request, SALES_VIEW)
    return list(for_org(Competitor, membership.organization)[:1000])


@router.post("/sales/competitors", response={201: CompetitorOut})
def competitor_create(request, payload: CompetitorIn):
    membership = require(request, SALES_EDIT)
    return Status(201, opps.competitor_save(organization=membership.organization,
                                            actor=request.user, name=payload.name))


@router.delete("/sales/competitors/{competitor_id}", response={204: None})
def competitor_delete(request, competitor_id: int):
    membership = require(request, SALES_EDIT)
    competitor = get_for_org_or_404(Competitor, membership.organization, pk=competitor_id)
    opps.competitor_delete(competitor=competitor, actor=request.user)
    return Status(204, None)


# --- Board ---------------------------------------------------------------------------------


@router.get("/sales/pipelines/{pipeline_id}/board", response=BoardOut)
def board(request, pipeline_id: int, filters: Query[BoardFilters]):
    """Columns of the open stages: count, sums per currency and the first cards."""
    membership = require(request, SALES_VIEW)
    pipeline = _pipeline(membership, pipeline_id)
    columns = selectors.board(organization=membership.organization, pipeline=pipeline,
                              user=request.user, limit=filters.limit, **_filters(filters))
    return {"pipeline_id": pipeline.pk, "columns": [{
        "stage": column.stage, "count": column.count,
        "totals": [{"currency": c, "amount": a} for c, a in column.totals],
        "cards": column.cards, "next_cursor": column.next_cursor} for column in columns]}


@router.get("/sales/pipelines/{pipeline_id}/board/{stage_id}", response=Page[CardOut])
def board_column(request, pipeline_id: int, stage_id: int, filters: Query[ColumnFilters]):
    """More cards of one column: pass the column's next_cursor."""
    membership = require(request, SALES_VIEW)
    pipeline = _pipeline(membership, pipeline_id)
    stage = get_for_org_or_404(PipelineStage.objects.filter(pipeline=pipeline),
                               membership.organization, pk=stage_id)
    return selectors.board_column_page(
        organization=membership.organization, pipeline=pipeline, stage=stage,
        cursor=filters.cursor, limit=filters.limit, user=request.user, **_filters(filters))


# --- Opportunities -------------------------------------------------------------------------


@router.get("/sales/opportunities", response=Page[OpportunityOut])
def opportunity_list(request, filters: Query[OpportunityFilters]):
    """Opportunities (default: open, newest first), keyset-paginated."""
    membership = require(request, SALES_VIEW)
    if filters.status not in selectors.STATUS_FILTERS:
        raise _invalid("status", "Unknown status.")
    if filters.sort not in selectors.SORTS:
        raise _invalid("sort", "Unknown sort.")
    page = selectors.opportunity_list(
        organization=membership.organization, user=request.user, sort=filters.sort,
        cursor=filters.cursor, limit=filters.limit, status=filters.status,
        owner=filters.owner or "", team=filters.team or "", stage=filters.stage or "",
        pipeline=filters.pipeline or "", account=filters.account or "",
        close_from=filters.close_from.isoformat() if filters.close_from else "",
        close_to=filters.close_to.isoformat() if filters.close_to else "",
        q=filters.q or "")
    prefetch_related_objects(page.items, "competitors")
    return page


@router.post("/sales/opportunities", response={201: OpportunityDetailOut})
@idempotent
def opportunity_create(request, payload: OpportunityIn):
    """Open a deal (default pipeline and its first open stage unless given). With `lines`
    the amount is their sum. Send an `Idempotency-Key` to retry safely."""
    membership = require(request, SALES_EDIT)
    data = payload.dict()
    lines = [{"product": line.pop("product_id"), **line} for line in data.pop("lines")]
    opportunity = _call(lambda: opps.opportunity_create(
        organization=membership.organization, actor=request.user, name=data["name"],
        account=data["account_id"], contact=data["contact_id"], close_date=data["close_date"],
        amount=data["amount"], currency=data["currency"], pipeline=data["pipeline_id"],
        stage=data["stage_id"], owner=data["owner_id"], team=data["team_id"],
        next_step=data["next_step"], next_step_on=data["next_step_on"],
        probability=data["probability"], forecast_category=data["forecast_category"],
        competitors=data["competitor_ids"], campaign=data["campaign_id"], lines=lines))
    return Status(201, _detail(opportunity))


@router.get("/sales/opportunities/{opportunity_id}", response=OpportunityDetailOut)
def opportunity_get(request, opportunity_id: int):
    membership = require(request, SALES_VIEW)
    return _detail(_opportunity(membership, opportunity_id))


@router.patch("/sales/opportunities/{opportunity_id}", response=OpportunityDetailOut)
def opportunity_update(request, opportunity_id: int, payload: OpportunityUpdateIn):
    """Change fields; `version` must match (409 otherwise). Send null to clear contact,
    owner, team, next step date, probability or campaign."""
    membership = require(request, SALES_EDIT)
    opportunity = _opportunity(membership, opportunity_id)
    changes = payload.dict(exclude_unset=True)
    version = changes.pop("version")
    renames = {"account_id": "account", "contact_id": "contact", "owner_id": "owner",
               "team_id": "team", "campaign_id": "campaign", "competitor_ids": "competitors"}
    changes = {renames.get(key, key): value for key, value in changes.items()}
    for required in ("name", "account", "close_date", "amount", "currency"):
        if required in changes and changes[required] is None:
            raise _invalid(required, "This field cannot be empty.", where="body")
    opportunity = _call(lambda: opps.opportunity_update(
        opportunity=opportunity, actor=request.user, version=version, **changes))
    return _detail(opportunity)


@router.post("/sales/opportunities/{opportunity_id}/move", response=OpportunityOut)
def opportunity_move(request, opportunity_id: int, payload: MoveIn):
    """Move to an open stage of the same pipeline and/or between two cards of that column."""
    membership = require(request, SALES_EDIT)
    opportunity = _opportunity(membership, opportunity_id)
    return _detail(_call(lambda: opps.opportunity_move(
        opportunity=opportunity, actor=request.user, stage=payload.stage_id,
        after=payload.after_id, before=payload.before_id, version=payload.version)))


@router.post("/sales/opportunities/{opportunity_id}/close", response=OpportunityOut)
def opportunity_close(request, opportunity_id: int, payload: CloseIn):
    """Close as won or lost (lost needs `reason_id` from /sales/close-reasons)."""
    membership = require(request, SALES_EDIT)
    opportunity = _opportunity(membership, opportunity_id)
    return _detail(_call(lambda: opps.opportunity_close(
        opportunity=opportunity, actor=request.user, won=payload.won,
        reason=payload.reason_id, note=payload.note, lost_to=payload.lost_to_id,
        version=payload.version)))


@router.post("/sales/opportunities/{opportunity_id}/reopen", response=OpportunityOut)
def opportunity_reopen(request, opportunity_id: int, payload: ReopenIn):
    membership = require(request, SALES_EDIT)
    opportunity = _opportunity(membership, opportunity_id)
    return _detail(_call(lambda: opps.opportunity_reopen(
        opportunity=opportunity, actor=request.user, stage=payload.stage_id,
        version=payload.version)))


@router.get("/sales/opportunities/{opportunity_id}/history", response=list[StageChangeOut])
def opportunity_history(request, opportunity_id: int):
    """Stage history, oldest first: who moved it and how long it stayed in each stage."""
    membership = require(request, SALES_VIEW)
    return selectors.stage_history(_opportunity(membership, opportunity_id))


@router.get("/sales/opportunities/{opportunity_id}/lines", response=list[LineOut])
def line_list(request, opportunity_id: int):
    membership = require(request, SALES_VIEW)
    return list(_opportunity(membership, opportunity_id).lines.all())


@router.post("/sales/opportunities/{opportunity_id}/lines", response={201: LineOut})
def line_add(request, opportunity_id: int, payload: LineAddIn):
    """Add a line; the amount becomes the sum of the lines."""
    membership = require(request, SALES_EDIT)
    opportunity = _opportunity(membership, opportunity_id)
    data = payload.dict()
    version = data.pop("version")
    data["product"] = data.pop("product_id")
    return Status(201, _call(lambda: opps.opportunity_line_add(
        opportunity=opportunity, actor=request.user, version=version, **data)))


def _line(membership, opportunity_id, line_id):
    opportunity = _opportunity(membership, opportunity_id)
    line = OpportunityLine.objects.filter(opportunity=opportunity, pk=line_id).first()
    if line is None:
        raise _not_found("line_id")
    line.opportunity = opportunity
    return line


@router.patch("/sales/opportunities/{opportunity_id}/lines/{line_id}", response=LineOut)
def line_update(request, opportunity_id: int, line_id: int, payload: LineUpdateIn):
    membership = require(request, SALES_EDIT)
    line = _line(membership, opportunity_id, line_id)
    changes = payload.dict(exclude_unset=True)
    version = changes.pop("version", None)
    if "product_id" in changes:
        changes["product"] = changes.pop("product_id")
    for required in ("description", "quantity", "unit_price", "discount_percent"):
        if required in changes and changes[required] is None:
            raise _invalid(required, "This field cannot be empty.", where="body")
    return _call(lambda: opps.opportunity_line_update(line=line, actor=request.user,
                                                      version=version, **changes))


@router.delete("/sales/opportunities/{opportunity_id}/lines/{line_id}", response={204: None})
def line_remove(request, opportunity_id: int, line_id: int, version: int | None = None):
    membership = require(request, SALES_EDIT)
    line = _line(membership, opportunity_id, line_id)
    _call(lambda: opps.opportunity_line_remove(line=line, actor=request.user, version=version))
    return Status(204, None)
