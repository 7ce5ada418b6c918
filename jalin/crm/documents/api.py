"""/api/v1/crm/ endpoints for documents: the filing cabinet of accounts, contacts and
activities.

The same services and selectors as the pages. Uploads are multipart (`file` plus exactly one
of `account_id`, `contact_id`, `activity_id`). Foreign or missing ids in the path are 404;
foreign records in a form or query are 422 naming the field; an empty file or a program is
422 (`empty`, `executable`); a file over `JALIN_DOCUMENT_MAX_BYTES` is 413 and is stopped
before it is written to disk. PATCH, DELETE and new versions take the document's `version`
and answer 409 `stale` if it changed since it was read. Downloads are attachments with
`X-Content-Type-Options: nosniff` and a sandboxing Content-Security-Policy.
"""

from datetime import datetime

from django.http import Http404
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile

from jalin.api.auth import BearerTokenAuth, SessionMembershipAuth, require
from jalin.api.errors import ProblemError
from jalin.api.idempotency import idempotent
from jalin.api.pagination import Page, PageParams, paginate
from jalin.api.schemas import MAX_INT, Input
from jalin.core.params import int_param
from jalin.tenancy.access import for_org, get_for_org_or_404
from jalin.tenancy.roles import CRM_EDIT, CRM_VIEW

from ..models import Document, DocumentVersion
from ..records import record_named_by_ids
from . import selectors, services, uploads
from .views import download_response

router = Router(tags=["crm"])

BigId = Field(None, ge=1, le=2**63 - 1)
ORDER = ("-created_at", "-id")


class UploadAuth:
    """Authenticates like the API (token, then session with CSRF), but first puts the size
    limit in front of the upload handlers; then, before ninja reads the form, answers 404
    for a document of another organization (its body is never parsed) and 413 for an
    oversized body."""

    def __init__(self):
        self.inner = [BearerTokenAuth(), SessionMembershipAuth()]

    def __call__(self, request):
        uploads.install(request)
        for auth in self.inner:
            result = auth(request)
            if result:
                break
        else:
            return None
        match = getattr(request, "resolver_match", None)
        document_id = match.kwargs.get("document_id") if match else None
        if document_id is not None:
            membership = getattr(request, "membership", None)
            organization = membership.organization if membership else None
            document_id = int_param(document_id, positive=True)
            if not document_id or not for_org(Document, organization).filter(
                    pk=document_id).exists():
                raise Http404
        if uploads.too_large(request):  # parses the body now, through the size limit
            raise _too_large()
        return result


UPLOAD_AUTH = [UploadAuth(), BearerTokenAuth(), SessionMembershipAuth()]


def _too_large():
    return ProblemError(413, code="payload_too_large", title=_("File too large"),
                        detail=services.too_large_message(),
                        errors=[{"field": "file", "loc": ["form", "file"],
                                 "message": services.too_large_message(),
                                 "code": "too_large"}])


class VersionOut(Schema):
    id: int
    number: int
    file_name: str = Field(description="The name the file was uploaded with")
    size: int = Field(description="Bytes")
    content_type: str = Field(description="Detected from the content, not the client's claim")
    sha256: str
    uploaded_by_id: int | None
    uploaded_at: datetime
    download_url: str

    @staticmethod
    def resolve_file_name(obj):
        return obj.original_name

    @staticmethod
    def resolve_download_url(obj):
        return reverse("api:document_version_download",
                       kwargs={"document_id": obj.document_id, "number": obj.number})


class DocumentOut(Schema):
    id: int
    title: str
    description: str
    account_id: int | None
    contact_id: int | None
    activity_id: int | None
    current: VersionOut | None = Field(description="The newest version")
    created_by_id: int | None
    created_at: datetime
    updated_at: datetime
    version: int = Field(description="Send back in PATCH/DELETE and with a new version; "
                                     "a stale version gets 409")
    download_url: str

    @staticmethod
    def resolve_download_url(obj):
        return reverse("api:document_download", kwargs={"document_id": obj.pk})


class DocumentFilters(PageParams):
    account_id: int | None = BigId
    contact_id: int | None = BigId
    activity_id: int | None = BigId


class DocumentUploadIn(Schema):
    account_id: int | None = BigId
    contact_id: int | None = BigId
    activity_id: int | None = BigId
    title: str = Field("", max_length=services.MAX_TITLE,
                       description="Defaults to the file name")
    description: str = Field("", max_length=services.MAX_DESCRIPTION)


class VersionUploadIn(Schema):
    version: int = Field(ge=1, le=MAX_INT, description="The document's current version")


class DocumentPatchIn(Input):
    version: int = Field(ge=1, le=MAX_INT)
    title: str | None = Field(None, min_length=1, max_length=services.MAX_TITLE)
    description: str | None = Field(None, max_length=services.MAX_DESCRIPTION)


class DeleteParams(Schema):
    version: int | None = Field(None, ge=1, le=MAX_INT,
                                description="Refuse with 409 if the document changed since")


def _document(organization, document_id):
    return get_for_org_or_404(selectors.document_for_org(organization), organization,
                              pk=document_id)


def _call(function, **kwargs):
    try:
        return function(**kwargs)
    except services.FileTooLarge:
        raise _too_large() from None


@router.get("/crm/documents", response=Page[DocumentOut])
def document_list(request, filters: Query[DocumentFilters]):
    """Documents of the organization, newest first; `account_id`, `contact_id` or
    `activity_id` narrows it to one record's documents."""
    membership = require(request, CRM_VIEW)
    organization = membership.organization
    record = record_named_by_ids(organization=organization, data=filters.model_dump(),
                                 required=False)
    queryset = selectors.documents_for_org(organization)
    if record is not None:
        queryset = queryset.filter(**{services.record_kind(record): record})
    return paginate(queryset, cursor=filters.cursor, limit=filters.limit, order=ORDER)


@router.post("/crm/documents", response={201: DocumentOut}, auth=UPLOAD_AUTH)
def document_upload(request, file: File[UploadedFile], form: Form[DocumentUploadIn]):
    """Upload a file (multipart) under one account, contact or activity. The title defaults
    to the file name; the type is detected from the content."""
    membership = require(request, CRM_EDIT)
    organization = membership.organization
    record = record_named_by_ids(organization=organization, data=form.model_dump())
    document = _call(services.document_upload, organization=organization,
                     actor=request.user, record=record, file=file, title=form.title,
                     description=form.description)
    return Status(201, _document(organization, document.pk))


@router.get("/crm/documents/{document_id}", response=DocumentOut)
def document_detail(request, document_id: int):
    membership = require(request, CRM_VIEW)
    return _document(membership.organization, document_id)


@router.patch("/crm/documents/{document_id}", response=DocumentOut)
@idempotent
def document_patch(request, document_id: int, payload: DocumentPatchIn):
    """Change the title and/or description."""
    membership = require(request, CRM_EDIT)
    document = _document(membership.organization, document_id)
    services.document_update(document=document, actor=request.user, version=payload.version,
                             title=payload.title, description=payload.description)
    return _document(membership.organization, document_id)


@router.delete("/crm/documents/{document_id}", response={204: None})
@idempotent
def document_delete(request, document_id: int, params: Query[DeleteParams]):
    """Delete the document with every version; the files are removed from storage."""
    membership = require(request, CRM_EDIT)
    document = _document(membership.organization, document_id)
    services.document_delete(document=document, actor=request.user, version=params.version)
    return Status(204, None)


@router.get("/crm/documents/{document_id}/versions", response=Page[VersionOut])
def document_versions(request, document_id: int, params: Query[PageParams]):
    """Every version, newest first."""
    membership = require(request, CRM_VIEW)
    document = _document(membership.organization, document_id)
    return paginate(DocumentVersion.objects.filter(document=document), cursor=params.cursor,
                    limit=params.limit, order=("-number", "-id"))


@router.post("/crm/documents/{document_id}/versions", response={201: DocumentOut},
             auth=UPLOAD_AUTH)
def document_add_version(request, document_id: int, file: File[UploadedFile],
                         form: Form[VersionUploadIn]):
    """Upload a new version (multipart `file` and the document's `version`); it becomes the
    current file, earlier versions stay downloadable."""
    membership = require(request, CRM_EDIT)
    document = _document(membership.organization, document_id)
    _call(services.document_add_version, document=document, actor=request.user, file=file,
          version=form.version)
    return Status(201, _document(membership.organization, document_id))


BINARY = {"responses": {200: {
    "description": "The file's bytes, as an attachment",
    "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
}}}


@router.get("/crm/documents/{document_id}/download", url_name="document_download",
            openapi_extra=BINARY)
def document_download(request, document_id: int):
    """The current version's bytes (an attachment; active content such as HTML or SVG is sent
    as application/octet-stream)."""
    membership = require(request, CRM_VIEW)
    document = _document(membership.organization, document_id)
    if document.current is None:
        raise ProblemError(404, code="not_found", detail=_("Not found."))
    return download_response(document.current)


@router.get("/crm/documents/{document_id}/versions/{number}/download",
            url_name="document_version_download", openapi_extra=BINARY)
def document_version_download(request, document_id: int, number: int):
    """The bytes of one version (an attachment, like the current one)."""
    membership = require(request, CRM_VIEW)
    document = _document(membership.organization, document_id)
    version = DocumentVersion.objects.filter(document=document, number=number).first()
    if version is None:
        raise ProblemError(404, code="not_found", detail=_("Not found."))
    return download_response(version)
