"""Write paths of promotions: a supplier's discount rules for a period (see `pricing` for how
they are applied).

`promotion_create`, `promotion_update`, `promotion_deactivate` and `promotion_set_buyers`
(which a sales segment uses to target a promotion) each own their transaction, check the
whole promotion before saving, write the audit log and emit `hub.promotion.*` in the same
transaction. Products, categories and customer groups must be the supplier's own, buyers must
trade with it (any other id reads as "no such ..."); the period must not end before it
starts; the discount is 0.01-90 %. A stale `version` is `StaleVersion` (409).
"""

import datetime
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils.translation import gettext as _

from jalin.core.audit import audit_record
from jalin.core.events import emit_event
from jalin.core.params import int_param
from jalin.tenancy.services import StaleVersion

from .models import Category, CustomerGroup, Product, Promotion, TradingRelationship
from .services import HubError, _require_supplier

PROMOTION_FIELDS = ("name", "code", "starts_on", "ends_on", "discount_percent", "is_active",
                    "listed_customers_only")
SCOPES = ("products", "categories", "customer_groups", "buyers")
MAX_DISCOUNT = Decimal("90")
MIN_DISCOUNT = Decimal("0.01")
MAX_SCOPE_ITEMS = 5000


def _date(value, field):
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value or "").strip())
    except ValueError as exc:
        raise HubError(_("Enter a date as YYYY-MM-DD."), code="invalid", field=field) from exc


def _percent(value):
    try:
        percent = Decimal(str(value).strip().replace(",", "."))
    except (InvalidOperation, ValueError, TypeError) as exc:
        raise HubError(_("Enter the discount as a number."), code="invalid",
                       field="discount_percent") from exc
    if not percent.is_finite() or not MIN_DISCOUNT <= percent <= MAX_DISCOUNT:
        raise HubError(_("The discount must be between 0.01 and 90 percent."),
                       code="invalid", field="discount_percent")
    return percent.quantize(Decimal("0.01"))


def _ids(values, field):
    ids = []
    for value in values or ():
        number = int_param(getattr(value, "pk", value))
        if number is None:
            raise HubError(_("Not a valid id."), code="invalid", field=field)
        ids.append(number)
    if len(ids) > MAX_SCOPE_ITEMS:
        raise HubError(_("Too many entries (at most %(max)s).") % {"max": MAX_SCOPE_ITEMS},
                       code="too_many", field=field)
    return sorted(set(ids))


def resolve_scope(supplier, field, values):
    """The ids of `values` (objects or ids) checked against the supplier; HubError
    `not_found` naming `field` when one is not the supplier's (or does not trade with it)."""
    ids = _ids(values, field)
    if not ids:
        return []
    if field == "products":
        found = Product.objects.filter(supplier=supplier, pk__in=ids)
        message = _("No such product.")
    elif field == "categories":
        found = Category.objects.filter(supplier=supplier, pk__in=ids)
        message = _("No such category.")
    elif field == "customer_groups":
        found = CustomerGroup.objects.filter(supplier=supplier, pk__in=ids)
        message = _("No such customer group.")
    else:
        found = TradingRelationship.objects.filter(supplier=supplier, buyer_id__in=ids)
        message = _("No such customer.")
    found_ids = set(found.values_list("buyer_id" if field == "buyers" else "pk", flat=True))
    if found_ids != set(ids):
        raise HubError(message, code="not_found", field=field)
    return ids


def _clean(promotion):
    name = " ".join((promotion.name or "").split())
    if not name:
        raise HubError(_("Give the promotion a name."), code="required", field="name")
    if len(name) > 150:
        raise HubError(_("The name is too long (at most 150 characters)."), code="invalid",
                       field="name")
    promotion.name = name
    promotion.code = (promotion.code or "").strip()
    if len(promotion.code) > 40:
        raise HubError(_("The code is too long (at most 40 characters)."), code="invalid",
                       field="code")
    promotion.starts_on = _date(promotion.starts_on, "starts_on")
    promotion.ends_on = _date(promotion.ends_on, "ends_on")
    if promotion.ends_on < promotion.starts_on:
        raise HubError(_("The promotion cannot end before it starts."), code="invalid",
                       field="ends_on")
    promotion.discount_percent = _percent(promotion.discount_percent)


def _snapshot(promotion, scope=None):
    data = {
        "name": promotion.name, "code": promotion.code,
        "starts_on": promotion.starts_on.isoformat(), "ends_on": promotion.ends_on.isoformat(),
        "discount_percent": str(promotion.discount_percent), "is_active": promotion.is_active,
        "listed_customers_only": promotion.listed_customers_only,
    }
    if scope is not None:
        data.update({key: list(value) for key, value in scope.items()})
    return data


def _current_scope(promotion):
    return {
        "products": sorted(promotion.products.values_list("pk", flat=True)),
        "categories": sorted(promotion.categories.values_list("pk", flat=True)),
        "customer_groups": sorted(promotion.customer_groups.values_list("pk", flat=True)),
        "buyers": sorted(promotion.buyers.values_list("pk", flat=True)),
    }


def _payload(promotion, **extra):
    return {"promotion_id": promotion.pk, "name": promotion.name,
            "starts_on": promotion.starts_on.isoformat(),
            "ends_on": promotion.ends_on.isoformat(),
            "discount_percent": str(promotion.discount_percent),
            "is_active": promotion.is_active, **extra}


def _record(*, actor, promotion, action, before=None, after=None, **extra):
    audit_record(actor=actor, organization=promotion.supplier, action=action, obj=promotion,
                 before=before, after=after)
    emit_event(type=action, organization=promotion.supplier, aggregate=promotion, actor=actor,
               payload=_payload(promotion, **extra))


def _user(actor):
    return actor if getattr(actor, "pk", None) else None


def promotion_create(*, supplier, actor, name, starts_on, ends_on, discount_percent, code="",
                     products=(), categories=(), customer_groups=(), buyers=(),
                     listed_customers_only=False):
    _require_supplier(supplier)
    promotion = Promotion(supplier=supplier, name=name, code=code, starts_on=starts_on,
                          ends_on=ends_on, discount_percent=discount_percent,
                          listed_customers_only=bool(listed_customers_only),
                          created_by=_user(actor))
    _clean(promotion)
    scope = {field: resolve_scope(supplier, field, values) for field, values in (
        ("products", products), ("categories", categories),
        ("customer_groups", customer_groups), ("buyers", buyers))}
    with transaction.atomic():
        promotion.save()
        for field, ids in scope.items():
            getattr(promotion, field).set(ids)
        _record(actor=actor, promotion=promotion, action="hub.promotion.created",
                after=_snapshot(promotion, scope))
    return promotion


def _lock(promotion, version):
    locked = Promotion.objects.select_for_update().select_related("supplier").get(
        pk=promotion.pk)
    if version is not None and locked.version != int(version):
        raise StaleVersion()
    return locked


def promotion_update(*, promotion, actor, version, products=None, categories=None,
                     customer_groups=None, buyers=None, **changes):
    """Change fields and/or replace scope lists (None leaves a list as it is)."""
    unknown = set(changes) - set(PROMOTION_FIELDS)
    if unknown:
        raise HubError(_("Unknown fields: %s") % ", ".join(sorted(unknown)), code="unknown")
    new_scope = {field: values for field, values in (
        ("products", products), ("categories", categories),
        ("customer_groups", customer_groups), ("buyers", buyers)) if values is not None}
    with transaction.atomic():
        locked = _lock(promotion, version)
        scope = _current_scope(locked)
        before = _snapshot(locked, scope)
        for field, value in changes.items():
            boolean = field in ("is_active", "listed_customers_only")
            setattr(locked, field, bool(value) if boolean else value)
        _clean(locked)
        for field, values in new_scope.items():
            scope[field] = resolve_scope(locked.supplier, field, values)
            getattr(locked, field).set(scope[field])
        locked.version += 1
        locked.save()
        _record(actor=actor, promotion=locked, action="hub.promotion.updated", before=before,
                after=_snapshot(locked, scope), changed=sorted(set(changes) | set(new_scope)))
    return locked


def promotion_deactivate(*, promotion, actor, version=None):
    """Stop a promotion now: prices no longer get it; orders already placed keep theirs."""
    with transaction.atomic():
        locked = _lock(promotion, version)
        if not locked.is_active:
            return locked
        locked.is_active = False
        locked.version += 1
        locked.save(update_fields=["is_active", "version"])
        _record(actor=actor, promotion=locked, action="hub.promotion.deactivated",
                after={"is_active": False})
    return locked


def promotion_set_buyers(*, promotion, actor, buyers, source=""):
    """Replace the promotion's buyers (e.g. from a sales segment) and mark it for the listed
    customers only (no buyers then means no one, not everyone). Buyers that do not trade
    with the supplier are left out rather than refused: a segment may hold accounts whose
    relationship has ended. Returns (promotion, buyer ids kept)."""
    with transaction.atomic():
        locked = _lock(promotion, None)
        wanted = _ids(buyers, "buyers")
        kept = sorted(TradingRelationship.objects.filter(
            supplier_id=locked.supplier_id, buyer_id__in=wanted).values_list(
            "buyer_id", flat=True).distinct()) if wanted else []
        current = sorted(locked.buyers.values_list("pk", flat=True))
        if current == kept and locked.listed_customers_only:
            return locked, kept
        locked.buyers.set(kept)
        locked.listed_customers_only = True
        locked.version += 1
        locked.save(update_fields=["version", "listed_customers_only"])
        _record(actor=actor, promotion=locked, action="hub.promotion.updated",
                before={"buyers": current}, after={"buyers": kept}, changed=["buyers"],
                source=source[:100])
    return locked, kept
