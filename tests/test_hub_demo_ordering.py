"""`jalin demo` gives every demo buyer a saved list with each supplier and each supplier a
product stocked in two warehouses (an order larger than either is split); idempotent."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count

from jalin.hub import orders
from jalin.hub.models import (
    OrderLineAllocation,
    Product,
    SavedList,
    StockLevel,
    TradingRelationship,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def load_demo():
    out = StringIO()
    call_command("demo", stdout=out)
    return out.getvalue()


def test_demo_saved_lists_and_spread_stock():
    load_demo()
    relationships = TradingRelationship.objects.count()
    assert SavedList.objects.count() == relationships
    assert all(lst.lines.count() >= 1 and lst.shared for lst in SavedList.objects.all())
    spread = (StockLevel.objects.values("product").annotate(houses=Count("warehouse"))
              .filter(houses=2).values_list("product", flat=True))
    assert len(spread) >= 2  # at least one per supplier with stock
    output = load_demo()
    assert "Saved lists: 0 created." in output
    assert SavedList.objects.count() == relationships
    assert StockLevel.objects.filter(product__in=list(spread)).count() == 2 * len(spread)

    product = Product.objects.get(pk=spread[0])
    levels = list(StockLevel.objects.filter(product=product))
    largest = max(level.available for level in levels)
    total = sum(level.available for level in levels)
    relationship = next(
        rel for rel in TradingRelationship.objects.filter(supplier=product.supplier)
        if orders._orderable(rel, [product.pk]))
    order = orders.order_place(relationship=relationship, actor=None,
                               lines=[(product.pk, min(largest + 1, total))])
    assert OrderLineAllocation.objects.filter(order_line__order=order).count() == 2
