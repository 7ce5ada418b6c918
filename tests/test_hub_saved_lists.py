"""Saved lists: create (empty, from lines, from the cart), edit, sharing, isolation (another
buyer's list and a colleague's private list are 404; a colleague's shared list is read-only),
"Add all to cart" skipping what is no longer orderable, pages, API and query counts."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from jalin.api.testing import ApiClient, bearer_token_for
from jalin.core.models import AuditLog
from jalin.hub import orders, saved_lists
from jalin.hub.models import CartLine, SavedList, SavedListLine
from jalin.hub.services import HubError, product_update
from jalin.hub.testing import link_buyer, make_price_list, make_product, set_price
from jalin.tenancy.models import Membership
from jalin.tenancy.roles import Role
from tests.conftest import make_org, make_user


def person(organization, username, role):
    user = make_user(username)
    membership = Membership.objects.create(user=user, organization=organization, role=role)
    client = Client()
    client.force_login(user)
    return type("Person", (), dict(user=user, membership=membership, client=client,
                                   api=ApiClient(token=bearer_token_for(membership))))


@pytest.fixture
def world(org, owner):
    base = make_price_list(org, owner, "Base", is_base=True)
    paper = make_product(org, owner, "PAP-1", "Paper")
    pens = make_product(org, owner, "PEN-1", "Pens")
    ink = make_product(org, owner, "INK-1", "Ink")
    for product in (paper, pens, ink):
        set_price(base, product, "1000", owner)
    buyer = make_org("list-buyer", is_supplier=False, is_buyer=True)
    other_buyer = make_org("list-other-buyer", is_supplier=False, is_buyer=True)
    relationship = link_buyer(org, buyer, owner)
    other_relationship = link_buyer(org, other_buyer, owner)
    return type("World", (), dict(
        supplier=org, owner=owner, paper=paper, pens=pens, ink=ink, buyer=buyer,
        relationship=relationship, other_relationship=other_relationship,
        alice=person(buyer, "alice", Role.BUYER), bob=person(buyer, "bob", Role.BUYER),
        admin=person(buyer, "buyer-admin", Role.ORG_ADMIN),
        stranger=person(other_buyer, "stranger", Role.BUYER),
    ))


def make_list(world, who=None, name="Weekly", shared=False, **quantities):
    who = who or world.alice
    products = {"paper": world.paper, "pens": world.pens, "ink": world.ink}
    return saved_lists.list_create(
        relationship=world.relationship, user=who.user, name=name, shared=shared,
        quantities={products[key].pk: qty for key, qty in quantities.items()})


def lines(saved_list):
    return dict(SavedListLine.objects.filter(saved_list=saved_list)
                .values_list("product__sku", "quantity"))


def cart(user):
    return dict(CartLine.objects.filter(cart__user=user)
                .values_list("product__sku", "quantity"))


def test_create_edit_and_delete(world):
    saved = make_list(world, paper=5)
    assert lines(saved) == {"PAP-1": 5} and saved.owner == world.alice.user
    assert AuditLog.objects.filter(action="hub.saved_list.created",
                                     organization=world.buyer).exists()
    with pytest.raises(HubError) as error:
        make_list(world, name="Weekly")
    assert error.value.code == "duplicate_name"
    make_list(world, world.bob, name="Weekly")  # names are per person
    alice = world.alice.membership
    saved_lists.list_set_line(saved_list=saved, membership=alice, actor=world.alice.user,
                              product_id=world.pens.pk, quantity=2)
    saved_lists.list_set_line(saved_list=saved, membership=alice, actor=world.alice.user,
                              product_id=world.pens.pk, quantity=3, add=True)
    saved_lists.list_set_line(saved_list=saved, membership=alice, actor=world.alice.user,
                              product_id=world.paper.pk, quantity=0)
    assert lines(saved) == {"PEN-1": 5}
    foreign = make_product(make_org("another-supplier"), world.owner, "FOR-1")
    with pytest.raises(HubError) as error:
        saved_lists.list_set_line(saved_list=saved, membership=alice, actor=world.alice.user,
                                  product_id=foreign.pk, quantity=1)
    assert error.value.code == "not_found"
    with pytest.raises(HubError):
        saved_lists.list_set_line(saved_list=saved, membership=alice, actor=world.alice.user,
                                  product_id=world.ink.pk, quantity=-1)
    saved.refresh_from_db()
    renamed = saved_lists.list_update(saved_list=saved, membership=alice,
                                      actor=world.alice.user, name="Monthly", shared=True,
                                      version=saved.version)
    assert (renamed.name, renamed.shared) == ("Monthly", True)
    from jalin.tenancy.services import StaleVersion

    with pytest.raises(StaleVersion):
        saved_lists.list_update(saved_list=saved, membership=alice, actor=world.alice.user,
                                name="Again", version=saved.version)
    saved_lists.list_delete(saved_list=saved, membership=alice, actor=world.alice.user)
    assert not SavedList.objects.filter(pk=saved.pk).exists()


def test_sharing_and_who_may_change(world):
    private = make_list(world, name="Mine", paper=1)
    shared = make_list(world, name="Team", shared=True, paper=1)
    visible = {lst.name for lst in saved_lists.lists_for(membership=world.bob.membership)}
    assert visible == {"Team"}
    assert {lst.name for lst in saved_lists.lists_for(membership=world.stranger.membership)
            } == set()
    with pytest.raises(HubError) as error:  # Bob sees the shared list but may not change it
        saved_lists.list_set_line(saved_list=shared, membership=world.bob.membership,
                                  actor=world.bob.user, product_id=world.pens.pk, quantity=1)
    assert error.value.code == "forbidden"
    # The buyer's admin may change and delete a shared list, not a private one.
    saved_lists.list_set_line(saved_list=shared, membership=world.admin.membership,
                              actor=world.admin.user, product_id=world.pens.pk, quantity=1)
    assert not saved_lists.can_edit(private, world.admin.membership)
    saved_lists.list_delete(saved_list=shared, membership=world.admin.membership,
                            actor=world.admin.user)


def test_save_cart_as_list_and_add_all_to_cart(world, owner):
    orders.cart_set_line(relationship=world.relationship, user=world.alice.user,
                         product_id=world.paper.pk, quantity=4)
    orders.cart_set_line(relationship=world.relationship, user=world.alice.user,
                         product_id=world.ink.pk, quantity=1)
    saved = saved_lists.list_from_cart(relationship=world.relationship,
                                       user=world.alice.user, name="From cart", shared=True)
    assert lines(saved) == {"PAP-1": 4, "INK-1": 1}
    with pytest.raises(HubError) as error:
        saved_lists.list_from_cart(relationship=world.relationship, user=world.bob.user,
                                   name="Empty")
    assert error.value.code == "no_lines"
    product_update(product=world.ink, actor=owner, is_active=False, version=world.ink.version)
    added, skipped = saved_lists.list_add_to_cart(saved_list=saved, user=world.bob.user)
    assert (added, skipped) == (1, ["INK-1"])
    assert cart(world.bob.user) == {"PAP-1": 4}
    saved_lists.list_add_to_cart(saved_list=saved, user=world.bob.user)
    assert cart(world.bob.user) == {"PAP-1": 8}  # quantities add up


# --- Pages ---------------------------------------------------------------------------------


def test_pages_for_owner_colleague_and_outsider(world, outsider_client):
    private = make_list(world, name="Alice private", paper=2)
    shared = make_list(world, name="Alice shared", shared=True, pens=3)
    index = world.alice.client.get(reverse("hub:saved_lists")).content.decode()
    assert "Alice private" in index and "Alice shared" in index
    bob_index = world.bob.client.get(reverse("hub:saved_lists")).content.decode()
    assert "Alice shared" in bob_index and "Alice private" not in bob_index
    detail = reverse("hub:saved_list_detail", args=[private.pk])
    assert world.alice.client.get(detail).status_code == 200
    assert world.bob.client.get(detail).status_code == 404
    assert world.stranger.client.get(detail).status_code == 404
    assert outsider_client.get(detail).status_code == 404
    shared_page = world.bob.client.get(reverse("hub:saved_list_detail", args=[shared.pk]))
    assert shared_page.status_code == 200
    html = shared_page.content.decode()
    assert 'id="list-add-to-cart"' in html and 'id="add-product-form"' not in html
    forbidden = world.bob.client.post(reverse("hub:saved_list_line", args=[shared.pk]),
                                      {"sku": "PAP-1", "quantity": 1, "mode": "add"})
    assert forbidden.status_code == 403 and lines(shared) == {"PEN-1": 3}
    for name in ("saved_list_edit", "saved_list_delete", "saved_list_line",
                 "saved_list_add_to_cart"):
        url = reverse(f"hub:{name}", args=[private.pk])
        assert world.bob.client.post(url, {"name": "x", "quantity": 1}).status_code == 404
        assert world.stranger.client.post(url, {"name": "x"}).status_code == 404
    assert lines(private) == {"PAP-1": 2}


def test_pages_create_add_by_sku_rename_add_to_cart_delete(world):
    client = world.alice.client
    response = client.post(reverse("hub:saved_lists"),
                           {"supplier": world.supplier.pk, "name": "Office"})
    saved = SavedList.objects.get(name="Office")
    assert response["Location"] == reverse("hub:saved_list_detail", args=[saved.pk])
    bad = client.post(reverse("hub:saved_lists"),
                      {"supplier": world.stranger.membership.organization.pk, "name": "X"})
    assert bad.status_code == 422
    line_url = reverse("hub:saved_list_line", args=[saved.pk])
    assert client.post(line_url, {"sku": "PAP-1", "quantity": 6, "mode": "add"}
                       ).status_code == 302
    unknown = client.post(line_url, {"sku": "NOPE", "quantity": 1, "mode": "add"})
    assert unknown.status_code == 422 and "Unknown SKU NOPE" in unknown.content.decode()
    client.post(line_url, {"product": world.paper.pk, "quantity": 7})
    assert lines(saved) == {"PAP-1": 7}
    saved.refresh_from_db()
    client.post(reverse("hub:saved_list_edit", args=[saved.pk]),
                {"name": "Office supplies", "shared": "on", "version": saved.version})
    saved.refresh_from_db()
    assert (saved.name, saved.shared) == ("Office supplies", True)
    stale = client.post(reverse("hub:saved_list_edit", args=[saved.pk]),
                        {"name": "Late", "version": 1})
    assert stale.status_code == 409
    response = client.post(reverse("hub:saved_list_add_to_cart", args=[saved.pk]))
    assert response["Location"] == reverse("hub:cart") and cart(world.alice.user) == {
        "PAP-1": 7}
    cart_page = client.get(reverse("hub:cart")).content.decode()
    assert "Save cart as list" in cart_page
    client.post(reverse("hub:cart_save_as_list", args=[world.supplier.pk]),
                {"name": "Saved from cart"})
    assert lines(SavedList.objects.get(name="Saved from cart")) == {"PAP-1": 7}
    client.post(reverse("hub:saved_list_delete", args=[saved.pk]))
    assert not SavedList.objects.filter(pk=saved.pk).exists()


def test_shop_add_to_list(world):
    saved = make_list(world, name="Shop list")
    shop = world.alice.client.get(reverse("hub:shop_catalog", args=[world.supplier.pk]))
    assert "Add to list" in shop.content.decode()
    url = reverse("hub:shop_add_to_list", args=[world.supplier.pk])
    world.alice.client.post(url, {"list": saved.pk, "product": world.ink.pk, "quantity": 2})
    assert lines(saved) == {"INK-1": 2}
    assert world.bob.client.post(url, {"list": saved.pk, "product": world.ink.pk,
                                       "quantity": 1}).status_code == 404
    assert lines(saved) == {"INK-1": 2}


def test_list_page_query_count(world):
    base = world.supplier.hub_price_lists.get(is_base=True)
    counts = []
    for count in (3, 30):
        products = [make_product(world.supplier, world.owner, f"Q{count}-{i}")
                    for i in range(count)]
        for product in products:
            set_price(base, product, "1", world.owner)
        saved = saved_lists.list_create(relationship=world.relationship, user=world.alice.user,
                                        name=f"Big {count}", shared=True,
                                        quantities={p.pk: 1 for p in products})
        url = reverse("hub:saved_list_detail", args=[saved.pk])
        world.alice.client.get(url)
        world.alice.api.get(f"/hub/lists/{saved.pk}")
        with CaptureQueriesContext(connection) as page:
            world.alice.client.get(url)
        with CaptureQueriesContext(connection) as api:
            world.alice.api.get(f"/hub/lists/{saved.pk}")
        with CaptureQueriesContext(connection) as index:
            world.alice.client.get(reverse("hub:saved_lists"))
        counts.append((len(page), len(api), len(index)))
    assert counts[0] == counts[1], counts


# --- API -----------------------------------------------------------------------------------


def test_api_crud_sharing_and_isolation(world):
    api = world.alice.api
    response = api.post("/hub/lists", {"supplier_id": world.supplier.pk, "name": "API list",
                                       "lines": [{"product_id": world.paper.pk,
                                                  "quantity": 2}]})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["lines"] == [{"product_id": world.paper.pk, "sku": "PAP-1", "name": "Paper",
                              "quantity": 2, "orderable": True}]
    assert body["can_edit"] is True and body["shared"] is False
    list_id = body["id"]
    assert api.post("/hub/lists", {"supplier_id": world.supplier.pk, "name": "X",
                                   "owner_id": 1}).status_code == 422  # mass assignment
    foreign = make_product(make_org("api-foreign-supplier"), world.owner, "FOR-1")
    refused = api.post("/hub/lists", {"supplier_id": world.supplier.pk, "name": "Y",
                                      "lines": [{"product_id": foreign.pk, "quantity": 1}]})
    assert refused.status_code == 422 and not SavedList.objects.filter(name="Y").exists()
    stranger_supplier = make_org("api-not-my-supplier")
    assert api.post("/hub/lists", {"supplier_id": stranger_supplier.pk, "name": "Z"}
                    ).status_code == 422
    # A colleague and another buyer cannot see the private list.
    for other in (world.bob.api, world.stranger.api):
        assert other.get(f"/hub/lists/{list_id}").status_code == 404
        assert other.post(f"/hub/lists/{list_id}/add-to-cart").status_code == 404
        assert other.delete(f"/hub/lists/{list_id}").status_code == 404
    patched = api.patch(f"/hub/lists/{list_id}", {"version": body["version"], "shared": True})
    assert patched.status_code == 200 and patched.json()["shared"] is True
    assert api.patch(f"/hub/lists/{list_id}", {"version": body["version"], "name": "Old"}
                     ).status_code == 409
    assert world.bob.api.get(f"/hub/lists/{list_id}").json()["can_edit"] is False
    assert world.bob.api.post(f"/hub/lists/{list_id}/lines",
                              {"product_id": world.pens.pk, "quantity": 1}).status_code == 403
    assert [lst["id"] for lst in world.bob.api.get("/hub/lists").json()["items"]] == [list_id]
    assert world.stranger.api.get("/hub/lists").json()["items"] == []
    line = api.post(f"/hub/lists/{list_id}/lines", {"product_id": world.pens.pk,
                                                    "quantity": 4})
    assert line.status_code == 200 and len(line.json()["lines"]) == 2
    added = world.bob.api.post(f"/hub/lists/{list_id}/add-to-cart")
    assert added.status_code == 200
    assert added.json()["added"] == 2 and added.json()["skipped"] == []
    assert {(ln["sku"], ln["quantity"]) for ln in added.json()["cart"]["lines"]} == {
        ("PAP-1", 2), ("PEN-1", 4)}
    assert world.bob.api.delete(f"/hub/lists/{list_id}").status_code == 403
    assert api.delete(f"/hub/lists/{list_id}").status_code == 204
    assert api.get(f"/hub/lists/{list_id}").status_code == 404


def test_api_list_from_cart(world):
    orders.cart_set_line(relationship=world.relationship, user=world.alice.user,
                         product_id=world.ink.pk, quantity=9)
    response = world.alice.api.post("/hub/lists", {"supplier_id": world.supplier.pk,
                                                   "name": "Cart copy", "from_cart": True})
    assert response.status_code == 201
    assert [(ln["sku"], ln["quantity"]) for ln in response.json()["lines"]] == [("INK-1", 9)]
