"""Catalog extras: variants and attributes, product images, customer groups and their prices,
the buyer's catalog search, and catalog CSV export/import."""

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from jalin.api.testing import ApiClient, bearer_token_for
from jalin.core.events_models import Event
from jalin.hub import catalog_csv, images, services, stock
from jalin.hub.models import (
    CatalogImportJob,
    CustomerGroup,
    PriceList,
    PriceListItem,
    Product,
    ProductAttribute,
    ProductImage,
    TradingRelationship,
)
from jalin.hub.pricing import price_for, prices_for
from jalin.hub.testing import link_buyer, make_price_list, make_product, set_price
from jalin.tenancy.models import Membership, Organization
from jalin.tenancy.roles import Role
from tests.conftest import make_org, make_user

IMMEDIATE = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
TODAY = datetime.date(2026, 6, 15)


@pytest.fixture(autouse=True)
def _tasks_run_at_once(settings):
    settings.TASKS = IMMEDIATE


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


def buyer(slug):
    organization = make_org(slug, is_supplier=False, is_buyer=True)
    user = make_user(f"{slug}-user")
    membership = Membership.objects.create(user=user, organization=organization,
                                           role=Role.BUYER)
    return organization, user, membership


def png(size=(30, 20), color=(10, 120, 200), **save):
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG", **save)
    return buffer.getvalue()


def jpeg_with_exif():
    buffer = io.BytesIO()
    image = Image.new("RGB", (50, 40), (250, 0, 0))
    exif = Image.Exif()
    exif[0x010E] = "secret description"  # ImageDescription
    exif[0x0131] = "SecretCam 1.0"  # Software
    image.save(buffer, "JPEG", exif=exif.tobytes())
    return buffer.getvalue()


@pytest.fixture
def catalog(org, owner):
    """A supplier (org) with a paint family (two colour variants), a category tree, a base
    list, a contractors group with its list, and buyers A (in the group) and B."""
    building = services.category_create(supplier=org, actor=owner, name="Building")
    paint = services.category_create(supplier=org, actor=owner, name="Paint",
                                     parent=building)
    tools = services.category_create(supplier=org, actor=owner, name="Tools")
    base = make_price_list(org, owner, "Base", is_base=True)
    contractors_list = make_price_list(org, owner, "Contractors")
    list_a = make_price_list(org, owner, "Buyer A only")
    head = make_product(org, owner, "CAT-5L", "Cat tembok 5 L", category=paint)
    white = make_product(org, owner, "CAT-5L-PTH", "Cat tembok 5 L Putih", category=paint,
                         variant_of=head, attributes={"Warna": "Putih", "Isi": "5 L"})
    grey = make_product(org, owner, "CAT-5L-ABU", "Cat tembok 5 L Abu", category=paint,
                        variant_of=head, attributes={"Warna": "Abu", "Isi": "5 L"})
    hammer = make_product(org, owner, "HAM-1", "Hammer", category=tools,
                          attributes={"Bahan": "Baja"})
    for product, price in ((head, "200000"), (white, "210000"), (grey, "190000"),
                           (hammer, "50000")):
        set_price(base, product, price, owner)
    set_price(contractors_list, white, "180000", owner)
    set_price(list_a, hammer, "40000", owner)
    group = services.customer_group_create(supplier=org, actor=owner, name="Contractors",
                                           price_list=contractors_list)
    buyer_a, user_a, membership_a = buyer("buyer-a")
    buyer_b, user_b, membership_b = buyer("buyer-b")
    rel_a = link_buyer(org, buyer_a, owner, price_list=list_a, group=group)
    rel_b = link_buyer(org, buyer_b, owner)
    warehouse = stock.warehouse_create(supplier=org, actor=owner, code="MAIN", name="Main")
    stock.stock_adjust(warehouse=warehouse, product=white, delta=5, reason="count",
                       actor=owner)
    return locals()


# --- Variants and attributes ---------------------------------------------------------------


def test_variant_attributes_are_mirrored_for_filtering(catalog):
    rows = set(ProductAttribute.objects.filter(product=catalog["white"])
               .values_list("name", "value"))
    assert rows == {("Warna", "Putih"), ("Isi", "5 L")}
    services.product_update(product=catalog["white"], actor=catalog["owner"],
                            version=catalog["white"].version, attributes={"Warna": "Krem"})
    assert set(ProductAttribute.objects.filter(product=catalog["white"])
               .values_list("name", "value")) == {("Warna", "Krem")}


@pytest.mark.parametrize("attributes, code", [
    ({f"A{i}": "x" for i in range(services.MAX_ATTRIBUTES + 1)}, "invalid_attributes"),
    ({"x" * 41: "v"}, "invalid_attributes"),
    ({"Warna": "v" * 81}, "invalid_attributes"),
    ({"Warna": ""}, "invalid_attributes"),
    ([("Warna", "Putih"), ("warna", "Abu")], "invalid_attributes"),
    ({"Warna": {"nested": 1}}, "invalid_attributes"),
])
def test_bad_attributes_are_refused(catalog, attributes, code):
    with pytest.raises(services.HubError) as error:
        make_product(catalog["org"], catalog["owner"], "NEW-1", attributes=attributes)
    assert error.value.code == code and error.value.field == "attributes"
    assert not Product.objects.filter(sku="NEW-1").exists()


def test_variants_are_one_level_deep_and_of_the_same_supplier(catalog):
    org, owner = catalog["org"], catalog["owner"]
    with pytest.raises(services.HubError) as error:
        make_product(org, owner, "CAT-DEEP", variant_of=catalog["white"])
    assert error.value.code == "variant_nesting"
    with pytest.raises(services.HubError) as error:  # a family head cannot become a variant
        services.product_update(product=catalog["head"], actor=owner,
                                version=catalog["head"].version, variant_of=catalog["hammer"])
    assert error.value.code == "variant_nesting"
    with pytest.raises(services.HubError) as error:
        services.product_update(product=catalog["hammer"], actor=owner,
                                version=catalog["hammer"].version,
                                variant_of=catalog["hammer"])
    assert error.value.code == "variant_self"
    rival = make_org("rival-paint")
    foreign = make_product(rival, owner, "RIVAL-1")
    with pytest.raises(services.HubError) as error:
        make_product(org, owner, "CAT-X", variant_of=foreign)
    assert error.value.code == "not_found"
    assert not Product.objects.filter(sku__in=["CAT-DEEP", "CAT-X"]).exists()


def test_product_form_takes_parent_sku_and_attribute_lines(catalog, owner_client):
    response = owner_client.post(reverse("hub:product_create"), {
        "sku": "CAT-5L-BIRU", "name": "Cat tembok 5 L Biru", "unit": "pcs", "pack_size": 1,
        "min_order_quantity": 1, "tax_class": "standard", "is_active": "on",
        "parent_sku": "CAT-5L", "attributes_text": "Warna: Biru\nIsi: 5 L"})
    assert response.status_code == 302
    product = Product.objects.get(sku="CAT-5L-BIRU")
    assert product.variant_of == catalog["head"]
    assert product.attributes == {"Warna": "Biru", "Isi": "5 L"}
    response = owner_client.post(reverse("hub:product_create"), {
        "sku": "BAD-1", "name": "Bad", "unit": "pcs", "pack_size": 1,
        "min_order_quantity": 1, "tax_class": "standard", "parent_sku": "CAT-5L-PTH",
        "attributes_text": "no separator here"})
    assert response.status_code == 400
    assert not Product.objects.filter(sku="BAD-1").exists()


def test_api_product_variant_and_foreign_ids(catalog, owner, org):
    api = ApiClient(token=bearer_token_for(Membership.objects.get(user=owner,
                                                                  organization=org)))
    response = api.post("/hub/products", {
        "sku": "CAT-5L-HIJAU", "name": "Hijau", "variant_of_id": catalog["head"].pk,
        "attributes": {"Warna": "Hijau"}})
    assert response.status_code == 201, response.content
    assert response.json()["variant_of_id"] == catalog["head"].pk
    assert response.json()["attributes"] == {"Warna": "Hijau"}
    rival = make_org("rival-api")
    foreign = make_product(rival, owner, "RIVAL-API")
    response = api.post("/hub/products", {"sku": "X-1", "name": "X",
                                                 "variant_of_id": foreign.pk})
    assert response.status_code == 404
    response = api.post("/hub/products", {"sku": "X-2", "name": "X",
                                                 "supplier_id": rival.pk})
    assert response.status_code == 422
    response = api.post("/hub/products", {"sku": "X-3", "name": "X",
                                                 "variant_of_id": catalog["white"].pk})
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "variant_nesting"
    assert not Product.objects.filter(sku__startswith="X-").exists()
    family = api.get(f"/hub/products?variant_of_id={catalog['head'].pk}").json()["items"]
    assert [item["sku"] for item in family] == ["CAT-5L-ABU", "CAT-5L-HIJAU", "CAT-5L-PTH"]
    response = api.patch(f"/hub/products/{catalog['white'].pk}", {
        "version": catalog["white"].version, "variant_of_id": None, "attributes": {}})
    assert response.status_code == 200
    assert response.json()["variant_of_id"] is None and response.json()["attributes"] == {}
    assert not ProductAttribute.objects.filter(product=catalog["white"]).exists()


# --- Customer groups and pricing -----------------------------------------------------------


def test_price_precedence_customer_then_group_then_base(catalog):
    rel_a, rel_b = catalog["rel_a"], catalog["rel_b"]
    prices = prices_for(relationship=rel_a, on_date=TODAY, product_ids=[
        catalog["hammer"].pk, catalog["white"].pk, catalog["grey"].pk])
    assert prices[catalog["hammer"].pk].amount == Decimal("40000")  # own list
    assert prices[catalog["hammer"].pk].source == "customer"
    assert prices[catalog["white"].pk].amount == Decimal("180000")  # group list
    assert prices[catalog["white"].pk].source == "group"
    assert prices[catalog["grey"].pk].amount == Decimal("190000")  # base
    assert prices[catalog["grey"].pk].source == "base"
    # Buyer B is in no group: the contractors' price never reaches it.
    assert price_for(relationship=rel_b, product=catalog["white"], quantity=1,
                     on_date=TODAY).amount == Decimal("210000")


def test_expired_group_list_falls_back_to_base(catalog):
    contractors = catalog["contractors_list"]
    contractors.valid_to = TODAY - datetime.timedelta(days=1)
    contractors.save()
    price = price_for(relationship=catalog["rel_a"], product=catalog["white"], quantity=1,
                      on_date=TODAY)
    assert price.amount == Decimal("210000") and price.source == "base"


def test_prices_for_is_one_query_with_a_group(catalog, django_assert_num_queries):
    ids = [catalog[name].pk for name in ("head", "white", "grey", "hammer")]
    with django_assert_num_queries(1):
        prices = prices_for(relationship=catalog["rel_a"], product_ids=ids, on_date=TODAY)
    assert len(prices) == 4


def test_group_of_another_supplier_is_ignored(catalog):
    rival = make_org("rival-groups")
    actor = catalog["owner"]
    rival_list = make_price_list(rival, actor, "Rival list")
    rival_product = make_product(rival, actor, "CAT-5L-PTH")
    set_price(rival_list, rival_product, "1", actor)
    rival_group = services.customer_group_create(supplier=rival, actor=actor, name="Rival",
                                                 price_list=rival_list)
    rel = catalog["rel_b"]
    rel.group_id = rival_group.pk  # tampered in memory: must still never apply
    price = price_for(relationship=rel, product=catalog["white"], quantity=1, on_date=TODAY)
    assert price.amount == Decimal("210000") and price.source == "base"
    with pytest.raises(services.HubError):
        services.relationship_update(relationship=catalog["rel_b"], actor=actor,
                                     version=catalog["rel_b"].version, group=rival_group)


@pytest.mark.django_db
@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(own=st.one_of(st.none(), st.decimals(0, 10**6, places=2)),
       group=st.one_of(st.none(), st.decimals(0, 10**6, places=2)),
       other=st.decimals(0, 10**6, places=2),
       group_expired=st.booleans(), quantity=st.integers(1, 20), tampered=st.booleans())
def test_property_group_list_applies_only_without_own_price(catalog, own, group, other,
                                                            group_expired, quantity,
                                                            tampered):
    """Buyer A: own list if it has a price, else its group's (valid) list, else base; never
    buyer B's own list nor another supplier's group (even with a tampered group id and a
    rival list that names our product)."""
    actor, product = catalog["owner"], catalog["grey"]
    PriceListItem.objects.filter(product=product).exclude(
        price_list=catalog["base"]).delete()
    list_b = make_price_list(catalog["org"], actor, "Buyer B only")
    set_price(list_b, product, other, actor)
    TradingRelationship.objects.filter(pk=catalog["rel_b"].pk).update(price_list=list_b)
    if own is not None:
        set_price(catalog["list_a"], product, own, actor)
    if group is not None:
        set_price(catalog["contractors_list"], product, group, actor)
    contractors = catalog["contractors_list"]
    contractors.valid_to = TODAY - datetime.timedelta(days=1) if group_expired else None
    contractors.save()
    rel_a = TradingRelationship.objects.get(pk=catalog["rel_a"].pk)
    rival = Organization.objects.filter(slug="rival-prop").first() or make_org("rival-prop")
    rival_list = PriceList.objects.filter(supplier=rival).first() or make_price_list(
        rival, actor, "Rival")
    # Written past the services (which refuse it): the worst a corrupted row could do.
    PriceListItem.objects.get_or_create(price_list=rival_list, product=product,
                                        min_quantity=1, defaults={"unit_price": 1})
    rival_group = CustomerGroup.objects.filter(supplier=rival).first() or \
        services.customer_group_create(supplier=rival, actor=actor, name="Rival",
                                       price_list=rival_list)
    if tampered:
        rel_a.group_id = rival_group.pk
        group = None  # the real group no longer applies either
    price = price_for(relationship=rel_a, product=product, quantity=quantity, on_date=TODAY)
    assert price.price_list_id not in (list_b.pk, rival_list.pk)
    if own is not None:
        assert (price.source, price.amount) == ("customer", own)
    elif group is not None and not group_expired:
        assert (price.source, price.amount) == ("group", group)
    else:
        assert (price.source, price.price_list_id) == ("base", catalog["base"].pk)


def test_joining_a_group_gives_its_default_catalog(catalog):
    org, owner = catalog["org"], catalog["owner"]
    group = services.customer_group_create(
        supplier=org, actor=owner, name="Tools only", catalog_scope="categories",
        categories=[catalog["tools"]])
    rel = services.relationship_update(relationship=catalog["rel_b"], actor=owner,
                                       version=catalog["rel_b"].version, group=group)
    assert rel.catalog_scope == "categories"
    assert list(rel.categories.all()) == [catalog["tools"]]
    assert Event.objects.filter(type="hub.customer_group.created",
                                organization=org).count() == 2


def test_group_in_use_cannot_be_deleted(catalog, owner_client):
    group = catalog["group"]
    response = owner_client.post(reverse("hub:customer_group_delete", args=[group.pk]))
    assert response.status_code == 302
    assert type(group).objects.filter(pk=group.pk).exists()


def test_customer_group_pages_and_relationship_picker(catalog, owner_client):
    page = owner_client.get(reverse("hub:customer_groups")).content.decode()
    assert "Contractors" in page
    response = owner_client.post(reverse("hub:customer_groups"), {
        "name": "Distributors", "price_list": catalog["list_a"].pk, "catalog_scope": ""})
    assert response.status_code == 302
    page = owner_client.get(reverse("hub:customer_edit", args=[catalog["rel_b"].pk]))
    assert "Distributors" in page.content.decode()


def test_customer_groups_api(catalog, owner, org, outsider, other_org):
    api = ApiClient(token=bearer_token_for(Membership.objects.get(user=owner,
                                                                  organization=org)))
    response = api.post("/hub/customer-groups",
                        {"name": "Retail", "price_list_id": catalog["list_a"].pk})
    assert response.status_code == 201, response.content
    group_id = response.json()["id"]
    response = api.post("/hub/customer-groups", {"name": "X", "supplier_id": 1})
    assert response.status_code == 422
    rival = make_org("rival-lists")
    rival_list = make_price_list(rival, owner, "Rival")
    response = api.post("/hub/customer-groups",
                        {"name": "Y", "price_list_id": rival_list.pk})
    assert response.status_code == 404
    response = api.patch(f"/hub/customer-groups/{group_id}",
                         {"version": 1, "name": "Retailers"})
    assert response.status_code == 200 and response.json()["name"] == "Retailers"
    response = api.patch(f"/hub/customer-groups/{group_id}",
                         {"version": 1, "name": "Stale"})
    assert response.status_code == 409
    response = api.patch(f"/hub/relationships/{catalog['rel_b'].pk}",
                         {"version": catalog["rel_b"].version, "group_id": group_id})
    assert response.status_code == 200 and response.json()["group_id"] == group_id
    assert api.delete(f"/hub/customer-groups/{group_id}").status_code == 422
    outsider_api = ApiClient(token=bearer_token_for(Membership.objects.get(
        user=outsider, organization=other_org)))
    assert outsider_api.get(f"/hub/customer-groups/{group_id}").status_code == 404


# --- Images --------------------------------------------------------------------------------


def upload(client, product, data, name="photo.png"):
    return client.post(reverse("hub:product_image_upload", args=[product.pk]),
                       {"file": SimpleUploadedFile(name, data, content_type="image/png")})


def test_image_upload_reencodes_strips_metadata_and_makes_a_thumbnail(catalog, owner_client):
    response = upload(owner_client, catalog["hammer"], jpeg_with_exif(), "p.jpg")
    assert response.status_code == 302
    image = ProductImage.objects.get(product=catalog["hammer"])
    assert image.is_primary and image.content_type == "image/jpeg"
    stored = image.file.storage.open(image.file.name).read()
    assert b"SecretCam" not in stored and b"secret description" not in stored
    assert Image.open(io.BytesIO(stored)).getexif() == {}
    thumb = Image.open(image.thumbnail.storage.open(image.thumbnail.name))
    assert thumb.format == "WEBP" and max(thumb.size) <= images.THUMB_SIDE
    assert Event.objects.filter(type="hub.product.image_added").exists()


@pytest.mark.parametrize("data, status", [
    (b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", 422),
    (b"%PDF-1.4 not an image", 422),
    (b"", 400),
])
def test_non_images_are_refused(catalog, owner_client, data, status):
    response = upload(owner_client, catalog["hammer"], data)
    assert response.status_code == status
    assert not ProductImage.objects.exists()


def test_decompression_bomb_is_refused(catalog, owner_client):
    # A tiny PNG that claims 12,000 × 12,000 pixels (144 million).
    bomb = png(size=(12000, 12000), color=(0, 0, 0))
    assert len(bomb) < images.max_bytes()
    response = upload(owner_client, catalog["hammer"], bomb)
    assert response.status_code == 422
    assert "pixels" in response.content.decode()
    assert not ProductImage.objects.exists()


def test_too_large_image_is_413(catalog, owner_client, settings):
    settings.JALIN_PRODUCT_IMAGE_MAX_BYTES = 2000
    response = upload(owner_client, catalog["hammer"], png(size=(300, 300)) + b"\0" * 5000)
    assert response.status_code == 413
    assert not ProductImage.objects.exists()


def test_image_of_a_foreign_product_cannot_be_uploaded(catalog, outsider_client):
    response = upload(outsider_client, catalog["hammer"], png())
    assert response.status_code == 404
    assert not ProductImage.objects.exists()


def test_image_access_supplier_entitled_buyer_other_buyer_outsider(catalog, owner,
                                                                   outsider_client):
    org = catalog["org"]
    image = images.image_upload(product=catalog["hammer"], actor=owner, uploaded=(
        SimpleUploadedFile("h.png", png(), content_type="image/png")))
    url = reverse("hub:product_image_thumbnail", args=[image.pk])
    response = client_for(owner).get(url)
    assert response.status_code == 200
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "private" in response["Cache-Control"]
    assert response["Content-Type"] == "image/webp"
    assert client_for(catalog["user_a"]).get(url).status_code == 200
    assert client_for(catalog["user_a"]).get(
        reverse("hub:product_image", args=[image.pk])).status_code == 200
    # Buyer B is entitled to tools only after it gets a narrower catalog: take it away.
    services.relationship_update(relationship=catalog["rel_b"], actor=owner,
                                 version=catalog["rel_b"].version, catalog_scope="categories",
                                 categories=[catalog["paint"]])
    assert client_for(catalog["user_b"]).get(url).status_code == 404
    assert outsider_client.get(url).status_code == 404
    stranger, user_c, _m = buyer("buyer-c")  # trades with nobody
    assert client_for(user_c).get(url).status_code == 404
    assert org.pk  # the supplier itself was served above


# --- Buyer catalog search ------------------------------------------------------------------


def names_on(page):
    return [entry.product.sku for entry, _variants in page.context["families"]]


def test_shop_groups_variants_under_their_family(catalog):
    client = client_for(catalog["user_a"])
    response = client.get(reverse("hub:shop_catalog", args=[catalog["org"].pk]))
    assert response.status_code == 200
    families = {head.product.sku: [v.product.sku for v in variants]
                for head, variants in response.context["families"]}
    assert families["CAT-5L"] == ["CAT-5L-ABU", "CAT-5L-PTH"]
    assert "CAT-5L-PTH" not in families
    html = response.content.decode()
    assert "Warna: <strong>Putih</strong>" in html
    assert "180,000" in html or "180.000" in html  # the group price of the white variant


def test_shop_filters(catalog):
    client = client_for(catalog["user_a"])
    url = reverse("hub:shop_catalog", args=[catalog["org"].pk])
    response = client.get(url, {"attr": "Warna:Putih"})
    assert names_on(response) == ["CAT-5L"]
    [(head, variants)] = response.context["families"]
    assert [v.product.sku for v in variants] == ["CAT-5L-PTH"]
    assert names_on(client.get(url, {"q": "hamm"})) == ["HAM-1"]
    assert names_on(client.get(url, {"q": "mer"})) == ["HAM-1"]  # name contains
    assert names_on(client.get(url, {"category": catalog["building"].pk})) == ["CAT-5L"]
    assert names_on(client.get(url, {"in_stock": "on"})) == ["CAT-5L"]
    assert names_on(client.get(url, {"sort": "sku"})) == ["CAT-5L", "HAM-1"]
    assert names_on(client.get(url, {"sort": "price"})) == ["HAM-1", "CAT-5L"]
    assert client.get(url, {"after": "garbage!!"}).status_code == 200


def test_shop_keyset_pages_by_price(catalog, owner):
    org = catalog["org"]
    for index in range(7):
        product = make_product(org, owner, f"P-{index}", f"Paged {index}")
        set_price(catalog["base"], product, str(1000 + (index * 37) % 5), owner)
    rel = catalog["rel_b"]
    from jalin.hub import catalog_search

    seen, cursor = [], None
    filters = catalog_search.CatalogFilters(sort="price", search="Paged")
    while True:
        page = catalog_search.search(relationship=rel, filters=filters, on_date=TODAY,
                                     cursor=cursor, limit=3)
        seen += [p.sku for p in page.items]
        cursor = page.next_cursor
        if not cursor:
            break
    assert sorted(seen) == [f"P-{i}" for i in range(7)] and len(set(seen)) == 7
    prices = [price_for(relationship=rel, product=Product.objects.get(sku=sku), quantity=1,
                        on_date=TODAY).amount for sku in seen]
    assert prices == sorted(prices)


def test_shop_query_count_does_not_grow(catalog, owner):
    org = catalog["org"]
    client = client_for(catalog["user_b"])
    url = reverse("hub:shop_catalog", args=[org.pk])

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url, {"sort": "price"}).status_code == 200
        return len(queries)

    count()  # warm up (session, content types)
    few = count()
    for index in range(30):
        head = make_product(org, owner, f"F-{index}", f"Family {index}")
        set_price(catalog["base"], head, "10", owner)
        variant = make_product(org, owner, f"F-{index}-V", f"Family {index} v",
                               variant_of=head, attributes={"Warna": f"C{index}"})
        images.image_upload(product=variant, actor=owner, uploaded=SimpleUploadedFile(
            "v.png", png(size=(4, 4)), content_type="image/png"))
    assert count() == few


def test_api_catalog_filters_sort_and_foreign_category(catalog, owner):
    api = ApiClient(token=bearer_token_for(catalog["membership_a"]))
    url = f"/hub/suppliers/{catalog['org'].pk}/catalog"
    response = api.get(url + "?attr=Warna:Putih&attr=Warna:Abu&sort=price")
    assert response.status_code == 200
    items = response.json()["items"]
    assert [i["sku"] for i in items] == ["CAT-5L-PTH", "CAT-5L-ABU"]  # 180,000 then 190,000
    assert items[0]["price"]["source"] == "group"
    assert items[0]["variant_of_id"] == catalog["head"].pk
    assert items[0]["availability"] == "in_stock"
    response = api.get(url + "?in_stock=true")
    assert [i["sku"] for i in response.json()["items"]] == ["CAT-5L-PTH"]
    rival = make_org("rival-cat")
    foreign = services.category_create(supplier=rival, actor=owner, name="Rival cat")
    assert api.get(url + f"?category_id={foreign.pk}").status_code == 404
    assert api.get(url + "?cursor=bogus").status_code == 400
    assert api.get(url + "?sort=evil").status_code == 422


# --- CSV export and import -----------------------------------------------------------------


def import_file(client, text, kind="products"):
    response = client.post(reverse("hub:catalog_imports"), {
        "kind": kind, "file": SimpleUploadedFile("catalog.csv", text.encode(),
                                                 content_type="text/csv")})
    assert response.status_code == 302, response.content.decode()[:2000]
    return CatalogImportJob.objects.get(pk=int(response["Location"].rstrip("/")
                                               .split("/")[-1]))


def test_export_then_import_round_trip_changes_nothing(catalog, owner_client):
    response = owner_client.get(reverse("hub:catalog_export"))
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:3] == ["SKU", "Name", "Description"]
    by_sku = {row[0]: row for row in rows[1:]}
    assert by_sku["CAT-5L-PTH"][9] == "CAT-5L"
    # (PostgreSQL's jsonb keeps keys in its own order.)
    assert set(by_sku["CAT-5L-PTH"][10].split("; ")) == {"Warna=Putih", "Isi=5 L"}
    assert by_sku["CAT-5L-PTH"][3] == "building/paint"
    assert by_sku["HAM-1"][11] == "50000"
    before = {p.sku: (p.name, p.variant_of_id, p.attributes, p.category_id)
              for p in Product.objects.all()}
    job = import_file(owner_client, text)
    assert job.status == "previewed" and job.error_count == 0, job.errors
    assert job.updated_count == 4 and job.created_count == 0
    owner_client.post(reverse("hub:catalog_import_run", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == "done"
    after = {p.sku: (p.name, p.variant_of_id, p.attributes, p.category_id)
             for p in Product.objects.all()}
    assert after == before


def test_import_preview_lists_errors_and_writes_nothing(catalog, owner_client):
    text = ("SKU,Nama,Kategori,SKU induk,Atribut,Harga dasar,Aktif\n"
            "NEW-1,Kuas,building/paint,,Ukuran=2 inch,15000,ya\n"
            "NEW-2,Bad,nowhere,,,,\n"
            "NEW-3,Deep,,CAT-5L-PTH,,,\n"
            "NEW-4,Price,,,,-5,\n"
            "NEW-1,Duplicate,,,,,\n"
            "=HYPERLINK(\"x\"),Formula,,,,,maybe\n")
    job = import_file(owner_client, text)
    assert job.status == "previewed"
    rows_with_errors = {error["row"] for error in job.errors}
    assert rows_with_errors == {3, 4, 5, 6, 7}
    assert job.error_count == 5
    owner_client.post(reverse("hub:catalog_import_run", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == "failed"
    assert not Product.objects.filter(sku__startswith="NEW-").exists()
    errors_csv = b"".join(owner_client.get(reverse(
        "hub:catalog_import_errors", args=[job.pk])).streaming_content).decode("utf-8-sig")
    assert "\n=" not in errors_csv and ",=" not in errors_csv


def test_import_valid_only_and_upsert(catalog, owner_client):
    text = ("SKU,Name,Parent SKU,Attributes,Base price\n"
            "KUAS,Kuas,,,15000\n"
            "KUAS-2,Kuas 2 inch,KUAS,Ukuran=2 inch,16000\n"
            "HAM-1,Hammer renamed,,,55000\n"
            "BAD,,,,\n")
    job = import_file(owner_client, text)
    assert job.error_count == 1 and job.created_count == 2 and job.updated_count == 1
    owner_client.post(reverse("hub:catalog_import_run", args=[job.pk]), {"valid_only": "1"})
    job.refresh_from_db()
    assert job.status == "done", job.errors
    variant = Product.objects.get(sku="KUAS-2")
    assert variant.variant_of.sku == "KUAS" and variant.attributes == {"Ukuran": "2 inch"}
    assert Product.objects.get(sku="HAM-1").name == "Hammer renamed"
    assert PriceListItem.objects.get(price_list=catalog["base"], product=variant,
                                     min_quantity=1).unit_price == Decimal("16000")
    assert not Product.objects.filter(sku="BAD").exists()
    assert Event.objects.filter(type="hub.catalog_import.finished").exists()


def test_price_import_and_export(catalog, owner_client):
    text = ("Daftar harga,SKU,Mulai jumlah,Harga satuan\n"
            "Contractors,HAM-1,10,45000\n"
            "Contractors,HAM-1,1,47000.5\n"
            "Nope,HAM-1,1,1\n")
    job = import_file(owner_client, text, kind="prices")
    assert job.error_count == 1
    owner_client.post(reverse("hub:catalog_import_run", args=[job.pk]), {"valid_only": "1"})
    job.refresh_from_db()
    assert job.status == "done" and job.created_count == 2
    items = PriceListItem.objects.filter(price_list=catalog["contractors_list"],
                                         product=catalog["hammer"])
    assert sorted((i.min_quantity, i.unit_price) for i in items) == [
        (1, Decimal("47000.5")), (10, Decimal("45000"))]
    response = owner_client.get(reverse("hub:price_export"),
                                {"price_list": catalog["contractors_list"].pk})
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    assert "Contractors,HAM-1,10,45000" in text


def test_import_refuses_unknown_columns_and_other_orgs_jobs(catalog, owner_client,
                                                            outsider_client):
    response = owner_client.post(reverse("hub:catalog_imports"), {
        "kind": "products", "file": SimpleUploadedFile("x.csv", b"SKU,Colour\nA,B\n")})
    assert response.status_code == 422
    assert "Unknown columns" in response.content.decode()
    job = import_file(owner_client, "SKU,Name\nZ-1,Z\n")
    assert outsider_client.get(reverse("hub:catalog_import", args=[job.pk])).status_code \
        == 404
    assert outsider_client.post(reverse("hub:catalog_import_run", args=[job.pk])
                                ).status_code == 404
    assert not Product.objects.filter(sku="Z-1").exists()


def test_export_cells_are_formula_safe(catalog, owner):
    make_product(catalog["org"], owner, "F-1", "=cmd|'/c calc'!A1")
    lines = "".join(catalog_csv.export_products(
        supplier=catalog["org"], products=Product.objects.filter(sku="F-1")))
    assert "'=cmd" in lines


# --- API: images, exports, imports ---------------------------------------------------------


def owner_api(catalog):
    membership = Membership.objects.get(user=catalog["owner"], organization=catalog["org"])
    return ApiClient(token=bearer_token_for(membership))


def test_api_image_upload_list_primary_delete_and_access(catalog, outsider, other_org):
    from django.test import Client as DjangoClient

    membership = Membership.objects.get(user=catalog["owner"], organization=catalog["org"])
    token = bearer_token_for(membership)
    client = DjangoClient(HTTP_AUTHORIZATION=f"Bearer {token}")
    url = f"/api/v1/hub/products/{catalog['hammer'].pk}/images"
    first = client.post(url, {"file": SimpleUploadedFile("a.png", png())})
    assert first.status_code == 201, first.content
    second = client.post(url, {"file": SimpleUploadedFile("b.jpg", jpeg_with_exif()),
                               "alt_text": "Side"})
    assert second.status_code == 201
    refused = client.post(url, {"file": SimpleUploadedFile("c.png", b"not an image")})
    assert refused.status_code == 422
    second_id = second.json()["id"]
    api = owner_api(catalog)
    response = api.post(f"/hub/products/{catalog['hammer'].pk}/images/{second_id}",
                        {"action": "primary"})
    assert response.status_code == 200 and response.json()[0]["id"] == second_id
    thumbnail = client.get(second.json()["thumbnail_url"])
    assert thumbnail.status_code == 200 and thumbnail["X-Content-Type-Options"] == "nosniff"
    buyer_api = ApiClient(token=bearer_token_for(catalog["membership_a"]))
    assert buyer_api.get(f"/hub/images/{second_id}").status_code == 200
    outsider_api = ApiClient(token=bearer_token_for(Membership.objects.get(
        user=outsider, organization=other_org)))
    assert outsider_api.get(f"/hub/images/{second_id}").status_code == 404
    assert outsider_api.get(f"/hub/products/{catalog['hammer'].pk}/images").status_code == 404
    assert api.delete(f"/hub/products/{catalog['hammer'].pk}/images/{second_id}"
                      ).status_code == 204
    remaining = ProductImage.objects.get(product=catalog["hammer"])
    assert remaining.pk == first.json()["id"] and remaining.is_primary


def test_api_image_upload_too_large_is_413_before_reading(catalog, settings):
    from django.test import Client as DjangoClient

    settings.JALIN_PRODUCT_IMAGE_MAX_BYTES = 1000
    membership = Membership.objects.get(user=catalog["owner"], organization=catalog["org"])
    client = DjangoClient(HTTP_AUTHORIZATION=f"Bearer {bearer_token_for(membership)}")
    response = client.post(f"/api/v1/hub/products/{catalog['hammer'].pk}/images",
                           {"file": SimpleUploadedFile("big.png", b"\x89PNG" + b"0" * 200_000)})
    assert response.status_code == 413
    assert not ProductImage.objects.exists()


def test_api_export_and_import_round_trip(catalog):
    from django.test import Client as DjangoClient

    api = owner_api(catalog)
    response = api.get("/hub/exports/products?language=id")
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    assert text.startswith("SKU,Nama,Deskripsi")
    text = text.replace("Hammer", "Palu")
    membership = Membership.objects.get(user=catalog["owner"], organization=catalog["org"])
    client = DjangoClient(HTTP_AUTHORIZATION=f"Bearer {bearer_token_for(membership)}")
    created = client.post("/api/v1/hub/catalog-imports", {
        "kind": "products", "file": SimpleUploadedFile("p.csv", text.encode())})
    assert created.status_code == 201, created.content
    job = created.json()
    assert job["status"] == "previewed" and job["error_count"] == 0
    run = api.post(f"/hub/catalog-imports/{job['id']}/run", {"valid_only": False})
    assert run.status_code == 202
    assert api.get(f"/hub/catalog-imports/{job['id']}").json()["status"] == "done"
    assert Product.objects.get(sku="HAM-1").name == "Palu"
    again = api.post(f"/hub/catalog-imports/{job['id']}/run", {})
    assert again.status_code == 422
    prices = api.get(f"/hub/exports/prices?price_list_id={catalog['base'].pk}")
    assert "HAM-1" in b"".join(prices.streaming_content).decode()
    rival_list = make_price_list(make_org("rival-export"), catalog["owner"], "Rival")
    assert api.get(f"/hub/exports/prices?price_list_id={rival_list.pk}").status_code == 404


def test_buyer_product_page_has_pictures_a_variant_picker_and_prices(catalog, owner):
    images.image_upload(product=catalog["white"], actor=owner, uploaded=SimpleUploadedFile(
        "w.png", png(), content_type="image/png"))
    client = client_for(catalog["user_a"])
    response = client.get(reverse("hub:shop_product", args=[catalog["org"].pk,
                                                            catalog["white"].pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert reverse("hub:product_image_thumbnail",
                   args=[catalog["white"].images.get().pk]) in html
    [(name, options)] = response.context["picker"]  # only the colour differs
    assert name == "Warna"
    assert [(value, variant.sku, current) for value, variant, current in options] == [
        ("Abu", "CAT-5L-ABU", False), ("Putih", "CAT-5L-PTH", True)]
    assert [entry.product.sku for entry in response.context["variants"]] == [
        "CAT-5L-ABU", "CAT-5L-PTH"]
    # A product of another supplier, or one the buyer may not see: 404.
    rival = make_org("rival-page")
    foreign = make_product(rival, owner, "RIVAL-PAGE")
    assert client.get(reverse("hub:shop_product", args=[catalog["org"].pk, foreign.pk])
                      ).status_code == 404


def test_import_rolls_back_when_a_row_fails_at_write_time(catalog, owner_client, owner):
    job = import_file(owner_client, "SKU,Name,Parent SKU\nAAA-1,First,\nZZZ-1,Late,HAM-1\n")
    assert job.status == "previewed" and job.error_count == 0
    # Between the check and the run, HAM-1 becomes a variant: ZZZ-1 can no longer be one of
    # its variants (one level only).
    services.product_update(product=catalog["hammer"], actor=owner,
                            version=catalog["hammer"].version, variant_of=catalog["head"])
    owner_client.post(reverse("hub:catalog_import_run", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == "failed"
    assert job.errors[0]["row"] == 3
    assert not Product.objects.filter(sku__in=["AAA-1", "ZZZ-1"]).exists()


# --- Housekeeping ----------------------------------------------------------------------------


@pytest.fixture
def own_private_root(settings, tmp_path):
    root = tmp_path / "private"
    settings.JALIN_PRIVATE_MEDIA_ROOT = root
    settings.STORAGES = {**settings.STORAGES, "private": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(root), "base_url": None}}}
    return root


def test_private_file_sweep_keeps_product_images_and_import_files(catalog, owner,
                                                                  own_private_root):
    import os
    import time

    from jalin.crm.housekeeping import private_files_sweep

    image = images.image_upload(product=catalog["hammer"], actor=owner, uploaded=(
        SimpleUploadedFile("h.png", png(), content_type="image/png")))
    job = catalog_csv.import_create(supplier=catalog["org"], actor=owner, kind="products",
                                    uploaded=SimpleUploadedFile("p.csv", b"SKU,Name\nQ-1,Q\n"))
    orphan = own_private_root / "hub" / str(catalog["org"].pk) / "images" / "orphan.png"
    orphan.write_bytes(png())
    kept = [own_private_root / image.file.name, own_private_root / image.thumbnail.name,
            own_private_root / job.file.name]
    then = time.time() - 3 * 86400
    for path in [*kept, orphan]:
        os.utime(path, (then, then))
    assert private_files_sweep() == {"orphans_deleted": 1}
    assert all(path.exists() for path in kept) and not orphan.exists()


def test_stuck_imports_fail_and_old_import_files_go(catalog, owner, own_private_root):
    from jalin.core.housekeeping import registered_housekeeping
    from jalin.hub.housekeeping import catalog_imports_expire

    assert "hub.catalog_imports_expire" in registered_housekeeping()
    job = catalog_csv.import_create(supplier=catalog["org"], actor=owner, kind="products",
                                    uploaded=SimpleUploadedFile("p.csv", b"SKU,Name\nQ-1,Q\n"))
    path = own_private_root / job.file.name
    stuck = CatalogImportJob.objects.create(
        supplier=catalog["org"], kind="products", original_name="s.csv",
        status="running", created_at=job.created_at - datetime.timedelta(days=2))
    CatalogImportJob.objects.filter(pk=job.pk).update(
        created_at=job.created_at - datetime.timedelta(days=8))
    assert catalog_imports_expire() == {"stuck_failed": 1, "files_deleted": 1}
    stuck.refresh_from_db()
    job.refresh_from_db()
    assert stuck.status == "failed" and stuck.errors
    assert job.file.name == "" and not path.exists()
    assert job.status == "previewed"  # the record of the job stays
