"""Tax rule: effective PPN defaults, inclusive/exclusive prices, rounding per line."""

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jalin.hub import tax
from jalin.hub.models import TaxClass, TaxRule

prices = st.decimals(min_value=0, max_value=10**9, places=4, allow_nan=False,
                     allow_infinity=False)
quantities = st.integers(min_value=1, max_value=10_000)
rates = st.sampled_from([Decimal("0"), Decimal("11"), Decimal("12"), Decimal("7.5"),
                         Decimal("10")])
currencies = st.sampled_from(["IDR", "USD", "EUR", "JPY"])


def test_default_is_effective_ppn_11_percent():
    amounts = tax.line_amounts(unit_price=Decimal("10000"), quantity=3, rate=Decimal("11"),
                               currency="IDR", prices_include_tax=False)
    assert (amounts.net, amounts.tax, amounts.gross) == (30000, 3300, 33300)
    assert tax.DEFAULT_RATES[TaxClass.STANDARD] == Decimal("11")


def test_rounding_half_up_to_the_minor_unit():
    idr = tax.line_amounts(unit_price=Decimal("4.5"), quantity=1, rate=Decimal("0"),
                           currency="IDR", prices_include_tax=False)
    assert idr.net == Decimal("5")  # half up, not banker's rounding
    usd = tax.line_amounts(unit_price=Decimal("0.125"), quantity=1, rate=Decimal("0"),
                           currency="USD", prices_include_tax=False)
    assert usd.net == Decimal("0.13")
    assert tax.minor_unit("IDR") == 1 and tax.minor_unit("usd") == Decimal("0.01")


def test_inclusive_prices_take_the_tax_out():
    amounts = tax.line_amounts(unit_price=Decimal("11100"), quantity=1, rate=Decimal("11"),
                               currency="IDR", prices_include_tax=True)
    assert (amounts.net, amounts.tax, amounts.gross) == (10000, 1100, 11100)


def test_exempt_buyer_pays_no_tax():
    amounts = tax.line_amounts(unit_price=Decimal("100"), quantity=2, rate=Decimal("11"),
                               currency="IDR", prices_include_tax=False, exempt=True)
    assert (amounts.tax, amounts.gross) == (0, 200)


@pytest.mark.django_db
def test_supplier_rules_override_defaults(org):
    TaxRule.objects.create(supplier=org, tax_class=TaxClass.REDUCED, rate=Decimal("12"))
    rates = tax.rates_for(org)
    assert rates[TaxClass.REDUCED] == Decimal("12") and rates[TaxClass.STANDARD] == 11


@settings(max_examples=300, deadline=None)
@given(price=prices, quantity=quantities, rate=rates, currency=currencies,
       inclusive=st.booleans())
def test_net_plus_tax_is_gross_and_rounded(price, quantity, rate, currency, inclusive):
    amounts = tax.line_amounts(unit_price=price, quantity=quantity, rate=rate,
                               currency=currency, prices_include_tax=inclusive)
    unit = tax.minor_unit(currency)
    assert amounts.net + amounts.tax == amounts.gross
    for value in (amounts.net, amounts.tax, amounts.gross):
        assert value == value.quantize(unit) and value >= 0
    # The tax is the rate of the net, to within one minor unit.
    assert abs(amounts.tax - amounts.net * rate / 100) <= unit


@settings(max_examples=200, deadline=None)
@given(net_price=st.integers(min_value=0, max_value=10**8), quantity=quantities, rate=rates)
def test_inclusive_and_exclusive_agree(net_price, quantity, rate):
    """A gross price made from an exclusive line gives back the same net (±1 minor unit)."""
    exclusive = tax.line_amounts(unit_price=Decimal(net_price), quantity=quantity, rate=rate,
                                 currency="IDR", prices_include_tax=False)
    inclusive = tax.line_amounts(unit_price=exclusive.gross, quantity=1, rate=rate,
                                 currency="IDR", prices_include_tax=True)
    assert inclusive.gross == exclusive.gross
    assert abs(inclusive.net - exclusive.net) <= 1


@settings(max_examples=100, deadline=None)
@given(lines=st.lists(st.tuples(prices, quantities, rates), min_size=1, max_size=10),
       currency=currencies, inclusive=st.booleans())
def test_order_totals_are_the_sum_of_lines(lines, currency, inclusive):
    amounts = [tax.line_amounts(unit_price=p, quantity=q, rate=r, currency=currency,
                                prices_include_tax=inclusive) for p, q, r in lines]
    net = sum(a.net for a in amounts)
    taxes = sum(a.tax for a in amounts)
    gross = sum(a.gross for a in amounts)
    assert net + taxes == gross
