"""Thread pages: posting, replying, editing and deleting from the panel (htmx re-renders the
panel; without JavaScript the forms post and redirect back to the record), the "older posts"
fragment, a post's revision history and the @mention helper's member list.

Thin views: reads through `selectors` (404 for foreign ids), writes through `services`.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from jalin.api.pagination import InvalidCursor
from jalin.core.params import int_param
from jalin.tenancy.access import get_for_org_or_404
from jalin.tenancy.decorators import org_required
from jalin.tenancy.roles import CRM_EDIT, CRM_VIEW, ORG_MANAGE, has_perm

from ..models import Account, Activity, Contact
from . import selectors, services

RECORD_QUERYSETS = {
    "account": lambda: Account.objects.filter(archived_at__isnull=True),
    "contact": lambda: Contact.objects.filter(archived_at__isnull=True),
    "activity": lambda: Activity.objects.all(),
}


def panel_context(request, record, *, error="", body="", cursor=None):
    """What the panel needs (a fixed number of queries), or None for a record that has no
    thread or a request outside an organization."""
    organization = getattr(request, "organization", None)
    kind = services.record_kind(record)
    if organization is None or kind is None or record.organization_id != organization.pk:
        return None
    try:
        page = selectors.thread_page(organization=organization, record=record, cursor=cursor)
    except InvalidCursor:
        page = selectors.thread_page(organization=organization, record=record)
    membership = getattr(request, "membership", None)
    return {
        "record": record, "kind": kind, "page": page, "error": error, "body": body,
        "can_edit": has_perm(membership, CRM_EDIT),
        "is_admin": has_perm(membership, ORG_MANAGE),
        "user_id": request.user.pk,
        "post_url": reverse("crm:comment_post"),
        "more_url": reverse(f"crm:thread_{kind}", kwargs={"pk": record.pk}),
        "record_url": services.record_url(record),
        "first_page": not cursor,
    }


def _record_from_post(request):
    for kind, queryset in RECORD_QUERYSETS.items():
        record_id = int_param(request.POST.get(kind), positive=True)
        if record_id is not None:
            return get_for_org_or_404(queryset(), request.organization, pk=record_id)
    raise Http404


def _answer(request, record, *, status=200, error="", body="", anchor=""):
    """htmx: the re-rendered panel; otherwise back to the record's page."""
    if request.headers.get("HX-Request"):
        # The page already has the panel's stylesheet and script: swap the section only.
        return render(request, "crm/threads/_panel.html",
                      {**panel_context(request, record, error=error, body=body),
                       "fragment": True}, status=status)
    if error:
        messages.error(request, error)
    return redirect(services.record_url(record) + (f"#{anchor}" if anchor else
                                                   "#threads-panel"))


def _message(error):
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return error.message


@org_required(CRM_EDIT)
@require_POST
def comment_post(request):
    record = _record_from_post(request)
    body = request.POST.get("body", "")
    try:
        comment = services.comment_post(organization=request.organization, actor=request.user,
                                        record=record, body=body,
                                        parent=request.POST.get("parent") or None)
    except (services.CrmError, ValidationError) as error:
        return _answer(request, record, status=400, error=_message(error),
                       body="" if request.POST.get("parent") else body)
    return _answer(request, record, anchor=f"comment-{comment.pk}")


def _comment(request, pk):
    return get_for_org_or_404(selectors.comment_for_org(request.organization),
                              request.organization, pk=pk)


def _version(request):
    return int_param(request.POST.get("version"), positive=True) or 0


@org_required(CRM_EDIT)
@require_POST
def comment_edit(request, pk):
    comment = _comment(request, pk)
    record = services.comment_record(comment)
    try:
        services.comment_edit(comment=comment, actor=request.user,
                              body=request.POST.get("body", ""), version=_version(request))
    except services.StaleVersion as error:
        return _answer(request, record, status=409, error=error.message)
    except ValidationError as error:
        return _answer(request, record, status=400, error=_message(error))
    return _answer(request, record, anchor=f"comment-{comment.pk}")


@org_required(CRM_EDIT)
@require_POST
def comment_delete(request, pk):
    comment = _comment(request, pk)
    record = services.comment_record(comment)
    if not services.can_delete(comment, user=request.user, membership=request.membership):
        raise PermissionDenied
    try:
        services.comment_delete(comment=comment, actor=request.user,
                                version=_version(request))
    except services.StaleVersion as error:
        return _answer(request, record, status=409, error=error.message)
    return _answer(request, record, anchor=f"comment-{comment.pk}")


@org_required(CRM_VIEW)
@require_GET
def comment_history(request, pk):
    comment = _comment(request, pk)
    record = services.comment_record(comment)
    return render(request, "crm/threads/history.html", {
        "comment": comment, "record": record, "record_url": services.record_url(record),
        "revisions": list(selectors.revisions(comment)),
    })


def _more(request, kind, pk):
    record = get_for_org_or_404(RECORD_QUERYSETS[kind](), request.organization, pk=pk)
    context = panel_context(request, record, cursor=request.GET.get("cursor", "")[:512] or None)
    template = ("crm/threads/_posts.html" if request.headers.get("HX-Request")
                else "crm/threads/page.html")
    return render(request, template, context)


@org_required(CRM_VIEW)
@require_GET
def thread_account(request, pk):
    return _more(request, "account", pk)


@org_required(CRM_VIEW)
@require_GET
def thread_contact(request, pk):
    return _more(request, "contact", pk)


@org_required(CRM_VIEW)
@require_GET
def thread_activity(request, pk):
    return _more(request, "activity", pk)


@org_required(CRM_VIEW)
@require_GET
def mention_suggestions(request):
    """A short list of the organization's active members for the @mention helper."""
    members = selectors.member_suggestions(organization=request.organization,
                                           q=request.GET.get("q", ""))
    return render(request, "crm/threads/_suggestions.html", {"members": members})
