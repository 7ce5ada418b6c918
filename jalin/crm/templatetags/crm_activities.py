"""The activities panel on account, contact (and activity) pages.

`{% activities_panel record %}` renders crm/activities/_panel.html for an Account, Contact or
Activity; it reads through the feature's selectors with a fixed number of queries.
"""

from django import template

register = template.Library()


@register.inclusion_tag("crm/activities/_panel.html", takes_context=True)
def activities_panel(context, record):
    return {"record": record, "request": context.get("request"),
            "membership": context.get("membership"), "csrf_token": context.get("csrf_token")}
