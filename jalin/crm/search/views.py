"""Pages for search (header typeahead, full results, account picker lookups), saved views and
bulk actions on the account and contact lists. Thin: reads through `selectors` and
`saved_views.visible_views`, writes through `saved_views` and `bulk` services."""

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import JsonResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jalin.core.params import int_param
from jalin.tenancy.access import get_for_org_or_404
from jalin.tenancy.decorators import org_required
from jalin.tenancy.roles import CRM_EDIT, CRM_VIEW, has_perm

from ..models import SavedView
from ..services import CrmError
from . import bulk, saved_views, selectors
from .index import ACCOUNT, ACTIVITY, CONTACT, DOCUMENT, KINDS

KIND_LABELS = {
    ACCOUNT: gettext_lazy("Accounts"),
    CONTACT: gettext_lazy("Contacts"),
    ACTIVITY: gettext_lazy("Activities"),
    DOCUMENT: gettext_lazy("Documents"),
}
SUGGEST_LIMIT = 10
GROUP_PREVIEW = 5


def _groups(hits):
    by_kind = {}
    for hit in hits:
        by_kind.setdefault(hit.kind, []).append(hit)
    return [{"kind": kind, "label": KIND_LABELS[kind], "hits": by_kind[kind]}
            for kind in KINDS if kind in by_kind]


@org_required(CRM_VIEW)
@require_GET
def search_suggest(request):
    """The typeahead's listbox (an htmx partial): one search query however many hits."""
    query = request.GET.get("q", "")
    hits = selectors.search(organization=request.organization, query=query,
                            limit=SUGGEST_LIMIT)
    return render(request, "crm/search/_suggest.html", {
        "groups": _groups(hits), "query": selectors.clean_query(query), "has_hits": bool(hits),
        "too_short": not selectors.clean_query(query),
    })


@org_required(CRM_VIEW)
@require_GET
def search(request):
    """Full results: the first hits of every kind, or one kind paged."""
    query = selectors.clean_query(request.GET.get("q", ""))
    kind = request.GET.get("kind", "")
    kind = kind if kind in KINDS else ""
    page_number = int_param(request.GET.get("page"), positive=True) or 1
    page_number = page_number if page_number < 1000 else 1
    context = {"query": query, "kind": kind, "kinds": [(k, KIND_LABELS[k]) for k in KINDS],
               "groups": [], "hits": [], "has_next": False, "page_number": page_number}
    if query and kind:
        hits, has_next = selectors.search_page(organization=request.organization,
                                               query=query, kind=kind, page=page_number)
        context.update(hits=hits, has_next=has_next,
                       next_url="?" + urlencode({"q": query, "kind": kind,
                                                 "page": page_number + 1}),
                       previous_url="?" + urlencode({"q": query, "kind": kind,
                                                     "page": page_number - 1}))
    elif query:
        groups = []
        for one_kind in KINDS:
            hits = selectors.search(organization=request.organization, query=query,
                                    kinds=[one_kind], limit=GROUP_PREVIEW + 1)
            if hits:
                groups.append({"kind": one_kind, "label": KIND_LABELS[one_kind],
                               "hits": hits[:GROUP_PREVIEW],
                               "more": len(hits) > GROUP_PREVIEW,
                               "more_url": "?" + urlencode({"q": query, "kind": one_kind})})
        context["groups"] = groups
    return render(request, "crm/search/results.html", context)


@org_required(CRM_VIEW)
@require_GET
def account_lookup(request):
    """Accounts for the account picker: JSON [{id, name, subtitle}] (or the HTML options
    with ?format=html). The form re-checks whatever id comes back."""
    hits = selectors.search(organization=request.organization, query=request.GET.get("q", ""),
                            kinds=[ACCOUNT], limit=SUGGEST_LIMIT)
    exclude = request.GET.get("exclude", "")
    hits = [hit for hit in hits if str(hit.id) != exclude]
    if request.GET.get("format") == "html":
        return render(request, "crm/search/_account_options.html", {"hits": hits})
    return JsonResponse({"results": [{"id": hit.id, "name": hit.title,
                                      "subtitle": hit.subtitle} for hit in hits]})


# --- Saved views -------------------------------------------------------------------------

LIST_URLS = {"account": "crm:account_list", "contact": "crm:contact_list"}
NOT_SAVED = ("after", "before", "csrfmiddlewaretoken", "name", "shared", "target")


def view_url(view):
    return reverse(LIST_URLS[view.target]) + ("?" + urlencode(view.query) if view.query else "")


def list_tools(request, target):
    """Context for the saved-view menu and bulk bar on a list page (one query)."""
    views = list(saved_views.visible_views(organization=request.organization,
                                           user=request.user, target=target))
    for view in views:
        view.url = view_url(view)
    current = {key: value for key, value in request.GET.items()
               if key not in NOT_SAVED and value}
    return {"saved_views": views, "current_query": urlencode(current),
            "list_target": target, "bulk_max": bulk.MAX_IDS}


@org_required(CRM_VIEW)
@require_http_methods(["GET", "POST"])
def saved_view_create(request):
    data = request.POST if request.method == "POST" else request.GET
    target = data.get("target", "")
    if target not in LIST_URLS:
        target = "account"
    query = {key: value for key, value in data.items() if key not in NOT_SAVED and value}
    if request.method == "POST":
        if data.get("query_string") is not None:
            query = {key: value for key, value in QueryDict(data["query_string"]).items()
                     if key not in NOT_SAVED and value}
        shared = bool(data.get("shared"))
        if shared and not has_perm(request.membership, CRM_EDIT):
            messages.error(request, _("Your role cannot share views with the team."))
            return render(request, "crm/search/saved_view_form.html",
                          {"target": target, "query_string": urlencode(query),
                           "name": data.get("name", "")}, status=403)
        try:
            view = saved_views.saved_view_create(
                organization=request.organization, actor=request.user, target=target,
                name=data.get("name", ""), query=query, shared=shared)
        except CrmError as error:
            return render(request, "crm/search/saved_view_form.html",
                          {"target": target, "query_string": urlencode(query),
                           "name": data.get("name", ""), "error": error.message}, status=400)
        messages.success(request, _("View %s saved.") % view.name)
        return redirect(view_url(view))
    return render(request, "crm/search/saved_view_form.html",
                  {"target": target, "query_string": urlencode(query), "name": ""})


@org_required(CRM_VIEW)
@require_POST
def saved_view_delete(request, pk):
    view = get_for_org_or_404(SavedView.objects.filter(owner=request.user),
                              request.organization, pk=pk)
    target = view.target
    saved_views.saved_view_delete(view=view, actor=request.user)
    messages.success(request, _("View %s deleted.") % view.name)
    return redirect(LIST_URLS[target])


# --- Bulk actions ------------------------------------------------------------------------


def _back(request, target):
    next_url = request.POST.get("next", "")
    if next_url and url_has_allowed_host_and_scheme(next_url, allowed_hosts=None) \
            and next_url.startswith(reverse(LIST_URLS[target])):
        return redirect(next_url)
    return redirect(LIST_URLS[target])


def _bulk(request, target):
    ids = request.POST.getlist("ids")
    action = request.POST.get("action", "")
    kwargs = {}
    if action == "assign_owner":
        kwargs["owner"] = request.POST.get("owner") or None
    elif action in ("add_tag", "remove_tag") and target == "account":
        tag = request.POST.get("tag", "").strip()
        if tag:
            kwargs["add_tags" if action == "add_tag" else "remove_tags"] = [tag]
    try:
        if target == "account":
            count = bulk.accounts_bulk_update(organization=request.organization,
                                              actor=request.user, ids=ids, **kwargs)
        else:
            count = bulk.contacts_bulk_update(organization=request.organization,
                                              actor=request.user, ids=ids, **kwargs)
    except CrmError as error:
        messages.error(request, error.message)
        return _back(request, target)
    except ValidationError as error:  # a tag name too long
        messages.error(request, " ".join(error.messages))
        return _back(request, target)
    messages.success(request, _("%(count)d records changed.") % {"count": count})
    return _back(request, target)


@org_required(CRM_EDIT)
@require_POST
def account_bulk(request):
    return _bulk(request, "account")


@org_required(CRM_EDIT)
@require_POST
def contact_bulk(request):
    return _bulk(request, "contact")
