"""Reads of the hub catalog. Supplier-side reads are scoped to the supplier's own rows; the
buyer side only ever starts from the buyer's own active trading relationship."""

from dataclasses import dataclass

from django.db.models import Q
from django.http import Http404
from django.utils import timezone

from jalin.tenancy.access import for_org, get_for_org_or_404

from .models import (
    CatalogScope,
    Category,
    CustomerGroup,
    PriceList,
    PriceListItem,
    Product,
    RelationshipStatus,
    TradingRelationship,
)
from .pricing import prices_for

SEARCH_MAX_LENGTH = 100


# --- Supplier side -------------------------------------------------------------------------


def categories_for_supplier(*, supplier):
    return for_org(Category, supplier).order_by("name", "id")


def products_for_supplier(*, supplier, search="", category_id=None, is_active=None):
    """The supplier's products; `search` is a case-insensitive prefix of the SKU or name."""
    queryset = for_org(Product, supplier).select_related("category")
    search = (search or "").strip()[:SEARCH_MAX_LENGTH]
    if search:
        queryset = queryset.filter(Q(sku__istartswith=search) | Q(name__istartswith=search))
    if category_id is not None:
        queryset = queryset.filter(category_id=category_id)
    if is_active is not None:
        queryset = queryset.filter(is_active=is_active)
    return queryset


def customer_groups_for_supplier(*, supplier):
    return for_org(CustomerGroup, supplier).select_related("price_list").order_by("name", "id")


def price_lists_for_supplier(*, supplier):
    return for_org(PriceList, supplier)


def price_list_items(*, price_list):
    return (for_org(PriceListItem, price_list.supplier).filter(price_list=price_list)
            .select_related("product").order_by("product__sku", "min_quantity", "id"))


def relationships_for_supplier(*, supplier):
    """The supplier's customers. Filtered on the supplier side explicitly: `for_org` alone
    would also return the relationships in which this organization is the buyer."""
    return (for_org(TradingRelationship, supplier).filter(supplier=supplier)
            .select_related("buyer", "price_list", "group"))


def relationship_for_supplier_or_404(*, supplier, pk):
    return get_for_org_or_404(relationships_for_supplier(supplier=supplier), supplier, pk=pk)


# --- Buyer side ----------------------------------------------------------------------------


def suppliers_for_buyer(*, buyer):
    """The buyer's active relationships (one per supplier it may order from)."""
    return (for_org(TradingRelationship, buyer)
            .filter(buyer=buyer, status=RelationshipStatus.ACTIVE)
            .select_related("supplier").order_by("supplier__name", "id"))


def relationship_for_buyer_or_404(*, buyer, supplier_id):
    """The buyer's active relationship with `supplier_id`; 404 when there is none, so a buyer
    cannot even learn whether an organization it does not trade with is a supplier."""
    try:
        return suppliers_for_buyer(buyer=buyer).select_related("price_list").get(
            supplier_id=int(supplier_id)
        )
    except (TradingRelationship.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404("No such supplier.") from exc


def _category_closure(supplier_id, roots):
    """The ids of `roots` and every category below them (one query for the supplier's tree)."""
    children = {}
    for pk, parent_id in Category.objects.filter(supplier_id=supplier_id).values_list(
        "id", "parent_id"
    ):
        children.setdefault(parent_id, []).append(pk)
    found, stack = set(), list(roots)
    while stack:
        node = stack.pop()
        if node in found:
            continue
        found.add(node)
        stack.extend(children.get(node, ()))
    return found


def entitled_categories(*, relationship):
    """Category ids the buyer may see, or None when it is entitled to the whole catalog."""
    if relationship.catalog_scope == CatalogScope.ALL:
        return None
    roots = list(relationship.categories.values_list("id", flat=True))
    return _category_closure(relationship.supplier_id, roots)


def entitled_products(*, relationship, search="", category_id=None):
    """The active products of the relationship's supplier that the buyer is entitled to."""
    queryset = products_for_supplier(supplier=relationship.supplier, search=search,
                                     is_active=True)
    allowed = entitled_categories(relationship=relationship)
    if allowed is not None:
        queryset = queryset.filter(category_id__in=allowed)
    if category_id is not None:
        queryset = queryset.filter(category_id=category_id)
    return queryset


def entitled_categories_list(*, relationship):
    queryset = categories_for_supplier(supplier=relationship.supplier)
    allowed = entitled_categories(relationship=relationship)
    if allowed is not None:
        queryset = queryset.filter(id__in=allowed)
    return queryset


@dataclass
class CatalogEntry:
    product: Product
    price: object  # pricing.UnitPrice or None
    availability: str = ""  # "in_stock", "low" or "out" (set by the shop page)
    available: int | None = None  # shown only when the supplier allows it


def with_buyer_prices(*, relationship, products, quantity=1, on_date=None):
    """Pair a page of products with this buyer's prices: one query for the whole page."""
    products = list(products)
    on_date = on_date or timezone.localdate()
    prices = prices_for(relationship=relationship, product_ids=[p.pk for p in products],
                        quantity=quantity, on_date=on_date)
    return [CatalogEntry(product=p, price=prices.get(p.pk)) for p in products]


def visible_image(*, organization, pk):
    """A product image if `organization` is its supplier or a buyer with an active
    relationship entitled to the product; Http404 for anyone else and for a missing image."""
    from .models import ProductImage

    image = ProductImage.objects.select_related("product").filter(pk=pk).first()
    if image is None:
        raise Http404("No such image.")
    product = image.product
    if product.supplier_id == organization.pk:
        return image
    relationship = suppliers_for_buyer(buyer=organization).filter(
        supplier_id=product.supplier_id).first()
    if relationship is None or not entitled_products(
            relationship=relationship).filter(pk=product.pk).exists():
        raise Http404("No such image.")
    return image
