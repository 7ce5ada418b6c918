"""Builders for the forecast tests: opportunities made directly with the models (the
opportunity services are written in parallel) and hub order history with known monthly
figures (orders made directly: history, not ordering, is under test)."""

import datetime
import math
from decimal import Decimal

from django.utils import timezone

from jalin.crm import services as crm
from jalin.hub import sales_rollup
from jalin.hub.models import Order, OrderLine, OrderStatus
from jalin.hub.testing import link_buyer, make_product
from jalin.sales import leads
from jalin.sales.models import Opportunity, OpportunityLine, OpportunityStatus
from jalin.tenancy.models import Organization


def stages(org):
    pipeline = leads.default_pipeline(org)
    return pipeline, {stage.name: stage for stage in pipeline.stages.all()}


def make_opportunity(org, actor, *, amount, close_date, stage="Qualification",
                     category=None, status=OpportunityStatus.OPEN, probability=None,
                     owner=None, team=None, currency="IDR", account=None, lines=()):
    pipeline, by_name = stages(org)
    stage_row = by_name[stage]
    if account is None:
        account = crm.account_create(organization=org, actor=actor, name=f"Acct {amount}")
    opportunity = Opportunity.objects.create(
        organization=org, name=f"Deal {amount}", account=account, pipeline=pipeline,
        stage=stage_row, status=status, amount=Decimal(str(amount)), currency=currency,
        probability=probability, forecast_category=category or stage_row.forecast_category,
        close_date=close_date, owner=owner, team=team)
    for position, (product, line_amount) in enumerate(lines, 1):
        OpportunityLine.objects.create(opportunity=opportunity, position=position,
                                       product=product,
                                       description=product.name if product else "Service",
                                       quantity=1, unit_price=Decimal(str(line_amount)),
                                       amount=Decimal(str(line_amount)))
    return opportunity


def add_months(day, months):
    index = day.year * 12 + day.month - 1 + months
    return datetime.date(index // 12, index % 12 + 1, 1)


def seasonal_value(index, *, base=1000.0, trend=10.0, amplitude=300.0):
    """A known seasonal series: trend plus a yearly sine wave, no noise."""
    return round(base + trend * index + amplitude * math.sin(2 * math.pi * index / 12), 2)


class History:
    """A supplier with one buyer and products, and helpers to put orders in past months."""

    def __init__(self, supplier, actor, *, products=1):
        self.supplier = supplier
        supplier.is_supplier = True
        supplier.save(update_fields=["is_supplier"])
        self.buyer = Organization.objects.create(name="History Buyer", slug="history-buyer",
                                                 is_buyer=True)
        self.relationship = link_buyer(supplier, self.buyer, actor)
        self.products = [make_product(supplier, actor, f"HIST-{index}") for index in
                         range(products)]
        self.number = 0

    def order(self, day, *, net, lines=None, status=OrderStatus.CLOSED, currency="IDR"):
        """One order submitted at noon (Jakarta) on `day`; lines = [(product, qty)]."""
        self.number += 1
        moment = timezone.make_aware(datetime.datetime.combine(day, datetime.time(12)))
        order = Order.objects.create(
            supplier=self.supplier, buyer=self.buyer, relationship=self.relationship,
            number=self.number, status=status, currency=currency,
            total_net=Decimal(str(net)), total_gross=Decimal(str(net)),
            created_at=moment, submitted_at=moment, updated_at=moment)
        created = []
        for position, (product, quantity) in enumerate(lines or [], 1):
            created.append(OrderLine.objects.create(
                order=order, position=position, product=product, sku=product.sku,
                name=product.name, unit=product.unit, quantity=quantity,
                unit_price=Decimal("1"), tax_class=product.tax_class, tax_rate=Decimal("0"),
                line_net=Decimal(quantity), line_tax=Decimal("0"),
                line_gross=Decimal(quantity)))
        # As order_place does: the monthly product rollup follows in the same transaction.
        sales_rollup.order_added(order=order, lines=created)
        return order

    def monthly(self, first_month, values, *, product=None):
        """One order on the 15th of each month from `first_month` with net = value (and
        `value` units of `product` when given)."""
        for index, value in enumerate(values):
            day = add_months(first_month, index).replace(day=15)
            lines = [(product, int(value))] if product is not None and value else None
            if value:
                self.order(day, net=value, lines=lines)
