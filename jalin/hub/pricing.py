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

Then promotions (`Promotion`): the best active promotion for the buyer, the product and the
day takes its percentage off that price. A promotion applies when

- it is active and the day is within `starts_on`..`ends_on` (inclusive);
- it lists no products and no categories (the whole catalog), or lists the product, or lists
  the product's category or a category above it;
- it lists no customer groups and no buyers (every customer, unless it is marked
  `listed_customers_only`, as one targeted by a sales segment is), or lists the buyer, or
  lists the buyer's customer group.

Of several, the highest percentage wins (ties: the one ending first, then the oldest). The
discounted unit price is rounded half up to the price's four decimals; `UnitPrice` keeps the
list price (`list_amount`) and the promotion, and the order line records both.

`prices_for` answers a whole page of products with one query while no promotion runs for the
buyer, two when one does (a few more only when a promotion is limited to products or
categories); `price_for` is the one-product form of the same rule.
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Exists, F, OuterRef, Q, Subquery

from .models import PRICE_DECIMAL_PLACES, Category, CustomerGroup, PriceListItem, Product, Promotion

CUSTOMER, GROUP, BASE = "customer", "group", "base"


@dataclass(frozen=True)
class UnitPrice:
    amount: Decimal
    currency: str
    price_list_id: int
    min_quantity: int
    is_customer_price: bool
    source: str = BASE  # "customer", "group" or "base": which list the price came from
    # With a promotion: `amount` is the discounted price, `list_amount` the price before it.
    promotion_id: int | None = None
    promotion_name: str = ""
    discount_percent: Decimal | None = None
    list_amount: Decimal | None = None

    @property
    def before_promotion(self):
        return self.list_amount if self.list_amount is not None else self.amount


@dataclass(frozen=True)
class ActivePromotion:
    id: int
    name: str
    discount_percent: Decimal


PRICE_QUANTUM = Decimal(1).scaleb(-PRICE_DECIMAL_PLACES)
HUNDRED = Decimal(100)


def discounted(amount, percent):
    """`amount` less `percent` %, rounded half up to the price's four decimals."""
    return (Decimal(amount) * (HUNDRED - Decimal(percent)) / HUNDRED).quantize(
        PRICE_QUANTUM, rounding=ROUND_HALF_UP)


def _through_exists(field, **filters):
    through = Promotion._meta.get_field(field).remote_field.through
    return Exists(through.objects.filter(promotion_id=OuterRef("pk"), **filters))


def _running(relationship, on_date):
    """The promotions of the supplier running on `on_date` that reach this buyer."""
    everyone = (Q(listed_customers_only=False) & ~_through_exists("buyers")
                & ~_through_exists("customer_groups"))
    customer = everyone | _through_exists("buyers", organization_id=relationship.buyer_id)
    group_id = getattr(relationship, "group_id", None)
    if group_id:
        customer |= _through_exists("customer_groups", customergroup_id=group_id)
    return Promotion.objects.filter(supplier_id=relationship.supplier_id, is_active=True,
                                    starts_on__lte=on_date, ends_on__gte=on_date).filter(customer)


def promotions_for(*, relationship, product_ids, on_date):
    """{product_id: ActivePromotion}: the best promotion of the day for each of these products
    bought by this relationship's buyer. One query when no promotion is limited to
    products/categories; at most five otherwise, whatever the number of products."""
    product_ids = list(product_ids)
    if not product_ids:
        return {}
    candidates = list(
        _running(relationship, on_date)
        .annotate(has_products=_through_exists("products"),
                  has_categories=_through_exists("categories"))
        .order_by("-discount_percent", "ends_on", "id")
        .values_list("id", "name", "discount_percent", "has_products", "has_categories")
    )
    if not candidates:
        return {}
    scoped = [row[0] for row in candidates if row[3] or row[4]]
    listed_products, listed_categories = {}, {}
    if scoped:
        through = Promotion.products.through
        for promotion_id, product_id in through.objects.filter(
                promotion_id__in=scoped, product_id__in=product_ids).values_list(
                "promotion_id", "product_id"):
            listed_products.setdefault(promotion_id, set()).add(product_id)
        with_categories = [row[0] for row in candidates if row[4]]
        if with_categories:
            through = Promotion.categories.through
            for promotion_id, category_id in through.objects.filter(
                    promotion_id__in=with_categories).values_list("promotion_id",
                                                                  "category_id"):
                listed_categories.setdefault(promotion_id, set()).add(category_id)
    product_categories = {}
    if listed_categories:
        parents = dict(Category.objects.filter(supplier_id=relationship.supplier_id)
                       .values_list("id", "parent_id"))
        for product_id, category_id in Product.objects.filter(
                pk__in=product_ids).values_list("id", "category_id"):
            chain, node = set(), category_id
            while node is not None and node not in chain:  # the category and those above it
                chain.add(node)
                node = parents.get(node)
            product_categories[product_id] = chain
    found = {}
    for product_id in product_ids:
        for promotion_id, name, percent, has_products, has_categories in candidates:
            in_scope = (product_id in listed_products.get(promotion_id, ())
                        or product_categories.get(product_id, set())
                        & listed_categories.get(promotion_id, set()))
            if (has_products or has_categories) and not in_scope:
                continue
            found[product_id] = ActivePromotion(id=promotion_id, name=name,
                                                discount_percent=percent)
            break  # candidates come best first
    return found


def _with_promotion(price, promotion):
    if promotion is None:
        return price
    return UnitPrice(
        amount=discounted(price.amount, promotion.discount_percent), currency=price.currency,
        price_list_id=price.price_list_id, min_quantity=price.min_quantity,
        is_customer_price=price.is_customer_price, source=price.source,
        promotion_id=promotion.id, promotion_name=promotion.name,
        discount_percent=promotion.discount_percent, list_amount=price.amount,
    )


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


def prices_for(*, relationship, product_ids=(), quantity=1, on_date, quantities=None,
               promotions=True):
    """{product_id: UnitPrice} for the products that have a price, promotions applied (see
    `promotions_for`; `promotions=False` gives the plain list prices). With `quantities`
    ({product_id: quantity}, e.g. an order's lines) each product is priced for its own
    quantity, still in one query; `product_ids` and `quantity` are then ignored."""
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
    if promotions:
        # Whether any promotion runs for this buyer today rides along (an uncorrelated EXISTS
        # the database evaluates once), so without promotions pricing stays one query.
        queryset = queryset.annotate(promoted=Exists(_running(relationship, on_date)))
        fields.append("promoted")
    rows = (
        queryset.filter(lists, _valid_on(on_date), product_id__in=product_ids,
                        price_list__supplier_id=relationship.supplier_id,
                        product__supplier_id=relationship.supplier_id,
                        min_quantity__lte=quantity)
        .values_list(*fields)
    )
    found = {CUSTOMER: {}, GROUP: {}, BASE: {}}
    promoted = False
    for product_id, list_id, min_quantity, unit_price, currency, is_base, *rest in rows:
        if promotions:
            promoted = promoted or bool(rest.pop())
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
    if promoted and prices:
        best = promotions_for(relationship=relationship, product_ids=list(prices),
                              on_date=on_date)
        prices = {pid: _with_promotion(price, best.get(pid)) for pid, price in prices.items()}
    return prices


def price_for(*, relationship, product, quantity, on_date):
    """The UnitPrice that applies to this buyer for `quantity` of `product` on `on_date`, or
    None (no price: not orderable)."""
    if product.supplier_id != relationship.supplier_id:
        return None
    return prices_for(relationship=relationship, product_ids=[product.pk], quantity=quantity,
                      on_date=on_date).get(product.pk)
