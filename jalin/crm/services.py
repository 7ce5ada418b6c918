"""Write paths for accounts, contacts and custom field definitions.

Every service owns its transaction, writes the audit log and emits a `crm.*` event naming the
changed fields. References (owner, parent, account, buyer organization) may be given as
objects or ids; anything outside the organization is refused with a `CrmError` naming the
field, and nothing is written. Field problems raise Django's `ValidationError` keyed by field
(custom fields as `custom.<key>`), which forms and the API both show per field.
"""

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from jalin.core.audit import audit_record
from jalin.core.events import emit_event
from jalin.core.params import int_param
from jalin.tenancy.models import Membership, Organization
from jalin.tenancy.services import StaleVersion, TenancyError

from .custom_fields import KEY_PATTERN, clean_choices, clean_custom_values, definitions_for
from .models import (
    Account,
    Contact,
    CustomFieldDefinition,
    CustomFieldTarget,
    CustomFieldType,
    HubBuyerLink,
    Tag,
)
from .search import index as search_index

__all__ = ["CrmError", "StaleVersion"]

ACCOUNT_FIELDS = (
    "name", "industry", "size", "tier", "status", "owner", "parent", "tax_id",
    "billing_address", "shipping_address", "website", "phone", "hub_organization",
)
CONTACT_FIELDS = (
    "first_name", "last_name", "job_title", "email", "extra_emails", "phone", "extra_phones",
    "account", "relationship_role", "email_opt_in", "phone_opt_in", "owner",
)
REFERENCE_FIELDS = {"owner", "parent", "hub_organization", "account"}
MAX_TAGS = 20
MAX_EXTRA = 10
MAX_PARENT_DEPTH = 50
DEFINITION_EDITABLE = ("label", "choices", "required", "position", "active")


class CrmError(TenancyError):
    """A request that cannot be carried out; `field` is the API's name for the input."""


# --- Normalizing and checking input --------------------------------------------------------


def normalize_phone(value, *, region="ID", field="phone"):
    """E.164 ("+6281234567890") or "" for empty; ValidationError when not a real number."""
    value = (value or "").strip()
    if not value:
        return ""
    try:
        number = phonenumbers.parse(value, region or "ID")
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise ValidationError({field: [ValidationError(
            _("Enter a valid phone number, e.g. +62 812 3456 7890."), code="invalid_phone")]})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _normalize_email(value, field="email"):
    value = (value or "").strip().lower()
    if value:
        try:
            validate_email(value)
        except ValidationError:
            raise ValidationError({field: [ValidationError(_("Enter a valid email address."),
                                                           code="invalid_email")]}) from None
    return value


def _list_of_strings(value, field):
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValidationError({field: [ValidationError(_("Send a list of strings."),
                                                       code="invalid_type")]})
    if len(value) > MAX_EXTRA:
        raise ValidationError({field: [ValidationError(
            _("At most %(max)d entries.") % {"max": MAX_EXTRA}, code="too_many")]})
    return [item for item in (item.strip() for item in value) if item]


def _ref_id(value):
    value = getattr(value, "pk", value)
    if value in (None, ""):
        return None
    # -1 matches nothing: reported as "not found in this organization"; so does a number
    # clamped at the 64-bit edge (an `__in` lookup would overflow SQLite's driver).
    return int_param(value, default=-1)


def _owner(organization, value):
    user_id = _ref_id(value)
    if user_id is None:
        return None
    membership = (Membership.objects.filter(organization=organization, user_id=user_id,
                                            is_active=True).select_related("user").first())
    if membership is None:
        raise CrmError(_("The owner must be a member of this organization."),
                       code="invalid_owner", field="owner_id")
    return membership.user


def _account_ref(organization, value, *, field):
    account_id = _ref_id(value)
    if account_id is None:
        return None
    account = Account.objects.filter(organization=organization, pk=account_id,
                                     archived_at__isnull=True).first()
    if account is None:
        raise CrmError(_("No such account in this organization."), code="invalid_account",
                       field=field)
    return account


def _hub_organization(organization, value):
    org_id = _ref_id(value)
    if org_id is None:
        return None
    buyer = linkable_buyers(organization).filter(pk=org_id).first()
    if buyer is None:
        raise CrmError(_("No such customer organization on the hub."),
                       code="invalid_hub_organization", field="hub_organization_id")
    return buyer


def linkable_buyers(organization):
    """Buyer organizations this supplier trades with on the hub. Only these can be linked:
    offering every organization on the hub would disclose the hub's directory. Read from the
    CRM's own copy, kept by the `crm.hub_buyer_links` consumer of the hub's relationship events
    (any status, as the hub lists suspended customers too)."""
    return Organization.objects.filter(
        pk__in=HubBuyerLink.objects.filter(organization=organization).values("buyer_id"))


def _check_parent(account, parent):
    """A parent in the same organization that is not the account itself nor a descendant."""
    if parent is None or account.pk is None:
        return
    seen = 0
    node = parent
    while node is not None:
        if node.pk == account.pk:
            raise CrmError(_("An account cannot be its own parent or ancestor."),
                           code="parent_cycle", field="parent_id")
        seen += 1
        if seen > MAX_PARENT_DEPTH:
            raise CrmError(_("The account hierarchy is too deep."), code="parent_too_deep",
                           field="parent_id")
        node = (Account.objects.filter(pk=node.parent_id).only("id", "parent_id").first()
                if node.parent_id else None)


def _tags(organization, names):
    if names is None:
        return []
    if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
        raise ValidationError({"tags": [ValidationError(_("Send a list of tag names."),
                                                        code="invalid_type")]})
    cleaned = []
    for name in names:
        name = " ".join(name.split())
        if len(name) > 60:
            raise ValidationError({"tags": [ValidationError(
                _("A tag has at most 60 characters."), code="too_long")]})
        if name and name.lower() not in {c.lower() for c in cleaned}:
            cleaned.append(name)
    if len(cleaned) > MAX_TAGS:
        raise ValidationError({"tags": [ValidationError(
            _("At most %(max)d tags.") % {"max": MAX_TAGS}, code="too_many")]})
    existing = {tag.name.lower(): tag for tag in Tag.objects.filter(organization=organization)
                .filter(name__in=cleaned)}
    tags = []
    for name in cleaned:
        tag = existing.get(name.lower())
        if tag is None:
            tag, _created = Tag.objects.get_or_create(organization=organization, name=name)
        tags.append(tag)
    return tags


def _state(instance, fields, *, tags=None):
    state = {}
    for name in fields:
        if name in REFERENCE_FIELDS:
            state[f"{name}_id"] = getattr(instance, f"{name}_id")
        else:
            state[name] = getattr(instance, name)
    state["custom"] = dict(instance.custom or {})
    if tags is not None:
        state["tags"] = sorted(tag.name for tag in tags)
    return state


def _changed(before, after):
    return sorted(key for key in after if before.get(key) != after.get(key))


def _full_clean(instance, *, exclude):
    instance.full_clean(exclude=[*exclude, "organization", "custom", "version"],
                        validate_unique=False, validate_constraints=False)


# --- Accounts ------------------------------------------------------------------------------


def _apply_account_fields(account, organization, fields):
    unknown = set(fields) - set(ACCOUNT_FIELDS)
    if unknown:
        raise CrmError(_("Unknown fields: %s") % ", ".join(sorted(unknown)), code="unknown")
    for name, value in fields.items():
        if name == "owner":
            account.owner = _owner(organization, value)
        elif name == "parent":
            account.parent = _account_ref(organization, value, field="parent_id")
        elif name == "hub_organization":
            account.hub_organization = _hub_organization(organization, value)
        elif name == "phone":
            account.phone = normalize_phone(value, region=organization.country)
        elif name == "name":
            account.name = " ".join((value or "").split())
        else:
            setattr(account, name, "" if value is None else value)
    _check_parent(account, account.parent)
    _full_clean(account, exclude=["owner", "parent", "hub_organization"])


def account_create(*, organization, actor, tags=None, custom=None, **fields):
    """Create an account. `fields` are model fields from ACCOUNT_FIELDS; `tags` are names."""
    account = Account(organization=organization)
    _apply_account_fields(account, organization, fields)
    definitions = definitions_for(organization=organization, target=CustomFieldTarget.ACCOUNT)
    account.custom = clean_custom_values(definitions=definitions, values=custom)
    with transaction.atomic():
        tag_rows = _tags(organization, tags)
        account.save()
        account.tags.set(tag_rows)
        search_index.index_account(account)
        after = _state(account, ACCOUNT_FIELDS, tags=tag_rows)
        audit_record(actor=actor, organization=organization, action="crm.account.created",
                     obj=account, after=_jsonable(after))
        emit_event(type="crm.account.created", organization=organization, aggregate=account,
                   actor=actor, payload={"name": account.name, "changed": sorted(after),
                            "account_id": account.pk, "contact_id": None,
                            "title": account.name[:120]})
    return account


def account_update(*, account, actor, version, tags=None, custom=None, **changes):
    """Change some fields; `custom` is merged (None clears a key); `version` must match."""
    organization = account.organization
    with transaction.atomic():
        locked = Account.objects.select_for_update().get(pk=account.pk)
        if locked.version != version or locked.archived_at is not None:
            raise StaleVersion()
        old_tags = list(locked.tags.all())
        before = _state(locked, ACCOUNT_FIELDS, tags=old_tags)
        _apply_account_fields(locked, organization, changes)
        if custom is not None:
            definitions = definitions_for(organization=organization,
                                          target=CustomFieldTarget.ACCOUNT)
            locked.custom = clean_custom_values(definitions=definitions, values=custom,
                                                existing=locked.custom, partial=True)
        new_tags = _tags(organization, tags) if tags is not None else old_tags
        after = _state(locked, ACCOUNT_FIELDS, tags=new_tags)
        changed = _changed(before, after)
        if not changed:
            return locked
        locked.version += 1
        locked.updated_at = timezone.now()
        locked.save()
        if tags is not None:
            locked.tags.set(new_tags)
        search_index.index_account(locked)
        if "name" in changed:
            search_index.reindex_contacts_of_account(locked)
        audit_record(actor=actor, organization=organization, action="crm.account.updated",
                     obj=locked, before=_jsonable({k: before[k] for k in changed}),
                     after=_jsonable({k: after[k] for k in changed}))
        emit_event(type="crm.account.updated", organization=organization, aggregate=locked,
                   actor=actor, payload={"changed": changed, "account_id": locked.pk,
                                         "contact_id": None, "title": locked.name[:120]})
    return locked


def account_archive(*, account, actor, version=None):
    """Archive (soft-delete): the account leaves lists; contacts and history stay."""
    with transaction.atomic():
        locked = Account.objects.select_for_update().get(pk=account.pk)
        if locked.archived_at is not None or (version is not None and locked.version != version):
            raise StaleVersion()
        locked.archived_at = timezone.now()
        locked.updated_at = locked.archived_at
        locked.version += 1
        locked.save(update_fields=["archived_at", "updated_at", "version"])
        search_index.unindex(organization_id=locked.organization_id,
                             kind=search_index.ACCOUNT, object_id=locked.pk)
        audit_record(actor=actor, organization=locked.organization,
                     action="crm.account.archived", obj=locked,
                     before={"archived": False}, after={"archived": True})
        emit_event(type="crm.account.archived", organization=locked.organization,
                   aggregate=locked, actor=actor,
                   payload={"changed": ["archived_at"], "account_id": locked.pk,
                            "contact_id": None, "title": locked.name[:120]})
    return locked


# --- Contacts ------------------------------------------------------------------------------


def _apply_contact_fields(contact, organization, fields):
    unknown = set(fields) - set(CONTACT_FIELDS)
    if unknown:
        raise CrmError(_("Unknown fields: %s") % ", ".join(sorted(unknown)), code="unknown")
    now = timezone.now()
    for name, value in fields.items():
        if name == "owner":
            contact.owner = _owner(organization, value)
        elif name == "account":
            contact.account = _account_ref(organization, value, field="account_id")
        elif name == "email":
            contact.email = _normalize_email(value)
        elif name == "extra_emails":
            contact.extra_emails = [_normalize_email(item, "extra_emails")
                                    for item in _list_of_strings(value, name)]
        elif name == "phone":
            contact.phone = normalize_phone(value, region=organization.country)
        elif name == "extra_phones":
            contact.extra_phones = [
                normalize_phone(item, region=organization.country, field="extra_phones")
                for item in _list_of_strings(value, name)]
        elif name in ("email_opt_in", "phone_opt_in"):
            value = bool(value)
            if value != getattr(contact, name) or contact.pk is None and value:
                setattr(contact, f"{name}_at", now)  # when consent was given or withdrawn
            setattr(contact, name, value)
        elif name in ("first_name", "last_name", "job_title"):
            setattr(contact, name, " ".join((value or "").split()))
        else:
            setattr(contact, name, "" if value is None else value)
    _full_clean(contact, exclude=["owner", "account", "extra_emails", "extra_phones"])


def contact_create(*, organization, actor, custom=None, **fields):
    contact = Contact(organization=organization)
    _apply_contact_fields(contact, organization, fields)
    definitions = definitions_for(organization=organization, target=CustomFieldTarget.CONTACT)
    contact.custom = clean_custom_values(definitions=definitions, values=custom)
    with transaction.atomic():
        contact.save()
        search_index.index_contact(contact)
        after = _state(contact, CONTACT_FIELDS)
        audit_record(actor=actor, organization=organization, action="crm.contact.created",
                     obj=contact, after=_jsonable(after))
        emit_event(type="crm.contact.created", organization=organization, aggregate=contact,
                   actor=actor, payload={"name": contact.full_name, "changed": sorted(after),
                            "account_id": contact.account_id, "contact_id": contact.pk,
                            "title": contact.full_name[:120]})
    return contact


def contact_update(*, contact, actor, version, custom=None, **changes):
    organization = contact.organization
    with transaction.atomic():
        locked = Contact.objects.select_for_update().get(pk=contact.pk)
        if locked.version != version or locked.archived_at is not None:
            raise StaleVersion()
        before = _state(locked, CONTACT_FIELDS)
        _apply_contact_fields(locked, organization, changes)
        if custom is not None:
            definitions = definitions_for(organization=organization,
                                          target=CustomFieldTarget.CONTACT)
            locked.custom = clean_custom_values(definitions=definitions, values=custom,
                                                existing=locked.custom, partial=True)
        after = _state(locked, CONTACT_FIELDS)
        changed = _changed(before, after)
        if not changed:
            return locked
        locked.version += 1
        locked.updated_at = timezone.now()
        locked.save()
        search_index.index_contact(locked)
        audit_record(actor=actor, organization=organization, action="crm.contact.updated",
                     obj=locked, before=_jsonable({k: before[k] for k in changed}),
                     after=_jsonable({k: after[k] for k in changed}))
        emit_event(type="crm.contact.updated", organization=organization, aggregate=locked,
                   actor=actor, payload={"changed": changed, "account_id": locked.account_id,
                                         "contact_id": locked.pk,
                                         "title": locked.full_name[:120]})
    return locked


def contact_delete(*, contact, actor, version=None):
    """Archive the contact (soft delete, history stays)."""
    with transaction.atomic():
        locked = Contact.objects.select_for_update().get(pk=contact.pk)
        if locked.archived_at is not None or (version is not None and locked.version != version):
            raise StaleVersion()
        locked.archived_at = timezone.now()
        locked.updated_at = locked.archived_at
        locked.version += 1
        locked.save(update_fields=["archived_at", "updated_at", "version"])
        search_index.unindex(organization_id=locked.organization_id,
                             kind=search_index.CONTACT, object_id=locked.pk)
        audit_record(actor=actor, organization=locked.organization,
                     action="crm.contact.archived", obj=locked,
                     before={"archived": False}, after={"archived": True})
        emit_event(type="crm.contact.archived", organization=locked.organization,
                   aggregate=locked, actor=actor,
                   payload={"changed": ["archived_at"], "account_id": locked.account_id,
                            "contact_id": locked.pk, "title": locked.full_name[:120]})
    return locked


def contact_email_opt_out(*, organization, contact_id, actor=None, reason="", source=""):
    """The contact withdrew consent to e-mail (e.g. unsubscribed from a campaign): clear
    `email_opt_in`, stamp `email_opt_in_at`, audit it and put it on the timeline (event
    `crm.contact.consent_withdrawn`). Works on archived contacts too (consent is a fact, not
    an edit). Idempotent: returns False when there was no consent to withdraw (or no such
    contact in the organization)."""
    with transaction.atomic():
        locked = (Contact.objects.select_for_update()
                  .filter(organization=organization, pk=contact_id).first())
        if locked is None or not locked.email_opt_in:
            return False
        now = timezone.now()
        locked.email_opt_in = False
        locked.email_opt_in_at = now
        locked.updated_at = now
        locked.version += 1
        locked.save(update_fields=["email_opt_in", "email_opt_in_at", "updated_at", "version"])
        audit_record(actor=actor, organization=organization,
                     action="crm.contact.consent_withdrawn", obj=locked,
                     before={"email_opt_in": True},
                     after={"email_opt_in": False, "reason": reason[:300],
                            "source": source[:50]})
        emit_event(type="crm.contact.consent_withdrawn", organization=organization,
                   aggregate=locked, actor=actor,
                   payload={"changed": ["email_opt_in"], "account_id": locked.account_id,
                            "contact_id": locked.pk, "title": locked.full_name[:120],
                            "reason": reason[:300], "source": source[:50]})
    return True


# --- Custom field definitions --------------------------------------------------------------


def custom_field_define(*, organization, actor, target, key, label, type, choices=None,
                        required=False, position=0):
    if target not in CustomFieldTarget.values:
        raise CrmError(_("Custom fields can be added to accounts or contacts."),
                       code="invalid_target", field="target")
    if type not in CustomFieldType.values:
        raise CrmError(_("Unknown field type."), code="invalid_type", field="type")
    key = (key or "").strip()
    if not KEY_PATTERN.match(key):
        raise CrmError(_("Use lower-case letters, digits and underscores, starting with a "
                         "letter (at most 50)."), code="invalid_key", field="key")
    definition = CustomFieldDefinition(
        organization=organization, target=target, key=key, label=(label or "").strip(),
        type=type, choices=clean_choices(type, choices or []), required=bool(required),
        position=position or 0,
    )
    definition.full_clean(exclude=["organization", "choices"], validate_unique=False,
                          validate_constraints=False)
    with transaction.atomic():
        if CustomFieldDefinition.objects.filter(organization=organization, target=target,
                                                key=key).exists():
            raise CrmError(_("A field with this key already exists."), code="duplicate_key",
                           field="key")
        definition.save()
        after = {"target": target, "key": key, "label": definition.label, "type": type,
                 "choices": definition.choices, "required": definition.required}
        audit_record(actor=actor, organization=organization, action="crm.custom_field.defined",
                     obj=definition, after=after)
        emit_event(type="crm.custom_field.defined", organization=organization,
                   aggregate=definition, actor=actor, payload=after)
    return definition


def custom_field_update(*, definition, actor, version=None, **changes):
    """Change label, choices, required, position or active. Key, type and record are fixed:
    stored values depend on them."""
    unknown = set(changes) - set(DEFINITION_EDITABLE)
    if unknown:
        raise CrmError(_("These cannot be changed: %s") % ", ".join(sorted(unknown)),
                       code="immutable", field=sorted(unknown)[0])
    with transaction.atomic():
        locked = CustomFieldDefinition.objects.select_for_update().get(pk=definition.pk)
        if version is not None and locked.version != version:
            raise StaleVersion()
        before = {name: getattr(locked, name) for name in DEFINITION_EDITABLE}
        for name, value in changes.items():
            if name == "choices":
                value = clean_choices(locked.type, value)
            elif name == "label":
                value = (value or "").strip()
            elif name in ("required", "active"):
                value = bool(value)
            setattr(locked, name, value)
        locked.full_clean(exclude=["organization", "choices"], validate_unique=False,
                          validate_constraints=False)
        after = {name: getattr(locked, name) for name in DEFINITION_EDITABLE}
        changed = _changed(before, after)
        if not changed:
            return locked
        locked.version += 1
        locked.save()
        audit_record(actor=actor, organization=locked.organization,
                     action="crm.custom_field.updated", obj=locked,
                     before={k: before[k] for k in changed}, after={k: after[k] for k in changed})
        emit_event(type="crm.custom_field.updated", organization=locked.organization,
                   aggregate=locked, actor=actor, payload={"key": locked.key, "changed": changed})
    return locked


def _jsonable(state):
    return {key: value.isoformat() if hasattr(value, "isoformat") else value
            for key, value in state.items()}
