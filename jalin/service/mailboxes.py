"""Support mailboxes: create, change, issue the HTTP token, remove (organization admins).

The IMAP password is write-only: it is encrypted on save (`mail_crypto`), never returned by
a page or the API (they show only whether one is set), and an empty value keeps the stored
one. The HTTP endpoint token is shown once when issued and stored as a SHA-256 hash.
"""

import hashlib
import secrets

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _

from jalin.core.audit import audit_record
from jalin.core.events import emit_event
from jalin.tenancy.access import for_org, get_for_org_or_404
from jalin.tenancy.services import StaleVersion, TenancyError

from .mail_crypto import secret_encrypt
from .mail_models import SupportMailbox

TOKEN_PREFIX = "jmb"  # noqa: S105 - a prefix, not a secret
FIELDS = ("address", "name", "default_kind", "default_priority", "imap_host", "imap_port",
          "imap_user", "imap_folder")
FLAGS = ("send_acknowledgement", "is_active", "imap_ssl")


class MailboxError(TenancyError):
    """A mailbox change that cannot be made as asked; the message is shown."""


def _token_hash(token):
    return hashlib.sha256(token.encode()).hexdigest()


def _clean(organization, values, *, mailbox=None):
    from .models import CaseKind, CasePriority, Team

    cleaned = {}
    if "address" in values:
        address = (values["address"] or "").strip().lower()
        try:
            validate_email(address)
        except ValidationError:
            raise MailboxError(_("Enter a valid email address."), field="address") from None
        clash = SupportMailbox.objects.filter(address=address)
        if mailbox is not None:
            clash = clash.exclude(pk=mailbox.pk)
        if clash.exists():
            raise MailboxError(_("This address is already a support mailbox."),
                               code="duplicate", field="address")
        cleaned["address"] = address
    if "name" in values:
        cleaned["name"] = (values["name"] or "").strip()[:100]
    if "default_kind" in values:
        if values["default_kind"] not in CaseKind.values:
            raise MailboxError(_("Choose a kind of case."), field="default_kind")
        cleaned["default_kind"] = values["default_kind"]
    if "default_priority" in values:
        if values["default_priority"] not in CasePriority.values:
            raise MailboxError(_("Choose a priority."), field="default_priority")
        cleaned["default_priority"] = values["default_priority"]
    if "default_team" in values:
        team = values["default_team"]
        if team not in (None, "") and not isinstance(team, Team):
            try:
                team = Team.objects.filter(organization=organization, pk=int(team)).first()
            except (TypeError, ValueError):
                team = None
            if team is None:
                raise MailboxError(_("Choose one of your teams."), field="default_team")
        if isinstance(team, Team) and team.organization_id != organization.pk:
            raise MailboxError(_("Choose one of your teams."), field="default_team")
        cleaned["default_team"] = team or None
    for name in ("imap_host", "imap_user"):
        if name in values:
            cleaned[name] = (values[name] or "").strip()[:255]
    if "imap_folder" in values:
        cleaned["imap_folder"] = (values["imap_folder"] or "").strip()[:255] or "INBOX"
    if "imap_port" in values:
        port = values["imap_port"]
        if port in (None, ""):
            cleaned["imap_port"] = None
        else:
            try:
                port = int(port)
            except (TypeError, ValueError):
                port = 0
            if not 1 <= port <= 65535:
                raise MailboxError(_("Enter a port between 1 and 65535."), field="imap_port")
            cleaned["imap_port"] = port
    for flag in FLAGS:
        if flag in values:
            cleaned[flag] = bool(values[flag])
    if "imap_password" in values and values["imap_password"]:
        password = str(values["imap_password"])
        if len(password) > 500:
            raise MailboxError(_("The password is too long."), field="imap_password")
        cleaned["imap_password_encrypted"] = secret_encrypt(password)
    if values.get("imap_password_clear"):
        cleaned["imap_password_encrypted"] = ""
    return cleaned


def _public(mailbox):
    """What the audit log may record (never the password or the token)."""
    return {"address": mailbox.address, "is_active": mailbox.is_active,
            "default_kind": mailbox.default_kind, "default_priority": mailbox.default_priority,
            "imap_host": mailbox.imap_host, "imap_user": mailbox.imap_user,
            "imap_password_set": mailbox.has_imap_password}


def mailbox_or_404(*, organization, pk):
    return get_for_org_or_404(SupportMailbox, organization, pk=pk)


def mailboxes_for(*, organization):
    return (for_org(SupportMailbox, organization)
            .select_related("default_team").order_by("address", "id"))


def mailbox_create(*, organization, actor, **values):
    values.setdefault("default_kind", "question")
    values.setdefault("default_priority", "normal")
    cleaned = _clean(organization, {"address": values.pop("address", ""), **values})
    try:
        with transaction.atomic():
            mailbox = SupportMailbox.objects.create(organization=organization, **cleaned)
            audit_record(actor=actor, organization=organization,
                         action="service.mailbox.created", obj=mailbox, after=_public(mailbox))
            emit_event(type="service.mailbox.created", organization=organization,
                       aggregate=mailbox, actor=actor, payload={"address": mailbox.address})
    except IntegrityError:
        raise MailboxError(_("This address is already a support mailbox."), code="duplicate",
                           field="address") from None
    return mailbox


def mailbox_update(*, mailbox, actor, version=None, **values):
    cleaned = _clean(mailbox.organization, values, mailbox=mailbox)
    try:
        with transaction.atomic():
            locked = SupportMailbox.objects.select_for_update().get(pk=mailbox.pk)
            if version is not None and locked.version != version:
                raise StaleVersion()
            before = _public(locked)
            for name, value in cleaned.items():
                setattr(locked, name, value)
            locked.version += 1
            locked.updated_at = timezone.now()
            locked.save()
            audit_record(actor=actor, organization=locked.organization,
                         action="service.mailbox.updated", obj=locked, before=before,
                         after=_public(locked))
            emit_event(type="service.mailbox.updated", organization=locked.organization,
                       aggregate=locked, actor=actor, payload={"address": locked.address})
    except IntegrityError:
        raise MailboxError(_("This address is already a support mailbox."), code="duplicate",
                           field="address") from None
    return locked


def mailbox_issue_token(*, mailbox, actor):
    """A new token for the HTTP endpoint (the previous one stops working). Returned once."""
    token = f"{TOKEN_PREFIX}_{secrets.token_urlsafe(32)}"
    with transaction.atomic():
        locked = SupportMailbox.objects.select_for_update().get(pk=mailbox.pk)
        locked.inbound_token_hash = _token_hash(token)
        locked.version += 1
        locked.updated_at = timezone.now()
        locked.save(update_fields=["inbound_token_hash", "version", "updated_at"])
        audit_record(actor=actor, organization=locked.organization,
                     action="service.mailbox.token_issued", obj=locked)
    mailbox.inbound_token_hash, mailbox.version = locked.inbound_token_hash, locked.version
    return token


def mailbox_delete(*, mailbox, actor):
    with transaction.atomic():
        audit_record(actor=actor, organization=mailbox.organization,
                     action="service.mailbox.deleted", obj=mailbox, before=_public(mailbox))
        emit_event(type="service.mailbox.deleted", organization=mailbox.organization,
                   aggregate=mailbox, actor=actor, payload={"address": mailbox.address})
        mailbox.delete()


def mailbox_by_token(*, pk, token):
    """The active mailbox `pk` when `token` is its HTTP token, else None."""
    if not token or not token.startswith(TOKEN_PREFIX + "_"):
        return None
    mailbox = (SupportMailbox.objects.filter(pk=pk, is_active=True)
               .exclude(inbound_token_hash="").select_related("organization").first())
    if mailbox is None or not constant_time_compare(mailbox.inbound_token_hash,
                                                    _token_hash(token)):
        return None
    return mailbox
