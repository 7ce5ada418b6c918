"""Segments and promotion analysis API.

Segments: list, create, read, update (with `version`), delete, refresh, preview count,
members (keyset pages), static list add/remove. Promotions: the analysis of a hub promotion
and its customer segment (target / untarget).

Reads need `sales.view`, writes `sales.edit`. Another organization's segment, contact or
promotion — in the path or the body — is 404 like a missing one; a stale `version` is 409;
bad rules are 422 naming the condition (`rules.conditions[1]`), and change nothing.
"""

import datetime
from typing import Any, Literal

from django.http import Http404
from ninja import Field, Query, Router, Schema, Status

from jalin.hub import promotion_selectors
from jalin.hub.models import Promotion
from jalin.sales import promotion_analysis, segments
from jalin.sales.models import PromotionSegment, Segment, SegmentMember
from jalin.tenancy.access import for_org, get_for_org_or_404
from jalin.tenancy.roles import SALES_EDIT, SALES_VIEW

from ..auth import require
from ..idempotency import idempotent
from ..pagination import Page, PageParams, paginate
from ..schemas import MAX_INT, Input

router = Router(tags=["sales segments and promotions"])

RULES_DOC = ('{"match": "all"|"any", "conditions": [{"field": "account.industry", "op": '
             '"equals", "value": "Retail"}, {"field": "purchase.frequency", "op": "gte", '
             '"value": 3, "months": 12}, {"match": "any", "conditions": [...]}]}')


class SegmentOut(Schema):
    id: int
    name: str
    kind: str
    rules: dict
    member_count: int
    refreshed_at: datetime.datetime | None
    version: int


class SegmentIn(Input):
    name: str = Field(min_length=1, max_length=120)
    kind: Literal["dynamic", "static"] = "dynamic"
    rules: dict[str, Any] = Field(default_factory=dict, description=RULES_DOC)


class SegmentPatchIn(Input):
    version: int = Field(ge=1, le=MAX_INT)
    name: str | None = Field(None, min_length=1, max_length=120)
    rules: dict[str, Any] | None = Field(None, description=RULES_DOC)


class RulesIn(Input):
    rules: dict[str, Any] = Field(description=RULES_DOC)


class CountOut(Schema):
    count: int


class RefreshOut(Schema):
    id: int
    member_count: int
    added: int
    removed: int
    refreshed_at: datetime.datetime | None


class MemberOut(Schema):
    id: int
    contact_id: int
    account_id: int | None
    added_at: datetime.datetime


class ContactsIn(Input):
    contact_ids: list[int] = Field(min_length=1, max_length=segments.MAX_STATIC_BATCH)


class FieldOut(Schema):
    field: str
    label: str
    kind: str


class TargetIn(Input):
    segment_id: int | None = Field(None, ge=1, le=MAX_INT,
                                   description="None stops following a segment")


class TargetOut(Schema):
    promotion_id: int
    segment_id: int | None
    buyer_count: int


def _segment(membership, segment_id):
    return get_for_org_or_404(Segment, membership.organization, pk=segment_id)


def _promotion(membership, promotion_id):
    try:
        return promotion_selectors.promotions_for_supplier(membership.organization).get(
            pk=promotion_id)
    except Promotion.DoesNotExist as exc:
        raise Http404("No such promotion.") from exc


@router.get("/sales/segments", response=Page[SegmentOut])
def segment_list(request, params: Query[PageParams]):
    membership = require(request, SALES_VIEW)
    return paginate(for_org(Segment, membership.organization), cursor=params.cursor,
                    limit=params.limit, order=("id",))


@router.get("/sales/segments/fields", response=list[FieldOut])
def segment_fields(request):
    """The fields rules may use (custom fields included) and their kind."""
    membership = require(request, SALES_VIEW)
    return [{"field": name, "label": str(label), "kind": kind}
            for name, label, kind in segments.field_choices(membership.organization)]


@router.post("/sales/segments/preview", response=CountOut)
def segment_preview(request, payload: RulesIn):
    """How many contacts these rules select now (nothing is saved)."""
    membership = require(request, SALES_EDIT)
    return {"count": segments.preview_count(organization=membership.organization,
                                            rules=payload.rules)}


@router.post("/sales/segments", response={201: SegmentOut})
@idempotent
def segment_create(request, payload: SegmentIn):
    """A dynamic segment is refreshed at once; a static list starts empty."""
    membership = require(request, SALES_EDIT)
    segment = segments.segment_create(organization=membership.organization,
                                      actor=request.user, name=payload.name,
                                      kind=payload.kind, rules=payload.rules)
    if segment.kind == "dynamic":
        segment = segments.segment_refresh(segment=segment, actor=request.user)
    return Status(201, segment)


@router.get("/sales/segments/{segment_id}", response=SegmentOut)
def segment_detail(request, segment_id: int):
    membership = require(request, SALES_VIEW)
    return _segment(membership, segment_id)


@router.patch("/sales/segments/{segment_id}", response=SegmentOut)
@idempotent
def segment_patch(request, segment_id: int, payload: SegmentPatchIn):
    membership = require(request, SALES_EDIT)
    segment = segments.segment_update(segment=_segment(membership, segment_id),
                                      actor=request.user, version=payload.version,
                                      name=payload.name, rules=payload.rules)
    return segment


@router.delete("/sales/segments/{segment_id}", response={204: None})
@idempotent
def segment_delete(request, segment_id: int):
    membership = require(request, SALES_EDIT)
    segments.segment_delete(segment=_segment(membership, segment_id), actor=request.user)
    return Status(204, None)


@router.post("/sales/segments/{segment_id}/refresh", response=RefreshOut)
def segment_refresh(request, segment_id: int):
    """Rewrite the members from the rules now (also done hourly)."""
    membership = require(request, SALES_EDIT)
    segment = segments.segment_refresh(segment=_segment(membership, segment_id),
                                       actor=request.user)
    return {"id": segment.pk, "member_count": segment.member_count, "added": segment.added,
            "removed": segment.removed, "refreshed_at": segment.refreshed_at}


@router.get("/sales/segments/{segment_id}/members", response=Page[MemberOut])
def segment_members(request, segment_id: int, params: Query[PageParams]):
    membership = require(request, SALES_VIEW)
    segment = _segment(membership, segment_id)
    return paginate(SegmentMember.objects.filter(segment=segment), cursor=params.cursor,
                    limit=params.limit, order=("id",))


@router.post("/sales/segments/{segment_id}/members", response=SegmentOut)
@idempotent
def segment_members_add(request, segment_id: int, payload: ContactsIn):
    """Add contacts to a static list (422 `not_static` for a dynamic segment)."""
    membership = require(request, SALES_EDIT)
    segment = _segment(membership, segment_id)
    try:
        return segments.segment_add_contacts(segment=segment, actor=request.user,
                                             contacts=payload.contact_ids)
    except segments.SalesError as error:
        if error.code == "not_found":  # another organization's contact reads as missing
            raise Http404(error.message) from error
        raise


@router.post("/sales/segments/{segment_id}/members/remove", response=SegmentOut)
@idempotent
def segment_members_remove(request, segment_id: int, payload: ContactsIn):
    membership = require(request, SALES_EDIT)
    return segments.segment_remove_contacts(segment=_segment(membership, segment_id),
                                            actor=request.user, contacts=payload.contact_ids)


@router.get("/sales/promotions/{promotion_id}/analysis", response=dict)
def promotion_analysis_detail(request, promotion_id: int):
    """Revenue, orders, units, buyers (new/repeat), discount and margin in the promotion
    period, the same-length period before and (when targeted) for the buyers not targeted;
    uplift in percent."""
    membership = require(request, SALES_VIEW)
    analysis = promotion_analysis.analyse(_promotion(membership, promotion_id))
    data = promotion_analysis.as_dict(analysis)
    data["daily"] = analysis.chart.get("data", {})
    return data


@router.post("/sales/promotions/{promotion_id}/segment", response=TargetOut)
@idempotent
def promotion_segment(request, promotion_id: int, payload: TargetIn):
    """Target the promotion at a segment's hub buyers (kept in sync on every refresh), or
    stop following one (`segment_id: null`; the promotion keeps its buyers)."""
    membership = require(request, SALES_EDIT)
    promotion = _promotion(membership, promotion_id)
    if payload.segment_id is None:
        segments.promotion_untarget(promotion=promotion, actor=request.user)
        return {"promotion_id": promotion.pk, "segment_id": None,
                "buyer_count": promotion.buyers.count()}
    link = segments.promotion_target_segment(
        promotion=promotion, segment=_segment(membership, payload.segment_id),
        actor=request.user)
    return {"promotion_id": promotion.pk, "segment_id": link.segment_id,
            "buyer_count": link.buyer_count}


@router.get("/sales/promotions/{promotion_id}/segment", response=TargetOut)
def promotion_segment_detail(request, promotion_id: int):
    membership = require(request, SALES_VIEW)
    promotion = _promotion(membership, promotion_id)
    link = PromotionSegment.objects.filter(promotion=promotion).first()
    return {"promotion_id": promotion.pk, "segment_id": link.segment_id if link else None,
            "buyer_count": link.buyer_count if link else promotion.buyers.count()}
