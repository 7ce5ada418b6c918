"""Write paths of the hub catalog: categories, products, price lists, trading relationships.

Each service owns its transaction, validates the whole row before saving (`full_clean`),
writes the audit log and emits a `hub.*` event in the same transaction. Errors a person can fix
are `HubError` (a TenancyError, so the API answers 422 with the field) or Django's
ValidationError (422 with every field); a stale `version` is `StaleVersion` (409).
References to another organization's rows are refused as if they did not exist.
"""

from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from jalin.core.audit import audit_record, snapshot
from jalin.core.events import emit_event
from jalin.tenancy.models import Organization
from jalin.tenancy.services import StaleVersion, TenancyError

from .models import (
    CatalogScope,
    Category,
    CustomerGroup,
    PaymentTerms,
    PriceList,
    PriceListItem,
    Product,
    ProductAttribute,
    TradingRelationship,
)

CATEGORY_FIELDS = ("name", "slug", "parent")
PRODUCT_FIELDS = ("sku", "name", "description", "category", "unit", "pack_size",
                  "min_order_quantity", "tax_class", "is_active", "variant_of", "attributes",
                  "unit_cost")
MAX_ATTRIBUTES = 20
MAX_ATTRIBUTE_NAME = 40
MAX_ATTRIBUTE_VALUE = 80
PRICE_LIST_FIELDS = ("name", "currency", "valid_from", "valid_to", "is_base")
RELATIONSHIP_FIELDS = ("status", "payment_terms", "payment_days", "credit_limit", "currency",
                       "price_list", "catalog_scope", "group")
GROUP_FIELDS = ("name", "price_list", "catalog_scope")


class HubError(TenancyError):
    """A hub request that cannot be carried out as asked; the message is for the user."""


def _unknown_fields(changes, allowed):
    unknown = set(changes) - set(allowed)
    if unknown:
        raise HubError(_("Unknown fields: %s") % ", ".join(sorted(unknown)), code="unknown")


def _same_supplier(obj, supplier, *, field, message):
    """`obj` (or None) must belong to `supplier`; anything else reads as "no such thing"."""
    if obj is not None and obj.supplier_id != supplier.pk:
        raise HubError(message, code="not_found", field=field)


def _check_category(category, supplier):
    _same_supplier(category, supplier, field="category", message=_("No such category."))


def _check_price_list(price_list, supplier):
    _same_supplier(price_list, supplier, field="price_list", message=_("No such price list."))


def _save_unique(instance, *, field, message, code):
    """Save; a uniqueness race lost to a concurrent writer becomes a HubError."""
    try:
        with transaction.atomic():
            instance.save()
    except IntegrityError as exc:
        raise HubError(message, code=code, field=field) from exc


def _record(*, actor, supplier, action, obj, before=None, after=None, payload=None):
    audit_record(actor=actor, organization=supplier, action=action, obj=obj, before=before,
                 after=after)
    emit_event(type=action, organization=supplier, aggregate=obj, actor=actor,
               payload=payload or {})


def _lock_current(model, obj, version):
    locked = model.objects.select_for_update().get(pk=obj.pk)
    if locked.version != version:
        raise StaleVersion()
    return locked


# --- Categories ----------------------------------------------------------------------------


def _check_parent(category, parent):
    """A parent of the same supplier that is not the category or one of its descendants."""
    if parent is None:
        return
    _same_supplier(parent, category.supplier, field="parent", message=_("No such category."))
    node, seen = parent, set()
    while node is not None and node.pk not in seen:
        if category.pk is not None and node.pk == category.pk:
            raise HubError(_("A category cannot be placed under itself."), code="cycle",
                           field="parent")
        seen.add(node.pk)
        node = node.parent


def category_create(*, supplier, actor, name, slug="", parent=None):
    with transaction.atomic():
        category = Category(supplier=supplier, name=(name or "").strip(),
                            slug=slug or slugify(name or "")[:80], parent=parent)
        _check_parent(category, parent)
        category.full_clean(exclude=["supplier"], validate_unique=False)
        _save_unique(category, field="slug", code="duplicate_slug",
                     message=_("Another category already uses this short name."))
        _record(actor=actor, supplier=supplier, action="hub.category.created", obj=category,
                after=snapshot(category, fields=CATEGORY_FIELDS),
                payload={"category_id": category.pk, "name": category.name})
    return category


def category_update(*, category, actor, version, **changes):
    _unknown_fields(changes, CATEGORY_FIELDS)
    with transaction.atomic():
        locked = _lock_current(Category, category, version)
        before = snapshot(locked, fields=CATEGORY_FIELDS)
        for field, value in changes.items():
            setattr(locked, field, value)
        if "parent" in changes:
            _check_parent(locked, changes["parent"])
        locked.full_clean(exclude=["supplier"], validate_unique=False)
        locked.version += 1
        _save_unique(locked, field="slug", code="duplicate_slug",
                     message=_("Another category already uses this short name."))
        _record(actor=actor, supplier=locked.supplier, action="hub.category.updated",
                obj=locked, before=before, after=snapshot(locked, fields=CATEGORY_FIELDS),
                payload={"category_id": locked.pk, "changed": sorted(changes)})
    return locked


# --- Products ------------------------------------------------------------------------------


def _require_supplier(organization):
    if not organization.is_supplier:
        raise HubError(_("Only supplier organizations have a catalog."), code="not_supplier")


def clean_attributes(value):
    """{name: value} with names and values trimmed and bounded; names unique ignoring case.
    Accepts a dict or a list of (name, value) pairs; anything else is a HubError."""
    if value in (None, ""):
        return {}
    pairs = value.items() if isinstance(value, dict) else value
    try:
        pairs = list(pairs)
    except TypeError:
        pairs = None
    if pairs is None or len(pairs) > MAX_ATTRIBUTES:
        raise HubError(_("A product has at most %(max)d attributes.") % {"max": MAX_ATTRIBUTES},
                       code="invalid_attributes", field="attributes")
    cleaned, seen = {}, set()
    for pair in pairs:
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise HubError(_("Attributes are name and value pairs."),
                           code="invalid_attributes", field="attributes")
        name, text = pair
        if not isinstance(name, str) or not isinstance(text, (str, int, float)) \
                or isinstance(text, bool):
            raise HubError(_("Attribute names and values are text."),
                           code="invalid_attributes", field="attributes")
        name, text = " ".join(name.split()), " ".join(str(text).split())
        if not name or not text:
            raise HubError(_("Every attribute needs a name and a value."),
                           code="invalid_attributes", field="attributes")
        if len(name) > MAX_ATTRIBUTE_NAME or len(text) > MAX_ATTRIBUTE_VALUE:
            raise HubError(
                _("Attribute names have at most %(name)d characters and values at most "
                  "%(value)d.") % {"name": MAX_ATTRIBUTE_NAME, "value": MAX_ATTRIBUTE_VALUE},
                code="invalid_attributes", field="attributes")
        if name.casefold() in seen:
            raise HubError(_("The attribute %(name)s is given twice.") % {"name": name},
                           code="invalid_attributes", field="attributes")
        seen.add(name.casefold())
        cleaned[name] = text
    return cleaned


def check_variant(product, parent):
    """A variant's family head: a product of the same supplier that is not itself a variant
    (one level only), not the product itself, and the product must not head a family."""
    if parent is None:
        return
    _same_supplier(parent, product.supplier, field="variant_of", message=_("No such product."))
    if product.pk is not None and parent.pk == product.pk:
        raise HubError(_("A product cannot be a variant of itself."), code="variant_self",
                       field="variant_of")
    if parent.variant_of_id is not None:
        raise HubError(_("%(sku)s is itself a variant; variants are one level deep.")
                       % {"sku": parent.sku}, code="variant_nesting", field="variant_of")
    if product.pk is not None and Product.objects.filter(variant_of_id=product.pk).exists():
        raise HubError(_("This product has variants of its own, so it cannot be a variant."),
                       code="variant_nesting", field="variant_of")


def validate_product(product, *, supplier):
    """Every rule a product row must pass before it is saved (also used by the CSV import's
    check, so a file is held to exactly the form's and the API's rules)."""
    _check_category(product.category, supplier)
    product.attributes = clean_attributes(product.attributes)
    check_variant(product, product.variant_of)
    product.full_clean(exclude=["supplier", "variant_of", "attributes"],
                       validate_unique=False)


def _sync_attributes(product):
    """Rewrite the product's ProductAttribute rows from `product.attributes`."""
    ProductAttribute.objects.filter(product=product).delete()
    ProductAttribute.objects.bulk_create([
        ProductAttribute(supplier_id=product.supplier_id, product=product, name=name,
                         value=value)
        for name, value in (product.attributes or {}).items()])


def _product_snapshot(product):
    data = snapshot(product, fields=PRODUCT_FIELDS)
    data["attributes"] = dict(product.attributes or {})
    return data


def product_create(*, supplier, actor, sku, name, **fields):
    _unknown_fields(fields, PRODUCT_FIELDS)
    _require_supplier(supplier)
    with transaction.atomic():
        product = Product(supplier=supplier, sku=(sku or "").strip(), name=(name or "").strip(),
                          **fields)
        validate_product(product, supplier=supplier)
        _save_unique(product, field="sku", code="duplicate_sku",
                     message=_("Another product already has this SKU."))
        _sync_attributes(product)
        _record(actor=actor, supplier=supplier, action="hub.product.created", obj=product,
                after=_product_snapshot(product),
                payload={"product_id": product.pk, "sku": product.sku,
                         "variant_of_id": product.variant_of_id})
    return product


def product_update(*, product, actor, version, **changes):
    _unknown_fields(changes, PRODUCT_FIELDS)
    with transaction.atomic():
        locked = _lock_current(Product, product, version)
        before = _product_snapshot(locked)
        for field, value in changes.items():
            setattr(locked, field, value.strip() if field in ("sku", "name") else value)
        validate_product(locked, supplier=locked.supplier)
        locked.version += 1
        locked.updated_at = timezone.now()
        _save_unique(locked, field="sku", code="duplicate_sku",
                     message=_("Another product already has this SKU."))
        if "attributes" in changes:
            _sync_attributes(locked)
        _record(actor=actor, supplier=locked.supplier, action="hub.product.updated", obj=locked,
                before=before, after=_product_snapshot(locked),
                payload={"product_id": locked.pk, "sku": locked.sku,
                         "changed": sorted(changes)})
    return locked


# --- Price lists ---------------------------------------------------------------------------


def _base_taken_message():
    return _("This supplier already has a base price list.")


def price_list_create(*, supplier, actor, name, currency=None, valid_from=None, valid_to=None,
                      is_base=False):
    _require_supplier(supplier)
    with transaction.atomic():
        price_list = PriceList(supplier=supplier, name=(name or "").strip(),
                               currency=(currency or supplier.currency or "IDR").upper(),
                               valid_from=valid_from, valid_to=valid_to, is_base=is_base)
        price_list.full_clean(exclude=["supplier"], validate_unique=False,
                              validate_constraints=False)
        _check_validity(price_list)
        _save_unique(price_list, field="is_base", code="base_exists",
                     message=_base_taken_message())
        _record(actor=actor, supplier=supplier, action="hub.price_list.created",
                obj=price_list, after=snapshot(price_list, fields=PRICE_LIST_FIELDS),
                payload={"price_list_id": price_list.pk, "is_base": price_list.is_base})
    return price_list


def _check_validity(price_list):
    starts, ends = price_list.valid_from, price_list.valid_to
    if starts and ends and ends < starts:
        raise HubError(_("“Valid to” must not be before “valid from”."), code="invalid_dates",
                       field="valid_to")


def price_list_update(*, price_list, actor, version, **changes):
    _unknown_fields(changes, PRICE_LIST_FIELDS)
    with transaction.atomic():
        locked = _lock_current(PriceList, price_list, version)
        before = snapshot(locked, fields=PRICE_LIST_FIELDS)
        for field, value in changes.items():
            setattr(locked, field, value)
        locked.currency = (locked.currency or "").upper()
        locked.full_clean(exclude=["supplier"], validate_unique=False,
                          validate_constraints=False)
        _check_validity(locked)
        locked.version += 1
        _save_unique(locked, field="is_base", code="base_exists", message=_base_taken_message())
        _record(actor=actor, supplier=locked.supplier, action="hub.price_list.updated",
                obj=locked, before=before, after=snapshot(locked, fields=PRICE_LIST_FIELDS),
                payload={"price_list_id": locked.pk, "changed": sorted(changes)})
    return locked


def _price(value):
    try:
        price = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError) as exc:
        raise HubError(_("Enter a price."), code="invalid_price", field="unit_price") from exc
    if not price.is_finite() or price < 0:
        raise HubError(_("A price cannot be negative."), code="invalid_price",
                       field="unit_price")
    return price


def price_list_item_upsert(*, price_list, product, min_quantity, unit_price, actor):
    """Set the price of `product` from `min_quantity` units in `price_list` (add or replace)."""
    if product.supplier_id != price_list.supplier_id:
        raise HubError(_("No such product."), code="not_found", field="product")
    if not isinstance(min_quantity, int) or min_quantity < 1:
        raise HubError(_("Quantity breaks start at 1."), code="invalid_quantity",
                       field="min_quantity")
    price = _price(unit_price)
    with transaction.atomic():
        PriceList.objects.select_for_update().get(pk=price_list.pk)
        item = PriceListItem.objects.filter(price_list=price_list, product=product,
                                            min_quantity=min_quantity).first()
        before = None if item is None else {"unit_price": str(item.unit_price)}
        if item is None:
            item = PriceListItem(price_list=price_list, product=product,
                                 min_quantity=min_quantity)
        item.unit_price = price
        item.full_clean(exclude=["price_list", "product"], validate_unique=False,
                        validate_constraints=False)
        item.save()
        _record(actor=actor, supplier=price_list.supplier, action="hub.price_list.item_set",
                obj=price_list, before=before,
                after={"product": product.sku, "min_quantity": min_quantity,
                       "unit_price": str(item.unit_price)},
                payload={"price_list_id": price_list.pk, "product_id": product.pk,
                         "min_quantity": min_quantity, "unit_price": str(item.unit_price)})
    return item


def price_list_item_delete(*, item, actor):
    price_list = item.price_list
    with transaction.atomic():
        PriceList.objects.select_for_update().get(pk=price_list.pk)
        deleted, _details = PriceListItem.objects.filter(pk=item.pk).delete()
        if deleted:
            _record(actor=actor, supplier=price_list.supplier,
                    action="hub.price_list.item_removed", obj=price_list,
                    before={"product_id": item.product_id, "min_quantity": item.min_quantity,
                            "unit_price": str(item.unit_price)},
                    payload={"price_list_id": price_list.pk, "product_id": item.product_id,
                             "min_quantity": item.min_quantity})


# --- Trading relationships -----------------------------------------------------------------


def find_buyer(slug):
    """The buyer organization with this short name, or HubError (same answer for "missing"
    and "not a buyer", so the field cannot be used to probe the directory)."""
    buyer = Organization.objects.filter(slug=(slug or "").strip().lower(), is_buyer=True).first()
    if buyer is None:
        raise HubError(_("No buyer organization has this short name."), code="unknown_buyer",
                       field="buyer")
    return buyer


def _check_relationship(relationship, categories):
    _check_price_list(relationship.price_list, relationship.supplier)
    _same_supplier(relationship.group, relationship.supplier, field="group",
                   message=_("No such customer group."))
    for category in categories or ():
        _check_category(category, relationship.supplier)
        if category.supplier_id != relationship.supplier_id:
            raise HubError(_("No such category."), code="not_found", field="categories")
    if relationship.payment_terms == PaymentTerms.PREPAID:
        relationship.payment_days = 0
    elif not relationship.payment_days:
        raise HubError(_("Net terms need a number of days."), code="invalid_terms",
                       field="payment_days")
    if relationship.catalog_scope == CatalogScope.CATEGORIES and not categories:
        raise HubError(_("Choose at least one category, or entitle all products."),
                       code="no_categories", field="categories")


def _relationship_snapshot(relationship):
    data = snapshot(relationship, fields=RELATIONSHIP_FIELDS)
    data["credit_limit"] = str(relationship.credit_limit)
    return data


def relationship_create(*, supplier, buyer, actor, categories=(), **terms):
    _unknown_fields(terms, RELATIONSHIP_FIELDS)
    _require_supplier(supplier)
    if not buyer.is_buyer or buyer.pk == supplier.pk:
        raise HubError(_("No buyer organization has this short name."), code="unknown_buyer",
                       field="buyer")
    terms.setdefault("currency", supplier.currency or "IDR")
    categories = list(categories or ())
    group = terms.get("group")
    if group is not None and "catalog_scope" not in terms and not categories:
        terms["catalog_scope"], categories = _group_entitlement(group, CatalogScope.ALL, [])
    with transaction.atomic():
        relationship = TradingRelationship(supplier=supplier, buyer=buyer, **terms)
        _check_relationship(relationship, categories)
        relationship.full_clean(exclude=["supplier", "buyer"], validate_unique=False,
                                validate_constraints=False)
        _save_unique(relationship, field="buyer", code="already_customer",
                     message=_("%(buyer)s is already a customer.") % {"buyer": buyer.name})
        relationship.categories.set(categories)
        _record(actor=actor, supplier=supplier, action="hub.relationship.created",
                obj=relationship, after=_relationship_snapshot(relationship),
                payload={"relationship_id": relationship.pk, "buyer_id": buyer.pk,
                         "status": relationship.status})
    return relationship


def relationship_update(*, relationship, actor, version, categories=None, **changes):
    _unknown_fields(changes, RELATIONSHIP_FIELDS)
    with transaction.atomic():
        locked = _lock_current(TradingRelationship, relationship, version)
        before = _relationship_snapshot(locked)
        for field, value in changes.items():
            setattr(locked, field, value)
        current = list(locked.categories.all()) if categories is None else list(categories)
        group = changes.get("group")
        if (group is not None and group.pk != before.get("group")
                and "catalog_scope" not in changes and categories is None):
            # Joining a group gives the group's default catalog, unless it was set too.
            locked.catalog_scope, current = _group_entitlement(group, locked.catalog_scope,
                                                               current)
            categories = current
        _check_relationship(locked, current)
        locked.full_clean(exclude=["supplier", "buyer"], validate_unique=False,
                          validate_constraints=False)
        locked.version += 1
        locked.save()
        if categories is not None:
            locked.categories.set(current)
        changed = sorted(changes) + (["categories"] if categories is not None else [])
        _record(actor=actor, supplier=locked.supplier, action="hub.relationship.updated",
                obj=locked, before=before, after=_relationship_snapshot(locked),
                payload={"relationship_id": locked.pk, "buyer_id": locked.buyer_id,
                         "status": locked.status, "changed": changed})
    return locked


def _group_entitlement(group, scope, categories):
    """(catalog_scope, categories) a relationship gets from `group`'s default entitlement, or
    the given ones when the group has none."""
    if not group.catalog_scope:
        return scope, categories
    if group.catalog_scope == CatalogScope.CATEGORIES:
        return CatalogScope.CATEGORIES, list(group.categories.all())
    return CatalogScope.ALL, []


# --- Customer groups -----------------------------------------------------------------------


def _check_group(group, categories):
    _check_price_list(group.price_list, group.supplier)
    for category in categories or ():
        if category.supplier_id != group.supplier_id:
            raise HubError(_("No such category."), code="not_found", field="categories")
    if group.catalog_scope == CatalogScope.CATEGORIES and not categories:
        raise HubError(_("Choose at least one category, or entitle all products."),
                       code="no_categories", field="categories")
    if group.catalog_scope != CatalogScope.CATEGORIES and categories:
        raise HubError(_("Categories only apply to a default catalog of selected categories."),
                       code="categories_unused", field="categories")


def _group_snapshot(group, categories):
    data = snapshot(group, fields=GROUP_FIELDS)
    data["categories"] = sorted(category.pk for category in categories)
    return data


def customer_group_create(*, supplier, actor, name, price_list=None, catalog_scope="",
                          categories=()):
    _require_supplier(supplier)
    categories = list(categories or ())
    with transaction.atomic():
        group = CustomerGroup(supplier=supplier, name=" ".join((name or "").split()),
                              price_list=price_list, catalog_scope=catalog_scope or "")
        _check_group(group, categories)
        group.full_clean(exclude=["supplier"], validate_unique=False,
                         validate_constraints=False)
        _save_unique(group, field="name", code="duplicate_name",
                     message=_("Another customer group already has this name."))
        group.categories.set(categories)
        _record(actor=actor, supplier=supplier, action="hub.customer_group.created", obj=group,
                after=_group_snapshot(group, categories),
                payload={"group_id": group.pk, "name": group.name,
                         "price_list_id": group.price_list_id})
    return group


def customer_group_update(*, group, actor, version, categories=None, **changes):
    _unknown_fields(changes, GROUP_FIELDS)
    with transaction.atomic():
        locked = _lock_current(CustomerGroup, group, version)
        current_categories = list(locked.categories.all())
        before = _group_snapshot(locked, current_categories)
        for field, value in changes.items():
            if field == "name":
                value = " ".join((value or "").split())
            if field == "catalog_scope":
                value = value or ""
            setattr(locked, field, value)
        current = current_categories if categories is None else list(categories)
        if locked.catalog_scope != CatalogScope.CATEGORIES and categories is None:
            current = []
        _check_group(locked, current)
        locked.full_clean(exclude=["supplier"], validate_unique=False,
                          validate_constraints=False)
        locked.version += 1
        _save_unique(locked, field="name", code="duplicate_name",
                     message=_("Another customer group already has this name."))
        locked.categories.set(current)
        _record(actor=actor, supplier=locked.supplier, action="hub.customer_group.updated",
                obj=locked, before=before, after=_group_snapshot(locked, current),
                payload={"group_id": locked.pk, "price_list_id": locked.price_list_id,
                         "changed": sorted(changes) + (["categories"] if categories
                                                       is not None else [])})
    return locked


def customer_group_delete(*, group, actor):
    """Delete a group no customer is in (422 `in_use` otherwise)."""
    with transaction.atomic():
        locked = CustomerGroup.objects.select_for_update().get(pk=group.pk)
        if TradingRelationship.objects.filter(group=locked).exists():
            raise HubError(_("Customers are still in this group; move them out first."),
                           code="in_use", field="group")
        _record(actor=actor, supplier=locked.supplier, action="hub.customer_group.deleted",
                obj=locked, before=snapshot(locked, fields=GROUP_FIELDS),
                payload={"group_id": locked.pk, "name": locked.name})
        locked.delete()
