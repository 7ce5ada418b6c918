"""The campaigns API: campaigns (list, create with variants, read with status and progress —
preparing, then sending —, update while draft with `version`), variants, schedule,
unschedule, launch, cancel, resume, recipients, per-variant counts, and the reply hook.

Reads need `sales.view`, writes `sales.edit`. Another organization's campaign, variant,
segment or promotion — in the path or the body — is 404 like a missing one; a stale `version`
is 409; launching twice (or cancelling a finished campaign) is 409; anything else that cannot
be done is 422 naming the field, and changes nothing.
"""

import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from ninja import Field, Query, Router, Schema, Status

from jalin.core.params import int_param
from jalin.sales import campaigns
from jalin.sales.models import (
    Campaign,
    CampaignChannel,
    CampaignRecipient,
    CampaignStatus,
    CampaignVariant,
    PrimaryMetric,
)
from jalin.tenancy.access import for_org, get_for_org_or_404
from jalin.tenancy.roles import SALES_EDIT, SALES_VIEW

from ..auth import require
from ..errors import ProblemError
from ..idempotency import idempotent
from ..pagination import Page, PageParams, paginate
from ..schemas import MAX_INT, Input

router = Router(tags=["sales campaigns"])

ID = Field(None, ge=1, le=MAX_INT)
CONFLICTS = ("already_launched", "not_cancellable", "not_sending", "not_draft",
             "not_scheduled")
MAX_REPLY_BYTES = 1024 * 1024


class VariantOut(Schema):
    id: int
    name: str
    weight: int
    subject: str
    body: str
    offer_url: str


class ProgressOut(Schema):
    phase: str = Field(description="waiting (draft, scheduled), preparing (the segment is "
                                   "being copied into recipients), sending or done")
    prepared: int = Field(description="Segment members copied into recipients so far")
    expected: int = Field(description="Members expected (the segment's stored count at "
                                      "launch: an estimate)")
    recipients: int
    skipped: int
    holdout: int
    to_send: int
    sent: int
    percent: int


class CampaignOut(Schema):
    id: int
    name: str
    channel: CampaignChannel
    status: CampaignStatus
    segment_id: int | None
    promotion_id: int | None
    holdout_percent: Decimal
    primary_metric: PrimaryMetric
    attribution_days: int
    baseline_rate: Decimal | None
    minimum_detectable_effect: Decimal | None
    budget: Decimal | None
    owner_id: int | None
    seed: str
    scheduled_for: datetime.datetime | None
    sent_at: datetime.datetime | None
    send_error: str
    created_at: datetime.datetime
    version: int
    variants: list[VariantOut]

    @staticmethod
    def resolve_scheduled_for(obj):
        return obj.scheduled_at

    @staticmethod
    def resolve_variants(obj):
        return sorted(obj.variants.all(), key=lambda variant: variant.pk)  # prefetched


class CampaignDetailOut(CampaignOut):
    progress: ProgressOut

    @staticmethod
    def resolve_progress(obj):
        return campaigns.campaign_progress(obj)


class VariantIn(Input):
    name: str = Field(min_length=1, max_length=60)
    weight: int = Field(1, ge=1, le=1000)
    subject: str = Field("", max_length=200)
    body: str = Field("", max_length=20000)
    offer_url: str = Field("", max_length=300)


class VariantUpdateIn(Input):
    name: str | None = Field(None, min_length=1, max_length=60)
    weight: int | None = Field(None, ge=1, le=1000)
    subject: str | None = Field(None, max_length=200)
    body: str | None = Field(None, max_length=20000)
    offer_url: str | None = Field(None, max_length=300)


class CampaignIn(Input):
    name: str = Field(min_length=1, max_length=150)
    channel: CampaignChannel = CampaignChannel.EMAIL
    segment_id: int | None = ID
    promotion_id: int | None = ID
    holdout_percent: Decimal = Field(Decimal("0"), ge=0, le=50, max_digits=5, decimal_places=2)
    primary_metric: PrimaryMetric = PrimaryMetric.CONVERSION
    attribution_days: int = Field(30, ge=1, le=365)
    baseline_rate: Decimal | None = Field(None, gt=0, lt=100, max_digits=6, decimal_places=3)
    minimum_detectable_effect: Decimal | None = Field(None, gt=0, lt=100, max_digits=6,
                                                      decimal_places=3)
    budget: Decimal | None = Field(None, ge=0, max_digits=18, decimal_places=2)
    owner_id: int | None = ID
    variants: list[VariantIn] = Field(default_factory=list, max_length=campaigns.MAX_VARIANTS)


class CampaignUpdateIn(Input):
    version: int = Field(ge=1, le=MAX_INT)
    name: str | None = Field(None, min_length=1, max_length=150)
    channel: CampaignChannel | None = None
    segment_id: int | None = ID
    promotion_id: int | None = ID
    holdout_percent: Decimal | None = Field(None, ge=0, le=50, max_digits=5, decimal_places=2)
    primary_metric: PrimaryMetric | None = None
    attribution_days: int | None = Field(None, ge=1, le=365)
    baseline_rate: Decimal | None = Field(None, gt=0, lt=100, max_digits=6, decimal_places=3)
    minimum_detectable_effect: Decimal | None = Field(None, gt=0, lt=100, max_digits=6,
                                                      decimal_places=3)
    budget: Decimal | None = Field(None, ge=0, max_digits=18, decimal_places=2)
    owner_id: int | None = ID


class VersionIn(Input):
    version: int | None = Field(None, ge=1, le=MAX_INT)


class ScheduleIn(Input):
    scheduled_for: datetime.datetime = Field(
        description="When to launch: a future time (ISO 8601; without an offset, the "
                    "server's time zone)")
    version: int | None = Field(None, ge=1, le=MAX_INT)


class CampaignFilters(PageParams):
    status: CampaignStatus | None = None
    channel: CampaignChannel | None = None


class RecipientOut(Schema):
    id: int
    contact_id: int
    account_id: int | None
    buyer_id: int | None
    variant_id: int | None
    email: str
    skipped_reason: str
    sent_at: datetime.datetime | None
    opened_at: datetime.datetime | None
    clicked_at: datetime.datetime | None
    replied_at: datetime.datetime | None
    unsubscribed_at: datetime.datetime | None
    converted_at: datetime.datetime | None
    revenue: Decimal


class RecipientFilters(PageParams):
    variant: str | None = Field(None, max_length=20,
                                description="A variant id, or 'holdout'")
    skipped: bool | None = Field(None, description="Only skipped (true) or not skipped (false)")


class CountsOut(Schema):
    variant_id: int | None
    name: str
    recipients: int
    skipped: int
    sent: int
    opened: int
    clicked: int
    replied: int
    unsubscribed: int


class ReplyOut(Schema):
    recipients: list[int]


# --- Helpers -------------------------------------------------------------------------------


def _not_found(field):
    return ProblemError(404, code="not_found", detail="Not found.", errors=[{
        "field": field, "loc": ["body", field], "message": "Not found.", "code": "not_found"}])


def _call(func):
    """Run a service; 'not found' references become 404, state conflicts 409."""
    try:
        return func()
    except campaigns.SalesError as error:
        if error.code == "not_found":
            raise _not_found(error.field or "id") from error
        if error.code in CONFLICTS:
            raise ProblemError(409, code=error.code, detail=error.message) from error
        raise


def _campaign(membership, campaign_id):
    return get_for_org_or_404(Campaign, membership.organization, pk=campaign_id)


def _variant(membership, campaign, variant_id):
    return get_for_org_or_404(CampaignVariant.objects.select_related("campaign__organization"),
                              membership.organization, pk=variant_id, campaign=campaign)


def _fields(data):
    renamed = {"segment_id": "segment", "promotion_id": "promotion", "owner_id": "owner"}
    return {renamed.get(key, key): value for key, value in data.items()}


# --- Campaigns -----------------------------------------------------------------------------


@router.get("/sales/campaigns", response=Page[CampaignOut])
def campaign_list(request, filters: Query[CampaignFilters]):
    """Campaigns, newest first, keyset-paginated."""
    membership = require(request, SALES_VIEW)
    queryset = for_org(Campaign, membership.organization).prefetch_related("variants")
    if filters.status:
        queryset = queryset.filter(status=filters.status)
    if filters.channel:
        queryset = queryset.filter(channel=filters.channel)
    return paginate(queryset, cursor=filters.cursor, limit=filters.limit, order=("-id",))


@router.post("/sales/campaigns", response={201: CampaignDetailOut})
@idempotent
def campaign_create(request, payload: CampaignIn):
    """A draft campaign with its variants (none given: one variant "A")."""
    membership = require(request, SALES_EDIT)
    data = payload.dict()
    variants = data.pop("variants") or None
    campaign = _call(lambda: campaigns.campaign_create(
        organization=membership.organization, actor=request.user, variants=variants,
        **_fields(data)))
    return Status(201, campaign)


@router.get("/sales/campaigns/{campaign_id}", response=CampaignDetailOut)
def campaign_get(request, campaign_id: int):
    membership = require(request, SALES_VIEW)
    return _campaign(membership, campaign_id)


@router.patch("/sales/campaigns/{campaign_id}", response=CampaignDetailOut)
def campaign_update(request, campaign_id: int, payload: CampaignUpdateIn):
    """Change a draft; `version` must match (409 otherwise). Send `null` to clear the
    segment, promotion, baseline, effect or budget."""
    membership = require(request, SALES_EDIT)
    campaign = _campaign(membership, campaign_id)
    changes = payload.dict(exclude_unset=True)
    version = changes.pop("version")
    nullable = {"segment_id", "promotion_id", "baseline_rate", "minimum_detectable_effect",
                "budget", "owner_id"}
    changes = {key: value for key, value in changes.items()
               if value is not None or key in nullable}
    return _call(lambda: campaigns.campaign_update(campaign=campaign, actor=request.user,
                                                   version=version, **_fields(changes)))


@router.post("/sales/campaigns/{campaign_id}/variants", response={201: VariantOut})
def variant_add(request, campaign_id: int, payload: VariantIn):
    membership = require(request, SALES_EDIT)
    campaign = _campaign(membership, campaign_id)
    return Status(201, _call(lambda: campaigns.variant_add(
        campaign=campaign, actor=request.user, **payload.dict())))


@router.patch("/sales/campaigns/{campaign_id}/variants/{variant_id}", response=VariantOut)
def variant_update(request, campaign_id: int, variant_id: int, payload: VariantUpdateIn):
    membership = require(request, SALES_EDIT)
    campaign = _campaign(membership, campaign_id)
    variant = _variant(membership, campaign, variant_id)
    changes = {key: value for key, value in payload.dict(exclude_unset=True).items()
               if value is not None}
    return _call(lambda: campaigns.variant_update(variant=variant, actor=request.user,
                                                  **changes))


@router.delete("/sales/campaigns/{campaign_id}/variants/{variant_id}", response={204: None})
def variant_remove(request, campaign_id: int, variant_id: int):
    """Remove a variant of a draft; the last one cannot go (422)."""
    membership = require(request, SALES_EDIT)
    campaign = _campaign(membership, campaign_id)
    variant = _variant(membership, campaign, variant_id)
    _call(lambda: campaigns.variant_remove(variant=variant, actor=request.user))
    return Status(204, None)


@router.post("/sales/campaigns/{campaign_id}/launch", response=CampaignDetailOut)
def campaign_launch(request, campaign_id: int):
    """Launch a draft or scheduled campaign now: it answers at once with status
    `preparing`; a background task copies the segment into recipients in batches
    (`progress.prepared` of `progress.expected`) and then sends (`progress.sent` of
    `progress.to_send`; status `sending`, then `sent`). Launching twice is 409."""
    membership = require(request, SALES_EDIT)
    campaign = _campaign(membership, campaign_id)
    return _call(lambda: campaigns.campaign_launch(campaign=campaign, actor=request.user))


@router.post("/sales/campaigns/{campaign_id}/schedule", response=CampaignDetailOut)
def campaign_schedule(request, campaign_id: int, payload: ScheduleIn):
    """Launch a draft later, at `scheduled_for` (or move a scheduled campaign's time). A
    time in the past is 422 (`scheduled_for`); a launched campaign is 409; the campaign is
    checked as a launch would be (segment, complete variants)."""
    membership = require(request, SALES_EDIT)
    campaign = _campaign(membership, campaign_id)
    return _call(lambda: campaigns.campaign_schedule(
        campaign=campaign, actor=request.user, scheduled_for=payload.scheduled_for,
        version=payload.version))


@router.post("/sales/campaigns/{campaign_id}/unschedule", response=CampaignDetailOut)
def campaign_unschedule(request, campaign_id: int, payload: VersionIn):
    """A scheduled campaign back to draft (409 when it is not scheduled)."""
    membership = require(request, SALES_EDIT)
    campaign = _campaign(membership, campaign_id)
    return _call(lambda: campaigns.campaign_unschedule(campaign=campaign, actor=request.user,
                                                       version=payload.version))


@router.post("/sales/campaigns/{campaign_id}/cancel", response=CampaignDetailOut)
def campaign_cancel(request, campaign_id: int, payload: VersionIn):
    membership = require(request, SALES_EDIT)
    campaign = _campaign(membership, campaign_id)
    return _call(lambda: campaigns.campaign_cancel(campaign=campaign, actor=request.user,
                                                   version=payload.version))


@router.post("/sales/campaigns/{campaign_id}/resume", response=CampaignDetailOut)
def campaign_resume(request, campaign_id: int):
    """Queue the sending again after a mail-server failure (nobody is mailed twice)."""
    membership = require(request, SALES_EDIT)
    campaign = _campaign(membership, campaign_id)
    return _call(lambda: campaigns.campaign_resume(campaign=campaign, actor=request.user))


@router.get("/sales/campaigns/{campaign_id}/recipients", response=Page[RecipientOut])
def recipient_list(request, campaign_id: int, filters: Query[RecipientFilters]):
    membership = require(request, SALES_VIEW)
    campaign = _campaign(membership, campaign_id)
    queryset = CampaignRecipient.objects.filter(campaign=campaign)
    if filters.variant == "holdout":
        queryset = queryset.filter(variant__isnull=True)
    elif filters.variant:
        variant_id = int_param(filters.variant, positive=True)
        if variant_id is None:
            raise ProblemError(422, code="validation_error", detail="Unknown variant.", errors=[{
                "field": "variant", "loc": ["query", "variant"],
                "message": "A variant id or 'holdout'.", "code": "invalid"}])
        queryset = queryset.filter(variant_id=variant_id)
    if filters.skipped is True:
        queryset = queryset.exclude(skipped_reason="")
    elif filters.skipped is False:
        queryset = queryset.filter(skipped_reason="")
    return paginate(queryset, cursor=filters.cursor, limit=filters.limit, order=("id",))


@router.get("/sales/campaigns/{campaign_id}/counts", response=list[CountsOut])
def campaign_counts(request, campaign_id: int):
    """Per variant (and the holdout, variant_id null): delivery and engagement counts."""
    membership = require(request, SALES_VIEW)
    campaign = _campaign(membership, campaign_id)
    counts = campaigns.variant_counts(campaign)
    empty = {"recipients": 0, "skipped": 0, "sent": 0, "opened": 0, "clicked": 0,
             "replied": 0, "unsubscribed": 0}
    rows = [{"variant_id": v.pk, "name": v.name, **counts.get(v.pk, empty)}
            for v in campaign.variants.order_by("id")]
    if None in counts:
        rows.append({"variant_id": None, "name": "holdout", **counts[None]})
    return rows


# --- Replies -------------------------------------------------------------------------------


@router.post("/sales/campaign-replies", response=ReplyOut)
def campaign_reply(request):
    """The reply hook: POST a received e-mail (the raw RFC 5322 message as the body, e.g.
    `Content-Type: message/rfc822`) that was addressed to a campaign's Reply-To
    (`<local>+<token>@<domain>`) or answers its Message-ID. The recipients it names (of this
    organization's campaigns) are marked replied; the answer lists them."""
    membership = require(request, SALES_EDIT)
    raw = request.body
    if not raw.strip():
        raise ProblemError(422, code="validation_error", detail="Send the e-mail as the body.",
                           errors=[{"field": "body", "loc": ["body"],
                                    "message": "Send the e-mail as the body.",
                                    "code": "required"}])
    if len(raw) > MAX_REPLY_BYTES:
        raise ProblemError(413, code="payload_too_large", detail="The e-mail is too large.")
    try:
        marked = campaigns.campaign_reply_receive(raw=raw, organization=membership.organization)
    except (ValueError, ValidationError) as error:
        raise ProblemError(422, code="invalid_mail", detail="Not an e-mail message.") from error
    return {"recipients": [recipient.pk for recipient in marked]}
