"""Hub pages for returns (RMA).

Buyer: "Request a return" from a delivered order (lines, quantities, reasons), my returns,
return detail with its history and credit notes, withdraw a request.
Supplier: the incoming returns queue (filters, keyset paging, CSV export), detail with
Approve / Reject (with a note) / Receive (per line: units back, condition, restock, warehouse)
/ Issue credit note.

Views stay thin: reads through `return_selectors`, writes through `returns`.
"""

import csv
import uuid

from django.contrib import messages
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jalin.core.csv_cells import Echo, safe_cell
from jalin.core.pagination import keyset_paginate
from jalin.core.params import int_param
from jalin.tenancy.decorators import org_required
from jalin.tenancy.roles import ORDERS_PLACE, ORDERS_VIEW
from jalin.tenancy.services import StaleVersion

from . import order_selectors, return_selectors, returns
from .models import ReturnCondition, ReturnReason, ReturnStatus, Warehouse
from .orders import BUYER, SUPPLIER, side_of
from .services import HubError

PER_PAGE = 50
EXPORT_LIMIT = 50_000


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


def _filtered(request):
    status = request.GET.get("status") or None
    if status not in ReturnStatus.values:
        status = None
    side = _side(request)
    buyer_id = int_param(request.GET.get("buyer")) if side == "supplier" else None
    queryset = return_selectors.returns_for(organization=request.organization, status=status,
                                            side=side, buyer_id=buyer_id)
    return queryset, status, side, buyer_id


# --- Lists ---------------------------------------------------------------------------------


@org_required(ORDERS_VIEW)
@require_GET
def return_list(request):
    queryset, status, side, buyer_id = _filtered(request)
    customers = []
    if side == "supplier":
        customers = list(request.organization.hub_customer_relationships
                         .select_related("buyer").order_by("buyer__name")
                         .values_list("buyer_id", "buyer__name"))
    query = request.GET.copy()
    for key in ("before", "after"):
        query.pop(key, None)
    return render(request, "hub/returns.html", {
        "page": keyset_paginate(queryset, request.GET, per_page=PER_PAGE),
        "statuses": ReturnStatus.choices, "status": status, "side": side,
        "customers": customers, "buyer_id": buyer_id, "is_filtered": bool(status or buyer_id),
        "export_query": query.urlencode(),
    })


@org_required(ORDERS_VIEW)
@require_GET
def return_export(request):
    """The filtered list as CSV (newest first, at most EXPORT_LIMIT rows), streamed."""
    queryset, _status, _side_name, _buyer = _filtered(request)
    writer = csv.writer(Echo())
    header = ["number", "status", "order_number", "supplier", "buyer", "reason",
              "requested_at", "decided_at", "received_at", "credited_at"]

    def rows():
        yield "\ufeff"
        yield writer.writerow(header)
        for item in queryset.order_by("-id")[:EXPORT_LIMIT].iterator(chunk_size=500):
            yield writer.writerow([safe_cell(value) for value in (
                item.number, item.status, item.order.number, item.supplier.name,
                item.buyer.name, item.reason, item.requested_at.isoformat(),
                item.decided_at.isoformat() if item.decided_at else "",
                item.received_at.isoformat() if item.received_at else "",
                item.credited_at.isoformat() if item.credited_at else "")])

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="returns.csv"'
    return response


# --- Requesting a return (buyer) -----------------------------------------------------------


@org_required(ORDERS_PLACE)
@require_http_methods(["GET", "POST"])
def return_create(request, pk):
    order = order_selectors.order_detail(organization=request.organization, pk=pk)
    if side_of(order, request.organization) != BUYER:
        raise Http404
    lines = list(order.lines.all())
    open_quantities = returns.returnable_quantities(order, lines)
    error, status, errors = None, 200, {}
    if request.method == "POST":
        wanted = []
        for line in lines:
            raw = (request.POST.get(f"qty_{line.pk}") or "").strip()
            quantity = int_param(raw, default=-1) if raw else 0
            if quantity == 0:
                continue
            wanted.append((line.pk, quantity, request.POST.get(f"reason_{line.pk}", "")))
        token = (request.POST.get("token") or "").strip()[:64]
        try:
            return_request = returns.return_request_create(
                order=order, membership=request.membership, actor=request.user, lines=wanted,
                note=request.POST.get("note", ""), reason=request.POST.get("reason", ""),
                idempotency_key=f"form:{request.membership.pk}:{token}" if token else None)
        except HubError as exc:
            error, status = exc.message, 403 if exc.code == "forbidden" else 400
            if exc.field and exc.field.startswith("lines["):
                index = int_param(exc.field[6:].split("]")[0])
                if index is not None and index < len(wanted):
                    errors[wanted[index][0]] = exc.message
        else:
            messages.success(request, _("Return RMA-%(number)s requested.") % {
                "number": return_request.number})
            return redirect("hub:return_detail", pk=return_request.pk)
    rows = [{"line": line, "open": open_quantities.get(line.pk, 0),
             "quantity": request.POST.get(f"qty_{line.pk}", "0"),
             "reason": request.POST.get(f"reason_{line.pk}", ""),
             "error": errors.get(line.pk)} for line in lines]
    ends = returns.window_ends(order)
    return render(request, "hub/return_form.html", {
        "order": order, "rows": rows, "reasons": ReturnReason.choices, "error": error,
        "token": uuid.uuid4().hex, "window_ends": ends,
        "window_days": returns.return_window_days(order.supplier_id),
        "note": request.POST.get("note", ""), "reason": request.POST.get("reason", ""),
        "any_open": any(row["open"] for row in rows),
        "returnable": order.status in returns.RETURNABLE_ORDER_STATUSES,
    }, status=status)


# --- Detail and transitions ----------------------------------------------------------------


def _invoice_url(invoice):
    try:
        return reverse("hub:invoice_detail", kwargs={"pk": invoice.pk})
    except NoReverseMatch:
        return ""


def _detail_page(request, pk, *, status=200, error=None):
    return_request = return_selectors.return_detail(organization=request.organization, pk=pk)
    side = side_of(return_request, request.organization)
    actions = returns.actions_for(return_request, request.membership)
    warehouses = []
    if "receive" in actions:
        warehouses = list(Warehouse.objects.filter(supplier=request.organization,
                                                   is_active=True).order_by("code", "id"))
    lines = list(return_request.lines.all())
    default_warehouse = next((line.order_line.warehouse_id for line in lines
                              if line.order_line.warehouse_id), None)
    credits = [(credit.credit_note, _invoice_url(credit.credit_note))
               for credit in return_request.credits.all()]
    return render(request, "hub/return_detail.html", {
        "rma": return_request, "side": side, "lines": lines,
        "simple_actions": [(name, returns.action_label(name)) for name in actions
                           if name != "receive"],
        "can_receive": "receive" in actions, "warehouses": warehouses,
        "default_warehouse": default_warehouse, "conditions": ReturnCondition.choices,
        "credits": credits, "error": error, "is_supplier": side == SUPPLIER,
    }, status=status)


@org_required(ORDERS_VIEW)
@require_GET
def return_detail(request, pk):
    return _detail_page(request, pk)


def _transition(request, pk, **extra):
    return_request = return_selectors.return_detail(organization=request.organization, pk=pk)
    try:
        returns.return_transition(return_request=return_request, membership=request.membership,
                                  actor=request.user, note=request.POST.get("note", ""),
                                  version=int_param(request.POST.get("version"), default=0),
                                  **extra)
    except StaleVersion as exc:
        return _detail_page(request, pk, status=409, error=exc.message)
    except HubError as exc:
        return _detail_page(request, pk, status=403 if exc.code == "forbidden" else 400,
                            error=exc.message)
    messages.success(request, _("Return updated."))
    return redirect("hub:return_detail", pk=pk)


@org_required(ORDERS_VIEW)
@require_POST
def return_action(request, pk):
    action = request.POST.get("action", "")
    if action == "receive":
        action = ""  # receiving goes through its own form
    return _transition(request, pk, action=action)


@org_required(ORDERS_VIEW)
@require_POST
def return_receive(request, pk):
    return_request = return_selectors.return_detail(organization=request.organization, pk=pk)
    received = []
    for line in return_request.lines.all():
        received.append(returns.ReceivedLine(
            line_id=line.pk,
            quantity=int_param(request.POST.get(f"received_{line.pk}"), default=-1),
            condition=request.POST.get(f"condition_{line.pk}", ""),
            restock=request.POST.get(f"restock_{line.pk}") == "on"))
    warehouse_id = int_param(request.POST.get("warehouse"))
    return _transition(request, pk, action="receive", received=received,
                       warehouse_id=warehouse_id)
