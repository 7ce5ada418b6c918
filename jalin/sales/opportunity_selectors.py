"""Reads for opportunities: the kanban board, the filtered list (keyset pages, CSV), stage
history with time in stage.

Designed for hundreds of thousands of open deals per organization:

- Board: the column tallies (`StageTally`, kept by the services) give every column's count
  and sum per currency — a grouped count of the matching deals when the board is filtered
  by owner, team or search; then each
  open stage's first `BOARD_CARDS` cards come from the partial board index
  (organization, pipeline, stage, board_rank, id WHERE status = open) — one LIMITed index
  range per column, so the page costs 2 + number of stages queries whatever the data size.
  "Load more" in a column continues by keyset after the last (board_rank, id).
- List: filters (owner, team, stage, status, close date range, account, search) and sorts
  with keyset pages over indexed orders (`SORTS`); no COUNT(*).
"""

import base64
import binascii
import datetime
import json
import math
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db.models import Count, F, Q, Sum
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan, TupleLessThan
from django.utils.translation import gettext as _

from jalin.api.pagination import InvalidCursor, KeysetPage
from jalin.core.params import int_param
from jalin.tenancy.access import for_org

from . import board_tally
from .models import (
    Opportunity,
    OpportunityStageChange,
    OpportunityStatus,
    PipelineStage,
    StageKind,
)

BOARD_CARDS = 25
MAX_BOARD_CARDS = 100
BOARD_ORDER = ("board_rank", "id")
SORTS = {
    "newest": ("-id",),
    "oldest": ("id",),
    "close_date": ("close_date", "id"),
    "close_date_desc": ("-close_date", "-id"),
    "amount": ("-amount", "-id"),
    "stage_age": ("stage_entered_at", "id"),
}
STATUS_FILTERS = ("open", "won", "lost", "closed", "all")
SEARCH_MAX = 100
CENT = Decimal("0.01")


@dataclass
class BoardColumn:
    stage: PipelineStage
    cards: list
    count: int = 0
    totals: list = field(default_factory=list)  # [(currency, sum)], biggest first
    next_cursor: str | None = None


def _money(value):
    return Decimal(value or 0).quantize(CENT)


def _date(value):
    try:
        return datetime.date.fromisoformat(str(value).strip())
    except (TypeError, ValueError):
        return None


def opportunity_filter(queryset, *, user=None, owner="", team="", stage="", status="",
                       close_from="", close_to="", account="", q="", pipeline=""):
    """Apply the list/board filters (strings as they come from a query string; unknown
    values are ignored rather than failing)."""
    if owner == "mine" and user is not None:
        queryset = queryset.filter(owner=user)
    elif owner == "none":
        queryset = queryset.filter(owner__isnull=True)
    elif owner_id := int_param(owner, positive=True):
        queryset = queryset.filter(owner_id=owner_id)
    for column, value in (("team_id", team), ("pipeline_id", pipeline), ("stage_id", stage)):
        if number := int_param(value, positive=True):
            queryset = queryset.filter(**{column: number})
    if status == "open" or status in ("", None):
        queryset = queryset.filter(status=OpportunityStatus.OPEN)
    elif status in (OpportunityStatus.WON, OpportunityStatus.LOST):
        queryset = queryset.filter(status=status)
    elif status == "closed":
        queryset = queryset.filter(status__in=(OpportunityStatus.WON, OpportunityStatus.LOST))
    if _date(close_from):
        queryset = queryset.filter(close_date__gte=_date(close_from))
    if _date(close_to):
        queryset = queryset.filter(close_date__lte=_date(close_to))
    if account_id := int_param(account, positive=True):
        queryset = queryset.filter(account_id=account_id)
    q = " ".join(str(q or "").split())[:SEARCH_MAX]
    if q:
        queryset = queryset.filter(Q(name__icontains=q) | Q(account__name__icontains=q))
    return queryset


def opportunities_for(organization):
    return for_org(Opportunity, organization).select_related(
        "account", "owner", "stage", "team")


def _encode(order, row):
    values = [str(getattr(row, name.lstrip("-"))) for name in order]
    raw = json.dumps([list(order), values], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor, order):
    """Typed sort values of a list cursor (any field type: amounts are Decimals, ranks
    floats), or InvalidCursor."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        if data[0] != list(order) or len(data[1]) != len(order):
            raise ValueError(cursor)
        values = []
        for name, value in zip(order, data[1], strict=True):
            if not isinstance(value, str) or len(value) > 40:
                raise ValueError(value)
            typed = Opportunity._meta.get_field(name.lstrip("-")).to_python(value)
            if typed is None or (isinstance(typed, float) and not math.isfinite(typed)):
                raise ValueError(value)
            if isinstance(typed, Decimal) and not typed.is_finite():
                raise ValueError(value)
            values.append(typed)
    except (binascii.Error, UnicodeError, ValueError, TypeError, IndexError, KeyError,
            ValidationError, FieldDoesNotExist):
        raise InvalidCursor() from None
    return values


def keyset_page(queryset, *, order, cursor=None, limit=50):
    """Like jalin.api.pagination.paginate, for sorts over Decimal/float columns too."""
    fields = [name.lstrip("-") for name in order]
    descending = order[0].startswith("-")
    if cursor:
        values = _decode(cursor, order)
        lookup = TupleLessThan if descending else TupleGreaterThan
        queryset = queryset.filter(lookup(Tuple(*(F(name) for name in fields)), values))
    rows = list(queryset.order_by(*order)[:limit + 1])
    next_cursor = _encode(order, rows[limit - 1]) if len(rows) > limit else None
    return KeysetPage(items=rows[:limit], next_cursor=next_cursor)


def opportunity_list(*, organization, user=None, sort="newest", cursor=None, limit=50,
                     **filters):
    """One keyset page. A bad cursor raises jalin.api.pagination.InvalidCursor."""
    queryset = opportunity_filter(opportunities_for(organization), user=user, **filters)
    return keyset_page(queryset, cursor=cursor, limit=limit,
                       order=SORTS.get(sort, SORTS["newest"]))


def opportunity_export_rows(*, organization, user=None, sort="newest", limit=50_000,
                            **filters):
    queryset = opportunity_filter(opportunities_for(organization), user=user, **filters)
    return queryset.order_by(*SORTS.get(sort, SORTS["newest"]))[:limit].iterator(
        chunk_size=500)


def _column_queryset(organization, pipeline, stage_id):
    return (for_org(Opportunity, organization)
            .filter(pipeline=pipeline, stage_id=stage_id, status=OpportunityStatus.OPEN)
            .select_related("account", "owner"))


def encode_board_cursor(card):
    return f"{card.board_rank!r}~{card.pk}"


def decode_board_cursor(cursor):
    """(board_rank, id) from a column cursor, or InvalidCursor."""
    try:
        rank_text, pk_text = str(cursor).split("~", 1)
        rank, pk = float(rank_text), int(pk_text)
    except (TypeError, ValueError):
        raise InvalidCursor() from None
    if not math.isfinite(rank) or not 0 < pk < 2**63:
        raise InvalidCursor()
    return rank, pk


def board_column_page(*, organization, pipeline, stage, cursor=None, limit=BOARD_CARDS,
                      user=None, **filters):
    """Cards of one column after `cursor` (keyset over board_rank, id; the generic API
    cursor carries no floats, so the column has its own "rank~id" cursor)."""
    limit = max(1, min(int(limit or BOARD_CARDS), MAX_BOARD_CARDS))
    queryset = opportunity_filter(_column_queryset(organization, pipeline, stage.pk),
                                  user=user, status="open", **filters)
    if cursor:
        rank, pk = decode_board_cursor(cursor)
        queryset = queryset.filter(Q(board_rank__gt=rank) | Q(board_rank=rank, pk__gt=pk))
    rows = list(queryset.order_by(*BOARD_ORDER)[:limit + 1])
    next_cursor = encode_board_cursor(rows[limit - 1]) if len(rows) > limit else None
    return KeysetPage(items=rows[:limit], next_cursor=next_cursor)


def board(*, organization, pipeline, user=None, limit=BOARD_CARDS, **filters):
    """Columns of the pipeline's open stages: count and sums, the first `limit` cards."""
    filters.pop("status", None)
    filters.pop("stage", None)
    stages = [stage for stage in PipelineStage.objects.filter(pipeline=pipeline)
              .order_by("position", "id") if stage.kind == StageKind.OPEN]
    stats = {}
    if any(str(value or "").strip() for value in filters.values()):
        # Filtered (owner, team, search…): count the matching open deals.
        base = opportunity_filter(
            for_org(Opportunity, organization).filter(pipeline=pipeline), user=user,
            status="open", **filters)
        rows = ((row["stage_id"], row["currency"], row["count"], row["total"]) for row in
                base.order_by().values("stage_id", "currency")
                .annotate(count=Count("id"), total=Sum("amount")))
    else:  # the whole pipeline: the column tallies kept by the services
        rows = ((stage_id, currency, count, total) for stage_id, columns in
                board_tally.tallies(organization=organization, pipeline=pipeline).items()
                for currency, count, total in columns)
    for stage_id, currency, count, total in rows:
        entry = stats.setdefault(stage_id, {"count": 0, "totals": []})
        entry["count"] += count
        entry["totals"].append((currency, _money(total)))
    columns = []
    for stage in stages:
        entry = stats.get(stage.pk, {"count": 0, "totals": []})
        page = None
        if entry["count"]:
            page = board_column_page(organization=organization, pipeline=pipeline,
                                     stage=stage, limit=limit, user=user, **filters)
        columns.append(BoardColumn(
            stage=stage, cards=page.items if page else [], count=entry["count"],
            totals=sorted(entry["totals"], key=lambda item: (-item[1], item[0])),
            next_cursor=page.next_cursor if page else None))
    return columns


def closed_summary(*, organization, pipeline, since):
    """Won/lost counts and sums since a date (the board's footer), one grouped query."""
    rows = (for_org(Opportunity, organization)
            .filter(pipeline=pipeline, status__in=(OpportunityStatus.WON,
                                                   OpportunityStatus.LOST),
                    closed_at__gte=since)
            .order_by().values("status", "currency").annotate(count=Count("id"),
                                                              total=Sum("amount")))
    summary = {OpportunityStatus.WON: [], OpportunityStatus.LOST: []}
    for row in rows:
        summary[row["status"]].append((row["currency"], row["count"], _money(row["total"])))
    return summary


def stage_history(opportunity):
    """The stage changes, oldest first, each with how long the deal stayed in the stage it
    entered (`seconds_in_stage`; for the current stage: until now)."""
    from django.utils import timezone

    changes = list(OpportunityStageChange.objects.filter(opportunity=opportunity)
                   .select_related("from_stage", "to_stage", "changed_by")
                   .order_by("changed_at", "id"))
    now = timezone.now()
    for index, change in enumerate(changes):
        if index + 1 < len(changes):
            change.seconds_in_stage = changes[index + 1].seconds_in_previous
            change.is_current = False
        else:
            change.is_current = opportunity.status == OpportunityStatus.OPEN
            end = now if change.is_current else (opportunity.closed_at or now)
            change.seconds_in_stage = max(0, int((end - change.changed_at).total_seconds()))
        change.duration = duration_text(change.seconds_in_stage)
    return changes


def duration_text(seconds):
    """'3 d 4 h', '5 h 12 min', '40 min'."""
    seconds = int(seconds or 0)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return _("%(days)s d %(hours)s h") % {"days": days, "hours": hours}
    if hours:
        return _("%(hours)s h %(minutes)s min") % {"hours": hours, "minutes": minutes}
    return _("%(minutes)s min") % {"minutes": minutes}


__all__ = ["board", "board_column_page", "opportunity_list", "stage_history"]
