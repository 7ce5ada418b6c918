"""Builders for hub tests (and the outsider walk): a supplier's catalog and its customers."""

from decimal import Decimal

from . import services


def make_product(supplier, actor, sku, name=None, **fields):
    return services.product_create(supplier=supplier, actor=actor, sku=sku,
                                   name=name or f"Product {sku}", **fields)


def make_price_list(supplier, actor, name="Base", **fields):
    return services.price_list_create(supplier=supplier, actor=actor, name=name, **fields)


def set_price(price_list, product, price, actor, min_quantity=1):
    return services.price_list_item_upsert(price_list=price_list, product=product,
                                           min_quantity=min_quantity,
                                           unit_price=Decimal(str(price)), actor=actor)


def link_buyer(supplier, buyer, actor, **terms):
    return services.relationship_create(supplier=supplier, buyer=buyer, actor=actor, **terms)


def victim_hub_records(supplier, actor):
    """Hub rows of the outsider walk's victim supplier, named so a leak shows its marker."""
    from jalin.tenancy.models import Organization

    buyer = Organization.objects.create(name="Victim Supply Secret Buyer",
                                        slug="victim-secret-buyer", is_buyer=True)
    category = services.category_create(supplier=supplier, actor=actor,
                                        name="Victim Supply Secret Category")
    product = make_product(supplier, actor, "VICTIM-SKU-1", "Victim Supply Secret Widget",
                           category=category)
    price_list = make_price_list(supplier, actor, "Victim Supply Secret Prices")
    item = set_price(price_list, product, "31999888", actor)
    relationship = link_buyer(supplier, buyer, actor, price_list=price_list)
    return {
        "hub_category": category,
        "hub_product": product,
        "hub_price_list": price_list,
        "hub_price_item": item,
        "hub_relationship": relationship,
    }


def make_delivered_order(*, relationship, supplier_membership, actor, lines, placed_by=None):
    """An order of `lines` ([(product_id, quantity)]) entered, confirmed, shipped in full and
    delivered — what a return starts from."""
    from . import orders

    order = orders.order_place(relationship=relationship, actor=placed_by or actor,
                               lines=lines, entered_by_supplier=placed_by is None)
    order = orders.order_transition(order=order, action="confirm",
                                    membership=supplier_membership, actor=actor)
    orders.ship(order=order, membership=supplier_membership, actor=actor,
                quantities={line.pk: line.quantity for line in order.lines.all()})
    order.refresh_from_db()
    return orders.order_transition(order=order, action="deliver",
                                   membership=supplier_membership, actor=actor)


def make_invoice(relationship, total, *, currency="IDR", due_date=None, issue_date=None,
                 kind="invoice", number=None):
    """An issued invoice of `total` (gross) with one line, made directly (not through the
    invoicing services) for payment tests. Numbers come from the gapless counter."""
    import datetime

    from django.db import transaction
    from django.utils import timezone

    from . import numbering
    from .models import Invoice, InvoiceLine

    total = Decimal(str(total))
    issue_date = issue_date or timezone.localdate()
    due_date = due_date or issue_date + datetime.timedelta(days=30)
    if issue_date > due_date:
        issue_date = due_date
    with transaction.atomic():
        invoice = Invoice(supplier_id=relationship.supplier_id, buyer_id=relationship.buyer_id,
                          relationship=relationship, kind=kind, currency=currency,
                          issue_date=issue_date, due_date=due_date, total_net=total,
                          total_tax=0, total_gross=total)
        sequence = numbering.CREDIT_NOTE if kind == "credit_note" else numbering.INVOICE
        invoice.number = number or numbering.next_number(supplier_id=relationship.supplier_id,
                                                         sequence=sequence)
        invoice.save()
        InvoiceLine.objects.create(invoice=invoice, sku="SVC", name="Goods", quantity=1,
                                   unit_price=total, tax_rate=0, line_net=total, line_tax=0,
                                   line_gross=total)
    return invoice
