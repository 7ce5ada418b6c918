"""The B2B hub: a supplier's catalog, price lists and customers, and a buyer's view of the
catalogs it is entitled to, at its own prices.

Ids of another organization's rows answer 404, in the path and in the body alike. A stale
`version` is 409; invalid input is 422 and changes nothing.
"""

import datetime
from decimal import Decimal
from typing import Literal

from django.http import Http404
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status

from jalin.hub import catalog_search, order_selectors, selectors, services
from jalin.hub.models import (
    CatalogScope,
    Category,
    CustomerGroup,
    PaymentTerms,
    PriceList,
    PriceListItem,
    Product,
    ProductImage,
    RelationshipStatus,
    TaxClass,
)
from jalin.tenancy.access import get_for_org_or_404
from jalin.tenancy.roles import CATALOG_EDIT, CATALOG_VIEW

from ..auth import require
from ..idempotency import idempotent
from ..pagination import InvalidCursor, KeysetPage, Page, PageParams, paginate
from ..schemas import MAX_INT, Input, OrganizationSummary

router = Router(tags=["hub"])

PRICE = {"max_digits": 18, "decimal_places": 4, "ge": 0}
CREDIT = {"max_digits": 18, "decimal_places": 2, "ge": 0}


# --- Schemas -------------------------------------------------------------------------------


class CategoryOut(Schema):
    id: int
    name: str
    slug: str
    parent_id: int | None
    version: int


class CategoryIn(Input):
    name: str = Field(min_length=1, max_length=120)
    slug: str = Field("", max_length=80, description="Derived from the name when empty")
    parent_id: int | None = Field(None, ge=1, le=MAX_INT)


class CategoryPatchIn(Input):
    version: int = Field(ge=1, le=MAX_INT)
    name: str | None = Field(None, min_length=1, max_length=120)
    slug: str | None = Field(None, min_length=1, max_length=80)
    parent_id: int | None = Field(None, ge=1, le=MAX_INT)


class ProductOut(Schema):
    id: int
    sku: str
    name: str
    description: str
    category_id: int | None
    unit: str
    pack_size: int
    min_order_quantity: int
    tax_class: TaxClass
    is_active: bool
    variant_of_id: int | None = Field(description="The family head this product is a "
                                                  "variant of")
    attributes: dict[str, str]
    unit_cost: Decimal | None = Field(None, description="What a unit costs you (for margin)")
    created_at: datetime.datetime
    updated_at: datetime.datetime
    version: int = Field(description="Send back in PATCH; a stale version gets 409")


class ProductFields(Input):
    description: str = Field("", max_length=10000)
    category_id: int | None = Field(None, ge=1, le=MAX_INT)
    unit: str = Field("pcs", min_length=1, max_length=20)
    pack_size: int = Field(1, ge=1, le=MAX_INT)
    min_order_quantity: int = Field(1, ge=1, le=MAX_INT)
    tax_class: TaxClass = TaxClass.STANDARD
    is_active: bool = True
    variant_of_id: int | None = Field(None, ge=1, le=MAX_INT,
                                      description="Make it a variant of this product")
    attributes: dict[str, str] = Field(
        default_factory=dict, max_length=services.MAX_ATTRIBUTES,
        description="Name → value, e.g. {\"Colour\": \"White\"}")
    unit_cost: Decimal | None = Field(None, ge=0, max_digits=18, decimal_places=4,
                                      description="What a unit costs you (for margin)")


class ProductIn(ProductFields):
    sku: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)


class ProductPatchIn(Input):
    version: int = Field(ge=1, le=MAX_INT)
    sku: str | None = Field(None, min_length=1, max_length=64)
    name: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=10000)
    category_id: int | None = Field(None, ge=1, le=MAX_INT)
    unit: str | None = Field(None, min_length=1, max_length=20)
    pack_size: int | None = Field(None, ge=1, le=MAX_INT)
    min_order_quantity: int | None = Field(None, ge=1, le=MAX_INT)
    tax_class: TaxClass | None = None
    is_active: bool | None = None
    variant_of_id: int | None = Field(None, ge=1, le=MAX_INT,
                                      description="null makes it a product of its own")
    attributes: dict[str, str] | None = Field(None, max_length=services.MAX_ATTRIBUTES)
    unit_cost: Decimal | None = Field(None, ge=0, max_digits=18, decimal_places=4,
                                      description="null clears it")


class ProductFilters(PageParams):
    q: str | None = Field(None, max_length=selectors.SEARCH_MAX_LENGTH,
                          description="Prefix of the SKU or name (case-insensitive)")
    category_id: int | None = Field(None, ge=1, le=MAX_INT)
    active: bool | None = None
    variant_of_id: int | None = Field(None, ge=1, le=MAX_INT,
                                      description="Only the variants of this family head")


class PriceListOut(Schema):
    id: int
    name: str
    currency: str
    valid_from: datetime.date | None
    valid_to: datetime.date | None
    is_base: bool
    version: int


class PriceListIn(Input):
    name: str = Field(min_length=1, max_length=120)
    currency: str | None = Field(None, min_length=3, max_length=3,
                                 description="Defaults to the organization's currency")
    valid_from: datetime.date | None = None
    valid_to: datetime.date | None = None
    is_base: bool = False


class PriceListPatchIn(Input):
    version: int = Field(ge=1, le=MAX_INT)
    name: str | None = Field(None, min_length=1, max_length=120)
    currency: str | None = Field(None, min_length=3, max_length=3)
    valid_from: datetime.date | None = None
    valid_to: datetime.date | None = None
    is_base: bool | None = None


class PriceItemOut(Schema):
    id: int
    product_id: int
    sku: str
    min_quantity: int
    unit_price: Decimal

    @staticmethod
    def resolve_sku(obj):
        return obj.product.sku


class PriceItemIn(Input):
    product_id: int = Field(ge=1, le=MAX_INT)
    min_quantity: int = Field(1, ge=1, le=MAX_INT)
    unit_price: Decimal = Field(**PRICE)


class RelationshipOut(Schema):
    id: int
    buyer: OrganizationSummary
    status: RelationshipStatus
    payment_terms: PaymentTerms
    payment_days: int
    credit_limit: Decimal
    currency: str
    price_list_id: int | None
    group_id: int | None
    catalog_scope: CatalogScope
    category_ids: list[int]
    version: int

    @staticmethod
    def resolve_category_ids(obj):
        return sorted(category.pk for category in obj.categories.all())


class RelationshipFields(Input):
    status: RelationshipStatus = RelationshipStatus.ACTIVE
    payment_terms: PaymentTerms = PaymentTerms.PREPAID
    payment_days: int = Field(0, ge=0, le=3650)
    credit_limit: Decimal = Field(Decimal("0"), **CREDIT)
    currency: str | None = Field(None, min_length=3, max_length=3)
    price_list_id: int | None = Field(None, ge=1, le=MAX_INT)
    group_id: int | None = Field(None, ge=1, le=MAX_INT,
                                 description="Customer group (its list applies after the "
                                             "customer's own)")
    catalog_scope: CatalogScope = CatalogScope.ALL
    category_ids: list[int] = Field(default_factory=list, max_length=1000)


class RelationshipIn(RelationshipFields):
    buyer: str = Field(min_length=1, max_length=60, description="The buyer's short name (slug)")


class RelationshipPatchIn(Input):
    version: int = Field(ge=1, le=MAX_INT)
    status: RelationshipStatus | None = None
    payment_terms: PaymentTerms | None = None
    payment_days: int | None = Field(None, ge=0, le=3650)
    credit_limit: Decimal | None = Field(None, **CREDIT)
    currency: str | None = Field(None, min_length=3, max_length=3)
    price_list_id: int | None = Field(None, ge=1, le=MAX_INT)
    group_id: int | None = Field(None, ge=1, le=MAX_INT)
    catalog_scope: CatalogScope | None = None
    category_ids: list[int] | None = Field(None, max_length=1000)


class CreditOut(Schema):
    uninvoiced_orders: Decimal = Field(description="Open orders not invoiced yet")
    open_invoices: Decimal = Field(description="Balances of your unpaid invoices")
    unapplied_credit: Decimal = Field(description="Credit notes and payments not applied yet")
    exposure: Decimal = Field(description="uninvoiced_orders + open_invoices − "
                              "unapplied_credit")
    available: Decimal = Field(description="credit_limit − exposure (net terms)")


class SupplierOut(Schema):
    supplier: OrganizationSummary
    payment_terms: PaymentTerms
    payment_days: int
    credit_limit: Decimal
    currency: str
    credit: CreditOut

    @staticmethod
    def resolve_credit(obj):
        credit = obj.credit
        return {"uninvoiced_orders": credit.orders, "open_invoices": credit.invoices,
                "unapplied_credit": credit.unapplied, "exposure": credit.exposure,
                "available": credit.available}


class BuyerPriceOut(Schema):
    amount: Decimal
    currency: str
    min_quantity: int = Field(description="The quantity break this price starts at")
    is_customer_price: bool = Field(description="From your own price list (not the base list)")
    source: str = Field(description="customer, group or base: the list the price comes from")
    promotion_id: int | None = Field(None, description="The promotion that discounted `amount`")
    list_amount: Decimal | None = Field(None, description="The price before the promotion")


class CatalogProductOut(Schema):
    id: int
    sku: str
    name: str
    description: str
    category_id: int | None
    unit: str
    pack_size: int
    min_order_quantity: int
    tax_class: TaxClass
    variant_of_id: int | None
    attributes: dict[str, str]
    image_ids: list[int] = Field(default_factory=list,
                                 description="Primary image first; GET /hub/images/{id}/")
    price: BuyerPriceOut | None = Field(None, description="Your unit price; null: not orderable")
    availability: str = Field("", description="in_stock, low or out")


class CatalogFilters(PageParams):
    q: str | None = Field(None, max_length=selectors.SEARCH_MAX_LENGTH,
                          description="SKU or name prefix, or a part of the name")
    category_id: int | None = Field(None, ge=1, le=MAX_INT,
                                    description="This category and its sub-categories")
    attr: list[str] = Field(default_factory=list, max_length=20,
                            description="Attribute filters as name:value; OR within one "
                                        "name, AND across names")
    in_stock: bool = False
    sort: Literal["sku", "name", "price"] = Field(
        "sku", description="sku (default), name, or price: your 1-unit price, lowest first")
    quantity: int = Field(1, ge=1, le=MAX_INT, description="Price for this many units")


# --- Helpers -------------------------------------------------------------------------------


def _supplier_row(model, membership, pk):
    return get_for_org_or_404(model, membership.organization, pk=pk)


def _references(membership, data):
    """Turn *_id fields of a body into the supplier's own rows (404 for anyone else's)."""
    organization = membership.organization
    if "category_id" in data:
        pk = data.pop("category_id")
        data["category"] = None if pk is None else _supplier_row(Category, membership, pk)
    if "parent_id" in data:
        pk = data.pop("parent_id")
        data["parent"] = None if pk is None else _supplier_row(Category, membership, pk)
    if "price_list_id" in data:
        pk = data.pop("price_list_id")
        data["price_list"] = None if pk is None else _supplier_row(PriceList, membership, pk)
    if "variant_of_id" in data:
        pk = data.pop("variant_of_id")
        data["variant_of"] = None if pk is None else _supplier_row(Product, membership, pk)
    if "group_id" in data:
        pk = data.pop("group_id")
        data["group"] = None if pk is None else _supplier_row(CustomerGroup, membership, pk)
    if "category_ids" in data:
        ids = data.pop("category_ids")
        if ids is not None:
            found = list(selectors.categories_for_supplier(supplier=organization)
                         .filter(pk__in=ids))
            if len(found) != len(set(ids)):
                raise Http404("No such category.")
            data["categories"] = found
    return data


# --- Categories ----------------------------------------------------------------------------


@router.get("/hub/categories", response=Page[CategoryOut])
def category_list(request, params: Query[PageParams]):
    membership = require(request, CATALOG_VIEW)
    return paginate(selectors.categories_for_supplier(supplier=membership.organization),
                    cursor=params.cursor, limit=params.limit, order=("id",))


@router.post("/hub/categories", response={201: CategoryOut})
@idempotent
def category_create(request, payload: CategoryIn):
    membership = require(request, CATALOG_EDIT)
    data = _references(membership, payload.model_dump())
    category = services.category_create(supplier=membership.organization, actor=request.user,
                                        **data)
    return Status(201, category)


@router.get("/hub/categories/{category_id}", response=CategoryOut)
def category_detail(request, category_id: int):
    membership = require(request, CATALOG_VIEW)
    return _supplier_row(Category, membership, category_id)


@router.patch("/hub/categories/{category_id}", response=CategoryOut)
@idempotent
def category_patch(request, category_id: int, payload: CategoryPatchIn):
    membership = require(request, CATALOG_EDIT)
    category = _supplier_row(Category, membership, category_id)
    data = _references(membership, payload.model_dump(exclude_unset=True))
    version = data.pop("version")
    return services.category_update(category=category, actor=request.user, version=version,
                                    **data)


# --- Products ------------------------------------------------------------------------------


@router.get("/hub/products", response=Page[ProductOut])
def product_list(request, filters: Query[ProductFilters]):
    """Your products by SKU; filter by SKU/name prefix, category and active flag."""
    membership = require(request, CATALOG_VIEW)
    products = selectors.products_for_supplier(
        supplier=membership.organization, search=filters.q or "",
        category_id=filters.category_id, is_active=filters.active,
    )
    if filters.variant_of_id is not None:
        products = products.filter(variant_of_id=filters.variant_of_id)
    return paginate(products, cursor=filters.cursor, limit=filters.limit, order=("sku", "id"))


@router.post("/hub/products", response={201: ProductOut})
@idempotent
def product_create(request, payload: ProductIn):
    membership = require(request, CATALOG_EDIT)
    data = _references(membership, payload.model_dump())
    product = services.product_create(supplier=membership.organization, actor=request.user,
                                      **data)
    return Status(201, product)


@router.get("/hub/products/{product_id}", response=ProductOut)
def product_detail(request, product_id: int):
    membership = require(request, CATALOG_VIEW)
    return _supplier_row(Product, membership, product_id)


@router.patch("/hub/products/{product_id}", response=ProductOut)
@idempotent
def product_patch(request, product_id: int, payload: ProductPatchIn):
    """Change a product. Send the `version` you read; 409 if it moved on."""
    membership = require(request, CATALOG_EDIT)
    product = _supplier_row(Product, membership, product_id)
    data = _references(membership, payload.model_dump(exclude_unset=True))
    version = data.pop("version")
    for field in ("sku", "name", "unit", "tax_class", "is_active", "pack_size",
                  "min_order_quantity", "description", "attributes"):
        if field in data and data[field] is None:
            data.pop(field)  # null means "leave as is" for fields that cannot be empty
    return services.product_update(product=product, actor=request.user, version=version,
                                   **data)


@router.delete("/hub/products/{product_id}", response={204: None})
@idempotent
def product_deactivate(request, product_id: int):
    """Products are never deleted (orders refer to them): this deactivates one."""
    membership = require(request, CATALOG_EDIT)
    product = _supplier_row(Product, membership, product_id)
    if product.is_active:
        services.product_update(product=product, actor=request.user, version=product.version,
                                is_active=False)
    return Status(204, None)


# --- Price lists ---------------------------------------------------------------------------


@router.get("/hub/price-lists", response=Page[PriceListOut])
def price_list_list(request, params: Query[PageParams]):
    membership = require(request, CATALOG_VIEW)
    return paginate(selectors.price_lists_for_supplier(supplier=membership.organization),
                    cursor=params.cursor, limit=params.limit, order=("id",))


@router.post("/hub/price-lists", response={201: PriceListOut})
@idempotent
def price_list_create(request, payload: PriceListIn):
    membership = require(request, CATALOG_EDIT)
    price_list = services.price_list_create(supplier=membership.organization,
                                            actor=request.user, **payload.model_dump())
    return Status(201, price_list)


@router.get("/hub/price-lists/{price_list_id}", response=PriceListOut)
def price_list_detail(request, price_list_id: int):
    membership = require(request, CATALOG_VIEW)
    return _supplier_row(PriceList, membership, price_list_id)


@router.patch("/hub/price-lists/{price_list_id}", response=PriceListOut)
@idempotent
def price_list_patch(request, price_list_id: int, payload: PriceListPatchIn):
    membership = require(request, CATALOG_EDIT)
    price_list = _supplier_row(PriceList, membership, price_list_id)
    data = payload.model_dump(exclude_unset=True)
    version = data.pop("version")
    for field in ("name", "currency", "is_base"):
        if field in data and data[field] is None:
            data.pop(field)
    return services.price_list_update(price_list=price_list, actor=request.user,
                                      version=version, **data)


@router.get("/hub/price-lists/{price_list_id}/items", response=Page[PriceItemOut])
def price_item_list(request, price_list_id: int, params: Query[PageParams]):
    membership = require(request, CATALOG_VIEW)
    price_list = _supplier_row(PriceList, membership, price_list_id)
    items = PriceListItem.objects.filter(price_list=price_list).select_related("product")
    return paginate(items, cursor=params.cursor, limit=params.limit, order=("id",))


@router.post("/hub/price-lists/{price_list_id}/items", response=PriceItemOut)
@idempotent
def price_item_set(request, price_list_id: int, payload: PriceItemIn):
    """Set the price of a product from `min_quantity` units (adds or replaces that break)."""
    membership = require(request, CATALOG_EDIT)
    price_list = _supplier_row(PriceList, membership, price_list_id)
    product = _supplier_row(Product, membership, payload.product_id)
    return services.price_list_item_upsert(
        price_list=price_list, product=product, min_quantity=payload.min_quantity,
        unit_price=payload.unit_price, actor=request.user,
    )


@router.delete("/hub/price-lists/{price_list_id}/items/{item_id}", response={204: None})
@idempotent
def price_item_delete(request, price_list_id: int, item_id: int):
    membership = require(request, CATALOG_EDIT)
    price_list = _supplier_row(PriceList, membership, price_list_id)
    item = get_for_org_or_404(PriceListItem.objects.filter(price_list=price_list),
                              membership.organization, pk=item_id)
    services.price_list_item_delete(item=item, actor=request.user)
    return Status(204, None)


# --- Customers (trading relationships, supplier side) --------------------------------------


def _relationship(membership, relationship_id):
    return selectors.relationship_for_supplier_or_404(
        supplier=membership.organization, pk=relationship_id
    )


@router.get("/hub/relationships", response=Page[RelationshipOut])
def relationship_list(request, params: Query[PageParams]):
    """The buyers you supply and their terms."""
    membership = require(request, CATALOG_VIEW)
    relationships = selectors.relationships_for_supplier(
        supplier=membership.organization).prefetch_related("categories")
    return paginate(relationships, cursor=params.cursor, limit=params.limit, order=("id",))


@router.post("/hub/relationships", response={201: RelationshipOut})
@idempotent
def relationship_create(request, payload: RelationshipIn):
    """Link a buyer organization (by its short name) as a customer, with its terms."""
    membership = require(request, CATALOG_EDIT)
    data = _references(membership, payload.model_dump())
    buyer = services.find_buyer(data.pop("buyer"))
    if data.get("currency") is None:
        data.pop("currency", None)
    relationship = services.relationship_create(supplier=membership.organization, buyer=buyer,
                                                actor=request.user, **data)
    return Status(201, relationship)


@router.get("/hub/relationships/{relationship_id}", response=RelationshipOut)
def relationship_detail(request, relationship_id: int):
    membership = require(request, CATALOG_VIEW)
    return _relationship(membership, relationship_id)


@router.patch("/hub/relationships/{relationship_id}", response=RelationshipOut)
@idempotent
def relationship_patch(request, relationship_id: int, payload: RelationshipPatchIn):
    membership = require(request, CATALOG_EDIT)
    relationship = _relationship(membership, relationship_id)
    data = _references(membership, payload.model_dump(exclude_unset=True))
    version = data.pop("version")
    for field in ("status", "payment_terms", "payment_days", "credit_limit", "currency",
                  "catalog_scope"):
        if field in data and data[field] is None:
            data.pop(field)
    return services.relationship_update(relationship=relationship, actor=request.user,
                                        version=version, **data)


# --- Buyer side ----------------------------------------------------------------------------


@router.get("/hub/suppliers", response=Page[SupplierOut])
def supplier_list(request, params: Query[PageParams]):
    """The suppliers you may order from, with your terms and your credit with each."""
    from jalin.hub.invoice_selectors import credit_for

    membership = require(request, CATALOG_VIEW)
    relationships = selectors.suppliers_for_buyer(buyer=membership.organization)
    page = paginate(relationships, cursor=params.cursor, limit=params.limit, order=("id",))
    credits = credit_for(page.items)
    for relationship in page.items:
        relationship.credit = credits[relationship.pk]
    return page


@router.get("/hub/suppliers/{supplier_id}/catalog", response=Page[CatalogProductOut])
def supplier_catalog(request, supplier_id: int, filters: Query[CatalogFilters]):
    """A supplier's catalog as you are entitled to see it, with your unit price for
    `quantity` units today, availability and images. Filters: `q`, `category_id` (with its
    sub-categories), `attr=name:value` (repeatable), `in_stock`; `sort` by name, sku or your
    price. Variants are listed like other products, with `variant_of_id`. 404 when you have
    no active relationship with that supplier."""
    membership = require(request, CATALOG_VIEW)
    relationship = selectors.relationship_for_buyer_or_404(buyer=membership.organization,
                                                           supplier_id=supplier_id)
    if filters.category_id is not None and not selectors.entitled_categories_list(
            relationship=relationship).filter(pk=filters.category_id).exists():
        raise Http404("No such category.")
    search_filters = catalog_search.CatalogFilters(
        search=filters.q or "", category_id=filters.category_id,
        attributes=catalog_search.parse_attribute_filters(filters.attr),
        in_stock=filters.in_stock, sort=filters.sort)
    today = timezone.localdate()
    try:
        page = catalog_search.search(relationship=relationship, filters=search_filters,
                                     on_date=today, cursor=filters.cursor,
                                     limit=filters.limit, families=False)
    except catalog_search.BadCursor:
        raise InvalidCursor() from None
    entries = selectors.with_buyer_prices(relationship=relationship, products=page.items,
                                          quantity=filters.quantity, on_date=today)
    ids = [entry.product.pk for entry in entries]
    stock_by_product = order_selectors.availability_for(supplier_id=relationship.supplier_id,
                                                        product_ids=ids)
    image_ids = {}
    for product_id, image_id in (ProductImage.objects.filter(product_id__in=ids)
                                 .order_by("product_id", "-is_primary", "position", "id")
                                 .values_list("product_id", "id")):
        image_ids.setdefault(product_id, []).append(image_id)
    items = []
    for entry in entries:
        item = CatalogProductOut.from_orm(entry.product).model_dump()
        price = entry.price
        item["price"] = None if price is None else {
            "amount": price.amount, "currency": price.currency,
            "min_quantity": price.min_quantity, "is_customer_price": price.is_customer_price,
            "source": price.source, "promotion_id": price.promotion_id,
            "list_amount": price.list_amount,
        }
        item["availability"] = stock_by_product[entry.product.pk][0]
        item["image_ids"] = image_ids.get(entry.product.pk, [])
        items.append(item)
    return KeysetPage(items=items, next_cursor=page.next_cursor)


# --- Customer groups -----------------------------------------------------------------------


class CustomerGroupOut(Schema):
    id: int
    name: str
    price_list_id: int | None
    catalog_scope: str = Field(description="Default catalog for members: all, categories "
                                           "or empty (none)")
    category_ids: list[int]
    version: int

    @staticmethod
    def resolve_category_ids(obj):
        return sorted(category.pk for category in obj.categories.all())


class CustomerGroupIn(Input):
    name: str = Field(min_length=1, max_length=120)
    price_list_id: int | None = Field(None, ge=1, le=MAX_INT)
    catalog_scope: Literal["", "all", "categories"] = ""
    category_ids: list[int] = Field(default_factory=list, max_length=1000)


class CustomerGroupPatchIn(Input):
    version: int = Field(ge=1, le=MAX_INT)
    name: str | None = Field(None, min_length=1, max_length=120)
    price_list_id: int | None = Field(None, ge=1, le=MAX_INT)
    catalog_scope: Literal["", "all", "categories"] | None = None
    category_ids: list[int] | None = Field(None, max_length=1000)


def _group(membership, group_id):
    return _supplier_row(CustomerGroup, membership, group_id)


@router.get("/hub/customer-groups", response=Page[CustomerGroupOut])
def customer_group_list(request, params: Query[PageParams]):
    membership = require(request, CATALOG_VIEW)
    groups = selectors.customer_groups_for_supplier(
        supplier=membership.organization).prefetch_related("categories")
    return paginate(groups, cursor=params.cursor, limit=params.limit, order=("id",))


@router.post("/hub/customer-groups", response={201: CustomerGroupOut})
@idempotent
def customer_group_create(request, payload: CustomerGroupIn):
    """A group of customers sharing a price list (applied after a customer's own list)."""
    membership = require(request, CATALOG_EDIT)
    data = _references(membership, payload.model_dump())
    group = services.customer_group_create(supplier=membership.organization,
                                           actor=request.user, **data)
    return Status(201, group)


@router.get("/hub/customer-groups/{group_id}", response=CustomerGroupOut)
def customer_group_detail(request, group_id: int):
    membership = require(request, CATALOG_VIEW)
    return _group(membership, group_id)


@router.patch("/hub/customer-groups/{group_id}", response=CustomerGroupOut)
@idempotent
def customer_group_patch(request, group_id: int, payload: CustomerGroupPatchIn):
    membership = require(request, CATALOG_EDIT)
    group = _group(membership, group_id)
    data = _references(membership, payload.model_dump(exclude_unset=True))
    version = data.pop("version")
    if "name" in data and data["name"] is None:
        data.pop("name")
    if "catalog_scope" in data and data["catalog_scope"] is None:
        data.pop("catalog_scope")
    return services.customer_group_update(group=group, actor=request.user, version=version,
                                          **data)


@router.delete("/hub/customer-groups/{group_id}", response={204: None})
@idempotent
def customer_group_delete(request, group_id: int):
    """Delete a group no customer is in (422 `in_use` otherwise)."""
    membership = require(request, CATALOG_EDIT)
    services.customer_group_delete(group=_group(membership, group_id), actor=request.user)
    return Status(204, None)
