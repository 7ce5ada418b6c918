"""`service:home` and the customer portal's case pages.

For a buyer organization `service:home` is the portal home: its cases, a "New case" button
and the sections other modules register (`jalin.service.portal`: agreements, service reviews,
requirements awaiting sign-off, surveys). For a supplier it is the desk dashboard (my open
cases, unassigned, at risk, breached) with the desk's own links.

A buyer sees exactly the cases whose `buyer` is its organization, and only their public
messages; anything else is 404.
"""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jalin.core.params import int_param
from jalin.hub import order_selectors
from jalin.tenancy.decorators import org_required
from jalin.tenancy.roles import SERVICE_EDIT, SERVICE_VIEW, has_perm

from . import case_selectors as sel
from . import cases, portal
from .cases import ServiceError
from .models import (
    CASE_OPEN_STATUSES,
    Case,
    CaseChannel,
    CaseKind,
    CaseStatus,
    Service,
    ServiceStatus,
)
from .portal import portal_open_case, supplier_choices

PER_PAGE = 25
HOME_CASES = 10


def buyer_only(request):
    if not request.organization.is_buyer:
        raise Http404


# --- Home ----------------------------------------------------------------------------------


@org_required(SERVICE_VIEW)
@require_GET
def home(request):
    organization = request.organization
    if organization.is_supplier:
        now = timezone.now()
        user = request.user
        mine = list(sel.with_sla(sel.cases_for(organization=organization))
                    .filter(assignee=user, status__in=CASE_OPEN_STATUSES)
                    .order_by("-id")[:HOME_CASES])
        return render(request, "service/desk_home.html", {
            "counts": sel.desk_counts(organization=organization, user=user, now=now),
            "mine": mine, "now": now,
            "links": portal.desk_links(membership=request.membership, user=user),
            "also_buyer": organization.is_buyer,
            "can_edit": has_perm(request.membership, SERVICE_EDIT),
        })
    buyer_only(request)
    recent = list(sel.buyer_cases(buyer=organization).order_by("-id")[:HOME_CASES])
    return render(request, "service/portal_home.html", {
        "cases": recent,
        "links": portal.portal_links(membership=request.membership, user=request.user),
    })


# --- Portal cases --------------------------------------------------------------------------


@org_required(SERVICE_VIEW)
@require_GET
def portal_cases(request):
    buyer_only(request)
    status = request.GET.get("status", "")
    queryset = sel.buyer_cases(buyer=request.organization)
    if status == "open":
        queryset = queryset.filter(status__in=CASE_OPEN_STATUSES)
    elif status in CaseStatus.values:
        queryset = queryset.filter(status=status)
    else:
        status = ""
    page = sel.seek(queryset, sort="newest", cursor=request.GET.get("cursor", ""),
                    limit=PER_PAGE)
    return render(request, "service/portal_cases.html", {
        "page": page, "status": status,
        "statuses": [(value, label) for value, label in CaseStatus.choices
                     if value != CaseStatus.MERGED],
    })


def _live_services(supplier_ids):
    return list(Service.objects.filter(organization_id__in=supplier_ids, status__in=(
        ServiceStatus.LIVE, ServiceStatus.PENDING_RETIREMENT)).order_by("name", "id"))


@org_required(SERVICE_VIEW)
@require_http_methods(["GET", "POST"])
def portal_case_new(request):
    buyer_only(request)
    buyer = request.organization
    suppliers = supplier_choices(buyer)
    supplier_ids = [supplier.pk for supplier in suppliers]
    orders = list(order_selectors.orders_for(organization=buyer, side="buyer")
                  .filter(supplier_id__in=supplier_ids).order_by("-id")[:50])
    services = _live_services(supplier_ids)
    data = request.POST if request.method == "POST" else request.GET
    errors, status = {}, 200
    if request.method == "POST":
        supplier_id = int_param(data.get("supplier"), positive=True)
        if supplier_id is None and len(suppliers) == 1:
            supplier_id = suppliers[0].pk
        supplier = next((org for org in suppliers if org.pk == supplier_id), None)
        order_id = int_param(data.get("order"), positive=True)
        service_id = int_param(data.get("service"), positive=True)
        order = next((row for row in orders if row.pk == order_id), None)
        service = next((row for row in services if row.pk == service_id), None)
        try:
            if data.get("order") and order is None:
                raise ServiceError(_("No such order."), code="not_found", field="order")
            if data.get("service") and service is None:
                raise ServiceError(_("No such service."), code="not_found", field="service")
            case = portal_open_case(buyer=buyer, supplier=supplier, user=request.user,
                                    subject=data.get("subject", ""), kind=data.get("kind", ""),
                                    description=data.get("description", ""), order=order,
                                    service=service)
        except ServiceError as exc:
            errors[exc.field or "form"], status = exc.message, 400
        else:
            messages.success(request, _("Case #%(number)s opened. We will answer here.") % {
                "number": case.number})
            return redirect("service:portal_case_detail", pk=case.pk)
    return render(request, "service/portal_case_new.html", {
        "data": data, "errors": errors, "suppliers": suppliers, "orders": orders,
        "services": services, "kinds": CaseKind.choices,
    }, status=status)


def _portal_detail(request, pk, *, status=200, error=None, body=""):
    buyer_only(request)
    case = sel.buyer_case_detail(buyer=request.organization, pk=pk)
    return render(request, "service/portal_case_detail.html", {
        "case": case, "messages_list": sel.public_messages(case), "error": error,
        "body": body, "can_reply": case.status not in cases.READ_ONLY,
    }, status=status)


@org_required(SERVICE_VIEW)
@require_GET
def portal_case_detail(request, pk):
    buyer_only(request)
    merged = (Case.objects.filter(pk=int_param(pk, positive=True) or 0, buyer=request.organization,
                                      status=CaseStatus.MERGED)
              .values_list("merged_into_id", "merged_into__buyer_id").first())
    if merged and merged[0] and merged[1] == request.organization.pk:
        return redirect("service:portal_case_detail", pk=merged[0])
    return _portal_detail(request, pk)


@org_required(SERVICE_VIEW)
@require_POST
def portal_case_reply(request, pk):
    buyer_only(request)
    case = sel.buyer_case_detail(buyer=request.organization, pk=pk)
    body = request.POST.get("body", "")
    try:
        cases.case_add_message(case=case, body=body, from_staff=False,
                               channel=CaseChannel.PORTAL, author=request.user)
    except ServiceError as exc:
        return _portal_detail(request, pk, status=400, error=exc.message, body=body)
    messages.success(request, _("Message sent."))
    return redirect("service:portal_case_detail", pk=case.pk)
