"""Hub pages for requests for quotation and quotes.

Buyer (`orders.place` to write): "Request a quote" from a supplier's shop (products by SKU and
quantity, free-text items, or the whole cart), its RFQs with the current quote, Accept /
Decline, the order an accepted quote made. Supplier (`orders.fulfil` to write): the incoming
queue (filters, keyset paging, CSV export), the quote editor prefilled with the buyer's
current prices, send / revise, decline a request.

Views stay thin: reads through `rfq_selectors`, writes through `rfqs`.
"""

import csv
import datetime
import uuid

from django.contrib import messages
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jalin.core.csv_cells import Echo, safe_cell
from jalin.core.pagination import keyset_paginate
from jalin.core.params import int_param
from jalin.tenancy.decorators import org_required
from jalin.tenancy.roles import ORDERS_FULFIL, ORDERS_PLACE, ORDERS_VIEW, has_perm
from jalin.tenancy.services import StaleVersion

from . import orders, rfq_selectors, rfqs, selectors
from .models import Cart, QuoteStatus, RfqStatus
from .pricing import prices_for
from .services import HubError

PER_PAGE = 50
BLANK_ROWS = 3
MIN_ROWS = 5
DEFAULT_VALIDITY_DAYS = 14


def _date(value):
    value = (value or "").strip()
    if not value:
        return None
    try:
        return parse_date(value) or "invalid"
    except ValueError:
        return "invalid"


def _line_number(error):
    """'lines[3].quantity' → 3 (the index into the submitted lines), else None."""
    field = error.field or ""
    if field.startswith("lines[") and "]" in field:
        return int_param(field[6:field.index("]")])
    return None


def _side(request):
    organization = request.organization
    side = request.GET.get("side")
    if side in ("buyer", "supplier"):
        return side
    if organization.is_supplier and not organization.is_buyer:
        return "supplier"
    if organization.is_buyer and not organization.is_supplier:
        return "buyer"
    return None


# --- Buyer: request a quote ------------------------------------------------------------------


def _prefill(request, relationship):
    """Rows to start the form with: the cart (?from=cart) or picked products (?product=)."""
    if request.GET.get("from") == "cart":
        cart = Cart.objects.filter(buyer=request.organization, user=request.user,
                                   supplier_id=relationship.supplier_id).first()
        if cart is not None:
            return [{"sku": line.product.sku, "quantity": line.quantity, "description": "",
                     "note": ""}
                    for line in cart.lines.select_related("product").order_by("id")]
    ids = [pk for pk in (int_param(v) for v in request.GET.getlist("product")[:rfqs.MAX_LINES])
           if pk]
    if ids:
        products = selectors.entitled_products(relationship=relationship).filter(pk__in=ids)
        return [{"sku": p.sku, "quantity": p.min_order_quantity, "description": "",
                 "note": ""} for p in products.order_by("sku")]
    return []


def _posted_rows(post):
    count = min(max(int_param(post.get("rows"), default=0), 0), rfqs.MAX_LINES)
    rows = []
    for index in range(count):
        rows.append({
            "sku": (post.get(f"sku_{index}") or "").strip()[:64],
            "quantity": (post.get(f"quantity_{index}") or "").strip()[:12],
            "description": (post.get(f"description_{index}") or "").strip()[:200],
            "note": (post.get(f"note_{index}") or "").strip()[:500],
        })
    return rows


def _rows_to_lines(relationship, rows):
    """Form rows → service lines; [(row number, line)] for the filled rows. An unknown SKU or
    a bad quantity is a HubError naming the row."""
    skus = {row["sku"] for row in rows if row["sku"]}
    products = {p.sku: p for p in selectors.entitled_products(relationship=relationship)
                .filter(sku__in=skus)}
    lines = []
    for number, row in enumerate(rows, start=1):
        if not (row["sku"] or row["description"] or row["note"]):
            continue
        quantity = int_param(row["quantity"])
        if quantity is None or quantity < 1:
            raise HubError(_("Row %(row)s: enter a quantity of at least 1.") % {"row": number},
                           code="invalid_quantity", field="lines")
        line = {"quantity": quantity, "note": row["note"], "description": row["description"]}
        if row["sku"]:
            product = products.get(row["sku"])
            if product is None:
                raise HubError(_("Row %(row)s: unknown SKU %(sku)s.") % {
                    "row": number, "sku": row["sku"]}, code="not_found", field="lines")
            line["product_id"] = product.pk
        lines.append((number, line))
    return lines


@org_required(ORDERS_PLACE)
@require_http_methods(["GET", "POST"])
def rfq_new(request, supplier_id):
    relationship = selectors.relationship_for_buyer_or_404(buyer=request.organization,
                                                           supplier_id=supplier_id)
    error, status = None, 200
    values = {"title": "", "needed_by": "", "note": ""}
    if request.method == "POST":
        rows = _posted_rows(request.POST)
        values = {name: (request.POST.get(name) or "").strip() for name in values}
        token = (request.POST.get("token") or "").strip()[:64]
        numbered = []
        try:
            needed_by = _date(values["needed_by"])
            if needed_by == "invalid":
                raise HubError(_("Enter the date as YYYY-MM-DD."), code="invalid_date",
                               field="needed_by")
            numbered = _rows_to_lines(relationship, rows)
            rfq = rfqs.rfq_create(
                relationship=relationship, actor=request.user, title=values["title"],
                needed_by=needed_by, note=values["note"],
                lines=[line for _number, line in numbered],
                submit=request.POST.get("action") != "draft",
                idempotency_key=f"rfq:{request.membership.pk}:{token}" if token else None)
        except HubError as exc:
            error, status = exc.message, 400
            index = _line_number(exc)
            if index is not None and index < len(numbered):
                error = _("Row %(row)s: %(message)s") % {"row": numbered[index][0],
                                                         "message": exc.message}
        else:
            if rfq.status == RfqStatus.DRAFT:
                messages.success(request, _("Request saved as a draft."))
            else:
                messages.success(request, _("Request %(number)s sent to %(supplier)s.") % {
                    "number": rfq.label, "supplier": relationship.supplier.name})
            return redirect("hub:rfq_detail", pk=rfq.pk)
    else:
        rows = _prefill(request, relationship)
        if rows and request.GET.get("from") == "cart":
            values["title"] = _("Quote for my cart")
    rows = rows + [{"sku": "", "quantity": "", "description": "", "note": ""}
                   for _i in range(max(BLANK_ROWS, MIN_ROWS - len(rows)))]
    return render(request, "hub/rfq_new.html", {
        "supplier": relationship.supplier, "rows": rows, "values": values, "error": error,
        "token": uuid.uuid4().hex, "today": timezone.localdate(),
    }, status=status)


# --- Lists (both sides) ----------------------------------------------------------------------


def _list_filters(request):
    status = request.GET.get("status") or None
    if status not in RfqStatus.values:
        status = None
    return _side(request), status, (request.GET.get("q") or "").strip()[:100]


@org_required(ORDERS_VIEW)
@require_GET
def rfq_list(request):
    side, status, search = _list_filters(request)
    queryset = rfq_selectors.rfqs_for(organization=request.organization, side=side,
                                      status=status, search=search)
    return render(request, "hub/rfqs.html", {
        "page": keyset_paginate(queryset, request.GET, per_page=PER_PAGE),
        "statuses": RfqStatus.choices, "status": status, "side": side, "q": search,
        "is_filtered": bool(status or search),
    })


@org_required(ORDERS_VIEW)
@require_GET
def rfq_export(request):
    """The filtered list as CSV (streamed; keyset-ordered, no COUNT)."""
    side, status, search = _list_filters(request)
    queryset = rfq_selectors.rfqs_for(organization=request.organization, side=side,
                                      status=status, search=search).order_by("-id")
    writer = csv.writer(Echo())
    header = ["number", "status", "title", "supplier", "buyer", "needed_by", "submitted_at",
              "created_at"]

    def lines():
        yield "\ufeff"
        yield writer.writerow(header)
        for rfq in queryset.iterator(chunk_size=500):
            yield writer.writerow([safe_cell(value) for value in (
                rfq.number or "", rfq.status, rfq.title, rfq.supplier.name, rfq.buyer.name,
                rfq.needed_by.isoformat() if rfq.needed_by else "",
                rfq.submitted_at.isoformat() if rfq.submitted_at else "",
                rfq.created_at.isoformat())])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="rfqs.csv"'
    return response


# --- Detail and actions ----------------------------------------------------------------------


def _detail_page(request, pk, *, status=200, error=None):
    rfq = rfq_selectors.rfq_detail(organization=request.organization, pk=pk)
    side = orders.side_of(rfq, request.organization)
    membership = request.membership
    quote = rfq.current_quote
    can_place = side == orders.BUYER and has_perm(membership, ORDERS_PLACE)
    can_fulfil = side == orders.SUPPLIER and has_perm(membership, ORDERS_FULFIL)
    live = quote is not None and quote.status == QuoteStatus.SENT
    order = rfq_selectors.order_of_quote(quote) if quote is not None and \
        quote.status == QuoteStatus.ACCEPTED else None
    return render(request, "hub/rfq_detail.html", {
        "rfq": rfq, "side": side, "quote": quote, "order": order,
        "draft_quote": rfq.draft_quote if side == orders.SUPPLIER else None,
        "earlier_quotes": [q for q in rfq.quotes.all()
                           if q is not quote and q.status != QuoteStatus.DRAFT],
        "expired": live and quote.valid_until < rfqs.today(),
        "can_accept": can_place and live and quote.valid_until >= rfqs.today(),
        "can_decline_quote": can_place and live,
        "can_submit": can_place and rfq.status == RfqStatus.DRAFT,
        "can_cancel": can_place and rfq.status in rfqs.CANCELLABLE,
        "can_quote": can_fulfil and rfq.status in rfqs.QUOTABLE,
        "can_decline": can_fulfil and rfq.status in rfqs.DECLINABLE,
        "error": error, "token": uuid.uuid4().hex,
    }, status=status)


@org_required(ORDERS_VIEW)
@require_GET
def rfq_detail(request, pk):
    return _detail_page(request, pk)


def _act(request, pk, write, success):
    """Run a write for the RFQ page; refusals re-render the page with the reason."""
    try:
        write()
    except StaleVersion as exc:
        return _detail_page(request, pk, status=409, error=exc.message)
    except HubError as exc:
        return _detail_page(request, pk, status=403 if exc.code == "forbidden" else 400,
                            error=exc.message)
    messages.success(request, success)
    return redirect("hub:rfq_detail", pk=pk)


def _version(request):
    return int_param(request.POST.get("version"))


@org_required(ORDERS_PLACE)
@require_POST
def rfq_submit(request, pk):
    rfq = rfq_selectors.rfq_or_404(organization=request.organization, pk=pk)
    return _act(request, pk, lambda: rfqs.rfq_submit(
        rfq=rfq, membership=request.membership, actor=request.user,
        version=_version(request)), _("Request sent to the supplier."))


@org_required(ORDERS_PLACE)
@require_POST
def rfq_cancel(request, pk):
    rfq = rfq_selectors.rfq_or_404(organization=request.organization, pk=pk)
    return _act(request, pk, lambda: rfqs.rfq_cancel(
        rfq=rfq, membership=request.membership, actor=request.user,
        comment=request.POST.get("comment", ""), version=_version(request)),
        _("Request cancelled."))


@org_required(ORDERS_FULFIL)
@require_POST
def rfq_decline(request, pk):
    rfq = rfq_selectors.rfq_or_404(organization=request.organization, pk=pk)
    return _act(request, pk, lambda: rfqs.rfq_decline(
        rfq=rfq, membership=request.membership, actor=request.user,
        comment=request.POST.get("comment", ""), version=_version(request)),
        _("Request declined."))


@org_required(ORDERS_FULFIL)
@require_POST
def quote_send(request, pk):
    quote = rfq_selectors.quote_or_404(organization=request.organization, pk=pk)
    return _act(request, quote.rfq_id, lambda: rfqs.quote_send(
        quote=quote, membership=request.membership, actor=request.user,
        version=_version(request)), _("Quote sent."))


@org_required(ORDERS_PLACE)
@require_POST
def quote_accept(request, pk):
    """Accept the quote: one order at the quoted prices. Accepting is idempotent per quote
    (the order's idempotency key is the quote), so a double click, a resubmitted form or a
    second tab all answer the same order."""
    quote = rfq_selectors.quote_or_404(organization=request.organization, pk=pk)
    try:
        order, created = rfqs.quote_accept(quote=quote, membership=request.membership,
                                           actor=request.user,
                                           buyer_reference=request.POST.get("reference", ""))
    except StaleVersion as exc:
        return _detail_page(request, quote.rfq_id, status=409, error=exc.message)
    except HubError as exc:
        return _detail_page(request, quote.rfq_id,
                            status=403 if exc.code == "forbidden" else 400, error=exc.message)
    if created:
        messages.success(request, _("Quote accepted: order %(number)s placed.") % {
            "number": order.number})
    return redirect("hub:order_detail", pk=order.pk)


@org_required(ORDERS_PLACE)
@require_POST
def quote_decline(request, pk):
    quote = rfq_selectors.quote_or_404(organization=request.organization, pk=pk)
    return _act(request, quote.rfq_id, lambda: rfqs.quote_decline(
        quote=quote, membership=request.membership, actor=request.user,
        comment=request.POST.get("comment", ""), version=_version(request)),
        _("Quote declined."))


# --- Supplier: the quote editor --------------------------------------------------------------


def _editor_rows(rfq, relationship, source, posted=None):
    """One row per RFQ line: product SKU, quantity, unit price, lead time, included. Prices
    come from the draft or last quote if there is one, else from the buyer's current prices
    (`pricing.prices_for`, one query per distinct quantity)."""
    lines = list(rfq.lines.all())
    previous = {line.rfq_line_id: line for line in source.lines.all()} if source else {}
    today = timezone.localdate()
    current = {}
    if source is None:
        for quantity in {line.quantity for line in lines}:
            ids = [ln.product_id for ln in lines if ln.quantity == quantity and ln.product_id]
            found = prices_for(relationship=relationship, product_ids=ids, quantity=quantity,
                               on_date=today)
            current.update({(pid, quantity): price for pid, price in found.items()})
    rows = []
    for line in lines:
        before = previous.get(line.pk)
        price = current.get((line.product_id, line.quantity))
        row = {
            "line": line, "list_price": price,
            "sku": before.sku if before else (line.product.sku if line.product else ""),
            "quantity": before.quantity if before else line.quantity,
            "unit_price": before.unit_price if before else (price.amount if price else ""),
            "lead_time": (before.lead_time_days if before and before.lead_time_days
                          is not None else ""),
            "include": bool(before) if source else line.product_id is not None,
        }
        if posted is not None:
            row.update({
                "sku": (posted.get(f"sku_{line.pk}") or "").strip()[:64],
                "quantity": (posted.get(f"quantity_{line.pk}") or "").strip()[:12],
                "unit_price": (posted.get(f"price_{line.pk}") or "").strip()[:30],
                "lead_time": (posted.get(f"lead_{line.pk}") or "").strip()[:6],
                "include": posted.get(f"include_{line.pk}") == "on",
            })
        rows.append(row)
    return rows


def _editor_lines(rfq, relationship, rows):
    """Included rows → service lines; [(row, line)]."""
    skus = {row["sku"] for row in rows if row["include"] and row["sku"]}
    products = {p.sku: p for p in selectors.entitled_products(relationship=relationship)
                .filter(sku__in=skus)}
    result = []
    for row in rows:
        if not row["include"]:
            continue
        line = row["line"]
        item = {"rfq_line_id": line.pk, "unit_price": row["unit_price"]}
        if row["sku"] and not (line.product and line.product.sku == row["sku"]):
            product = products.get(row["sku"])
            if product is None:
                raise HubError(_("%(item)s: unknown SKU %(sku)s.") % {
                    "item": line.description, "sku": row["sku"]}, code="not_found",
                    field="lines")
            item["product_id"] = product.pk
        quantity = int_param(row["quantity"])
        if quantity is None:
            raise HubError(_("%(item)s: enter a quantity.") % {"item": line.description},
                           code="invalid_quantity", field="lines")
        item["quantity"] = quantity
        if str(row["lead_time"]).strip():
            lead = int_param(row["lead_time"])
            item["lead_time_days"] = lead if lead is not None else -1
        result.append((row, item))
    return result


@org_required(ORDERS_FULFIL)
@require_http_methods(["GET", "POST"])
def quote_edit(request, pk):
    rfq = rfq_selectors.rfq_detail(organization=request.organization, pk=pk)
    if orders.side_of(rfq, request.organization) != orders.SUPPLIER:
        raise Http404
    relationship = rfq.relationship
    source = rfq.draft_quote or rfq.current_quote
    error, status = None, 200
    valid_until = (source.valid_until if source and source.valid_until >= rfqs.today()
                   else rfqs.today() + datetime.timedelta(days=DEFAULT_VALIDITY_DAYS))
    note = source.supplier_note if source else ""
    if request.method == "POST":
        rows = _editor_rows(rfq, relationship, source, posted=request.POST)
        note = (request.POST.get("note") or "").strip()
        raw_valid = request.POST.get("valid_until", "")
        valid_until = _date(raw_valid)
        included = []
        try:
            if valid_until in (None, "invalid"):
                raise HubError(_("Enter the date the quote is valid until (YYYY-MM-DD)."),
                               code="invalid_date", field="valid_until")
            included = _editor_lines(rfq, relationship, rows)
            rfqs.quote_save(rfq=rfq, membership=request.membership, actor=request.user,
                            valid_until=valid_until, note=note,
                            lines=[item for _row, item in included],
                            send=request.POST.get("action") != "draft",
                            version=int_param(request.POST.get("version")))
        except StaleVersion as exc:
            error, status = exc.message, 409
        except HubError as exc:
            error, status = exc.message, 403 if exc.code == "forbidden" else 400
            index = _line_number(exc)
            if index is not None and index < len(included):
                error = f"{included[index][0]['line'].description}: {exc.message}"
        else:
            messages.success(request, _("Quote saved as a draft.")
                             if request.POST.get("action") == "draft" else _("Quote sent."))
            return redirect("hub:rfq_detail", pk=rfq.pk)
        if valid_until in (None, "invalid"):
            valid_until = raw_valid
    else:
        rows = _editor_rows(rfq, relationship, source)
    return render(request, "hub/quote_edit.html", {
        "rfq": rfq, "rows": rows, "valid_until": valid_until, "note": note, "error": error,
        "revising": rfq.current_quote is not None, "can_quote": rfq.status in rfqs.QUOTABLE,
    }, status=status)
