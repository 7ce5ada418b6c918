"""CRM endpoints under /api/v1/crm/: accounts, contacts and custom field definitions.

The same services and selectors as the pages. Foreign or missing ids in the path are 404;
foreign ids in a body (owner, parent, account, buyer) are 422 naming the field; custom field
values are validated per field (`errors[].field` = `custom.<key>`); PATCH needs `version` and
answers 409 `stale` if the record changed since it was read.
"""

from datetime import datetime
from typing import Any, Literal

from ninja import Field, Query, Router, Schema, Status

from jalin.api.auth import require
from jalin.api.idempotency import idempotent
from jalin.api.pagination import Page, PageParams, paginate
from jalin.api.schemas import MAX_INT, Input
from jalin.tenancy.access import for_org, get_for_org_or_404
from jalin.tenancy.roles import CRM_EDIT, CRM_VIEW, ORG_MANAGE

from . import selectors, services
from .models import (
    Account,
    AccountSize,
    AccountStatus,
    AccountTier,
    Contact,
    CustomFieldDefinition,
    CustomFieldTarget,
    CustomFieldType,
    RelationshipRole,
)
from .panels import account_panels

router = Router(tags=["crm"])

Status_ = Literal[tuple(AccountStatus.values)]
Tier = Literal[tuple(AccountTier.values)]
Size = Literal[tuple(AccountSize.values + [""])]
Role = Literal[tuple(RelationshipRole.values + [""])]
Target = Literal[tuple(CustomFieldTarget.values)]
FieldType = Literal[tuple(CustomFieldType.values)]

class AccountOut(Schema):
    id: int
    name: str
    industry: str
    size: str
    tier: str
    status: str
    owner_id: int | None
    parent_id: int | None
    hub_organization_id: int | None
    tax_id: str
    billing_address: str
    shipping_address: str
    website: str
    phone: str
    tags: list[str]
    custom: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    version: int = Field(description="Send back in PATCH; a stale version gets 409")

    @staticmethod
    def resolve_tags(obj):
        return [tag.name for tag in obj.tags.all()]


class AccountFields(Input):
    industry: str | None = Field(None, max_length=100)
    size: Size | None = None
    tier: Tier | None = None
    status: Status_ | None = None
    owner_id: int | None = Field(None, ge=1, le=2**63 - 1)
    parent_id: int | None = Field(None, ge=1, le=2**63 - 1)
    hub_organization_id: int | None = Field(None, ge=1, le=2**63 - 1)
    tax_id: str | None = Field(None, max_length=40)
    billing_address: str | None = Field(None, max_length=2000)
    shipping_address: str | None = Field(None, max_length=2000)
    website: str | None = Field(None, max_length=300)
    phone: str | None = Field(None, max_length=40)
    tags: list[str] | None = Field(None, max_length=20)
    custom: dict[str, Any] | None = None


class AccountIn(AccountFields):
    name: str = Field(min_length=1, max_length=200)


class AccountPatchIn(AccountFields):
    version: int = Field(ge=1, le=MAX_INT)
    name: str | None = Field(None, min_length=1, max_length=200)


class ContactOut(Schema):
    id: int
    first_name: str
    last_name: str
    job_title: str
    email: str
    extra_emails: list[str]
    phone: str
    extra_phones: list[str]
    account_id: int | None
    relationship_role: str
    email_opt_in: bool
    email_opt_in_at: datetime | None
    phone_opt_in: bool
    phone_opt_in_at: datetime | None
    owner_id: int | None
    custom: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    version: int


class ContactFields(Input):
    first_name: str | None = Field(None, max_length=100)
    job_title: str | None = Field(None, max_length=150)
    email: str | None = Field(None, max_length=254)
    extra_emails: list[str] | None = Field(None, max_length=10)
    phone: str | None = Field(None, max_length=40)
    extra_phones: list[str] | None = Field(None, max_length=10)
    account_id: int | None = Field(None, ge=1, le=2**63 - 1)
    relationship_role: Role | None = None
    email_opt_in: bool | None = None
    phone_opt_in: bool | None = None
    owner_id: int | None = Field(None, ge=1, le=2**63 - 1)
    custom: dict[str, Any] | None = None


class ContactIn(ContactFields):
    last_name: str = Field(min_length=1, max_length=100)


class ContactPatchIn(ContactFields):
    version: int = Field(ge=1, le=MAX_INT)
    last_name: str | None = Field(None, min_length=1, max_length=100)


class CustomFieldOut(Schema):
    id: int
    target: str
    key: str
    label: str
    type: str
    choices: list[str]
    required: bool
    position: int
    active: bool
    version: int


class CustomFieldIn(Input):
    target: Target
    key: str = Field(min_length=1, max_length=50)
    label: str = Field(min_length=1, max_length=100)
    type: FieldType
    choices: list[str] = Field(default_factory=list, max_length=100)
    required: bool = False
    position: int = Field(0, ge=0, le=10000)


class CustomFieldPatchIn(Input):
    version: int | None = Field(None, ge=1, le=MAX_INT)
    label: str | None = Field(None, min_length=1, max_length=100)
    choices: list[str] | None = Field(None, max_length=100)
    required: bool | None = None
    position: int | None = Field(None, ge=0, le=10000)
    active: bool | None = None


_RENAMED = {"owner_id": "owner", "parent_id": "parent", "hub_organization_id":
            "hub_organization", "account_id": "account"}


def _service_kwargs(payload, *, exclude=("version", "custom", "tags")):
    """Only the fields the client sent (PATCH semantics), with service names."""
    sent = payload.model_dump(exclude_unset=True)
    return {_RENAMED.get(key, key): value for key, value in sent.items() if key not in exclude}


# --- Accounts ------------------------------------------------------------------------------


class AccountFilters(PageParams):
    q: str | None = Field(None, max_length=100, description="name prefix")
    status: Status_ | None = None
    tier: Tier | None = None
    owner_id: int | None = Field(None, ge=1, le=2**63 - 1)
    tag: str | None = Field(None, max_length=60)
    sort: Literal["name", "updated"] = "name"


def _custom_filters(request):
    return {key.removeprefix("custom."): value for key, value in request.GET.items()
            if key.startswith("custom.") and value}


def _account(organization, account_id):
    return get_for_org_or_404(Account.objects.filter(archived_at__isnull=True)
                              .prefetch_related("tags"), organization, pk=account_id)


@router.get("/crm/accounts", response=Page[AccountOut])
def account_list(request, filters: Query[AccountFilters]):
    """Filters: `q` (name prefix), `status`, `tier`, `owner_id`, `tag`, and
    `custom.<key>=<value>` for custom field equality. `sort`: name or updated."""
    membership = require(request, CRM_VIEW)
    queryset = selectors.accounts_list(
        organization=membership.organization,
        filters=selectors.Filters(q=filters.q or "", status=filters.status or "",
                                  tier=filters.tier or "", owner=filters.owner_id,
                                  tag=filters.tag or "", custom=_custom_filters(request)))
    return paginate(queryset, cursor=filters.cursor, limit=filters.limit,
                    order=selectors.ACCOUNT_SORTS[filters.sort])


@router.get("/crm/accounts/{account_id}", response=AccountOut)
def account_detail(request, account_id: int):
    membership = require(request, CRM_VIEW)
    return _account(membership.organization, account_id)


class PanelOut(Schema):
    key: str
    title: str
    ok: bool = Field(description="false when the panel failed to load (its data is null)")
    data: dict[str, Any] | None


class AccountSummaryOut(Schema):
    account: AccountOut
    panels: list[PanelOut]


@router.get("/crm/accounts/{account_id}/summary", response=AccountSummaryOut)
def account_summary(request, account_id: int):
    """Everything about the customer in one answer: the account and the same related panels
    as its page (deals, quotes, hub orders and invoices, cases, agreements, portfolio), each
    only when the caller's role may see that module. A panel that fails answers
    `ok: false` with `data: null`; the rest still answer."""
    membership = require(request, CRM_VIEW)
    account = _account(membership.organization, account_id)
    panels = account_panels(membership=membership, account=account, user=request.user,
                            render=False)
    return {"account": account, "panels": [panel.as_json() for panel in panels]}


@router.post("/crm/accounts", response={201: AccountOut})
@idempotent
def account_post(request, payload: AccountIn):
    membership = require(request, CRM_EDIT)
    account = services.account_create(
        organization=membership.organization, actor=request.user, tags=payload.tags,
        custom=payload.custom, **_service_kwargs(payload))
    return Status(201, _account(membership.organization, account.pk))


@router.patch("/crm/accounts/{account_id}", response=AccountOut)
@idempotent
def account_patch(request, account_id: int, payload: AccountPatchIn):
    membership = require(request, CRM_EDIT)
    account = _account(membership.organization, account_id)
    services.account_update(account=account, actor=request.user, version=payload.version,
                            tags=payload.tags, custom=payload.custom,
                            **_service_kwargs(payload))
    return _account(membership.organization, account_id)


@router.delete("/crm/accounts/{account_id}", response={204: None})
@idempotent
def account_delete(request, account_id: int):
    """Archive the account; it disappears from lists and reads."""
    membership = require(request, CRM_EDIT)
    services.account_archive(account=_account(membership.organization, account_id),
                             actor=request.user)
    return Status(204, None)


# --- Contacts ------------------------------------------------------------------------------


class ContactFilters(PageParams):
    q: str | None = Field(None, max_length=100,
                          description="name prefix, exact email, or E.164 phone")
    account_id: int | None = Field(None, ge=1, le=2**63 - 1)
    owner_id: int | None = Field(None, ge=1, le=2**63 - 1)
    relationship_role: Role | None = None
    sort: Literal["name", "updated"] = "name"


def _contact(organization, contact_id):
    return get_for_org_or_404(Contact.objects.filter(archived_at__isnull=True), organization,
                              pk=contact_id)


@router.get("/crm/contacts", response=Page[ContactOut])
def contact_list(request, filters: Query[ContactFilters]):
    membership = require(request, CRM_VIEW)
    queryset = selectors.contacts_list(
        organization=membership.organization,
        filters=selectors.Filters(q=filters.q or "", owner=filters.owner_id,
                                  account=filters.account_id,
                                  relationship_role=filters.relationship_role or "",
                                  custom=_custom_filters(request)))
    return paginate(queryset, cursor=filters.cursor, limit=filters.limit,
                    order=selectors.CONTACT_SORTS[filters.sort])


@router.get("/crm/contacts/{contact_id}", response=ContactOut)
def contact_detail(request, contact_id: int):
    membership = require(request, CRM_VIEW)
    return _contact(membership.organization, contact_id)


@router.post("/crm/contacts", response={201: ContactOut})
@idempotent
def contact_post(request, payload: ContactIn):
    membership = require(request, CRM_EDIT)
    contact = services.contact_create(organization=membership.organization,
                                      actor=request.user, custom=payload.custom,
                                      **_service_kwargs(payload))
    return Status(201, contact)


@router.patch("/crm/contacts/{contact_id}", response=ContactOut)
@idempotent
def contact_patch(request, contact_id: int, payload: ContactPatchIn):
    membership = require(request, CRM_EDIT)
    contact = _contact(membership.organization, contact_id)
    return services.contact_update(contact=contact, actor=request.user,
                                   version=payload.version, custom=payload.custom,
                                   **_service_kwargs(payload))


@router.delete("/crm/contacts/{contact_id}", response={204: None})
@idempotent
def contact_delete(request, contact_id: int):
    membership = require(request, CRM_EDIT)
    services.contact_delete(contact=_contact(membership.organization, contact_id),
                            actor=request.user)
    return Status(204, None)


# --- Custom field definitions --------------------------------------------------------------


@router.get("/crm/custom-fields", response=Page[CustomFieldOut])
def custom_field_list(request, params: Query[PageParams]):
    """Every member who can read the CRM may read the definitions (to fill in values)."""
    membership = require(request, CRM_VIEW)
    return paginate(for_org(CustomFieldDefinition, membership.organization),
                    cursor=params.cursor, limit=params.limit, order=("id",))


@router.get("/crm/custom-fields/{field_id}", response=CustomFieldOut)
def custom_field_detail(request, field_id: int):
    membership = require(request, CRM_VIEW)
    return get_for_org_or_404(CustomFieldDefinition, membership.organization, pk=field_id)


@router.post("/crm/custom-fields", response={201: CustomFieldOut})
@idempotent
def custom_field_post(request, payload: CustomFieldIn):
    membership = require(request, ORG_MANAGE)
    definition = services.custom_field_define(organization=membership.organization,
                                              actor=request.user, **payload.model_dump())
    return Status(201, definition)


@router.patch("/crm/custom-fields/{field_id}", response=CustomFieldOut)
@idempotent
def custom_field_patch(request, field_id: int, payload: CustomFieldPatchIn):
    """Key, type and record are fixed; deactivate with `active: false`."""
    membership = require(request, ORG_MANAGE)
    definition = get_for_org_or_404(CustomFieldDefinition, membership.organization,
                                    pk=field_id)
    changes = payload.model_dump(exclude_unset=True)
    version = changes.pop("version", None)
    return services.custom_field_update(definition=definition, actor=request.user,
                                        version=version, **changes)


@router.delete("/crm/custom-fields/{field_id}", response={204: None})
@idempotent
def custom_field_delete(request, field_id: int):
    """Deactivate: the field leaves forms and the API; stored values are kept."""
    membership = require(request, ORG_MANAGE)
    definition = get_for_org_or_404(CustomFieldDefinition, membership.organization,
                                    pk=field_id)
    if definition.active:
        services.custom_field_update(definition=definition, actor=request.user, active=False)
    return Status(204, None)
