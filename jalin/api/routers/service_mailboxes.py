"""Support mailboxes for email to case (organization admins, `org.manage`).

The IMAP password is write-only: send `imap_password` to set it (stored encrypted), an empty
or missing one keeps what is stored, `imap_password_clear: true` removes it; reads only say
`imap_password_set`. POST .../token issues the HTTP endpoint token, returned this once.
Another organization's mailbox is 404. PATCH needs the `version` you read (409 otherwise).
"""

import datetime

from ninja import Field, Query, Router, Schema, Status

from jalin.service import mailboxes
from jalin.tenancy.roles import ORG_MANAGE

from ..auth import require
from ..idempotency import idempotent
from ..pagination import Page, PageParams, paginate
from ..schemas import MAX_INT, Input

router = Router(tags=["service mailboxes"])


class MailboxOut(Schema):
    id: int
    address: str
    name: str
    default_kind: str
    default_priority: str
    default_team_id: int | None
    send_acknowledgement: bool
    is_active: bool
    imap_host: str
    imap_port: int | None
    imap_user: str
    imap_folder: str
    imap_ssl: bool
    imap_password_set: bool
    inbound_token_set: bool
    last_polled_at: datetime.datetime | None
    last_poll_error: str
    created_at: datetime.datetime
    version: int

    @staticmethod
    def resolve_imap_password_set(obj):
        return obj.has_imap_password

    @staticmethod
    def resolve_inbound_token_set(obj):
        return obj.has_inbound_token


class MailboxIn(Input):
    address: str = Field(min_length=3, max_length=254)
    name: str = Field("", max_length=100)
    default_kind: str = Field("question", max_length=20)
    default_priority: str = Field("normal", max_length=10)
    default_team_id: int | None = Field(None, ge=1, le=MAX_INT)
    send_acknowledgement: bool = True
    is_active: bool = True
    imap_host: str = Field("", max_length=255)
    imap_port: int | None = Field(None, ge=1, le=65535)
    imap_user: str = Field("", max_length=255)
    imap_password: str = Field("", max_length=500)
    imap_folder: str = Field("INBOX", max_length=255)
    imap_ssl: bool = True


class MailboxPatchIn(Input):
    version: int = Field(ge=1, le=MAX_INT)
    address: str | None = Field(None, max_length=254)
    name: str | None = Field(None, max_length=100)
    default_kind: str | None = Field(None, max_length=20)
    default_priority: str | None = Field(None, max_length=10)
    default_team_id: int | None = Field(None, ge=1, le=MAX_INT)
    send_acknowledgement: bool | None = None
    is_active: bool | None = None
    imap_host: str | None = Field(None, max_length=255)
    imap_port: int | None = Field(None, ge=1, le=65535)
    imap_user: str | None = Field(None, max_length=255)
    imap_password: str | None = Field(None, max_length=500)
    imap_password_clear: bool | None = None
    imap_folder: str | None = Field(None, max_length=255)
    imap_ssl: bool | None = None


class TokenOut(Schema):
    token: str = Field(description="Send as `Authorization: Bearer <token>`; shown only once")
    endpoint: str


def _values(fields):
    if "default_team_id" in fields:
        fields["default_team"] = fields.pop("default_team_id")
    return fields


@router.get("/service/mailboxes", response=Page[MailboxOut])
def mailbox_list(request, filters: Query[PageParams]):
    membership = require(request, ORG_MANAGE)
    queryset = mailboxes.mailboxes_for(organization=membership.organization)
    return paginate(queryset, cursor=filters.cursor, limit=filters.limit, order=("-id",))


@router.post("/service/mailboxes", response={201: MailboxOut})
@idempotent
def mailbox_create(request, payload: MailboxIn):
    membership = require(request, ORG_MANAGE)
    mailbox = mailboxes.mailbox_create(organization=membership.organization,
                                       actor=request.user, **_values(payload.model_dump()))
    return Status(201, mailbox)


@router.get("/service/mailboxes/{mailbox_id}", response=MailboxOut)
def mailbox_get(request, mailbox_id: int):
    membership = require(request, ORG_MANAGE)
    return mailboxes.mailbox_or_404(organization=membership.organization, pk=mailbox_id)


@router.patch("/service/mailboxes/{mailbox_id}", response=MailboxOut)
@idempotent
def mailbox_patch(request, mailbox_id: int, payload: MailboxPatchIn):
    membership = require(request, ORG_MANAGE)
    mailbox = mailboxes.mailbox_or_404(organization=membership.organization, pk=mailbox_id)
    changes = payload.model_dump(exclude_unset=True)
    version = changes.pop("version")
    changes = {name: value for name, value in changes.items()
               if value is not None or name in ("default_team_id", "imap_port")}
    return mailboxes.mailbox_update(mailbox=mailbox, actor=request.user, version=version,
                                    **_values(changes))


@router.delete("/service/mailboxes/{mailbox_id}", response={204: None})
def mailbox_delete(request, mailbox_id: int):
    membership = require(request, ORG_MANAGE)
    mailbox = mailboxes.mailbox_or_404(organization=membership.organization, pk=mailbox_id)
    mailboxes.mailbox_delete(mailbox=mailbox, actor=request.user)
    return Status(204, None)


@router.post("/service/mailboxes/{mailbox_id}/token", response={201: TokenOut})
def mailbox_token(request, mailbox_id: int):
    """A new token for `POST /service/mail/inbound/{mailbox_id}/` (the old one stops
    working)."""
    membership = require(request, ORG_MANAGE)
    mailbox = mailboxes.mailbox_or_404(organization=membership.organization, pk=mailbox_id)
    token = mailboxes.mailbox_issue_token(mailbox=mailbox, actor=request.user)
    endpoint = request.build_absolute_uri(f"/service/mail/inbound/{mailbox.pk}/")
    return Status(201, {"token": token, "endpoint": endpoint})
