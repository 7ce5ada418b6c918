"""The price a buyer sees: customer list, then base list, quantity breaks, validity dates."""

import datetime
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jalin.hub.pricing import best_break, price_for, prices_for
from jalin.hub.testing import link_buyer, make_price_list, make_product, set_price
from tests.conftest import make_org, make_user

TODAY = datetime.date(2026, 6, 15)


@pytest.fixture
def world(db):
    supplier = make_org("pt-supplier", currency="IDR")
    buyer_a = make_org("buyer-a", is_supplier=False, is_buyer=True)
    buyer_b = make_org("buyer-b", is_supplier=False, is_buyer=True)
    actor = make_user("supplier-admin")
    base = make_price_list(supplier, actor, "Base", is_base=True)
    list_a = make_price_list(supplier, actor, "Buyer A prices")
    list_b = make_price_list(supplier, actor, "Buyer B prices")
    product = make_product(supplier, actor, "SKU-1")
    set_price(base, product, "100000", actor)
    set_price(base, product, "90000", actor, min_quantity=10)
    set_price(list_a, product, "80000", actor)
    set_price(list_b, product, "50000", actor)
    rel_a = link_buyer(supplier, buyer_a, actor, price_list=list_a)
    rel_b = link_buyer(supplier, buyer_b, actor, price_list=list_b)
    return locals()


def test_customer_list_wins_over_base(world):
    price = price_for(relationship=world["rel_a"], product=world["product"], quantity=1,
                      on_date=TODAY)
    assert price.amount == Decimal("80000") and price.is_customer_price
    assert price.currency == "IDR"


def test_each_buyer_gets_its_own_list(world):
    a = price_for(relationship=world["rel_a"], product=world["product"], quantity=1,
                  on_date=TODAY)
    b = price_for(relationship=world["rel_b"], product=world["product"], quantity=1,
                  on_date=TODAY)
    assert (a.amount, b.amount) == (Decimal("80000"), Decimal("50000"))
    assert a.price_list_id == world["list_a"].pk and b.price_list_id == world["list_b"].pk


def test_without_customer_item_base_list_with_breaks_applies(world):
    other = make_product(world["supplier"], world["actor"], "SKU-2")
    set_price(world["base"], other, "1000", world["actor"])
    set_price(world["base"], other, "900", world["actor"], min_quantity=10)
    price = price_for(relationship=world["rel_a"], product=other, quantity=9, on_date=TODAY)
    assert price.amount == Decimal("1000") and not price.is_customer_price
    price = price_for(relationship=world["rel_a"], product=other, quantity=10, on_date=TODAY)
    assert price.amount == Decimal("900")


def test_no_price_anywhere_means_not_orderable(world):
    other = make_product(world["supplier"], world["actor"], "SKU-3")
    assert price_for(relationship=world["rel_a"], product=other, quantity=1,
                     on_date=TODAY) is None


def test_expired_and_future_customer_lists_are_ignored(world):
    list_a = world["list_a"]
    list_a.valid_to = TODAY - datetime.timedelta(days=1)
    list_a.save()
    price = price_for(relationship=world["rel_a"], product=world["product"], quantity=1,
                      on_date=TODAY)
    assert price.amount == Decimal("100000") and not price.is_customer_price
    list_a.valid_to = None
    list_a.valid_from = TODAY + datetime.timedelta(days=1)
    list_a.save()
    assert price_for(relationship=world["rel_a"], product=world["product"], quantity=1,
                     on_date=TODAY).amount == Decimal("100000")
    # Validity dates are inclusive.
    assert price_for(relationship=world["rel_a"], product=world["product"], quantity=1,
                     on_date=list_a.valid_from).amount == Decimal("80000")


def test_expired_base_list_means_no_price(world):
    base = world["base"]
    base.valid_to = TODAY - datetime.timedelta(days=1)
    base.save()
    world["rel_a"].price_list = None
    assert price_for(relationship=world["rel_a"], product=world["product"], quantity=1,
                     on_date=TODAY) is None


def test_product_of_another_supplier_has_no_price(world):
    rival = make_org("rival-supplier")
    foreign = make_product(rival, world["actor"], "SKU-1")
    assert price_for(relationship=world["rel_a"], product=foreign, quantity=1,
                     on_date=TODAY) is None


def test_a_relationship_pointing_at_another_buyers_list_never_leaks_it(world):
    # Even if a relationship object were tampered with in memory to name a list of another
    # supplier, that list is ignored.
    rival = make_org("rival-supplier-2")
    rival_list = make_price_list(rival, world["actor"], "Rival", is_base=False)
    rel = world["rel_a"]
    rel.price_list_id = rival_list.pk
    price = price_for(relationship=rel, product=world["product"], quantity=1, on_date=TODAY)
    assert price.amount == Decimal("100000")


def test_bulk_prices_use_one_query(world, django_assert_num_queries):
    products = [make_product(world["supplier"], world["actor"], f"BULK-{i}") for i in range(20)]
    for product in products:
        set_price(world["base"], product, "10", world["actor"])
    with django_assert_num_queries(1):
        prices = prices_for(relationship=world["rel_a"], product_ids=[p.pk for p in products],
                            quantity=1, on_date=TODAY)
    assert len(prices) == 20


# --- Properties ----------------------------------------------------------------------------

breaks = st.lists(
    st.tuples(st.integers(1, 1000), st.decimals(0, 10**9, places=4)),
    min_size=1, max_size=8, unique_by=lambda row: row[0],
)


def _descending(rows):
    """Make the prices fall as the break quantity rises (the usual shape of a break table)."""
    quantities = sorted(q for q, _ in rows)
    prices = sorted((p for _, p in rows), reverse=True)
    return list(zip(quantities, prices, strict=True))


@given(rows=breaks, q1=st.integers(1, 2000), q2=st.integers(1, 2000))
def test_more_quantity_never_raises_the_unit_price(rows, q1, q2):
    rows = _descending(rows)
    low, high = sorted((q1, q2))
    at_low, at_high = best_break(rows, low), best_break(rows, high)
    if at_low is not None:
        assert at_high is not None and at_high[1] <= at_low[1]


@given(rows=breaks, quantity=st.integers(1, 2000))
def test_the_chosen_break_is_the_highest_at_or_below_the_quantity(rows, quantity):
    chosen = best_break(rows, quantity)
    eligible = [q for q, _ in rows if q <= quantity]
    if not eligible:
        assert chosen is None
    else:
        assert chosen[0] == max(eligible)


@pytest.mark.django_db
@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    price_a=st.decimals(0, 10**6, places=2),
    price_b=st.decimals(0, 10**6, places=2),
    expired=st.booleans(),
    quantity=st.integers(1, 50),
)
def test_a_buyer_never_gets_another_buyers_price(world, price_a, price_b, expired, quantity):
    """Whatever the prices and dates, buyer A's price comes from A's list or the base list."""
    actor = world["actor"]
    set_price(world["list_a"], world["product"], price_a, actor)
    set_price(world["list_b"], world["product"], price_b, actor)
    list_a = world["list_a"]
    list_a.valid_to = TODAY - datetime.timedelta(days=1) if expired else None
    list_a.save()
    price = price_for(relationship=world["rel_a"], product=world["product"],
                      quantity=quantity, on_date=TODAY)
    assert price.price_list_id in (world["list_a"].pk, world["base"].pk)
    assert price.price_list_id != world["list_b"].pk
    if expired:
        assert price.price_list_id == world["base"].pk
    else:
        assert price.amount == price_a
