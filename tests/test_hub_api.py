"""Hub JSON API: supplier catalog CRUD and the buyer's priced catalog, isolated per org."""

from decimal import Decimal

import pytest

from jalin.api.testing import ApiClient, bearer_token_for
from jalin.core.events_models import Event
from jalin.hub import services
from jalin.hub.models import Product, TradingRelationship
from jalin.hub.testing import link_buyer, make_price_list, make_product, set_price
from jalin.tenancy.models import Membership
from jalin.tenancy.roles import Role
from tests.conftest import make_org, make_user


def api_for(user, organization):
    membership = Membership.objects.get(user=user, organization=organization)
    return ApiClient(token=bearer_token_for(membership))


@pytest.fixture
def owner_api(owner, org):
    return api_for(owner, org)


@pytest.fixture
def member_api(member, org):
    return api_for(member, org)


@pytest.fixture
def outsider_api(outsider, other_org):
    return api_for(outsider, other_org)


def buyer_api(slug):
    buyer = make_org(slug, is_supplier=False, is_buyer=True)
    user = make_user(f"{slug}-user")
    Membership.objects.create(user=user, organization=buyer, role=Role.BUYER)
    return buyer, api_for(user, buyer)


def test_product_crud_with_versions(owner_api, org):
    response = owner_api.post("/hub/categories", {"name": "Paper"})
    assert response.status_code == 201
    category_id = response.json()["id"]
    response = owner_api.post("/hub/products", {
        "sku": "PAP-1", "name": "Ream", "category_id": category_id, "pack_size": 5,
        "tax_class": "reduced",
    })
    assert response.status_code == 201, response.json()
    product = response.json()
    assert product["version"] == 1 and product["category_id"] == category_id
    assert Event.objects.filter(organization=org, type="hub.product.created").exists()
    url = f"/hub/products/{product['id']}"
    response = owner_api.patch(url, {"version": 1, "name": "Ream A4"})
    assert response.status_code == 200 and response.json()["version"] == 2
    response = owner_api.patch(url, {"version": 1, "name": "Lost update"})
    assert response.status_code == 409 and response.json()["code"] == "stale"
    assert owner_api.get(url).json()["name"] == "Ream A4"
    listing = owner_api.get("/hub/products", data={"q": "pap"}).json()
    assert [item["sku"] for item in listing["items"]] == ["PAP-1"]
    assert owner_api.delete(url).status_code == 204
    assert Product.objects.get(pk=product["id"]).is_active is False


def test_bad_input_is_422_and_changes_nothing(owner_api, org, owner):
    make_product(org, owner, "DUP")
    cases = [
        ({"sku": "DUP", "name": "again"}, "duplicate_sku"),
        ({"sku": "X", "name": "x", "pack_size": 0}, "validation_error"),
        ({"sku": "X", "name": "x", "tax_class": "luxury"}, "validation_error"),
        ({"sku": "X", "name": "x", "supplier_id": 1}, "validation_error"),  # mass assignment
        ({"sku": "X", "name": "x", "version": 7}, "validation_error"),
    ]
    for body, code in cases:
        response = owner_api.post("/hub/products", body)
        assert response.status_code == 422, body
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["code"] == code, body
    assert Product.objects.filter(supplier=org).count() == 1


def test_foreign_ids_are_404_in_path_and_body(owner_api, org, owner, other_org):
    foreign_category = services.category_create(supplier=other_org, actor=owner, name="Theirs")
    foreign_product = make_product(other_org, owner, "THEIRS")
    foreign_list = make_price_list(other_org, owner, "Theirs")
    assert owner_api.get(f"/hub/products/{foreign_product.pk}").status_code == 404
    assert owner_api.patch(f"/hub/products/{foreign_product.pk}",
                           {"version": 1, "name": "Mine now"}).status_code == 404
    assert owner_api.get(f"/hub/price-lists/{foreign_list.pk}/items").status_code == 404
    response = owner_api.post("/hub/products", {"sku": "A", "name": "a",
                                                "category_id": foreign_category.pk})
    assert response.status_code == 404
    own_list = make_price_list(org, owner, "Base", is_base=True)
    response = owner_api.post(f"/hub/price-lists/{own_list.pk}/items",
                              {"product_id": foreign_product.pk, "unit_price": "1"})
    assert response.status_code == 404
    foreign_product.refresh_from_db()
    assert foreign_product.name == "Product THEIRS"
    assert not own_list.items.exists()


def test_member_reads_but_cannot_write(member_api, org, owner):
    make_product(org, owner, "SKU-1")
    assert member_api.get("/hub/products").status_code == 200
    response = member_api.post("/hub/products", {"sku": "X", "name": "x"})
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"


def test_price_lists_items_and_relationships(owner_api, org, owner, other_org):
    product = make_product(org, owner, "SKU-1")
    response = owner_api.post("/hub/price-lists", {"name": "Base", "is_base": True})
    assert response.status_code == 201 and response.json()["currency"] == "IDR"
    base_id = response.json()["id"]
    assert owner_api.post("/hub/price-lists", {"name": "B2", "is_base": True}).json()[
        "code"] == "base_exists"
    response = owner_api.post(f"/hub/price-lists/{base_id}/items",
                              {"product_id": product.pk, "min_quantity": 10,
                               "unit_price": "9500.25"})
    assert response.status_code == 200
    assert Decimal(response.json()["unit_price"]) == Decimal("9500.25")
    items = owner_api.get(f"/hub/price-lists/{base_id}/items").json()["items"]
    assert [(i["sku"], i["min_quantity"]) for i in items] == [("SKU-1", 10)]
    response = owner_api.post(f"/hub/price-lists/{base_id}/items",
                              {"product_id": product.pk, "unit_price": "-1"})
    assert response.status_code == 422
    response = owner_api.post("/hub/relationships", {
        "buyer": other_org.slug, "payment_terms": "net", "payment_days": 30,
        "credit_limit": "2500000.00",
    })
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["buyer"]["slug"] == other_org.slug and body["payment_days"] == 30
    rel_url = f"/hub/relationships/{body['id']}"
    response = owner_api.patch(rel_url, {"version": 1, "status": "suspended"})
    assert response.status_code == 200 and response.json()["status"] == "suspended"
    response = owner_api.post("/hub/relationships", {"buyer": "nobody-here"})
    assert response.status_code == 422 and response.json()["code"] == "unknown_buyer"
    response = owner_api.post("/hub/relationships", {"buyer": other_org.slug})
    assert response.json()["code"] == "already_customer"


def test_idempotent_product_create(owner_api, org):
    headers = {"Idempotency-Key": "create-sku-9"}
    first = owner_api.post("/hub/products", {"sku": "SKU-9", "name": "x"}, headers=headers)
    again = owner_api.post("/hub/products", {"sku": "SKU-9", "name": "x"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert Product.objects.filter(supplier=org, sku="SKU-9").count() == 1


@pytest.fixture
def market(org, owner):
    base = make_price_list(org, owner, "Base", is_base=True)
    list_a = make_price_list(org, owner, "A list")
    list_b = make_price_list(org, owner, "B list")
    paper = services.category_create(supplier=org, actor=owner, name="Paper")
    ream = make_product(org, owner, "PAP-1", "Ream", category=paper)
    drill = make_product(org, owner, "TOO-1", "Drill")
    set_price(base, ream, "100", owner)
    set_price(base, ream, "90", owner, min_quantity=10)
    set_price(base, drill, "700", owner)
    set_price(list_a, ream, "80", owner)
    set_price(list_b, ream, "50", owner)
    buyer_a, api_a = buyer_api("api-buyer-a")
    buyer_b, api_b = buyer_api("api-buyer-b")
    link_buyer(org, buyer_a, owner, price_list=list_a, catalog_scope="categories",
               categories=[paper])
    link_buyer(org, buyer_b, owner, price_list=list_b)
    return locals()


def test_buyer_catalog_has_own_prices_and_entitlement(market, org):
    body = market["api_a"].get(f"/hub/suppliers/{org.pk}/catalog").json()
    assert [item["sku"] for item in body["items"]] == ["PAP-1"]
    price = body["items"][0]["price"]
    assert price == {"amount": "80.0000", "currency": "IDR", "min_quantity": 1,
                     "is_customer_price": True, "source": "customer",
                     "promotion_id": None, "list_amount": None}
    body = market["api_b"].get(f"/hub/suppliers/{org.pk}/catalog").json()
    prices = {item["sku"]: item["price"]["amount"] for item in body["items"]}
    assert prices == {"PAP-1": "50.0000", "TOO-1": "700.0000"}
    # B at quantity 10: its own list has no break at 10 but still applies from 1.
    body = market["api_b"].get(f"/hub/suppliers/{org.pk}/catalog",
                               data={"quantity": 10}).json()
    assert body["items"][0]["price"]["amount"] == "50.0000"


def test_buyer_cannot_reach_supplier_side_or_others_lists(market, org):
    api_a = market["api_a"]
    assert api_a.get(f"/hub/price-lists/{market['list_b'].pk}").status_code == 404
    assert api_a.get(f"/hub/price-lists/{market['list_b'].pk}/items").status_code == 404
    assert api_a.get(f"/hub/products/{market['drill'].pk}").status_code == 404
    relationship_b = TradingRelationship.objects.get(buyer=market["buyer_b"])
    assert api_a.get(f"/hub/relationships/{relationship_b.pk}").status_code == 404
    # Its own relationship is the supplier's record: buyers cannot edit their own terms.
    relationship_a = TradingRelationship.objects.get(buyer=market["buyer_a"])
    response = api_a.patch(f"/hub/relationships/{relationship_a.pk}",
                           {"version": 1, "credit_limit": "999999999"})
    assert response.status_code in (403, 404)
    assert api_a.get("/hub/relationships").json()["items"] == []
    suppliers = api_a.get("/hub/suppliers").json()["items"]
    assert [s["supplier"]["id"] for s in suppliers] == [org.pk]


def test_catalog_of_a_supplier_without_relationship_is_404(outsider_api, org, market):
    response = outsider_api.get(f"/hub/suppliers/{org.pk}/catalog")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert market["api_a"].get("/hub/suppliers/999999/catalog").status_code == 404


def test_buyer_catalog_query_count_does_not_grow(market, org, owner,
                                                 django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    api_b = market["api_b"]
    url = f"/hub/suppliers/{org.pk}/catalog"
    api_b.get(url)
    with CaptureQueriesContext(connection) as few:
        assert len(api_b.get(url).json()["items"]) == 2
    for index in range(28):
        product = make_product(org, owner, f"BULK-{index}")
        set_price(market["base"], product, index + 1, owner)
    with CaptureQueriesContext(connection) as many:
        assert len(api_b.get(url).json()["items"]) == 30
    assert len(few) == len(many)


def test_supplier_product_list_query_count_does_not_grow(owner_api, org, owner):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    category = services.category_create(supplier=org, actor=owner, name="Stuff")
    for index in range(3):
        make_product(org, owner, f"P-{index:02}", category=category)
    owner_api.get("/hub/products")
    with CaptureQueriesContext(connection) as few:
        assert len(owner_api.get("/hub/products").json()["items"]) == 3
    for index in range(3, 30):
        make_product(org, owner, f"P-{index:02}", category=category)
    with CaptureQueriesContext(connection) as many:
        body = owner_api.get("/hub/products", data={"limit": 30}).json()
    assert len(body["items"]) == 30 and body["next_cursor"] is None
    assert len(few) == len(many)
    # Keyset paging by SKU: two pages of 20 + 10, nothing repeated or lost.
    first = owner_api.get("/hub/products", data={"limit": 20}).json()
    second = owner_api.get("/hub/products",
                           data={"limit": 20, "cursor": first["next_cursor"]}).json()
    skus = [i["sku"] for i in first["items"] + second["items"]]
    assert skus == [f"P-{index:02}" for index in range(30)]
