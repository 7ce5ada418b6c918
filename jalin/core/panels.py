"""Related-record panels: other modules' records shown on a record's page (a Salesforce
"related list"), without the page's module importing them.

The CRM account page shows the customer's deals, quotes, hub orders, invoices, cases,
agreements and portfolio records; CRM may not import sales, hub, service or brm, and hub may
not import CRM, so the registry lives here and each module registers its panels from its
AppConfig.ready():

    from jalin.core.panels import register_panel

    register_panel("crm.account", "sales", title=_("Deals"), order=10,
                   selector=account_deals, template="sales/panels/_account.html",
                   permission=SALES_VIEW)

`selector(*, organization, record, user)` returns the panel's data: a dict of JSON values,
dates, datetimes and Decimals (DjangoJSONEncoder turns them into JSON; the JSON API serves
exactly this). It must be a few bounded queries (LIMIT, indexed filters; no COUNT over a large
table), scoped to `organization`: the registry does not know the panel's models. `template`
renders it with `data`, `record` and `request` in its context.

`panels_for()` answers the panels the member may see (`permission` via has_perm), in `order`.
A panel that raises — its query, its template, anything — is logged and answered with
`failed=True` (the page shows "could not load"), never a failed page. On a connection inside a
transaction each panel runs in its own savepoint, so a failed query (PostgreSQL aborts the
transaction) does not poison the rest of the page.
"""

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.template.loader import render_to_string

from jalin.tenancy.roles import has_perm

logger = logging.getLogger("jalin.panels")


@dataclass(frozen=True)
class Panel:
    target: str
    key: str
    title: object
    order: int
    selector: Callable
    template: str
    permission: str | None = None


@dataclass
class PanelResult:
    key: str
    title: str
    order: int
    data: dict[str, Any] | None = None
    html: str = ""
    failed: bool = False

    def as_json(self):
        return {"key": self.key, "title": self.title, "ok": not self.failed,
                "data": to_json(self.data) if not self.failed else None}


_registry: dict[str, dict[str, Panel]] = {}


def register_panel(target, key, *, title, order, selector, template, permission=None):
    """Add a panel to the pages of `target` ("crm.account", "crm.contact"). Registering the
    same key again with the same definition is a no-op (ready() may run twice in tests);
    another definition under a taken key is an error."""
    panel = Panel(target=target, key=key, title=title, order=order, selector=selector,
                  template=template, permission=permission)
    panels = _registry.setdefault(target, {})
    existing = panels.get(key)
    if existing is not None and existing != panel:
        raise ValueError(f"A {target} panel named {key!r} is already registered.")
    panels[key] = panel
    return panel


def unregister_panel(target, key):
    """Tests only: take a panel out again."""
    _registry.get(target, {}).pop(key, None)


def registered(target):
    return sorted(_registry.get(target, {}).values(), key=lambda item: (item.order, item.key))


def to_json(data):
    """The panel's data as plain JSON values (Decimal → string, date → ISO 8601)."""
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def _run(panel, *, organization, record, user, request, render):
    result = PanelResult(key=panel.key, title=str(panel.title), order=panel.order)
    try:
        if connection.in_atomic_block:
            with transaction.atomic():
                _fill(result, panel, organization=organization, record=record, user=user,
                      request=request, render=render)
        else:
            _fill(result, panel, organization=organization, record=record, user=user,
                  request=request, render=render)
    except Exception:
        logger.exception("The %s panel %r failed for record %s of organization %s.",
                         panel.target, panel.key, getattr(record, "pk", None),
                         getattr(organization, "pk", None))
        result.data, result.html, result.failed = None, "", True
    return result


def _fill(result, panel, *, organization, record, user, request, render):
    result.data = panel.selector(organization=organization, record=record, user=user)
    if render:
        result.html = render_to_string(panel.template, {
            "data": result.data, "record": record, "panel": result}, request=request)


def panels_for(target, *, membership, record, user, request=None, render=True):
    """The panels of `target` the member may see, each with its data and (`render`) HTML."""
    if membership is None:
        return []
    return [_run(panel, organization=membership.organization, record=record, user=user,
                 request=request, render=render)
            for panel in registered(target)
            if panel.permission is None or has_perm(membership, panel.permission)]
