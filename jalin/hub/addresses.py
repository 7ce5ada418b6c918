"""Buyer addresses: where a buyer's orders are delivered (and billed).

- An address belongs to the buyer organization. Members who may place orders (`orders.place`)
  see the active addresses and pick one when ordering; organization admins (`org.manage`)
  create, edit, archive them and choose the defaults.
- At most one default shipping and one default billing address per buyer (database partial
  unique constraints); making an address the default takes the flag from the previous one.
- An address is never deleted: "delete" archives it (`is_active=False`), so the orders that
  point at it keep their link. An archived address cannot be picked or be a default.
- An order keeps the address's text as it was when it was placed (`Order.ship_to_text`).
- Addresses are the buyer's own business: changes are written to the buyer organization's
  audit log (`hub.address.*`) and emit no hub event (hub events go to the supplier).
"""

import re

import phonenumbers
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from jalin.core.audit import audit_record
from jalin.tenancy.access import get_for_org_or_404
from jalin.tenancy.services import StaleVersion

from .models import BuyerAddress
from .services import HubError

# The text fields a caller may set, with their maximum length and whether they are required.
FIELDS = {
    "label": (80, True),
    "recipient": (120, True),
    "phone": (40, False),
    "street": (300, True),
    "city": (80, True),
    "region": (80, False),
    "postal_code": (20, False),
    "country": (2, True),
}
FLAGS = ("is_default_shipping", "is_default_billing")
EDITABLE = (*FIELDS, *FLAGS)
COUNTRIES = frozenset(code for code in phonenumbers.SUPPORTED_REGIONS if code != "001")
_PHONE = re.compile(r"^[0-9+()./ -]*$")
_POSTAL = re.compile(r"^[0-9A-Za-z -]*$")


# --- Reads ---------------------------------------------------------------------------------


def addresses_for(*, buyer, include_archived=False):
    queryset = BuyerAddress.objects.filter(buyer=buyer)
    if not include_archived:
        queryset = queryset.filter(is_active=True)
    return queryset.order_by("-is_default_shipping", "label", "id")


def address_or_404(*, buyer, pk):
    return get_for_org_or_404(BuyerAddress, buyer, pk=pk)


def default_shipping(buyer_id):
    return BuyerAddress.objects.filter(buyer_id=buyer_id, is_default_shipping=True,
                                       is_active=True).first()


def orderable(*, buyer_id, address):
    """The buyer's active address `address` (an address or its id), else HubError naming
    `ship_to_address_id` — another buyer's address reads as "no such address"."""
    pk = getattr(address, "pk", address)
    found = None
    if isinstance(pk, int) and not isinstance(pk, bool):
        found = BuyerAddress.objects.filter(pk=pk, buyer_id=buyer_id, is_active=True).first()
    if found is None:
        raise HubError(_("No such address."), code="not_found", field="ship_to_address_id")
    return found


# --- Writes --------------------------------------------------------------------------------


def _clean(changes):
    cleaned = {}
    for name, value in changes.items():
        if name in FLAGS:
            if not isinstance(value, bool):
                raise HubError(_("Enter true or false."), code="invalid", field=name)
            cleaned[name] = value
            continue
        limit, required = FIELDS[name]
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise HubError(_("Enter text."), code="invalid", field=name)
        value = value.replace("\r\n", "\n").strip()
        if name != "street":
            value = " ".join(value.split())
        if required and not value:
            raise HubError(_("This field is required."), code="required", field=name)
        if len(value) > limit:
            raise HubError(_("Enter at most %(max)s characters.") % {"max": limit},
                           code="too_long", field=name)
        if name == "country":
            value = value.upper()
            if value not in COUNTRIES:
                raise HubError(_("Enter a two-letter country code (ISO 3166), e.g. ID."),
                               code="invalid_country", field=name)
        if name == "phone" and not _PHONE.match(value):
            raise HubError(_("Enter a phone number of digits, spaces and + - ( )."),
                           code="invalid_phone", field=name)
        if name == "postal_code" and not _POSTAL.match(value):
            raise HubError(_("Enter a postal code of letters, digits and spaces."),
                           code="invalid_postal_code", field=name)
        cleaned[name] = value
    return cleaned


def _check_fields(changes):
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise HubError(_("Unknown fields: %s") % ", ".join(sorted(unknown)), code="unknown")


def _take_defaults(address):
    """Clear the default flags the address is about to take from the buyer's other addresses
    (under their row locks), so the partial unique constraints hold."""
    for flag in FLAGS:
        if getattr(address, flag):
            others = (BuyerAddress.objects.select_for_update()
                      .filter(buyer_id=address.buyer_id, **{flag: True}).exclude(pk=address.pk))
            for other in others:
                setattr(other, flag, False)
                other.version += 1
                other.updated_at = timezone.now()
                other.save(update_fields=[flag, "version", "updated_at"])


def _save(address):
    try:
        with transaction.atomic():
            _take_defaults(address)
            address.save()
    except IntegrityError as exc:  # a concurrent request took the default first
        raise HubError(_("Another address was made the default at the same time. Try again."),
                       code="conflict") from exc


def _snapshot(address):
    return {name: getattr(address, name) for name in (*FIELDS, *FLAGS, "is_active")}


def address_create(*, buyer, actor, **fields):
    """A new address of `buyer`; the first address becomes the default shipping and billing
    address unless the caller says otherwise."""
    _check_fields(fields)
    missing = {name: "" for name, (_limit, required) in FIELDS.items()
               if required and name not in fields and name != "country"}
    cleaned = _clean({**missing, **fields})
    with transaction.atomic():
        first = not BuyerAddress.objects.select_for_update().filter(buyer=buyer).exists()
        address = BuyerAddress(buyer=buyer, **cleaned)
        if first:
            for flag in FLAGS:
                if flag not in fields:
                    setattr(address, flag, True)
        _save(address)
        audit_record(actor=actor, organization=buyer, action="hub.address.created",
                     obj=address, after=_snapshot(address))
    return address


def _lock(address, version=None):
    locked = BuyerAddress.objects.select_for_update().select_related("buyer").get(pk=address.pk)
    if version is not None and locked.version != version:
        raise StaleVersion()
    return locked


def address_update(*, address, actor, version=None, **changes):
    """Change an address (`version` guards against lost updates). Past orders keep the text
    they were placed with."""
    _check_fields(changes)
    cleaned = _clean(changes)
    with transaction.atomic():
        locked = _lock(address, version)
        if not locked.is_active and any(cleaned.get(flag) for flag in FLAGS):
            raise HubError(_("An archived address cannot be a default."), code="archived")
        before = _snapshot(locked)
        for name, value in cleaned.items():
            setattr(locked, name, value)
        locked.version += 1
        locked.updated_at = timezone.now()
        _save(locked)
        audit_record(actor=actor, organization=locked.buyer, action="hub.address.updated",
                     obj=locked, before=before, after=_snapshot(locked))
    return locked


def address_set_default(*, address, actor, kind, version=None):
    """Make the address the default `kind` ("shipping" or "billing")."""
    if kind not in ("shipping", "billing"):
        raise HubError(_("Choose shipping or billing."), code="invalid", field="kind")
    return address_update(address=address, actor=actor, version=version,
                          **{f"is_default_{kind}": True})


def address_archive(*, address, actor, version=None):
    """Archive the address: it can no longer be picked, and stops being a default. Orders that
    used it keep it."""
    with transaction.atomic():
        locked = _lock(address, version)
        if not locked.is_active:
            return locked
        locked.is_active = False
        locked.is_default_shipping = locked.is_default_billing = False
        locked.version += 1
        locked.updated_at = timezone.now()
        locked.save()
        audit_record(actor=actor, organization=locked.buyer, action="hub.address.archived",
                     obj=locked, after={"label": locked.label})
    return locked
