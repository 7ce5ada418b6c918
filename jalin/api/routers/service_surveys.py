"""Satisfaction surveys API: survey settings, invitations (manual send), answers, statistics;
and the buyer's side (its invitations, answering one).

Another organization's survey, account or invitation is 404 like a missing one; a stale
`version` is 409; an answer that cannot be taken is 403 (self-rating), 409 (already
answered), 410 (expired or withdrawn) or 422 (score not on the scale). Nothing changes then.
"""

import datetime
from decimal import Decimal

from ninja import Field, Query, Router, Schema, Status

from jalin.crm.models import Account, Contact
from jalin.service import survey_selectors as selectors
from jalin.service import surveys
from jalin.service.models import InvitationStatus, SurveyKind, SurveyTrigger
from jalin.tenancy.access import get_for_org_or_404
from jalin.tenancy.roles import SERVICE_EDIT, SERVICE_VIEW

from ..auth import require
from ..errors import ProblemError
from ..idempotency import idempotent
from ..pagination import Page, PageParams, paginate
from ..schemas import MAX_INT, Input

router = Router(tags=["service surveys"])

STATUS_FOR = {"self_rating": 403, "forbidden": 403, "already_answered": 409, "expired": 410,
              "cancelled": 410, "not_found": 404}


def _raise(error):
    status = STATUS_FOR.get(error.code)
    if status is None:
        raise error  # 422 with the field, through the shared TenancyError handler
    raise ProblemError(status, code=error.code, detail=error.message) from error


# --- Schemas -------------------------------------------------------------------------------


class SurveyIn(Input):
    name: str = Field(min_length=1, max_length=120)
    kind: SurveyKind
    question: str = Field(min_length=1, max_length=300)
    trigger: SurveyTrigger
    good_threshold: int = Field(description="Required, no default: from this score an "
                                            "answer is good (on the kind's scale)")
    follow_up_at_or_below: int | None = None
    follow_up_on_comment: bool = False
    invitation_valid_days: int = Field(14, ge=1, le=surveys.MAX_VALID_DAYS)
    period_days: int | None = Field(None, ge=1, le=surveys.MAX_PERIOD_DAYS,
                                    description="Periodic surveys only")
    is_active: bool = True


class SurveyPatch(Input):
    version: int = Field(ge=1, le=MAX_INT)
    name: str | None = Field(None, min_length=1, max_length=120)
    kind: SurveyKind | None = None
    question: str | None = Field(None, min_length=1, max_length=300)
    trigger: SurveyTrigger | None = None
    good_threshold: int | None = None
    follow_up_at_or_below: int | None = None
    follow_up_on_comment: bool | None = None
    invitation_valid_days: int | None = Field(None, ge=1, le=surveys.MAX_VALID_DAYS)
    period_days: int | None = Field(None, ge=1, le=surveys.MAX_PERIOD_DAYS)
    is_active: bool | None = None


class SurveyOut(Schema):
    id: int
    name: str
    kind: SurveyKind
    scale_min: int
    scale_max: int
    question: str
    trigger: SurveyTrigger
    good_threshold: int
    follow_up_at_or_below: int | None
    follow_up_on_comment: bool
    invitation_valid_days: int
    period_days: int | None
    is_active: bool
    created_at: datetime.datetime
    version: int

    @staticmethod
    def resolve_scale_min(obj):
        return obj.scale[0]

    @staticmethod
    def resolve_scale_max(obj):
        return obj.scale[1]


class InvitationOut(Schema):
    id: int
    survey_id: int
    case_id: int | None
    account_id: int | None
    contact_id: int | None
    buyer_id: int | None
    recipient_user_id: int | None
    recipient_email: str
    status: InvitationStatus
    period_start: datetime.date | None
    sent_at: datetime.datetime
    expires_at: datetime.datetime
    answered_at: datetime.datetime | None


class InvitationCreatedOut(InvitationOut):
    answer_url: str = Field(description="The answer link with its token; shown only now "
                                        "(only a hash of the token is kept)")


class SendIn(Input):
    account_id: int = Field(ge=1, le=MAX_INT)
    contact_id: int | None = Field(None, ge=1, le=MAX_INT,
                                   description="Default: the account's decision maker")


class AnswerOut(Schema):
    id: int
    survey_id: int
    survey_kind: SurveyKind
    invitation_id: int
    score: int
    normalized: Decimal
    good: bool
    comment: str
    case_id: int | None
    account_id: int | None
    follow_up_case_id: int | None
    created_at: datetime.datetime

    @staticmethod
    def resolve_survey_kind(obj):
        return obj.survey.kind


class AnswerFilters(PageParams):
    survey_id: int | None = Field(None, ge=1, le=MAX_INT)
    kind: SurveyKind | None = None
    account_id: int | None = Field(None, ge=1, le=MAX_INT)
    date_from: datetime.date | None = Field(None, alias="from")
    date_to: datetime.date | None = Field(None, alias="to")
    score_min: int | None = Field(None, ge=0, le=10)
    score_max: int | None = Field(None, ge=0, le=10)
    good: bool | None = None
    follow_up: bool | None = None


class InvitationFilters(PageParams):
    status: InvitationStatus | None = None
    account_id: int | None = Field(None, ge=1, le=MAX_INT)


class StatsParams(Schema):
    survey_id: int | None = Field(None, ge=1, le=MAX_INT)
    account_id: int | None = Field(None, ge=1, le=MAX_INT)
    months: int = Field(12, ge=1, le=selectors.MAX_MONTHS)


class StatsRow(Schema):
    label: str
    sent: int
    answered: int
    expired: int
    response_rate: Decimal | None = Field(description="answered ÷ sent × 100")
    answers: int
    csat: Decimal | None = Field(description="% of CSAT answers at or above the good score")
    csat_answers: int
    nps: Decimal | None = Field(description="% promoters (9–10) − % detractors (0–6)")
    nps_answers: int
    ces: Decimal | None = Field(description="Mean CES score (1–7)")
    ces_answers: int
    answers_query: dict = Field(description="Filters of GET /service/survey-answers that "
                                             "list the answers behind this row")


class AccountStatsRow(StatsRow):
    account_id: int | None


class StatsOut(Schema):
    months: list[str]
    total: StatsRow
    by_month: list[StatsRow]
    by_account: list[AccountStatsRow]


class PortalInvitationOut(Schema):
    id: int
    supplier: str
    question: str
    kind: SurveyKind
    scale_min: int
    scale_max: int
    case_number: int | None
    status: InvitationStatus
    state: str = Field(description="open, answered, expired or cancelled")
    sent_at: datetime.datetime
    expires_at: datetime.datetime


class AnswerIn(Input):
    score: int = Field(description="A whole number on the survey's scale; no default")
    comment: str = Field("", max_length=surveys.MAX_COMMENT)


# --- Staff endpoints -----------------------------------------------------------------------


@router.get("/service/surveys", response=Page[SurveyOut])
def survey_list(request, params: Query[PageParams]):
    membership = require(request, SERVICE_VIEW)
    return paginate(selectors.surveys_for(organization=membership.organization),
                    cursor=params.cursor, limit=params.limit, order=("-id",))


@router.post("/service/surveys", response={201: SurveyOut})
@idempotent
def survey_create(request, payload: SurveyIn):
    membership = require(request, SERVICE_EDIT)
    values = payload.model_dump()
    values["kind"], values["trigger"] = payload.kind.value, payload.trigger.value
    try:
        survey = surveys.survey_create(organization=membership.organization,
                                       actor=request.user, **values)
    except surveys.SurveyError as error:
        _raise(error)
    return Status(201, survey)


@router.get("/service/surveys/{survey_id}", response=SurveyOut)
def survey_detail(request, survey_id: int):
    membership = require(request, SERVICE_VIEW)
    return selectors.survey_detail(organization=membership.organization, pk=survey_id)


@router.patch("/service/surveys/{survey_id}", response=SurveyOut)
@idempotent
def survey_update(request, survey_id: int, payload: SurveyPatch):
    membership = require(request, SERVICE_EDIT)
    survey = selectors.survey_detail(organization=membership.organization, pk=survey_id)
    changes = payload.model_dump(exclude_unset=True)
    version = changes.pop("version")
    for key in ("kind", "trigger"):
        if changes.get(key) is not None:
            changes[key] = changes[key].value if hasattr(changes[key], "value") else changes[key]
    try:
        return surveys.survey_update(survey=survey, actor=request.user, version=version,
                                     **changes)
    except surveys.SurveyError as error:
        _raise(error)


@router.get("/service/surveys/{survey_id}/invitations", response=Page[InvitationOut])
def invitation_list(request, survey_id: int, filters: Query[InvitationFilters]):
    membership = require(request, SERVICE_VIEW)
    survey = selectors.survey_detail(organization=membership.organization, pk=survey_id)
    queryset = selectors.invitations_for(organization=membership.organization,
                                         survey_id=survey.pk, status=filters.status,
                                         account_id=filters.account_id)
    return paginate(queryset, cursor=filters.cursor, limit=filters.limit, order=("-id",))


@router.post("/service/surveys/{survey_id}/invitations", response={201: InvitationCreatedOut})
@idempotent
def invitation_send(request, survey_id: int, payload: SendIn):
    """Send the survey to an account by hand (its contact or decision maker by e-mail, and
    its buyer organization's portal). The response carries the answer link once."""
    membership = require(request, SERVICE_EDIT)
    organization = membership.organization
    survey = selectors.survey_detail(organization=organization, pk=survey_id)
    account = get_for_org_or_404(Account, organization, pk=payload.account_id)
    contact = (get_for_org_or_404(Contact, organization, pk=payload.contact_id)
               if payload.contact_id else None)
    base_url = request.build_absolute_uri("/").rstrip("/")
    try:
        invitation, token = surveys.invitation_send_manual(
            survey=survey, account=account, contact=contact, actor=request.user,
            base_url=base_url)
    except surveys.SurveyError as error:
        _raise(error)
    invitation.answer_url = surveys.answer_url(token, base_url=base_url)
    return Status(201, invitation)


@router.get("/service/survey-answers", response=Page[AnswerOut])
def answer_list(request, filters: Query[AnswerFilters]):
    """Answers, newest first; the filters are those the dashboard's links use."""
    membership = require(request, SERVICE_VIEW)
    queryset = selectors.responses_for(
        organization=membership.organization, filters=selectors.AnswerFilters(
            survey_id=filters.survey_id, kind=filters.kind.value if filters.kind else None,
            account_id=filters.account_id, date_from=filters.date_from,
            date_to=filters.date_to, score_min=filters.score_min,
            score_max=filters.score_max, good=filters.good, follow_up=filters.follow_up))
    return paginate(queryset, cursor=filters.cursor, limit=filters.limit, order=("-id",))


def _stats_row(bucket, **extra):
    return {
        "label": bucket.label, "sent": bucket.sent, "answered": bucket.answered,
        "expired": bucket.expired, "response_rate": bucket.response_rate,
        "answers": bucket.answers(), "csat": bucket.csat,
        "csat_answers": bucket.answers(SurveyKind.CSAT), "nps": bucket.nps,
        "nps_answers": bucket.answers(SurveyKind.NPS), "ces": bucket.ces,
        "ces_answers": bucket.answers(SurveyKind.CES),
        "answers_query": {key: str(value) for key, value in bucket.link().items()}, **extra,
    }


@router.get("/service/survey-stats", response=StatsOut)
def survey_stats(request, params: Query[StatsParams]):
    """CSAT %, NPS, CES and response rate by month, in total and by account."""
    membership = require(request, SERVICE_VIEW)
    survey = (selectors.survey_detail(organization=membership.organization,
                                      pk=params.survey_id) if params.survey_id else None)
    data = selectors.dashboard(organization=membership.organization, survey=survey,
                               account_id=params.account_id, months=params.months)
    return {
        "months": [day.strftime("%Y-%m") for day in data.months],
        "total": _stats_row(data.total),
        "by_month": [_stats_row(bucket) for bucket in data.by_month],
        "by_account": [_stats_row(bucket, account_id=bucket.key)
                       for bucket in data.by_account],
    }


# --- Buyer (portal) endpoints --------------------------------------------------------------


def _portal_out(invitation):
    survey = invitation.survey
    return {
        "id": invitation.pk, "supplier": survey.organization.name, "question": survey.question,
        "kind": survey.kind, "scale_min": survey.scale[0], "scale_max": survey.scale[1],
        "case_number": invitation.case.number if invitation.case_id else None,
        "status": invitation.status, "state": surveys.invitation_state(invitation),
        "sent_at": invitation.sent_at, "expires_at": invitation.expires_at,
    }


@router.get("/service/portal/survey-invitations", response=Page[PortalInvitationOut])
def portal_invitation_list(request, params: Query[PageParams]):
    """The surveys addressed to your (buyer) organization, newest first."""
    membership = require(request, SERVICE_VIEW)
    page = paginate(selectors.portal_invitations(buyer=membership.organization),
                    cursor=params.cursor, limit=params.limit, order=("-id",))
    page.items = [_portal_out(item) for item in page.items]
    return page


@router.post("/service/portal/survey-invitations/{invitation_id}/answer",
             response={201: AnswerOut})
@idempotent
def portal_answer(request, invitation_id: int, payload: AnswerIn):
    membership = require(request, SERVICE_VIEW)
    invitation = selectors.portal_invitation(buyer=membership.organization, pk=invitation_id)
    try:
        response = surveys.survey_answer(invitation=invitation, score=payload.score,
                                         comment=payload.comment, user=request.user)
    except surveys.SurveyError as error:
        _raise(error)
    return Status(201, response)
