"""A buyer's delivery/billing addresses.

Members who may place orders (`orders.place`) list and read the active addresses (to pick one
for an order); organization admins (`org.manage`) create, change, archive and choose the
defaults. Another organization's address is 404. Bodies forbid unknown fields; PATCH needs
the `version` you read (409 if it moved on). DELETE archives (orders keep their address).
"""

import datetime

from ninja import Field, Query, Router, Schema, Status

from jalin.hub import addresses
from jalin.hub.services import HubError
from jalin.tenancy.roles import ORDERS_PLACE, ORG_MANAGE

from ..auth import require
from ..idempotency import idempotent
from ..pagination import Page, PageParams, paginate
from ..schemas import MAX_INT, Input

router = Router(tags=["hub addresses"])


class AddressOut(Schema):
    id: int
    label: str
    recipient: str
    phone: str
    street: str
    city: str
    region: str
    postal_code: str
    country: str
    is_default_shipping: bool
    is_default_billing: bool
    is_active: bool
    formatted: str
    created_at: datetime.datetime
    version: int

    @staticmethod
    def resolve_formatted(obj):
        return obj.formatted()


class AddressFilters(PageParams):
    include_archived: bool = Field(False, description="Also archived addresses")


class AddressIn(Input):
    label: str = Field(min_length=1, max_length=80)
    recipient: str = Field(min_length=1, max_length=120)
    phone: str = Field("", max_length=40)
    street: str = Field(min_length=1, max_length=300)
    city: str = Field(min_length=1, max_length=80)
    region: str = Field("", max_length=80)
    postal_code: str = Field("", max_length=20)
    country: str = Field("ID", min_length=2, max_length=2,
                         description="ISO 3166 alpha-2 country code")
    is_default_shipping: bool | None = Field(
        None, description="Default: true for your first address")
    is_default_billing: bool | None = Field(
        None, description="Default: true for your first address")


class AddressPatchIn(Input):
    version: int = Field(ge=1, le=MAX_INT)
    label: str | None = Field(None, max_length=80)
    recipient: str | None = Field(None, max_length=120)
    phone: str | None = Field(None, max_length=40)
    street: str | None = Field(None, max_length=300)
    city: str | None = Field(None, max_length=80)
    region: str | None = Field(None, max_length=80)
    postal_code: str | None = Field(None, max_length=20)
    country: str | None = Field(None, max_length=2)
    is_default_shipping: bool | None = Field(
        None, description="true makes this the default (false is refused: pick another)")
    is_default_billing: bool | None = Field(
        None, description="true makes this the default (false is refused: pick another)")


@router.get("/hub/addresses", response=Page[AddressOut])
def address_list(request, filters: Query[AddressFilters]):
    """Your organization's addresses, newest first."""
    membership = require(request, ORDERS_PLACE)
    queryset = addresses.addresses_for(buyer=membership.organization,
                                       include_archived=filters.include_archived)
    return paginate(queryset, cursor=filters.cursor, limit=filters.limit, order=("-id",))


@router.post("/hub/addresses", response={201: AddressOut})
@idempotent
def address_create(request, payload: AddressIn):
    membership = require(request, ORG_MANAGE)
    fields = payload.model_dump(exclude_none=True)
    address = addresses.address_create(buyer=membership.organization, actor=request.user,
                                       **fields)
    return Status(201, address)


@router.get("/hub/addresses/{address_id}", response=AddressOut)
def address_get(request, address_id: int):
    membership = require(request, ORDERS_PLACE)
    return addresses.address_or_404(buyer=membership.organization, pk=address_id)


@router.patch("/hub/addresses/{address_id}", response=AddressOut)
@idempotent
def address_patch(request, address_id: int, payload: AddressPatchIn):
    """Change an address; send the `version` you read. Orders already placed keep the address
    text they were placed with."""
    membership = require(request, ORG_MANAGE)
    address = addresses.address_or_404(buyer=membership.organization, pk=address_id)
    changes = payload.model_dump(exclude_unset=True)
    version = changes.pop("version")
    for flag in addresses.FLAGS:
        if changes.get(flag) is False:
            raise HubError("Make another address the default instead.", code="invalid",
                           field=flag)
    return addresses.address_update(address=address, actor=request.user, version=version,
                                    **changes)


@router.delete("/hub/addresses/{address_id}", response={204: None})
def address_archive(request, address_id: int):
    """Archive the address (it can no longer be picked; orders keep it)."""
    membership = require(request, ORG_MANAGE)
    address = addresses.address_or_404(buyer=membership.organization, pk=address_id)
    addresses.address_archive(address=address, actor=request.user)
    return Status(204, None)
