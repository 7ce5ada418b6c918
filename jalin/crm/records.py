"""The records that activities' documents and threads are filed under: an account, a contact
or an activity. One place names them, so documents and threads agree."""

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from jalin.tenancy.access import for_org

from .models import Account, Activity, Contact

RECORD_KINDS = {Account: "account", Contact: "contact", Activity: "activity"}


def record_kind(record):
    """"account", "contact" or "activity" (None for anything else)."""
    return RECORD_KINDS.get(type(record))


def record_url(record):
    """The page of the record ("" when it has none)."""
    try:
        return reverse(f"crm:{record_kind(record)}_detail", kwargs={"pk": record.pk})
    except NoReverseMatch:
        return ""


def no_such_record(kind):
    """The error for an id of `kind` that is not this organization's (one whole sentence
    per kind, so each can be translated)."""
    return {
        "account": _("No such account in this organization."),
        "contact": _("No such contact in this organization."),
        "activity": _("No such activity in this organization."),
    }.get(kind, _("No such record in this organization."))


# (API field, kind, live records of that kind)
RECORD_ID_FIELDS = (
    ("account_id", "account", lambda: Account.objects.filter(archived_at__isnull=True)),
    ("contact_id", "contact", lambda: Contact.objects.filter(archived_at__isnull=True)),
    ("activity_id", "activity", lambda: Activity.objects.all()),
)


def record_named_by_ids(*, organization, data, required=True):
    """The one record `data` names by account_id / contact_id / activity_id, looked up in
    `organization` only. Naming none (when `required`) or several, or an id that is not the
    organization's live record, is a `CrmError` naming the field (422 in the API)."""
    from .services import CrmError  # services imports the search index, not this module

    named = [(field, kind, queryset) for field, kind, queryset in RECORD_ID_FIELDS
             if data.get(field) is not None]
    if not named and not required:
        return None
    if len(named) != 1:
        raise CrmError(_("Name exactly one of account_id, contact_id or activity_id."),
                       code="record_required", field="account_id")
    field, kind, queryset = named[0]
    record = for_org(queryset(), organization).filter(pk=data[field]).first()
    if record is None:
        raise CrmError(no_such_record(kind), code=f"invalid_{kind}", field=field)
    return record


def check_record(*, organization, record, wrong_type_message):
    """The kind of `record` after checking it is a saved, live account, contact or activity
    of `organization`; otherwise a `CrmError` (`wrong_type_message` for anything else)."""
    from .services import CrmError

    kind = record_kind(record)
    if kind is None or record.pk is None:
        raise CrmError(wrong_type_message, code="invalid_record", field="record")
    if record.organization_id != organization.pk or getattr(record, "archived_at", None):
        raise CrmError(no_such_record(kind), code=f"invalid_{kind}", field=f"{kind}_id")
    return kind
