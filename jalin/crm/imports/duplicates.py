"""Finding likely duplicate contacts and accounts, a page at a time.

Each kind of match is one GROUP BY on an indexed column restricted to the organization,
ordered by the grouped value and continued with a keyset cursor (`after` = the last value
shown), so a page costs the same at any table size and nothing counts the whole table:

- contacts with the same email  (index organization, email)
- contacts with the same phone  (index organization, phone)
- contacts with the same name at the same account: grouped per account (index organization,
  account) and compared by a name folded for case, accents and spacing ("José  Núñez" =
  "jose nunez"); the cursor is the last account id looked at
- accounts with the same name (case and spacing folded) or the same tax id
"""

import unicodedata
from dataclasses import dataclass, field

from django.db.models import Count, F
from django.db.models.functions import Lower

from ..models import Account, Contact

KINDS = ("email", "phone", "name")
ACCOUNT_KINDS = ("name", "tax_id")
GROUPS_PER_PAGE = 25
MEMBERS_PER_GROUP = 10
ACCOUNTS_PER_NAME_SCAN = 500
MAX_NAME_SCANS = 4


def fold_name(*parts):
    text = " ".join(part or "" for part in parts)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(text.casefold().split())


@dataclass
class Group:
    kind: str
    key: str
    members: list = field(default_factory=list)


@dataclass
class DuplicatePage:
    groups: list
    next_after: str | None


def _contacts(organization):
    return Contact.objects.filter(organization=organization, archived_at__isnull=True)


def _accounts(organization):
    return Account.objects.filter(organization=organization, archived_at__isnull=True)


def _grouped(queryset, column, *, after, limit, lower=False):
    """The next `limit + 1` values of `column` held by more than one row, in order."""
    rows = (queryset.exclude(**{column: ""})
            .annotate(key=Lower(column) if lower else F(column))
            .values("key").annotate(n=Count("id")).filter(n__gt=1).order_by("key"))
    if after:
        rows = rows.filter(key__gt=after)
    return [row["key"] for row in rows[:limit + 1]]


def _page(keys, limit):
    return keys[:limit], (str(keys[limit - 1]) if len(keys) > limit else None)


def contact_duplicates(*, organization, kind="email", after=None, limit=GROUPS_PER_PAGE):
    """Groups of contacts that look like the same person."""
    base = _contacts(organization)
    if kind == "name":
        return _contact_name_duplicates(organization, after=after, limit=limit)
    column = "phone" if kind == "phone" else "email"
    keys, next_after = _page(_grouped(base, column, after=after, limit=limit), limit)
    members = {}
    if keys:
        for contact in (base.filter(**{f"{column}__in": keys}).select_related("account")
                        .order_by(column, "id")):
            bucket = members.setdefault(getattr(contact, column), [])
            if len(bucket) < MEMBERS_PER_GROUP:
                bucket.append(contact)
    groups = [Group(kind=kind, key=key, members=members.get(key, [])) for key in keys]
    return DuplicatePage(groups=[g for g in groups if len(g.members) > 1],
                         next_after=next_after)


def _contact_name_duplicates(organization, *, after, limit):
    try:
        after_id = int(after) if after else 0
    except ValueError:
        after_id = 0
    groups = []
    cursor = after_id
    for _scan in range(MAX_NAME_SCANS):
        account_ids = list(
            _contacts(organization).filter(account_id__gt=cursor)
            .values("account_id").annotate(n=Count("id")).filter(n__gt=1)
            .order_by("account_id").values_list("account_id", flat=True)
            [:ACCOUNTS_PER_NAME_SCAN])
        if not account_ids:
            cursor = None
            break
        by_key = {}
        for contact in (_contacts(organization).filter(account_id__in=account_ids)
                        .select_related("account").order_by("account_id", "id")):
            key = (contact.account_id, fold_name(contact.first_name, contact.last_name))
            by_key.setdefault(key, []).append(contact)
        for account_id in account_ids:
            for (group_account, name), members in by_key.items():
                if group_account == account_id and len(members) > 1:
                    groups.append(Group(kind="name", key=name,
                                        members=members[:MEMBERS_PER_GROUP]))
            cursor = account_id
            if len(groups) >= limit:
                break
        if len(groups) >= limit:
            break
        if len(account_ids) < ACCOUNTS_PER_NAME_SCAN:
            cursor = None
            break
    return DuplicatePage(groups=groups, next_after=str(cursor) if cursor else None)


def account_duplicates(*, organization, kind="name", after=None, limit=GROUPS_PER_PAGE):
    base = _accounts(organization)
    if kind == "tax_id":
        keys, next_after = _page(_grouped(base, "tax_id", after=after, limit=limit), limit)
        lookup = {"tax_id__in": keys}
    else:
        keys, next_after = _page(_grouped(base, "name", after=after, limit=limit, lower=True),
                                 limit)
        lookup = None
    members = {}
    if keys:
        queryset = (base.filter(**lookup) if lookup else
                    base.annotate(key=Lower("name")).filter(key__in=keys))
        for account in queryset.order_by("id"):
            key = account.tax_id if lookup else account.key
            bucket = members.setdefault(key, [])
            if len(bucket) < MEMBERS_PER_GROUP:
                bucket.append(account)
    groups = [Group(kind=kind, key=key, members=members.get(key, [])) for key in keys]
    return DuplicatePage(groups=[g for g in groups if len(g.members) > 1],
                         next_after=next_after)


def contact_candidates(*, organization, contact, limit=MEMBERS_PER_GROUP * 5):
    """Contacts that may be the same person as `contact`: same email or phone, or the same
    folded name at the same account. Indexed lookups only; at most `limit`."""
    from django.db.models import Q

    condition = Q(pk__in=[])
    if contact.email:
        condition |= Q(email=contact.email)
    if contact.phone:
        condition |= Q(phone=contact.phone)
    if contact.account_id:
        condition |= Q(account_id=contact.account_id)
    name = fold_name(contact.first_name, contact.last_name)
    found = []
    for other in (_contacts(organization).filter(condition).exclude(pk=contact.pk)
                  .select_related("account").order_by("id")[:limit * 4]):
        same_person = ((contact.email and other.email == contact.email)
                       or (contact.phone and other.phone == contact.phone)
                       or fold_name(other.first_name, other.last_name) == name)
        if same_person:
            found.append(other)
        if len(found) >= limit:
            break
    return found
