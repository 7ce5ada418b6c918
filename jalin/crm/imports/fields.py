"""Which fields an import can fill, and guessing the CSV column for each."""

import re

from django.utils.translation import gettext as _
from django.utils.translation import override

from ..custom_fields import definitions_for
from ..models import Account, Contact

CONTACT_FIELDS = (
    "id", "first_name", "last_name", "job_title", "email", "extra_emails", "phone",
    "extra_phones", "account", "relationship_role", "email_opt_in", "phone_opt_in", "owner",
)
ACCOUNT_FIELDS = (
    "id", "name", "industry", "size", "tier", "status", "owner", "parent", "tax_id",
    "billing_address", "shipping_address", "website", "phone", "tags",
)
SYNONYMS = {
    "external id": "id", "jalin id": "id", "record id": "id",
    "e mail": "email", "email address": "email", "e mail address": "email", "mail": "email",
    "mobile": "phone", "telephone": "phone", "phone number": "phone", "tel": "phone",
    "mobile phone": "phone", "handphone": "phone", "hp": "phone",
    "given name": "first_name", "firstname": "first_name", "forename": "first_name",
    "surname": "last_name", "family name": "last_name", "lastname": "last_name",
    "title": "job_title", "position": "job_title", "jabatan": "job_title",
    "company": "account", "company name": "account", "organization": "account",
    "organisation": "account", "account name": "account", "perusahaan": "account",
    "role": "relationship_role", "npwp": "tax_id", "tax id": "tax_id", "vat": "tax_id",
    "parent account": "parent", "parent name": "parent", "web": "website", "url": "website",
    "labels": "tags", "tag": "tags", "label": "tags",
    "company name ": "name", "nama": "name",
}


def normalize_header(text):
    return re.sub(r"[\s_\-.]+", " ", (text or "").strip().lower()).strip()


def _model(target):
    return Contact if target == "contact" else Account


def field_choices(*, organization, target):
    """[(field, label)] an import into `target` can fill, custom fields as `custom.<key>`."""
    names = CONTACT_FIELDS if target == "contact" else ACCOUNT_FIELDS
    model = _model(target)
    choices = []
    for name in names:
        if name == "id":
            label = _("Jalin id (external id)")
        else:
            label = str(model._meta.get_field(name).verbose_name)
            label = label[:1].upper() + label[1:]
        choices.append((name, label))
    for definition in definitions_for(organization=organization, target=target):
        choices.append((f"custom.{definition.key}", definition.label))
    return choices


def guess_mapping(*, organization, target, headers):
    """{column: field} for the columns whose name matches a field's name or label (any case,
    spaces, underscores), a known synonym, or `custom.<key>`; unknown columns map to ""."""
    lookup = {}
    for name, label in field_choices(organization=organization, target=target):
        lookup.setdefault(normalize_header(name), name)
        lookup.setdefault(normalize_header(label), name)
        if name.startswith("custom."):
            lookup.setdefault(normalize_header(name.removeprefix("custom.")), name)
    model = _model(target)
    for language in ("en", "id"):
        with override(language):
            for name in (CONTACT_FIELDS if target == "contact" else ACCOUNT_FIELDS):
                if name != "id":
                    lookup.setdefault(
                        normalize_header(str(model._meta.get_field(name).verbose_name)), name)
    valid = set(lookup.values())
    if target == "account":
        lookup.setdefault("company", "name")
        lookup.setdefault("company name", "name")
        lookup.setdefault("account name", "name")
        lookup.setdefault("account", "name")
    for synonym, name in SYNONYMS.items():
        if name in valid:
            lookup.setdefault(normalize_header(synonym), name)
    mapping = {}
    used = set()
    for header in headers:
        field = lookup.get(normalize_header(header), "")
        if field in used:
            field = ""
        if field:
            used.add(field)
        mapping[header] = field
    return mapping
