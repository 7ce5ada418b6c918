"""Segments: rules over account/contact fields, custom fields and purchase behaviour (RFM) on
known data; set-based refresh (idempotent); static lists; a promotion's customer segment;
the periodic refresh."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from jalin.core.events_models import Event
from jalin.crm.models import Account, Contact, CustomFieldDefinition
from jalin.hub import orders, promotions, stock
from jalin.hub.models import Order, Promotion
from jalin.hub.pricing import price_for
from jalin.hub.testing import link_buyer, make_price_list, make_product, set_price
from jalin.sales import segments
from jalin.sales.leads import SalesError
from jalin.sales.models import PromotionSegment, Segment, SegmentMember
from tests.conftest import make_org

DAY = datetime.timedelta(days=1)


def place(world, relationship, quantity, days_ago):
    order = orders.order_place(relationship=relationship, actor=world.owner,
                               lines=[(world.product.pk, quantity)], entered_by_supplier=True)
    at = timezone.now() - days_ago * DAY
    Order.objects.filter(pk=order.pk).update(submitted_at=at, created_at=at)
    return order


@pytest.fixture
def world(org, owner):
    base = make_price_list(org, owner, "Base", is_base=True)
    product = make_product(org, owner, "SKU-1")
    set_price(base, product, "1000", owner)
    warehouse = stock.warehouse_create(supplier=org, actor=owner, code="jkt", name="Jakarta")
    stock.stock_adjust(warehouse=warehouse, product=product, delta=10_000, reason="count",
                       actor=owner)
    buyer_a = make_org("buyer-a", is_supplier=False, is_buyer=True)
    buyer_b = make_org("buyer-b", is_supplier=False, is_buyer=True)
    rel_a, rel_b = link_buyer(org, buyer_a, owner), link_buyer(org, buyer_b, owner)
    for key, kind in (("region", "choice"), ("employees", "number"), ("since", "date")):
        CustomFieldDefinition.objects.create(organization=org, target="account", key=key,
                                             label=key.title(), type=kind,
                                             choices=["JK", "JB"] if kind == "choice" else [])
    CustomFieldDefinition.objects.create(organization=org, target="contact", key="interests",
                                         label="Interests", type="multi_choice",
                                         choices=["tools", "paint"])
    retail_a = Account.objects.create(
        organization=org, name="Retail A", industry="Retail", hub_organization=buyer_a,
        custom={"region": "JK", "employees": 120, "since": "2024-03-01"})
    wholesale_b = Account.objects.create(
        organization=org, name="Wholesale B", industry="Wholesale", hub_organization=buyer_b,
        custom={"region": "JB", "employees": 20, "since": "2026-01-10"})
    prospect_c = Account.objects.create(organization=org, name="Prospect C", industry="Retail")
    contacts = {
        "a1": Contact.objects.create(organization=org, last_name="A1", account=retail_a,
                                     job_title="Purchasing manager", email_opt_in=True,
                                     custom={"interests": ["tools", "paint"]}),
        "a2": Contact.objects.create(organization=org, last_name="A2", account=retail_a,
                                     job_title="Owner", custom={"interests": ["paint"]}),
        "b1": Contact.objects.create(organization=org, last_name="B1", account=wholesale_b,
                                     job_title="Buyer", email_opt_in=True),
        "c1": Contact.objects.create(organization=org, last_name="C1", account=prospect_c,
                                     job_title="Purchasing"),
    }
    Contact.objects.create(organization=org, last_name="Gone", account=retail_a,
                           archived_at=timezone.now())
    w = type("World", (), dict(supplier=org, owner=owner, product=product, buyer_a=buyer_a,
                               buyer_b=buyer_b, rel_a=rel_a, rel_b=rel_b, retail_a=retail_a,
                               wholesale_b=wholesale_b, prospect_c=prospect_c, c=contacts))
    # A: three orders this year (last 5 days ago, 3 x 10 units); B: one order 200 days ago.
    for days_ago in (5, 40, 90):
        place(w, rel_a, 10, days_ago)
    place(w, rel_b, 50, 200)
    return w


def names(world, rules):
    return sorted(contact.last_name for contact in
                  segments.matching_contacts(world.supplier, rules))


def cond(field, op, value=None, **extra):
    condition = {"field": field, "op": op, **extra}
    if value is not None:
        condition["value"] = value
    return condition


def rules(*conditions, match="all"):
    return {"match": match, "conditions": list(conditions)}


def test_account_and_contact_fields(world):
    assert names(world, rules(cond("account.industry", "equals", "retail"))) == [
        "A1", "A2", "C1"]
    assert names(world, rules(cond("contact.job_title", "contains", "purchas"))) == ["A1", "C1"]
    assert names(world, rules(cond("contact.email_opt_in", "is_true"))) == ["A1", "B1"]
    assert names(world, rules(cond("account.industry", "not_equals", "Retail"))) == ["B1"]
    assert names(world, rules()) == ["A1", "A2", "B1", "C1"]  # archived contact never


def test_custom_fields_by_type(world):
    assert names(world, rules(cond("account.custom.employees", "gt", 100))) == ["A1", "A2"]
    assert names(world, rules(cond("account.custom.employees", "lte", "20"))) == ["B1"]
    assert names(world, rules(cond("account.custom.region", "in", "JK, JB"))) == [
        "A1", "A2", "B1"]
    assert names(world, rules(cond("account.custom.since", "gte", "2025-01-01"))) == ["B1"]
    assert names(world, rules(cond("contact.custom.interests", "contains", "tools"))) == ["A1"]
    assert names(world, rules(cond("account.custom.region", "is_not_set"))) == ["C1"]


def test_and_or_groups(world):
    nested = rules(cond("account.industry", "equals", "Retail"),
                   rules(cond("contact.job_title", "contains", "purchas"),
                         cond("contact.email_opt_in", "is_true"), match="any"))
    assert names(world, nested) == ["A1", "C1"]
    either = rules(cond("account.name", "equals", "Wholesale B"),
                   cond("contact.last_name", "equals", "A2"), match="any")
    assert names(world, either) == ["A2", "B1"]


def test_purchase_behaviour_recency_frequency_monetary(world):
    assert names(world, rules(cond("purchase.recency_days", "lte", 30))) == ["A1", "A2"]
    assert names(world, rules(cond("purchase.recency_days", "gt", 180))) == ["B1"]
    assert names(world, rules(cond("purchase.frequency", "gte", 3, months=12))) == ["A1", "A2"]
    assert names(world, rules(cond("purchase.frequency", "gte", 2, months=2))) == ["A1", "A2"]
    # No order in 6 months: B (ordered 200 days ago) and C (no buyer at all).
    assert names(world, rules(cond("purchase.frequency", "equals", 0, months=6))) == [
        "B1", "C1"]
    # Net value over 12 months: A 3 x 10 000 = 30 000; B 50 000 lies outside 6 months.
    assert names(world, rules(cond("purchase.monetary", "gte", "30000", months=12))) == [
        "A1", "A2", "B1"]
    assert names(world, rules(cond("purchase.monetary", "gte", "30000", months=6))) == [
        "A1", "A2"]
    assert names(world, rules(cond("purchase.r_score", "equals", 5))) == ["A1", "A2"]
    assert names(world, rules(cond("purchase.f_score", "lt", 5))) == ["B1"]


def test_quintile_scores():
    values = {index: index for index in range(1, 11)}  # 1..10
    scores = segments.quintile_scores(values)
    assert [scores[index] for index in range(1, 11)] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert segments.quintile_scores({"a": 3, "b": 3, "c": 9}) == {"a": 1, "b": 1, "c": 5}
    assert segments.quintile_scores({"x": 1, "y": 30}, higher_is_better=False) == {
        "y": 1, "x": 5}
    assert segments.quintile_scores({"only": 7}) == {"only": 5}


def test_bad_rules_name_the_condition_and_write_nothing(world):
    bad = [
        (rules(cond("account.nope", "equals", "x")), "rules.conditions[0]"),
        (rules(cond("account.industry", "gt", "x")), "rules.conditions[0]"),
        (rules(cond("account.industry", "equals", "x"),
               cond("account.custom.employees", "gt", "lots")), "rules.conditions[1]"),
        (rules(cond("purchase.frequency", "gte", 1, months=0)), "rules.conditions[0]"),
        ({"match": "some"}, "rules.match"),
        (rules(rules(rules(rules(cond("account.industry", "equals", "x"))))),
         "rules.conditions[0].conditions[0].conditions[0]"),
    ]
    for bad_rules, path in bad:
        with pytest.raises(SalesError) as error:
            segments.segment_create(organization=world.supplier, actor=world.owner,
                                    name="Bad", rules=bad_rules)
        assert error.value.field == path
    assert not Segment.objects.exists()


def members(segment):
    return sorted(SegmentMember.objects.filter(segment=segment)
                  .values_list("contact__last_name", "account__name"))


def test_refresh_is_set_based_and_idempotent(world, django_assert_max_num_queries):
    segment = segments.segment_create(
        organization=world.supplier, actor=world.owner, name="Retail",
        rules=rules(cond("account.industry", "equals", "Retail")))
    with django_assert_max_num_queries(15):
        refreshed = segments.segment_refresh(segment=segment, actor=world.owner)
    assert (refreshed.added, refreshed.removed, refreshed.member_count) == (3, 0, 3)
    assert members(segment) == [("A1", "Retail A"), ("A2", "Retail A"), ("C1", "Prospect C")]
    first = dict(SegmentMember.objects.filter(segment=segment).values_list("contact_id", "pk"))
    again = segments.segment_refresh(segment=segment, actor=world.owner)
    assert (again.added, again.removed, again.member_count) == (0, 0, 3)
    assert dict(SegmentMember.objects.filter(segment=segment)
                .values_list("contact_id", "pk")) == first
    # C1 moves to Wholesale B (leaves), A2's account changes industry... and B1 joins Retail.
    Contact.objects.filter(pk=world.c["c1"].pk).update(account=world.wholesale_b)
    Account.objects.filter(pk=world.wholesale_b.pk).update(industry="Retail")
    Account.objects.filter(pk=world.retail_a.pk).update(industry="Hardware")
    changed = segments.segment_refresh(segment=segment, actor=world.owner)
    assert (changed.added, changed.removed) == (1, 2)
    assert members(segment) == [("B1", "Wholesale B"), ("C1", "Wholesale B")]
    assert Event.objects.filter(type="sales.segment.refreshed").count() == 2


def test_refresh_updates_the_account_of_a_contact_that_moved(world):
    segment = segments.segment_create(
        organization=world.supplier, actor=world.owner, name="Purchasers",
        rules=rules(cond("contact.job_title", "contains", "purchas")))
    segments.segment_refresh(segment=segment)
    Contact.objects.filter(pk=world.c["c1"].pk).update(account=world.retail_a)
    segments.segment_refresh(segment=segment)
    assert members(segment) == [("A1", "Retail A"), ("C1", "Retail A")]


def test_static_lists(world):
    static = segments.segment_create(organization=world.supplier, actor=world.owner,
                                     name="VIP", kind="static")
    segments.segment_add_contacts(segment=static, actor=world.owner,
                                  contacts=[world.c["a1"].pk, world.c["b1"]])
    segments.segment_add_contacts(segment=static, actor=world.owner,
                                  contacts=[world.c["a1"].pk])
    assert [name for name, _account in members(static)] == ["A1", "B1"]
    refreshed = segments.segment_refresh(segment=static)
    assert refreshed.member_count == 2
    segments.segment_remove_contacts(segment=static, actor=world.owner,
                                     contacts=[world.c["a1"].pk])
    assert [name for name, _account in members(static)] == ["B1"]
    other_org_contact = Contact.objects.create(organization=make_org("else"), last_name="X")
    with pytest.raises(SalesError) as error:
        segments.segment_add_contacts(segment=static, actor=world.owner,
                                      contacts=[other_org_contact.pk])
    assert error.value.code == "not_found"
    dynamic = segments.segment_create(organization=world.supplier, actor=world.owner,
                                      name="Dyn", rules=rules())
    with pytest.raises(SalesError):
        segments.segment_add_contacts(segment=dynamic, actor=world.owner,
                                      contacts=[world.c["a1"].pk])


def test_a_promotion_targets_the_segments_buyers(world):
    today = timezone.localdate()
    sale = promotions.promotion_create(supplier=world.supplier, actor=world.owner,
                                       name="Retail week", starts_on=today,
                                       ends_on=today + 7 * DAY, discount_percent="10")
    segment = segments.segment_create(
        organization=world.supplier, actor=world.owner, name="Retail",
        rules=rules(cond("account.industry", "equals", "Retail")))
    link = segments.promotion_target_segment(promotion=sale, segment=segment,
                                             actor=world.owner)
    sale.refresh_from_db()
    assert list(sale.buyers.values_list("pk", flat=True)) == [world.buyer_a.pk]
    assert sale.listed_customers_only and link.buyer_count == 1
    assert price_for(relationship=world.rel_a, product=world.product, quantity=1,
                     on_date=today).promotion_id == sale.pk
    assert price_for(relationship=world.rel_b, product=world.product, quantity=1,
                     on_date=today).promotion_id is None
    # The segment changes: the refresh re-syncs the promotion's buyers.
    segments.segment_update(segment=segment, actor=world.owner, version=segment.version,
                            rules=rules(cond("account.industry", "equals", "Wholesale")))
    segments.segment_refresh(segment=segment)
    assert list(sale.buyers.values_list("pk", flat=True)) == [world.buyer_b.pk]
    # A segment without hub buyers leaves the promotion for no one (not for everyone).
    segments.segment_update(segment=segment, actor=world.owner, version=segment.version + 1,
                            rules=rules(cond("account.name", "equals", "Prospect C")))
    segments.segment_refresh(segment=segment)
    assert not sale.buyers.exists()
    assert price_for(relationship=world.rel_a, product=world.product, quantity=1,
                     on_date=today).promotion_id is None
    other = promotions.promotion_create(supplier=make_org("other-sup"), actor=world.owner,
                                        name="X", starts_on=today, ends_on=today,
                                        discount_percent="5")
    with pytest.raises(SalesError):
        segments.promotion_target_segment(promotion=other, segment=segment, actor=world.owner)
    assert PromotionSegment.objects.count() == 1 and Promotion.objects.count() == 2


def test_periodic_refresh_only_takes_due_segments(world):
    due = segments.segment_create(organization=world.supplier, actor=world.owner, name="Due",
                                  rules=rules(cond("contact.email_opt_in", "is_true")))
    fresh = segments.segment_create(organization=world.supplier, actor=world.owner,
                                    name="Fresh", rules=rules())
    segments.segment_refresh(segment=fresh)
    Segment.objects.filter(pk=due.pk).update(refreshed_at=timezone.now() - 2 * DAY)
    assert segments.segments_refresh_due() == 1
    due.refresh_from_db()
    assert due.member_count == 2
    assert segments.segments_refresh_due() == 0


def test_preview_count(world):
    assert segments.preview_count(organization=world.supplier, rules=rules(
        cond("purchase.monetary", "gt", Decimal("0")))) == 3
