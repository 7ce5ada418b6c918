"""`jalin hub_generate`: small runs on SQLite and PostgreSQL make a usable, consistent hub —
the generated buyer can open the catalog at its own prices and place an order through the API
with its generated token."""

import json
import uuid
from collections import Counter
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Sum
from django.test import Client
from django.utils import timezone

from jalin.hub import numbering
from jalin.hub.models import (
    OPEN_STATUSES,
    Category,
    Order,
    OrderLine,
    OrderLineAllocation,
    OrderStatus,
    OrderStatusChange,
    PriceList,
    PriceListItem,
    Product,
    StockLevel,
    TradingRelationship,
)
from jalin.hub.pricing import prices_for
from jalin.tenancy.models import Membership, Organization
from jalin.tenancy.roles import Role


def generate(tmp_path, **options):
    out = StringIO()
    args = ["hub_generate", "--supplier", "grosir", "--seed", "5", "--batch", "50",
            "--tokens-file", str(tmp_path / "tokens.json")]
    for name, value in options.items():
        args += [f"--{name.replace('_', '-')}", str(value)]
    call_command(*args, stdout=out)
    return out.getvalue(), json.loads((tmp_path / "tokens.json").read_text())


@pytest.mark.django_db(transaction=True)
def test_small_run_makes_a_consistent_hub(tmp_path):
    output, tokens = generate(tmp_path, products=150, buyers=3, warehouses=2, orders=40,
                              lines=3, customer_share=0.5)
    assert "Generated 150 products, 3 buyers, 2 warehouses, 40 orders" in output
    supplier = Organization.objects.get(slug="grosir")
    assert supplier.is_supplier and tokens["supplier_id"] == supplier.pk
    assert Membership.objects.get(organization=supplier).role == Role.ORG_ADMIN
    # Catalog: active products in the supplier's leaf categories, unique SKUs.
    products = Product.objects.filter(supplier=supplier)
    assert products.count() == 150 and not products.filter(is_active=False).exists()
    leaves = set(Category.objects.filter(supplier=supplier, parent__isnull=False)
                 .values_list("pk", flat=True))
    assert set(products.values_list("category_id", flat=True)) <= leaves
    assert len(set(products.values_list("sku", flat=True))) == 150
    # The base list prices every product; breaks are cheaper than the unit price.
    base = PriceList.objects.get(supplier=supplier, is_base=True)
    assert set(base.items.values_list("product_id", flat=True)) == set(
        products.values_list("pk", flat=True))
    for product_id in base.items.filter(min_quantity__gt=1).values_list("product_id",
                                                                        flat=True)[:20]:
        one, *breaks = base.items.filter(product_id=product_id).order_by("min_quantity")
        assert all(item.unit_price <= one.unit_price for item in breaks)
    # Each buyer: active net-terms relationship with its own customer list, a buyer user and
    # a token.
    assert len(tokens["buyers"]) == 3
    relationships = TradingRelationship.objects.filter(supplier=supplier)
    assert relationships.count() == 3
    lists = set()
    for relationship in relationships:
        assert relationship.is_active and relationship.payment_terms == "net"
        assert relationship.credit_limit >= Decimal("10") ** 15
        assert relationship.price_list.supplier_id == supplier.pk
        lists.add(relationship.price_list_id)
        covered = relationship.price_list.items.values("product_id").distinct().count()
        assert 40 <= covered <= 110  # about half of 150
        member = Membership.objects.get(organization=relationship.buyer)
        assert member.role == Role.BUYER
    assert len(lists) == 3
    assert not PriceListItem.objects.exclude(product__supplier=supplier).exists()
    # A product in a customer list is priced from it, with its quantity breaks.
    relationship = relationships.first()
    item = relationship.price_list.items.order_by("product_id", "-min_quantity").first()
    price = prices_for(relationship=relationship, product_ids=[item.product_id],
                       quantity=item.min_quantity, on_date=timezone.localdate())
    assert price[item.product_id].is_customer_price
    assert price[item.product_id].amount == item.unit_price
    # Stock: every product in both warehouses, reserved = the open orders' lines.
    levels = StockLevel.objects.filter(warehouse__supplier=supplier)
    assert levels.count() == 300
    reserved = Counter()
    for warehouse_id, product_id, quantity in OrderLine.objects.filter(
        order__supplier=supplier, order__status__in=[OrderStatus.SUBMITTED,
                                                     OrderStatus.CONFIRMED],
    ).values_list("warehouse_id", "product_id", "quantity"):
        reserved[(warehouse_id, product_id)] += quantity
    for level in levels:
        assert level.reserved == reserved[(level.warehouse_id, level.product_id)]
        assert level.available > 1_000_000
    # Orders: numbered 1..40 with the counter after them, totals are the sums of the lines.
    orders = Order.objects.filter(supplier=supplier)
    assert sorted(orders.values_list("number", flat=True)) == list(range(1, 41))
    assert numbering.last_number(supplier_id=supplier.pk, sequence=numbering.ORDER) == 40
    for order in orders.annotate(net=Sum("lines__line_net"), gross=Sum("lines__line_gross")):
        assert order.net == order.total_net and order.gross == order.total_gross
        assert order.relationship.buyer_id == order.buyer_id
    lines = OrderLine.objects.filter(order__supplier=supplier)
    assert lines.count() >= 40
    # Each line has its one allocation in the line's warehouse (as if one warehouse filled it).
    allocations = OrderLineAllocation.objects.filter(order_line__order__supplier=supplier)
    assert allocations.count() == lines.count()
    for allocation in allocations.select_related("order_line")[:50]:
        line = allocation.order_line
        assert (allocation.warehouse_id, allocation.quantity, allocation.shipped_quantity) == (
            line.warehouse_id, line.quantity, line.shipped_quantity)
    assert OrderStatusChange.objects.filter(order__supplier=supplier).count() == 40
    assert orders.filter(status=OrderStatus.CLOSED).exists()

    # The generated buyer places a 5-line order through the API with its token: number 41.
    buyer = tokens["buyers"][0]
    relationship = TradingRelationship.objects.get(pk=buyer["relationship_id"])
    product_ids = list(relationship.price_list.items.values_list("product_id", flat=True)
                       .distinct().order_by("product_id")[:5])
    moq = dict(Product.objects.filter(pk__in=product_ids)
               .values_list("pk", "min_order_quantity"))
    body = {"supplier_id": supplier.pk,
            "lines": [{"product_id": pid, "quantity": moq[pid]} for pid in product_ids]}
    response = Client().post("/api/v1/hub/orders", json.dumps(body),
                             content_type="application/json",
                             headers={"Authorization": f"Bearer {buyer['token']}",
                                      "Idempotency-Key": str(uuid.uuid4())})
    assert response.status_code == 201, response.content
    placed = response.json()
    assert placed["number"] == 41 and placed["status"] == OrderStatus.SUBMITTED
    assert placed["status"] in OPEN_STATUSES and len(placed["lines"]) == 5

    # ... and sees its catalog page with its own prices.
    client = Client()
    client.force_login(Membership.objects.get(organization_id=buyer["buyer_id"]).user)
    page = client.get(f"/hub/shop/{supplier.pk}/")
    assert page.status_code == 200
    assert page.content.decode().count('class="price"') == 50

    # A second run for the same supplier is refused and writes nothing.
    with pytest.raises(CommandError, match="already has products"):
        generate(tmp_path, products=10, buyers=1)
    assert Product.objects.filter(supplier=supplier).count() == 150


@pytest.mark.django_db
def test_bad_arguments_are_refused(tmp_path):
    for options in ({"products": -1}, {"warehouses": 0}, {"warehouses": 9},
                    {"customer_share": 2}, {"orders": 5, "buyers": 0}):
        with pytest.raises(CommandError):
            generate(tmp_path, **options)
    assert not Organization.objects.filter(slug="grosir").exists()
