"""Buyer addresses: validation, one default of each kind, orders that keep the address text,
foreign and archived addresses refused on ordering (services, API, pages), address pages and
API for admin, member and outsider."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from jalin.api.testing import ApiClient, bearer_token_for
from jalin.core.models import AuditLog
from jalin.hub import addresses, orders, stock
from jalin.hub.models import BuyerAddress, CartLine, Order, StockLevel
from jalin.hub.services import HubError
from jalin.hub.testing import link_buyer, make_price_list, make_product, set_price
from jalin.tenancy.models import Membership
from jalin.tenancy.roles import Role
from jalin.tenancy.services import StaleVersion
from tests.conftest import _client_for, make_org, make_user

ADDRESS = {"label": "Head office", "recipient": "Budi Santoso", "street": "Jl. Sudirman 1",
           "city": "Jakarta", "postal_code": "10220", "region": "DKI Jakarta"}


def api_for(user, organization):
    return ApiClient(token=bearer_token_for(
        Membership.objects.get(user=user, organization=organization)))


@pytest.fixture
def world(org, owner):
    base = make_price_list(org, owner, "Base", is_base=True)
    paper = make_product(org, owner, "PAP-1", "Paper")
    set_price(base, paper, "10000", owner)
    warehouse = stock.warehouse_create(supplier=org, actor=owner, code="W1", name="Main")
    stock.stock_adjust(warehouse=warehouse, product=paper, delta=50, reason="count",
                       actor=owner)
    buyer_a = make_org("buyer-a", is_supplier=False, is_buyer=True)
    buyer_b = make_org("buyer-b", is_supplier=False, is_buyer=True)
    rel_a = link_buyer(org, buyer_a, owner)
    rel_b = link_buyer(org, buyer_b, owner)
    admin_a = make_user("a-admin")
    Membership.objects.create(user=admin_a, organization=buyer_a, role=Role.ORG_ADMIN)
    member_a = make_user("a-member")
    Membership.objects.create(user=member_a, organization=buyer_a, role=Role.BUYER)
    admin_b = make_user("b-admin")
    Membership.objects.create(user=admin_b, organization=buyer_b, role=Role.ORG_ADMIN)
    return type("World", (), dict(
        supplier=org, owner=owner, paper=paper, buyer_a=buyer_a, buyer_b=buyer_b,
        rel_a=rel_a, rel_b=rel_b, admin_a=admin_a, member_a=member_a, admin_b=admin_b,
        api_a=api_for(admin_a, buyer_a), api_member_a=api_for(member_a, buyer_a),
        api_b=api_for(admin_b, buyer_b), api_supplier=api_for(owner, org),
    ))


def new_address(world, buyer=None, actor=None, **fields):
    return addresses.address_create(buyer=buyer or world.buyer_a,
                                    actor=actor or world.admin_a, **{**ADDRESS, **fields})


# --- Services ------------------------------------------------------------------------------


@pytest.mark.parametrize("fields, field, code", [
    ({"label": ""}, "label", "required"),
    ({"recipient": "   "}, "recipient", "required"),
    ({"street": ""}, "street", "required"),
    ({"city": ""}, "city", "required"),
    ({"label": "x" * 81}, "label", "too_long"),
    ({"street": "x" * 301}, "street", "too_long"),
    ({"country": "XX"}, "country", "invalid_country"),
    ({"country": "IDN"}, "country", "too_long"),
    ({"phone": "call me"}, "phone", "invalid_phone"),
    ({"postal_code": "10<20"}, "postal_code", "invalid_postal_code"),
    ({"is_default_shipping": "yes"}, "is_default_shipping", "invalid"),
    ({"label": 5}, "label", "invalid"),
])
def test_invalid_addresses_are_refused(world, fields, field, code):
    with pytest.raises(HubError) as caught:
        new_address(world, **fields)
    assert (caught.value.field, caught.value.code) == (field, code)
    assert not BuyerAddress.objects.exists()


def test_unknown_fields_are_refused(world):
    with pytest.raises(HubError) as caught:
        new_address(world, buyer_id=world.buyer_b.pk)
    assert caught.value.code == "unknown"
    assert not BuyerAddress.objects.exists()


def test_first_address_is_the_default_and_defaults_move(world):
    first = new_address(world)
    assert first.is_default_shipping and first.is_default_billing
    assert first.country == "ID"
    second = new_address(world, label="Warehouse", country="sg", is_default_shipping=True)
    assert second.country == "SG" and second.is_default_shipping
    assert not second.is_default_billing
    first.refresh_from_db()
    assert not first.is_default_shipping and first.is_default_billing
    assert first.version == 2
    addresses.address_set_default(address=first, actor=world.admin_a, kind="shipping")
    assert addresses.default_shipping(world.buyer_a.pk) == first
    # Another buyer's defaults are untouched by buyer A's.
    other = new_address(world, buyer=world.buyer_b, actor=world.admin_b)
    assert other.is_default_shipping
    assert addresses.default_shipping(world.buyer_a.pk) == first
    assert AuditLog.objects.filter(organization=world.buyer_a,
                                   action__startswith="hub.address.").count() == 3


def test_database_allows_one_default_of_each_kind_per_buyer(world):
    new_address(world)
    with pytest.raises(IntegrityError), transaction.atomic():
        BuyerAddress.objects.create(buyer=world.buyer_a, label="B", recipient="R", street="S",
                                    city="C", is_default_shipping=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        BuyerAddress.objects.create(buyer=world.buyer_a, label="B", recipient="R", street="S",
                                    city="C", is_default_billing=True)
    BuyerAddress.objects.create(buyer=world.buyer_a, label="B", recipient="R", street="S",
                                city="C")


def test_update_checks_version_and_archive_drops_defaults(world):
    address = new_address(world)
    with pytest.raises(StaleVersion):
        addresses.address_update(address=address, actor=world.admin_a, version=7, city="Bogor")
    updated = addresses.address_update(address=address, actor=world.admin_a, version=1,
                                       city="Bogor")
    assert updated.city == "Bogor" and updated.version == 2
    archived = addresses.address_archive(address=address, actor=world.admin_a)
    assert not archived.is_active and not archived.is_default_shipping
    with pytest.raises(HubError) as caught:
        addresses.address_set_default(address=archived, actor=world.admin_a, kind="billing")
    assert caught.value.code == "archived"


# --- Ordering ------------------------------------------------------------------------------


def test_order_keeps_the_address_text_when_the_address_changes(world):
    address = new_address(world, phone="+62 21 555 0101")
    order = orders.order_place(relationship=world.rel_a, actor=world.admin_a,
                               lines=[(world.paper.pk, 2)], ship_to=address)
    assert order.ship_to == address
    assert order.ship_to_text.splitlines() == [
        "Budi Santoso", "Jl. Sudirman 1", "10220 Jakarta", "DKI Jakarta", "ID",
        "+62 21 555 0101"]
    addresses.address_update(address=address, actor=world.admin_a, version=1,
                             street="Jl. Thamrin 9")
    order.refresh_from_db()
    assert "Jl. Sudirman 1" in order.ship_to_text and "Thamrin" not in order.ship_to_text


def test_default_shipping_address_is_used_when_none_is_given(world):
    no_address = orders.order_place(relationship=world.rel_a, actor=world.admin_a,
                                    lines=[(world.paper.pk, 1)])
    assert no_address.ship_to is None and no_address.ship_to_text == ""
    new_address(world)
    warehouse = new_address(world, label="Warehouse", city="Bekasi", is_default_shipping=True)
    order = orders.order_place(relationship=world.rel_a, actor=world.admin_a,
                               lines=[(world.paper.pk, 1)])
    assert order.ship_to == warehouse and "Bekasi" in order.ship_to_text


@pytest.mark.parametrize("which", ["foreign", "archived", "missing"])
def test_foreign_archived_or_missing_address_places_no_order(world, which):
    own = new_address(world)
    target = {"foreign": lambda: new_address(world, buyer=world.buyer_b, actor=world.admin_b),
              "archived": lambda: addresses.address_archive(address=own, actor=world.admin_a),
              "missing": lambda: 999999}[which]()
    with pytest.raises(HubError) as caught:
        orders.order_place(relationship=world.rel_a, actor=world.admin_a,
                           lines=[(world.paper.pk, 1)], ship_to=target)
    assert (caught.value.code, caught.value.field) == ("not_found", "ship_to_address_id")
    assert not Order.objects.exists()
    assert StockLevel.objects.get(product=world.paper).reserved == 0


# --- Ordering API (mass assignment) --------------------------------------------------------


def place(api, world, key="k1", **extra):
    return api.post("/hub/orders", {"supplier_id": world.supplier.pk,
                                    "lines": [{"product_id": world.paper.pk, "quantity": 1}],
                                    **extra}, headers={"Idempotency-Key": key})


def test_order_api_refuses_another_buyers_address(world):
    foreign = new_address(world, buyer=world.buyer_b, actor=world.admin_b)
    response = place(world.api_a, world, ship_to_address_id=foreign.pk)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "ship_to_address_id"
    assert "Jl. Sudirman" not in response.content.decode()
    assert not Order.objects.exists()


def test_order_api_with_own_address_shows_the_text_to_both_sides(world):
    address = new_address(world)
    response = place(world.api_a, world, ship_to_address_id=address.pk)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["ship_to_address_id"] == address.pk
    assert body["ship_to_text"].startswith("Budi Santoso\nJl. Sudirman 1")
    supplier_view = world.api_supplier.get(f"/hub/orders/{body['id']}").json()
    assert supplier_view["ship_to_text"] == body["ship_to_text"]
    assert supplier_view["ship_to_address_id"] is None


def test_supplier_entering_an_order_cannot_pick_the_buyers_address(world):
    address = new_address(world)
    response = world.api_supplier.post(
        "/hub/orders", {"buyer_id": world.buyer_a.pk, "ship_to_address_id": address.pk,
                        "lines": [{"product_id": world.paper.pk, "quantity": 1}]},
        headers={"Idempotency-Key": "s1"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "ship_to_address_id"
    response = world.api_supplier.post(
        "/hub/orders", {"buyer_id": world.buyer_a.pk,
                        "lines": [{"product_id": world.paper.pk, "quantity": 1}]},
        headers={"Idempotency-Key": "s2"})
    assert response.status_code == 201
    assert Order.objects.get().ship_to == address  # the buyer's default


def test_checkout_api_refuses_another_buyers_address_and_keeps_the_cart(world):
    foreign = new_address(world, buyer=world.buyer_b, actor=world.admin_b)
    world.api_a.post(f"/hub/carts/{world.supplier.pk}/lines",
                     {"product_id": world.paper.pk, "quantity": 3})
    url = f"/hub/carts/{world.supplier.pk}/checkout"
    response = world.api_a.post(url, {"ship_to_address_id": foreign.pk})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "ship_to_address_id"
    assert not Order.objects.exists()
    assert CartLine.objects.filter(cart__buyer=world.buyer_a).count() == 1
    assert world.api_a.post(url, {"ship_to_address_id": 1, "total_gross": "1"}
                            ).status_code == 422
    assert world.api_a.post(url, "{not json").status_code == 400
    assert world.api_a.client.post("/api/v1" + url, {"ship_to_address_id": foreign.pk},
                                   headers=world.api_a._headers(None)).status_code == 415
    assert not Order.objects.exists()
    own = new_address(world)
    response = world.api_a.post(url, {"ship_to_address_id": own.pk,
                                      "buyer_reference": "PO-7"})
    assert response.status_code == 201, response.content
    assert response.json()["ship_to_text"].startswith("Budi Santoso")
    assert Order.objects.get().buyer_reference == "PO-7"


# --- Addresses API -------------------------------------------------------------------------


def test_address_api_crud(world):
    response = world.api_a.post("/hub/addresses", {**ADDRESS, "country": "id"})
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["country"] == "ID" and created["is_default_shipping"]
    address_id = created["id"]
    assert [a["id"] for a in world.api_a.get("/hub/addresses").json()["items"]] == [address_id]
    assert world.api_member_a.get(f"/hub/addresses/{address_id}").status_code == 200
    url = f"/hub/addresses/{address_id}"
    response = world.api_a.patch(url, {"version": 1, "city": "Depok"})
    assert response.status_code == 200 and response.json()["city"] == "Depok"
    assert world.api_a.patch(url, {"version": 1, "city": "Bogor"}).status_code == 409
    assert world.api_a.patch(url, {"version": 2, "buyer_id": world.buyer_b.pk}
                             ).status_code == 422
    assert world.api_a.patch(url, {"version": 2, "is_default_shipping": False}
                             ).status_code == 422
    response = world.api_a.patch(url, {"version": 2, "country": "QQ"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "country"
    assert world.api_a.delete(url).status_code == 204
    assert world.api_a.get("/hub/addresses").json()["items"] == []
    archived = world.api_a.get("/hub/addresses?include_archived=true").json()["items"]
    assert archived[0]["is_active"] is False
    assert BuyerAddress.objects.get().city == "Depok"


def test_address_api_permissions_and_isolation(world, outsider):
    address = new_address(world)
    assert world.api_member_a.post("/hub/addresses", ADDRESS).status_code == 403
    assert world.api_member_a.patch(f"/hub/addresses/{address.pk}",
                                    {"version": 1, "city": "X"}).status_code == 403
    assert world.api_member_a.delete(f"/hub/addresses/{address.pk}").status_code == 403
    for api in (world.api_b, world.api_supplier,
                api_for(outsider, outsider.memberships.get().organization)):
        assert api.get(f"/hub/addresses/{address.pk}").status_code == 404
        assert api.patch(f"/hub/addresses/{address.pk}",
                         {"version": 1, "city": "X"}).status_code == 404
        assert api.delete(f"/hub/addresses/{address.pk}").status_code == 404
        assert "Sudirman" not in api.get("/hub/addresses").content.decode()
    address.refresh_from_db()
    assert address.is_active and address.city == "Jakarta" and address.version == 1
    assert world.api_a.post("/hub/addresses", {**ADDRESS, "buyer_id": world.buyer_b.pk}
                            ).status_code == 422
    assert not BuyerAddress.objects.filter(buyer=world.buyer_b).exists()


# --- Pages ---------------------------------------------------------------------------------


def test_admin_manages_addresses_in_the_browser(world):
    client = _client_for(world.admin_a)
    url = reverse("hub:addresses")
    assert client.get(url).status_code == 200
    response = client.post(url, {**ADDRESS, "country": "ZZ"})
    assert response.status_code == 422 and not BuyerAddress.objects.exists()
    response = client.post(url, {**ADDRESS, "country": "ID", "is_default_shipping": "1"})
    assert response.status_code == 302
    address = BuyerAddress.objects.get()
    page = client.get(url).content.decode()
    assert "Jl. Sudirman 1" in page and reverse("hub:address_edit", args=[address.pk]) in page
    edit = reverse("hub:address_edit", args=[address.pk])
    assert client.get(edit).status_code == 200
    fields = {**ADDRESS, "country": "ID", "city": "Depok"}
    assert client.post(edit, {**fields, "version": "1"}).status_code == 302
    assert client.post(edit, {**fields, "version": "1"}).status_code == 409
    second = new_address(world, label="Warehouse")
    assert client.post(reverse("hub:address_default", args=[second.pk]),
                       {"kind": "shipping"}).status_code == 302
    assert addresses.default_shipping(world.buyer_a.pk) == second
    assert client.post(reverse("hub:address_archive", args=[second.pk])).status_code == 302
    second.refresh_from_db()
    assert not second.is_active and not second.is_default_shipping


def test_member_sees_but_does_not_manage_addresses(world):
    address = new_address(world)
    client = _client_for(world.member_a)
    page = client.get(reverse("hub:addresses"))
    assert page.status_code == 200 and "Jl. Sudirman 1" in page.content.decode()
    assert "new-address-form" not in page.content.decode()
    assert client.post(reverse("hub:addresses"), ADDRESS).status_code == 403
    assert client.get(reverse("hub:address_edit", args=[address.pk])).status_code == 403
    assert client.post(reverse("hub:address_archive", args=[address.pk])).status_code == 403
    address.refresh_from_db()
    assert address.is_active


def test_outsider_cannot_reach_another_buyers_address(world, outsider_client):
    address = new_address(world)
    assert outsider_client.get(reverse("hub:address_edit", args=[address.pk])
                               ).status_code == 404
    assert outsider_client.post(reverse("hub:address_archive", args=[address.pk])
                                ).status_code == 404
    assert outsider_client.post(reverse("hub:address_default", args=[address.pk]),
                                {"kind": "shipping"}).status_code == 404
    assert "Sudirman" not in outsider_client.get(reverse("hub:addresses")).content.decode()
    address.refresh_from_db()
    assert address.is_active and address.version == 1


def test_cart_page_picks_the_address_and_the_order_shows_it(world):
    new_address(world)
    warehouse = new_address(world, label="Warehouse", street="Jl. Industri 4", city="Bekasi")
    foreign = new_address(world, buyer=world.buyer_b, actor=world.admin_b, label="Theirs")
    client = _client_for(world.member_a)
    orders.cart_set_line(relationship=world.rel_a, user=world.member_a,
                         product_id=world.paper.pk, quantity=2)
    page = client.get(reverse("hub:cart")).content.decode()
    assert 'name="ship_to"' in page and "Warehouse" in page and "Theirs" not in page
    checkout = reverse("hub:cart_checkout", args=[world.supplier.pk])
    response = client.post(checkout, {"token": "t1", "ship_to": str(foreign.pk)})
    assert response.status_code == 302 and not Order.objects.exists()
    response = client.post(checkout, {"token": "t2", "ship_to": str(warehouse.pk)})
    order = Order.objects.get()
    assert order.ship_to == warehouse
    detail = client.get(reverse("hub:order_detail", args=[order.pk])).content.decode()
    assert "Jl. Industri 4" in detail
    supplier_page = _client_for(world.owner).get(reverse("hub:order_detail", args=[order.pk]))
    assert "Jl. Industri 4" in supplier_page.content.decode()


def test_address_list_query_count_does_not_grow(world):
    client = _client_for(world.admin_a)

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("hub:addresses")).status_code == 200
        return len(queries)

    count()  # the first request also loads the session
    for index in range(3):
        new_address(world, label=f"A{index}")
    few = count()
    for index in range(27):
        new_address(world, label=f"B{index}")
    assert count() == few
