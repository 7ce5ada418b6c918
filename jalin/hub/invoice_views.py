"""Hub pages for billing, both sides of the portal.

- `/hub/invoices/` — invoices and credit notes the organization issued (supplier) or received
  (buyer): filters kind, status, overdue, counterparty; keyset paging; CSV export.
- `/hub/invoices/<id>/` — lines, tax summary, allocations, credit notes, PDF; the supplier's
  finance staff issue a credit note for chosen lines with a reason.
- `/hub/orders/<id>/invoice/` — "Issue invoice" for shipped units not invoiced yet.
- `/hub/statements/<counterparty id>/` — statement of account (page, CSV, PDF) with aging.

Views stay thin: reads through `invoice_selectors`, writes through `invoicing`.
"""

import csv
import datetime

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from jalin.core.csv_cells import Echo, safe_cell
from jalin.core.pagination import keyset_paginate
from jalin.core.params import int_param
from jalin.tenancy.decorators import org_required
from jalin.tenancy.roles import FINANCE_VIEW, ORDERS_VIEW

from . import invoice_selectors as iselectors
from . import invoicing, order_selectors, pdf
from .models import InvoiceKind, InvoiceStatus
from .services import HubError

PER_PAGE = 50


def _date(value):
    try:
        return datetime.date.fromisoformat((value or "").strip()) if value else None
    except ValueError:
        return None


def csv_response(filename, header, rows):
    writer = csv.writer(Echo())

    def lines():
        yield "\ufeff"  # BOM, so spreadsheet programs read UTF-8
        yield writer.writerow(header)
        for row in rows:
            yield writer.writerow([safe_cell(value) for value in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def pdf_response(filename, data, *, download=False):
    response = HttpResponse(data, content_type="application/pdf")
    disposition = "attachment" if download else "inline"
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    return response


def default_side(organization):
    if organization.is_supplier and not organization.is_buyer:
        return iselectors.SUPPLIER
    if organization.is_buyer and not organization.is_supplier:
        return iselectors.BUYER
    return None


def _filters(request):
    organization = request.organization
    side = request.GET.get("side")
    if side not in (iselectors.SUPPLIER, iselectors.BUYER):
        side = default_side(organization)
    kind = request.GET.get("kind") or None
    if kind not in InvoiceKind.values:
        kind = None
    status = request.GET.get("status") or None
    if status not in InvoiceStatus.values:
        status = None
    return {"side": side, "kind": kind, "status": status,
            "overdue": request.GET.get("overdue") == "1",
            "counterparty_id": int_param(request.GET.get("counterparty"), positive=True)}


def _counterparties(organization, side):
    """(id, name) of the organization's customers and/or suppliers for the filter."""
    from jalin.tenancy.access import for_org

    from .models import TradingRelationship

    relationships = for_org(TradingRelationship, organization).select_related(
        "supplier", "buyer")
    choices = {}
    for relationship in relationships.order_by("id")[:500]:
        if relationship.supplier_id == organization.pk and side != iselectors.BUYER:
            choices[relationship.buyer_id] = relationship.buyer.name
        if relationship.buyer_id == organization.pk and side != iselectors.SUPPLIER:
            choices[relationship.supplier_id] = relationship.supplier.name
    return sorted(choices.items(), key=lambda item: item[1].lower())


@org_required(ORDERS_VIEW)
@require_GET
def invoice_list(request):
    organization = request.organization
    filters = _filters(request)
    queryset = iselectors.invoices_for(organization=organization, **filters)
    query = request.GET.copy()
    for name in ("before", "after"):
        query.pop(name, None)
    return render(request, "hub/invoices.html", {
        "page": keyset_paginate(queryset, request.GET, per_page=PER_PAGE),
        "kinds": InvoiceKind.choices, "statuses": InvoiceStatus.choices,
        "counterparties": _counterparties(organization, filters["side"]),
        "is_filtered": bool(filters["kind"] or filters["status"] or filters["overdue"]
                            or filters["counterparty_id"]),
        "query": query.urlencode(), "today": invoicing.today(), **filters,
    })


@org_required(ORDERS_VIEW)
@require_GET
def invoice_export(request):
    organization = request.organization
    queryset = iselectors.invoices_for(organization=organization, **_filters(request)
                                       ).order_by("-id")
    header = ["id", "kind", "number", "supplier", "buyer", "order", "issue_date", "due_date",
              "status", "currency", "total_net", "total_tax", "total_gross", "amount_settled",
              "balance"]

    def rows():
        for invoice in queryset.iterator(chunk_size=2000):
            yield [invoice.pk, invoice.kind, str(invoice), invoice.supplier.name,
                   invoice.buyer.name, invoice.order.number if invoice.order_id else "",
                   invoice.issue_date.isoformat(), invoice.due_date.isoformat(),
                   invoice.status, invoice.currency, invoice.total_net, invoice.total_tax,
                   invoice.total_gross, invoice.amount_settled, invoice.balance]

    return csv_response("invoices.csv", header, rows())


def _can_credit(request, invoice):
    return (iselectors.side_of(invoice, request.organization) == iselectors.SUPPLIER
            and invoice.kind == InvoiceKind.INVOICE
            and invoicing.can_issue_credit_notes(request.membership))


def _invoice_page(request, pk, *, status=200, error=None, values=None):
    invoice = iselectors.invoice_detail(organization=request.organization, pk=pk)
    lines = list(invoice.lines.all())
    can_credit = _can_credit(request, invoice)
    side = iselectors.side_of(invoice, request.organization)
    return render(request, "hub/invoice_detail.html", {
        "invoice": invoice, "lines": lines, "side": side,
        "taxes": iselectors.tax_summary(lines),
        "allocations": list(invoice.allocations.all()),
        "applications": list(invoice.applications.all()),
        "credit_notes": list(invoice.credit_notes.all()),
        "creditable": [(line, left, (values or {}).get(f"credit_{line.pk}", "0"))
                       for line, left in iselectors.creditable_lines(invoice)]
        if can_credit else [],
        "can_credit": can_credit, "error": error, "values": values or {},
        "is_credit_note": invoice.kind == InvoiceKind.CREDIT_NOTE,
        "overdue": (invoice.kind == InvoiceKind.INVOICE and invoice.status != InvoiceStatus.PAID
                    and invoice.due_date < invoicing.today()),
        "payment_terms": pdf.payment_terms_text(invoice.relationship),
    }, status=status)


@org_required(ORDERS_VIEW)
@require_GET
def invoice_detail(request, pk):
    return _invoice_page(request, pk)


@org_required(ORDERS_VIEW)
@require_GET
def invoice_pdf(request, pk):
    invoice = iselectors.invoice_detail(organization=request.organization, pk=pk)
    lines = list(invoice.lines.all())
    data = pdf.invoice_pdf(invoice=invoice, lines=lines, taxes=iselectors.tax_summary(lines),
                           allocations=list(invoice.allocations.all()),
                           applications=list(invoice.applications.all()))
    return pdf_response(f"{invoice}.pdf", data, download=request.GET.get("download") == "1")


@org_required(ORDERS_VIEW)
@require_POST
def credit_note_create(request, pk):
    invoice = iselectors.invoice_detail(organization=request.organization, pk=pk)
    if iselectors.side_of(invoice, request.organization) != iselectors.SUPPLIER:
        raise Http404
    if not _can_credit(request, invoice):
        raise PermissionDenied
    reason = request.POST.get("reason", "")
    try:
        if request.POST.get("all") == "1":
            note = invoicing.credit_note_issue_all(invoice=invoice, reason=reason,
                                                   actor=request.user)
        else:
            lines = []
            for line in invoice.lines.all():
                raw = (request.POST.get(f"credit_{line.pk}") or "").strip()
                if not raw or raw == "0":
                    continue
                quantity = int_param(raw)
                if quantity is None:
                    raise HubError(_("Enter a whole number of units."),
                                   code="invalid_quantity", field=f"credit_{line.pk}")
                lines.append((line.pk, quantity))
            note = invoicing.credit_note_issue(invoice=invoice, lines=lines, reason=reason,
                                               actor=request.user)
    except HubError as exc:
        return _invoice_page(request, pk, status=400, error=exc.message, values=request.POST)
    messages.success(request, _("Credit note %(number)s issued.") % {"number": str(note)})
    return redirect("hub:invoice_detail", pk=note.pk)


@org_required(ORDERS_VIEW)
@require_POST
def order_invoice(request, pk):
    """Issue an invoice for the order's shipped, uninvoiced units (supplier: orders.fulfil or
    finance.edit)."""
    order = order_selectors.order_detail(organization=request.organization, pk=pk)
    if order.supplier_id != request.organization.pk:
        raise Http404
    if not invoicing.can_issue_invoices(request.membership):
        raise PermissionDenied
    try:
        invoice = invoicing.invoice_issue(order=order, actor=request.user)
    except HubError as exc:
        messages.error(request, exc.message)
        return redirect("hub:order_detail", pk=pk)
    messages.success(request, _("Invoice %(number)s issued.") % {"number": str(invoice)})
    return redirect("hub:invoice_detail", pk=invoice.pk)


# --- Statements of account -----------------------------------------------------------------


def _statement(request, counterparty_id):
    relationship = iselectors.relationship_with(
        organization=request.organization, counterparty_id=counterparty_id,
        side=request.GET.get("side") if request.GET.get("side") in (
            iselectors.SUPPLIER, iselectors.BUYER) else None)
    start, end = _date(request.GET.get("from")), _date(request.GET.get("to"))
    return relationship, iselectors.statement(relationship=relationship, start=start, end=end)


@org_required(FINANCE_VIEW)
@require_GET
def statement(request, counterparty_id):
    try:
        relationship, result = _statement(request, counterparty_id)
        error, status = None, 200
    except HubError as exc:
        relationship = iselectors.relationship_with(organization=request.organization,
                                                    counterparty_id=counterparty_id)
        result, error, status = None, exc.message, 400
    side = (iselectors.SUPPLIER if relationship.supplier_id == request.organization.pk
            else iselectors.BUYER)
    counterparty = relationship.buyer if side == iselectors.SUPPLIER else relationship.supplier
    query = request.GET.urlencode()
    return render(request, "hub/statement.html", {
        "relationship": relationship, "statement": result, "side": side,
        "counterparty": counterparty, "error": error, "query": query,
        "start": request.GET.get("from") or (result.start.isoformat() if result else ""),
        "end": request.GET.get("to") or (result.end.isoformat() if result else ""),
        "payment_terms": pdf.payment_terms_text(relationship),
    }, status=status)


@org_required(FINANCE_VIEW)
@require_GET
def statement_csv(request, counterparty_id):
    try:
        relationship, result = _statement(request, counterparty_id)
    except HubError as exc:
        return HttpResponse(exc.message, status=400, content_type="text/plain; charset=utf-8")
    header = ["date", "document", "kind", "reference", "due_date", "debit", "credit",
              "balance"]
    rows = [[result.start.isoformat(), "", "opening_balance", "", "", "", "",
             result.opening]]
    rows += [[row.date.isoformat(), row.number, row.kind, row.reference,
              row.due_date.isoformat() if row.due_date else "", row.debit, row.credit,
              row.balance] for row in result.rows]
    rows.append([result.end.isoformat(), "", "closing_balance", "", "", result.total_debit,
                 result.total_credit, result.closing])
    name = f"statement-{relationship.buyer.slug}-{result.start}-{result.end}.csv"
    return csv_response(name, header, rows)


@org_required(FINANCE_VIEW)
@require_GET
def statement_pdf(request, counterparty_id):
    try:
        relationship, result = _statement(request, counterparty_id)
    except HubError as exc:
        return HttpResponse(exc.message, status=400, content_type="text/plain; charset=utf-8")
    name = f"statement-{relationship.buyer.slug}-{result.start}-{result.end}.pdf"
    return pdf_response(name, pdf.statement_pdf(result))
