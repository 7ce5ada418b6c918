"""Customer portfolio pages: /brm/ (`brm:home`, the portfolio with tier × health matrix,
filters, sort, keyset paging, CSV) and /brm/customers/<account>/ (one customer's profile,
objectives, stakeholders, services, agreements, revenue, predicted value, health signals).

Thin: reads through `customer_selectors` (and the service portfolio selectors), writes through
`customers`.
"""

import csv

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.http import StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from jalin.core.charts import chart_config
from jalin.core.csv_cells import Echo, safe_cell
from jalin.core.params import int_param
from jalin.crm.models import AccountStatus, AccountTier, Contact
from jalin.service import portfolio_selectors as service_selectors
from jalin.tenancy.access import get_for_org_or_404
from jalin.tenancy.decorators import org_required
from jalin.tenancy.roles import BRM_EDIT, BRM_VIEW, has_perm
from jalin.tenancy.services import StaleVersion, TenancyError

from . import customer_selectors as selectors
from . import customers
from .models import BusinessObjective, Health, ObjectiveStatus, Stakeholder, StakeholderRole

PER_PAGE = 50
EXPORT_LIMIT = 50_000
STAFF_ROLES = ("org_admin", "sales", "service_agent", "finance", "viewer")


def _staff(request):
    return list(get_user_model().objects.filter(
        memberships__organization=request.organization, memberships__is_active=True,
        memberships__role__in=STAFF_ROLES).order_by("username").distinct())


def _filters(request):
    tier = request.GET.get("tier") or None
    if tier not in AccountTier.values:
        tier = None
    health = request.GET.get("health") or None
    if health not in (*Health.values, selectors.NOT_ASSESSED):
        health = None
    status = request.GET.get("status") or None
    if status not in AccountStatus.values:
        status = None
    sort = request.GET.get("sort") or "name"
    if sort not in selectors.SORTS:
        sort = "name"
    filters = {"tier": tier, "health": health, "status": status,
               "manager_id": int_param(request.GET.get("manager")),
               "search": (request.GET.get("q") or "")[:100]}
    return selectors.portfolio_queryset(organization=request.organization, **filters), \
        filters, sort


@org_required(BRM_VIEW)
@require_GET
def home(request):
    queryset, filters, sort = _filters(request)
    page = selectors.portfolio_page(queryset, sort=sort, cursor=request.GET.get("cursor"),
                                    limit=PER_PAGE)
    selectors.attach_portfolio_details(request.organization, page.items)
    columns, matrix = selectors.tier_health_matrix(queryset)
    query = request.GET.copy()
    query.pop("cursor", None)
    health_labels = dict(Health.choices)
    health_labels[selectors.NOT_ASSESSED] = _("Not assessed")
    return render(request, "brm/portfolio.html", {
        "page": page, **filters, "sort": sort, "query": query.urlencode(),
        "tiers": AccountTier.choices, "statuses": AccountStatus.choices,
        "healths": [(value, health_labels[value]) for value in columns],
        "matrix": matrix, "managers": _staff(request),
        "sorts": [("name", _("Name")), ("tier", _("Tier")), ("health", _("Health")),
                  ("next_review", _("Next review"))],
        "currency": request.organization.currency,
    })


@org_required(BRM_VIEW)
@require_GET
def export(request):
    queryset, _filters_used, sort = _filters(request)
    writer = csv.writer(Echo())
    header = ["account_id", "customer", "tier", "status", "health", "health_reason",
              "relationship_manager", "review_every_days", "next_review_on",
              "revenue_12_months", "currency", "predicted_value_override"]
    organization = request.organization

    def rows():
        yield "\ufeff"
        yield writer.writerow(header)
        cursor = None
        sent = 0
        while sent < EXPORT_LIMIT:
            page = selectors.portfolio_page(queryset, sort=sort, cursor=cursor, limit=500)
            selectors.attach_portfolio_details(organization, page.items)
            for account in page.items:
                profile = account.profile
                yield writer.writerow([safe_cell(value) for value in (
                    account.pk, account.name, account.tier, account.status,
                    profile.health if profile else "", profile.health_note if profile else "",
                    profile.relationship_manager.get_username()
                    if profile and profile.relationship_manager else "",
                    profile.review_every_days if profile else "",
                    profile.next_review_on or "" if profile else "",
                    "" if account.revenue_12m is None else account.revenue_12m,
                    organization.currency,
                    profile.predicted_value if profile and profile.predicted_value is not None
                    else "")])
            sent += len(page.items)
            if not page.next_cursor:
                break
            cursor = page.next_cursor

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="customer-portfolio.csv"'
    return response


def _customer_page(request, pk, *, error=None, status=200, form=None):
    organization = request.organization
    account = selectors.customer_account(organization=organization, pk=pk)
    profile = customers.profile_for(account)
    revenue = selectors.revenue_by_month(organization=organization, account=account,
                                         months=24)
    prediction = selectors.predicted_value(revenue, override=profile.predicted_value)
    chart = None
    if revenue.linked:
        chart = chart_config(kind="bar", labels=[m[0].strftime("%Y-%m") for m in revenue.months],
                             series=[(_("Net revenue"), [m[3] for m in revenue.months])],
                             y_title=revenue.currency)
    can_edit = has_perm(request.membership, BRM_EDIT)
    return render(request, "brm/customer.html", {
        "account": account, "profile": profile, "revenue": revenue,
        "prediction": prediction, "chart": chart,
        "signals": selectors.signals_for(organization=organization, account=account),
        "objectives": list(BusinessObjective.objects.filter(organization=organization,
                                                            account=account)
                           .select_related("agreed_by")),
        "stakeholders": list(Stakeholder.objects.filter(organization=organization,
                                                        account=account)
                             .select_related("contact", "portal_user")
                             .order_by("role", "id")),
        "subscriptions": service_selectors.subscriptions_of_account(
            organization=organization, account_id=account.pk),
        "agreements": service_selectors.agreements_of_account(organization=organization,
                                                              account_id=account.pk),
        "can_edit": can_edit, "error": error, "form": form or "",
        "healths": Health.choices, "objective_statuses": ObjectiveStatus.choices,
        "roles": StakeholderRole.choices,
        "contacts": customers.contacts_of(account) if can_edit else [],
        "portal_users": customers.portal_users_of(account) if can_edit else [],
        "managers": _staff(request) if can_edit else [],
        "decision_roles": ("decision_maker", "sponsor", "key_stakeholder"),
    }, status=status)


@org_required(BRM_VIEW)
@require_GET
def customer_detail(request, pk):
    return _customer_page(request, pk)


def _answer(request, pk, call, success, form):
    try:
        call()
    except StaleVersion as exc:
        return _customer_page(request, pk, error=exc.message, status=409, form=form)
    except TenancyError as exc:
        return _customer_page(request, pk, error=exc.message, status=400, form=form)
    messages.success(request, success)
    return redirect("brm:customer", pk=pk)


@org_required(BRM_EDIT)
@require_POST
def profile_save(request, pk):
    account = selectors.customer_account(organization=request.organization, pk=pk)
    post = request.POST
    manager = None
    manager_id = int_param(post.get("relationship_manager"))
    if manager_id:
        manager = get_user_model().objects.filter(pk=manager_id).first()

    def call():
        if manager_id and manager is None:
            raise customers.BrmError(_("Choose a member of your organization."),
                                     code="not_found", field="relationship_manager")
        customers.profile_update(
            account=account, actor=request.user, version=int_param(post.get("version")),
            relationship_manager=manager, review_every_days=post.get("review_every_days", ""),
            next_review_on=post.get("next_review_on", ""),
            business_summary=post.get("business_summary", ""),
            activity_patterns=post.get("activity_patterns", ""),
            health=post.get("health", ""), health_note=post.get("health_note", ""),
            predicted_value=post.get("predicted_value", ""))

    return _answer(request, pk, call, _("Customer profile saved."), "profile")


def _contact(request, account, raw):
    contact_id = int_param(raw)
    if not contact_id:
        return None
    return Contact.objects.filter(organization=request.organization, pk=contact_id).first() \
        or Contact(pk=-1, organization_id=0, account_id=0)


@org_required(BRM_EDIT)
@require_POST
def objective_add(request, pk):
    account = selectors.customer_account(organization=request.organization, pk=pk)
    post = request.POST

    def call():
        customers.objective_create(
            account=account, actor=request.user, title=post.get("title", ""),
            desired_outcome=post.get("desired_outcome", ""), measure=post.get("measure", ""),
            status=post.get("status", "proposed"), agreed_on=post.get("agreed_on", ""),
            agreed_by=_contact(request, account, post.get("agreed_by")),
            target_date=post.get("target_date", ""))

    return _answer(request, pk, call, _("Objective added."), "objective")


@org_required(BRM_EDIT)
@require_POST
def objective_edit(request, pk):
    objective = get_for_org_or_404(BusinessObjective.objects.select_related("account"),
                                   request.organization, pk=pk)
    post = request.POST

    def call():
        customers.objective_update(
            objective=objective, actor=request.user,
            version=int_param(post.get("version"), default=0),
            status=post.get("status", objective.status),
            agreed_on=post.get("agreed_on", ""),
            agreed_by=_contact(request, objective.account, post.get("agreed_by")))

    return _answer(request, objective.account_id, call, _("Objective saved."), "objective")


@org_required(BRM_EDIT)
@require_POST
def stakeholder_add(request, pk):
    account = selectors.customer_account(organization=request.organization, pk=pk)
    post = request.POST
    portal_user_id = int_param(post.get("portal_user"))

    def call():
        portal_user = None
        if portal_user_id:
            portal_user = get_user_model().objects.filter(pk=portal_user_id).first()
            if portal_user is None:
                raise customers.BrmError(_("No such login."), code="not_found",
                                         field="portal_user")
        customers.stakeholder_create(
            account=account, actor=request.user,
            contact=_contact(request, account, post.get("contact")),
            role=post.get("role", ""), influence=post.get("influence", 3),
            portal_user=portal_user, notes=post.get("notes", ""))

    return _answer(request, pk, call, _("Stakeholder added."), "stakeholder")


@org_required(BRM_EDIT)
@require_POST
def stakeholder_remove(request, pk):
    stakeholder = get_for_org_or_404(Stakeholder, request.organization, pk=pk)
    account_id = stakeholder.account_id
    customers.stakeholder_remove(stakeholder=stakeholder, actor=request.user)
    messages.success(request, _("Stakeholder removed."))
    return redirect("brm:customer", pk=account_id)
