"""Roles and the one permission map that both HTML views and the JSON API consult.

A permission is a short string ("members.manage"). Views declare the permission they need;
`has_perm(membership, perm)` answers. Adding a role or a permission happens here only.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    ORG_ADMIN = "org_admin", _("Organization admin")
    SALES = "sales", _("Sales")
    SERVICE_AGENT = "service_agent", _("Service agent")
    FINANCE = "finance", _("Finance")
    BUYER = "buyer", _("Buyer")
    BUYER_APPROVER = "buyer_approver", _("Buyer approver")
    VIEWER = "viewer", _("Viewer")


# Permissions, grouped by the module that will use them.
ORG_VIEW = "org.view"
ORG_MANAGE = "org.manage"
MEMBERS_VIEW = "members.view"
MEMBERS_MANAGE = "members.manage"
AUDIT_VIEW = "audit.view"
EVENTS_VIEW = "events.view"
EVENTS_MANAGE = "events.manage"
TOKENS_OWN = "tokens.own"
CRM_VIEW = "crm.view"
CRM_EDIT = "crm.edit"
SALES_VIEW = "sales.view"
SALES_EDIT = "sales.edit"
SERVICE_VIEW = "service.view"
SERVICE_EDIT = "service.edit"
BRM_VIEW = "brm.view"
BRM_EDIT = "brm.edit"
CATALOG_VIEW = "catalog.view"
CATALOG_EDIT = "catalog.edit"
ORDERS_VIEW = "orders.view"
ORDERS_PLACE = "orders.place"
ORDERS_APPROVE = "orders.approve"
ORDERS_FULFIL = "orders.fulfil"
FINANCE_VIEW = "finance.view"
FINANCE_EDIT = "finance.edit"

_READ_ALL = {
    ORG_VIEW, MEMBERS_VIEW, CRM_VIEW, SALES_VIEW, SERVICE_VIEW, BRM_VIEW, CATALOG_VIEW,
    ORDERS_VIEW,
}

PERMISSIONS: dict[str, frozenset[str]] = {
    Role.ORG_ADMIN: frozenset(
        _READ_ALL
        | {
            ORG_MANAGE, MEMBERS_MANAGE, AUDIT_VIEW, EVENTS_VIEW, EVENTS_MANAGE, TOKENS_OWN,
            CRM_EDIT, SALES_EDIT, SERVICE_EDIT, BRM_EDIT, CATALOG_EDIT, ORDERS_PLACE,
            ORDERS_APPROVE, ORDERS_FULFIL, FINANCE_VIEW, FINANCE_EDIT,
        }
    ),
    Role.SALES: frozenset(
        {ORG_VIEW, MEMBERS_VIEW, TOKENS_OWN, CRM_VIEW, CRM_EDIT, SALES_VIEW, SALES_EDIT,
         SERVICE_VIEW, BRM_VIEW, CATALOG_VIEW, ORDERS_VIEW, ORDERS_FULFIL}
    ),
    Role.SERVICE_AGENT: frozenset(
        {ORG_VIEW, MEMBERS_VIEW, TOKENS_OWN, CRM_VIEW, CRM_EDIT, SERVICE_VIEW, SERVICE_EDIT,
         BRM_VIEW, ORDERS_VIEW}
    ),
    Role.FINANCE: frozenset(
        {ORG_VIEW, MEMBERS_VIEW, TOKENS_OWN, CRM_VIEW, ORDERS_VIEW, ORDERS_APPROVE,
         FINANCE_VIEW, FINANCE_EDIT, AUDIT_VIEW}
    ),
    Role.BUYER: frozenset(
        {ORG_VIEW, MEMBERS_VIEW, TOKENS_OWN, CATALOG_VIEW, ORDERS_VIEW, ORDERS_PLACE,
         SERVICE_VIEW, FINANCE_VIEW}
    ),
    Role.BUYER_APPROVER: frozenset(
        {ORG_VIEW, MEMBERS_VIEW, TOKENS_OWN, CATALOG_VIEW, ORDERS_VIEW, ORDERS_PLACE,
         ORDERS_APPROVE, SERVICE_VIEW, FINANCE_VIEW}
    ),
    Role.VIEWER: frozenset(_READ_ALL),
}


def role_permissions(role: str) -> frozenset[str]:
    return PERMISSIONS.get(role, frozenset())


def has_perm(membership, perm: str) -> bool:
    if membership is None or not membership.is_active:
        return False
    return perm in role_permissions(membership.role)
