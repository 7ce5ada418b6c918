"""Service portfolio pages at /service/catalogue/: tabs pipeline / catalogue / retired, a
service's page (lifecycle moves, customers using it, cases and agreements), create/edit.

Thin: reads through `portfolio_selectors`, writes through `service_catalogue`.
"""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jalin.core.pagination import keyset_paginate
from jalin.core.params import int_param
from jalin.crm.models import Account
from jalin.tenancy.access import get_for_org_or_404
from jalin.tenancy.decorators import org_required
from jalin.tenancy.roles import SERVICE_EDIT, SERVICE_VIEW, has_perm
from jalin.tenancy.services import StaleVersion, TenancyError

from . import portfolio_selectors as selectors
from . import service_catalogue
from .models import ItilStage, ServiceStatus, ServiceSubscription

TABS = (("pipeline", gettext_lazy("Pipeline")), ("catalogue", gettext_lazy("Catalogue")),
        ("retired", gettext_lazy("Retired")))


def _member(request, raw):
    user_id = int_param(raw)
    if not user_id:
        return None
    user = get_user_model().objects.filter(
        pk=user_id, memberships__organization=request.organization,
        memberships__is_active=True).first()
    if user is None:
        raise TenancyError(_("The owner must be a member of your organization."),
                           code="not_found", field="owner")
    return user


def _members(request):
    return list(get_user_model().objects.filter(
        memberships__organization=request.organization, memberships__is_active=True,
        memberships__role__in=("org_admin", "sales", "service_agent", "finance", "viewer"))
        .order_by("username").distinct())


@org_required(SERVICE_VIEW)
@require_GET
def service_list(request):
    tab = request.GET.get("tab") or "catalogue"
    if tab not in service_catalogue.SECTIONS:
        tab = "catalogue"
    stage = request.GET.get("stage") or None
    if stage not in ItilStage.values:
        stage = None
    queryset = selectors.services_for(organization=request.organization, section=tab,
                                      stage=stage, search=request.GET.get("q", ""))
    return render(request, "service/catalogue.html", {
        "page": keyset_paginate(queryset, request.GET, per_page=50), "tab": tab,
        "tabs": TABS, "stages": ItilStage.choices, "stage": stage,
        "q": request.GET.get("q", ""),
        "can_edit": has_perm(request.membership, SERVICE_EDIT),
    })


def _form_values(request):
    return {name: request.POST.get(name, "") for name in (
        "code", "name", "description", "category", "utility", "warranty", "stage")}


@org_required(SERVICE_EDIT)
@require_http_methods(["GET", "POST"])
def service_create(request):
    error, field, status = None, None, 200
    values = {"stage": ItilStage.STRATEGY}
    if request.method == "POST":
        values = _form_values(request)
        try:
            service = service_catalogue.service_create(
                organization=request.organization, actor=request.user,
                owner=_member(request, request.POST.get("owner")), **values)
        except TenancyError as exc:
            error, field, status = exc.message, exc.field, 400
        else:
            messages.success(request, _("Service created."))
            return redirect("service:service_detail", pk=service.pk)
    return render(request, "service/service_form.html", {
        "values": values, "error": error, "error_field": field, "stages": ItilStage.choices,
        "members": _members(request), "service": None,
        "owner_id": int_param(request.POST.get("owner")),
    }, status=status)


@org_required(SERVICE_EDIT)
@require_http_methods(["GET", "POST"])
def service_edit(request, pk):
    service = selectors.service_detail(organization=request.organization, pk=pk)
    error, field, status = None, None, 200
    values = {name: getattr(service, name) for name in (
        "code", "name", "description", "category", "utility", "warranty", "stage")}
    owner_id = service.owner_id
    if request.method == "POST":
        values = _form_values(request)
        owner_id = int_param(request.POST.get("owner"))
        try:
            service_catalogue.service_update(
                service=service, actor=request.user,
                version=int_param(request.POST.get("version"), default=0),
                owner=_member(request, request.POST.get("owner")), **values)
        except StaleVersion as exc:
            error, status = exc.message, 409
        except TenancyError as exc:
            error, field, status = exc.message, exc.field, 400
        else:
            messages.success(request, _("Service saved."))
            return redirect("service:service_detail", pk=service.pk)
    return render(request, "service/service_form.html", {
        "values": values, "error": error, "error_field": field, "stages": ItilStage.choices,
        "members": _members(request), "service": service, "owner_id": owner_id,
    }, status=status)


def _detail(request, pk, *, error=None, status=200):
    service = selectors.service_detail(organization=request.organization, pk=pk)
    can_edit = has_perm(request.membership, SERVICE_EDIT)
    subscriptions = list(selectors.subscriptions_of(service))
    used = {sub.account_id for sub in subscriptions if sub.ended_on is None}
    accounts = []
    if can_edit and service.status in service_catalogue.SECTIONS["catalogue"]:
        accounts = [(pk_, name) for pk_, name in Account.objects.filter(
            organization=request.organization, archived_at__isnull=True)
            .order_by("name").values_list("pk", "name")[:2000] if pk_ not in used]
    return render(request, "service/service_detail.html", {
        "service": service, "can_edit": can_edit,
        "targets": [(value, ServiceStatus(value).label)
                    for value in service_catalogue.allowed_targets(service)],
        "section": service_catalogue.section_of(service.status),
        "subscriptions": subscriptions, "accounts": accounts,
        "cases": selectors.cases_of_service(service),
        "agreements": selectors.agreements_of_service(service), "error": error,
    }, status=status)


@org_required(SERVICE_VIEW)
@require_GET
def service_detail(request, pk):
    return _detail(request, pk)


@org_required(SERVICE_EDIT)
@require_POST
def service_transition(request, pk):
    service = selectors.service_detail(organization=request.organization, pk=pk)
    try:
        service_catalogue.service_transition(
            service=service, to_status=request.POST.get("to_status", ""), actor=request.user,
            comment=request.POST.get("comment", ""),
            version=int_param(request.POST.get("version"), default=0))
    except StaleVersion as exc:
        return _detail(request, pk, error=exc.message, status=409)
    except TenancyError as exc:
        return _detail(request, pk, error=exc.message, status=400)
    messages.success(request, _("Service status changed."))
    return redirect("service:service_detail", pk=pk)


@org_required(SERVICE_EDIT)
@require_POST
def subscription_add(request, pk):
    service = selectors.service_detail(organization=request.organization, pk=pk)
    account = Account.objects.filter(organization=request.organization,
                                     pk=int_param(request.POST.get("account"), default=0)).first()
    try:
        if account is None:
            raise TenancyError(_("Choose a customer."), code="required", field="account")
        service_catalogue.subscription_add(service=service, account=account,
                                           actor=request.user)
    except TenancyError as exc:
        return _detail(request, pk, error=exc.message, status=400)
    messages.success(request, _("Customer added."))
    return redirect("service:service_detail", pk=pk)


@org_required(SERVICE_EDIT)
@require_POST
def subscription_end(request, pk):
    subscription = get_for_org_or_404(ServiceSubscription, request.organization, pk=pk)
    try:
        service_catalogue.subscription_end(subscription=subscription, actor=request.user)
    except TenancyError as exc:
        return _detail(request, subscription.service_id, error=exc.message, status=400)
    messages.success(request, _("Subscription ended."))
    return redirect("service:service_detail", pk=subscription.service_id)
