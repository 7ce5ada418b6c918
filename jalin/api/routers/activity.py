"""The audit log and the event feed of the current organization."""

from ninja import Field, Query, Router, Schema

from jalin.core.events_models import Event
from jalin.core.models import AuditLog
from jalin.tenancy.access import for_org, get_for_org_or_404
from jalin.tenancy.roles import AUDIT_VIEW, EVENTS_VIEW

from ..auth import require
from ..pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, PageParams, paginate
from ..schemas import AuditEntryOut, EventPage

router = Router(tags=["activity"])

MAX_POSITION = 2**63 - 1


class AuditFilters(PageParams):
    action: str | None = Field(None, max_length=100, description="e.g. invitation.created")
    object_type: str | None = Field(None, max_length=100, description="e.g. tenancy.membership")


@router.get("/audit-log", response=Page[AuditEntryOut])
def audit_log(request, filters: Query[AuditFilters]):
    """Who changed what, newest first."""
    membership = require(request, AUDIT_VIEW)
    queryset = for_org(AuditLog, membership.organization)
    if filters.action:
        queryset = queryset.filter(action=filters.action)
    if filters.object_type:
        queryset = queryset.filter(object_type=filters.object_type)
    return paginate(queryset, cursor=filters.cursor, limit=filters.limit, order=("-id",))


@router.get("/audit-log/{entry_id}", response=AuditEntryOut)
def audit_entry(request, entry_id: int):
    membership = require(request, AUDIT_VIEW)
    return get_for_org_or_404(AuditLog, membership.organization, pk=entry_id)


class EventParams(Schema):
    after: int = Field(0, ge=0, le=MAX_POSITION,
                       description="Return events with a position greater than this")
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)


@router.get("/events", response=EventPage)
def event_feed(request, params: Query[EventParams]):
    """Domain events of this organization in commit order, for integrators.

    Poll with `?after=<next_after>`; positions only grow, and an event gets its position once
    it is committed, so a cursor never skips an event that committed late.
    """
    membership = require(request, EVENTS_VIEW)
    events = list(
        for_org(Event, membership.organization)
        .filter(position__isnull=False, position__gt=params.after)
        .order_by("position")[: params.limit + 1]
    )
    has_more = len(events) > params.limit
    events = events[: params.limit]
    return {
        "items": events,
        "next_after": events[-1].position if events else params.after,
        "has_more": has_more,
    }
