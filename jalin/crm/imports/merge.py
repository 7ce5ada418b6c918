"""Merging two contacts (or two accounts) that are the same person (or company).

`keep` survives; `merge` is archived with `merged_into = keep` and leaves the search index.
Everything that hung off `merge` moves to `keep` in the same transaction: activities,
documents, comment threads, timeline lines, meeting attendance (and, for accounts, contacts,
child accounts and tags). `field_choices` says per field which record's value wins
({"email": "merge", "custom.segment": "keep"}); fields not named keep `keep`'s value, or take
`merge`'s when `keep` has none. Both versions must match what the user saw (409 otherwise).
"""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from jalin.core.audit import audit_record
from jalin.core.events import emit_event

from ..models import Account, Activity, Comment, Contact, Document, TimelineEntry
from ..search import index as search_index
from ..services import MAX_EXTRA, CrmError, StaleVersion, _check_parent, _ref_id

CONTACT_MERGE_FIELDS = (
    "first_name", "last_name", "job_title", "email", "phone", "account", "relationship_role",
    "email_opt_in", "phone_opt_in", "owner",
)
ACCOUNT_MERGE_FIELDS = (
    "name", "industry", "size", "tier", "status", "owner", "parent", "tax_id",
    "billing_address", "shipping_address", "website", "phone", "hub_organization",
)
FK_FIELDS = {"account", "owner", "parent", "hub_organization"}


def _attname(name):
    return f"{name}_id" if name in FK_FIELDS else name


def _pair(model, organization, keep, merge):
    keep_id, merge_id = _ref_id(keep), _ref_id(merge)
    if keep_id is None:
        raise CrmError(_("Choose the record to keep."), code="required", field="keep")
    if merge_id is None:
        raise CrmError(_("Choose the record to merge."), code="required", field="merge")
    if keep_id == merge_id:
        raise CrmError(_("A record cannot be merged into itself."), code="same_record",
                       field="merge")
    rows = {row.pk: row for row in model.objects.select_for_update().filter(
        organization=organization, pk__in=sorted({keep_id, merge_id})).order_by("pk")}
    for field, record_id in (("keep", keep_id), ("merge", merge_id)):
        if record_id not in rows:
            raise CrmError(_("No such record in this organization."), code="not_found",
                           field=field)
    return rows[keep_id], rows[merge_id]


def _check_versions(keep, merge, version_keep, version_merge):
    if keep.archived_at is not None or merge.archived_at is not None:
        raise StaleVersion()
    if (version_keep is not None and keep.version != version_keep) or \
            (version_merge is not None and merge.version != version_merge):
        raise StaleVersion()


def _apply_choices(keep, merge, fields, field_choices):
    field_choices = dict(field_choices or {})
    known = set(fields) | {key for key in field_choices if key.startswith("custom.")}
    unknown = set(field_choices) - known
    if unknown:
        raise CrmError(_("Unknown fields: %s") % ", ".join(sorted(unknown)), code="unknown",
                       field="field_choices")
    for name, side in field_choices.items():
        if side not in ("keep", "merge"):
            raise CrmError(_("Choose keep or merge for %(field)s.") % {"field": name},
                           code="invalid_choice", field=f"field_choices.{name}")
    changed = []
    for name in fields:
        attribute = _attname(name)
        mine, theirs = getattr(keep, attribute), getattr(merge, attribute)
        side = field_choices.get(name)
        take = side == "merge" or (side is None and mine in ("", None) and
                                   theirs not in ("", None))
        if take and mine != theirs:
            setattr(keep, attribute, theirs)
            changed.append(name)
    custom = dict(keep.custom or {})
    for key, value in (merge.custom or {}).items():
        side = field_choices.get(f"custom.{key}")
        wanted = side == "merge" or (side is None and custom.get(key) in (None, "", []))
        if wanted and custom.get(key) != value:
            custom[key] = value
            changed.append(f"custom.{key}")
    keep.custom = custom
    return changed


def _union(first, *more, exclude=()):
    result = []
    for value in [*first, *more]:
        if value and value not in result and value not in exclude:
            result.append(value)
    return result[:MAX_EXTRA]


def _move_common(organization, field, keep, merge):
    """Activities, documents, comments and timeline lines of `merge` now belong to `keep`."""
    moved = {}
    for name, model in (("activities", Activity), ("documents", Document),
                        ("comments", Comment), ("timeline", TimelineEntry)):
        moved[name] = model.objects.filter(organization=organization,
                                           **{field: merge}).update(**{field: keep})
    return moved


def _finish(*, organization, actor, keep, merge, kind, changed, moved, before):
    now = timezone.now()
    keep.version += 1
    keep.updated_at = now
    keep.save()
    merge.archived_at = now
    merge.updated_at = now
    merge.merged_into = keep
    merge.version += 1
    merge.save(update_fields=["archived_at", "updated_at", "merged_into", "version"])
    if kind == "contact":
        search_index.index_contact(keep)
    else:
        search_index.index_account(keep)
    search_index.unindex(organization_id=organization.pk, kind=kind, object_id=merge.pk)
    title = (keep.full_name if kind == "contact" else keep.name)[:120]
    after = {"merged_id": merge.pk, "changed": changed, "moved": moved}
    audit_record(actor=actor, organization=organization, action=f"crm.{kind}.merged",
                 obj=keep, before=before, after=after)
    audit_record(actor=actor, organization=organization, action=f"crm.{kind}.merged_away",
                 obj=merge, before={"archived": False}, after={"merged_into": keep.pk})
    account_id = keep.account_id if kind == "contact" else keep.pk
    emit_event(type=f"crm.{kind}.merged", organization=organization, aggregate=keep,
               actor=actor, payload={"keep_id": keep.pk, "merged_id": merge.pk,
                                     "changed": changed, "moved": moved,
                                     "account_id": account_id,
                                     "contact_id": keep.pk if kind == "contact" else None,
                                     "title": title})


def contacts_merge(*, organization, actor, keep, merge, field_choices=None, version_keep=None,
                   version_merge=None):
    """Merge contact `merge` into `keep`; returns `keep`."""
    with transaction.atomic():
        keep, merge = _pair(Contact, organization, keep, merge)
        _check_versions(keep, merge, version_keep, version_merge)
        before = {"email": keep.email, "phone": keep.phone, "version": keep.version}
        old_email, old_phone = keep.email, keep.phone
        changed = _apply_choices(keep, merge, CONTACT_MERGE_FIELDS, field_choices)
        keep.extra_emails = _union(keep.extra_emails, old_email, merge.email,
                                   *merge.extra_emails, exclude=(keep.email,))
        keep.extra_phones = _union(keep.extra_phones, old_phone, merge.phone,
                                   *merge.extra_phones, exclude=(keep.phone,))
        now = timezone.now()
        for name in ("email_opt_in", "phone_opt_in"):
            if name in changed:
                setattr(keep, f"{name}_at", now)
        moved = _move_common(organization, "contact", keep, merge)
        through = Activity.attendee_contacts.through
        already = set(through.objects.filter(contact=keep).values_list("activity_id",
                                                                      flat=True))
        links = through.objects.filter(contact=merge)
        moved["attendances"] = links.exclude(activity_id__in=already).update(contact=keep)
        links.delete()  # the meetings keep already attends
        _finish(organization=organization, actor=actor, keep=keep, merge=merge,
                kind="contact", changed=changed, moved=moved, before=before)
    return keep


def accounts_merge(*, organization, actor, keep, merge, field_choices=None, version_keep=None,
                   version_merge=None):
    """Merge account `merge` into `keep`; returns `keep`."""
    with transaction.atomic():
        keep, merge = _pair(Account, organization, keep, merge)
        _check_versions(keep, merge, version_keep, version_merge)
        before = {"name": keep.name, "version": keep.version}
        changed = _apply_choices(keep, merge, ACCOUNT_MERGE_FIELDS, field_choices)
        if keep.parent_id in (keep.pk, merge.pk):
            keep.parent_id = merge.parent_id if merge.parent_id != keep.pk else None
        _check_parent(keep, keep.parent)
        moved = _move_common(organization, "account", keep, merge)
        moved["contacts"] = Contact.objects.filter(organization=organization,
                                                   account=merge).update(account=keep)
        moved["children"] = (Account.objects.filter(organization=organization, parent=merge)
                             .exclude(pk=keep.pk).update(parent=keep))
        tags = list(merge.tags.all())
        if tags:
            keep.tags.add(*tags)
        moved["tags"] = len(tags)
        _finish(organization=organization, actor=actor, keep=keep, merge=merge,
                kind="account", changed=changed, moved=moved, before=before)
    return keep
