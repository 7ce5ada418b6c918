"""Hub promotions API (supplier side): list, create, read, update (with `version`), stop.

Reads need `catalog.view`, writes `catalog.edit`. Another supplier's promotion, product,
category, customer group — or a buyer not trading with you — is 404 like a missing one; a
stale `version` is 409; a bad period or discount is 422 naming the field.
"""

import datetime
from contextlib import contextmanager
from decimal import Decimal

from django.http import Http404
from ninja import Field, Query, Router, Schema, Status

from jalin.hub import promotions
from jalin.hub.models import Promotion
from jalin.hub.services import HubError
from jalin.tenancy.access import get_for_org_or_404
from jalin.tenancy.roles import CATALOG_EDIT, CATALOG_VIEW

from ..auth import require
from ..idempotency import idempotent
from ..pagination import Page, PageParams, paginate
from ..schemas import MAX_INT, Input

router = Router(tags=["hub promotions"])

IDS = Field(default_factory=list, max_length=promotions.MAX_SCOPE_ITEMS)


class PromotionOut(Schema):
    id: int
    name: str
    code: str
    starts_on: datetime.date
    ends_on: datetime.date
    discount_percent: Decimal
    is_active: bool
    listed_customers_only: bool = Field(
        description="Only the listed customers get it, even when none are listed "
                    "(set when a sales segment targets it)")
    product_ids: list[int]
    category_ids: list[int]
    customer_group_ids: list[int]
    buyer_ids: list[int]
    version: int

    @staticmethod
    def resolve_product_ids(obj):
        return sorted(item.pk for item in obj.products.all())

    @staticmethod
    def resolve_category_ids(obj):
        return sorted(item.pk for item in obj.categories.all())

    @staticmethod
    def resolve_customer_group_ids(obj):
        return sorted(item.pk for item in obj.customer_groups.all())

    @staticmethod
    def resolve_buyer_ids(obj):
        return sorted(item.pk for item in obj.buyers.all())


class PromotionIn(Input):
    name: str = Field(min_length=1, max_length=150)
    code: str = Field("", max_length=40)
    starts_on: datetime.date
    ends_on: datetime.date
    discount_percent: Decimal = Field(description="0.01 to 90")
    product_ids: list[int] = IDS
    category_ids: list[int] = IDS
    customer_group_ids: list[int] = IDS
    buyer_ids: list[int] = IDS


class PromotionPatchIn(Input):
    version: int = Field(ge=1, le=MAX_INT)
    name: str | None = Field(None, min_length=1, max_length=150)
    code: str | None = Field(None, max_length=40)
    starts_on: datetime.date | None = None
    ends_on: datetime.date | None = None
    discount_percent: Decimal | None = None
    is_active: bool | None = None
    product_ids: list[int] | None = Field(None, max_length=promotions.MAX_SCOPE_ITEMS)
    category_ids: list[int] | None = Field(None, max_length=promotions.MAX_SCOPE_ITEMS)
    customer_group_ids: list[int] | None = Field(None, max_length=promotions.MAX_SCOPE_ITEMS)
    buyer_ids: list[int] | None = Field(None, max_length=promotions.MAX_SCOPE_ITEMS)


class PromotionFilter(PageParams):
    active: bool | None = None
    on: datetime.date | None = Field(None, description="Running on this day")


SCOPE_KEYS = {"product_ids": "products", "category_ids": "categories",
              "customer_group_ids": "customer_groups", "buyer_ids": "buyers"}


def _scope(data):
    return {SCOPE_KEYS[key]: data.pop(key) for key in list(data) if key in SCOPE_KEYS}


@contextmanager
def _foreign_ids_are_404():
    """A product, category, group or buyer id that is not the supplier's reads as missing."""
    try:
        yield
    except HubError as error:
        if error.code == "not_found":
            raise Http404(error.message) from error
        raise


def _promotion(membership, promotion_id):
    return get_for_org_or_404(Promotion.objects.prefetch_related(
        "products", "categories", "customer_groups", "buyers"), membership.organization,
        pk=promotion_id)


@router.get("/hub/promotions", response=Page[PromotionOut])
def promotion_list(request, params: Query[PromotionFilter]):
    membership = require(request, CATALOG_VIEW)
    queryset = Promotion.objects.filter(supplier=membership.organization).prefetch_related(
        "products", "categories", "customer_groups", "buyers")
    if params.active is not None:
        queryset = queryset.filter(is_active=params.active)
    if params.on is not None:
        queryset = queryset.filter(starts_on__lte=params.on, ends_on__gte=params.on)
    return paginate(queryset, cursor=params.cursor, limit=params.limit, order=("id",))


@router.post("/hub/promotions", response={201: PromotionOut})
@idempotent
def promotion_create(request, payload: PromotionIn):
    """A percentage off each customer's own price for a period; products/categories and
    customer groups/buyers limit it (none listed: all / everyone)."""
    membership = require(request, CATALOG_EDIT)
    data = payload.model_dump()
    scope = _scope(data)
    with _foreign_ids_are_404():
        promotion = promotions.promotion_create(supplier=membership.organization,
                                                actor=request.user, **data, **scope)
    return Status(201, _promotion(membership, promotion.pk))


@router.get("/hub/promotions/{promotion_id}", response=PromotionOut)
def promotion_detail(request, promotion_id: int):
    membership = require(request, CATALOG_VIEW)
    return _promotion(membership, promotion_id)


@router.patch("/hub/promotions/{promotion_id}", response=PromotionOut)
@idempotent
def promotion_patch(request, promotion_id: int, payload: PromotionPatchIn):
    membership = require(request, CATALOG_EDIT)
    promotion = _promotion(membership, promotion_id)
    data = {key: value for key, value in payload.model_dump(exclude_unset=True).items()
            if value is not None or key in SCOPE_KEYS}
    version = data.pop("version")
    scope = {key: value for key, value in _scope(data).items() if value is not None}
    with _foreign_ids_are_404():
        promotions.promotion_update(promotion=promotion, actor=request.user, version=version,
                                    **data, **scope)
    return _promotion(membership, promotion_id)


@router.post("/hub/promotions/{promotion_id}/deactivate", response=PromotionOut)
@idempotent
def promotion_deactivate(request, promotion_id: int):
    """Stop the promotion now; orders already placed keep their discount."""
    membership = require(request, CATALOG_EDIT)
    promotions.promotion_deactivate(promotion=_promotion(membership, promotion_id),
                                    actor=request.user)
    return _promotion(membership, promotion_id)
