"""The BRM registers over HTTP: requirements (versions, transitions, 409 stale, the
customer's sign-off with its 403/404 rules), changes, opportunities and improvements."""

import pytest

from jalin.api.testing import ApiClient, bearer_token_for
from jalin.brm.models import (
    CustomerChange,
    Improvement,
    OpportunityRecord,
    Requirement,
    SignOff,
)
from tests.brm_world import make_requirement, make_world, membership

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(org, owner):
    return make_world(org, owner)


def _api(user, organization):
    return ApiClient(token=bearer_token_for(membership(user, organization)))


@pytest.fixture
def staff(world):
    return _api(world.owner, world.org)


@pytest.fixture
def member_api(world, member):
    return _api(member, world.org)


@pytest.fixture
def outsider_api(world, outsider, other_org):
    return _api(outsider, other_org)


def test_requirement_create_patch_versions_and_transitions(world, staff):
    response = staff.post("/brm/requirements", {
        "account_id": world.account.pk, "title": "Weekend deliveries",
        "description": "Deliver on Saturdays.", "costs": "100.00", "benefits": "250.00",
        "service_id": world.service.pk})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["reference"] == "REQ-1" and body["current"]["roi_percent"] == "150.0"
    assert body["actions"] == ["submit", "reject"]
    requirement_id = body["id"]
    patched = staff.patch(f"/brm/requirements/{requirement_id}", {
        "version": body["version"], "description": "Deliver on weekends."})
    assert patched.status_code == 200
    assert patched.json()["current_version"] == 2
    assert [v["description"] for v in patched.json()["versions"]] == [
        "Deliver on Saturdays.", "Deliver on weekends."]
    stale = staff.patch(f"/brm/requirements/{requirement_id}",
                        {"version": body["version"], "description": "x"})
    assert stale.status_code == 409
    v1 = staff.get(f"/brm/requirements/{requirement_id}/versions/1")
    assert v1.json()["description"] == "Deliver on Saturdays."
    assert staff.get(f"/brm/requirements/{requirement_id}/versions/5").status_code == 404
    version = patched.json()["version"]
    illegal = staff.post(f"/brm/requirements/{requirement_id}/transitions",
                         {"action": "qualify", "version": version})
    assert illegal.status_code == 422 and illegal.json()["code"] == "invalid_transition"
    unknown = staff.post(f"/brm/requirements/{requirement_id}/transitions",
                         {"action": "approve", "version": version})
    assert unknown.status_code == 422
    ok = staff.post(f"/brm/requirements/{requirement_id}/transitions",
                    {"action": "submit", "version": version, "comment": "Ready"})
    assert ok.status_code == 200 and ok.json()["status"] == "submitted"
    assert ok.json()["status_changes"][-1]["comment"] == "Ready"


def test_requirement_bad_input_is_4xx_and_changes_nothing(world, staff, outsider_api):
    for body in ({"account_id": world.account.pk, "title": "x", "description": "y",
                  "costs": "-1"},
                 {"account_id": world.account.pk, "title": "x", "description": "y",
                  "surprise": 1},
                 {"account_id": world.account.pk, "title": "", "description": "y"},
                 {"account_id": world.account.pk, "title": "x", "description": "y",
                  "service_id": 999999}):
        response = staff.post("/brm/requirements", body)
        assert 400 <= response.status_code < 500, body
    # Someone else's account is "not found" as a field error.
    foreign = outsider_api.post("/brm/requirements", {
        "account_id": world.account.pk, "title": "x", "description": "y"})
    assert foreign.status_code == 404
    assert not Requirement.objects.exists()


def test_member_reads_outsider_404(world, member_api, outsider_api):
    requirement = make_requirement(world)
    assert member_api.get(f"/brm/requirements/{requirement.pk}").status_code == 200
    refused = member_api.post(f"/brm/requirements/{requirement.pk}/transitions",
                              {"action": "submit", "version": 1})
    assert refused.status_code == 403
    assert outsider_api.get(f"/brm/requirements/{requirement.pk}").status_code == 404
    assert outsider_api.get("/brm/requirements").json()["items"] == []


def test_requirement_list_filters_and_query_count(world, staff,
                                                  django_assert_max_num_queries):
    for index in range(6):
        make_requirement(world, title=f"R{index}", qualified=index % 2 == 0)
    with django_assert_max_num_queries(8):
        response = staff.get("/brm/requirements?awaiting_sign_off=true&limit=2")
    body = response.json()
    assert [item["title"] for item in body["items"]] == ["R4", "R2"]
    following = staff.get(f"/brm/requirements?awaiting_sign_off=true&limit=2"
                          f"&cursor={body['next_cursor']}").json()
    assert [item["title"] for item in following["items"]] == ["R0"]
    assert staff.get("/brm/requirements?status=draft").json()["items"][0]["title"] == "R5"


def test_portal_sign_off_over_http(world):
    requirement = make_requirement(world, qualified=True)
    decision_maker = _api(world.decision_maker, world.buyer)
    plain = _api(world.plain_buyer, world.buyer)
    other = _api(world.other_buyer_user, world.other_buyer)
    listing = decision_maker.get("/brm/portal/requirements?awaiting_sign_off=true").json()
    assert [item["reference"] for item in listing["items"]] == ["REQ-1"]
    assert listing["items"][0]["may_sign"] is True
    assert plain.get(f"/brm/portal/requirements/{requirement.pk}").json()["may_sign"] is False
    assert other.get(f"/brm/portal/requirements/{requirement.pk}").status_code == 404
    assert other.get("/brm/portal/requirements").json()["items"] == []
    body = {"decision": "approved", "version_number": 1, "comment": "Agreed"}
    assert plain.post(f"/brm/portal/requirements/{requirement.pk}/sign-offs",
                      body).status_code == 403
    assert other.post(f"/brm/portal/requirements/{requirement.pk}/sign-offs",
                      body).status_code == 404
    assert decision_maker.post(f"/brm/portal/requirements/{requirement.pk}/sign-offs",
                               {**body, "version_number": 2}).status_code == 409
    assert not SignOff.objects.exists()
    signed = decision_maker.post(f"/brm/portal/requirements/{requirement.pk}/sign-offs", body)
    assert signed.status_code == 201
    assert (signed.json()["decision"], signed.json()["version_number"],
            signed.json()["signer_name"]) == ("approved", 1, "Bambang Wijaya")
    again = decision_maker.post(f"/brm/portal/requirements/{requirement.pk}/sign-offs", body)
    assert again.status_code == 422
    staff = _api(world.owner, world.org)
    detail = staff.get(f"/brm/requirements/{requirement.pk}").json()
    assert detail["status"] == "approved"
    assert detail["sign_offs"][0]["user_id"] == world.decision_maker.pk
    # Staff cannot use the portal endpoint for their own requirement (not the buyer).
    assert staff.post(f"/brm/portal/requirements/{requirement.pk}/sign-offs",
                      body).status_code == 404


def test_changes_api(world, staff, outsider_api):
    response = staff.post("/brm/changes", {
        "account_id": world.account.pk, "origin": "customer", "title": "They opened a branch",
        "impact_level": "high", "response": "Second delivery route"})
    assert response.status_code == 201
    change = response.json()
    assert change["responded_at"] is not None and change["response_seconds"] == 0
    second = staff.post("/brm/changes", {"account_id": world.account.pk, "origin": "ours",
                                         "title": "Price list 2027"}).json()
    assert second["responded_at"] is None
    patched = staff.patch(f"/brm/changes/{second['id']}",
                          {"version": 1, "response": "Letter sent"})
    assert patched.status_code == 200 and patched.json()["responded_by_id"] == world.owner.pk
    assert staff.patch(f"/brm/changes/{second['id']}",
                       {"version": 1, "title": "x"}).status_code == 409
    assert staff.post("/brm/changes", {"account_id": world.account.pk, "origin": "bogus",
                                       "title": "x"}).status_code == 422
    listing = staff.get("/brm/changes?origin=ours&responded=true").json()
    assert [item["title"] for item in listing["items"]] == ["Price list 2027"]
    assert outsider_api.get(f"/brm/changes/{second['id']}").status_code == 404
    assert CustomerChange.objects.count() == 2


def test_opportunities_api(world, staff, member_api):
    created = staff.post("/brm/opportunities", {"title": "Drone delivery",
                                                "account_id": world.account.pk})
    assert created.status_code == 201
    opportunity = created.json()
    assert member_api.post(f"/brm/opportunities/{opportunity['id']}/transitions",
                           {"action": "decline", "version": 1}).status_code == 403
    assert staff.post(f"/brm/opportunities/{opportunity['id']}/transitions",
                      {"action": "record", "version": 1,
                       "service_id": world.service.pk}).status_code == 422
    assessed = staff.post(f"/brm/opportunities/{opportunity['id']}/transitions",
                          {"action": "assess", "version": 1, "assessment": "Pilot"})
    assert assessed.status_code == 200 and assessed.json()["assessed_at"]
    recorded = staff.post(f"/brm/opportunities/{opportunity['id']}/transitions",
                          {"action": "record", "version": 2, "service_id": world.service.pk})
    assert recorded.json()["status"] == "recorded"
    assert staff.get("/brm/opportunities?status=recorded").json()["items"][0]["id"] == (
        opportunity["id"])
    assert OpportunityRecord.objects.get().service == world.service


def test_improvements_api(world, staff, outsider_api):
    created = staff.post("/brm/improvements", {"title": "Shorter hold times",
                                               "source": "complaint",
                                               "expected_value": "100.00"})
    assert created.status_code == 201
    improvement = created.json()
    assert improvement["reference"] == "CSI-1" and improvement["actions"] == ["accept", "cancel"]
    version = improvement["version"]
    for action in ("accept", "approve", "start", "monitor"):
        response = staff.post(f"/brm/improvements/{improvement['id']}/transitions",
                              {"action": action, "version": version})
        assert response.status_code == 200, response.json()
        version = response.json()["version"]
    refused = staff.post(f"/brm/improvements/{improvement['id']}/transitions",
                         {"action": "close", "version": version})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == (
        "realized_benefit")
    closed = staff.post(f"/brm/improvements/{improvement['id']}/transitions",
                        {"action": "close", "version": version,
                         "realized_benefit": "Hold time down 40%", "realized_value": "80"})
    assert closed.json()["status"] == "closed" and closed.json()["realized_value"] == "80.00"
    assert staff.patch(f"/brm/improvements/{improvement['id']}",
                       {"version": closed.json()["version"], "title": "x"}).status_code == 422
    assert staff.get("/brm/improvements?status=closed").json()["items"][0]["reference"] == (
        "CSI-1")
    assert outsider_api.get(f"/brm/improvements/{improvement['id']}").status_code == 404
    assert Improvement.objects.count() == 1
