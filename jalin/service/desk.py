"""Service desk settings an organization keeps: canned replies and teams.

Canned replies are shared by everyone at the organization. Their placeholders
(`{{ case.number }}`, `{{ contact.first_name }}`, ...) are replaced by plain-text substitution
from the fixed list `PLACEHOLDERS`; the text is never rendered as a Django template, so a
reply cannot reach anything but those values (no template injection). Unknown placeholders
stay as they are.
"""

import re

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from jalin.core.audit import audit_record
from jalin.core.events import emit_event
from jalin.tenancy.models import Membership
from jalin.tenancy.services import StaleVersion

from .cases import ServiceError
from .models import CannedReply, Team

MAX_TITLE = 120
MAX_BODY = 10_000
MAX_TEAM_NAME = 100
MAX_TEAM_MEMBERS = 500

PLACEHOLDER_RE = re.compile(r"\{\{\s*([a-z_]+)\.([a-z_]+)\s*\}\}")


def _full_name(person):
    if person is None:
        return ""
    if hasattr(person, "get_full_name"):
        return person.get_full_name() or person.get_username()
    return " ".join(part for part in (person.first_name, person.last_name) if part)


def placeholder_values(*, case=None, agent=None):
    """{(object, attribute): text} for every placeholder a canned reply may use."""
    contact = getattr(case, "contact", None) if case is not None else None
    account = getattr(case, "account", None) if case is not None else None
    organization = getattr(case, "organization", None) if case is not None else None
    values = {
        ("case", "number"): str(case.number) if case is not None else "",
        ("case", "subject"): case.subject if case is not None else "",
        ("case", "status"): str(case.get_status_display()) if case is not None else "",
        ("case", "priority"): str(case.get_priority_display()) if case is not None else "",
        ("contact", "first_name"): getattr(contact, "first_name", "") or "",
        ("contact", "last_name"): getattr(contact, "last_name", "") or "",
        ("contact", "name"): _full_name(contact),
        ("account", "name"): getattr(account, "name", "") or "",
        ("agent", "first_name"): getattr(agent, "first_name", "") or "",
        ("agent", "name"): _full_name(agent),
        ("organization", "name"): getattr(organization, "name", "") or "",
    }
    return values


PLACEHOLDERS = tuple(f"{{{{ {obj}.{attr} }}}}" for obj, attr in placeholder_values())


def render_canned(body, *, case=None, agent=None):
    """`body` with the known placeholders replaced by plain text."""
    values = placeholder_values(case=case, agent=agent)

    def replace(match):
        key = (match.group(1), match.group(2))
        return values[key] if key in values else match.group(0)

    return PLACEHOLDER_RE.sub(replace, body or "")


# --- Canned replies ------------------------------------------------------------------------


def _clean_canned(title, body):
    title = " ".join((title or "").split())
    body = (body or "").strip()
    if not title:
        raise ServiceError(_("Enter a title."), code="required", field="title")
    if len(title) > MAX_TITLE:
        raise ServiceError(_("The title has at most %(max)s characters.") % {"max": MAX_TITLE},
                           code="too_long", field="title")
    if not body:
        raise ServiceError(_("Enter the text."), code="required", field="body")
    if len(body) > MAX_BODY:
        raise ServiceError(_("The text is too long."), code="too_long", field="body")
    return title, body


def _duplicate_title():
    return ServiceError(_("A canned reply with this title exists already."), code="duplicate",
                        field="title")


def canned_reply_create(*, organization, actor, title, body):
    title, body = _clean_canned(title, body)
    if CannedReply.objects.filter(organization=organization, title=title).exists():
        raise _duplicate_title()
    try:
        with transaction.atomic():
            reply = CannedReply.objects.create(organization=organization, title=title,
                                               body=body, created_by=actor)
            audit_record(actor=actor, organization=organization,
                         action="service.canned_reply.created", obj=reply,
                         after={"title": title})
            emit_event(type="service.canned_reply.created", organization=organization,
                       aggregate=reply, actor=actor, payload={"title": title})
    except IntegrityError:
        raise _duplicate_title() from None
    return reply


def canned_reply_update(*, reply, actor, title, body, version=None):
    title, body = _clean_canned(title, body)
    if CannedReply.objects.filter(organization_id=reply.organization_id, title=title).exclude(
            pk=reply.pk).exists():
        raise _duplicate_title()
    with transaction.atomic():
        locked = CannedReply.objects.select_for_update().get(pk=reply.pk)
        if version is not None and locked.version != version:
            raise StaleVersion()
        before = {"title": locked.title}
        locked.title, locked.body = title, body
        locked.version += 1
        locked.updated_at = timezone.now()
        locked.save()
        audit_record(actor=actor, organization=locked.organization,
                     action="service.canned_reply.updated", obj=locked, before=before,
                     after={"title": title})
        emit_event(type="service.canned_reply.updated", organization=locked.organization,
                   aggregate=locked, actor=actor, payload={"title": title})
    return locked


def canned_reply_delete(*, reply, actor):
    with transaction.atomic():
        audit_record(actor=actor, organization=reply.organization,
                     action="service.canned_reply.deleted", obj=reply,
                     before={"title": reply.title})
        emit_event(type="service.canned_reply.deleted", organization=reply.organization,
                   actor=actor, payload={"canned_reply_id": reply.pk, "title": reply.title})
        reply.delete()


# --- Teams ---------------------------------------------------------------------------------


def _clean_team(organization, name, members):
    name = " ".join((name or "").split())
    if not name:
        raise ServiceError(_("Enter a name."), code="required", field="name")
    if len(name) > MAX_TEAM_NAME:
        raise ServiceError(_("The name has at most %(max)s characters.") % {
            "max": MAX_TEAM_NAME}, code="too_long", field="name")
    if members is None:
        return name, None
    ids = {getattr(member, "pk", member) for member in members}
    if len(ids) > MAX_TEAM_MEMBERS:
        raise ServiceError(_("Too many members."), code="too_many", field="members")
    if any(not isinstance(pk, int) or isinstance(pk, bool) for pk in ids):
        raise ServiceError(_("No such member."), code="not_found", field="members")
    found = set(Membership.objects.filter(organization=organization, user_id__in=ids,
                                          is_active=True).values_list("user_id", flat=True))
    if found != ids:
        raise ServiceError(_("Team members must be members of your organization."),
                           code="not_found", field="members")
    return name, sorted(ids)


def _duplicate_team():
    return ServiceError(_("A team with this name exists already."), code="duplicate",
                        field="name")


def team_create(*, organization, actor, name, members=()):
    name, member_ids = _clean_team(organization, name, members)
    if Team.objects.filter(organization=organization, name=name).exists():
        raise _duplicate_team()
    try:
        with transaction.atomic():
            team = Team.objects.create(organization=organization, name=name)
            team.members.set(member_ids or [])
            audit_record(actor=actor, organization=organization, action="service.team.created",
                         obj=team, after={"name": name, "members": member_ids})
            emit_event(type="service.team.created", organization=organization, aggregate=team,
                       actor=actor, payload={"name": name, "members": member_ids})
    except IntegrityError:
        raise _duplicate_team() from None
    return team


def team_update(*, team, actor, name=None, members=None, archived=None):
    """Rename, set the members (user ids or users; None leaves them) or (un)archive."""
    organization = team.organization
    name, member_ids = _clean_team(organization, team.name if name is None else name, members)
    if Team.objects.filter(organization=organization, name=name).exclude(pk=team.pk).exists():
        raise _duplicate_team()
    with transaction.atomic():
        locked = Team.objects.select_for_update().get(pk=team.pk)
        before = {"name": locked.name,
                  "members": sorted(locked.members.values_list("pk", flat=True)),
                  "archived": locked.archived_at is not None}
        locked.name = name
        if archived is not None:
            locked.archived_at = (locked.archived_at or timezone.now()) if archived else None
        locked.save()
        if member_ids is not None:
            locked.members.set(member_ids)
        after = {"name": name,
                 "members": member_ids if member_ids is not None else before["members"],
                 "archived": locked.archived_at is not None}
        audit_record(actor=actor, organization=organization, action="service.team.updated",
                     obj=locked, before=before, after=after)
        emit_event(type="service.team.updated", organization=organization, aggregate=locked,
                   actor=actor, payload=after)
    return locked
