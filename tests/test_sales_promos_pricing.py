"""Hub pricing applies promotions: dates, products/categories, groups/buyers, the best of
several; order lines record the promotion and its discount; the promotion services."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from jalin.core.events_models import Event
from jalin.hub import orders, promotions, services, stock
from jalin.hub.models import Promotion
from jalin.hub.pricing import discounted, price_for, prices_for
from jalin.hub.services import HubError
from jalin.hub.testing import link_buyer, make_price_list, make_product, set_price
from jalin.tenancy.models import Membership
from jalin.tenancy.roles import Role
from jalin.tenancy.services import StaleVersion
from tests.conftest import make_org, make_user

TODAY = datetime.date(2026, 6, 15)
DAY = datetime.timedelta(days=1)


@pytest.fixture
def world(org, owner):
    buyer_a = make_org("buyer-a", is_supplier=False, is_buyer=True)
    buyer_b = make_org("buyer-b", is_supplier=False, is_buyer=True)
    stranger = make_org("stranger", is_supplier=False, is_buyer=True)
    base = make_price_list(org, owner, "Base", is_base=True)
    list_a = make_price_list(org, owner, "A prices")
    tools = services.category_create(supplier=org, actor=owner, name="Tools")
    drills = services.category_create(supplier=org, actor=owner, name="Drills", parent=tools)
    drill = make_product(org, owner, "DRL-1", "Drill", category=drills)
    paper = make_product(org, owner, "PAP-1", "Paper")
    set_price(base, drill, "100000", owner)
    set_price(base, paper, "10000", owner)
    set_price(list_a, drill, "80000", owner)
    group = services.customer_group_create(supplier=org, actor=owner, name="Retail")
    rel_a = link_buyer(org, buyer_a, owner, price_list=list_a)
    rel_b = link_buyer(org, buyer_b, owner, group=group)
    return type("World", (), dict(
        supplier=org, owner=owner, buyer_a=buyer_a, buyer_b=buyer_b, stranger=stranger,
        tools=tools, drills=drills, drill=drill, paper=paper, group=group, rel_a=rel_a,
        rel_b=rel_b, base=base))


def promo(world, percent, *, starts=TODAY - DAY, ends=TODAY + DAY, **scope):
    return promotions.promotion_create(
        supplier=world.supplier, actor=world.owner, name=f"{percent}% off",
        starts_on=starts, ends_on=ends, discount_percent=percent, **scope)


def price(world, rel, product, on_date=TODAY, quantity=1):
    return price_for(relationship=rel, product=product, quantity=quantity, on_date=on_date)


def test_without_promotions_prices_are_the_lists(world):
    got = price(world, world.rel_a, world.drill)
    assert got.amount == Decimal("80000") and got.promotion_id is None
    assert got.list_amount is None and got.before_promotion == Decimal("80000")


def test_catalog_wide_promotion_takes_its_percentage_off_the_customers_own_price(world):
    sale = promo(world, "10")
    a = price(world, world.rel_a, world.drill)
    b = price(world, world.rel_b, world.drill)
    assert (a.amount, a.list_amount) == (Decimal("72000.0000"), Decimal("80000"))
    assert (b.amount, b.list_amount) == (Decimal("90000.0000"), Decimal("100000"))
    assert a.promotion_id == b.promotion_id == sale.pk and a.discount_percent == Decimal("10")


def test_the_period_is_inclusive_and_nothing_after_the_end(world):
    promo(world, "10", starts=TODAY, ends=TODAY + 2 * DAY)
    assert price(world, world.rel_a, world.paper, TODAY - DAY).promotion_id is None
    assert price(world, world.rel_a, world.paper, TODAY).promotion_id is not None
    assert price(world, world.rel_a, world.paper, TODAY + 2 * DAY).promotion_id is not None
    assert price(world, world.rel_a, world.paper, TODAY + 3 * DAY).promotion_id is None


def test_a_deactivated_promotion_no_longer_applies(world):
    sale = promo(world, "10")
    promotions.promotion_deactivate(promotion=sale, actor=world.owner, version=sale.version)
    assert price(world, world.rel_a, world.paper).promotion_id is None


def test_product_and_category_scope_including_subcategories(world):
    on_paper = promo(world, "5", products=[world.paper])
    assert price(world, world.rel_a, world.paper).promotion_id == on_paper.pk
    assert price(world, world.rel_a, world.drill).promotion_id is None
    on_tools = promo(world, "7", categories=[world.tools])  # drill is in Tools > Drills
    assert price(world, world.rel_a, world.drill).promotion_id == on_tools.pk
    assert price(world, world.rel_a, world.paper).promotion_id == on_paper.pk


def test_customer_scope_by_buyer_and_by_group(world):
    for_a = promo(world, "5", buyers=[world.buyer_a])
    assert price(world, world.rel_a, world.paper).promotion_id == for_a.pk
    assert price(world, world.rel_b, world.paper).promotion_id is None
    for_group = promo(world, "6", customer_groups=[world.group])
    assert price(world, world.rel_b, world.paper).promotion_id == for_group.pk
    assert price(world, world.rel_a, world.paper).promotion_id == for_a.pk


def test_the_best_of_several_wins(world):
    promo(world, "5")
    best = promo(world, "15", products=[world.drill])
    promo(world, "10", categories=[world.drills])
    assert price(world, world.rel_a, world.drill).promotion_id == best.pk
    assert price(world, world.rel_a, world.drill).amount == discounted(Decimal("80000"), 15)
    assert price(world, world.rel_a, world.paper).discount_percent == Decimal("5")


def test_listed_customers_only_with_no_one_listed_applies_to_no_one(world):
    sale = promo(world, "10")
    promotions.promotion_set_buyers(promotion=sale, actor=world.owner, buyers=[])
    assert price(world, world.rel_a, world.paper).promotion_id is None
    promotions.promotion_set_buyers(promotion=sale, actor=world.owner,
                                    buyers=[world.buyer_b.pk, world.stranger.pk])
    sale.refresh_from_db()
    assert list(sale.buyers.values_list("pk", flat=True)) == [world.buyer_b.pk]
    assert price(world, world.rel_b, world.paper).promotion_id == sale.pk
    assert price(world, world.rel_a, world.paper).promotion_id is None


def test_promotion_lookup_costs_the_same_queries_for_2_or_20_products(world):
    promo(world, "5", categories=[world.tools])
    promo(world, "6", products=[world.paper])

    def count(ids):
        with CaptureQueriesContext(connection) as ctx:
            found = prices_for(relationship=world.rel_a, product_ids=ids, on_date=TODAY)
        assert len(found) == len(ids)
        return len(ctx.captured_queries)

    few = count([world.drill.pk, world.paper.pk])
    ids = [world.drill.pk, world.paper.pk]
    for index in range(18):
        product = make_product(world.supplier, world.owner, f"X-{index}",
                               category=world.drills)
        set_price(world.base, product, "1000", world.owner)
        ids.append(product.pk)
    assert count(ids) == few <= 6  # prices, promotions, their products, categories, tree
    for sale in Promotion.objects.all():
        promotions.promotion_deactivate(promotion=sale, actor=world.owner)
    assert count(ids) == 1  # no promotion running: the price query alone
    promo(world, "3")  # one for everyone, whole catalog: one more query
    assert count(ids) == 2


@pytest.fixture
def shop(world):
    warehouse = stock.warehouse_create(supplier=world.supplier, actor=world.owner, code="jkt",
                                       name="Jakarta")
    for product in (world.drill, world.paper):
        stock.stock_adjust(warehouse=warehouse, product=product, delta=100, reason="count",
                           actor=world.owner)
    buyer_user = make_user("buyer-user")
    Membership.objects.create(user=buyer_user, organization=world.buyer_a, role=Role.BUYER)
    world.buyer_user = buyer_user
    return world


def test_order_lines_record_the_promotion_and_the_discount(shop):
    sale = promotions.promotion_create(
        supplier=shop.supplier, actor=shop.owner, name="Drill week",
        starts_on=timezone.localdate() - DAY, ends_on=timezone.localdate() + DAY,
        discount_percent=Decimal("12.5"), products=[shop.drill])
    order = orders.order_place(relationship=shop.rel_a, actor=shop.buyer_user,
                               lines=[(shop.drill.pk, 3), (shop.paper.pk, 2)])
    drill_line, paper_line = sorted(order.lines.all(), key=lambda line: line.sku)
    assert drill_line.promotion_id == sale.pk
    assert drill_line.unit_price == Decimal("70000")
    assert drill_line.line_net == Decimal("210000")
    assert drill_line.promotion_discount == Decimal("30000")
    assert paper_line.promotion_id is None and paper_line.promotion_discount == 0
    assert order.total_net == Decimal("230000")


def test_promotion_services_validate_and_record(world):
    with pytest.raises(HubError) as error:
        promo(world, "10", starts=TODAY, ends=TODAY - DAY)
    assert error.value.field == "ends_on"
    for bad in ("0", "95", "abc", "NaN"):
        with pytest.raises(HubError) as error:
            promo(world, bad)
        assert error.value.field == "discount_percent"
    with pytest.raises(HubError) as error:
        promo(world, "10", buyers=[world.stranger])  # does not trade with the supplier
    assert error.value.code == "not_found" and error.value.field == "buyers"
    other = make_org("other-supplier")
    foreign = make_product(other, world.owner, "F-1")
    with pytest.raises(HubError) as error:
        promo(world, "10", products=[foreign])
    assert error.value.field == "products"
    assert not Promotion.objects.exists()

    sale = promo(world, "10", products=[world.paper])
    assert Event.objects.filter(type="hub.promotion.created", aggregate_id=str(sale.pk)).exists()
    updated = promotions.promotion_update(promotion=sale, actor=world.owner,
                                          version=sale.version, discount_percent="20",
                                          products=[])
    assert updated.discount_percent == Decimal("20") and updated.version == 2
    assert not updated.products.exists()
    with pytest.raises(StaleVersion):
        promotions.promotion_update(promotion=sale, actor=world.owner, version=1, name="X")
    with pytest.raises(HubError):
        promotions.promotion_update(promotion=sale, actor=world.owner, version=2,
                                    supplier=world.buyer_a)
