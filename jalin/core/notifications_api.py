"""/api/v1/notifications: the caller's own notifications in the acting organization."""

from datetime import datetime

from ninja import Field, Query, Router, Schema

from jalin.api.auth import require
from jalin.api.pagination import Page, PageParams, paginate
from jalin.api.schemas import Input

from .models import Notification
from .notifications import mark_read

router = Router(tags=["notifications"])


class NotificationOut(Schema):
    id: int
    kind: str
    title: str
    body: str
    url: str
    created_at: datetime
    read_at: datetime | None


class NotificationFilters(PageParams):
    unread: bool | None = Field(None, description="true: only unread ones")


class ReadIn(Input):
    ids: list[int] | None = Field(None, max_length=500)
    all: bool = False


class ReadOut(Schema):
    marked: int


@router.get("/notifications", response=Page[NotificationOut])
def notification_list(request, filters: Query[NotificationFilters]):
    """Newest first."""
    membership = require(request)
    queryset = Notification.objects.filter(user=request.user,
                                           organization=membership.organization)
    if filters.unread:
        queryset = queryset.filter(read_at__isnull=True)
    return paginate(queryset, cursor=filters.cursor, limit=filters.limit,
                    order=("-created_at", "-id"))


@router.post("/notifications/read", response=ReadOut)
def notification_read(request, payload: ReadIn):
    """Mark `ids` (the caller's own; others are ignored) or, with `all: true`, every unread
    notification as read. Answers how many changed."""
    membership = require(request)
    if payload.all:
        marked = mark_read(user=request.user, organization=membership.organization)
    else:
        ids = [i for i in (payload.ids or []) if 0 < i < 2**63]
        marked = mark_read(user=request.user, organization=membership.organization,
                           ids=ids) if ids else 0
    return {"marked": marked}
