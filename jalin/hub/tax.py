"""Business rule: tax on order lines.

Indonesia's PPN (VAT) default. Since 1 January 2025 the statutory PPN rate is 12%, but for
goods and services that are not luxury goods the tax base (DPP) is 11/12 of the price, so the
tax actually charged is 12% × 11/12 = 11% of the price. Jalin does not model the DPP
separately: a supplier's rate per tax class is the *effective* rate on the net price. The
defaults are therefore standard 11% (non-luxury goods), reduced 11% (Indonesia has no
statutory reduced rate; a supplier selling luxury goods sets 12%, one with a facility sets
its own) and exempt 0%. Each supplier overrides them with `TaxRule` rows.

Prices are either tax-exclusive (net; tax is added) or tax-inclusive (gross; tax is taken
out), a supplier setting. A buyer flagged `tax_exempt` on its trading relationship pays no
tax. Each line is rounded to the currency's minor unit with ROUND_HALF_UP:

    exclusive: net = round(unit × qty); tax = round(net × rate / 100); gross = net + tax
    inclusive: gross = round(unit × qty); net = round(gross × 100 / (100 + rate));
               tax = gross - net

so net + tax = gross holds exactly on every line, and order totals are the sums of the lines.
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from .models import TaxClass, TaxRule

DEFAULT_RATES = {
    TaxClass.STANDARD: Decimal("11"),
    TaxClass.REDUCED: Decimal("11"),
    TaxClass.EXEMPT: Decimal("0"),
}

# Minor units of the currencies without cents; everything else has two.
ZERO_DECIMAL_CURRENCIES = frozenset({"IDR", "JPY", "KRW", "VND", "CLP", "ISK", "UGX"})
HUNDRED = Decimal(100)


def minor_unit(currency):
    """The smallest amount of `currency` an order line is rounded to: IDR 1, USD 0.01."""
    digits = 0 if (currency or "").upper() in ZERO_DECIMAL_CURRENCIES else 2
    return Decimal(1).scaleb(-digits)


def round_money(amount, currency):
    return Decimal(amount).quantize(minor_unit(currency), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class LineAmounts:
    net: Decimal
    tax: Decimal
    gross: Decimal


def line_amounts(*, unit_price, quantity, rate, currency, prices_include_tax, exempt=False):
    """Net, tax and gross of one line, each rounded to the currency's minor unit."""
    rate = Decimal(0) if exempt else Decimal(rate)
    amount = round_money(Decimal(unit_price) * quantity, currency)
    if prices_include_tax:
        gross = amount
        net = round_money(gross * HUNDRED / (HUNDRED + rate), currency)
        return LineAmounts(net=net, tax=gross - net, gross=gross)
    tax = round_money(amount * rate / HUNDRED, currency)
    return LineAmounts(net=amount, tax=tax, gross=amount + tax)


def rates_for(supplier):
    """{tax class: effective rate in percent} for a supplier (its rules over the defaults)."""
    rates = dict(DEFAULT_RATES)
    for tax_class, rate in TaxRule.objects.filter(supplier=supplier).values_list(
        "tax_class", "rate"
    ):
        rates[tax_class] = rate
    return rates
