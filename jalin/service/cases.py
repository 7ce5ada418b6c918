"""Service desk cases: opening, conversation, status workflow, updates and merging.

Every write here owns its transaction, locks the case row (`select_for_update`), bumps the
case's `version`, writes a `CaseEvent` (the case history), an audit row and a domain event
(`service.case.*`, organization = the supplier, payload with `buyer_id`/`account_id`, so the
CRM timeline can put it on the customer's account). The SLA engine (`jalin.service.sla`) is
called inside the same transaction with the case locked.

Status workflow (`TRANSITIONS`)::

    new → open → waiting (on the customer) → open …
    new/open/waiting → resolved → closed (by hand, or by the housekeeping job after
                                          `AUTO_CLOSE_DAYS`)
    resolved → open (reopened: by staff, or by a customer message)
    any open or resolved status → merged (only through `case_merge`; terminal, read-only)

A closed case is final: a customer writing again gets a new (follow-up) case. A customer
message on a waiting or resolved case reopens it; the first public staff reply records
`first_responded_at` (and moves a new case to open).
"""

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from jalin.core import numbering
from jalin.core.audit import audit_record
from jalin.core.events import emit_event
from jalin.tenancy.models import Membership
from jalin.tenancy.services import StaleVersion, TenancyError

from . import sla
from .models import (
    Agreement,
    Case,
    CaseChannel,
    CaseEvent,
    CaseKind,
    CaseMessage,
    CasePriority,
    CaseStatus,
    MessageVisibility,
)

S = CaseStatus
CASE_NUMBERS = "service.case"  # the jalin.core.numbering scope of case numbers (#n)
MAX_SUBJECT = 200
MAX_BODY = 50_000
MAX_CATEGORY = 100
MAX_NOTE = 2000
# Resolved cases close on their own after this many days without news (housekeeping job).
AUTO_CLOSE_DAYS = 7

TRANSITIONS = {
    S.NEW: {S.OPEN, S.WAITING, S.RESOLVED, S.CLOSED},
    S.OPEN: {S.WAITING, S.RESOLVED, S.CLOSED},
    S.WAITING: {S.OPEN, S.RESOLVED, S.CLOSED},
    S.RESOLVED: {S.OPEN, S.CLOSED},
    S.CLOSED: set(),
    S.MERGED: set(),
}
# Statuses in which a case can no longer be changed (except by the auto-close job).
READ_ONLY = (S.CLOSED, S.MERGED)

# case_update: field name -> model the value must be (None clears the link).
LINK_FIELDS = ("assignee", "team", "service", "agreement", "account", "contact", "order")
PLAIN_FIELDS = ("priority", "category", "subject", "kind")
UPDATABLE = PLAIN_FIELDS + LINK_FIELDS
RETARGET_FIELDS = ("priority", "service", "agreement")


class ServiceError(TenancyError):
    """A service-desk request that cannot be carried out as asked; the message is shown."""


# --- Helpers -------------------------------------------------------------------------------


def _user(actor):
    return actor if getattr(actor, "pk", None) else None


def _now(now):
    return now or timezone.now()


def _label(value):
    """A short, human string for a history row (from/to values)."""
    if value is None:
        return ""
    return str(value)[:200]


def case_payload(case):
    return {"case_id": case.pk, "number": case.number, "subject": case.subject,
            "kind": case.kind, "status": case.status, "priority": case.priority,
            "channel": case.channel, "buyer_id": case.buyer_id, "account_id": case.account_id,
            "contact_id": case.contact_id, "assignee_id": case.assignee_id,
            "team_id": case.team_id, "service_id": case.service_id,
            "order_id": case.order_id}


def _history(case, action, *, actor, from_value="", to_value="", note="", now):
    return CaseEvent.objects.create(case=case, actor=_user(actor), action=action,
                                    from_value=_label(from_value), to_value=_label(to_value),
                                    note=(note or "")[:MAX_NOTE], created_at=now)


def _emit(case, type_, *, actor, extra=None):
    emit_event(type=type_, organization=case.organization, aggregate=case, actor=actor,
               payload={**case_payload(case), **(extra or {})})


def _lock(case, version=None):
    locked = (Case.objects.select_for_update(of=("self",))
              .select_related("organization").get(pk=case.pk))
    if version is not None and locked.version != version:
        raise StaleVersion()
    return locked


def _touch(case, now):
    case.version += 1
    case.updated_at = now


def _sync(target, source):
    """Copy the locked row's state back onto the caller's instance."""
    if target is not source:
        for field in Case._meta.concrete_fields:
            setattr(target, field.attname, getattr(source, field.attname))


def _check_choice(value, choices, *, field, message):
    if value not in choices:
        raise ServiceError(message, code="invalid", field=field)


def _is_member(organization, user):
    return Membership.objects.filter(organization=organization, user=user,
                                     is_active=True).exists()


def _check_link(organization, field, value, *, buyer_id=None):
    """`value` (a model instance or None) must belong to `organization`; anything else reads
    as "no such thing" (404-like), never as someone else's record."""
    if value is None:
        return
    org_id = organization.pk
    if field == "assignee":
        if not _is_member(organization, value):
            raise ServiceError(_("The assignee must be a member of your organization."),
                               code="not_found", field=field)
        return
    if field == "order":
        # Any order of this supplier; with a customer known, only that customer's orders.
        if value.supplier_id != org_id or (buyer_id is not None and value.buyer_id != buyer_id):
            raise ServiceError(_("No such order."), code="not_found", field=field)
        return
    if getattr(value, "organization_id", None) != org_id:
        messages = {"account": _("No such account."), "contact": _("No such contact."),
                    "service": _("No such service."), "team": _("No such team."),
                    "agreement": _("No such agreement.")}
        raise ServiceError(messages.get(field, _("No such record.")), code="not_found",
                           field=field)
    if field == "team" and value.archived_at is not None:
        raise ServiceError(_("This team is archived."), code="archived", field=field)


def _check_subject(subject):
    subject = " ".join((subject or "").split())
    if not subject:
        raise ServiceError(_("Enter a subject."), code="required", field="subject")
    if len(subject) > MAX_SUBJECT:
        raise ServiceError(_("The subject has at most %(max)s characters.") % {
            "max": MAX_SUBJECT}, code="too_long", field="subject")
    return subject


def _check_category(category):
    category = (category or "").strip()
    if len(category) > MAX_CATEGORY:
        raise ServiceError(_("The category has at most %(max)s characters.") % {
            "max": MAX_CATEGORY}, code="too_long", field="category")
    return category


def _next_number(organization):
    return numbering.next_number(organization=organization, scope=CASE_NUMBERS)


# --- Opening -------------------------------------------------------------------------------


def case_open(*, organization, subject, kind, channel, description="", priority=None,
              actor=None, account=None, contact=None, requester=None, requester_email="",
              order=None, service=None, category="", team=None, assignee=None,
              follow_up_of=None, now=None, buyer=None):
    """Open a case for `organization` (the supplier). `buyer` follows from the account's hub
    organization (or the contact's account when only a contact is given); a buyer that has no
    account at the supplier yet (the portal) can be passed as `buyer` — the caller checks that
    it trades with `organization`. Raises ServiceError and writes nothing on bad input."""
    now = _now(now)
    subject = _check_subject(subject)
    _check_choice(kind, CaseKind.values, field="kind", message=_("Choose a kind of case."))
    _check_choice(channel, CaseChannel.values, field="channel",
                  message=_("Choose a channel."))
    priority = priority or CasePriority.NORMAL
    _check_choice(priority, CasePriority.values, field="priority",
                  message=_("Choose a priority."))
    description = (description or "").strip()
    if len(description) > MAX_BODY:
        raise ServiceError(_("The description is too long."), code="too_long",
                           field="description")
    category = _check_category(category)
    requester_email = (requester_email or "").strip().lower()
    if requester_email:
        try:
            validate_email(requester_email)
        except ValidationError:
            raise ServiceError(_("Enter a valid email address."), code="invalid",
                               field="requester_email") from None
    _check_link(organization, "account", account)
    _check_link(organization, "contact", contact)
    if contact is not None and account is None and contact.account_id is not None:
        account = contact.account
    if contact is not None and account is not None and contact.account_id not in (
            None, account.pk):
        raise ServiceError(_("This contact belongs to another account."), code="invalid",
                           field="contact")
    if account is not None and account.archived_at is not None and account.merged_into_id:
        account = account.merged_into
    if account is not None:
        if buyer is not None and account.hub_organization_id != buyer.pk:
            raise ServiceError(_("This account is another customer's."), code="invalid",
                               field="account")
        buyer_id = account.hub_organization_id
    else:
        buyer_id = buyer.pk if buyer is not None else None
    for field, value in (("order", order), ("service", service), ("team", team),
                         ("assignee", assignee)):
        _check_link(organization, field, value, buyer_id=buyer_id)
    if follow_up_of is not None and follow_up_of.organization_id != organization.pk:
        raise ServiceError(_("No such case."), code="not_found", field="follow_up_of")
    if not requester_email:
        if contact is not None and contact.email:
            requester_email = contact.email
        elif requester is not None and getattr(requester, "email", ""):
            requester_email = requester.email.lower()

    with transaction.atomic():
        case = Case(
            organization=organization, kind=kind, subject=subject, description=description,
            priority=priority, category=category, status=S.NEW, channel=channel,
            account=account, contact=contact,
            buyer_id=buyer_id, requester=_user(requester), requester_email=requester_email,
            order=order,
            service=service, team=team, assignee=_user(assignee), follow_up_of=follow_up_of,
            created_by=_user(actor), created_at=now, updated_at=now)
        case.number = _next_number(organization)
        case.save()
        sla.sla_start(case=case, now=now)
        _history(case, "opened", actor=actor, to_value=case.status,
                 note=f"{case.get_kind_display()} · {case.get_channel_display()}", now=now)
        audit_record(actor=actor, organization=organization, action="service.case.opened",
                     obj=case, after={"number": case.number, "kind": kind,
                                      "channel": channel, "priority": priority})
        _emit(case, "service.case.opened", actor=actor,
              extra={"follow_up_of_id": case.follow_up_of_id})
    return case


# --- Conversation --------------------------------------------------------------------------


def case_add_message(*, case, body, from_staff, channel, visibility="public", author=None,
                     author_email="", email_message_id="", now=None):
    """Add a public reply or an internal note (staff only) to the case's conversation.

    The first public staff reply records the first response (and opens a new case); a
    customer message on a case waiting on the customer or resolved reopens it. Closed and
    merged cases take no messages."""
    now = _now(now)
    body = (body or "").strip()
    if not body:
        raise ServiceError(_("Write a message."), code="required", field="body")
    if len(body) > MAX_BODY:
        raise ServiceError(_("The message is too long."), code="too_long", field="body")
    _check_choice(visibility, MessageVisibility.values, field="visibility",
                  message=_("Choose reply or internal note."))
    _check_choice(channel, CaseChannel.values, field="channel", message=_("Choose a channel."))
    if visibility == MessageVisibility.INTERNAL and not from_staff:
        raise ServiceError(_("Only staff can write internal notes."), code="forbidden",
                           field="visibility")
    author_email = (author_email or "").strip().lower()[:254]

    with transaction.atomic():
        locked = _lock(case)
        if locked.status == S.MERGED:
            raise ServiceError(_("This case was merged into another; write there."),
                               code="case_merged", field="body")
        if locked.status == S.CLOSED:
            raise ServiceError(_("This case is closed; open a new case."), code="case_closed",
                               field="body")
        message = CaseMessage.objects.create(
            case=locked, visibility=visibility, author=_user(author),
            author_email=author_email or (getattr(author, "email", "") or "").lower(),
            from_staff=bool(from_staff), channel=channel, body=body,
            email_message_id=(email_message_id or "")[:255], created_at=now)
        public = visibility == MessageVisibility.PUBLIC
        old_status = locked.status
        if from_staff and public and locked.first_responded_at is None:
            locked.first_responded_at = now
            sla.sla_on_first_response(case=locked, now=now)
        if from_staff and public and locked.status == S.NEW:
            locked.status = S.OPEN
        if not from_staff and locked.status in (S.WAITING, S.RESOLVED):
            locked.status = S.OPEN
            locked.resolved_at = None
        _touch(locked, now)
        locked.save()
        if locked.status != old_status:
            sla.sla_on_status_change(case=locked, old_status=old_status, now=now)
            _history(locked, "reopened" if old_status == S.RESOLVED else "status",
                     actor=author, from_value=old_status, to_value=locked.status,
                     note=_("Customer wrote") if not from_staff else "", now=now)
            _emit(locked, "service.case.status_changed", actor=author,
                  extra={"from_status": old_status, "reason": "message"})
        _emit(locked, "service.case.message_added", actor=author,
              extra={"message_id": message.pk, "visibility": visibility,
                     "from_staff": bool(from_staff), "message_channel": channel})
    _sync(case, locked)
    return message


# --- Status --------------------------------------------------------------------------------


def allowed_statuses(case):
    """Statuses `case_set_status` accepts from the case's current status."""
    return [status for status in S if status in TRANSITIONS.get(case.status, ())]


def _apply_status(locked, status, *, actor, note, now, reason=""):
    old_status = locked.status
    locked.status = status
    if status == S.RESOLVED:
        locked.resolved_at = now
    elif status == S.CLOSED:
        locked.closed_at = now
        locked.resolved_at = locked.resolved_at or now
    elif status in (S.OPEN, S.WAITING, S.NEW):
        locked.resolved_at = None
    _touch(locked, now)
    locked.save()
    sla.sla_on_status_change(case=locked, old_status=old_status, now=now)
    action = "reopened" if old_status == S.RESOLVED and status == S.OPEN else "status"
    _history(locked, action, actor=actor, from_value=old_status, to_value=status, note=note,
             now=now)
    audit_record(actor=actor, organization=locked.organization,
                 action="service.case.status_changed", obj=locked,
                 before={"status": old_status}, after={"status": status, "note": note[:200]})
    extra = {"from_status": old_status, "note": note[:200]}
    if reason:
        extra["reason"] = reason
    _emit(locked, "service.case.status_changed", actor=actor, extra=extra)
    if status == S.RESOLVED:
        _emit(locked, "service.case.resolved", actor=actor, extra=extra)
    elif status == S.CLOSED:
        _emit(locked, "service.case.closed", actor=actor, extra=extra)
    elif action == "reopened":
        _emit(locked, "service.case.reopened", actor=actor, extra=extra)


def case_set_status(*, case, status, actor, note="", now=None, version=None):
    """Move the case along the workflow (`TRANSITIONS`); merging goes through case_merge."""
    now = _now(now)
    note = (note or "").strip()[:MAX_NOTE]
    if status not in S.values or status == S.MERGED:
        raise ServiceError(_("Choose a status."), code="invalid", field="status")
    with transaction.atomic():
        locked = _lock(case, version)
        if locked.status == status:
            raise ServiceError(_("The case is already %(status)s.") % {
                "status": locked.get_status_display()}, code="unchanged", field="status")
        if status not in TRANSITIONS[locked.status]:
            raise ServiceError(_("A case that is %(status)s cannot become %(target)s.") % {
                "status": locked.get_status_display(), "target": S(status).label},
                code="invalid_transition", field="status")
        _apply_status(locked, status, actor=actor, note=note, now=now)
    _sync(case, locked)
    return case


def cases_auto_close(*, now=None, days=None, limit=500):
    """Close cases resolved more than `days` days ago (default: the setting
    JALIN_SERVICE_AUTO_CLOSE_DAYS, else AUTO_CLOSE_DAYS) — the housekeeping job. Idempotent:
    a case closed already is not touched again; each case is closed in its own transaction."""
    now = _now(now)
    if days is None:
        days = int(getattr(settings, "JALIN_SERVICE_AUTO_CLOSE_DAYS", AUTO_CLOSE_DAYS))
    cutoff = now - datetime.timedelta(days=days)
    ids = list(Case.objects.filter(status=S.RESOLVED, resolved_at__lte=cutoff)
               .order_by("resolved_at", "id").values_list("pk", flat=True)[:limit])
    closed = 0
    for pk in ids:
        with transaction.atomic():
            locked = (Case.objects.select_for_update(of=("self",))
                      .select_related("organization").filter(pk=pk).first())
            if (locked is None or locked.status != S.RESOLVED or locked.resolved_at is None
                    or locked.resolved_at > cutoff):
                continue
            _apply_status(locked, S.CLOSED, actor=None,
                          note=_("Closed automatically %(days)s days after it was resolved.")
                          % {"days": days}, now=now, reason="auto_close")
            closed += 1
    return closed


# --- Updating ------------------------------------------------------------------------------


def case_update(*, case, actor, version=None, now=None, **changes):
    """Change priority, category, subject, kind, assignee, team, service, agreement and the
    account/contact/order links (model instances or None). Returns the case; raises
    ServiceError (nothing changed) on bad input and StaleVersion on a stale `version`."""
    now = _now(now)
    unknown = set(changes) - set(UPDATABLE)
    if unknown:
        raise ServiceError(_("Unknown fields: %s") % ", ".join(sorted(unknown)),
                           code="unknown")
    if "priority" in changes:
        _check_choice(changes["priority"], CasePriority.values, field="priority",
                      message=_("Choose a priority."))
    if "kind" in changes:
        _check_choice(changes["kind"], CaseKind.values, field="kind",
                      message=_("Choose a kind of case."))
    if "subject" in changes:
        changes["subject"] = _check_subject(changes["subject"])
    if "category" in changes:
        changes["category"] = _check_category(changes["category"])

    with transaction.atomic():
        locked = _lock(case, version)
        if locked.status in READ_ONLY:
            raise ServiceError(_("A %(status)s case cannot be changed.") % {
                "status": locked.get_status_display()}, code="read_only")
        organization = locked.organization
        account = changes.get("account", locked.account) if "account" in changes else (
            locked.account)
        buyer_id = account.hub_organization_id if account is not None else locked.buyer_id
        for field in LINK_FIELDS:
            if field in changes:
                _check_link(organization, field, changes[field], buyer_id=buyer_id)
        contact = changes.get("contact", locked.contact)
        if contact is not None and account is not None and contact.account_id not in (
                None, account.pk):
            raise ServiceError(_("This contact belongs to another account."), code="invalid",
                               field="contact")
        agreement = changes.get("agreement", locked.agreement)
        if ("agreement" in changes and isinstance(agreement, Agreement)
                and agreement.account_id not in (None, getattr(account, "pk", None))):
            raise ServiceError(_("This agreement is with another customer."), code="invalid",
                               field="agreement")
        changed = {}
        for field, value in changes.items():
            if field in LINK_FIELDS:
                old_id = getattr(locked, f"{field}_id")
                new_id = value.pk if value is not None else None
                if old_id == new_id:
                    continue
                changed[field] = (getattr(locked, field), value)
                setattr(locked, field, value)
            else:
                old = getattr(locked, field)
                if old == value:
                    continue
                changed[field] = (old, value)
                setattr(locked, field, value)
        if not changed:
            _sync(case, locked)
            return case
        if "account" in changed and account is not None:
            # The customer's portal users see the case; clearing the account keeps the buyer.
            locked.buyer_id = account.hub_organization_id
        _touch(locked, now)
        locked.save()
        if set(changed) & set(RETARGET_FIELDS):
            sla.sla_retarget(case=locked, now=now)
        for field, (old, new) in changed.items():
            _history(locked, field, actor=actor, from_value=old, to_value=new, now=now)
        audit_record(actor=actor, organization=organization, action="service.case.updated",
                     obj=locked,
                     before={f: _label(old) for f, (old, _new) in changed.items()},
                     after={f: _label(new) for f, (_old, new) in changed.items()})
        _emit(locked, "service.case.updated", actor=actor,
              extra={"changed": sorted(changed)})
        if "assignee" in changed and locked.assignee_id:
            _emit(locked, "service.case.assigned", actor=actor, extra={"changed": ["assignee"]})
    _sync(case, locked)
    return case


# --- Merging -------------------------------------------------------------------------------


def case_merge(*, source, target, actor, now=None):
    """Merge duplicate `source` into `target`: the source's messages are copied into the
    target (keeping their time, author and visibility), the target takes the source's
    account/contact/order/service links it lacks, both get a history row, and the source
    becomes MERGED (terminal, read-only) pointing at the target. Returns the target."""
    now = _now(now)
    if source.pk == target.pk:
        raise ServiceError(_("A case cannot be merged into itself."), code="invalid",
                           field="target")
    if source.organization_id != target.organization_id:
        raise ServiceError(_("No such case."), code="not_found", field="target")
    with transaction.atomic():
        # Lock both rows in id order so two opposite merges cannot deadlock.
        rows = {row.pk: row for row in (
            Case.objects.select_for_update(of=("self",)).select_related("organization")
            .filter(pk__in=[source.pk, target.pk]).order_by("pk"))}
        locked_source, locked_target = rows[source.pk], rows[target.pk]
        if locked_source.status == S.MERGED:
            raise ServiceError(_("This case was already merged."), code="case_merged",
                               field="source")
        if locked_source.status == S.CLOSED:
            raise ServiceError(_("A closed case cannot be merged."), code="read_only",
                               field="source")
        if locked_target.status in READ_ONLY:
            raise ServiceError(_("Choose an open or resolved case to merge into."),
                               code="invalid", field="target")
        messages = list(locked_source.messages.order_by("created_at", "id"))
        copies = [CaseMessage(case=locked_target, visibility=m.visibility, author_id=m.author_id,
                              author_email=m.author_email, from_staff=m.from_staff,
                              channel=m.channel, body=m.body,
                              email_message_id=m.email_message_id, created_at=m.created_at)
                  for m in messages]
        if locked_source.description:
            copies.insert(0, CaseMessage(
                case=locked_target, visibility=MessageVisibility.PUBLIC,
                author_id=locked_source.requester_id,
                author_email=locked_source.requester_email,
                from_staff=locked_source.channel == CaseChannel.STAFF,
                channel=locked_source.channel,
                body=locked_source.description, created_at=locked_source.created_at))
        CaseMessage.objects.bulk_create(copies)
        linked = []
        for field in ("account", "contact", "order", "service"):
            if getattr(locked_target, f"{field}_id") is None and getattr(
                    locked_source, f"{field}_id") is not None:
                setattr(locked_target, f"{field}_id", getattr(locked_source, f"{field}_id"))
                linked.append(field)
        if "account" in linked:
            locked_target.buyer_id = locked_source.buyer_id
        if (locked_target.first_responded_at is None
                and locked_source.first_responded_at is not None):
            locked_target.first_responded_at = locked_source.first_responded_at
        old_status = locked_source.status
        locked_source.status = S.MERGED
        locked_source.merged_into = locked_target
        locked_source.closed_at = now
        _touch(locked_source, now)
        locked_source.save()
        sla.sla_on_status_change(case=locked_source, old_status=old_status, now=now)
        _touch(locked_target, now)
        locked_target.save()
        _history(locked_source, "merged_into", actor=actor, from_value=old_status,
                 to_value=f"#{locked_target.number}", now=now)
        _history(locked_target, "merged_from", actor=actor,
                 to_value=f"#{locked_source.number}",
                 note=_("%(count)s messages copied.") % {"count": len(copies)}, now=now)
        audit_record(actor=actor, organization=locked_source.organization,
                     action="service.case.merged", obj=locked_source,
                     before={"status": old_status},
                     after={"merged_into": locked_target.number, "messages": len(copies),
                            "linked": linked})
        _emit(locked_source, "service.case.merged", actor=actor,
              extra={"from_status": old_status, "target_id": locked_target.pk,
                     "target_number": locked_target.number, "messages_copied": len(copies)})
    _sync(source, locked_source)
    _sync(target, locked_target)
    return target
