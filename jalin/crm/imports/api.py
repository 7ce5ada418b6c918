"""/api/v1/crm/ endpoints for imports, vCards, duplicates and merging.

Uploading is multipart (`file`, `target`, `format`); the check and the run are queued tasks
(202) whose progress is read back with GET. Merges take both records' `version` (409 when
either changed), refuse another organization's ids (422 naming `keep_id` / `merge_id`) and a
record merged into itself (422).
"""

from datetime import datetime
from typing import Any, Literal

from django.conf import settings
from django.http import HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile

from jalin.api.auth import require
from jalin.api.errors import ProblemError
from jalin.api.idempotency import idempotent
from jalin.api.pagination import Page, PageParams, paginate
from jalin.api.schemas import MAX_INT, Input
from jalin.tenancy.access import for_org, get_for_org_or_404
from jalin.tenancy.roles import CRM_EDIT, CRM_VIEW

from .. import selectors
from ..api import AccountOut, ContactOut
from ..models import Account, Contact, ImportJob
from . import duplicates, merge, services, vcard

router = Router(tags=["crm"])

BigId = Field(ge=1, le=2**63 - 1)
ERRORS_SHOWN = 100


class ImportOut(Schema):
    id: int
    target: str
    format: str
    original_name: str
    status: str
    total_rows: int
    processed_rows: int
    created_count: int
    updated_count: int
    error_count: int
    mapping: dict[str, str] = Field(description="CSV column -> field ('' = not imported)")
    headers: list[str]
    options: dict[str, Any]
    result: dict[str, Any] = Field(description="created / updated / skipped / invalid")
    created_at: datetime
    finished_at: datetime | None

    @staticmethod
    def resolve_mapping(obj):
        return obj.mapping.get("columns", {})

    @staticmethod
    def resolve_headers(obj):
        return obj.mapping.get("headers", [])

    @staticmethod
    def resolve_options(obj):
        return obj.mapping.get("options", {})

    @staticmethod
    def resolve_result(obj):
        return obj.mapping.get("result", {})


class ImportErrorOut(Schema):
    row: int
    column: str
    field: str
    message: str


class ImportDetailOut(ImportOut):
    errors: list[ImportErrorOut] = Field(description=f"the first {ERRORS_SHOWN} errors")

    @staticmethod
    def resolve_errors(obj):
        return obj.errors[:ERRORS_SHOWN]


class ImportPatchIn(Input):
    mapping: dict[str, str] | None = Field(None, description="CSV column -> field")
    on_existing: Literal["update", "skip"] | None = None
    valid_only: bool | None = None


class RunIn(Input):
    valid_only: bool = Field(False, description="write the valid rows, report the others")


def _job(organization, import_id):
    return get_for_org_or_404(ImportJob, organization, pk=import_id)


@router.post("/crm/imports", response={201: ImportOut})
def import_post(request, file: File[UploadedFile], target: Form[Literal["contact", "account"]],
                format: Form[Literal["csv", "vcard"]] = "csv"):
    """Upload a CSV or vCard file (multipart). The CSV columns are matched to fields."""
    membership = require(request, CRM_EDIT)
    if file.size > settings.JALIN_IMPORT_MAX_BYTES:
        raise ProblemError(413, code="payload_too_large",
                           detail=_("The file is larger than %(limit)d bytes.")
                           % {"limit": settings.JALIN_IMPORT_MAX_BYTES})
    job = services.import_create(organization=membership.organization, actor=request.user,
                                 target=target, format=format, uploaded=file)
    return Status(201, job)


@router.get("/crm/imports", response=Page[ImportOut])
def import_list(request, params: Query[PageParams]):
    membership = require(request, CRM_EDIT)
    return paginate(for_org(ImportJob, membership.organization), cursor=params.cursor,
                    limit=params.limit, order=("-created_at", "-id"))


@router.get("/crm/imports/{import_id}", response=ImportDetailOut)
def import_detail(request, import_id: int):
    membership = require(request, CRM_EDIT)
    return _job(membership.organization, import_id)


@router.patch("/crm/imports/{import_id}", response=ImportDetailOut)
@idempotent
def import_patch(request, import_id: int, payload: ImportPatchIn):
    """Change the mapping or options; the check must then run again."""
    membership = require(request, CRM_EDIT)
    job = _job(membership.organization, import_id)
    return services.import_configure(job=job, actor=request.user, columns=payload.mapping,
                                     on_existing=payload.on_existing,
                                     valid_only=payload.valid_only)


@router.post("/crm/imports/{import_id}/dry-run", response={202: ImportDetailOut})
@idempotent
def import_dry_run(request, import_id: int):
    """Queue the check of every row; nothing is written. Poll GET for the outcome."""
    membership = require(request, CRM_EDIT)
    job = services.import_check(job=_job(membership.organization, import_id),
                                actor=request.user)
    return Status(202, job)


@router.post("/crm/imports/{import_id}/run", response={202: ImportDetailOut})
@idempotent
def import_run(request, import_id: int, payload: RunIn | None = None):
    """Queue the import. With any invalid row nothing is written, unless `valid_only`."""
    membership = require(request, CRM_EDIT)
    job = services.import_start(job=_job(membership.organization, import_id),
                                actor=request.user,
                                valid_only=payload.valid_only if payload else False)
    return Status(202, job)


# --- vCard ----------------------------------------------------------------------------------


@router.get("/crm/contacts/{contact_id}/vcard", response={200: str},
            openapi_extra={"responses": {200: {"content": {"text/vcard": {}}}}})
def contact_vcard(request, contact_id: int,
                  version: Literal["3", "3.0", "4", "4.0"] = "3.0"):
    """The contact as a vCard (3.0, or 4.0 with ?version=4)."""
    membership = require(request, CRM_VIEW)
    contact = selectors.contact_detail(organization=membership.organization, pk=contact_id)
    response = HttpResponse(vcard.contact_card(contact, version=vcard.version_from(version)),
                            content_type="text/vcard; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{vcard.vcard_filename(contact)}"'
    return response


# --- Duplicates -----------------------------------------------------------------------------


class DuplicateGroupOut(Schema):
    kind: str
    key: str
    ids: list[int]


class DuplicatePageOut(Schema):
    groups: list[DuplicateGroupOut]
    next_after: str | None = Field(description="pass as ?after= for the next page")


class DuplicateParams(Schema):
    kind: Literal["email", "phone", "name"] = "email"
    after: str | None = Field(None, max_length=300)


class AccountDuplicateParams(Schema):
    kind: Literal["name", "tax_id"] = "name"
    after: str | None = Field(None, max_length=300)


def _groups(page):
    return {"groups": [{"kind": group.kind, "key": group.key,
                        "ids": [member.pk for member in group.members]}
                       for group in page.groups],
            "next_after": page.next_after}


@router.get("/crm/duplicates/contacts", response=DuplicatePageOut)
def contact_duplicates(request, params: Query[DuplicateParams]):
    """Groups of contacts with the same email, phone, or name at the same account."""
    membership = require(request, CRM_VIEW)
    return _groups(duplicates.contact_duplicates(organization=membership.organization,
                                                 kind=params.kind, after=params.after))


@router.get("/crm/duplicates/accounts", response=DuplicatePageOut)
def account_duplicates(request, params: Query[AccountDuplicateParams]):
    """Groups of accounts with the same name or tax id."""
    membership = require(request, CRM_VIEW)
    return _groups(duplicates.account_duplicates(organization=membership.organization,
                                                 kind=params.kind, after=params.after))


# --- Merging --------------------------------------------------------------------------------


class MergeIn(Input):
    keep_id: int = BigId
    merge_id: int = BigId
    version_keep: int = Field(ge=1, le=MAX_INT)
    version_merge: int = Field(ge=1, le=MAX_INT)
    field_choices: dict[str, Literal["keep", "merge"]] = Field(
        default_factory=dict, description='field -> "keep" or "merge" (custom.<key> too)')


def _merge(request, payload, service):
    membership = require(request, CRM_EDIT)
    try:
        return service(organization=membership.organization, actor=request.user,
                       keep=payload.keep_id, merge=payload.merge_id,
                       field_choices=payload.field_choices,
                       version_keep=payload.version_keep,
                       version_merge=payload.version_merge)
    except merge.CrmError as error:
        if error.field in ("keep", "merge"):
            error.field = f"{error.field}_id"
        raise


@router.post("/crm/contacts/merge", response=ContactOut)
@idempotent
def contacts_merge(request, payload: MergeIn):
    """Merge contact `merge_id` into `keep_id`; answers the kept contact."""
    kept = _merge(request, payload, merge.contacts_merge)
    return Contact.objects.get(pk=kept.pk)


@router.post("/crm/accounts/merge", response=AccountOut)
@idempotent
def accounts_merge(request, payload: MergeIn):
    """Merge account `merge_id` into `keep_id`; answers the kept account."""
    kept = _merge(request, payload, merge.accounts_merge)
    return Account.objects.prefetch_related("tags").get(pk=kept.pk)
