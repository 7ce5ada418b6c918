"""The hub's hot paths do a fixed amount of work per request, however many lines or rows:
order placement (API) and the buyer's catalog page. Data from `jalin hub_generate`."""

import json
import uuid
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from jalin.hub.models import Product, StockLevel, StockMovement, TradingRelationship

pytestmark = pytest.mark.django_db


@pytest.fixture
def hub(tmp_path):
    tokens = tmp_path / "tokens.json"
    call_command("hub_generate", "--supplier", "perf", "--products", "120", "--buyers", "1",
                 "--warehouses", "2", "--seed", "2", "--tokens-file", str(tokens),
                 stdout=StringIO())
    return json.loads(tokens.read_text())


def place(hub, product_ids, quantity=10):
    buyer = hub["buyers"][0]
    body = {"supplier_id": hub["supplier_id"],
            "lines": [{"product_id": pid, "quantity": quantity} for pid in product_ids]}
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
    # Stock levels still equal their ledger, one reservation movement per line.
    assert StockMovement.objects.filter(order_id=big["id"], kind="reservation").count() == 10
    for level in StockLevel.objects.filter(product_id__in=products[:13], reserved__gt=0):
        moved = sum(StockMovement.objects.filter(stock=level)
                    .values_list("reserved_delta", flat=True))
        assert moved == level.reserved


def test_the_catalog_page_costs_the_same_queries_for_3_or_50_rows(hub):
    relationship = TradingRelationship.objects.get(pk=hub["buyers"][0]["relationship_id"])
    client = Client()
    client.force_login(relationship.buyer.memberships.get().user)
    url = f"/hub/shop/{hub['supplier_id']}/"
    client.get(url)
    counts = {}
    for search, rows in (("", 50), ("LIS1-0000", 3)):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, {"q": search} if search else {})
        assert response.status_code == 200
        assert response.content.decode().count('class="price"') == rows
        counts[rows] = len(queries)
    assert counts[3] == counts[50]
