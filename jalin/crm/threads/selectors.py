"""Reads for threads: one page of a record's thread (top-level posts newest first, each with
its replies oldest first; authors and mentions prefetched: four queries whatever the thread
holds), revisions and the mention helper's member search."""

from django.db.models import Prefetch, Q

from jalin.accounts.models import User
from jalin.api.pagination import paginate
from jalin.tenancy.access import for_org

from ..models import Comment, CommentRevision
from .services import mentionable_users, record_kind

PER_PAGE = 20
POST_ORDER = ("-created_at", "-id")
MAX_SUGGESTIONS = 8


def _with_people(queryset):
    return queryset.select_related("author").prefetch_related(
        Prefetch("mentions", queryset=User.objects.only("id", "username")))


def thread_posts(*, organization, record):
    """Top-level posts of `record`, replies and people prefetched (unordered)."""
    replies = _with_people(Comment.objects.order_by("created_at", "id"))
    return _with_people(for_org(Comment, organization).filter(
        parent__isnull=True, **{record_kind(record): record},
    )).prefetch_related(Prefetch("replies", queryset=replies))


def thread_page(*, organization, record, cursor=None, per_page=PER_PAGE):
    """A keyset page of posts: `items` and `next_cursor` (the "older posts" link).
    An invalid cursor raises jalin.api.pagination.InvalidCursor."""
    return paginate(thread_posts(organization=organization, record=record), cursor=cursor,
                    limit=per_page, order=POST_ORDER)


def comment_for_org(organization):
    """Comments of the organization with the record they belong to, for fetch-by-id."""
    return _with_people(for_org(Comment, organization).select_related(
        "account", "contact", "activity", "parent"))


def revisions(comment):
    return CommentRevision.objects.filter(comment=comment).select_related("edited_by")


def member_suggestions(*, organization, q, limit=MAX_SUGGESTIONS):
    """Colleagues who can be mentioned (see services.mentionable_users) whose username or
    name starts with `q`."""
    q = (q or "").strip().lstrip("@")[:50]
    members = mentionable_users(organization)
    if q:
        members = members.filter(Q(username__istartswith=q) | Q(first_name__istartswith=q)
                                 | Q(last_name__istartswith=q))
    return list(members.distinct().order_by("username")
                .only("id", "username", "first_name", "last_name")[:limit])
