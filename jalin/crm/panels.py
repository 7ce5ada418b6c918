"""Panels of other modules on the CRM account and contact pages (and the account summary in
the JSON API): deals and quotes (sales), orders and invoices (hub), cases and agreements
(service), portfolio records (brm). CRM never imports those modules; they register here from
their AppConfig.ready():

    from jalin.crm.panels import register_account_panel

    register_account_panel("sales", title=_("Deals"), order=10, selector=account_deals,
                           template="sales/panels/_account.html", permission=SALES_VIEW)

The hub, which may not import CRM, registers through `jalin.core.panels.register_panel`
with the target `ACCOUNT` ("crm.account"); it is the same registry. See jalin.core.panels for
the selector's contract (bounded queries, JSON-serialisable dict) and the failure handling.
"""

from jalin.core.panels import panels_for, register_panel

ACCOUNT = "crm.account"
CONTACT = "crm.contact"


def register_account_panel(key, *, title, order, selector, template, permission=None):
    """`selector(*, organization, record, user)` gets the CRM Account as `record`."""
    return register_panel(ACCOUNT, key, title=title, order=order, selector=selector,
                          template=template, permission=permission)


def register_contact_panel(key, *, title, order, selector, template, permission=None):
    """`selector(*, organization, record, user)` gets the CRM Contact as `record`."""
    return register_panel(CONTACT, key, title=title, order=order, selector=selector,
                          template=template, permission=permission)


def account_panels(*, membership, account, user, request=None, render=True):
    return panels_for(ACCOUNT, membership=membership, record=account, user=user,
                      request=request, render=render)


def contact_panels(*, membership, contact, user, request=None, render=True):
    return panels_for(CONTACT, membership=membership, record=contact, user=user,
                      request=request, render=render)
