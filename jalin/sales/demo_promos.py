"""Demo data for promotions and segments (called by `manage.py demo`; idempotent): unit costs
on the supplier's products, two segments (building-material shops by a custom field, active
buyers by purchase behaviour), one past promotion and one running promotion targeted at a
segment, each with orders in and before its period so the analysis has something to show."""

import datetime
from decimal import Decimal

from django.utils import timezone

from jalin.hub import orders, promotions
from jalin.hub.models import Order, Product, Promotion, TradingRelationship
from jalin.hub.promotion_selectors import start_of
from jalin.hub.services import HubError

from . import segments
from .models import Segment

DAY = datetime.timedelta(days=1)
PAST = "Promo Kebersihan Oktober"
RUNNING = "Promo Toko Material"
COST_SHARE = Decimal("0.72")


def _segment(organization, actor, name, rules):
    segment = Segment.objects.filter(organization=organization, name=name).first()
    if segment is None:
        segment = segments.segment_create(organization=organization, actor=actor, name=name,
                                          rules=rules)
    return segments.segment_refresh(segment=segment, actor=actor)


def _order(supplier, buyer, actor, lines, on):
    """An order entered by the supplier, dated `on` (10:00 in Jakarta); None when the hub
    refuses it (no stock or price left after someone played with the demo)."""
    relationship = TradingRelationship.objects.filter(supplier=supplier, buyer=buyer).first()
    if relationship is None:
        return None
    try:
        order = orders.order_place(relationship=relationship, actor=actor, lines=lines,
                                   entered_by_supplier=True)
    except HubError:
        return None
    at = start_of(on) + datetime.timedelta(hours=10)
    Order.objects.filter(pk=order.pk).update(submitted_at=at, created_at=at)
    return order


def _products(supplier, category_slug, count=2):
    return list(Product.objects.filter(supplier=supplier, category__slug=category_slug,
                                       is_active=True).order_by("sku")[:count])


def seed_promos(*, supplier, buyers, actor):
    """`buyers`: [Organization] trading with the supplier (the first is the segment's shop)."""
    created = 0
    for product in Product.objects.filter(supplier=supplier, unit_cost__isnull=True):
        price = product.price_items.filter(price_list__is_base=True).order_by(
            "min_quantity").values_list("unit_price", flat=True).first()
        if price:
            Product.objects.filter(pk=product.pk).update(
                unit_cost=(price * COST_SHARE).quantize(Decimal("1")))
    shops = _segment(supplier, actor, "Toko material (demo)", {
        "match": "all", "conditions": [
            {"field": "account.custom.segmen", "op": "equals", "value": "Toko material"}]})
    _segment(supplier, actor, "Pembeli aktif 90 hari (demo)", {
        "match": "all", "conditions": [
            {"field": "purchase.recency_days", "op": "lte", "value": 90},
            {"field": "purchase.frequency", "op": "gte", "value": 1, "months": 12}]})
    today = timezone.localdate()
    cleaning = _products(supplier, "kebersihan")
    if not Promotion.objects.filter(supplier=supplier, name=PAST).exists() and cleaning:
        # Created running today so its orders are priced with it, then moved to its dates.
        promotion = promotions.promotion_create(
            supplier=supplier, actor=actor, name=PAST, code="BERSIH10", starts_on=today,
            ends_on=today, discount_percent="10",
            categories=[cleaning[0].category_id])
        start = today - 45 * DAY
        for index, buyer in enumerate(buyers):
            _order(supplier, buyer, actor, [(cleaning[0].pk, 6 + 2 * index)],
                   start + (2 + 3 * index) * DAY)
        promotions.promotion_update(promotion=promotion, actor=actor,
                                    version=promotion.version, starts_on=start,
                                    ends_on=start + 13 * DAY)
        for index, buyer in enumerate(buyers[:2]):  # the two weeks before: fewer orders
            _order(supplier, buyer, actor, [(cleaning[0].pk, 4)], start - (5 + index) * DAY)
        created += 1
    material = _products(supplier, "bahan-bangunan") or cleaning
    if not Promotion.objects.filter(supplier=supplier, name=RUNNING).exists() and material:
        promotion = promotions.promotion_create(
            supplier=supplier, actor=actor, name=RUNNING, code="MATERIAL5",
            starts_on=today - 6 * DAY, ends_on=today + 14 * DAY, discount_percent="5",
            categories=[material[0].category_id])
        segments.promotion_target_segment(promotion=promotion, segment=shops, actor=actor)
        promotion.refresh_from_db()
        targeted = list(promotion.buyers.all()) or buyers[:1]
        for index, buyer in enumerate(targeted):
            _order(supplier, buyer, actor, [(material[0].pk, 10)], today - (1 + index) * DAY)
            _order(supplier, buyer, actor, [(material[-1].pk, 5)], today - 4 * DAY)
            _order(supplier, buyer, actor, [(material[0].pk, 6)], today - 10 * DAY)
        created += 1
    return created
