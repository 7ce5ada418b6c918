"""Template helpers for the Jalin UI shell: money formatting and the per-role navigation."""

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from babel import Locale, UnknownLocaleError
from babel.core import get_global
from babel.numbers import format_currency
from django import template
from django.conf import settings
from django.urls import NoReverseMatch, reverse
from django.utils.translation import get_language, to_locale
from django.utils.translation import gettext_lazy as _

register = template.Library()


def _babel_locale():
    try:
        return Locale.parse(to_locale(get_language() or settings.LANGUAGE_CODE))
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


def currency_display_digits(currency: str, amount: Decimal) -> int:
    """Minor units to show, from Babel's CLDR data.

    Amounts are shown with the currency's cash digits (IDR: 0, USD: 2), which is how people
    write prices; an amount that really has a finer fraction keeps its accounting digits so
    nothing is silently rounded away (Rp 1.500,50 stays visible).
    """
    fractions = get_global("currency_fractions")
    digits, _rounding, cash_digits, _cash_rounding = fractions.get(
        currency, fractions["DEFAULT"]
    )
    if cash_digits < digits and amount != amount.quantize(Decimal(1).scaleb(-cash_digits)):
        return digits
    return cash_digits


def format_money(amount, currency=None) -> str:
    """`amount` in `currency` for the active language: "Rp 1.234.567" (id), "IDR 1,234,567" (en)."""
    if amount is None or amount == "":
        return ""
    currency = (currency or settings.JALIN_DEFAULT_CURRENCY).upper()
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError):
        return str(amount)
    digits = currency_display_digits(currency, value)
    pattern = "¤\u00a0#,##0" + ("." + "0" * digits if digits else "")
    return format_currency(
        value, currency, format=pattern, locale=_babel_locale(), currency_digits=False
    )


@register.filter
def money(amount, currency=None):
    """{{ order.total|money:order.currency }}; without a currency, the default (IDR)."""
    return format_money(amount, currency)


@dataclass(frozen=True)
class NavLink:
    key: str
    label: str
    url: str | None


# (key, label, URL name, permission needed). A URL name that does not resolve yet (a module
# still being built) keeps the link out of the nav instead of breaking every page.
NAV_LINKS = (
    ("crm", _("CRM"), "crm:home", "crm.view"),
    ("sales", _("Sales"), "sales:home", "sales.view"),
    ("catalog", _("Catalog"), "hub:catalog", "catalog.view"),
    ("service", _("Service desk"), "service:home", "service.view"),
    ("brm", _("Relationships"), "brm:home", "brm.view"),
    ("members", _("Members"), "tenancy:members", "members.view"),
    ("audit", _("Audit log"), "tenancy:audit_log", "audit.view"),
    ("settings", _("Settings"), "tenancy:settings", "org.manage"),
    ("tokens", _("API tokens"), "accounts:tokens", "tokens.own"),
)


def resolve_url_name(name):
    try:
        return reverse(name)
    except NoReverseMatch:
        return None


@register.simple_tag(takes_context=True)
def nav_links(context):
    """The sections the active membership may open, in menu order."""
    perms = context.get("perms_active") or frozenset()
    links = []
    for key, label, url_name, perm in NAV_LINKS:
        if perm in perms:
            url = resolve_url_name(url_name)
            if url:
                links.append(NavLink(key=key, label=label, url=url))
    return links


@register.simple_tag
def url_if_exists(name):
    """The URL for `name`, or "" when no such route exists (yet)."""
    return resolve_url_name(name) or ""
