"""/api/v1/crm/ endpoints for search, saved views and bulk changes.

- `GET /crm/search?q=&kinds=&limit=`: ranked hits (kind, id, title, subtitle, url); a query
  under two characters answers an empty list.
- `GET/POST /crm/saved-views`, `DELETE /crm/saved-views/{view_id}` (own views only).
- `POST /crm/accounts/bulk`, `POST /crm/contacts/bulk`: at most 500 ids; any id outside the
  organization is a 422 on `ids` and nothing changes.
"""

from typing import Any, Literal

from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from jalin.api.auth import require
from jalin.api.errors import ProblemError
from jalin.api.idempotency import idempotent
from jalin.api.schemas import Input
from jalin.tenancy.roles import CRM_EDIT, CRM_VIEW, has_perm

from ..models import SavedView
from . import bulk, saved_views, selectors
from .index import KINDS

router = Router(tags=["crm"])

Target = Literal["account", "contact"]


class SearchParams(Schema):
    q: str = Field("", max_length=200, description="at least 2 characters (max 100 used)")
    kinds: str | None = Field(None, max_length=100,
                              description=f"comma-separated, any of {', '.join(KINDS)}")
    limit: int = Field(10, ge=1, le=selectors.MAX_LIMIT)


class HitOut(Schema):
    kind: str
    id: int
    title: str
    subtitle: str
    url: str


class SearchOut(Schema):
    query: str
    results: list[HitOut]


@router.get("/crm/search", response=SearchOut)
def search(request, params: Query[SearchParams]):
    """Accounts, contacts, activities and documents matching `q` (every word as a prefix;
    accents ignored; phone numbers in any format; typos tolerated on PostgreSQL), best
    first."""
    membership = require(request, CRM_VIEW)
    hits = selectors.search(organization=membership.organization, query=params.q,
                            kinds=params.kinds, limit=params.limit)
    return {"query": selectors.clean_query(params.q), "results": hits}


# --- Saved views -------------------------------------------------------------------------


class SavedViewOut(Schema):
    id: int
    target: str
    name: str
    query: dict[str, str]
    shared: bool
    owner_id: int
    mine: bool = False


class SavedViewIn(Input):
    target: Target
    name: str = Field(min_length=1, max_length=100)
    query: dict[str, str | int | bool] = Field(default_factory=dict)
    shared: bool = False


class SavedViewParams(Schema):
    target: Target | None = None


def _out(view, user):
    return {"id": view.pk, "target": view.target, "name": view.name, "query": view.query,
            "shared": view.shared, "owner_id": view.owner_id, "mine": view.owner_id == user.pk}


@router.get("/crm/saved-views", response=list[SavedViewOut])
def saved_view_list(request, params: Query[SavedViewParams]):
    """My views and the team's shared views (at most 200), by name."""
    membership = require(request, CRM_VIEW)
    views = saved_views.visible_views(organization=membership.organization,
                                      user=request.user, target=params.target)[:200]
    return [_out(view, request.user) for view in views]


@router.post("/crm/saved-views", response={201: SavedViewOut})
@idempotent
def saved_view_post(request, payload: SavedViewIn):
    """Anyone who reads the CRM may save a private view; sharing needs crm.edit."""
    membership = require(request, CRM_VIEW)
    if payload.shared and not has_perm(membership, CRM_EDIT):
        raise ProblemError(403, code="permission_denied",
                           detail=_("Your role does not allow this (needs %(perm)s).")
                           % {"perm": CRM_EDIT})
    view = saved_views.saved_view_create(
        organization=membership.organization, actor=request.user, target=payload.target,
        name=payload.name, query=payload.query, shared=payload.shared)
    return Status(201, _out(view, request.user))


@router.delete("/crm/saved-views/{view_id}", response={204: None})
@idempotent
def saved_view_delete(request, view_id: int):
    """Delete one of my views (someone else's, even shared, is 404 here)."""
    from jalin.tenancy.access import get_for_org_or_404

    membership = require(request, CRM_VIEW)
    view = get_for_org_or_404(SavedView.objects.filter(owner=request.user),
                              membership.organization, pk=view_id)
    saved_views.saved_view_delete(view=view, actor=request.user)
    return Status(204, None)


# --- Bulk --------------------------------------------------------------------------------


class AccountBulkIn(Input):
    ids: list[int] = Field(min_length=1, max_length=bulk.MAX_IDS)
    owner_id: int | None = Field(None, ge=1, le=2**63 - 1,
                                 description="send null to clear; leave out to keep")
    add_tags: list[str] = Field(default_factory=list, max_length=20)
    remove_tags: list[str] = Field(default_factory=list, max_length=20)


class ContactBulkIn(Input):
    ids: list[int] = Field(min_length=1, max_length=bulk.MAX_IDS)
    owner_id: int | None = Field(None, ge=1, le=2**63 - 1,
                                 description="send null to clear; leave out to keep")
    custom: dict[str, Any] | None = Field(
        None, description="custom field values to set (merged; null clears a key)")


class BulkOut(Schema):
    changed: int


@router.post("/crm/accounts/bulk", response=BulkOut)
@idempotent
def account_bulk(request, payload: AccountBulkIn):
    """Assign an owner and/or add and remove tags on up to 500 accounts, in one transaction.
    Each changed account gets an audit row and a `crm.account.updated` event."""
    membership = require(request, CRM_EDIT)
    sent = payload.model_dump(exclude_unset=True)
    changed = bulk.accounts_bulk_update(
        organization=membership.organization, actor=request.user, ids=payload.ids,
        owner=sent.get("owner_id", bulk.UNCHANGED),
        add_tags=payload.add_tags, remove_tags=payload.remove_tags)
    return {"changed": changed}


@router.post("/crm/contacts/bulk", response=BulkOut)
@idempotent
def contact_bulk(request, payload: ContactBulkIn):
    """Assign (or clear) the owner and/or set custom field values of up to 500 contacts, in
    one transaction. Each changed contact gets an audit row and a `crm.contact.updated`
    event."""
    membership = require(request, CRM_EDIT)
    sent = payload.model_dump(exclude_unset=True)
    changed = bulk.contacts_bulk_update(
        organization=membership.organization, actor=request.user, ids=payload.ids,
        owner=sent.get("owner_id", bulk.UNCHANGED), custom=payload.custom)
    return {"changed": changed}
