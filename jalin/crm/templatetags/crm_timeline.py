"""The timeline panel on account, contact (and activity) pages.

`{% timeline_panel record %}` renders crm/timeline/_panel.html for an Account, Contact or
Activity; it reads through the feature's selectors with a fixed number of queries.
"""

from django import template

register = template.Library()


@register.inclusion_tag("crm/timeline/_panel.html", takes_context=True)
def timeline_panel(context, record):
    return {"record": record, "request": context.get("request"),
            "membership": context.get("membership"), "csrf_token": context.get("csrf_token")}
