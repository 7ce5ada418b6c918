"""Keyset ("seek") pagination for HTML lists: newer/older links, never a COUNT(*).

Lists are shown newest first by a unique, indexed integer key (the primary key by default).
`?before=<key>` shows the next older page, `?after=<key>` the next newer one. Each page costs
one LIMIT query plus at most one EXISTS probe, however large the table is.
"""

from dataclasses import dataclass, field

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


@dataclass
class KeysetPage:
    items: list = field(default_factory=list)
    has_newer: bool = False
    has_older: bool = False
    newer_cursor: int | None = None
    older_cursor: int | None = None

    @property
    def is_paginated(self):
        return self.has_newer or self.has_older

    def __iter__(self):
        return iter(self.items)

    def __len__(self):
        return len(self.items)

    def __bool__(self):
        return bool(self.items)


def _cursor(params, name):
    raw = params.get(name, "")
    if not raw:
        return None
    try:
        value = int(raw)
    except (TypeError, ValueError):
        return None  # A mangled cursor just starts from the newest page.
    return value if value >= 0 else None


def keyset_paginate(queryset, params, *, key="pk", per_page=DEFAULT_PAGE_SIZE) -> KeysetPage:
    """One page of `queryset`, newest first by `key`; `params` is request.GET."""
    per_page = max(1, min(int(per_page), MAX_PAGE_SIZE))
    before = _cursor(params, "before")
    after = _cursor(params, "after") if before is None else None

    if after is not None:
        # Walk forward (ascending) from the cursor, then show the rows newest first.
        rows = list(queryset.filter(**{f"{key}__gt": after}).order_by(key)[: per_page + 1])
        has_newer = len(rows) > per_page
        items = list(reversed(rows[:per_page]))
        has_older = queryset.filter(**{f"{key}__lte": after}).exists()
    else:
        page_qs = queryset.order_by(f"-{key}")
        if before is not None:
            page_qs = page_qs.filter(**{f"{key}__lt": before})
        rows = list(page_qs[: per_page + 1])
        has_older = len(rows) > per_page
        items = rows[:per_page]
        has_newer = before is not None and queryset.filter(**{f"{key}__gte": before}).exists()

    def key_of(obj):
        return getattr(obj, "pk" if key == "pk" else key)

    return KeysetPage(
        items=items,
        has_newer=has_newer and bool(items),
        has_older=has_older and bool(items),
        newer_cursor=key_of(items[0]) if items else None,
        older_cursor=key_of(items[-1]) if items else None,
    )
