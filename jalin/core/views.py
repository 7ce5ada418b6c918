from dataclasses import dataclass

from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from jalin.tenancy.decorators import org_required
from jalin.tenancy.roles import Role, role_permissions

from .templatetags.jalin_ui import resolve_url_name


@dataclass(frozen=True)
class DashboardCard:
    title: str
    description: str
    url: str | None  # None: the module is not built yet ("coming soon").


# (permission, title, description, URL name or None). Order is the order on the dashboard.
DASHBOARD_CARDS = (
    ("crm.view", _("CRM"),
     _("Accounts, contacts, activities and one timeline per customer."), "crm:home"),
    ("sales.view", _("Sales"),
     _("Leads, opportunities, pipeline, quotes and forecasts."), "sales:home"),
    ("service.view", _("Service"),
     _("Cases with SLA clocks, surveys and feedback."), "service:home"),
    ("brm.view", _("Relationship management"),
     _("Customer, agreement and service portfolios, business cases and improvements."),
     "brm:home"),
    ("catalog.view", _("Catalog"),
     _("Products, customer prices and stock."), "hub:catalog"),
    ("orders.view", _("Orders"),
     _("Order entry, approvals, shipments and returns."), "hub:orders"),
    ("finance.view", _("Finance"),
     _("Credit lines, invoices and payments."), "hub:finance"),
    ("members.view", _("Members"),
     _("Who works in this organization, their roles and invitations."), "tenancy:members"),
    ("audit.view", _("Audit log"),
     _("Who changed what, and when."), "tenancy:audit_log"),
    ("org.manage", _("Settings"),
     _("Company profile, tax id, currency and time zone."), "tenancy:settings"),
    ("tokens.own", _("API tokens"),
     _("Personal tokens for the JSON API."), "accounts:tokens"),
)

ROLE_INTRODUCTIONS = {
    Role.ORG_ADMIN: _("You manage this organization: its members, settings and every module."),
    Role.SALES: _("Your customers, pipeline and quotes will live here."),
    Role.SERVICE_AGENT: _("Your case queue and SLA clocks will live here."),
    Role.FINANCE: _("Approvals, credit, invoices and payments will live here."),
    Role.BUYER: _("Your suppliers' catalogs and your orders will live here."),
    Role.BUYER_APPROVER: _("Orders waiting for your approval will live here."),
    Role.VIEWER: _("You can look around every module without changing anything."),
}


def dashboard_cards(perms):
    return [
        DashboardCard(title=title, description=description, url=resolve_url_name(url_name))
        for perm, title, description, url_name in DASHBOARD_CARDS
        if perm in perms
    ]


@org_required()
def dashboard(request):
    membership = request.membership
    return render(request, "core/dashboard.html", {
        "role": membership.role,
        "role_label": Role(membership.role).label,
        "introduction": ROLE_INTRODUCTIONS.get(membership.role, ""),
        "cards": dashboard_cards(role_permissions(membership.role)),
    })


@require_GET
def health(request):
    """Liveness for load balancers: the process answers and the database does too."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
