"""The hub's hot paths do a fixed amount of work per request, however many lines or rows:
order placement (API) and the buyer's catalog page. Data from `jalin hub_generate`."""

import json
import uuid
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from jalin.hub.models import Product, StockLevel, StockMovement, TradingRelationship
from jalin.hub.pricing import price_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def hub(tmp_path):
    tokens = tmp_path / "tokens.json"
    call_command("hub_generate", "--supplier", "perf", "--products", "120", "--buyers", "1",
                 "--warehouses", "2", "--seed", "2", "--tokens-file", str(tokens),
                 stdout=StringIO())
    return json.loads(tokens.read_text())


def place(hub, product_ids, quantity=10):
    """Place an order through the API; `quantity` is one for all lines or a list."""
    buyer = hub["buyers"][0]
    quantities = quantity if isinstance(quantity, list) else [quantity] * len(product_ids)
    body = {"supplier_id": hub["supplier_id"],
            "lines": [{"product_id": pid, "quantity": qty}
                      for pid, qty in zip(product_ids, quantities, strict=True)]}
    with CaptureQueriesContext(connection) as queries:
        response = Client().post("/api/v1/hub/orders", json.dumps(body),
                                 content_type="application/json",
                                 headers={"Authorization": f"Bearer {buyer['token']}",
                                          "Idempotency-Key": str(uuid.uuid4())})
    assert response.status_code == 201, response.content
    return len(queries), response.json()


def test_placing_an_order_costs_the_same_queries_for_2_or_10_lines(hub):
    products = list(Product.objects.filter(supplier_id=hub["supplier_id"])
                    .order_by("id").values_list("pk", flat=True))
    place(hub, products[:1])  # first order: counters and caches
    two, small = place(hub, products[1:3])
    ten, big = place(hub, products[3:13])
    assert len(small["lines"]) == 2 and len(big["lines"]) == 10
    assert ten == two
    # Lines of different quantities are priced in the same one query, each at its own
    # quantity's break (the break rows of the generated lists start at 10, 12, 50, 100).
    quantities = [10, 12, 50, 100, 130]
    mixed, order = place(hub, products[13:18], quantities)
    assert mixed == two
    relationship = TradingRelationship.objects.get(pk=hub["buyers"][0]["relationship_id"])
    for line in order["lines"]:
        expected = price_for(relationship=relationship,
                             product=Product.objects.get(pk=line["product_id"]),
                             quantity=line["quantity"], on_date=timezone.localdate())
        assert Decimal(line["unit_price"]) == expected.amount
    assert sorted(line["quantity"] for line in order["lines"]) == quantities
    # Stock levels still equal their ledger, one reservation movement per line.
    assert StockMovement.objects.filter(order_id=big["id"], kind="reservation").count() == 10
    for level in StockLevel.objects.filter(product_id__in=products[:13], reserved__gt=0):
        moved = sum(StockMovement.objects.filter(stock=level)
                    .values_list("reserved_delta", flat=True))
        assert moved == level.reserved


def test_the_catalog_page_costs_the_same_queries_for_3_15_or_50_rows(hub):
    relationship = TradingRelationship.objects.get(pk=hub["buyers"][0]["relationship_id"])
    client = Client()
    client.force_login(relationship.buyer.memberships.get().user)
    url = f"/hub/shop/{hub['supplier_id']}/"
    client.get(url)
    counts = {}
    for search in ("LIS", "LIS1-0000"):  # SKU prefixes: 15 products (+ names), 3 products
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, {"q": search})
        assert response.status_code == 200
        counts[response.content.decode().count('class="price"')] = len(queries)
    assert 3 in counts and len(counts) == 2 and max(counts) >= 15
    assert len(set(counts.values())) == 1
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.content.decode().count('class="price"') == 50
    assert len(queries) <= counts[3]




@pytest.mark.postgres
def test_open_order_amounts_index_serves_the_credit_check(hub):
    """On PostgreSQL the credit check's read of a relationship's open orders can use the
    partial covering index (hub.0008): its predicate covers the ORM's status list. (With the
    other indexes on relationship_id dropped inside this test's transaction and table scans
    switched off, the planner picks it; a predicate it could not prove would leave only the
    disabled sequential scan.)"""
    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL index")
    from jalin.hub import orders
    from jalin.hub.models import Order

    relationship = TradingRelationship.objects.get(pk=hub["buyers"][0]["relationship_id"])
    queryset = (Order.objects.filter(relationship=relationship,
                                     status__in=orders._CREDIT_COUNTED)
                .order_by().values("total_gross", "invoiced_gross"))
    sql, params = queryset.query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'hub_order' AND "
                       "indexdef LIKE '%%(relationship_id%%' AND indexname <> "
                       "'hub_order_rel_open_amounts'")
        for (name,) in cursor.fetchall():
            cursor.execute(f'DROP INDEX "{name}"')
        for path in ("seqscan", "bitmapscan"):
            cursor.execute(f"SET LOCAL enable_{path} = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        transaction.set_rollback(True)
    assert "using hub_order_rel_open_amounts" in plan, plan


@pytest.mark.postgres
def test_shop_text_search_has_an_index_on_both_sides(hub):
    """Both sides of the shop's text search ("SKU starts with" OR "name contains") have an
    index on PostgreSQL (hub.0008 and hub.0006), in the form Django's lookups produce
    (UPPER(col::text)), so at catalog size the OR is a BitmapOr of two index scans rather
    than a read of the whole catalog (docs/performance.md, Hub); and a search that matches
    nothing shows nothing."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL indexes")
    from jalin.hub import catalog_search

    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = "
                       "'hub_product' AND indexname IN ('hub_product_sku_prefix', "
                       "'hub_product_name_trgm')")
        definitions = dict(cursor.fetchall())
    assert "(supplier_id, upper((sku)::text) text_pattern_ops)" in definitions[
        "hub_product_sku_prefix"]
    assert "gin (upper((name)::text) gin_trgm_ops)" in definitions["hub_product_name_trgm"]
    relationship = TradingRelationship.objects.get(pk=hub["buyers"][0]["relationship_id"])
    match = catalog_search._match(relationship, catalog_search.CatalogFilters(search="Zebra"))
    assert "UPPER" in str(Product.objects.filter(match).query)
    page = catalog_search.search(relationship=relationship,
                                 filters=catalog_search.CatalogFilters(search="Zebra"),
                                 on_date=timezone.localdate())
    assert page.items == []
