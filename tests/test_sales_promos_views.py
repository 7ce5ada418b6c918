"""Promotion and segment pages (owner / member / outsider) and the hub promotion pages; the
APIs over HTTP: hub promotions, segments, promotion analysis and customer segment."""

import json

import pytest
from django.urls import reverse
from django.utils import timezone

from jalin.api.testing import ApiClient, bearer_token_for
from jalin.crm.models import Account, Contact
from jalin.hub.models import OrderLine, Promotion
from jalin.sales import segments
from jalin.sales.models import PromotionSegment, Segment, SegmentMember
from jalin.tenancy.models import Membership
from jalin.tenancy.roles import Role
from tests.conftest import make_user
from tests.promos_world import DAY, build


@pytest.fixture
def world(org, owner):
    w = build(org, owner)
    w.account = Account.objects.create(organization=org, name="Retail A",
                                       industry="Retail", hub_organization=w.buyers["a"])
    w.contact = Contact.objects.create(organization=org, last_name="Susanto",
                                       email="susanto@retail-a.test", account=w.account)
    return w


def api_for(user, organization):
    membership = Membership.objects.get(user=user, organization=organization)
    return ApiClient(token=bearer_token_for(membership))


def test_promotion_pages_three_personas(world, owner_client, member_client, outsider_client):
    url = reverse("sales:promotion_detail", args=[world.promotion.pk])
    page = owner_client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "80.0%" in html and 'id="promotion-chart"' in html
    assert 'id="figures-untargeted"' in html and "promotion-target-form" in html
    listing = member_client.get(reverse("sales:promotions")).content.decode()
    assert "Drill days" in listing
    member_page = member_client.get(url).content.decode()
    assert "80.0%" in member_page
    assert outsider_client.get(url).status_code == 404
    assert "Drill days" not in outsider_client.get(reverse("sales:promotions")).content.decode()
    target = reverse("sales:promotion_target", args=[world.promotion.pk])
    assert outsider_client.post(target, {"segment": "none"}).status_code == 404


def test_targeting_a_segment_from_the_promotion_page(world, owner_client, outsider_client):
    segment = segments.segment_create(
        organization=world.supplier, actor=world.owner, name="Retail",
        rules={"conditions": [{"field": "account.industry", "op": "equals",
                               "value": "Retail"}]})
    target = reverse("sales:promotion_target", args=[world.promotion.pk])
    response = owner_client.post(target, {"segment": str(segment.pk)})
    assert response.status_code == 302
    assert list(world.promotion.buyers.values_list("pk", flat=True)) == [world.buyers["a"].pk]
    assert PromotionSegment.objects.get().segment == segment
    page = owner_client.get(reverse("sales:promotion_detail", args=[world.promotion.pk]))
    assert 'id="promotion-segment"' in page.content.decode()
    # Someone else's segment id is a 404 and changes nothing.
    assert outsider_client.post(target, {"segment": str(segment.pk)}).status_code == 404


def test_segment_pages(world, owner_client, member_client, outsider_client):
    data = {"name": "Retail buyers", "kind": "dynamic", "match": "all",
            "field_0": "account.industry", "op_0": "equals", "value_0": "Retail",
            "field_1": "purchase.frequency", "op_1": "gte", "value_1": "1", "months_1": "12"}
    preview = owner_client.post(reverse("sales:segment_preview"), data)
    assert "1 contact matches now." in preview.content.decode()
    response = owner_client.post(reverse("sales:segment_new"), data)
    assert response.status_code == 302
    segment = Segment.objects.get()
    assert segment.member_count == 1 and segment.rules["conditions"][1]["months"] == 12
    detail = member_client.get(reverse("sales:segment_detail", args=[segment.pk]))
    assert "Susanto" in detail.content.decode()
    export = owner_client.get(reverse("sales:segment_export", args=[segment.pk]))
    assert "susanto@retail-a.test" in b"".join(export.streaming_content).decode()
    duplicate = member_client.post(reverse("sales:segment_new"), data)  # sales may edit
    assert duplicate.status_code == 400 and "Another segment" in duplicate.content.decode()
    for name in ("segment_detail", "segment_edit", "segment_export"):
        assert outsider_client.get(reverse(f"sales:{name}", args=[segment.pk])).status_code \
            == 404
    assert outsider_client.post(reverse("sales:segment_refresh",
                                        args=[segment.pk])).status_code == 404
    assert "Retail buyers" not in outsider_client.get(
        reverse("sales:segments")).content.decode()
    # Bad rules: 400 with the condition named, nothing saved.
    bad = dict(data, name="Bad", value_1="many")
    response = owner_client.post(reverse("sales:segment_new"), bad)
    assert response.status_code == 400 and "rules.conditions[1]" in response.content.decode()
    assert Segment.objects.count() == 1
    # Edit with a stale version: 409.
    edit = reverse("sales:segment_edit", args=[segment.pk])
    assert owner_client.post(edit, dict(data, version="99")).status_code == 409
    assert owner_client.post(edit, dict(data, version=str(segment.version),
                                        name="Renamed")).status_code == 302


def test_static_list_page(world, owner_client):
    static = segments.segment_create(organization=world.supplier, actor=world.owner,
                                     name="VIP", kind="static")
    url = reverse("sales:segment_members", args=[static.pk])
    owner_client.post(url, {"contacts": "SUSANTO@retail-a.test"})
    assert list(SegmentMember.objects.values_list("contact_id", flat=True)) == [
        world.contact.pk]
    owner_client.post(url, {"contacts": "nobody@x.test"})
    assert SegmentMember.objects.count() == 1
    owner_client.post(url, {"remove": str(world.contact.pk)})
    assert not SegmentMember.objects.exists()


def test_hub_promotion_pages(world, owner_client, outsider_client):
    today = timezone.localdate()
    response = owner_client.post(reverse("hub:promotions"), {
        "name": "Paper sale", "starts_on": today.isoformat(),
        "ends_on": (today + 3 * DAY).isoformat(), "discount_percent": "7.5",
        "skus": "PAP-1"})
    assert response.status_code == 302, response.content.decode()[:2000]
    sale = Promotion.objects.get(name="Paper sale")
    assert list(sale.products.values_list("sku", flat=True)) == ["PAP-1"]
    bad = owner_client.post(reverse("hub:promotions"), {
        "name": "Bad", "starts_on": today.isoformat(), "ends_on": today.isoformat(),
        "discount_percent": "7.5", "skus": "NOPE-1"})
    assert bad.status_code == 400 and "NOPE-1" in bad.content.decode()
    edit = reverse("hub:promotion_edit", args=[sale.pk])
    assert owner_client.get(edit).status_code == 200
    assert owner_client.post(edit, {
        "version": "1", "name": "Paper sale", "starts_on": today.isoformat(),
        "ends_on": (today - DAY).isoformat(), "discount_percent": "7.5"}).status_code == 400
    assert outsider_client.get(edit).status_code == 404
    assert outsider_client.post(reverse("hub:promotion_deactivate",
                                        args=[sale.pk])).status_code == 404
    assert owner_client.post(reverse("hub:promotion_deactivate",
                                     args=[sale.pk])).status_code == 302
    sale.refresh_from_db()
    assert not sale.is_active
    assert "Paper sale" not in outsider_client.get(reverse("hub:promotions")).content.decode()


def test_apis_over_http(world, org, owner, outsider, other_org):
    owner_api, outsider_api = api_for(owner, org), api_for(outsider, other_org)
    today = timezone.localdate()
    body = {"name": "API sale", "starts_on": today.isoformat(),
            "ends_on": (today + DAY).isoformat(), "discount_percent": "5",
            "product_ids": [world.paper.pk]}
    created = owner_api.post("/hub/promotions", body)
    assert created.status_code == 201, created.content
    promotion = created.json()
    assert promotion["product_ids"] == [world.paper.pk] and promotion["version"] == 1
    bad = owner_api.post("/hub/promotions", dict(body, ends_on=(today - DAY).isoformat()))
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "ends_on"
    assert owner_api.post("/hub/promotions", dict(body, buyer_ids=[other_org.pk])
                          ).status_code == 404
    patched = owner_api.patch(f"/hub/promotions/{promotion['id']}",
                              {"version": 1, "discount_percent": "6"})
    assert patched.status_code == 200 and patched.json()["discount_percent"] == "6.00"
    assert owner_api.patch(f"/hub/promotions/{promotion['id']}",
                           {"version": 1, "name": "x"}).status_code == 409
    assert outsider_api.get(f"/hub/promotions/{promotion['id']}").status_code == 404
    # Segments.
    rules = {"match": "all", "conditions": [
        {"field": "account.industry", "op": "equals", "value": "Retail"}]}
    assert owner_api.post("/sales/segments/preview", {"rules": rules}).json() == {"count": 1}
    segment = owner_api.post("/sales/segments", {"name": "Retail", "rules": rules})
    assert segment.status_code == 201 and segment.json()["member_count"] == 1
    segment_id = segment.json()["id"]
    broken = owner_api.post("/sales/segments", {"name": "Broken", "rules": {
        "conditions": [{"field": "account.nope", "op": "equals", "value": "x"}]}})
    assert broken.status_code == 422 and Segment.objects.count() == 1
    members = owner_api.get(f"/sales/segments/{segment_id}/members").json()["items"]
    assert [item["contact_id"] for item in members] == [world.contact.pk]
    assert owner_api.post(f"/sales/segments/{segment_id}/refresh", {}).json()["added"] == 0
    assert outsider_api.get(f"/sales/segments/{segment_id}").status_code == 404
    assert outsider_api.get("/sales/segments").json()["items"] == []
    assert any(field["field"] == "purchase.recency_days"
               for field in owner_api.get("/sales/segments/fields").json())
    # Promotion analysis and customer segment.
    analysis = owner_api.get(f"/sales/promotions/{world.promotion.pk}/analysis")
    assert analysis.status_code == 200
    assert analysis.json()["uplift_revenue_percent"] == "80.0"
    assert analysis.json()["period"]["new_buyers"] == 1
    assert outsider_api.get(f"/sales/promotions/{world.promotion.pk}/analysis"
                            ).status_code == 404
    targeted = owner_api.post(f"/sales/promotions/{promotion['id']}/segment",
                             {"segment_id": segment_id})
    assert targeted.status_code == 200 and targeted.json()["buyer_count"] == 1
    assert outsider_api.post(f"/sales/promotions/{promotion['id']}/segment",
                            {"segment_id": None}).status_code == 404
    assert json.loads(owner_api.get(f"/hub/promotions/{promotion['id']}").content)[
        "buyer_ids"] == [world.buyers["a"].pk]
    # Order lines show the promotion that priced them.
    line = OrderLine.objects.filter(promotion=world.promotion).first()
    order = owner_api.get(f"/hub/orders/{line.order_id}").json()
    promoted = next(item for item in order["lines"] if item["id"] == line.pk)
    assert promoted["promotion_id"] == world.promotion.pk
    assert promoted["promotion_discount"] == str(line.promotion_discount)


def test_catalog_api_shows_the_promotion(world, org):
    buyer_user = make_user("buyer-c")
    Membership.objects.create(user=buyer_user, organization=world.buyers["c"], role=Role.BUYER)
    api = api_for(buyer_user, world.buyers["c"])
    items = api.get(f"/hub/suppliers/{org.pk}/catalog").json()["items"]
    drill = next(item for item in items if item["sku"] == "DRL-1")
    assert drill["price"]["promotion_id"] == world.promotion.pk
    assert drill["price"]["amount"] == "90000.0000" and drill["price"]["list_amount"] in (
        "100000.0000", "100000")
