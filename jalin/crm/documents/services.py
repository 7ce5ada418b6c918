"""Write paths for the filing cabinet: documents on an account, contact or activity.

Keyword-only services that own their transaction, write the audit log and emit
`crm.document.uploaded|version_added|deleted` (payload: `account_id`, `contact_id`,
`activity_id`, `document_id`, `number`, `file_name` and the document's `title`), and keep the
search index in step.

Files live in the `private` storage (settings `JALIN_PRIVATE_MEDIA_ROOT`, outside the web root)
under `<organization id>/<yyyy>/<mm>/<uuid4>`: the user's file name is kept only in the
database. The type is read from the content (puremagic); the extension only tells text
formats apart, and the client's Content-Type is never used. Empty files and programs
(PE, ELF, Mach-O) are refused; files over `settings.JALIN_DOCUMENT_MAX_BYTES` raise
`FileTooLarge` (413 on pages and the API). A file written for a write that then fails is
removed; files of a deleted document are removed once the deletion is committed.
"""

import contextlib
import hashlib
import os
import uuid

import puremagic
from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from jalin.core.audit import audit_record
from jalin.core.events import emit_event
from jalin.tenancy.services import StaleVersion

from ..models import Document, DocumentVersion
from ..records import check_record, record_kind
from ..search import index as search_index
from ..services import CrmError

__all__ = [
    "CrmError", "DocumentProblem", "FileTooLarge", "StaleVersion", "detect_content_type",
    "document_add_version", "document_delete", "document_update", "document_upload",
    "is_active_content", "max_bytes", "record_kind",
]

MAX_TITLE = 200
MAX_DESCRIPTION = 5000
MAX_FILE_NAME = 255
SNIFF_BYTES = 64 * 1024
TITLE_IN_EVENT = 120

# Text formats that carry no magic number: told apart by the extension, once the content
# has been seen to be text.
TEXT_TYPES = {
    ".txt": "text/plain", ".text": "text/plain", ".log": "text/plain", ".md": "text/markdown",
    ".csv": "text/csv", ".tsv": "text/tab-separated-values", ".json": "application/json",
    ".xml": "application/xml", ".html": "text/html", ".htm": "text/html",
    ".svg": "image/svg+xml", ".js": "text/javascript", ".mjs": "text/javascript",
    ".css": "text/css", ".ics": "text/calendar", ".vcf": "text/vcard", ".rtf": "application/rtf",
    ".yaml": "application/yaml", ".yml": "application/yaml",
}
# Types a browser shows as they are without running anything; all others are served as
# application/octet-stream (and every download is an attachment anyway).
INERT_TYPES = {
    "application/pdf", "text/plain", "text/csv", "text/tab-separated-values", "text/markdown",
    "text/calendar", "text/vcard", "application/json", "application/zip", "application/gzip",
    "application/x-7z-compressed", "application/vnd.rar", "application/x-rar-compressed",
    "application/msword", "application/rtf", "application/yaml",
}
INERT_PREFIXES = (
    "image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp", "image/tiff",
    "image/heic", "image/heif", "image/avif", "audio/", "video/",
    "application/vnd.openxmlformats-officedocument.", "application/vnd.oasis.opendocument.",
    "application/vnd.ms-",
)
EXECUTABLE_MAGIC = (
    b"MZ",  # PE (Windows .exe/.dll)
    b"\x7fELF",  # ELF (Linux, BSD)
    b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe",  # Mach-O
    b"\xca\xfe\xba\xbe", b"\xbe\xba\xfe\xca",  # Mach-O universal binary
)


class DocumentProblem(CrmError):
    """A file that cannot be filed (empty, a program, ...): 422 naming `file`."""

    def __init__(self, message, *, code="invalid_file", field="file"):
        super().__init__(message, code=code, field=field)


class FileTooLarge(DocumentProblem):
    """A file over `settings.JALIN_DOCUMENT_MAX_BYTES`: 413."""

    def __init__(self, message=None):
        super().__init__(message or too_large_message(), code="too_large")


def max_bytes():
    return settings.JALIN_DOCUMENT_MAX_BYTES


def too_large_message():
    limit = max_bytes()
    if limit >= 1024 * 1024:
        size = _("%(size)s MB") % {"size": f"{limit / (1024 * 1024):g}"}
    else:
        size = _("%(size)d bytes") % {"size": limit}
    return _("The file is too large: documents may be at most %(size)s.") % {"size": size}


def document_record(document):
    return document.account or document.contact or document.activity


# --- Reading the file ----------------------------------------------------------------------


def _looks_like_text(head):
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        # A multi-byte character cut at the end of the sniffed bytes is still text.
        if error.start < len(head) - 3:
            try:
                head.decode("cp1252")
            except UnicodeDecodeError:
                return False
    return True


def is_executable(head):
    return any(head.startswith(magic) for magic in EXECUTABLE_MAGIC)


def detect_content_type(head, file_name=""):
    """The media type of a file from its first bytes; the name only picks among the
    candidates the content allows, and tells text formats apart."""
    extension = os.path.splitext(file_name or "")[1].lower()
    try:
        matches = puremagic.magic_string(head, filename=file_name or None)
    except (puremagic.PureError, ValueError):
        matches = []
    matches = [match for match in matches if match.mime_type]
    if matches:
        best = max(match.confidence for match in matches)
        candidates = [match for match in matches if match.confidence == best]
        for match in candidates:
            if match.extension.lower() == extension:
                return match.mime_type
        return candidates[0].mime_type
    if _looks_like_text(head):
        return TEXT_TYPES.get(extension, "text/plain")
    return "application/octet-stream"


def is_active_content(content_type):
    """True for anything a browser could render or run (HTML, SVG, XML, scripts, ...)."""
    content_type = (content_type or "").split(";")[0].strip().lower()
    if content_type in INERT_TYPES:
        return False
    return not content_type.startswith(INERT_PREFIXES)


def _clean_file_name(name):
    name = os.path.basename((name or "").replace("\\", "/"))
    name = "".join(char for char in name if char.isprintable()).strip()
    if len(name) > MAX_FILE_NAME:
        stem, extension = os.path.splitext(name)
        name = stem[: MAX_FILE_NAME - len(extension[:20])] + extension[:20]
    return name or "document"


def _inspect(file):
    """(size, sha256, content_type, file_name) of an uploaded file, refusing what may not be
    filed. Reads the file once, in chunks."""
    if file is None:
        raise DocumentProblem(_("Choose a file."), code="required")
    size = getattr(file, "size", None)
    if size is not None and size > max_bytes():
        raise FileTooLarge()
    file_name = _clean_file_name(getattr(file, "name", ""))
    digest = hashlib.sha256()
    head = b""
    size = 0
    if hasattr(file, "seek"):
        file.seek(0)
    for chunk in file.chunks() if hasattr(file, "chunks") else iter(lambda: file.read(65536),
                                                                         b""):
        if len(head) < SNIFF_BYTES:
            head += chunk[: SNIFF_BYTES - len(head)]
        size += len(chunk)
        if size > max_bytes():
            raise FileTooLarge()
        digest.update(chunk)
    if hasattr(file, "seek"):
        file.seek(0)
    if size == 0:
        raise DocumentProblem(_("The file is empty."), code="empty")
    if is_executable(head):
        raise DocumentProblem(_("Programs cannot be filed as documents."), code="executable")
    return size, digest.hexdigest(), detect_content_type(head, file_name), file_name


def _storage():
    return DocumentVersion._meta.get_field("file").storage


def _store(organization, file):
    now = timezone.now()
    name = f"{organization.pk}/{now:%Y}/{now:%m}/{uuid.uuid4()}"
    stored = _storage().save(name, file)
    return stored


def _remove_files(names):
    storage = _storage()
    for name in names:
        if name:
            # Already gone, or the disk refuses: nothing more to undo.
            with contextlib.suppress(OSError):
                storage.delete(name)


# --- Checking input ------------------------------------------------------------------------


def _check_record(organization, record):
    return check_record(
        organization=organization, record=record,
        wrong_type_message=_("Documents are filed under an account, a contact or an activity."),
    )


def _clean_text(value, *, field, max_length, required=False, multiline=False):
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise CrmError(_("Send text."), code="invalid_type", field=field)
    value = value.replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n")
    value = value.strip() if multiline else " ".join(value.split())
    if required and not value:
        raise CrmError(_("Give the document a title."), code="required", field=field)
    if len(value) > max_length:
        raise CrmError(_("At most %(max)d characters.") % {"max": max_length},
                       code="too_long", field=field)
    return value


def _payload(document, version=None):
    record = document_record(document)
    if document.account_id:
        account_id, contact_id = document.account_id, None
    elif document.contact_id:
        account_id, contact_id = record.account_id, document.contact_id
    else:
        account_id, contact_id = record.account_id, record.contact_id
    version = version or document.current
    return {
        "account_id": account_id, "contact_id": contact_id,
        "activity_id": document.activity_id, "document_id": document.pk,
        "number": version.number if version else None,
        "file_name": version.original_name if version else "",
        "title": document.title[:TITLE_IN_EVENT],
    }


def _locked(document, version):
    locked = (Document.objects.select_for_update().select_related("organization")
              .filter(pk=document.pk).first())
    if locked is None or (version is not None and locked.version != version):
        raise StaleVersion()
    locked.account, locked.contact, locked.activity = (
        document.account if document.account_id else None,
        document.contact if document.contact_id else None,
        document.activity if document.activity_id else None)
    return locked


# --- Services ------------------------------------------------------------------------------


def document_upload(*, organization, actor, record, file, title="", description=""):
    """File `file` (a Django File / UploadedFile) under `record` (an Account, Contact or
    Activity of `organization`) as version 1 of a new document. The title defaults to the
    file name."""
    kind = _check_record(organization, record)
    description = _clean_text(description, field="description", max_length=MAX_DESCRIPTION,
                              multiline=True)
    title = _clean_text(title, field="title", max_length=MAX_TITLE)
    size, sha256, content_type, file_name = _inspect(file)
    title = title or file_name[:MAX_TITLE]
    stored = _store(organization, file)
    try:
        with transaction.atomic():
            now = timezone.now()
            document = Document.objects.create(
                organization=organization, title=title, description=description,
                created_by=actor, created_at=now, updated_at=now, **{kind: record})
            version = DocumentVersion.objects.create(
                document=document, number=1, file=stored, original_name=file_name, size=size,
                content_type=content_type, sha256=sha256, uploaded_by=actor, uploaded_at=now)
            document.current = version
            document.save(update_fields=["current"])
            search_index.index_document(document)
            audit_record(actor=actor, organization=organization, action="crm.document.uploaded",
                         obj=document, after={"title": title, "file_name": file_name,
                                              "size": size, "content_type": content_type,
                                              "sha256": sha256, kind + "_id": record.pk})
            emit_event(type="crm.document.uploaded", organization=organization,
                       aggregate=document, actor=actor,
                       payload={**_payload(document, version), "size": size,
                                "content_type": content_type})
    except BaseException:
        _remove_files([stored])
        raise
    return document


def document_add_version(*, document, actor, file, version):
    """A new version of `document` becomes its current file; earlier versions are kept.
    `version` is the document's optimistic version (409 when it changed)."""
    size, sha256, content_type, file_name = _inspect(file)
    stored = _store(document.organization, file)
    try:
        with transaction.atomic():
            locked = _locked(document, version)
            organization = locked.organization
            number = (locked.versions.aggregate(top=Max("number"))["top"] or 0) + 1
            now = timezone.now()
            new = DocumentVersion.objects.create(
                document=locked, number=number, file=stored, original_name=file_name,
                size=size, content_type=content_type, sha256=sha256, uploaded_by=actor,
                uploaded_at=now)
            locked.current = new
            locked.updated_at = now
            locked.version += 1
            locked.save(update_fields=["current", "updated_at", "version"])
            search_index.index_document(locked)
            audit_record(actor=actor, organization=organization,
                         action="crm.document.version_added", obj=locked,
                         after={"number": number, "file_name": file_name, "size": size,
                                "content_type": content_type, "sha256": sha256})
            emit_event(type="crm.document.version_added", organization=organization,
                       aggregate=locked, actor=actor,
                       payload={**_payload(locked, new), "size": size,
                                "content_type": content_type})
    except BaseException:
        _remove_files([stored])
        raise
    return locked


def document_update(*, document, actor, version, title=None, description=None):
    """Change the title and/or description (None leaves a field as it is)."""
    changes = {}
    if title is not None:
        changes["title"] = _clean_text(title, field="title", max_length=MAX_TITLE,
                                       required=True)
    if description is not None:
        changes["description"] = _clean_text(description, field="description",
                                             max_length=MAX_DESCRIPTION, multiline=True)
    with transaction.atomic():
        locked = _locked(document, version)
        changes = {name: value for name, value in changes.items()
                   if getattr(locked, name) != value}
        if not changes:
            return locked
        before = {name: getattr(locked, name) for name in changes}
        for name, value in changes.items():
            setattr(locked, name, value)
        locked.updated_at = timezone.now()
        locked.version += 1
        locked.save(update_fields=[*changes, "updated_at", "version"])
        current = locked.current
        search_index.index_document(locked)
        audit_record(actor=actor, organization=locked.organization,
                     action="crm.document.updated", obj=locked, before=before, after=changes)
        emit_event(type="crm.document.updated", organization=locked.organization,
                   aggregate=locked, actor=actor,
                   payload={**_payload(locked, current), "changed": sorted(changes)})
    return locked


def document_delete(*, document, actor, version):
    """Delete the document and every version; the files go once the deletion commits."""
    with transaction.atomic():
        locked = _locked(document, version)
        organization = locked.organization
        current = locked.current
        payload = _payload(locked, current)
        names = list(locked.versions.values_list("file", flat=True))
        document_id = locked.pk
        audit_record(actor=actor, organization=organization, action="crm.document.deleted",
                     obj=locked, before={"title": locked.title, "versions": len(names)})
        emit_event(type="crm.document.deleted", organization=organization, aggregate=locked,
                   actor=actor, payload=payload)
        search_index.unindex(organization_id=organization.pk, kind=search_index.DOCUMENT,
                             object_id=document_id)
        Document.objects.filter(pk=document_id).update(current=None)
        DocumentVersion.objects.filter(document_id=document_id).delete()
        Document.objects.filter(pk=document_id).delete()
        transaction.on_commit(lambda: _remove_files(names))
    return None
