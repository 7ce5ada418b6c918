"""Reads of the timeline: one keyset page of an account's or contact's lines, newest first.

A page is a fixed number of queries whatever the timeline's length: the LIMIT query (with the
actor joined), plus one probe per linkable record type (activities, documents) to know which
of the page's records still exist. An account's page is one range scan of the
`crm_timeline_account` index (its contacts' lines carry the account too, see consumer.py).
"""

from dataclasses import dataclass, field

from django.apps import apps

from jalin.api.pagination import paginate

from ..models import TimelineEntry
from . import render
from .consumer import CATEGORIES

PER_PAGE = 20
ORDER = ("-occurred_at", "-id")


@dataclass
class TimelineLine:
    entry: TimelineEntry
    sentence: str
    icon: str
    category_label: str
    url: str = ""

    def __getattr__(self, name):
        return getattr(self.entry, name)


@dataclass
class TimelinePage:
    lines: list = field(default_factory=list)
    next_cursor: str | None = None

    def __iter__(self):
        return iter(self.lines)

    def __len__(self):
        return len(self.lines)


def timeline_queryset(*, organization, account=None, contact=None, category=""):
    queryset = TimelineEntry.objects.filter(organization=organization).select_related("actor")
    if contact is not None:
        queryset = queryset.filter(contact=contact)
    elif account is not None:
        queryset = queryset.filter(account=account)
    else:
        return queryset.none()
    if category:
        queryset = queryset.filter(category=category) if category in CATEGORIES \
            else queryset.none()
    return queryset


def _existing_records(organization, entries):
    """{aggregate type: ids still present} for the page's linkable records (one query each)."""
    wanted = {}
    for entry in entries:
        data = entry.data or {}
        aggregate_type = data.get("aggregate_type")
        if aggregate_type in render.RECORD_LINKS:
            try:
                wanted.setdefault(aggregate_type, set()).add(int(data.get("aggregate_id")))
            except (TypeError, ValueError):
                continue
    existing = {}
    for aggregate_type, ids in wanted.items():
        model = apps.get_model(aggregate_type)
        ids = [pk for pk in ids if 0 < pk < 2**63]
        existing[aggregate_type] = set(
            model.objects.filter(organization=organization, pk__in=ids)
            .values_list("pk", flat=True))
    return existing


def timeline_page(*, organization, account=None, contact=None, category="", cursor=None,
                  limit=PER_PAGE):
    """One page of lines. A bad cursor raises jalin.api.pagination.InvalidCursor."""
    queryset = timeline_queryset(organization=organization, account=account, contact=contact,
                                 category=category)
    page = paginate(queryset, cursor=cursor, limit=limit, order=ORDER)
    existing = _existing_records(organization, page.items)
    lines = [
        TimelineLine(entry=entry, sentence=render.sentence(entry),
                     icon=render.icon(entry.category),
                     category_label=render.category_label(entry.category),
                     url=render.record_url(entry, existing))
        for entry in page.items
    ]
    return TimelinePage(lines=lines, next_cursor=page.next_cursor)


def category_choices():
    return [(category, render.category_label(category)) for category in CATEGORIES]
