"""The activities panel on account, contact (and activity) pages.

`{% activities_panel record %}` renders crm/activities/_panel.html for an Account or Contact:
open activities (next due first), the last 10 done, a quick "log a call" form and links to
schedule a meeting or add a task with the record filled in. Two queries, however long the
history is.
"""

from django import template

register = template.Library()


@register.inclusion_tag("crm/activities/_panel.html", takes_context=True)
def activities_panel(context, record):
    from jalin.crm.activities.views import panel_context
    from jalin.crm.models import Account, Contact

    request = context.get("request")
    base = {"record": record, "request": request, "membership": context.get("membership"),
            "csrf_token": context.get("csrf_token")}
    if request is None or not isinstance(record, (Account, Contact)) \
            or getattr(request, "organization", None) is None:
        return {**base, "unsupported": True}
    return {**base, **panel_context(request, record)}
