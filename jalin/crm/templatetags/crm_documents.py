"""The documents panel on account, contact (and activity) pages.

`{% documents_panel record %}` renders crm/documents/_panel.html for an Account, Contact or
Activity; it reads through the feature's selectors with a fixed number of queries.
"""

from django import template

register = template.Library()


@register.inclusion_tag("crm/documents/_panel.html", takes_context=True)
def documents_panel(context, record):
    from jalin.crm.documents.views import panel_context

    request = context.get("request")
    base = {"record": record, "request": request, "membership": context.get("membership"),
            "csrf_token": context.get("csrf_token"), "csp_nonce": context.get("csp_nonce")}
    context_data = panel_context(request, record) if request is not None else None
    if context_data is None:
        return {**base, "unsupported": True}
    return {**base, **context_data}
