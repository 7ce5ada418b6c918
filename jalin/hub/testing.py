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
