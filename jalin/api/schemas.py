"""Request and response shapes shared by the routers."""

from datetime import datetime
from typing import Any, Literal

from ninja import Field, Schema
from pydantic import ConfigDict

from jalin.tenancy.roles import Role

MAX_INT = 2**31 - 1


class Input(Schema):
    """Base for request bodies: unknown fields are an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


class UserOut(Schema):
    id: int
    username: str
    email: str
    first_name: str
    last_name: str


class OrganizationSummary(Schema):
    id: int
    slug: str
    name: str


class OrganizationOut(Schema):
    id: int
    slug: str
    name: str
    legal_name: str
    tax_id: str
    address: str
    city: str
    country: str
    currency: str
    time_zone: str
    kinds: list[str]
    created_at: datetime
    version: int = Field(description="Send back in PATCH; a stale version gets 409")


class MembershipOut(Schema):
    id: int
    role: str
    organization: OrganizationSummary
    created_at: datetime


class MeOut(Schema):
    user: UserOut
    authentication: Literal["token", "session"]
    active_membership: MembershipOut | None
    memberships: list[MembershipOut]
    permissions: list[str]


class TokenIn(Input):
    username: str = Field(max_length=150)
    password: str = Field(max_length=1024)
    organization: str | None = Field(
        None, max_length=60,
        description="Organization slug; required when you belong to several organizations",
    )
    name: str = Field("API token", min_length=1, max_length=100)
    days: int | None = Field(None, ge=1, le=3650, description="Lifetime; default 365 days")


class TokenOut(Schema):
    id: int
    key_id: str
    name: str
    membership_id: int
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    is_active: bool


class TokenCreatedOut(TokenOut):
    token: str = Field(description="The secret; shown only in this response")
    membership: MembershipOut


class OrganizationPatchIn(Input):
    version: int = Field(ge=1, le=MAX_INT)
    name: str | None = Field(None, max_length=200)
    legal_name: str | None = Field(None, max_length=200)
    tax_id: str | None = Field(None, max_length=40)
    address: str | None = Field(None, max_length=2000)
    city: str | None = Field(None, max_length=100)
    country: str | None = Field(None, max_length=2)
    currency: str | None = Field(None, max_length=3)
    time_zone: str | None = Field(None, max_length=64)


class MemberOut(Schema):
    id: int
    role: str
    user: UserOut
    created_at: datetime


class MemberPatchIn(Input):
    role: Role


class InvitationIn(Input):
    email: str = Field(max_length=254)
    role: Role


class InvitationOut(Schema):
    id: int
    email: str
    role: str
    status: str
    invited_by: str | None
    created_at: datetime
    expires_at: datetime
    accepted_at: datetime | None
    revoked_at: datetime | None

    @staticmethod
    def resolve_invited_by(obj):
        return obj.invited_by.get_username() if obj.invited_by_id else None


class AuditEntryOut(Schema):
    id: int
    created_at: datetime
    actor_id: int | None
    actor_label: str
    action: str
    object_type: str
    object_id: str
    object_repr: str
    before: Any = None
    after: Any = None
    request_id: str
    ip_address: str | None


class EventOut(Schema):
    id: int
    position: int
    type: str
    aggregate_type: str
    aggregate_id: str
    payload: Any
    actor_id: int | None
    occurred_at: datetime
    request_id: str


class EventPage(Schema):
    items: list[EventOut]
    next_after: int = Field(description="Pass as ?after= next time (the last position seen)")
    has_more: bool
