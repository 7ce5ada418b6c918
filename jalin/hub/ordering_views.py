"""Buyer pages for ordering in bulk: uploading an order file into the cart (with a per-line
report, shown and downloadable as CSV) and saved lists ("requisition lists").

Thin: the work is in `order_upload`, `sku_lines` and `saved_lists`. A saved list you cannot see is
404; one you can see but may not change is 403.
"""

import csv
import uuid

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jalin.core.csv_cells import Echo, safe_cell
from jalin.core.pagination import keyset_paginate
from jalin.core.params import int_param
from jalin.tenancy.decorators import org_required
from jalin.tenancy.roles import ORDERS_PLACE
from jalin.tenancy.services import StaleVersion

from . import order_upload, saved_lists, selectors, sku_lines, uploads
from .models import Product
from .order_views import lines_added_message
from .services import HubError

PER_PAGE = 50

SESSION_KEY = "hub_order_upload"


# --- Order upload --------------------------------------------------------------------------


def _pending(request, supplier_id, token):
    pending = request.session.get(SESSION_KEY) or {}
    if (not token or pending.get("token") != token
            or pending.get("supplier") != supplier_id):
        return None
    return pending


def _report_rows(result):
    return [[p.number, p.content, p.message, p.code] for p in result.report]


def _max_upload_bytes():
    return sku_lines.MAX_UPLOAD_BYTES


@uploads.upload_view(_max_upload_bytes)
@org_required(ORDERS_PLACE)
@require_http_methods(["GET", "POST"])
def cart_upload(request, supplier_id):
    """Upload a CSV or .xlsx file of "SKU, quantity" lines into the cart. An oversized body
    is stopped before it is written to disk (`uploads.upload_view`)."""
    relationship = selectors.relationship_for_buyer_or_404(buyer=request.organization,
                                                           supplier_id=supplier_id)
    context = {"supplier": relationship.supplier, "mode": order_upload.CHECK,
               "max_lines": sku_lines.MAX_UPLOAD_LINES,
               "max_mb": sku_lines.MAX_UPLOAD_BYTES // (1024 * 1024)}
    status = 200
    if request.method == "POST":
        mode = request.POST.get("mode")
        context["mode"] = mode = mode if mode in order_upload.MODES else order_upload.CHECK
        uploaded = None if uploads.too_large(request) else request.FILES.get("file")
        try:
            if uploads.too_large(request):
                raise HubError(sku_lines.too_large_message(), code="too_large", field="file")
            if uploaded is None:
                raise HubError(_("Choose a file."), code="no_file", field="file")
            result = order_upload.cart_upload(relationship=relationship, user=request.user,
                                         uploaded=uploaded, mode=mode)
        except HubError as error:
            context["error"] = error.message
            status = 413 if error.code == "too_large" else 422
        else:
            if result.applied and not result.report:
                messages.success(request, lines_added_message(result.added))
                return redirect("hub:cart")
            token = uuid.uuid4().hex
            request.session[SESSION_KEY] = {
                "token": token, "supplier": relationship.supplier_id,
                "name": (uploaded.name or "")[:100],
                "quantities": [] if result.applied else [
                    [pid, qty] for pid, qty in result.checked.quantities.items()],
                "report": _report_rows(result),
            }
            context.update(result=result, token=token,
                           good=len(result.checked.quantities))
            # The file was read and checked: the report is the answer (200), even when it
            # lists bad lines; only a file that cannot be read at all is refused (4xx).
            if result.applied:
                messages.success(request, lines_added_message(result.added))
    return render(request, "hub/cart_upload.html", context, status=status)


@org_required(ORDERS_PLACE)
@require_POST
def cart_upload_apply(request, supplier_id):
    """"Add the good lines" after a report: the checked lines kept in the session."""
    relationship = selectors.relationship_for_buyer_or_404(buyer=request.organization,
                                                           supplier_id=supplier_id)
    pending = _pending(request, relationship.supplier_id, request.POST.get("token"))
    if pending is None or not pending["quantities"]:
        messages.error(request, _("That upload is no longer waiting: upload the file again."))
        return redirect("hub:cart_upload", supplier_id=relationship.supplier_id)
    quantities = {int(pid): int(qty) for pid, qty in pending["quantities"]}
    result = order_upload.UploadResult(rows=0, checked=sku_lines.Checked([], [], []))
    try:
        order_upload.add_quantities(relationship=relationship, user=request.user, result=result,
                               quantities=quantities)
    except HubError as error:
        messages.error(request, error.message)
        return redirect("hub:cart_upload", supplier_id=relationship.supplier_id)
    pending["quantities"] = []
    request.session[SESSION_KEY] = pending  # the report stays downloadable
    messages.success(request, lines_added_message(result.added))
    return redirect("hub:cart")


@org_required(ORDERS_PLACE)
@require_GET
def cart_upload_report(request, supplier_id):
    """The last upload's report as CSV (cells a spreadsheet would run as formulas are
    quoted)."""
    relationship = selectors.relationship_for_buyer_or_404(buyer=request.organization,
                                                           supplier_id=supplier_id)
    pending = _pending(request, relationship.supplier_id, request.GET.get("token"))
    if pending is None:
        raise Http404
    writer = csv.writer(Echo())
    safe = safe_cell  # shorter rows below

    def rows():
        yield "\ufeff"
        yield writer.writerow([_("Line"), _("Content"), _("Reason"), _("Code")])
        for number, content, message, code in pending["report"]:
            yield writer.writerow([number, safe(content), safe(message), code])

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="order-upload-report.csv"'
    return response


# --- Saved lists ---------------------------------------------------------------------------


def _bool(value):
    return str(value or "").lower() in ("on", "1", "true", "yes")


def _list_error(request, error):
    if error.code == "forbidden":
        raise PermissionDenied(error.message)
    messages.error(request, error.message)


@org_required(ORDERS_PLACE)
@require_http_methods(["GET", "POST"])
def saved_lists_page(request):
    """Your lists and your organization's shared ones; create a new (empty) list."""
    membership = request.membership
    suppliers = list(selectors.suppliers_for_buyer(buyer=request.organization))
    supplier_id = int_param(request.GET.get("supplier"))
    error, status = None, 200
    if request.method == "POST":
        relationship = next((r for r in suppliers
                             if r.supplier_id == int_param(request.POST.get("supplier"))), None)
        try:
            if relationship is None:
                raise HubError(_("Choose a supplier."), code="not_found", field="supplier")
            saved_list = saved_lists.list_create(
                relationship=relationship, user=request.user,
                name=request.POST.get("name", ""), shared=_bool(request.POST.get("shared")))
        except HubError as exc:
            error, status = exc.message, 422
        else:
            messages.success(request, _("List “%(name)s” created.") % {"name": saved_list.name})
            return redirect("hub:saved_list_detail", pk=saved_list.pk)
    queryset = saved_lists.lists_for(membership=membership, supplier_id=supplier_id).annotate(
        line_count=Count("lines"))
    return render(request, "hub/saved_lists.html", {
        "page": keyset_paginate(queryset, request.GET, per_page=PER_PAGE),
        "suppliers": suppliers, "supplier_id": supplier_id, "is_filtered": bool(supplier_id),
        "error": error, "values": request.POST,
    }, status=status)


def _list_page(request, saved_list, *, status=200, error=None):
    lines = list(saved_list.lines.select_related("product").order_by("product__sku", "id"))
    return render(request, "hub/saved_list_detail.html", {
        "saved_list": saved_list, "lines": lines, "error": error,
        "can_edit": saved_lists.can_edit(saved_list, request.membership),
    }, status=status)


@org_required(ORDERS_PLACE)
@require_GET
def saved_list_detail(request, pk):
    saved_list = saved_lists.list_or_404(membership=request.membership, pk=pk)
    return _list_page(request, saved_list)


@org_required(ORDERS_PLACE)
@require_POST
def saved_list_edit(request, pk):
    saved_list = saved_lists.list_or_404(membership=request.membership, pk=pk)
    try:
        saved_lists.list_update(saved_list=saved_list, membership=request.membership,
                                actor=request.user, name=request.POST.get("name"),
                                shared=_bool(request.POST.get("shared")),
                                version=int_param(request.POST.get("version")))
    except StaleVersion as exc:
        return _list_page(request, saved_list, status=409, error=exc.message)
    except HubError as exc:
        if exc.code == "forbidden":
            raise PermissionDenied(exc.message) from exc
        return _list_page(request, saved_list, status=422, error=exc.message)
    messages.success(request, _("List saved."))
    return redirect("hub:saved_list_detail", pk=pk)


@org_required(ORDERS_PLACE)
@require_POST
def saved_list_delete(request, pk):
    saved_list = saved_lists.list_or_404(membership=request.membership, pk=pk)
    try:
        saved_lists.list_delete(saved_list=saved_list, membership=request.membership,
                                actor=request.user)
    except HubError as exc:
        raise PermissionDenied(exc.message) from exc
    messages.success(request, _("List “%(name)s” deleted.") % {"name": saved_list.name})
    return redirect("hub:saved_lists")


@org_required(ORDERS_PLACE)
@require_POST
def saved_list_line(request, pk):
    """Set a line's quantity (0 removes it), or add a product by SKU."""
    saved_list = saved_lists.list_or_404(membership=request.membership, pk=pk)
    product_id = int_param(request.POST.get("product"))
    sku = (request.POST.get("sku") or "").strip()
    quantity = int_param(request.POST.get("quantity"))
    try:
        if product_id is None and sku:
            product = Product.objects.filter(supplier_id=saved_list.supplier_id,
                                             sku=sku[:64]).first()
            if product is None:
                raise HubError(_("Unknown SKU %(sku)s.") % {"sku": sku[:64]},
                               code="not_found", field="sku")
            product_id = product.pk
        if product_id is None:
            raise HubError(_("Enter a SKU."), code="not_found", field="sku")
        saved_lists.list_set_line(saved_list=saved_list, membership=request.membership,
                                  actor=request.user, product_id=product_id,
                                  quantity=-1 if quantity is None else quantity,
                                  add=request.POST.get("mode") == "add")
    except HubError as exc:
        if exc.code == "forbidden":
            raise PermissionDenied(exc.message) from exc
        return _list_page(request, saved_list, status=422, error=exc.message)
    messages.success(request, _("List saved."))
    return redirect("hub:saved_list_detail", pk=pk)


@org_required(ORDERS_PLACE)
@require_POST
def saved_list_add_to_cart(request, pk):
    saved_list = saved_lists.list_or_404(membership=request.membership, pk=pk)
    try:
        added, skipped = saved_lists.list_add_to_cart(saved_list=saved_list, user=request.user)
    except HubError as exc:
        return _list_page(request, saved_list, status=422, error=exc.message)
    if skipped:
        messages.warning(request, _("No longer available: %(skus)s") % {
            "skus": ", ".join(skipped)})
    messages.success(request, lines_added_message(added))
    return redirect("hub:cart")


@org_required(ORDERS_PLACE)
@require_POST
def cart_save_as_list(request, supplier_id):
    """"Save cart as list" for one supplier's cart section."""
    relationship = selectors.relationship_for_buyer_or_404(buyer=request.organization,
                                                           supplier_id=supplier_id)
    try:
        saved_list = saved_lists.list_from_cart(
            relationship=relationship, user=request.user, name=request.POST.get("name", ""),
            shared=_bool(request.POST.get("shared")))
    except HubError as exc:
        messages.error(request, exc.message)
        return redirect("hub:cart")
    messages.success(request, _("List “%(name)s” created.") % {"name": saved_list.name})
    return redirect("hub:saved_list_detail", pk=saved_list.pk)


@org_required(ORDERS_PLACE)
@require_POST
def shop_add_to_list(request, supplier_id):
    """"Add to list" from the shop: a product of this supplier into one of your lists."""
    relationship = selectors.relationship_for_buyer_or_404(buyer=request.organization,
                                                           supplier_id=supplier_id)
    saved_list = saved_lists.lists_for(membership=request.membership,
                                       supplier_id=relationship.supplier_id).filter(
        pk=int_param(request.POST.get("list")) or 0).first()
    if saved_list is None:
        raise Http404
    quantity = int_param(request.POST.get("quantity"))
    try:
        saved_lists.list_set_line(saved_list=saved_list, membership=request.membership,
                                  actor=request.user,
                                  product_id=int_param(request.POST.get("product")),
                                  quantity=-1 if quantity is None else quantity, add=True)
    except HubError as exc:
        _list_error(request, exc)
    else:
        messages.success(request, _("Added to “%(name)s”.") % {"name": saved_list.name})
    return redirect("hub:shop_catalog", supplier_id=relationship.supplier_id)
