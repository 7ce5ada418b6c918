"""A world for the sales quote tests: the RFQ world's supplier (`org`: paper, pens (tax
exempt), boxes (minimum 10), an unpriced custom print; buyer A and buyer B on the hub) plus a
customer price list for buyer A (paper 8,000), CRM accounts — one linked to buyer A on the hub,
one that is not a hub buyer — and an open opportunity with lines for each."""

import datetime
from decimal import Decimal

from django.utils import timezone

from jalin.crm.models import Account
from jalin.hub.testing import make_price_list, set_price
from jalin.sales.leads import default_pipeline, first_open_stage
from jalin.sales.models import Opportunity, OpportunityLine
from tests.rfq_world import build_world


def make_opportunity(org, account, owner, name, lines):
    pipeline = default_pipeline(org)
    opportunity = Opportunity.objects.create(
        organization=org, account=account, pipeline=pipeline,
        stage=first_open_stage(pipeline), name=name, currency="IDR", owner=owner,
        close_date=timezone.localdate() + datetime.timedelta(days=20))
    total = Decimal(0)
    for position, (product, description, quantity, price, discount) in enumerate(lines, 1):
        amount = Decimal(price) * quantity * (100 - Decimal(discount)) / 100
        OpportunityLine.objects.create(
            opportunity=opportunity, position=position, product=product,
            description=description, quantity=quantity, unit_price=Decimal(price),
            discount_percent=Decimal(discount), amount=amount)
        total += amount
    opportunity.amount = total
    opportunity.save(update_fields=["amount"])
    return opportunity


def build_sales_world(org, owner):
    w = build_world(org, owner)
    customer = make_price_list(org, owner, "Buyer A prices")
    set_price(customer, w.paper, "8000", owner)
    w.relationship.price_list = customer
    w.relationship.save(update_fields=["price_list"])
    w.hub_account = Account.objects.create(organization=org, name="Buyer A (hub)",
                                           hub_organization=w.buyer)
    w.walk_in = Account.objects.create(organization=org, name="Toko Walk-in")
    w.hub_deal = make_opportunity(org, w.hub_account, w.sales, "Paper for buyer A", [
        (w.paper, "Paper", 5, "12000", "10"), (w.pens, "Pens", 10, "3000", "0")])
    w.pdf_deal = make_opportunity(org, w.walk_in, w.sales, "Walk-in refit", [
        (w.paper, "Paper", 5, "12000", "10"), (None, "Installation", 1, "500000", "0")])
    return w
