"""Write paths for threads: posts and replies on an account, contact or activity.

Keyword-only services that own their transaction, write the audit log and emit
`crm.comment.posted|edited|deleted` (payload: `account_id`, `contact_id`, `activity_id`,
`comment_id`, `parent_id` and a short `title` excerpt). Threads have two levels, like
Salesforce Chatter: a reply to a reply attaches to the top-level post.

Bodies are plain text (1..10000 characters) and are never rendered as HTML. `@username`
tokens become mentions only for active members of the organization; anything else stays plain
text, without telling whether such a user exists elsewhere. A mentioned colleague is notified
once per post (on the post, or on the edit that first mentions them); the author never is.
"""

import re

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from jalin.accounts.models import User
from jalin.core.audit import audit_record
from jalin.core.events import emit_event
from jalin.core.notifications import notify
from jalin.tenancy.models import Membership
from jalin.tenancy.roles import CRM_VIEW, ORG_MANAGE, Role, has_perm, role_permissions
from jalin.tenancy.services import StaleVersion

from ..models import Comment, CommentRevision
from ..records import check_record, record_kind, record_url
from ..services import CrmError

__all__ = [
    "CrmError", "StaleVersion", "comment_delete", "comment_edit", "comment_post",
    "excerpt", "mention_names", "record_kind", "record_url",
]

MAX_BODY = 10000
MAX_MENTIONS = 50
EXCERPT = 120
# "@name" not preceded by a word character (so "bob@example.com" is no mention); Django
# usernames allow letters, digits and . + - _ (and @, which a mention cannot contain).
MENTION_RE = re.compile(r"(?<![\w@/])@([\w.+-]{1,150})")


def comment_record(comment):
    return comment.account or comment.contact or comment.activity


def excerpt(body, length=EXCERPT):
    text = " ".join((body or "").split())
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


def mention_names(body):
    """The distinct @names in `body`, lower-cased, in order of appearance (trailing dots and
    dashes are sentence punctuation, not part of the name)."""
    names = []
    for match in MENTION_RE.finditer(body or ""):
        name = match.group(1).rstrip(".-+").lower()
        if name and name not in names:
            names.append(name)
    return names[:MAX_MENTIONS]


def reader_roles():
    """Roles that may read the CRM: only their holders can be mentioned (a mention sends an
    excerpt and a link to the record)."""
    return [role for role in Role.values if CRM_VIEW in role_permissions(role)]


def mentionable_users(organization):
    """Active users with an active membership of `organization` that may read the CRM."""
    return User.objects.filter(
        is_active=True, memberships__organization=organization, memberships__is_active=True,
        memberships__role__in=reader_roles())


def resolve_mentions(organization, body):
    """Colleagues named by @username in `body` (case-insensitive) who can read the thread;
    other names resolve to nobody."""
    names = mention_names(body)
    if not names:
        return []
    return list(mentionable_users(organization).annotate(lower_username=Lower("username"))
                .filter(lower_username__in=names).distinct().order_by("pk"))


def _clean_body(body):
    if not isinstance(body, str):
        raise ValidationError({"body": [ValidationError(_("Write a message."),
                                                        code="required")]})
    body = body.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "").strip()
    if not body:
        raise ValidationError({"body": [ValidationError(_("Write a message."),
                                                        code="required")]})
    if len(body) > MAX_BODY:
        raise ValidationError({"body": [ValidationError(
            _("A message has at most %(max)d characters.") % {"max": MAX_BODY},
            code="too_long")]})
    return body


def _check_record(organization, record):
    return check_record(
        organization=organization, record=record,
        wrong_type_message=_("Comments go on an account, a contact or an activity."),
    )


def _payload(comment, title):
    record = comment_record(comment)
    if comment.account_id:
        account_id, contact_id = comment.account_id, None
    elif comment.contact_id:
        account_id, contact_id = record.account_id, comment.contact_id
    else:
        account_id, contact_id = record.account_id, record.contact_id
    return {"account_id": account_id, "contact_id": contact_id,
            "activity_id": comment.activity_id, "comment_id": comment.pk,
            "parent_id": comment.parent_id, "title": title}


def _notify_mentions(comment, users, *, actor):
    record = comment_record(comment)
    base = record_url(record)
    url = f"{base}#comment-{comment.pk}" if base else ""
    author = actor.get_full_name() or actor.get_username()
    text = excerpt(comment.body, 200)
    for user in users:
        if user.pk == actor.pk:
            continue
        notify(organization=comment.organization, user=user, kind="mention",
               title=_("%(author)s mentioned you: %(excerpt)s")
               % {"author": author, "excerpt": excerpt(comment.body, 80)},
               key=f"mention:comment:{comment.pk}", body=text, url=url, email=True)


def comment_post(*, organization, actor, record, body, parent=None):
    """Post on `record` (an Account, Contact or Activity of `organization`); with `parent`, a
    reply (a Comment or its id on the same record; a reply to a reply joins the top post)."""
    kind = _check_record(organization, record)
    body = _clean_body(body)
    with transaction.atomic():
        parent_comment = None
        if parent not in (None, ""):
            parent_id = getattr(parent, "pk", parent)
            try:
                parent_id = int(parent_id)
            except (TypeError, ValueError):
                parent_id = -1
            parent_comment = (Comment.objects.filter(organization=organization, pk=parent_id,
                                                     **{kind: record})
                              .select_related("parent").first())
            if parent_comment is None:
                raise CrmError(_("No such post in this thread."), code="invalid_parent",
                               field="parent_id")
            if parent_comment.parent_id:
                parent_comment = parent_comment.parent
            if parent_comment.deleted_at is not None:
                raise CrmError(_("This post was deleted; it takes no more replies."),
                               code="parent_deleted", field="parent_id")
        comment = Comment.objects.create(organization=organization, author=actor, body=body,
                                         parent=parent_comment, **{kind: record})
        mentioned = resolve_mentions(organization, body)
        if mentioned:
            comment.mentions.set(mentioned)
        title = excerpt(body)
        audit_record(actor=actor, organization=organization, action="crm.comment.posted",
                     obj=comment, after={"body": title, "parent_id": comment.parent_id,
                                         "mention_ids": [user.pk for user in mentioned]})
        emit_event(type="crm.comment.posted", organization=organization, aggregate=comment,
                   actor=actor, payload={**_payload(comment, title),
                                         "mention_ids": [user.pk for user in mentioned]})
        _notify_mentions(comment, mentioned, actor=actor)
    return comment


def _locked(comment, version):
    locked = (Comment.objects.select_for_update().select_related("organization")
              .get(pk=comment.pk))
    if locked.deleted_at is not None or (version is not None and locked.version != version):
        raise StaleVersion()
    # Related records for the event payload and the notification link (not locked).
    locked.account, locked.contact, locked.activity = (
        comment.account if comment.account_id else None,
        comment.contact if comment.contact_id else None,
        comment.activity if comment.activity_id else None)
    return locked


def comment_edit(*, comment, actor, body, version):
    """The author rewrites their post; the previous text is kept as a CommentRevision and
    colleagues mentioned for the first time are notified."""
    if comment.author_id is None or comment.author_id != actor.pk:
        raise PermissionDenied(_("Only the author can edit this post."))
    body = _clean_body(body)
    with transaction.atomic():
        locked = _locked(comment, version)
        if locked.body == body:
            return locked
        organization = locked.organization
        before_ids = set(locked.mentions.values_list("pk", flat=True))
        now = timezone.now()
        CommentRevision.objects.create(comment=locked, body=locked.body, edited_by=actor,
                                       edited_at=now)
        old_title = excerpt(locked.body)
        locked.body = body
        locked.edited_at = now
        locked.version += 1
        locked.save(update_fields=["body", "edited_at", "version"])
        mentioned = resolve_mentions(organization, body)
        locked.mentions.set(mentioned)
        title = excerpt(body)
        audit_record(actor=actor, organization=organization, action="crm.comment.edited",
                     obj=locked, before={"body": old_title}, after={"body": title})
        emit_event(type="crm.comment.edited", organization=organization, aggregate=locked,
                   actor=actor, payload={**_payload(locked, title), "changed": ["body"]})
        _notify_mentions(locked, [user for user in mentioned if user.pk not in before_ids],
                         actor=actor)
    return locked


def can_delete(comment, *, user, membership):
    return comment.author_id == user.pk or has_perm(membership, ORG_MANAGE)


def comment_delete(*, comment, actor, version=None):
    """The author or an org admin deletes a post: its text (and earlier versions) are
    removed, the post keeps its place so that replies stay."""
    membership = Membership.objects.filter(organization_id=comment.organization_id,
                                           user=actor, is_active=True).first()
    if not can_delete(comment, user=actor, membership=membership):
        raise PermissionDenied(_("Only the author or an organization admin can delete this "
                                 "post."))
    with transaction.atomic():
        locked = _locked(comment, version)
        organization = locked.organization
        locked.body = ""
        locked.deleted_at = timezone.now()
        locked.version += 1
        locked.save(update_fields=["body", "deleted_at", "version"])
        locked.mentions.clear()
        locked.revisions.all().delete()
        audit_record(actor=actor, organization=organization, action="crm.comment.deleted",
                     obj=locked, before={"deleted": False}, after={"deleted": True})
        emit_event(type="crm.comment.deleted", organization=organization, aggregate=locked,
                   actor=actor, payload={**_payload(locked, _("Deleted comment")),
                                         "changed": ["deleted_at"]})
    return locked
