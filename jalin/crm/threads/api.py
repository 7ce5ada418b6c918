"""/api/v1/crm/ endpoints for threads: posts and replies on accounts, contacts and activities.

The same services and selectors as the pages. Foreign or missing ids in the path are 404;
foreign records or parents in a body (or the list's query) are 422 naming the field; PATCH
and DELETE take `version` and answer 409 `stale` if the post changed since it was read.
Only the author edits a post; the author or an org admin deletes it (others: 403).
"""

from datetime import datetime

from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from jalin.api.auth import require
from jalin.api.idempotency import idempotent
from jalin.api.pagination import Page, PageParams, paginate
from jalin.api.schemas import MAX_INT, Input
from jalin.tenancy.access import get_for_org_or_404
from jalin.tenancy.roles import CRM_EDIT, CRM_VIEW

from ..models import Comment
from ..records import record_named_by_ids
from . import selectors, services

router = Router(tags=["crm"])

BigId = Field(None, ge=1, le=2**63 - 1)


class MentionOut(Schema):
    id: int
    username: str


class CommentOut(Schema):
    id: int
    account_id: int | None
    contact_id: int | None
    activity_id: int | None
    parent_id: int | None = Field(description="The top-level post this replies to")
    author_id: int | None
    author_username: str | None
    body: str = Field(description="Plain text; empty once deleted")
    mentions: list[MentionOut]
    created_at: datetime
    edited_at: datetime | None
    deleted_at: datetime | None
    version: int = Field(description="Send back in PATCH/DELETE; a stale version gets 409")

    @staticmethod
    def resolve_author_username(obj):
        return obj.author.username if obj.author_id else None

    @staticmethod
    def resolve_mentions(obj):
        return [{"id": user.pk, "username": user.username} for user in obj.mentions.all()]


class PostOut(CommentOut):
    replies: list[CommentOut] = Field(description="Oldest first; empty for a reply")

    @staticmethod
    def resolve_replies(obj):
        return list(obj.replies.all()) if obj.parent_id is None else []


class RevisionOut(Schema):
    id: int
    body: str
    edited_by_id: int | None
    edited_at: datetime = Field(description="When this text was replaced")


class ThreadFilters(PageParams):
    account_id: int | None = BigId
    contact_id: int | None = BigId
    activity_id: int | None = BigId


class CommentIn(Input):
    account_id: int | None = BigId
    contact_id: int | None = BigId
    activity_id: int | None = BigId
    parent_id: int | None = BigId
    body: str = Field(min_length=1, max_length=services.MAX_BODY)


class CommentPatchIn(Input):
    version: int = Field(ge=1, le=MAX_INT)
    body: str = Field(min_length=1, max_length=services.MAX_BODY)


class DeleteParams(Schema):
    version: int | None = Field(None, ge=1, le=MAX_INT,
                                description="Refuse with 409 if the post changed since")


def _replies():
    return Prefetch("replies", queryset=selectors._with_people(
        Comment.objects.order_by("created_at", "id")))


def _comment(organization, comment_id):
    return get_for_org_or_404(
        selectors.comment_for_org(organization).prefetch_related(_replies()), organization,
        pk=comment_id)


@router.get("/crm/comments", response=Page[PostOut])
def comment_list(request, filters: Query[ThreadFilters]):
    """The thread of one record (name exactly one of `account_id`, `contact_id`,
    `activity_id`): top-level posts newest first, each with its replies oldest first."""
    membership = require(request, CRM_VIEW)
    organization = membership.organization
    record = record_named_by_ids(organization=organization, data=filters.model_dump())
    return paginate(selectors.thread_posts(organization=organization, record=record),
                    cursor=filters.cursor, limit=filters.limit, order=selectors.POST_ORDER)


@router.post("/crm/comments", response={201: PostOut})
@idempotent
def comment_post(request, payload: CommentIn):
    """Post on a record, or reply with `parent_id` (a post of the same record; a reply to a
    reply joins its top-level post). `@username` mentions notify active colleagues."""
    membership = require(request, CRM_EDIT)
    organization = membership.organization
    record = record_named_by_ids(organization=organization, data=payload.model_dump())
    comment = services.comment_post(organization=organization, actor=request.user,
                                    record=record, body=payload.body,
                                    parent=payload.parent_id)
    return Status(201, _comment(organization, comment.pk))


@router.get("/crm/comments/{comment_id}", response=PostOut)
def comment_detail(request, comment_id: int):
    membership = require(request, CRM_VIEW)
    return _comment(membership.organization, comment_id)


@router.patch("/crm/comments/{comment_id}", response=PostOut)
@idempotent
def comment_patch(request, comment_id: int, payload: CommentPatchIn):
    """The author rewrites the text; the previous text becomes a revision."""
    membership = require(request, CRM_EDIT)
    comment = _comment(membership.organization, comment_id)
    services.comment_edit(comment=comment, actor=request.user, body=payload.body,
                          version=payload.version)
    return _comment(membership.organization, comment_id)


@router.delete("/crm/comments/{comment_id}", response={204: None})
@idempotent
def comment_delete(request, comment_id: int, params: Query[DeleteParams]):
    """The author or an org admin deletes the post: its text goes, replies stay."""
    membership = require(request, CRM_EDIT)
    comment = _comment(membership.organization, comment_id)
    if not services.can_delete(comment, user=request.user, membership=membership):
        raise PermissionDenied(_("Only the author or an organization admin can delete this "
                                 "post."))
    if comment.deleted_at is None:
        services.comment_delete(comment=comment, actor=request.user, version=params.version)
    return Status(204, None)


@router.get("/crm/comments/{comment_id}/revisions", response=Page[RevisionOut])
def comment_revisions(request, comment_id: int, params: Query[PageParams]):
    """Earlier texts of the post, newest first."""
    membership = require(request, CRM_VIEW)
    comment = _comment(membership.organization, comment_id)
    return paginate(selectors.revisions(comment), cursor=params.cursor, limit=params.limit,
                    order=("-edited_at", "-id"))
