"""A small hub for the RFQ tests: supplier `org` (owner = org admin, a sales person, a viewer),
three priced products and one unpriced, stock in one warehouse, buyer A (a buyer, an
approver, a viewer) and buyer B who also trades with the supplier."""

import datetime
from types import SimpleNamespace

from django.utils import timezone

from jalin.hub import rfqs, stock
from jalin.hub.testing import link_buyer, make_price_list, make_product, set_price
from jalin.tenancy.models import Membership
from jalin.tenancy.roles import Role
from tests.conftest import make_org, make_user


def person(organization, username, role):
    user = make_user(username)
    membership = Membership.objects.create(user=user, organization=organization, role=role)
    return user, membership


def build_world(org, owner):
    base = make_price_list(org, owner, "Base", is_base=True)
    paper = make_product(org, owner, "PAP-1", "Paper")
    pens = make_product(org, owner, "PEN-1", "Pens", tax_class="exempt")
    boxes = make_product(org, owner, "BOX-1", "Boxes", min_order_quantity=10)
    custom = make_product(org, owner, "CUS-1", "Custom print")  # no list price
    set_price(base, paper, "10000", owner)
    set_price(base, paper, "9000", owner, min_quantity=50)
    set_price(base, pens, "2500", owner)
    set_price(base, boxes, "1000", owner)
    warehouse = stock.warehouse_create(supplier=org, actor=owner, code="W1", name="Main")
    for product, units in ((paper, 100), (pens, 100), (boxes, 500), (custom, 20)):
        stock.stock_adjust(warehouse=warehouse, product=product, delta=units, reason="count",
                           actor=owner)
    buyer = make_org("buyer-a", is_supplier=False, is_buyer=True)
    buyer_b = make_org("buyer-b", is_supplier=False, is_buyer=True)
    relationship = link_buyer(org, buyer, owner)
    relationship_b = link_buyer(org, buyer_b, owner)
    buyer_user, buyer_membership = person(buyer, "a-buyer", Role.BUYER)
    approver, approver_membership = person(buyer, "a-approver", Role.BUYER_APPROVER)
    buyer_viewer, buyer_viewer_membership = person(buyer, "a-viewer", Role.VIEWER)
    b_user, b_membership = person(buyer_b, "b-buyer", Role.BUYER)
    sales, sales_membership = person(org, "s-sales", Role.SALES)
    finance, finance_membership = person(org, "s-finance", Role.FINANCE)
    owner_membership = Membership.objects.get(user=owner, organization=org)
    return SimpleNamespace(
        supplier=org, owner=owner, owner_membership=owner_membership, base=base, paper=paper,
        pens=pens, boxes=boxes, custom=custom, warehouse=warehouse, buyer=buyer,
        buyer_b=buyer_b, relationship=relationship, relationship_b=relationship_b,
        buyer_user=buyer_user, buyer_membership=buyer_membership, approver=approver,
        approver_membership=approver_membership, buyer_viewer=buyer_viewer,
        buyer_viewer_membership=buyer_viewer_membership, b_user=b_user,
        b_membership=b_membership, sales=sales, sales_membership=sales_membership,
        finance=finance, finance_membership=finance_membership,
    )


def in_days(days):
    return timezone.localdate() + datetime.timedelta(days=days)


def make_rfq(w, lines=None, **extra):
    lines = lines if lines is not None else [{"product_id": w.paper.pk, "quantity": 5},
                                             {"product_id": w.pens.pk, "quantity": 10,
                                              "note": "blue"}]
    return rfqs.rfq_create(relationship=w.relationship, actor=w.buyer_user,
                           title=extra.pop("title", "Office supplies Q1"), lines=lines, **extra)


def make_quote(w, rfq, prices=None, valid_days=7, send=True, membership=None, actor=None):
    prices = prices or {}
    lines = [{"rfq_line_id": line.pk, "unit_price": prices.get(line.product_id, "100"),
              **({"product_id": w.custom.pk} if line.product_id is None else {})}
             for line in rfq.lines.all()]
    return rfqs.quote_save(rfq=rfq, membership=membership or w.sales_membership,
                           actor=actor or w.sales, valid_until=in_days(valid_days),
                           lines=lines, send=send, note="Prices include delivery")
