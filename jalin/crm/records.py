"""The records that activities' documents and threads are filed under: an account, a contact
or an activity. One place names them, so documents and threads agree."""

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

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
