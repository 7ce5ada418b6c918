"""Campaigns API over HTTP: create with variants (bad input 422, nothing written; foreign
segment 404), update with version (409), variants, launch (twice 409), progress, counts,
recipients (keyset, constant queries), cancel, the reply hook; outsiders see nothing."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from jalin.api.testing import ApiClient, bearer_token_for
from jalin.sales import campaigns
from jalin.sales.models import Campaign, CampaignRecipient, CampaignVariant
from jalin.tenancy.models import Membership
from tests.campaign_world import BODY_A, BODY_B, make_segment, small_world


def api_for(user, organization):
    membership = Membership.objects.get(user=user, organization=organization)
    return ApiClient(token=bearer_token_for(membership))


@pytest.fixture
def apis(org, owner, member, outsider, other_org):
    return api_for(owner, org), api_for(member, org), api_for(outsider, other_org)


def body(segment, **extra):
    return {"name": "Promo Desember", "segment_id": segment.pk, "holdout_percent": "10",
            "primary_metric": "conversion", "attribution_days": 14, "baseline_rate": "4",
            "minimum_detectable_effect": "1",
            "variants": [{"name": "A", "subject": "Diskon {first_name}", "body": BODY_A},
                         {"name": "B", "weight": 2, "subject": "Katalog", "body": BODY_B}],
            **extra}


def test_create_launch_and_read_progress(apis, org, owner):
    owner_api, member_api, outsider_api = apis
    segment, _contacts = small_world(org, owner)
    created = member_api.post("/sales/campaigns", body(segment),
                              headers={"Idempotency-Key": "c-1"})
    assert created.status_code == 201, created.content
    data = created.json()
    assert [v["name"] for v in data["variants"]] == ["A", "B"]
    assert data["variants"][1]["weight"] == 2 and data["status"] == "draft"
    assert data["progress"]["recipients"] == 0
    again = member_api.post("/sales/campaigns", body(segment), headers={"Idempotency-Key": "c-1"})
    assert again.status_code == 201 and Campaign.objects.count() == 1
    cid = data["id"]
    launched = owner_api.post(f"/sales/campaigns/{cid}/launch")
    assert launched.status_code == 200, launched.content
    # The launch answers at once: the snapshot of the segment runs in the background.
    assert launched.json()["status"] == "preparing"
    progress = launched.json()["progress"]
    assert {key: progress[key] for key in ("phase", "prepared", "expected", "percent")} == {
        "phase": "preparing", "prepared": 0, "expected": 5, "percent": 0}
    twice = owner_api.post(f"/sales/campaigns/{cid}/launch")
    assert twice.status_code == 409 and twice.json()["code"] == "already_launched"
    campaigns.campaign_prepare(campaign_id=cid, batch_size=2, max_batches=1)
    halfway = owner_api.get(f"/sales/campaigns/{cid}").json()
    assert (halfway["status"], halfway["progress"]["prepared"],
            halfway["progress"]["percent"]) == ("preparing", 2, 40)
    campaigns.campaign_prepare(campaign_id=cid)
    ready = owner_api.get(f"/sales/campaigns/{cid}").json()
    assert ready["status"] == "sending" and ready["progress"]["phase"] == "sending"
    assert ready["progress"]["recipients"] == 5 and ready["progress"]["prepared"] == 5
    campaigns.campaign_send(campaign_id=cid)
    read = owner_api.get(f"/sales/campaigns/{cid}").json()
    assert read["status"] == "sent"
    progress = read["progress"]
    assert progress["sent"] == progress["to_send"] and progress["percent"] == 100
    counts = owner_api.get(f"/sales/campaigns/{cid}/counts").json()
    assert sum(row["recipients"] for row in counts) == 5
    assert sum(row["sent"] for row in counts) == progress["to_send"]
    # Outsiders: 404 everywhere, empty list.
    for path in (f"/sales/campaigns/{cid}", f"/sales/campaigns/{cid}/counts",
                 f"/sales/campaigns/{cid}/recipients"):
        assert outsider_api.get(path).status_code == 404
    assert outsider_api.post(f"/sales/campaigns/{cid}/cancel", {}).status_code == 404
    assert outsider_api.get("/sales/campaigns").json()["items"] == []
    # A finished campaign cannot be changed or cancelled.
    assert owner_api.patch(f"/sales/campaigns/{cid}", {"version": read["version"],
                                                       "name": "x"}).status_code == 409
    assert owner_api.post(f"/sales/campaigns/{cid}/cancel", {}).status_code == 409


@pytest.mark.parametrize("extra, status", [
    ({"name": ""}, 422),
    ({"holdout_percent": "80"}, 422),
    ({"channel": "sms"}, 422),
    ({"unknown": 1}, 422),
    ({"variants": [{"name": "A", "offer_url": "javascript:x"}]}, 422),
    ({"variants": [{"name": "A"}, {"name": "A"}]}, 422),
    ({"promotion_id": 999999}, 404),
])
def test_bad_input_writes_nothing(apis, org, owner, extra, status):
    owner_api, _member_api, _outsider_api = apis
    segment, _contacts = small_world(org, owner)
    response = owner_api.post("/sales/campaigns", body(segment, **extra))
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    assert not Campaign.objects.exists() and not CampaignVariant.objects.exists()


def test_foreign_segment_is_404(apis, other_org, org, owner):
    owner_api, _member_api, _outsider_api = apis
    theirs = make_segment(other_org, [], name="Theirs")
    response = owner_api.post("/sales/campaigns", body(theirs))
    assert response.status_code == 404 and not Campaign.objects.exists()


def test_update_variants_and_versions(apis, org, owner):
    owner_api, _member_api, outsider_api = apis
    segment, _contacts = small_world(org, owner)
    data = owner_api.post("/sales/campaigns", body(segment)).json()
    cid = data["id"]
    changed = owner_api.patch(f"/sales/campaigns/{cid}", {"version": data["version"],
                                                          "name": "Promo Natal",
                                                          "baseline_rate": None})
    assert changed.status_code == 200, changed.content
    assert changed.json()["name"] == "Promo Natal" and changed.json()["baseline_rate"] is None
    stale = owner_api.patch(f"/sales/campaigns/{cid}", {"version": data["version"],
                                                        "name": "Lagi"})
    assert stale.status_code == 409
    added = owner_api.post(f"/sales/campaigns/{cid}/variants",
                           {"name": "C", "subject": "s", "body": "b"})
    assert added.status_code == 201
    vid = added.json()["id"]
    assert owner_api.patch(f"/sales/campaigns/{cid}/variants/{vid}",
                           {"weight": 5}).json()["weight"] == 5
    assert outsider_api.patch(f"/sales/campaigns/{cid}/variants/{vid}",
                              {"weight": 1}).status_code == 404
    for variant in data["variants"]:
        assert owner_api.delete(f"/sales/campaigns/{cid}/variants/{variant['id']}") \
            .status_code == 204
    last = owner_api.delete(f"/sales/campaigns/{cid}/variants/{vid}")
    assert last.status_code == 422 and last.json()["code"] == "last_variant"


def test_recipients_keyset_and_constant_queries(apis, org, owner):
    owner_api, _member_api, _outsider_api = apis
    segment, _contacts = small_world(org, owner)
    cid = owner_api.post("/sales/campaigns", body(segment)).json()["id"]
    owner_api.post(f"/sales/campaigns/{cid}/launch")
    campaigns.campaign_prepare(campaign_id=cid)
    first = owner_api.get(f"/sales/campaigns/{cid}/recipients", data={"limit": 2}).json()
    second = owner_api.get(f"/sales/campaigns/{cid}/recipients",
                           data={"limit": 2, "cursor": first["next_cursor"]}).json()
    ids = [r["id"] for r in first["items"] + second["items"]]
    assert len(ids) == 4 == len(set(ids)) and ids == sorted(ids)
    skipped = owner_api.get(f"/sales/campaigns/{cid}/recipients",
                            data={"skipped": "true"}).json()["items"]
    assert {r["skipped_reason"] for r in skipped} == {"no_consent", "no_email", "suppressed"}
    with CaptureQueriesContext(connection) as small:
        owner_api.get("/sales/campaigns")
    for i in range(5):
        owner_api.post("/sales/campaigns", body(segment, name=f"C{i}"))
    with CaptureQueriesContext(connection) as large:
        assert len(owner_api.get("/sales/campaigns").json()["items"]) == 6
    assert len(large) == len(small)
    assert owner_api.get(f"/sales/campaigns/{cid}/recipients",
                         data={"variant": "x"}).status_code == 422


def test_reply_hook(apis, org, owner, outsider, other_org):
    owner_api, member_api, outsider_api = apis
    segment, contacts = small_world(org, owner)
    cid = owner_api.post("/sales/campaigns", body(segment)).json()["id"]
    owner_api.post(f"/sales/campaigns/{cid}/launch")
    campaigns.campaign_prepare(campaign_id=cid)
    campaigns.campaign_send(campaign_id=cid)
    recipient = CampaignRecipient.objects.get(campaign_id=cid, contact=contacts["budi"])
    raw = (f"From: budi@maju.example\r\nTo: {campaigns.reply_address(recipient.token)}\r\n"
           f"Subject: Re\r\n\r\nBoleh minta harga?\r\n").encode()

    def post(api):
        return api.client.post("/api/v1/sales/campaign-replies", data=raw,
                               content_type="message/rfc822",
                               headers={"Authorization": f"Bearer {api.token}"})

    assert post(outsider_api).json() == {"recipients": []}
    response = post(member_api)
    assert response.status_code == 200, response.content
    assert response.json() == {"recipients": [recipient.pk]}
    recipient.refresh_from_db()
    assert recipient.replied_at is not None
    empty = member_api.client.post("/api/v1/sales/campaign-replies", data=b"",
                                   content_type="message/rfc822",
                                   headers={"Authorization": f"Bearer {member_api.token}"})
    assert empty.status_code == 422


def test_schedule_unschedule_and_cancel(apis, org, owner):
    owner_api, member_api, outsider_api = apis
    segment, _contacts = small_world(org, owner)
    data = owner_api.post("/sales/campaigns", body(segment)).json()
    cid, version = data["id"], data["version"]
    assert data["scheduled_for"] is None and data["progress"]["phase"] == "waiting"
    url = f"/sales/campaigns/{cid}/schedule"
    past = member_api.post(url, {"scheduled_for": "2020-01-01T09:00:00+07:00"})
    assert past.status_code == 422, past.content
    assert past.json()["errors"][0]["field"] == "scheduled_for"
    assert member_api.post(url, {"scheduled_for": "tomorrow"}).status_code == 422
    assert outsider_api.post(url, {"scheduled_for": "2099-01-01T09:00:00+07:00"}) \
        .status_code == 404
    assert Campaign.objects.get(pk=cid).status == "draft"
    when = (timezone.now() + datetime.timedelta(days=2)).replace(microsecond=0)
    scheduled = member_api.post(url, {"scheduled_for": when.isoformat(), "version": version})
    assert scheduled.status_code == 200, scheduled.content
    assert scheduled.json()["status"] == "scheduled"
    assert datetime.datetime.fromisoformat(scheduled.json()["scheduled_for"]) == when
    stale = member_api.post(url, {"scheduled_for": when.isoformat(), "version": version})
    assert stale.status_code == 409
    # Not editable while scheduled; back to draft, then scheduled again and cancelled.
    assert member_api.patch(f"/sales/campaigns/{cid}", {
        "version": scheduled.json()["version"], "name": "x"}).status_code == 409
    draft = member_api.post(f"/sales/campaigns/{cid}/unschedule", {})
    assert draft.status_code == 200 and draft.json()["status"] == "draft"
    assert draft.json()["scheduled_for"] is None
    assert member_api.post(f"/sales/campaigns/{cid}/unschedule", {}).status_code == 409
    member_api.post(url, {"scheduled_for": when.isoformat()})
    cancelled = member_api.post(f"/sales/campaigns/{cid}/cancel", {})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert member_api.post(url, {"scheduled_for": when.isoformat()}).status_code == 409
    assert not CampaignRecipient.objects.filter(campaign_id=cid).exists()
