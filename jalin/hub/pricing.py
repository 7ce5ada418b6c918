"""Business rule: which unit price applies to a buyer.

The price a buyer sees comes from, in this order:

1. the price list of its trading relationship (the customer list), if that list is valid on
   the day and has a break for the product at or below the quantity;
2. otherwise the price list of the relationship's customer group, under the same conditions;
3. otherwise the supplier's base list, under the same conditions;
4. otherwise there is no price: the product cannot be ordered by that buyer.

Within a list the break with the highest `min_quantity` not above the quantity wins. A buyer
only ever gets its own relationship's list, its own group's list or its supplier's base list:
the lookup is keyed by the relationship, never by anything the buyer sends, and a list or
group of another supplier is ignored.

`prices_for` answers a whole page of products with one query; `price_for` is the one-product
form of the same rule.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import F, Q, Subquery

from .models import CustomerGroup, PriceListItem

CUSTOMER, GROUP, BASE = "customer", "group", "base"


@dataclass(frozen=True)
class UnitPrice:
    amount: Decimal
    currency: str
    price_list_id: int
    min_quantity: int
    is_customer_price: bool
    source: str = BASE  # "customer", "group" or "base": which list the price came from


def _valid_on(on_date):
    """The item's price list is valid on `on_date` (inclusive dates, empty = open-ended)."""
    starts = Q(price_list__valid_from__isnull=True) | Q(price_list__valid_from__lte=on_date)
    ends = Q(price_list__valid_to__isnull=True) | Q(price_list__valid_to__gte=on_date)
    return starts & ends


def best_break(rows, quantity):
    """From (min_quantity, unit_price, ...) rows of one list and product, the row that applies
    to `quantity`: the highest min_quantity not above it. None when none applies."""
    best = None
    for row in rows:
        if row[0] <= quantity and (best is None or row[0] > best[0]):
            best = row
    return best


def _group_list(relationship):
    """The relationship's group's price list id as a subquery (None without a group, or for
    a group of another supplier)."""
    return Subquery(CustomerGroup.objects.filter(
        pk=relationship.group_id, supplier_id=relationship.supplier_id,
        price_list__supplier_id=relationship.supplier_id,
    ).values("price_list_id")[:1])


def prices_for(*, relationship, product_ids=(), quantity=1, on_date, quantities=None):
    """{product_id: UnitPrice} for the products that have a price; one query. With
    `quantities` ({product_id: quantity}, e.g. an order's lines) each product is priced for
    its own quantity, still in one query; `product_ids` and `quantity` are then ignored."""
    if quantities is not None:
        quantities = {pid: qty for pid, qty in quantities.items() if qty >= 1}
        product_ids = list(quantities)
        quantity = max(quantities.values(), default=0)
    else:
        product_ids = list(product_ids)
        quantities = dict.fromkeys(product_ids, quantity)
    if not product_ids or quantity < 1:
        return {}
    lists = Q(price_list__is_base=True)
    if relationship.price_list_id:
        # The customer list must be the supplier's own; a list of another supplier is ignored.
        lists |= Q(price_list_id=relationship.price_list_id)
    queryset = PriceListItem.objects.all()
    group_id = getattr(relationship, "group_id", None)
    fields = ["product_id", "price_list_id", "min_quantity", "unit_price",
              "price_list__currency", "price_list__is_base"]
    if group_id:
        queryset = queryset.annotate(group_list=_group_list(relationship))
        lists |= Q(price_list_id=F("group_list"))
        fields.append("group_list")
    rows = (
        queryset.filter(lists, _valid_on(on_date), product_id__in=product_ids,
                        price_list__supplier_id=relationship.supplier_id,
                        product__supplier_id=relationship.supplier_id,
                        min_quantity__lte=quantity)
        .values_list(*fields)
    )
    found = {CUSTOMER: {}, GROUP: {}, BASE: {}}
    for product_id, list_id, min_quantity, unit_price, currency, is_base, *rest in rows:
        group_list = rest[0] if rest else None
        row = (min_quantity, unit_price, currency, list_id)
        # One list can play several parts (a group's list may also be a customer's list).
        if list_id == relationship.price_list_id:
            found[CUSTOMER].setdefault(product_id, []).append(row)
        if group_list is not None and list_id == group_list:
            found[GROUP].setdefault(product_id, []).append(row)
        if is_base:
            found[BASE].setdefault(product_id, []).append(row)
    prices = {}
    for product_id in product_ids:
        for source in (CUSTOMER, GROUP, BASE):
            row = best_break(found[source].get(product_id, ()), quantities[product_id])
            if row is not None:
                prices[product_id] = UnitPrice(
                    amount=row[1], currency=row[2], price_list_id=row[3],
                    min_quantity=row[0], is_customer_price=source == CUSTOMER, source=source,
                )
                break
    return prices


def price_for(*, relationship, product, quantity, on_date):
    """The UnitPrice that applies to this buyer for `quantity` of `product` on `on_date`, or
    None (no price: not orderable)."""
    if product.supplier_id != relationship.supplier_id:
        return None
    return prices_for(relationship=relationship, product_ids=[product.pk], quantity=quantity,
                      on_date=on_date).get(product.pk)
