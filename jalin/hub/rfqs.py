"""Requests for quotation (RFQs) and the supplier's quotes: the write side.

A buyer asks one supplier for prices on items and quantities (`rfq_create`, lines naming its
entitled products or describing an item in words). The supplier answers with a quote
(`quote_save`: a price per line, a validity date, a note; saved as a draft or sent). A newer
sent quote supersedes the previous one. The buyer accepts (`quote_accept`) — which places a
normal hub order at the quoted prices through `orders.order_place` (entitlement, tax, stock
reservation, approval threshold, credit check and gapless numbering unchanged) — or declines.
Sent quotes past their validity date are expired by a housekeeping job (`quotes_expire`).

Lifecycles (the transition tables below):

    RFQ    draft → submitted → quoted → accepted | declined | cancelled | expired
           (expired → quoted again when the supplier sends a new quote)
    Quote  draft → sent → accepted | declined | superseded | expired | withdrawn

A supplier may also open the conversation itself (`supplier_quote_create`, e.g. a quote made
from a CRM opportunity): the RFQ is created on the buyer's behalf, marked `supplier_initiated`,
numbered like any other and quoted at once; the buyer sees and accepts it in the same portal
pages. Such a quote can be withdrawn by the supplier while it is sent
(`supplier_quote_withdraw`: quote withdrawn, RFQ cancelled).

Lock order, on every path: the RFQ row, then its quote rows, then whatever `order_place`
locks (relationship, stock, counters). So an accept racing a revision, a cancel, the expiry
job or a second accept is serialized on the RFQ row: one order per quote, at most.

Every status change is a `RfqStatusChange` row, an audit entry and a `hub.rfq.*` /
`hub.quote.*` event (organization = the supplier, payload with `buyer_id`), in the same
transaction. A draft RFQ is the buyer's alone: it emits nothing until it is submitted.
"""

import datetime
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from jalin.core.audit import audit_record
from jalin.core.events import emit_event
from jalin.core.notifications import notify
from jalin.tenancy.models import Membership
from jalin.tenancy.roles import ORDERS_FULFIL, ORDERS_PLACE, Role, has_perm
from jalin.tenancy.services import StaleVersion

from . import numbering, orders, selectors, tax
from .models import (
    Order,
    Quote,
    QuoteLine,
    QuoteStatus,
    RelationshipStatus,
    Rfq,
    RfqLine,
    RfqStatus,
    RfqStatusChange,
    SupplierSettings,
)
from .services import HubError

R, Q = RfqStatus, QuoteStatus
BUYER, SUPPLIER = orders.BUYER, orders.SUPPLIER
MAX_LINES = 200
MAX_VALIDITY_DAYS = 366
MAX_LEAD_TIME_DAYS = 3650
MAX_PRICE = Decimal("99999999999999")  # fits Decimal(18, 4)
EXPIRE_BATCH = 500

RFQ_TRANSITIONS = {
    R.DRAFT: {R.SUBMITTED, R.CANCELLED},
    R.SUBMITTED: {R.QUOTED, R.DECLINED, R.CANCELLED},
    R.QUOTED: {R.ACCEPTED, R.DECLINED, R.CANCELLED, R.EXPIRED},
    R.EXPIRED: {R.QUOTED, R.DECLINED, R.CANCELLED},
    R.ACCEPTED: set(),
    R.DECLINED: set(),
    R.CANCELLED: set(),
}
QUOTE_TRANSITIONS = {
    Q.DRAFT: {Q.SENT},
    Q.SENT: {Q.ACCEPTED, Q.DECLINED, Q.SUPERSEDED, Q.EXPIRED, Q.WITHDRAWN},
    Q.ACCEPTED: set(),
    Q.DECLINED: set(),
    Q.SUPERSEDED: set(),
    Q.EXPIRED: set(),
    Q.WITHDRAWN: set(),
}
# RFQ states in which the supplier may (re)quote, the buyer may cancel, the supplier decline.
QUOTABLE = (R.SUBMITTED, R.QUOTED, R.EXPIRED)
CANCELLABLE = (R.DRAFT, R.SUBMITTED, R.QUOTED, R.EXPIRED)
DECLINABLE = (R.SUBMITTED, R.EXPIRED)
# Who hears of a new RFQ at the supplier.
RFQ_NOTIFY_ROLES = (Role.SALES, Role.ORG_ADMIN)
# Who hears of a quote the supplier opened itself (no requester to tell): the buyer's people
# who may accept it.
QUOTE_NOTIFY_ROLES = (Role.BUYER, Role.BUYER_APPROVER, Role.ORG_ADMIN)


def today():
    """Today in the hub's time zone (Asia/Jakarta): validity dates are calendar days there."""
    return timezone.localdate()


def _user(actor):
    return actor if getattr(actor, "pk", None) else None


# --- Records, events, notifications ----------------------------------------------------------


def payload(rfq, quote=None, **extra):
    """The event payload: both documents' ids and numbers, the parties, the quote's total."""
    data = {
        "rfq_id": rfq.pk, "rfq_number": rfq.number, "supplier_id": rfq.supplier_id,
        "buyer_id": rfq.buyer_id, "title": rfq.title[:200], "status": rfq.status,
        "quote_id": None, "quote_number": None, "total": None, "currency": None,
    }
    if quote is not None:
        data.update({
            "quote_id": quote.pk, "quote_number": quote.number,
            "quote_status": quote.status,
            "total": str(Decimal(quote.total_gross).quantize(Decimal("0.01"))),
            "currency": quote.currency,
        })
    data.update(extra)
    return data


def _record(rfq, *, from_status, actor, event, quote=None, comment="", extra=None):
    """One status change of the RFQ (or, with `quote`, of that quote): history row, audit
    entry and event, all in the caller's transaction."""
    document = quote if quote is not None else rfq
    RfqStatusChange.objects.create(rfq=rfq, quote=quote, from_status=from_status or "",
                                   to_status=document.status, actor=_user(actor),
                                   comment=(comment or "")[:500])
    audit_record(actor=actor, organization=rfq.supplier, action=event, obj=document,
                 before={"status": from_status} if from_status else None,
                 after={"status": document.status, "comment": (comment or "")[:200]})
    emit_event(type=event, organization=rfq.supplier, aggregate=document, actor=actor,
               payload=payload(rfq, quote, **(extra or {})))


def _move_rfq(rfq, target, *, actor, comment="", event=None):
    if target not in RFQ_TRANSITIONS[rfq.status]:
        raise HubError(_("A request that is %(status)s cannot become %(target)s.") % {
            "status": rfq.get_status_display(), "target": RfqStatus(target).label},
            code="invalid_transition", field="action")
    from_status = rfq.status
    rfq.status = target
    rfq.version += 1
    rfq.updated_at = timezone.now()
    rfq.save(update_fields=["status", "version", "updated_at", "number", "submitted_at"])
    _record(rfq, from_status=from_status, actor=actor, comment=comment,
            event=event or f"hub.rfq.{target}")


def _move_quote(quote, rfq, target, *, actor, comment="", extra=None):
    if target not in QUOTE_TRANSITIONS[quote.status]:
        raise HubError(_("A quote that is %(status)s cannot become %(target)s.") % {
            "status": quote.get_status_display(), "target": QuoteStatus(target).label},
            code="invalid_transition", field="action")
    from_status = quote.status
    quote.status = target
    quote.version += 1
    quote.save(update_fields=["status", "version", "sent_by", "sent_at", "decided_by",
                              "decided_at"])
    _record(rfq, from_status=from_status, actor=actor, quote=quote, comment=comment,
            event=f"hub.quote.{target}", extra=extra)


def _notify_rfq_submitted(rfq):
    url = reverse("hub:rfq_detail", args=[rfq.pk])
    title = _("Request for quotation %(number)s from %(buyer)s") % {
        "number": rfq.label, "buyer": rfq.buyer.name}
    for membership in (Membership.objects.filter(organization_id=rfq.supplier_id,
                                                 is_active=True, role__in=RFQ_NOTIFY_ROLES)
                       .select_related("user")):
        notify(organization=rfq.supplier, user=membership.user, kind="rfq", title=title,
               body=rfq.title, url=url, key=f"rfq:{rfq.pk}:submitted")


def _notify_quote_sent(rfq, quote):
    if rfq.requested_by is not None:
        users = [rfq.requested_by]
    elif rfq.supplier_initiated:
        users = [m.user for m in Membership.objects.filter(
            organization_id=rfq.buyer_id, is_active=True, role__in=QUOTE_NOTIFY_ROLES)
            .select_related("user")]
    else:
        return
    for user in users:
        notify(organization=rfq.buyer, user=user, kind="quote",
               title=_("Quote %(quote)s from %(supplier)s for %(rfq)s") % {
                   "quote": quote.label, "supplier": rfq.supplier.name, "rfq": rfq.label},
               body=rfq.title, url=reverse("hub:rfq_detail", args=[rfq.pk]),
               key=f"quote:{quote.pk}:sent")


# --- Checks ----------------------------------------------------------------------------------


def _require(document, membership, side, perm):
    """`membership` acts for `side` of the document and holds `perm`; else 'forbidden'."""
    organization = membership.organization if membership else None
    if orders.side_of(document, organization) != side or not has_perm(membership, perm):
        raise HubError(_("You may not do this to this request."), code="forbidden",
                       field="action")


def _lock_rfq(rfq, version=None):
    locked = (Rfq.objects.select_for_update(of=("self",))
              .select_related("supplier", "buyer", "relationship").get(pk=rfq.pk))
    if version is not None and locked.version != version:
        raise StaleVersion()
    return locked


def _lock_quote(quote, version=None):
    locked = Quote.objects.select_for_update(of=("self",)).get(pk=quote.pk)
    if version is not None and locked.version != version:
        raise StaleVersion()
    return locked


def _trading(relationship):
    if relationship.status != RelationshipStatus.ACTIVE:
        raise HubError(_("You do not trade with this organization at the moment."),
                       code="not_trading")


def _quantity(value, field):
    if (not isinstance(value, int) or isinstance(value, bool)
            or not 1 <= value <= orders.MAX_QUANTITY):
        raise HubError(_("Enter a quantity between 1 and %(max)s.") % {
            "max": orders.MAX_QUANTITY}, code="invalid_quantity", field=field)
    return value


def _text(value, limit):
    return (value or "").strip()[:limit] if isinstance(value, str) or value is None else ""


def _id(value):
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def parse_price(value, field):
    """A unit price: a finite decimal ≥ 0 with at most four decimals."""
    try:
        price = Decimal(str(value).strip().replace(",", "")) if value not in (None, "") \
            else None
    except (InvalidOperation, ValueError):
        price = None
    if price is None or not price.is_finite():
        raise HubError(_("Enter a price."), code="invalid_price", field=field)
    if price < 0:
        raise HubError(_("A price cannot be negative."), code="invalid_price", field=field)
    if price > MAX_PRICE or price.as_tuple().exponent < -4:
        raise HubError(_("Enter a price with at most four decimals."), code="invalid_price",
                       field=field)
    return price


# --- RFQs (buyer) ----------------------------------------------------------------------------


def _rfq_lines(relationship, lines):
    """[{product_id | description, quantity, note}] → unsaved RfqLines (all or an error)."""
    if not lines:
        raise HubError(_("Ask for at least one item."), code="no_lines", field="lines")
    if len(lines) > MAX_LINES:
        raise HubError(_("A request has at most %(max)s lines.") % {"max": MAX_LINES},
                       code="too_many_lines", field="lines")
    ids = [_id(line.get("product_id")) for line in lines]
    products = {p.pk: p for p in selectors.entitled_products(relationship=relationship)
                .filter(pk__in=[pk for pk in ids if pk is not None])}
    rows, seen = [], set()
    for index, line in enumerate(lines):
        quantity = _quantity(line.get("quantity"), f"lines[{index}].quantity")
        description = _text(line.get("description"), 200)
        product = None
        if line.get("product_id") is not None:
            product = products.get(ids[index])
            if product is None:
                raise HubError(_("No such product."), code="not_found",
                               field=f"lines[{index}].product_id")
            if product.pk in seen:
                raise HubError(_("%(sku)s is asked for twice; use one line.") % {
                    "sku": product.sku}, code="duplicate_product",
                    field=f"lines[{index}].product_id")
            seen.add(product.pk)
            description = description or product.name[:200]
        elif not description:
            raise HubError(_("Choose a product or describe the item."), code="required",
                           field=f"lines[{index}].description")
        rows.append(RfqLine(position=index + 1, product=product, description=description,
                            quantity=quantity, note=_text(line.get("note"), 500)))
    return rows


def _submit(rfq, actor):
    """draft → submitted: the RFQ gets its number (gapless per supplier) and the supplier's
    sales people hear of it."""
    _trading(rfq.relationship)
    rfq.submitted_at = timezone.now()
    rfq.number = numbering.next_number(supplier_id=rfq.supplier_id, sequence=numbering.RFQ)
    _move_rfq(rfq, R.SUBMITTED, actor=actor)
    _notify_rfq_submitted(rfq)


def rfq_create(*, relationship, actor, title, lines, needed_by=None, note="", submit=True,
               idempotency_key=None):
    """A buyer's RFQ to the relationship's supplier; submitted at once unless `submit` is
    False (then a draft only the buyer sees). A repeated `idempotency_key` answers the RFQ
    the first request made."""
    title = _text(title, 200)
    if not title:
        raise HubError(_("Give the request a title."), code="required", field="title")
    if needed_by is not None:
        if not isinstance(needed_by, datetime.date):
            raise HubError(_("Enter a date."), code="invalid_date", field="needed_by")
        if needed_by < today():
            raise HubError(_("The date cannot be in the past."), code="past_date",
                           field="needed_by")
    _trading(relationship)
    rows = _rfq_lines(relationship, lines)
    key = str(idempotency_key)[:255] if idempotency_key else None

    def existing():
        return Rfq.objects.filter(buyer_id=relationship.buyer_id, idempotency_key=key).first()

    if key and (found := existing()):
        return found
    try:
        with transaction.atomic():
            rfq = Rfq.objects.create(
                supplier_id=relationship.supplier_id, buyer_id=relationship.buyer_id,
                relationship=relationship, title=title, buyer_note=_text(note, 5000),
                needed_by=needed_by, requested_by=_user(actor), idempotency_key=key)
            rfq = Rfq.objects.select_related("supplier", "buyer", "relationship").get(
                pk=rfq.pk)
            for row in rows:
                row.rfq = rfq
            RfqLine.objects.bulk_create(rows)
            RfqStatusChange.objects.create(rfq=rfq, to_status=R.DRAFT, actor=_user(actor))
            # A draft is the buyer's: audited in the buyer's log, no event to the supplier.
            audit_record(actor=actor, organization=rfq.buyer, action="hub.rfq.created",
                         obj=rfq, after={"title": title, "lines": len(rows)})
            if submit:
                _submit(rfq, actor)
    except IntegrityError:
        if key and (found := existing()):
            return found
        raise
    return rfq


def rfq_submit(*, rfq, membership, actor, version=None):
    _require(rfq, membership, BUYER, ORDERS_PLACE)
    with transaction.atomic():
        locked = _lock_rfq(rfq, version)
        if locked.status != R.DRAFT:
            raise HubError(_("Only a draft can be submitted."), code="invalid_transition",
                           field="action")
        _submit(locked, actor)
    return locked


def rfq_cancel(*, rfq, membership, actor, comment="", version=None):
    """The buyer withdraws its request; a quote on the table is declined with it."""
    _require(rfq, membership, BUYER, ORDERS_PLACE)
    comment = _text(comment, 500)
    with transaction.atomic():
        locked = _lock_rfq(rfq, version)
        if locked.status not in CANCELLABLE:
            raise HubError(_("A request that is %(status)s cannot be cancelled.") % {
                "status": locked.get_status_display()}, code="invalid_transition",
                field="action")
        if locked.status == R.DRAFT:
            # Never seen by the supplier: recorded for the buyer only.
            locked.status, locked.version = R.CANCELLED, locked.version + 1
            locked.updated_at = timezone.now()
            locked.save(update_fields=["status", "version", "updated_at"])
            RfqStatusChange.objects.create(rfq=locked, from_status=R.DRAFT,
                                           to_status=R.CANCELLED, actor=_user(actor),
                                           comment=comment)
            audit_record(actor=actor, organization=locked.buyer, action="hub.rfq.cancelled",
                         obj=locked, after={"status": R.CANCELLED})
            return locked
        for quote in locked.quotes.select_for_update().filter(status=Q.SENT):
            quote.decided_by, quote.decided_at = _user(actor), timezone.now()
            _move_quote(quote, locked, Q.DECLINED, actor=actor,
                        comment=_("The request was cancelled."))
        _move_rfq(locked, R.CANCELLED, actor=actor, comment=comment)
    return locked


def rfq_decline(*, rfq, membership, actor, comment="", version=None):
    """The supplier will not quote (a request without a live quote)."""
    _require(rfq, membership, SUPPLIER, ORDERS_FULFIL)
    comment = _text(comment, 500)
    with transaction.atomic():
        locked = _lock_rfq(rfq, version)
        if locked.status not in DECLINABLE:
            raise HubError(_("A request that is %(status)s cannot be declined.") % {
                "status": locked.get_status_display()}, code="invalid_transition",
                field="action")
        _move_rfq(locked, R.DECLINED, actor=actor, comment=comment)
    return locked


# --- Quotes (supplier) -----------------------------------------------------------------------


def _quote_lines(rfq, lines):
    """[{rfq_line_id, unit_price, product_id?, quantity?, lead_time_days?}] → [(RfqLine,
    Product, quantity, price, lead time)]; every error names its field."""
    if not lines:
        raise HubError(_("Quote at least one line."), code="no_lines", field="lines")
    if len(lines) > MAX_LINES:
        raise HubError(_("A quote has at most %(max)s lines.") % {"max": MAX_LINES},
                       code="too_many_lines", field="lines")
    rfq_lines = {line.pk: line for line in rfq.lines.all()}
    wanted_products = set()
    for line in lines:
        pid = _id(line.get("product_id"))
        rfq_line = rfq_lines.get(_id(line.get("rfq_line_id")))
        wanted_products.add(pid if pid is not None else getattr(rfq_line, "product_id", None))
    products = {p.pk: p for p in selectors.entitled_products(relationship=rfq.relationship)
                .filter(pk__in=[pk for pk in wanted_products if pk is not None])}
    result, seen_lines, seen_products = [], set(), set()
    for index, line in enumerate(lines):
        rfq_line = rfq_lines.get(_id(line.get("rfq_line_id")))
        if rfq_line is None:
            raise HubError(_("No such line in this request."), code="not_found",
                           field=f"lines[{index}].rfq_line_id")
        if rfq_line.pk in seen_lines:
            raise HubError(_("This line is quoted twice."), code="duplicate_line",
                           field=f"lines[{index}].rfq_line_id")
        seen_lines.add(rfq_line.pk)
        if line.get("product_id") is not None:
            product = products.get(_id(line.get("product_id")))
            if product is None:
                raise HubError(_("No such product."), code="not_found",
                               field=f"lines[{index}].product_id")
        elif rfq_line.product_id is not None:
            product = products.get(rfq_line.product_id)
            if product is None:
                raise HubError(_("%(item)s can no longer be ordered; choose another "
                                 "product.") % {"item": rfq_line.description},
                               code="not_orderable", field=f"lines[{index}].product_id")
        else:
            raise HubError(_("Choose the product you offer for “%(item)s”.") % {
                "item": rfq_line.description}, code="required",
                field=f"lines[{index}].product_id")
        quantity, price, lead_time = _offered_line(
            index=index, line=line, product=product, seen_products=seen_products,
            requested_quantity=rfq_line.quantity)
        result.append((rfq_line, product, quantity, price, lead_time))
    return result


def _offered_line(*, index, line, product, seen_products, requested_quantity=None):
    """The checks every line a supplier quotes passes, whether it answers a request (where
    the quantity defaults to the `requested_quantity`) or the supplier starts the quote: each
    product once, at least its minimum order quantity, a price, a sane lead time. Returns
    (quantity, price, lead time)."""
    if product.pk in seen_products:
        raise HubError(_("%(sku)s is quoted twice; use one line.") % {"sku": product.sku},
                       code="duplicate_product", field=f"lines[{index}].product_id")
    seen_products.add(product.pk)
    quantity = line.get("quantity")
    if quantity is None and requested_quantity is not None:
        quantity = requested_quantity
    else:
        quantity = _quantity(quantity, f"lines[{index}].quantity")
    if quantity < product.min_order_quantity:
        raise HubError(_("The minimum order of %(sku)s is %(moq)s.") % {
            "sku": product.sku, "moq": product.min_order_quantity},
            code="below_minimum", field=f"lines[{index}].quantity")
    price = parse_price(line.get("unit_price"), f"lines[{index}].unit_price")
    lead_time = line.get("lead_time_days")
    if lead_time is not None and (_id(lead_time) is None
                                  or not 0 <= lead_time <= MAX_LEAD_TIME_DAYS):
        raise HubError(_("Enter a lead time between 0 and %(max)s days.") % {
            "max": MAX_LEAD_TIME_DAYS}, code="invalid_lead_time",
            field=f"lines[{index}].lead_time_days")
    return quantity, price, lead_time


def _check_validity(valid_until):
    if not isinstance(valid_until, datetime.date):
        raise HubError(_("Enter the date the quote is valid until."), code="invalid_date",
                       field="valid_until")
    if valid_until < today():
        raise HubError(_("The validity date cannot be in the past."), code="past_date",
                       field="valid_until")
    if valid_until > today() + datetime.timedelta(days=MAX_VALIDITY_DAYS):
        raise HubError(_("A quote is valid for at most a year."), code="too_long",
                       field="valid_until")


def _send(quote, rfq, actor):
    """A quote goes out: the previous sent quote is superseded, the RFQ is quoted, the
    requester hears of it."""
    _check_validity(quote.valid_until)
    for older in rfq.quotes.select_for_update().filter(status=Q.SENT).exclude(pk=quote.pk):
        _move_quote(older, rfq, Q.SUPERSEDED, actor=actor,
                    comment=_("Replaced by %(quote)s") % {"quote": quote.label})
    quote.sent_by, quote.sent_at = _user(actor), timezone.now()
    _move_quote(quote, rfq, Q.SENT, actor=actor)
    if rfq.status != R.QUOTED:
        _move_rfq(rfq, R.QUOTED, actor=actor, event="hub.rfq.quoted")
    _notify_quote_sent(rfq, quote)


def quote_save(*, rfq, membership, actor, valid_until, lines, note="", send=True,
               version=None):
    """The supplier's quote for an RFQ. The RFQ's draft quote is rewritten if there is one
    (so drafts do not use up numbers); otherwise a new quote is numbered. With `send`, it
    goes to the buyer and supersedes the quote sent before."""
    _require(rfq, membership, SUPPLIER, ORDERS_FULFIL)
    _check_validity(valid_until)
    note = _text(note, 5000)
    with transaction.atomic():
        locked = _lock_rfq(rfq, version)
        if locked.status not in QUOTABLE:
            raise HubError(_("A request that is %(status)s cannot be quoted.") % {
                "status": locked.get_status_display()}, code="invalid_transition",
                field="action")
        _trading(locked.relationship)
        rows = _quote_lines(locked, lines)
        quote = _write_quote(locked, rows, valid_until=valid_until, note=note, actor=actor)
        if send:
            _send(quote, locked, actor)
    return quote


def _write_quote(locked, rows, *, valid_until, note, actor):
    """Price `rows` [(RfqLine, Product, quantity, price, lead time)] with the supplier's tax
    rules into the RFQ's draft quote (rewritten if there is one, so drafts do not use up
    numbers; otherwise a new numbered quote). The RFQ is locked by the caller."""
    relationship = locked.relationship
    supplier_settings = SupplierSettings.objects.filter(
        supplier_id=locked.supplier_id).first()
    inclusive = bool(supplier_settings and supplier_settings.prices_include_tax)
    rates = tax.rates_for(locked.supplier_id)
    currency = relationship.currency
    quote_lines = []
    for position, (rfq_line, product, quantity, price, lead_time) in enumerate(rows, 1):
        rate = rates.get(product.tax_class, 0)
        amounts = tax.line_amounts(unit_price=price, quantity=quantity, rate=rate,
                                   currency=currency, prices_include_tax=inclusive,
                                   exempt=relationship.tax_exempt)
        quote_lines.append(QuoteLine(
            rfq_line=rfq_line, position=position, product=product, sku=product.sku,
            name=product.name, quantity=quantity, unit_price=price,
            lead_time_days=lead_time, tax_rate=0 if relationship.tax_exempt else rate,
            line_net=amounts.net, line_tax=amounts.tax, line_gross=amounts.gross))
    totals = {
        "total_net": sum((line.line_net for line in quote_lines), Decimal(0)),
        "total_tax": sum((line.line_tax for line in quote_lines), Decimal(0)),
        "total_gross": sum((line.line_gross for line in quote_lines), Decimal(0)),
    }
    fields = {"valid_until": valid_until, "currency": currency,
              "prices_include_tax": inclusive, "tax_exempt": relationship.tax_exempt,
              "supplier_note": note, **totals}
    quote = locked.quotes.select_for_update().filter(status=Q.DRAFT).first()
    if quote is not None:
        for name, value in fields.items():
            setattr(quote, name, value)
        quote.version += 1
        quote.save()
        quote.lines.all().delete()
        action = "hub.quote.updated"
    else:
        quote = Quote(rfq=locked, supplier_id=locked.supplier_id, buyer_id=locked.buyer_id,
                      created_by=_user(actor), **fields)
        quote.number = numbering.next_number(supplier_id=locked.supplier_id,
                                             sequence=numbering.QUOTE)
        quote.save()
        RfqStatusChange.objects.create(rfq=locked, quote=quote, to_status=Q.DRAFT,
                                       actor=_user(actor))
        action = "hub.quote.created"
    for line in quote_lines:
        line.quote = quote
    QuoteLine.objects.bulk_create(quote_lines)
    audit_record(actor=actor, organization=locked.supplier, action=action, obj=quote,
                 after={"number": quote.number, "lines": len(quote_lines),
                        "total": str(quote.total_gross),
                        "valid_until": valid_until.isoformat()})
    return quote


def quote_send(*, quote, membership, actor, version=None):
    """Send a saved draft quote."""
    _require(quote, membership, SUPPLIER, ORDERS_FULFIL)
    with transaction.atomic():
        rfq = _lock_rfq(quote.rfq)
        locked = _lock_quote(quote, version)
        if locked.status != Q.DRAFT:
            raise HubError(_("Only a draft quote can be sent."), code="invalid_transition",
                           field="action")
        if rfq.status not in QUOTABLE:
            raise HubError(_("A request that is %(status)s cannot be quoted.") % {
                "status": rfq.get_status_display()}, code="invalid_transition",
                field="action")
        _trading(rfq.relationship)
        _send(locked, rfq, actor)
    return locked


# --- Supplier-initiated quotes ----------------------------------------------------------------


def _supplier_lines(relationship, lines):
    """[{product_id, quantity, unit_price, lead_time_days?, description?}] → [(description,
    Product, quantity, price, lead time)]: products the buyer is entitled to, once each, at
    least their minimum order quantity; every error names its field."""
    if not lines:
        raise HubError(_("Quote at least one line."), code="no_lines", field="lines")
    if len(lines) > MAX_LINES:
        raise HubError(_("A quote has at most %(max)s lines.") % {"max": MAX_LINES},
                       code="too_many_lines", field="lines")
    ids = [_id(line.get("product_id")) for line in lines]
    products = {p.pk: p for p in selectors.entitled_products(relationship=relationship)
                .filter(pk__in=[pk for pk in ids if pk is not None])}
    result, seen = [], set()
    for index, line in enumerate(lines):
        product = products.get(ids[index])
        if product is None:
            raise HubError(_("No such product."), code="not_found",
                           field=f"lines[{index}].product_id")
        quantity, price, lead_time = _offered_line(index=index, line=line, product=product,
                                                   seen_products=seen)
        description = _text(line.get("description"), 200) or product.name[:200]
        result.append((description, product, quantity, price, lead_time))
    return result


def supplier_quote_create(*, relationship, membership, actor, title, lines, valid_until,
                          note="", reference="", idempotency_key=None):
    """A quote the supplier sends without a request from the buyer (say, from a sales
    opportunity). One transaction: an RFQ on the relationship, marked `supplier_initiated`
    and numbered like any other (`hub.rfq.opened`), its lines, and a numbered quote at the
    given prices, sent at once (`hub.quote.sent`, `hub.rfq.quoted`; the buyer's people who
    may order are notified). The buyer accepts or declines it in the portal as any quote.
    A repeated `idempotency_key` answers the quote the first call made. Returns the Quote."""
    if orders.side_of(relationship, membership.organization if membership else None) \
            != SUPPLIER or not has_perm(membership, ORDERS_FULFIL):
        raise HubError(_("You may not do this to this request."), code="forbidden",
                       field="action")
    title = _text(title, 200)
    if not title:
        raise HubError(_("Give the quote a title."), code="required", field="title")
    _check_validity(valid_until)
    _trading(relationship)
    rows = _supplier_lines(relationship, lines)
    key = f"supplier:{str(idempotency_key)[:240]}" if idempotency_key else None

    def existing():
        rfq = Rfq.objects.filter(buyer_id=relationship.buyer_id, idempotency_key=key).first()
        return rfq.quotes.order_by("id").first() if rfq is not None else None

    if key and (found := existing()):
        return found
    try:
        with transaction.atomic():
            rfq = Rfq.objects.create(
                supplier_id=relationship.supplier_id, buyer_id=relationship.buyer_id,
                relationship=relationship, title=title, supplier_initiated=True,
                reference=_text(reference, 80), idempotency_key=key,
                status=R.SUBMITTED, submitted_at=timezone.now(),
                number=numbering.next_number(supplier_id=relationship.supplier_id,
                                             sequence=numbering.RFQ))
            rfq = _lock_rfq(rfq)
            rfq_lines = RfqLine.objects.bulk_create([
                RfqLine(rfq=rfq, position=index, product=product, description=description,
                        quantity=quantity)
                for index, (description, product, quantity, _p, _l) in enumerate(rows, 1)])
            if any(line.pk is None for line in rfq_lines):  # backends without RETURNING
                rfq_lines = list(rfq.lines.order_by("position"))
            _record(rfq, from_status="", actor=actor, event="hub.rfq.opened",
                    comment=_("Opened by the supplier"),
                    extra={"supplier_initiated": True, "reference": rfq.reference})
            quote_rows = [(rfq_line, product, quantity, price, lead_time)
                          for rfq_line, (_d, product, quantity, price, lead_time)
                          in zip(rfq_lines, rows, strict=True)]
            quote = _write_quote(rfq, quote_rows, valid_until=valid_until,
                                 note=_text(note, 5000), actor=actor)
            _send(quote, rfq, actor)
    except IntegrityError:
        if key and (found := existing()):
            return found
        raise
    return quote


def supplier_quote_withdraw(*, quote, membership, actor, comment="", version=None):
    """The supplier takes back a sent quote of an RFQ it opened itself: the quote is
    withdrawn and the RFQ cancelled (the buyer can no longer accept it)."""
    _require(quote, membership, SUPPLIER, ORDERS_FULFIL)
    comment = _text(comment, 500)
    with transaction.atomic():
        rfq = _lock_rfq(quote.rfq)
        locked = _lock_quote(quote, version)
        if not rfq.supplier_initiated:
            raise HubError(_("Only a quote you opened yourself can be withdrawn."),
                           code="invalid_transition", field="action")
        if locked.status != Q.SENT:
            raise HubError(_("This quote is %(status)s and can no longer be withdrawn.") % {
                "status": locked.get_status_display()}, code="invalid_transition",
                field="action")
        locked.decided_by, locked.decided_at = _user(actor), timezone.now()
        _move_quote(locked, rfq, Q.WITHDRAWN, actor=actor, comment=comment)
        _move_rfq(rfq, R.CANCELLED, actor=actor, comment=comment, event="hub.rfq.withdrawn")
    return locked


# --- Accept / decline (buyer) ----------------------------------------------------------------


def quote_accept(*, quote, membership, actor, buyer_reference="", version=None):
    """Accept a sent, still valid quote: one transaction places the order at the quoted
    prices and quantities (`order_place(quoted_prices=...)`) and marks the quote and the RFQ
    accepted. Idempotent: accepting an accepted quote again (a double click, a retry, a
    concurrent request) answers the order it made. If the order is refused (out of stock, no
    longer trading, approval and credit rules aside) nothing changes and the HubError says
    why. Returns (order, created)."""
    _require(quote, membership, BUYER, ORDERS_PLACE)
    with transaction.atomic():
        rfq = _lock_rfq(quote.rfq)
        locked = _lock_quote(quote)
        if locked.status == Q.ACCEPTED:
            order = Order.objects.filter(quote=locked).first()
            if order is not None:
                return order, False
        if version is not None and locked.version != version:
            raise StaleVersion()
        if locked.status != Q.SENT:
            raise HubError(_("This quote is %(status)s and can no longer be accepted.") % {
                "status": locked.get_status_display()}, code="invalid_transition",
                field="action")
        if locked.valid_until < today():
            raise HubError(_("This quote expired on %(date)s.") % {
                "date": locked.valid_until.isoformat()}, code="expired", field="action")
        lines = list(locked.lines.all())
        try:
            order = orders.order_place(
                relationship=rfq.relationship, actor=actor,
                lines=[(line.product_id, line.quantity) for line in lines],
                quoted_prices={line.product_id: line.unit_price for line in lines},
                quote=locked, idempotency_key=f"quote:{locked.pk}",
                buyer_reference=_text(buyer_reference, 80) or rfq.title[:80],
                note=_("Ordered from quote %(quote)s (%(rfq)s).") % {
                    "quote": locked.label, "rfq": rfq.label})
        except HubError as error:
            raise _order_refusal(error, lines) from error
        locked.decided_by, locked.decided_at = _user(actor), timezone.now()
        extra = {"order_id": order.pk, "order_number": order.number}
        _move_quote(locked, rfq, Q.ACCEPTED, actor=actor, extra=extra)
        _move_rfq(rfq, R.ACCEPTED, actor=actor)
    return order, True


def _order_refusal(error, lines):
    """order_place names `lines[i]` of the order; say which quoted product that is."""
    field = error.field or ""
    if field.startswith("lines[") and error.code in ("not_found", "no_price",
                                                      "below_minimum"):
        try:
            line = lines[int(field[6:field.index("]")])]
        except (ValueError, IndexError):
            line = None
        if line is not None:
            return HubError(_("%(sku)s can no longer be ordered from this quote.") % {
                "sku": line.sku}, code=error.code, field="action")
    return HubError(error.message, code=error.code, field="action")


def quote_decline(*, quote, membership, actor, comment="", version=None):
    """The buyer turns the quote down; the request is closed as declined."""
    _require(quote, membership, BUYER, ORDERS_PLACE)
    comment = _text(comment, 500)
    with transaction.atomic():
        rfq = _lock_rfq(quote.rfq)
        locked = _lock_quote(quote, version)
        if locked.status != Q.SENT:
            raise HubError(_("This quote is %(status)s and can no longer be declined.") % {
                "status": locked.get_status_display()}, code="invalid_transition",
                field="action")
        locked.decided_by, locked.decided_at = _user(actor), timezone.now()
        _move_quote(locked, rfq, Q.DECLINED, actor=actor, comment=comment)
        _move_rfq(rfq, R.DECLINED, actor=actor, comment=comment)
    return locked


# --- Expiry (housekeeping) -------------------------------------------------------------------


def quotes_expire(*, on_date=None):
    """Expire sent quotes whose validity date has passed (Asia/Jakarta); their RFQs become
    expired (the supplier may quote again). Idempotent: a quote is re-checked under its
    RFQ's lock, so a rerun, a second worker or a concurrent accept changes nothing twice.
    Returns how many quotes expired."""
    day = on_date or today()
    due = list(Quote.objects.filter(status=Q.SENT, valid_until__lt=day)
               .order_by("valid_until", "id").values_list("pk", "rfq_id")[:EXPIRE_BATCH])
    expired = 0
    for quote_id, rfq_id in due:
        with transaction.atomic():
            rfq = (Rfq.objects.select_for_update(of=("self",))
                   .select_related("supplier", "buyer").get(pk=rfq_id))
            quote = Quote.objects.select_for_update(of=("self",)).get(pk=quote_id)
            if quote.status != Q.SENT or quote.valid_until >= day:
                continue
            comment = _("Valid until %(date)s") % {"date": quote.valid_until.isoformat()}
            _move_quote(quote, rfq, Q.EXPIRED, actor=None, comment=comment)
            if rfq.status == R.QUOTED:
                _move_rfq(rfq, R.EXPIRED, actor=None, comment=comment)
            expired += 1
    return expired


def expire_due_quotes():
    """The housekeeping job (registered in HubConfig.ready)."""
    count = quotes_expire()
    return f"{count} quotes expired" if count else None
