"""Timeline pages: the "older" / category-filter fragment of the timeline panel (htmx), which
also renders as a standalone page when followed without JavaScript."""

from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from jalin.api.pagination import InvalidCursor
from jalin.tenancy.access import get_for_org_or_404
from jalin.tenancy.decorators import org_required
from jalin.tenancy.roles import CRM_VIEW

from ..models import Account, Contact
from . import selectors
from .consumer import CATEGORIES


def panel_context(*, organization, record, kind, category="", cursor=None):
    """What the panel and its fragments need (a fixed number of queries)."""
    category = category if category in CATEGORIES else ""
    try:
        page = selectors.timeline_page(
            organization=organization, category=category, cursor=cursor,
            **{kind: record})
    except InvalidCursor:
        page = selectors.timeline_page(organization=organization, category=category,
                                       **{kind: record})
    url_name = "crm:timeline_more" if kind == "account" else "crm:timeline_more_contact"
    return {
        "record": record, "kind": kind, "page": page, "category": category,
        "categories": selectors.category_choices(),
        "more_url": reverse(url_name, kwargs={"pk": record.pk}),
        "panel_id": f"timeline-{kind}-{record.pk}",
        "first_page": not cursor,
    }


def _more(request, *, kind, record):
    context = panel_context(organization=request.organization, record=record, kind=kind,
                            category=request.GET.get("category", "")[:20],
                            cursor=request.GET.get("cursor", "")[:512] or None)
    if not request.headers.get("HX-Request"):
        template = "crm/timeline/page.html"  # followed without JavaScript
    elif request.headers.get("HX-Target") == context["panel_id"]:
        template = "crm/timeline/_panel.html"  # a category chip: the chips change too
    else:
        template = "crm/timeline/_lines.html"  # "Older": the next lines
    return render(request, template, context)


@org_required(CRM_VIEW)
@require_GET
def account_timeline(request, pk):
    account = get_for_org_or_404(Account.objects.filter(archived_at__isnull=True),
                                 request.organization, pk=pk)
    return _more(request, kind="account", record=account)


@org_required(CRM_VIEW)
@require_GET
def contact_timeline(request, pk):
    contact = get_for_org_or_404(Contact.objects.filter(archived_at__isnull=True),
                                 request.organization, pk=pk)
    return _more(request, kind="contact", record=contact)
