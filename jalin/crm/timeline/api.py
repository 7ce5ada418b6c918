"""/api/v1/crm/ endpoints for the timeline: an account's or contact's lines, newest first.

`GET /crm/accounts/{account_id}/timeline` (its own lines and its contacts') and
`GET /crm/contacts/{contact_id}/timeline`; `?category=` filters (record, activity, document,
thread, hub, service, import), `?cursor=` is `next_cursor` of the previous page.
"""

from datetime import datetime
from typing import Any, Literal

from ninja import Field, Query, Router, Schema

from jalin.api.auth import require
from jalin.api.pagination import Page, PageParams
from jalin.tenancy.access import get_for_org_or_404
from jalin.tenancy.roles import CRM_VIEW

from ..models import Account, Contact
from . import selectors
from .consumer import CATEGORIES

router = Router(tags=["crm"])

Category = Literal[tuple(CATEGORIES)]


class TimelineParams(PageParams):
    limit: int = Field(selectors.PER_PAGE, ge=1, le=200)
    category: Category | None = None


class TimelineEntryOut(Schema):
    id: int
    event_id: int
    event_type: str
    category: str
    sentence: str = Field(description="The line in the caller's language")
    summary: str
    account_id: int | None
    contact_id: int | None
    actor_id: int | None
    actor: str | None
    data: dict[str, Any]
    url: str = Field(description="Page of the activity/document the line is about, if any")
    occurred_at: datetime


def _out(line):
    entry = line.entry
    return {
        "id": entry.pk, "event_id": entry.event_id, "event_type": entry.event_type,
        "category": entry.category, "sentence": line.sentence, "summary": entry.summary,
        "account_id": entry.account_id, "contact_id": entry.contact_id,
        "actor_id": entry.actor_id,
        "actor": entry.actor.get_username() if entry.actor_id else None,
        "data": entry.data or {}, "url": line.url, "occurred_at": entry.occurred_at,
    }


def _page(organization, params, **record):
    page = selectors.timeline_page(organization=organization, category=params.category or "",
                                   cursor=params.cursor, limit=params.limit, **record)
    return {"items": [_out(line) for line in page.lines], "next_cursor": page.next_cursor}


@router.get("/crm/accounts/{account_id}/timeline", response=Page[TimelineEntryOut])
def account_timeline(request, account_id: int, params: Query[TimelineParams]):
    membership = require(request, CRM_VIEW)
    account = get_for_org_or_404(Account.objects.filter(archived_at__isnull=True),
                                 membership.organization, pk=account_id)
    return _page(membership.organization, params, account=account)


@router.get("/crm/contacts/{contact_id}/timeline", response=Page[TimelineEntryOut])
def contact_timeline(request, contact_id: int, params: Query[TimelineParams]):
    membership = require(request, CRM_VIEW)
    contact = get_for_org_or_404(Contact.objects.filter(archived_at__isnull=True),
                                 membership.organization, pk=contact_id)
    return _page(membership.organization, params, contact=contact)
