"""Hub pages: supplier catalog management and the buyer's shop at its own prices."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from jalin.hub import services
from jalin.hub.models import CatalogScope, PriceListItem, Product, TradingRelationship
from jalin.hub.testing import link_buyer, make_price_list, make_product, set_price
from jalin.tenancy.models import Membership
from jalin.tenancy.roles import Role
from tests.conftest import make_org, make_user


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


def buyer_client(slug):
    buyer = make_org(slug, is_supplier=False, is_buyer=True)
    user = make_user(f"{slug}-user")
    Membership.objects.create(user=user, organization=buyer, role=Role.BUYER)
    return buyer, client_for(user)


@pytest.fixture
def shop(org, owner):
    """A supplier (org) with a base list and one customer list per buyer A and B."""
    base = make_price_list(org, owner, "Base", is_base=True)
    list_a = make_price_list(org, owner, "Secret list A")
    list_b = make_price_list(org, owner, "Secret list B")
    paper = services.category_create(supplier=org, actor=owner, name="Paper")
    tools = services.category_create(supplier=org, actor=owner, name="Tools")
    ream = make_product(org, owner, "PAP-1", "Ream of paper", category=paper)
    drill = make_product(org, owner, "TOO-1", "Hidden drill", category=tools)
    set_price(base, ream, "100000", owner)
    set_price(base, drill, "750000", owner)
    set_price(list_a, ream, "12345.6789", owner)
    set_price(list_b, ream, "55555", owner)
    buyer_a, client_a = buyer_client("buyer-a")
    buyer_b, client_b = buyer_client("buyer-b")
    link_buyer(org, buyer_a, owner, price_list=list_a, catalog_scope=CatalogScope.CATEGORIES,
               categories=[paper])
    link_buyer(org, buyer_b, owner, price_list=list_b)
    return locals()


def test_catalog_nav_link_and_dashboard_card_are_live(owner_client):
    response = owner_client.get(reverse("core:dashboard"))
    assert f'href="{reverse("hub:catalog")}"' in response.content.decode()


def test_owner_lists_filters_and_creates_products(owner_client, org, owner):
    make_product(org, owner, "ABC-1", "Alpha")
    make_product(org, owner, "XYZ-1", "Zulu", is_active=False)
    page = owner_client.get(reverse("hub:catalog")).content.decode()
    assert "ABC-1" in page and "XYZ-1" in page
    page = owner_client.get(reverse("hub:catalog"), {"q": "ab"}).content.decode()
    assert "ABC-1" in page and "XYZ-1" not in page
    page = owner_client.get(reverse("hub:catalog"), {"active": "no"}).content.decode()
    assert "ABC-1" not in page and "XYZ-1" in page
    response = owner_client.post(reverse("hub:product_create"), {
        "sku": "NEW-1", "name": "New thing", "unit": "box", "pack_size": 12,
        "min_order_quantity": 2, "tax_class": "reduced", "is_active": "on",
    })
    assert response.status_code == 302
    product = Product.objects.get(supplier=org, sku="NEW-1")
    assert (product.pack_size, product.tax_class) == (12, "reduced")


def test_product_form_errors_are_400_and_change_nothing(owner_client, org, owner):
    make_product(org, owner, "DUP-1")
    response = owner_client.post(reverse("hub:product_create"), {
        "sku": "DUP-1", "name": "Again", "unit": "pcs", "pack_size": 1,
        "min_order_quantity": 1, "tax_class": "standard",
    })
    assert response.status_code == 400
    assert "Another product already has this SKU." in response.content.decode()
    response = owner_client.post(reverse("hub:product_create"), {
        "sku": "BAD", "name": "x", "unit": "pcs", "pack_size": 0, "min_order_quantity": 1,
        "tax_class": "luxury",
    })
    assert response.status_code == 400
    assert Product.objects.filter(supplier=org).count() == 1


def test_stale_product_edit_is_409(owner_client, org, owner):
    product = make_product(org, owner, "SKU-1", "Old")
    services.product_update(product=product, actor=owner, version=1, name="Someone else")
    response = owner_client.post(reverse("hub:product_edit", args=[product.pk]), {
        "version": 1, "sku": "SKU-1", "name": "Mine", "unit": "pcs", "pack_size": 1,
        "min_order_quantity": 1, "tax_class": "standard", "is_active": "on",
    })
    assert response.status_code == 409
    product.refresh_from_db()
    assert product.name == "Someone else"


def test_member_can_view_but_not_edit(member_client, org, owner):
    product = make_product(org, owner, "SKU-1")
    assert member_client.get(reverse("hub:catalog")).status_code == 200
    assert "New product" not in member_client.get(reverse("hub:catalog")).content.decode()
    assert member_client.get(reverse("hub:product_create")).status_code == 403
    assert member_client.post(reverse("hub:product_edit", args=[product.pk])).status_code == 403
    assert member_client.post(reverse("hub:categories"), {"name": "X"}).status_code == 403
    assert member_client.post(reverse("hub:price_lists"), {"name": "X"}).status_code == 403


def test_outsider_cannot_reach_supplier_records(outsider_client, org, owner, other_org):
    product = make_product(org, owner, "SKU-1")
    price_list = make_price_list(org, owner, "Base", is_base=True)
    assert outsider_client.get(reverse("hub:product_edit", args=[product.pk])).status_code == 404
    assert outsider_client.get(reverse("hub:price_list", args=[price_list.pk])).status_code == 404
    assert outsider_client.get(reverse("hub:shop_catalog", args=[org.pk])).status_code == 404
    # A buyer-only organization's catalog page sends it to the shop.
    other_org.is_supplier = False
    other_org.save()
    assert outsider_client.get(reverse("hub:catalog"))["Location"] == reverse("hub:shop")


def test_price_list_items_and_customer_link_through_pages(owner_client, org, owner, other_org):
    product = make_product(org, owner, "SKU-1")
    response = owner_client.post(reverse("hub:price_lists"), {
        "name": "Base", "currency": "IDR", "is_base": "on"})
    base = org.hub_price_lists.get()
    assert response["Location"] == reverse("hub:price_list", args=[base.pk])
    url = reverse("hub:price_list_item_set", args=[base.pk])
    assert owner_client.post(url, {"sku": "SKU-1", "min_quantity": 1,
                                   "unit_price": "1500.5"}).status_code == 302
    assert owner_client.post(url, {"sku": "NOPE", "min_quantity": 1,
                                   "unit_price": "1"}).status_code == 400
    item = PriceListItem.objects.get(price_list=base, product=product)
    assert item.unit_price == Decimal("1500.5")
    page = owner_client.get(reverse("hub:price_list", args=[base.pk])).content.decode()
    assert "IDR\xa01,500.50" in page
    response = owner_client.post(reverse("hub:customer_create"), {
        "buyer": other_org.slug, "status": "active", "payment_terms": "net",
        "payment_days": 30, "credit_limit": "1000000", "currency": "IDR",
        "catalog_scope": "all",
    })
    assert response.status_code == 302, response.content.decode()
    relationship = TradingRelationship.objects.get(supplier=org, buyer=other_org)
    assert relationship.payment_days == 30
    page = owner_client.get(reverse("hub:customers")).content.decode()
    assert "Net 30 days" in page and "IDR\xa01,000,000" in page
    response = owner_client.post(reverse("hub:customer_create"), {
        "buyer": "no-such-buyer", "status": "active", "payment_terms": "prepaid",
        "payment_days": 0, "credit_limit": "0", "currency": "IDR", "catalog_scope": "all",
    })
    assert response.status_code == 400
    assert "No buyer organization has this short name." in response.content.decode()


def test_buyer_sees_its_own_prices_only(shop):
    page_a = shop["client_a"].get(reverse("hub:shop_catalog", args=[shop["org"].pk]))
    content = page_a.content.decode()
    assert page_a.status_code == 200
    # Buyer A's list price, shown to the currency's display digits (IDR with a real fraction
    # keeps two digits, rounded half-even by Babel): 12,345.6789 -> 12,345.68.
    assert "IDR\xa012,345.68" in content
    assert "55,555" not in content and "100,000" not in content
    assert "Secret list" not in content
    content_b = shop["client_b"].get(
        reverse("hub:shop_catalog", args=[shop["org"].pk])).content.decode()
    assert "IDR\xa055,555" in content_b and "12,345" not in content_b
    # B is entitled to everything: the drill at the base price.
    assert "Hidden drill" in content_b and "IDR\xa0750,000" in content_b


def test_buyer_does_not_see_products_outside_its_entitlement(shop):
    url = reverse("hub:shop_catalog", args=[shop["org"].pk])
    content = shop["client_a"].get(url).content.decode()
    assert "Ream of paper" in content and "Hidden drill" not in content
    content = shop["client_a"].get(url, {"q": "TOO"}).content.decode()
    assert "Hidden drill" not in content


def test_buyer_shop_lists_only_its_suppliers(shop, owner):
    rival = make_org("rival-supplier-co", name="Rival Supplier Co")
    content = shop["client_a"].get(reverse("hub:shop")).content.decode()
    assert shop["org"].name in content and "Rival Supplier Co" not in content
    assert shop["client_a"].get(
        reverse("hub:shop_catalog", args=[rival.pk])).status_code == 404
    assert shop["client_a"].get("/hub/shop/999999/").status_code == 404


def test_suspended_relationship_closes_the_shop(shop, owner):
    relationship = TradingRelationship.objects.get(buyer=shop["buyer_a"])
    services.relationship_update(relationship=relationship, actor=owner, version=1,
                                 status="suspended")
    assert shop["client_a"].get(
        reverse("hub:shop_catalog", args=[shop["org"].pk])).status_code == 404


def test_buyer_cannot_open_supplier_pages_or_price_lists(shop):
    client_a = shop["client_a"]
    assert client_a.get(reverse("hub:price_list", args=[shop["list_b"].pk])).status_code in (
        403, 404)
    assert client_a.get(reverse("hub:price_list", args=[shop["list_a"].pk])).status_code in (
        403, 404)
    assert client_a.get(reverse("hub:customers")).status_code in (200, 403)
    assert "buyer-b" not in client_a.get(reverse("hub:customers")).content.decode()


def _count_queries(client, url):
    client.get(url)  # session bookkeeping happens on the first request; measure the second
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("page", ["supplier", "buyer"])
def test_list_queries_do_not_grow_with_the_page(page, org, owner, owner_client):
    base = make_price_list(org, owner, "Base", is_base=True)
    category = services.category_create(supplier=org, actor=owner, name="Stuff")
    buyer, client = buyer_client("counting-buyer")
    link_buyer(org, buyer, owner)
    if page == "supplier":
        client, url = owner_client, reverse("hub:catalog")
    else:
        url = reverse("hub:shop_catalog", args=[org.pk])

    def add(count, start):
        for index in range(start, start + count):
            product = make_product(org, owner, f"P-{index}", category=category)
            set_price(base, product, index + 1, owner)

    add(3, 0)
    few = _count_queries(client, url)
    add(27, 3)
    many = _count_queries(client, url)
    assert few == many
    content = client.get(url).content.decode()
    assert content.count("<code>P-") == 30
