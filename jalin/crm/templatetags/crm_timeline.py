"""The timeline panel on account, contact (and activity) pages.

`{% timeline_panel record %}` renders crm/timeline/_panel.html for an Account or Contact
(anything else renders nothing); it reads through the feature's selectors with a fixed number
of queries: one page of lines plus one existence probe per linkable record type.
"""

from django import template

from jalin.crm.models import Account, Contact
from jalin.crm.timeline.views import panel_context

register = template.Library()


@register.inclusion_tag("crm/timeline/_panel.html", takes_context=True)
def timeline_panel(context, record):
    request = context.get("request")
    base = {"record": record, "request": request, "membership": context.get("membership"),
            "csrf_token": context.get("csrf_token")}
    kind = "account" if isinstance(record, Account) else (
        "contact" if isinstance(record, Contact) else None)
    organization = getattr(request, "organization", None)
    if kind is None or organization is None:
        return {**base, "kind": None}
    return {**base, **panel_context(organization=organization, record=record, kind=kind)}
