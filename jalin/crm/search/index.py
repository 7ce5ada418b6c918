"""Keeping `SearchDocument` rows in step with the records they describe.

Services call these inside their transaction, right after saving, so a record is findable
the moment it is committed and a rolled-back write leaves no search row behind. Archived or
deleted records are taken out with `unindex`. Bulk paths (imports, the data generator) build
rows with `document_for_*` and write them with `bulk_create`.
"""

from django.utils import timezone

from ..models import SearchDocument

ACCOUNT, CONTACT, ACTIVITY, DOCUMENT = "account", "contact", "activity", "document"
KINDS = (ACCOUNT, CONTACT, ACTIVITY, DOCUMENT)


def _join(*parts):
    return " ".join(str(part) for part in parts if part)


def document_for_account(account):
    return SearchDocument(
        organization_id=account.organization_id, kind=ACCOUNT, object_id=account.pk,
        title=account.name[:300],
        subtitle=_join(account.industry, account.phone)[:300],
        body=_join(account.tax_id, account.website, account.phone, account.billing_address,
                   *(str(v) for v in (account.custom or {}).values())),
    )


def document_for_contact(contact, *, account_name=""):
    return SearchDocument(
        organization_id=contact.organization_id, kind=CONTACT, object_id=contact.pk,
        title=contact.full_name[:300],
        subtitle=_join(contact.job_title, account_name, contact.email)[:300],
        body=_join(contact.email, *contact.extra_emails, contact.phone, *contact.extra_phones,
                   contact.job_title, account_name,
                   *(str(v) for v in (contact.custom or {}).values())),
    )


def document_for_activity(activity):
    return SearchDocument(
        organization_id=activity.organization_id, kind=ACTIVITY, object_id=activity.pk,
        title=activity.subject[:300],
        subtitle=activity.get_kind_display()[:300],
        body=_join(activity.notes, activity.location),
    )


def document_for_document(document, *, file_name=""):
    return SearchDocument(
        organization_id=document.organization_id, kind=DOCUMENT, object_id=document.pk,
        title=document.title[:300], subtitle=file_name[:300],
        body=_join(document.description, file_name),
    )


def _upsert(row):
    SearchDocument.objects.update_or_create(
        organization_id=row.organization_id, kind=row.kind, object_id=row.object_id,
        defaults={"title": row.title, "subtitle": row.subtitle, "body": row.body,
                  "updated_at": timezone.now()},
    )


def index_account(account):
    _upsert(document_for_account(account))


def index_contact(contact):
    account_name = contact.account.name if contact.account_id else ""
    _upsert(document_for_contact(contact, account_name=account_name))


def index_activity(activity):
    _upsert(document_for_activity(activity))


def index_document(document):
    file_name = document.current.original_name if document.current_id else ""
    _upsert(document_for_document(document, file_name=file_name))


def unindex(*, organization_id, kind, object_id):
    SearchDocument.objects.filter(
        organization_id=organization_id, kind=kind, object_id=object_id
    ).delete()


def reindex_contacts_of_account(account, *, batch_size=1000):
    """Rewrite the search rows of an account's live contacts (their subtitle and body carry
    the account's name), in batches; called when an account is renamed."""
    from ..models import Contact  # the models module imports nothing from here; keep it so

    contacts = Contact.objects.filter(
        organization_id=account.organization_id, account=account, archived_at__isnull=True
    ).order_by("pk")
    last_pk = 0
    while True:
        rows = list(contacts.filter(pk__gt=last_pk)[:batch_size])
        if not rows:
            return
        fresh = {row.pk: document_for_contact(row, account_name=account.name) for row in rows}
        existing = list(SearchDocument.objects.filter(
            organization_id=account.organization_id, kind=CONTACT, object_id__in=list(fresh)))
        now = timezone.now()
        for document in existing:
            new = fresh[document.object_id]
            document.subtitle, document.body, document.updated_at = new.subtitle, new.body, now
        SearchDocument.objects.bulk_update(existing, ["subtitle", "body", "updated_at"])
        last_pk = rows[-1].pk
