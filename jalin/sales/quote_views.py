"""Sales pages for quotes: the quote list, a new quote from an opportunity (its lines priced for
the customer), the draft's edit form, the quote page with send / withdraw / answer, and the PDF.
Thin: every change goes through `jalin.sales.quotes`."""

import datetime

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jalin.api.pagination import paginate
from jalin.core.params import int_param
from jalin.crm.models import Account
from jalin.hub.models import Product
from jalin.tenancy.access import for_org, get_for_org_or_404
from jalin.tenancy.decorators import org_required
from jalin.tenancy.roles import SALES_EDIT, SALES_VIEW, has_perm
from jalin.tenancy.services import StaleVersion, TenancyError

from . import quotes
from .models import Opportunity, OpportunityStatus, SalesQuote, SalesQuoteStatus
from .quote_pdf import quote_pdf

PER_PAGE = 50
BLANK_ROWS = 3
MAX_PRODUCT_CHOICES = 500


def _date(value):
    try:
        return datetime.date.fromisoformat(str(value).strip())
    except (TypeError, ValueError):
        return None


def _opportunity(request, pk):
    return get_for_org_or_404(Opportunity.objects.select_related("account", "organization"),
                              request.organization, pk=pk)


def _quote(request, pk):
    return get_for_org_or_404(
        SalesQuote.objects.select_related("organization", "opportunity",
                                          "opportunity__account", "opportunity__contact",
                                          "hub_quote", "hub_order", "created_by"),
        request.organization, pk=pk)


def _message(error):
    """A service refusal as one sentence, naming the line for `lines[i].field`."""
    field = error.field or ""
    if field.startswith("lines[") and "]" in field:
        index = int_param(field[6:field.index("]")])
        if index is not None:
            return _("Line %(number)s: %(message)s") % {"number": index + 1,
                                                        "message": error.message}
    return error.message


def _products(organization):
    return list(Product.objects.filter(supplier=organization, is_active=True)
                .order_by("sku").values_list("sku", "name")[:MAX_PRODUCT_CHOICES])


def _rows_from_post(request):
    """The form's line rows → service input; a row without SKU and description is skipped.
    An unknown SKU is refused here, naming the line."""
    data = request.POST
    skus, descriptions = data.getlist("sku"), data.getlist("description")
    quantities, prices = data.getlist("quantity"), data.getlist("unit_price")
    fallbacks = data.getlist("fallback")
    rows = []
    for index in range(min(len(skus), len(descriptions), len(quantities), len(prices), 200)):
        sku, description = skus[index].strip(), descriptions[index].strip()
        if not sku and not description:
            continue
        rows.append({"sku": sku, "description": description, "quantity": quantities[index],
                     "unit_price": prices[index].strip() or None,
                     "fallback": fallbacks[index] if index < len(fallbacks) else ""})
    wanted = {row["sku"] for row in rows if row["sku"]}
    products = dict(Product.objects.filter(supplier=request.organization, sku__in=wanted)
                    .values_list("sku", "pk"))
    lines = []
    for index, row in enumerate(rows):
        product_id = None
        if row["sku"]:
            product_id = products.get(row["sku"])
            if product_id is None:
                raise quotes.SalesError(_("No product with SKU %(sku)s.") % {"sku": row["sku"]},
                                        code="not_found", field=f"lines[{index}].product_id")
        line = {"product_id": product_id, "description": row["description"],
                "quantity": row["quantity"], "unit_price": row["unit_price"]}
        fallback = quotes._price(row["fallback"], f"lines[{index}].unit_price")
        if fallback is not None:
            line["fallback_price"] = fallback
        lines.append(line)
    return rows, lines


def _form_rows(lines):
    rows = [dict(row) for row in lines]
    rows.extend({"sku": "", "description": "", "quantity": "", "unit_price": "",
                 "fallback": ""} for _ in range(BLANK_ROWS))
    return rows


# --- List ----------------------------------------------------------------------------------


@org_required(SALES_VIEW)
@require_GET
def quote_list(request):
    queryset = for_org(SalesQuote, request.organization).select_related(
        "opportunity", "opportunity__account")
    status = request.GET.get("status", "")
    if status in SalesQuoteStatus.values:
        queryset = queryset.filter(status=status)
    # ?account=<id>: the quotes of one customer (the account page's "view all" link).
    account = None
    account_id = int_param(request.GET.get("account"))
    if account_id:
        account = for_org(Account, request.organization).filter(pk=account_id).first()
        queryset = queryset.filter(opportunity__account_id=account.pk if account else 0)
    try:
        page = paginate(queryset, cursor=request.GET.get("cursor") or None, limit=PER_PAGE,
                        order=("-id",))
    except Exception:  # noqa: BLE001 - a tampered cursor starts from the top
        page = paginate(queryset, limit=PER_PAGE, order=("-id",))
    return render(request, "sales/quotes.html", {
        "page": page, "status": status, "statuses": SalesQuoteStatus.choices,
        "account": account, "account_id": account_id})


# --- New and edit --------------------------------------------------------------------------


@org_required(SALES_EDIT)
@require_http_methods(["GET", "POST"])
def quote_new(request, pk):
    opportunity = _opportunity(request, pk)
    relationship = quotes.hub_relationship(opportunity)
    error, status = "", 200
    if request.method == "POST":
        rows = []
        try:
            rows, lines = _rows_from_post(request)
            valid_until = _date(request.POST.get("valid_until"))
            if request.POST.get("valid_until") and valid_until is None:
                raise quotes.SalesError(_("Enter the date the quote is valid until."),
                                        field="valid_until")
            quote = quotes.sales_quote_create(opportunity=opportunity, actor=request.user,
                                              valid_until=valid_until, lines=lines,
                                              note=request.POST.get("note", ""))
        except TenancyError as exc:
            error, status = _message(exc), 400
            form_rows = _form_rows(rows)
        else:
            messages.success(request, _("Quote %(quote)s saved as a draft.") % {
                "quote": quote.label})
            return redirect("sales:quote_detail", pk=quote.pk)
    else:
        form_rows = _form_rows([
            {"sku": line.product.sku if line.product_id else "", "description": line.description,
             "quantity": line.quantity, "unit_price": "", "fallback": line.fallback}
            for line in _opportunity_lines(opportunity)])
    return render(request, "sales/quote_form.html", {
        "opportunity": opportunity, "quote": None, "rows": form_rows, "error": error,
        "hub_customer": relationship is not None,
        "closed": opportunity.status != OpportunityStatus.OPEN,
        "valid_until": request.POST.get("valid_until") or (
            quotes.today() + datetime.timedelta(days=quotes.DEFAULT_VALIDITY_DAYS)).isoformat(),
        "note": request.POST.get("note", ""), "products": _products(request.organization),
    }, status=status)


def _opportunity_lines(opportunity):
    lines = list(opportunity.lines.select_related("product"))
    for line, data in zip(lines, quotes.opportunity_lines_from(lines), strict=True):
        line.fallback = data["fallback_price"]
    return lines


@org_required(SALES_EDIT)
@require_http_methods(["GET", "POST"])
def quote_edit(request, pk):
    quote = _quote(request, pk)
    if quote.status != SalesQuoteStatus.DRAFT:
        messages.error(request, _("Only a draft quote can be changed."))
        return redirect("sales:quote_detail", pk=quote.pk)
    error, status = "", 200
    if request.method == "POST":
        rows = []
        try:
            rows, lines = _rows_from_post(request)
            valid_until = _date(request.POST.get("valid_until"))
            if valid_until is None:
                raise quotes.SalesError(_("Enter the date the quote is valid until."),
                                        field="valid_until")
            quotes.sales_quote_update(quote=quote, actor=request.user,
                                      version=int_param(request.POST.get("version")), lines=lines,
                                      valid_until=valid_until,
                                      note=request.POST.get("note", ""))
        except StaleVersion as exc:
            error, status = exc.message, 409
        except TenancyError as exc:
            error, status = _message(exc), 400
        else:
            messages.success(request, _("Quote saved."))
            return redirect("sales:quote_detail", pk=quote.pk)
        form_rows = _form_rows(rows)
    else:
        form_rows = _form_rows([
            {"sku": line.sku, "description": line.description, "quantity": line.quantity,
             "unit_price": line.unit_price.normalize() if line.price_source == quotes.MANUAL
             else "", "fallback": line.unit_price if line.price_source == quotes.OPPORTUNITY
             else ""} for line in quote.lines.all()])
    return render(request, "sales/quote_form.html", {
        "opportunity": quote.opportunity, "quote": quote, "rows": form_rows, "error": error,
        "hub_customer": quotes.hub_relationship(quote.opportunity) is not None,
        "valid_until": request.POST.get("valid_until") or quote.valid_until.isoformat(),
        "note": request.POST.get("note", quote.note), "products": _products(request.organization),
    }, status=status)


# --- Detail and actions --------------------------------------------------------------------


@org_required(SALES_VIEW)
@require_GET
def quote_detail(request, pk):
    return _detail_page(request, _quote(request, pk))


def _detail_page(request, quote, error="", status=200):
    return render(request, "sales/quote_detail.html", {
        "quote": quote, "lines": list(quote.lines.all()), "error": error,
        "can_edit": has_perm(request.membership, SALES_EDIT),
        "hub_customer": quotes.hub_relationship(quote.opportunity) is not None,
        "history": list(quotes.history(quote)),
    }, status=status)


def _action(request, pk, call, success):
    quote = _quote(request, pk)
    try:
        call(quote)
    except StaleVersion as exc:
        return _detail_page(request, quote, error=exc.message, status=409)
    except TenancyError as exc:
        return _detail_page(request, _quote(request, pk), error=_message(exc), status=400)
    messages.success(request, success)
    return redirect("sales:quote_detail", pk=quote.pk)


@org_required(SALES_EDIT)
@require_POST
def quote_send(request, pk):
    return _action(request, pk, lambda quote: quotes.sales_quote_send(
        quote=quote, actor=request.user, membership=request.membership,
        version=int_param(request.POST.get("version"))), _("Quote sent."))


@org_required(SALES_EDIT)
@require_POST
def quote_withdraw(request, pk):
    return _action(request, pk, lambda quote: quotes.sales_quote_withdraw(
        quote=quote, actor=request.user, membership=request.membership,
        version=int_param(request.POST.get("version")), comment=request.POST.get("comment", "")),
        _("Quote withdrawn."))


@org_required(SALES_EDIT)
@require_POST
def quote_answer(request, pk):
    accepted = request.POST.get("answer") == "accepted"
    return _action(request, pk, lambda quote: quotes.sales_quote_record_answer(
        quote=quote, actor=request.user, accepted=accepted,
        version=int_param(request.POST.get("version"))),
        _("Quote accepted.") if accepted else _("Quote declined."))


@org_required(SALES_VIEW)
@require_GET
def quote_pdf_view(request, pk):
    quote = _quote(request, pk)
    response = HttpResponse(quote_pdf(quote=quote, lines=list(quote.lines.all())),
                            content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{quote.label}.pdf"'
    return response
