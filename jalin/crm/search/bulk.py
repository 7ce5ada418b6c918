"""Bulk changes on the account and contact lists: assign an owner, add or remove tags.

One transaction for the whole batch (at most MAX_IDS records); every id must be a live
record of the organization, else the call is refused (CrmError on `ids`, a 422 in the API)
and nothing changes. Each changed record gets its version bumped, one audit row and one
`crm.account.updated` / `crm.contact.updated` event naming what changed, as a one-by-one
edit would. Queries per call are constant in the number of records except the one audit
row and one event per changed record.
"""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from jalin.core.audit import audit_record
from jalin.core.events import emit_event

from ..custom_fields import clean_custom_values, definitions_for
from ..models import Account, Contact, CustomFieldTarget, Tag
from ..services import CrmError, _owner, _tags
from . import index as search_index

MAX_IDS = 500


class _Unchanged:
    def __repr__(self):
        return "UNCHANGED"


UNCHANGED = _Unchanged()


def clean_ids(ids):
    if not isinstance(ids, (list, tuple, set)) or not ids:
        raise CrmError(_("Select at least one record."), code="no_ids", field="ids")
    cleaned = []
    for value in ids:
        try:
            number = int(value)
        except (TypeError, ValueError):
            number = -1
        if number < 1 or number > 2**63 - 1:
            raise CrmError(_("Some selected records are not in this organization."),
                           code="invalid_ids", field="ids")
        cleaned.append(number)
    cleaned = sorted(set(cleaned))
    if len(cleaned) > MAX_IDS:
        raise CrmError(_("At most %(max)d records at a time.") % {"max": MAX_IDS},
                       code="too_many", field="ids")
    return cleaned


def _locked(model, organization, ids):
    rows = list(model.objects.select_for_update()
                .filter(organization=organization, pk__in=ids, archived_at__isnull=True)
                .order_by("pk"))
    if len(rows) != len(ids):
        raise CrmError(_("Some selected records are not in this organization."),
                       code="invalid_ids", field="ids")
    return rows


def _record_change(*, organization, actor, record, kind, before, after, account_id,
                   contact_id, title):
    changed = sorted(key for key in after if before.get(key) != after.get(key))
    if not changed:
        return False
    audit_record(actor=actor, organization=organization, action=f"crm.{kind}.updated",
                 obj=record, before={k: before[k] for k in changed},
                 after={k: after[k] for k in changed})
    emit_event(type=f"crm.{kind}.updated", organization=organization, aggregate=record,
               actor=actor, payload={"changed": changed, "account_id": account_id,
                                     "contact_id": contact_id, "title": title[:120],
                                     "bulk": True})
    return True


def accounts_bulk_update(*, organization, actor, ids, owner=UNCHANGED, add_tags=None,
                         remove_tags=None):
    """Change owner and/or tags of up to 500 accounts; returns how many changed."""
    ids = clean_ids(ids)
    if owner is UNCHANGED and not add_tags and not remove_tags:
        raise CrmError(_("Choose what to change."), code="no_action", field="action")
    through = Account.tags.through
    now = timezone.now()
    changed_count = 0
    with transaction.atomic():
        rows = _locked(Account, organization, ids)
        new_owner = _owner(organization, owner) if owner is not UNCHANGED else None
        adding = _tags(organization, list(add_tags)) if add_tags else []
        removing = list(Tag.objects.filter(organization=organization,
                                           name__in=[" ".join(str(n).split())
                                                     for n in remove_tags or []]))
        current = {}
        for link in through.objects.filter(account_id__in=ids).select_related("tag"):
            current.setdefault(link.account_id, set()).add(link.tag.name)
        add_names = {tag.name for tag in adding}
        remove_names = {tag.name for tag in removing}
        new_links, dirty = [], []
        for account in rows:
            tags_before = current.get(account.pk, set())
            tags_after = (tags_before | add_names) - remove_names
            before = {"owner_id": account.owner_id, "tags": sorted(tags_before)}
            after = {"owner_id": new_owner.pk if new_owner else None,
                     "tags": sorted(tags_after)} if owner is not UNCHANGED else {
                "owner_id": account.owner_id, "tags": sorted(tags_after)}
            if not _record_change(organization=organization, actor=actor, record=account,
                                  kind="account", before=before, after=after,
                                  account_id=account.pk, contact_id=None, title=account.name):
                continue
            changed_count += 1
            account.owner_id = after["owner_id"]
            account.version += 1
            account.updated_at = now
            dirty.append(account)
            new_links += [through(account_id=account.pk, tag_id=tag.pk) for tag in adding
                          if tag.name not in tags_before and tag.name not in remove_names]
        if dirty:
            Account.objects.bulk_update(dirty, ["owner", "version", "updated_at"])
        if new_links:
            through.objects.bulk_create(new_links, ignore_conflicts=True)
        if removing:
            through.objects.filter(account_id__in=[a.pk for a in dirty],
                                   tag__in=removing).delete()
    return changed_count


def contacts_bulk_update(*, organization, actor, ids, owner=UNCHANGED, custom=None):
    """Assign (or clear, with owner=None) the owner of up to 500 contacts and/or set custom
    field values (`custom` merged like a PATCH; None or "" clears a key). Contacts whose
    custom values change are re-indexed for search."""
    ids = clean_ids(ids)
    if owner is UNCHANGED and not custom:
        raise CrmError(_("Choose what to change."), code="no_action", field="action")
    definitions = (definitions_for(organization=organization, target=CustomFieldTarget.CONTACT)
                   if custom else [])
    now = timezone.now()
    changed_count = 0
    with transaction.atomic():
        rows = _locked(Contact, organization, ids)
        new_owner_id = UNCHANGED
        if owner is not UNCHANGED:
            new_owner = _owner(organization, owner)
            new_owner_id = new_owner.pk if new_owner else None
        dirty, reindex = [], []
        for contact in rows:
            before = {"owner_id": contact.owner_id, "custom": dict(contact.custom or {})}
            after = dict(before)
            if new_owner_id is not UNCHANGED:
                after["owner_id"] = new_owner_id
            if custom:
                after["custom"] = clean_custom_values(definitions=definitions, values=custom,
                                                      existing=contact.custom, partial=True)
            if not _record_change(organization=organization, actor=actor, record=contact,
                                  kind="contact", before=before, after=after,
                                  account_id=contact.account_id, contact_id=contact.pk,
                                  title=contact.full_name):
                continue
            changed_count += 1
            if after["custom"] != before["custom"]:
                reindex.append(contact)
            contact.owner_id = after["owner_id"]
            contact.custom = after["custom"]
            contact.version += 1
            contact.updated_at = now
            dirty.append(contact)
        if dirty:
            Contact.objects.bulk_update(dirty, ["owner", "custom", "version", "updated_at"])
        for contact in reindex:
            search_index.index_contact(contact)
    return changed_count
