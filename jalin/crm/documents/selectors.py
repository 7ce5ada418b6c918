"""Reads for the filing cabinet: a record's documents (current version and uploader joined:
one query whatever the record holds), the organization-wide list with filters, a document
with its versions, all scoped to one organization."""

from django.db.models import Prefetch

from jalin.tenancy.access import for_org

from ..models import Document, DocumentVersion

PANEL_LIMIT = 50
RECORD_FIELDS = {"account": "account", "contact": "contact", "activity": "activity"}


def _with_current(queryset):
    return queryset.select_related("current", "current__uploaded_by", "created_by")


def documents_for_org(organization):
    """Documents of `organization` with their current version and uploader (for lists and
    fetch-by-id)."""
    return _with_current(for_org(Document, organization))


def document_for_org(organization):
    """For fetch-by-id on detail pages: the record it is filed under joined as well."""
    return documents_for_org(organization).select_related("account", "contact", "activity")


def record_documents(*, organization, kind, record, limit=PANEL_LIMIT):
    """The newest `limit` documents filed under `record` (one query)."""
    return list(documents_for_org(organization).filter(**{kind: record})
                .order_by("-created_at", "-id")[:limit])


def document_list(*, organization, record_type="", uploader=None, account=None,
                  contact=None, activity=None):
    """Documents of the organization, filtered (unordered; the caller pages it)."""
    queryset = documents_for_org(organization).select_related("account", "contact",
                                                              "activity")
    if record_type in RECORD_FIELDS:
        queryset = queryset.filter(**{f"{RECORD_FIELDS[record_type]}__isnull": False})
    if uploader is not None:
        queryset = queryset.filter(created_by_id=uploader)
    if account is not None:
        queryset = queryset.filter(account_id=account)
    if contact is not None:
        queryset = queryset.filter(contact_id=contact)
    if activity is not None:
        queryset = queryset.filter(activity_id=activity)
    return queryset


def versions(document):
    """Every version of `document`, newest first, uploader joined."""
    return (DocumentVersion.objects.filter(document=document).select_related("uploaded_by")
            .order_by("-number", "-id"))


def document_with_versions(queryset):
    return queryset.prefetch_related(Prefetch(
        "versions", queryset=DocumentVersion.objects.select_related("uploaded_by")
        .order_by("-number"), to_attr="all_versions"))
