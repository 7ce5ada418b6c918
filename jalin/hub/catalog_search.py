"""Reads: a buyer's search of one supplier's catalog (the shop page and
`GET /api/v1/hub/suppliers/{id}/catalog`).

Filters: text (SKU prefix, name prefix or name contains), category with its sub-categories,
attribute values (OR within one attribute, AND across attributes), "in stock only". Sorted by
name, SKU or the buyer's own unit price (for one unit today), with keyset paging: a page is
one LIMIT query from its cursor at any catalog size, never a COUNT(*).

The shop groups variants under their family: the page lists family heads and stand-alone
products (`families=True`); a family matches when the head or one of its variants matches,
and `variants_for` fetches the matching variants of a whole page in one query. The API lists
products flat (`families=False`).

Everything starts from the buyer's own relationship (`selectors.entitled_products`): products
the buyer is not entitled to never match, not even as a variant.
"""

import base64
import binascii
import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.db.models import (
    DecimalField,
    Exists,
    F,
    FilteredRelation,
    OuterRef,
    Q,
    Subquery,
    Value,
)
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan
from django.db.models.functions import Coalesce

from .models import CustomerGroup, PriceList, Product, ProductAttribute, StockLevel
from .selectors import _category_closure, entitled_categories, entitled_products

SORTS = {"name": "name", "sku": "sku", "price": "sort_price"}
MAX_ATTRIBUTE_FILTERS = 20
MAX_FACETS = 300
NO_PRICE = Decimal("1e14")  # sorts products without a price last
MAX_CURSOR = 512


class BadCursor(ValueError):
    """A cursor that does not decode, or belongs to another sort."""


@dataclass
class CatalogFilters:
    search: str = ""
    category_id: int | None = None
    attributes: dict = field(default_factory=dict)  # {name: [values]}
    in_stock: bool = False
    sort: str = "name"

    @property
    def is_filtered(self):
        return bool(self.search or self.category_id or self.attributes or self.in_stock)


def parse_attribute_filters(raw_values):
    """["Warna:Putih", "Warna:Abu", "Ukuran:5 L"] → {"Warna": ["Putih", "Abu"], ...}; items
    without a colon and anything beyond the limits are ignored."""
    result = {}
    for raw in list(raw_values or ())[:MAX_ATTRIBUTE_FILTERS]:
        name, sep, value = str(raw).partition(":")
        name, value = " ".join(name.split())[:40], " ".join(value.split())[:80]
        if sep and name and value:
            values = result.setdefault(name, [])
            if value not in values:
                values.append(value)
    return result


def _match(relationship, filters):
    """A Q for "this product itself matches the filters" (None when nothing is filtered)."""
    conditions = Q()
    search = (filters.search or "").strip()[:100]
    if search:
        conditions &= Q(sku__istartswith=search) | Q(name__icontains=search)
    if filters.category_id is not None:
        allowed = _category_closure(relationship.supplier_id, [filters.category_id])
        conditions &= Q(category_id__in=allowed)
    for name, values in (filters.attributes or {}).items():
        conditions &= Q(pk__in=ProductAttribute.objects.filter(
            supplier_id=relationship.supplier_id, name=name, value__in=values,
        ).values("product_id"))
    if filters.in_stock:
        conditions &= Q(Exists(StockLevel.objects.filter(
            product_id=OuterRef("pk"), warehouse__is_active=True,
            on_hand__gt=F("reserved"))))
    return conditions if conditions else None


def _price_lists(relationship, on_date):
    """The list ids that give this buyer its price, first that has one wins: customer, group,
    base; only lists of this supplier that are valid on the date. One query."""
    wanted = Q(is_base=True)
    if relationship.price_list_id:
        wanted |= Q(pk=relationship.price_list_id)
    group_list = None
    if getattr(relationship, "group_id", None):
        group_list = Subquery(CustomerGroup.objects.filter(
            pk=relationship.group_id, supplier_id=relationship.supplier_id,
        ).values("price_list_id")[:1])
        wanted |= Q(pk__in=CustomerGroup.objects.filter(
            pk=relationship.group_id, supplier_id=relationship.supplier_id,
        ).values("price_list_id"))
    lists = (PriceList.objects.filter(wanted, supplier_id=relationship.supplier_id)
             .filter(Q(valid_from__isnull=True) | Q(valid_from__lte=on_date))
             .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=on_date)))
    if group_list is not None:
        lists = lists.annotate(group_list=group_list)
        rows = list(lists.values_list("pk", "is_base", "group_list"))
    else:
        rows = [(pk, is_base, None) for pk, is_base in lists.values_list("pk", "is_base")]
    valid = {pk for pk, _is_base, _group in rows}
    ordered = []
    if relationship.price_list_id in valid:
        ordered.append(relationship.price_list_id)
    group_ids = {group for _pk, _is_base, group in rows if group in valid}
    ordered.extend(sorted(group_ids - set(ordered)))
    ordered.extend(pk for pk, is_base, _group in rows if is_base and pk not in ordered)
    return ordered


def _with_sort_price(queryset, relationship, on_date):
    """Annotate `sort_price`: the buyer's unit price for one unit (the 1-unit break of the
    first list that has one), or NO_PRICE. Each list is a LEFT JOIN on the unique (list,
    product, quantity) key, which PostgreSQL hashes over the whole catalog instead of running
    one subquery per product."""
    output = DecimalField(max_digits=20, decimal_places=4)
    prices = []
    for index, list_id in enumerate(_price_lists(relationship, on_date)):
        alias = f"sort_item_{index}"
        queryset = queryset.annotate(**{alias: FilteredRelation(
            "price_items", condition=Q(price_items__price_list_id=list_id,
                                       price_items__min_quantity=1))})
        prices.append(F(f"{alias}__unit_price"))
    expression = Coalesce(*prices, Value(NO_PRICE, output_field=output),
                          output_field=output) if prices else Value(NO_PRICE,
                                                                     output_field=output)
    return queryset.annotate(sort_price=expression)


def _has_variants(supplier_id):
    """Whether the supplier has any product variants (one index probe)."""
    return Product.objects.filter(supplier_id=supplier_id, variant_of__isnull=False).exists()


def encode_cursor(sort, value, pk):
    raw = json.dumps([sort, str(value), pk], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor, sort):
    if not cursor or len(cursor) > MAX_CURSOR:
        raise BadCursor()
    try:
        data = json.loads(base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4))
                                                   .encode("ascii")))
    except (binascii.Error, UnicodeError, ValueError) as exc:
        raise BadCursor() from exc
    if (not isinstance(data, list) or len(data) != 3 or data[0] != sort
            or not isinstance(data[1], str) or isinstance(data[2], bool)
            or not isinstance(data[2], int) or not 0 < data[2] < 2**63):
        raise BadCursor()
    value = data[1]
    if sort == "price":
        try:
            value = Decimal(value)
        except InvalidOperation as exc:
            raise BadCursor() from exc
        if not value.is_finite():
            raise BadCursor()
    return value, data[2]


@dataclass
class SearchPage:
    items: list
    next_cursor: str | None = None
    is_first: bool = True


def search(*, relationship, filters, on_date, cursor=None, limit=50, families=True):
    """One page of the catalog as the buyer may see it (BadCursor for a bad cursor)."""
    sort = filters.sort if filters.sort in SORTS else "name"
    order_field = SORTS[sort]
    queryset = entitled_products(relationship=relationship)
    match = _match(relationship, filters)
    if families:
        heads = queryset.filter(variant_of__isnull=True)
        if match is not None and not _has_variants(relationship.supplier_id):
            # No product families at this supplier: the plain filter, which PostgreSQL can
            # answer from the SKU-prefix and name-trigram indexes when a search is selective
            # (a search that matched nothing read all 50 000 products in name order, ~90 ms)
            # or by walking the name index when it is not.
            heads = heads.filter(match)
        elif match is not None:
            variants = queryset.filter(match, variant_of__isnull=False)
            heads = heads.filter(match | Q(pk__in=variants.values("variant_of_id")))
        queryset = heads
    elif match is not None:
        queryset = queryset.filter(match)
    if sort == "price":
        queryset = _with_sort_price(queryset, relationship, on_date)
    if cursor:
        value, pk = decode_cursor(cursor, sort)
        queryset = queryset.filter(TupleGreaterThan(Tuple(F(order_field), F("id")),
                                                    [value, pk]))
    rows = list(queryset.order_by(order_field, "id")[: limit + 1])
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor(sort, getattr(last, order_field), last.pk)
    return SearchPage(items=rows, next_cursor=next_cursor, is_first=not cursor)


def variants_for(*, relationship, filters, head_ids):
    """{head id: [variants]} of a page's families, those that match the filters (all of them
    when nothing is filtered), by name; one query."""
    head_ids = list(head_ids)
    if not head_ids:
        return {}
    queryset = entitled_products(relationship=relationship).filter(variant_of_id__in=head_ids)
    match = _match(relationship, filters)
    if match is not None:
        queryset = queryset.filter(match)
    result = {}
    for variant in queryset.order_by("variant_of_id", "name", "id"):
        result.setdefault(variant.variant_of_id, []).append(variant)
    return result


def attribute_facets(*, relationship):
    """[(name, [values])] of the attributes of products the buyer may see (for the filter
    form); one query, at most MAX_FACETS values."""
    queryset = ProductAttribute.objects.filter(supplier_id=relationship.supplier_id,
                                               product__is_active=True)
    allowed = entitled_categories(relationship=relationship)
    if allowed is not None:
        queryset = queryset.filter(product__category_id__in=allowed)
    facets = {}
    for name, value in (queryset.values_list("name", "value").distinct()
                        .order_by("name", "value")[:MAX_FACETS]):
        facets.setdefault(name, []).append(value)
    return list(facets.items())
