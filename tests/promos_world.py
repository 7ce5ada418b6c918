"""A supplier with a running targeted promotion and known orders before and during it (the
promotion analysis, promotion pages and API tests share it)."""

import datetime
from decimal import Decimal

from django.utils import timezone

from jalin.hub import orders, promotions, stock
from jalin.hub.models import Order
from jalin.hub.promotion_selectors import start_of
from jalin.hub.testing import link_buyer, make_price_list, make_product, set_price
from tests.conftest import make_org

DAY = datetime.timedelta(days=1)


def place(world, relationship, lines, on):
    order = orders.order_place(relationship=relationship, actor=world.owner, lines=lines,
                               entered_by_supplier=True)
    at = start_of(on) + datetime.timedelta(hours=10)
    Order.objects.filter(pk=order.pk).update(submitted_at=at, created_at=at)
    return order


def build(org, owner):
    today = timezone.localdate()
    base = make_price_list(org, owner, "Base", is_base=True)
    drill = make_product(org, owner, "DRL-1", "Drill", unit_cost=Decimal("50000"))
    paper = make_product(org, owner, "PAP-1", "Paper")
    set_price(base, drill, "100000", owner)
    set_price(base, paper, "10000", owner)
    warehouse = stock.warehouse_create(supplier=org, actor=owner, code="jkt", name="Jakarta")
    for product in (drill, paper):
        stock.stock_adjust(warehouse=warehouse, product=product, delta=1000, reason="count",
                           actor=owner)
    buyers = {name: make_org(f"buyer-{name}", is_supplier=False, is_buyer=True)
              for name in "abc"}
    rels = {name: link_buyer(org, buyer, owner) for name, buyer in buyers.items()}
    w = type("World", (), dict(supplier=org, owner=owner, today=today, drill=drill,
                               paper=paper, buyers=buyers, rels=rels))
    # Before the promotion (no discount yet): A's old paper order and A's drills.
    place(w, rels["a"], [(paper.pk, 1)], today - 60 * DAY)
    place(w, rels["a"], [(drill.pk, 2)], today - 7 * DAY)
    w.promotion = promotions.promotion_create(
        supplier=org, actor=owner, name="Drill days", starts_on=today - 4 * DAY,
        ends_on=today + 5 * DAY, discount_percent="10", products=[drill],
        buyers=[buyers["a"], buyers["c"]])
    # In the period: A (repeat) and C (new) get 10% off; B is not targeted; paper is out of
    # the promotion's products; a cancelled order never counts.
    place(w, rels["a"], [(drill.pk, 3), (paper.pk, 5)], today - 2 * DAY)
    place(w, rels["c"], [(drill.pk, 1)], today)
    place(w, rels["b"], [(drill.pk, 2)], today - 1 * DAY)
    cancelled = place(w, rels["c"], [(drill.pk, 9)], today - 1 * DAY)
    Order.objects.filter(pk=cancelled.pk).update(status="cancelled")
    return w
