"""Sales quotes: made from an opportunity, priced with the customer's hub prices, sent to the
customer's portal (a hub buyer) or as a PDF (anyone else), and closed by the customer's answer.

    draft → sent → accepted | declined | expired | withdrawn
    draft → withdrawn

- `sales_quote_create` copies the opportunity's lines. A line with a hub product is priced for
  the customer with `jalin.hub.pricing.prices_for` on the trading relationship between the
  organization (supplier) and the buyer organization its CRM account is linked to (customer
  list → group list → base list), for that line's quantity; a line without a hub price keeps
  the opportunity's price (after its discount). Tax as the hub computes it (`hub.tax`: the
  supplier's rates per tax class, prices with or without tax, tax-exempt customers), so the
  figures match the hub quote and the order it becomes. Numbered per organization, gapless,
  under the counter's lock (the hub's `numbering` pattern, sequence "sales_quote").
- While a draft, lines, validity and note can be edited (`sales_quote_update`, `version`).
- `sales_quote_send`: for an account linked to a hub buyer with an active relationship, the
  hub's `rfqs.supplier_quote_create` makes a supplier-initiated RFQ and a sent hub quote at
  exactly these prices (`hub_quote`); the buyer accepts it in the portal with the hub's own
  `quote_accept`, which places the hub order. Otherwise the quote is only marked sent: its PDF
  is what the seller sends, and the seller records the answer (`sales_quote_record_answer`).
- `sales_quote_withdraw`: a draft, or a sent quote (its hub quote is withdrawn too).
- The consumer `sales.quotes_from_hub` (consumers.py) learns the buyer's answer from the hub's
  events: accepted (with the hub order; the opportunity is won), declined, expired.

Every change writes the audit log and a `sales.quote.*` event in its transaction; refusals
raise `SalesError` (API 422 / 404 for `not_found`), a stale `version` `StaleVersion` (409).
"""

import datetime
import logging
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from jalin.core import numbering
from jalin.core.audit import audit_record
from jalin.core.events import emit_event
from jalin.core.models import Event
from jalin.hub import pricing, rfqs, selectors, tax
from jalin.hub.models import Product, RelationshipStatus, SupplierSettings, TaxClass
from jalin.hub.services import HubError
from jalin.tenancy.services import StaleVersion, TenancyError

from .leads import SalesError
from .models import (
    OpportunityStatus,
    SalesQuote,
    SalesQuoteLine,
    SalesQuoteStatus,
)

__all__ = ["SalesError", "StaleVersion"]

logger = logging.getLogger(__name__)

S = SalesQuoteStatus
SEQUENCE = "sales.quote"  # the jalin.core.numbering scope of quote numbers
DEFAULT_VALIDITY_DAYS = 30
MAX_LINES = rfqs.MAX_LINES
MAX_QUANTITY = 1_000_000
MAX_NOTE = 5000
HUNDRED = Decimal(100)
CENTS, PRICE_PLACES = Decimal("0.01"), Decimal("0.0001")
# Where a line's unit price came from.
OPPORTUNITY, MANUAL = "opportunity", "manual"


def today():
    return timezone.localdate()  # Asia/Jakarta


def _user(actor):
    return actor if getattr(actor, "pk", None) else None


# --- The customer on the hub ---------------------------------------------------------------


def hub_relationship(opportunity):
    """The active trading relationship between the organization and the hub buyer its
    opportunity's account is linked to; None when the account is not a (trading) hub buyer."""
    buyer_id = opportunity.account.hub_organization_id
    if buyer_id is None:
        return None
    return (selectors.relationships_for_supplier(supplier=opportunity.organization)
            .filter(buyer_id=buyer_id, status=RelationshipStatus.ACTIVE).first())


class Terms:
    """How the hub would price and tax this customer: currency, tax rates, inclusive or not,
    exempt or not."""

    def __init__(self, opportunity, relationship):
        organization = opportunity.organization
        self.relationship = relationship
        settings = SupplierSettings.objects.filter(supplier=organization).first()
        self.prices_include_tax = bool(settings and settings.prices_include_tax)
        self.rates = tax.rates_for(organization.pk)
        if relationship is not None:
            self.currency = relationship.currency
            self.tax_exempt = relationship.tax_exempt
        else:
            self.currency = opportunity.currency
            self.tax_exempt = False

    def rate(self, product):
        if self.tax_exempt:
            return Decimal(0)
        return Decimal(self.rates.get(product.tax_class if product else TaxClass.STANDARD, 0))

    def amounts(self, unit_price, quantity, product):
        return tax.line_amounts(unit_price=unit_price, quantity=quantity,
                                rate=self.rate(product), currency=self.currency,
                                prices_include_tax=self.prices_include_tax,
                                exempt=self.tax_exempt)


# --- Lines ---------------------------------------------------------------------------------


def _invalid(field, message, code="invalid"):
    return SalesError(message, code=code, field=field)


def _price(value, field):
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        price = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        raise _invalid(field, _("Enter a price."), "invalid_price") from None
    if not price.is_finite() or price < 0:
        raise _invalid(field, _("A price cannot be negative."), "invalid_price")
    if price > rfqs.MAX_PRICE or price.as_tuple().exponent < -4:
        raise _invalid(field, _("Enter a price with at most four decimals."), "invalid_price")
    return price


def _quantity(value, field):
    try:
        quantity = int(str(value).strip())
    except (TypeError, ValueError):
        quantity = 0
    if isinstance(value, bool) or not 1 <= quantity <= MAX_QUANTITY:
        raise _invalid(field, _("Enter a quantity between 1 and %(max)s.") % {
            "max": MAX_QUANTITY}, "invalid_quantity")
    return quantity


def _product_id(value, field):
    if value in (None, ""):
        return None
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        raise _invalid(field, _("No such product."), "not_found") from None


def opportunity_lines(opportunity):
    """The opportunity's lines as quote input: product, description, quantity and the deal's
    unit price after the line's discount (used when the customer has no hub price)."""
    return opportunity_lines_from(opportunity.lines.all())


def opportunity_lines_from(lines):
    result = []
    for line in lines:
        price = Decimal(line.unit_price)
        if line.discount_percent:
            price = price * (HUNDRED - Decimal(line.discount_percent)) / HUNDRED
        result.append({"product_id": line.product_id, "description": line.description,
                       "quantity": line.quantity, "unit_price": None,
                       "fallback_price": price.quantize(Decimal("0.0001"))})
    return result


def _priced_lines(opportunity, terms, lines):
    """[{product_id?, description?, quantity, unit_price?}] → unsaved SalesQuoteLines priced
    for the customer. A line without a unit price takes the customer's hub price (or the
    opportunity's price: `fallback_price`); every error names its field."""
    if not lines:
        raise _invalid("lines", _("Add at least one line: the opportunity has no products "
                                  "yet."), "no_lines")
    if not isinstance(lines, (list, tuple)) or len(lines) > MAX_LINES:
        raise _invalid("lines", _("A quote has at most %(max)s lines.") % {"max": MAX_LINES},
                       "too_many_lines")
    parsed = []
    for index, line in enumerate(lines):
        if not isinstance(line, dict):
            raise _invalid(f"lines[{index}]", _("Send each line as an object."))
        product_id = _product_id(line.get("product_id"), f"lines[{index}].product_id")
        quantity = _quantity(line.get("quantity"), f"lines[{index}].quantity")
        price = _price(line.get("unit_price"), f"lines[{index}].unit_price")
        description = " ".join(str(line.get("description") or "").split())[:200]
        parsed.append((index, product_id, quantity, price, description,
                       line.get("fallback_price")))
    wanted = {product_id for _i, product_id, *_rest in parsed if product_id is not None}
    products = {p.pk: p for p in Product.objects.filter(
        pk__in=wanted, supplier_id=opportunity.organization_id)}
    hub_prices = {}
    if terms.relationship is not None and products:
        hub_prices = pricing.prices_for(
            relationship=terms.relationship, on_date=today(),
            quantities={product_id: quantity for _i, product_id, quantity, *_r in parsed
                        if product_id in products})
    rows, seen = [], set()
    for position, (index, product_id, quantity, price, description, fallback) in enumerate(
            parsed, 1):
        product = None
        if product_id is not None:
            product = products.get(product_id)
            if product is None:
                raise _invalid(f"lines[{index}].product_id", _("No such product."),
                               "not_found")
            if product.pk in seen:
                raise _invalid(f"lines[{index}].product_id", _(
                    "%(sku)s is on the quote twice; use one line.") % {"sku": product.sku},
                    "duplicate_product")
            seen.add(product.pk)
        elif not description:
            raise _invalid(f"lines[{index}].description",
                           _("Choose a product or describe the item."), "required")
        source = MANUAL
        if price is None:
            hub_price = hub_prices.get(product.pk) if product else None
            if hub_price is not None and hub_price.currency == terms.currency:
                price, source = hub_price.amount, hub_price.source
            elif fallback is not None:
                price, source = Decimal(fallback), OPPORTUNITY
            else:
                raise _invalid(f"lines[{index}].unit_price", _(
                    "There is no price for this customer; enter one."), "no_price")
        amounts = terms.amounts(price, quantity, product)
        rows.append(SalesQuoteLine(
            position=position, product=product, sku=product.sku if product else "",
            description=description or (product.name[:200] if product else ""),
            quantity=quantity, unit_price=Decimal(price).quantize(PRICE_PLACES),
            price_source=source, tax_rate=terms.rate(product),
            line_net=amounts.net.quantize(CENTS), line_tax=amounts.tax.quantize(CENTS),
            line_gross=amounts.gross.quantize(CENTS)))
    return rows


def _totals(quote, rows):
    quote.total_net = sum((row.line_net for row in rows), Decimal(0)).quantize(CENTS)
    quote.total_tax = sum((row.line_tax for row in rows), Decimal(0)).quantize(CENTS)
    quote.total_gross = sum((row.line_gross for row in rows), Decimal(0)).quantize(CENTS)


def _check_validity(valid_until):
    if not isinstance(valid_until, datetime.date):
        raise _invalid("valid_until", _("Enter the date the quote is valid until."),
                       "invalid_date")
    if valid_until < today():
        raise _invalid("valid_until", _("The validity date cannot be in the past."),
                       "past_date")
    if valid_until > today() + datetime.timedelta(days=rfqs.MAX_VALIDITY_DAYS):
        raise _invalid("valid_until", _("A quote is valid for at most a year."), "too_long")


def _payload(quote, **extra):
    data = {"quote_id": quote.pk, "number": quote.number, "label": quote.label,
            "status": quote.status, "opportunity_id": quote.opportunity_id,
            "account_id": quote.opportunity.account_id,
            "title": quote.opportunity.name[:120],
            "total": str(quote.total_gross), "currency": quote.currency,
            "hub_quote_id": quote.hub_quote_id, "hub_order_id": quote.hub_order_id}
    data.update(extra)
    return data


def _record(quote, *, actor, event, before=None, **extra):
    audit_record(actor=actor, organization=quote.organization, action=event, obj=quote,
                 before=before, after={"status": quote.status, "total": str(quote.total_gross),
                                       "lines": extra.pop("lines", None)})
    emit_event(type=event, organization=quote.organization, aggregate=quote,
               actor=_user(actor), payload=_payload(quote, **extra))


def _lock(quote, version=None):
    locked = (SalesQuote.objects.select_for_update(of=("self",))
              .select_related("organization", "opportunity", "opportunity__account")
              .get(pk=quote.pk))
    if version is not None and locked.version != version:
        raise StaleVersion()
    return locked


# --- Reads ---------------------------------------------------------------------------------


EVENT_LABELS = {
    "sales.quote.created": gettext_lazy("Created"),
    "sales.quote.updated": gettext_lazy("Edited"),
    "sales.quote.sent": gettext_lazy("Sent"),
    "sales.quote.accepted": gettext_lazy("Accepted"),
    "sales.quote.declined": gettext_lazy("Declined"),
    "sales.quote.expired": gettext_lazy("Expired"),
    "sales.quote.withdrawn": gettext_lazy("Withdrawn"),
}


def history(quote):
    """The quote's events, oldest first (who created, edited, sent, and what became of it),
    each with a `label`."""
    events = list(Event.objects.filter(organization_id=quote.organization_id,
                                       aggregate_type=SalesQuote._meta.label_lower,
                                       aggregate_id=str(quote.pk))
                  .select_related("actor").order_by("id")[:100])
    for event in events:
        event.label = EVENT_LABELS.get(event.type, event.type)
    return events


def quotes_of_opportunity(opportunity):
    return (SalesQuote.objects.filter(opportunity=opportunity)
            .select_related("hub_order").order_by("-number"))


# --- Services --------------------------------------------------------------------------------


def sales_quote_create(*, opportunity, actor, valid_until=None, lines=None, note=""):
    """A draft quote for an open opportunity: its lines (or `lines`) priced for the customer."""
    if opportunity.status != OpportunityStatus.OPEN:
        raise _invalid("opportunity_id", _("Only an open opportunity can be quoted."),
                       "closed")
    valid_until = valid_until or today() + datetime.timedelta(days=DEFAULT_VALIDITY_DAYS)
    _check_validity(valid_until)
    relationship = hub_relationship(opportunity)
    terms = Terms(opportunity, relationship)
    rows = _priced_lines(opportunity, terms,
                         opportunity_lines(opportunity) if lines is None else lines)
    organization = opportunity.organization
    with transaction.atomic():
        quote = SalesQuote(
            organization=organization, opportunity=opportunity, valid_until=valid_until,
            currency=terms.currency, prices_include_tax=terms.prices_include_tax,
            tax_exempt=terms.tax_exempt, note=(note or "").strip()[:MAX_NOTE],
            created_by=_user(actor))
        _totals(quote, rows)
        quote.number = numbering.next_number(organization=organization, scope=SEQUENCE)
        quote.save()
        for row in rows:
            row.quote = quote
        SalesQuoteLine.objects.bulk_create(rows)
        _record(quote, actor=actor, event="sales.quote.created", lines=len(rows),
                hub_customer=relationship is not None)
    return quote


def sales_quote_update(*, quote, actor, version, lines=None, valid_until=None, note=None):
    """Edit a draft: replace its lines (re-priced: a line without a unit price takes the
    customer's hub price), its validity date or note."""
    with transaction.atomic():
        locked = _lock(quote, version)
        if locked.status != S.DRAFT:
            raise _invalid("status", _("Only a draft quote can be changed."), "not_draft")
        opportunity = locked.opportunity
        changed = []
        if valid_until is not None and valid_until != locked.valid_until:
            _check_validity(valid_until)
            locked.valid_until = valid_until
            changed.append("valid_until")
        if note is not None and note.strip()[:MAX_NOTE] != locked.note:
            locked.note = note.strip()[:MAX_NOTE]
            changed.append("note")
        if lines is not None:
            terms = Terms(opportunity, hub_relationship(opportunity))
            rows = _priced_lines(opportunity, terms, lines)
            locked.currency, locked.tax_exempt = terms.currency, terms.tax_exempt
            locked.prices_include_tax = terms.prices_include_tax
            _totals(locked, rows)
            locked.lines.all().delete()
            for row in rows:
                row.quote = locked
            SalesQuoteLine.objects.bulk_create(rows)
            changed.append("lines")
        if not changed:
            return locked
        locked.version += 1
        locked.save()
        _record(locked, actor=actor, event="sales.quote.updated", changed=changed)
    return locked


def _hub_error(error):
    """A refusal of the hub's service, in sales terms (same field names: lines[i]...)."""
    code = "hub_refused" if error.code in ("forbidden",) else error.code
    return SalesError(error.message, code=code, field=error.field or "action")


def sales_quote_send(*, quote, actor, membership, version=None):
    """Send a draft. A hub customer gets it in the portal (a supplier-initiated hub quote at
    these prices; `membership` is the sender's, for the hub's permission check); anyone else
    gets the PDF from the seller, and the quote is marked sent."""
    with transaction.atomic():
        locked = _lock(quote, version)
        if locked.status != S.DRAFT:
            raise _invalid("status", _("Only a draft quote can be sent."), "not_draft")
        _check_validity(locked.valid_until)
        opportunity = locked.opportunity
        relationship = hub_relationship(opportunity)
        lines = list(locked.lines.all())
        if relationship is not None:
            if locked.currency != relationship.currency:
                raise _invalid("currency", _(
                    "The customer buys in %(currency)s on the hub; edit the quote to re-price "
                    "it.") % {"currency": relationship.currency}, "currency_mismatch")
            for index, line in enumerate(lines):
                if line.product_id is None:
                    raise _invalid(f"lines[{index}].product_id", _(
                        "“%(item)s” is not a catalog product: a hub customer can only order "
                        "catalog products.") % {"item": line.description}, "not_orderable")
            try:
                hub_quote = rfqs.supplier_quote_create(
                    relationship=relationship, membership=membership, actor=actor,
                    title=opportunity.name[:200], valid_until=locked.valid_until,
                    note=locked.note, reference=locked.label,
                    idempotency_key=f"sales-quote:{locked.pk}",
                    lines=[{"product_id": line.product_id, "quantity": line.quantity,
                            "unit_price": line.unit_price, "description": line.description}
                           for line in lines])
            except HubError as error:
                raise _hub_error(error) from error
            locked.hub_quote = hub_quote
        locked.status = S.SENT
        locked.sent_at = timezone.now()
        locked.version += 1
        locked.save()
        _record(locked, actor=actor, event="sales.quote.sent", before={"status": S.DRAFT},
                via="hub" if locked.hub_quote_id else "pdf")
    return locked


def sales_quote_withdraw(*, quote, actor, membership=None, version=None, comment=""):
    """Take back a draft or sent quote; a sent hub quote is withdrawn on the hub too (the
    buyer can no longer accept it)."""
    comment = " ".join((comment or "").split())[:500]
    with transaction.atomic():
        locked = _lock(quote, version)
        if locked.status not in (S.DRAFT, S.SENT):
            raise _invalid("status", _("This quote is %(status)s and can no longer be "
                                       "withdrawn.") % {"status": locked.get_status_display()},
                           "invalid_transition")
        if locked.hub_quote_id is not None:
            try:
                rfqs.supplier_quote_withdraw(quote=locked.hub_quote, membership=membership,
                                             actor=actor, comment=comment)
            except HubError as error:
                raise _hub_error(error) from error
        before = locked.status
        locked.status = S.WITHDRAWN
        locked.decided_at = timezone.now()
        locked.version += 1
        locked.save()
        _record(locked, actor=actor, event="sales.quote.withdrawn", before={"status": before},
                comment=comment)
    return locked


def sales_quote_record_answer(*, quote, actor, accepted, version=None, comment=""):
    """The customer's answer to a quote sent outside the hub (by PDF), as the seller heard
    it. Accepted: the opportunity is won. A hub quote's answer comes from the hub."""
    with transaction.atomic():
        locked = _lock(quote, version)
        if locked.hub_quote_id is not None:
            raise _invalid("status", _("The customer answers this quote in the portal."),
                           "hub_quote")
        if locked.status != S.SENT:
            raise _invalid("status", _("Only a sent quote can be accepted or declined."),
                           "invalid_transition")
        _decide(locked, actor=actor, status=S.ACCEPTED if accepted else S.DECLINED,
                comment=comment)
    return locked


def _decide(locked, *, actor, status, hub_order_id=None, comment=""):
    """A sent quote gets the customer's answer (the quote row is locked by the caller); an
    accepted quote wins its opportunity (with the hub order when there is one)."""
    before = locked.status
    locked.status = status
    locked.decided_at = timezone.now()
    if hub_order_id is not None:
        locked.hub_order_id = hub_order_id
    locked.version += 1
    locked.save()
    _record(locked, actor=actor, event=f"sales.quote.{status}", before={"status": before},
            comment=(comment or "")[:500])
    if status == S.ACCEPTED:
        win_opportunity(locked, actor=actor)


def win_opportunity(quote, *, actor):
    """Close the quote's opportunity as won through the pipeline's own service (with the hub
    order). Returns whether it did; a refusal (say, a pipeline without a won stage) is logged
    and leaves the deal to a person."""
    from .opportunities import opportunity_close

    opportunity = quote.opportunity
    opportunity.refresh_from_db()
    # An open deal is won; a closed one only with the hub order (the pipeline's service
    # answers a won deal idempotently and reopens a lost one as won: the customer ordered).
    if opportunity.status != OpportunityStatus.OPEN and quote.hub_order_id is None:
        return False
    try:
        with transaction.atomic():
            opportunity_close(opportunity=opportunity, actor=actor, won=True,
                              hub_order=quote.hub_order,
                              note=_("Quote %(quote)s accepted.") % {"quote": quote.label})
    except TenancyError as error:
        # E.g. the pipeline has no won stage: the quote stays accepted; a person closes the
        # deal (the refusal is in the log, the quote's page shows the deal still open).
        logger.warning("Opportunity %s not closed won after quote %s: %s", opportunity.pk,
                       quote.pk, error.message)
        return False
    return True


def quotes_expire(*, on_date=None):
    """Expire sent quotes outside the hub past their validity date (a hub quote's expiry comes
    from the hub's own job and event). Returns how many expired."""
    day = on_date or today()
    due = list(SalesQuote.objects.filter(status=S.SENT, hub_quote__isnull=True,
                                         valid_until__lt=day)
               .order_by("valid_until", "id").values_list("pk", flat=True)[:500])
    expired = 0
    for pk in due:
        with transaction.atomic():
            locked = _lock(SalesQuote(pk=pk))
            if locked.status != S.SENT or locked.valid_until >= day:
                continue
            _decide(locked, actor=None, status=S.EXPIRED)
            expired += 1
    return expired


def expire_due_quotes():
    count = quotes_expire()
    return f"{count} sales quotes expired" if count else None
