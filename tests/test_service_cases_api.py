"""Service desk API over HTTP: staff and customer sides, isolation (404 for other
organizations' cases and records named in the body), internal notes never reach buyers,
optimistic versions (409), bad input (422, nothing changed), Idempotency-Key, query counts."""

import pytest

from jalin.api.testing import ApiClient, bearer_token_for
from jalin.service import cases
from jalin.service.models import Case, CaseMessage, CaseStatus, Team
from jalin.tenancy.models import Membership
from tests.service_world import build_world


def api_for(user, organization):
    membership = Membership.objects.get(user=user, organization=organization)
    return ApiClient(token=bearer_token_for(membership))


@pytest.fixture
def world(org, owner, member, outsider, other_org):
    world = build_world(org, owner)
    world.owner_api = api_for(owner, org)
    world.member_api = api_for(member, org)
    world.outsider_api = api_for(outsider, other_org)
    world.buyer_api = api_for(world.buyer_user, world.toko)
    world.other_api = api_for(world.other_user, world.other)
    return world


def open_case(world, **extra):
    fields = {"organization": world.supplier, "subject": "Broken tiles", "kind": "complaint",
              "channel": "portal", "account": world.account, "actor": world.buyer_user,
              "requester": world.buyer_user}
    fields.update(extra)
    return cases.case_open(**fields)


def test_staff_create_with_idempotency_key(world):
    body = {"subject": "Printer jam", "kind": "incident", "priority": "high",
            "account_id": world.account.pk, "contact_id": world.contact.pk,
            "assignee_id": world.agent.pk}
    response = world.owner_api.post("/service/cases", body, headers={"Idempotency-Key": "a1"})
    assert response.status_code == 201, response.content
    data = response.json()
    assert (data["number"], data["status"], data["priority"], data["buyer_id"]) == (
        1, "new", "high", world.toko.pk)
    assert data["assignee"]["id"] == world.agent.pk and data["channel"] == "api"
    assert data["history"][0]["action"] == "opened"
    again = world.owner_api.post("/service/cases", body, headers={"Idempotency-Key": "a1"})
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == data["id"] and Case.objects.count() == 1


def test_staff_create_bad_input_and_foreign_ids(world, other_org):
    foreign_team = Team.objects.create(organization=other_org, name="Theirs")
    for body, status in (
            ({"subject": "", "kind": "question"}, 422),
            ({"subject": "x", "kind": "rant"}, 422),
            ({"subject": "x", "kind": "question", "surprise": 1}, 422),
            ({"subject": "x", "kind": "question", "team_id": foreign_team.pk}, 404),
            ({"subject": "x", "kind": "question", "account_id": 987654}, 404),
            ({"subject": "x", "kind": "question", "requester_email": "nope"}, 422)):
        response = world.owner_api.post("/service/cases", body)
        assert response.status_code == status, (body, response.content)
        assert response["Content-Type"].startswith("application/problem+json")
    assert world.member_api.post("/service/cases", {"subject": "x", "kind": "question"}
                                 ).status_code == 403
    assert not Case.objects.exists()


def test_list_filters_and_isolation(world, django_assert_max_num_queries):
    for index in range(4):
        case = open_case(world, subject=f"Case {index}")
        cases.case_update(case=case, actor=world.owner, assignee=world.agent)
    open_case(world, subject="Other customer", account=world.other_account)
    with django_assert_max_num_queries(8):
        response = world.owner_api.get("/service/cases", data={"limit": 2})
    data = response.json()
    assert len(data["items"]) == 2 and data["next_cursor"]
    second = world.owner_api.get("/service/cases",
                                 data={"limit": 50, "cursor": data["next_cursor"]})
    assert len(second.json()["items"]) == 3
    unassigned = world.owner_api.get("/service/cases",
                                     data={"assignee": "unassigned"}).json()
    assert [item["subject"] for item in unassigned["items"]] == ["Other customer"]
    assert world.owner_api.get("/service/cases", data={"status": "bogus"}).status_code == 422
    assert world.owner_api.get("/service/cases", data={"cursor": "garbage"}).status_code == 400
    assert world.outsider_api.get("/service/cases").json()["items"] == []
    assert world.buyer_api.get("/service/cases").status_code == 403


def test_detail_update_version_and_status(world):
    case = open_case(world)
    response = world.owner_api.get(f"/service/cases/{case.pk}")
    assert response.status_code == 200
    version = response.json()["version"]
    response = world.owner_api.patch(f"/service/cases/{case.pk}", {
        "version": version, "priority": "critical", "team_id": None,
        "assignee_id": world.agent.pk, "category": "Delivery"})
    assert response.status_code == 200, response.content
    assert response.json()["priority"] == "critical"
    stale = world.owner_api.patch(f"/service/cases/{case.pk}", {"version": version,
                                                               "priority": "low"})
    assert stale.status_code == 409
    assert world.owner_api.patch(f"/service/cases/{case.pk}", {
        "version": version + 1, "priority": None}).status_code == 422
    assert Case.objects.get(pk=case.pk).priority == "critical"
    response = world.owner_api.post(f"/service/cases/{case.pk}/status",
                                    {"status": "resolved", "note": "Fixed"})
    assert response.status_code == 200 and response.json()["status"] == "resolved"
    assert "open" in response.json()["allowed_statuses"]
    bad = world.owner_api.post(f"/service/cases/{case.pk}/status", {"status": "waiting"})
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_transition"
    for api in (world.outsider_api, world.other_api):
        assert api.get(f"/service/cases/{case.pk}").status_code in (403, 404)
        assert api.patch(f"/service/cases/{case.pk}", {"version": 1, "priority": "low"}
                         ).status_code in (403, 404)


def test_messages_staff_and_buyer(world):
    case = open_case(world)
    url = f"/service/cases/{case.pk}/messages"
    assert world.owner_api.post(url, {"body": "internal only", "internal": True}
                                ).status_code == 201
    assert world.owner_api.post(url, {"body": "Hello from support"}).status_code == 201
    staff = world.owner_api.get(url).json()["items"]
    assert [item["visibility"] for item in staff] == ["internal", "public"]
    portal_url = f"/service/portal/cases/{case.pk}/messages"
    seen = world.buyer_api.get(portal_url).json()["items"]
    assert [item["body"] for item in seen] == ["Hello from support"]
    assert "visibility" not in seen[0]
    response = world.buyer_api.post(portal_url, {"body": "Thanks, still waiting"})
    assert response.status_code == 201
    assert world.buyer_api.post(portal_url, {"body": "x", "internal": True}).status_code == 422
    assert world.other_api.get(portal_url).status_code == 404
    assert world.other_api.post(portal_url, {"body": "sneak"}).status_code == 404
    assert world.other_api.get(f"/service/portal/cases/{case.pk}").status_code == 404
    assert CaseMessage.objects.filter(case=case).count() == 3
    assert world.member_api.post(url, {"body": "nope"}).status_code == 403


def test_buyer_creates_case_against_supplier(world, org):
    body = {"supplier_id": org.pk, "subject": "Late delivery", "kind": "complaint",
            "description": "Three days late"}
    response = world.buyer_api.post("/service/portal/cases", body,
                                    headers={"Idempotency-Key": "buyer-1"})
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["supplier_id"] == org.pk and data["status"] == "new"
    case = Case.objects.get()
    assert (case.account_id, case.buyer_id, case.channel) == (world.account.pk,
                                                               world.toko.pk, "api")
    assert world.buyer_api.post("/service/portal/cases", body,
                                headers={"Idempotency-Key": "buyer-1"}).json()["id"] == case.pk
    listed = world.buyer_api.get("/service/portal/cases").json()["items"]
    assert [item["id"] for item in listed] == [case.pk]
    assert world.other_api.get("/service/portal/cases").json()["items"] == []
    # A supplier the buyer does not trade with, or a foreign order: 404, nothing written.
    assert world.buyer_api.post("/service/portal/cases", {**body, "supplier_id": 999999}
                                ).status_code == 404
    assert world.buyer_api.post("/service/portal/cases", {**body, "order_id": 424242}
                                ).status_code == 404
    assert world.owner_api.post("/service/portal/cases", body).status_code == 403
    assert Case.objects.count() == 1


def test_merge_api(world):
    target = open_case(world, subject="Tiles")
    source = open_case(world, subject="Tiles again")
    response = world.owner_api.post(f"/service/cases/{source.pk}/merge",
                                    {"target_id": target.pk})
    assert response.status_code == 200 and response.json()["id"] == target.pk
    assert Case.objects.get(pk=source.pk).status == CaseStatus.MERGED
    again = world.owner_api.post(f"/service/cases/{source.pk}/merge", {"target_id": target.pk})
    assert again.status_code == 422
    assert world.owner_api.post(f"/service/cases/{target.pk}/merge",
                                {"target_id": 987654}).status_code == 404


def test_canned_replies_and_teams_api(world):
    response = world.owner_api.post("/service/canned-replies", {
        "title": "Greeting", "body": "Hi {{ contact.first_name }}, re #{{ case.number }}"})
    assert response.status_code == 201
    reply = response.json()
    case = open_case(world, contact=world.contact)
    rendered = world.owner_api.get(f"/service/cases/{case.pk}/canned-replies/{reply['id']}")
    assert rendered.json()["text"] == f"Hi Lina, re #{case.number}"
    assert world.owner_api.post("/service/canned-replies", {"title": "Greeting", "body": "x"}
                                ).status_code == 422
    assert world.owner_api.patch(f"/service/canned-replies/{reply['id']}", {
        "title": "Hello", "body": "Hi", "version": reply["version"]}).status_code == 200
    assert world.owner_api.patch(f"/service/canned-replies/{reply['id']}", {
        "title": "Hello", "body": "Hi", "version": reply["version"]}).status_code == 409
    assert world.outsider_api.get(f"/service/canned-replies/{reply['id']}").status_code == 404
    assert world.owner_api.delete(f"/service/canned-replies/{reply['id']}").status_code == 204
    team = world.owner_api.post("/service/teams", {"name": "L1",
                                                   "member_ids": [world.agent.pk]})
    assert team.status_code == 201 and team.json()["member_ids"] == [world.agent.pk]
    assert world.owner_api.post("/service/teams", {"name": "L2", "member_ids": [999999]}
                                ).status_code == 404
    team_id = team.json()["id"]
    updated = world.owner_api.patch(f"/service/teams/{team_id}", {"archived": True})
    assert updated.status_code == 200 and updated.json()["archived"] is True
    assert world.outsider_api.patch(f"/service/teams/{team_id}", {"name": "x"}
                                    ).status_code == 404
    assert [t["name"] for t in world.owner_api.get("/service/teams").json()["items"]] == ["L1"]
