"""Reads: filtered, keyset-paginated lists and detail pages with their related rows.

Every list is scoped by organization first and sorted by an indexed key ending in the primary
key, so a page is one LIMIT query (plus one prefetch for tags) at any table size, and nothing
ever counts the whole table.
"""

import json
import math
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import connection
from django.db.models import (
    CharField,
    DateTimeField,
    ExpressionWrapper,
    F,
    Prefetch,
    Q,
    Value,
)
from django.db.models.functions import Concat

from jalin.api.pagination import InvalidCursor, decode_cursor, encode_cursor
from jalin.tenancy.access import for_org

from .custom_fields import definitions_for
from .models import Account, Contact, CustomFieldTarget, Tag

ACCOUNT_SORTS = {"name": ("name", "id"), "updated": ("-updated_at", "-id")}
CONTACT_SORTS = {"name": ("last_name", "first_name", "id"), "updated": ("-updated_at", "-id")}
MAX_SEARCH_LENGTH = 100


@dataclass
class Filters:
    q: str = ""
    status: str = ""
    tier: str = ""
    owner: int | None = None
    tag: str = ""
    account: int | None = None
    relationship_role: str = ""
    custom: dict = field(default_factory=dict)  # key -> value (string equality, or bool)


def _custom_lookups(queryset, organization, target, custom):
    if not custom:
        return queryset
    definitions = {d.key: d for d in definitions_for(organization=organization, target=target)}
    for key, value in custom.items():
        definition = definitions.get(key)
        if definition is None or value in (None, ""):
            continue
        if definition.type == "boolean":
            value = str(value).lower() in ("true", "1", "yes", "on")
        elif definition.type == "number":
            try:
                number = float(value)
            except (TypeError, ValueError):
                return queryset.none()
            if not math.isfinite(number):
                return queryset.none()
            value = int(number) if number.is_integer() else number
        elif definition.type == "multi_choice":
            if connection.vendor == "postgresql":
                # jsonb containment (@>), which a GIN index on `custom` can serve.
                queryset = queryset.filter(custom__contains={key: [str(value)]})
            else:
                queryset = queryset.filter(
                    **{f"custom__{key}__icontains": json.dumps(str(value))})
            continue
        if connection.vendor == "postgresql":
            # Containment, served by the GIN index on `custom` (migration 0005).
            queryset = queryset.filter(custom__contains={key: value})
        else:
            queryset = queryset.filter(**{f"custom__{key}": value})
    return queryset


def accounts_list(*, organization, filters=None, include_archived=False):
    """Accounts matching `filters`, unordered (the paginator orders them)."""
    filters = filters or Filters()
    queryset = for_org(Account, organization).select_related("owner")
    if not include_archived:
        queryset = queryset.filter(archived_at__isnull=True)
    q = filters.q.strip()[:MAX_SEARCH_LENGTH]
    if q:
        queryset = queryset.filter(name__istartswith=q)
    if filters.status:
        queryset = queryset.filter(status=filters.status)
    if filters.tier:
        queryset = queryset.filter(tier=filters.tier)
    if filters.owner:
        queryset = queryset.filter(owner_id=filters.owner)
    if filters.tag:
        queryset = queryset.filter(tags__organization=organization, tags__name=filters.tag)
    queryset = _custom_lookups(queryset, organization, CustomFieldTarget.ACCOUNT, filters.custom)
    return queryset.prefetch_related(Prefetch("tags", queryset=Tag.objects.order_by("name")))


def contacts_list(*, organization, filters=None, include_archived=False):
    filters = filters or Filters()
    queryset = for_org(Contact, organization).select_related("owner", "account")
    if not include_archived:
        queryset = queryset.filter(archived_at__isnull=True)
    q = filters.q.strip()[:MAX_SEARCH_LENGTH]
    if q:
        if "@" in q:
            queryset = queryset.filter(email=q.lower())
        elif q.startswith("+") and q[1:].replace(" ", "").isdigit():
            queryset = queryset.filter(phone=q.replace(" ", ""))
        else:
            queryset = queryset.filter(Q(last_name__istartswith=q) | Q(first_name__istartswith=q))
    if filters.owner:
        queryset = queryset.filter(owner_id=filters.owner)
    if filters.account:
        queryset = queryset.filter(account_id=filters.account)
    if filters.relationship_role:
        queryset = queryset.filter(relationship_role=filters.relationship_role)
    return _custom_lookups(queryset, organization, CustomFieldTarget.CONTACT, filters.custom)


def account_detail(*, organization, pk, contacts_limit=50, children_limit=50):
    """The account with owner, parent, buyer organization, tags, its first contacts and child
    accounts: a fixed number of queries however many rows hang off it."""
    from jalin.tenancy.access import get_for_org_or_404

    account = get_for_org_or_404(
        Account.objects.select_related("owner", "parent", "hub_organization")
        .prefetch_related(Prefetch("tags", queryset=Tag.objects.order_by("name")))
        .filter(archived_at__isnull=True),
        organization, pk=pk,
    )
    contacts = list(
        Contact.objects.filter(organization=organization, account=account,
                               archived_at__isnull=True)
        .select_related("owner").order_by("last_name", "first_name", "id")[:contacts_limit]
    )
    children = list(
        Account.objects.filter(organization=organization, parent=account,
                               archived_at__isnull=True)
        .order_by("name", "id")[:children_limit]
    )
    return account, contacts, children


def contact_detail(*, organization, pk):
    from jalin.tenancy.access import get_for_org_or_404

    return get_for_org_or_404(
        Contact.objects.select_related("owner", "account").filter(archived_at__isnull=True),
        organization, pk=pk,
    )


def custom_values_for_display(definitions, custom):
    """[(definition, value)] in definition order, for detail pages."""
    from .custom_fields import display_value

    return [(definition, display_value(definition, (custom or {}).get(definition.key)))
            for definition in definitions]


# --- Keyset pages for HTML (both directions) ----------------------------------------------


@dataclass
class Page:
    items: list
    next_cursor: str | None = None
    previous_cursor: str | None = None

    @property
    def is_paginated(self):
        return bool(self.next_cursor or self.previous_cursor)

    def __iter__(self):
        return iter(self.items)

    def __bool__(self):
        return bool(self.items)


def _after(fields, values, descending):
    """Rows strictly after `values` in the (fields...) order, as one row-value comparison
    `(last_name, first_name, id) > (%s, %s, %s)`. PostgreSQL uses a row comparison as an index
    bound, so a page deep in a million-row list starts right at its cursor; the equivalent
    OR-expansion (`a > x OR (a = x AND b > y) ...`) made it bitmap-scan every row after the
    cursor and sort them (12 s at page 50 of 1M contacts, see docs/performance.md)."""
    from django.db.models import F
    from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan, TupleLessThan

    lookup = TupleLessThan if descending else TupleGreaterThan
    return lookup(Tuple(*(F(name) for name in fields)), list(values))


def _fenced(order):
    """The same order written so that no index can provide it (`name || ''`, `id + 0`).

    For a filtered list whose matches are few and far apart in the sort index (a name
    prefix late in the alphabet), PostgreSQL's LIMIT costing assumes matches are spread
    evenly and walks the whole (organization, name) index; with the order fenced it reads
    the matches through their own (prefix) index and sorts just those."""
    fenced = []
    for name in order:
        descending, field = name.startswith("-"), name.lstrip("-")
        if field in ("id", "pk"):
            expression = F("id") + 0
        elif field.endswith("_at"):
            expression = ExpressionWrapper(F(field) + Value(timedelta(0)),
                                           output_field=DateTimeField())
        else:
            expression = Concat(F(field), Value(""), output_field=CharField())
        fenced.append(expression.desc() if descending else expression.asc())
    return fenced


def keyset_page(queryset, *, order, after=None, before=None, per_page=50, fence=False):
    """One page in `order`; `after`/`before` are cursors from the previous page's links.
    A cursor that does not decode (mangled, or from another sort) starts from the top.
    `fence=True` (on PostgreSQL) keeps the planner from walking the sort index: use it when
    a selective filter has its own index (e.g. the name-prefix search)."""
    fields = [name.lstrip("-") for name in order]
    descending = order[0].startswith("-")
    reverse_order = [name[1:] if name.startswith("-") else f"-{name}" for name in order]
    if fence and connection.vendor == "postgresql":
        sql_order, sql_reverse = _fenced(order), _fenced(reverse_order)
    else:
        sql_order, sql_reverse = order, reverse_order

    def values_of(row):
        return [getattr(row, name) for name in fields]

    def decode(cursor):
        try:
            return decode_cursor(cursor, model=queryset.model, order=list(order))
        except InvalidCursor:
            return None

    before_values = decode(before) if before else None
    after_values = decode(after) if after and before_values is None else None
    if before_values is not None:
        rows = list(queryset.filter(_after(fields, before_values, not descending))
                    .order_by(*sql_reverse)[: per_page + 1])
        has_previous = len(rows) > per_page
        items = list(reversed(rows[:per_page]))
        has_next = True
    else:
        page_qs = queryset.order_by(*sql_order)
        if after_values is not None:
            page_qs = page_qs.filter(_after(fields, after_values, descending))
        rows = list(page_qs[: per_page + 1])
        has_next = len(rows) > per_page
        items = rows[:per_page]
        has_previous = after_values is not None
    if not items:
        return Page(items=[])
    return Page(
        items=items,
        next_cursor=encode_cursor(list(order), values_of(items[-1])) if has_next else None,
        previous_cursor=(encode_cursor(list(order), values_of(items[0]))
                         if has_previous else None),
    )
