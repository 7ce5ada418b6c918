"""Filing cabinet pages: uploading from the panel of an account, contact or activity (htmx
re-renders the panel; without JavaScript the form posts and redirects back to the record), new
versions, deleting, the document page with its version history and the list of all
documents; and the downloads.

Thin views: reads through `selectors` (404 for foreign ids), writes through `services`.
Uploads go through `uploads.upload_view`, which stops an oversized body before it is written
to disk (413).

Downloads are always attachments, with `X-Content-Type-Options: nosniff` and a sandboxing
Content-Security-Policy; anything a browser could render as active content (HTML, SVG, XML,
scripts, ...) is sent as application/octet-stream.
"""

import contextlib

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from jalin.core.pagination import keyset_paginate
from jalin.core.params import int_param
from jalin.tenancy.access import get_for_org_or_404
from jalin.tenancy.decorators import org_required
from jalin.tenancy.roles import CRM_EDIT, CRM_VIEW, has_perm

from ..models import Account, Activity, Contact, DocumentVersion
from . import selectors, services, uploads

PER_PAGE = 50
RECORD_QUERYSETS = {
    "account": lambda: Account.objects.filter(archived_at__isnull=True),
    "contact": lambda: Contact.objects.filter(archived_at__isnull=True),
    "activity": lambda: Activity.objects.all(),
}
DOWNLOAD_CSP = "sandbox; default-src 'none'"


def record_url(record):
    kind = services.record_kind(record)
    try:
        return reverse(f"crm:{kind}_detail", kwargs={"pk": record.pk})
    except NoReverseMatch:
        return ""


def panel_context(request, record, *, error="", error_field=""):
    """What the panel needs (one query for the documents), or None for a record that has no
    documents or a request outside an organization."""
    organization = getattr(request, "organization", None)
    kind = services.record_kind(record)
    if organization is None or kind is None or record.organization_id != organization.pk:
        return None
    documents = selectors.record_documents(organization=organization, kind=kind,
                                           record=record,
                                           limit=selectors.PANEL_LIMIT + 1)
    return {
        "record": record, "kind": kind, "documents": documents[:selectors.PANEL_LIMIT],
        "has_more": len(documents) > selectors.PANEL_LIMIT,
        "list_url": reverse("crm:document_list") + f"?{kind}={record.pk}",
        "error": error, "error_field": error_field,
        "can_edit": has_perm(getattr(request, "membership", None), CRM_EDIT),
        "upload_url": reverse("crm:document_upload"),
        "record_url": record_url(record),
        "max_bytes": services.max_bytes(), "too_large": services.too_large_message(),
    }


def _record_from_post(request):
    for kind, queryset in RECORD_QUERYSETS.items():
        record_id = int_param(request.POST.get(kind), positive=True)
        if record_id is not None:
            return get_for_org_or_404(queryset(), request.organization, pk=record_id)
    raise Http404


def _error_status(error):
    if isinstance(error, services.FileTooLarge):
        return 413
    if isinstance(error, services.StaleVersion):
        return 409
    if isinstance(error, services.DocumentProblem):
        return 422
    return 400


def _message(error):
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return error.message


def _answer(request, record, *, status=200, error="", anchor="documents-panel",
            error_field=""):
    """htmx: the re-rendered panel; otherwise back to the record's page."""
    if request.headers.get("HX-Request"):
        return render(request, "crm/documents/_panel.html",
                      {**panel_context(request, record, error=error, error_field=error_field),
                       "fragment": True}, status=status)
    if error and status == 413:
        # Without JavaScript the browser shows the answer itself: make it a page.
        return render(request, "crm/documents/refused.html", {
            "error": error, "record": record, "record_url": record_url(record)},
            status=status)
    if error:
        messages.error(request, error)
    return redirect(record_url(record) + f"#{anchor}")


@uploads.upload_view
@org_required(CRM_EDIT)
@require_POST
def document_upload(request):
    if uploads.too_large(request):
        record = None
        with contextlib.suppress(Http404):
            record = _record_from_post(request)
        if record is None:
            return render(request, "crm/documents/refused.html",
                          {"error": services.too_large_message()}, status=413)
        return _answer(request, record, status=413, error=services.too_large_message(),
                       error_field="file")
    record = _record_from_post(request)
    try:
        document = services.document_upload(
            organization=request.organization, actor=request.user, record=record,
            file=request.FILES.get("file"), title=request.POST.get("title", ""),
            description=request.POST.get("description", ""))
    except (services.CrmError, services.StaleVersion) as error:
        return _answer(request, record, status=_error_status(error), error=error.message,
                       error_field=error.field or "")
    if not request.headers.get("HX-Request"):
        messages.success(request, _("Document “%(title)s” filed.") % {"title": document.title})
    return _answer(request, record, anchor=f"document-{document.pk}")


def _document(request, pk):
    return get_for_org_or_404(selectors.document_for_org(request.organization),
                              request.organization, pk=pk)


def _version(request):
    return int_param(request.POST.get("version"), positive=True) or 0


def _back(request, document):
    """Where a form on the panel or the document page returns to."""
    if request.POST.get("next") == "detail":
        return reverse("crm:document_detail", kwargs={"pk": document.pk})
    return None


@uploads.upload_view
@org_required(CRM_EDIT)
@require_POST
def document_add_version(request, pk):
    document = _document(request, pk)
    record = services.document_record(document)
    back = _back(request, document)
    error, status = "", 200
    if uploads.too_large(request):
        error, status = services.too_large_message(), 413
    else:
        try:
            services.document_add_version(document=document, actor=request.user,
                                          file=request.FILES.get("file"),
                                          version=_version(request))
        except (services.CrmError, services.StaleVersion) as exc:
            error, status = exc.message, _error_status(exc)
    if back and not request.headers.get("HX-Request"):
        if error:
            if status == 413:
                return render(request, "crm/documents/refused.html", {
                    "error": error, "record": record, "record_url": back}, status=413)
            messages.error(request, error)
        else:
            messages.success(request, _("New version filed."))
        return redirect(back)
    return _answer(request, record, status=status, error=error,
                   anchor=f"document-{document.pk}")


@org_required(CRM_EDIT)
@require_POST
def document_delete(request, pk):
    document = _document(request, pk)
    record = services.document_record(document)
    try:
        services.document_delete(document=document, actor=request.user,
                                 version=_version(request))
    except (services.CrmError, services.StaleVersion) as error:
        if _back(request, document) and not request.headers.get("HX-Request"):
            messages.error(request, error.message)
            return redirect(_back(request, document))
        return _answer(request, record, status=_error_status(error), error=error.message)
    if not request.headers.get("HX-Request"):
        messages.success(request, _("Document deleted."))
    return _answer(request, record)


@org_required(CRM_VIEW)
@require_GET
def document_detail(request, pk):
    document = _document(request, pk)
    return _detail(request, document)


def _detail(request, document, *, status=200, errors=None, data=None):
    record = services.document_record(document)
    return render(request, "crm/documents/detail.html", {
        "document": document, "record": record, "record_url": record_url(record),
        "kind": services.record_kind(record),
        "versions": list(selectors.versions(document)),
        "can_edit": has_perm(request.membership, CRM_EDIT),
        "errors": errors or {}, "data": data or {
            "title": document.title, "description": document.description},
        "max_bytes": services.max_bytes(),
    }, status=status)


@org_required(CRM_EDIT)
@require_POST
def document_edit(request, pk):
    document = _document(request, pk)
    data = {"title": request.POST.get("title", ""),
            "description": request.POST.get("description", "")}
    try:
        services.document_update(document=document, actor=request.user,
                                 version=_version(request), **data)
    except (services.CrmError, services.StaleVersion) as error:
        return _detail(request, document, status=_error_status(error),
                       errors={error.field or "title": error.message}, data=data)
    messages.success(request, _("Document saved."))
    return redirect("crm:document_detail", pk=document.pk)


def _filters(request):
    record_type = request.GET.get("record", "")
    record_type = record_type if record_type in selectors.RECORD_FIELDS else ""
    return {
        "record_type": record_type,
        "uploader": int_param(request.GET.get("uploader"), positive=True),
        "account": int_param(request.GET.get("account"), positive=True),
        "contact": int_param(request.GET.get("contact"), positive=True),
        "activity": int_param(request.GET.get("activity"), positive=True),
    }


@org_required(CRM_VIEW)
@require_GET
def document_list(request):
    filters = _filters(request)
    queryset = selectors.document_list(organization=request.organization, **filters)
    page = keyset_paginate(queryset, request.GET, per_page=PER_PAGE)
    uploaders = list(request.organization.memberships.filter(is_active=True)
                     .select_related("user").order_by("user__username")
                     .values_list("user_id", "user__username"))
    return render(request, "crm/documents/list.html", {
        "page": page, "filters": filters, "uploaders": uploaders,
        "record_types": [("account", _("Accounts")), ("contact", _("Contacts")),
                         ("activity", _("Activities"))],
        "is_filtered": any(filters.values()),
    })


# --- Downloads -----------------------------------------------------------------------------


def download_response(version):
    """Stream `version` as an attachment that no browser will render or sniff."""
    storage = DocumentVersion._meta.get_field("file").storage
    try:
        handle = storage.open(version.file.name, "rb")
    except (FileNotFoundError, OSError, ValueError):
        raise Http404 from None
    content_type = version.content_type or "application/octet-stream"
    if services.is_active_content(content_type):
        content_type = "application/octet-stream"
    response = FileResponse(handle, as_attachment=True, filename=version.original_name,
                            content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = DOWNLOAD_CSP
    response["Cache-Control"] = "private, no-store"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    return response


@org_required(CRM_VIEW)
@require_GET
def document_download(request, pk):
    document = _document(request, pk)
    if document.current is None:
        raise Http404
    return download_response(document.current)


@org_required(CRM_VIEW)
@require_GET
def document_version_download(request, pk, number):
    document = _document(request, pk)
    version = DocumentVersion.objects.filter(document=document, number=number).first()
    if version is None:
        raise Http404
    return download_response(version)
