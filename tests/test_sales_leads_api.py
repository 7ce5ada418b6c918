"""Leads API over HTTP: create with Idempotency-Key, bad input 422 with nothing written,
foreign ids 404, list filters and query count, update with version (409), convert (twice
409), disqualify, rules and web forms; outsiders see nothing."""

import pytest

from jalin.api.testing import ApiClient, bearer_token_for
from jalin.crm import services as crm
from jalin.sales.models import Lead, LeadWebForm, ScoringRule
from jalin.tenancy.models import Membership


def api_for(user, organization):
    membership = Membership.objects.get(user=user, organization=organization)
    return ApiClient(token=bearer_token_for(membership))


@pytest.fixture
def apis(org, owner, member, outsider, other_org):
    return api_for(owner, org), api_for(member, org), api_for(outsider, other_org)


def test_create_idempotent_and_scored(apis, org, owner):
    owner_api, _member_api, _outsider_api = apis
    rule = owner_api.post("/sales/scoring-rules", {"label": "Company email", "field": "email",
                                                   "operator": "not_free_email_domain",
                                                   "points": 10})
    assert rule.status_code == 201, rule.content
    body = {"first_name": "Ani", "last_name": "W", "email": "ANI@maju.co.id",
            "company": "PT Maju", "utm": {"utm_source": "expo"}}
    first = owner_api.post("/sales/leads", body, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == 201, first.content
    data = first.json()
    assert (data["email"], data["source"], data["score"]) == ("ani@maju.co.id", "api", 10)
    assert data["score_explanation"] == [{"rule": rule.json()["id"], "label": "Company email",
                                          "points": 10}]
    again = owner_api.post("/sales/leads", body, headers={"Idempotency-Key": "k-1"})
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert Lead.objects.count() == 1


def test_bad_input_and_foreign_ids(apis, org, outsider, other_org):
    owner_api, _member_api, outsider_api = apis
    for body, status in (({"email": "nope"}, 422), ({}, 422), ({"email": "a@b.co", "x": 1}, 422),
                         ({"email": "a@b.co", "phone": "123"}, 422),
                         ({"email": "a@b.co", "owner_id": outsider.pk}, 404)):
        response = owner_api.post("/sales/leads", body)
        assert response.status_code == status, (body, response.content)
        assert response["Content-Type"].startswith("application/problem+json")
    assert not Lead.objects.exists()
    lead = owner_api.post("/sales/leads", {"email": "a@b.co"}).json()
    assert outsider_api.get(f"/sales/leads/{lead['id']}").status_code == 404
    assert outsider_api.post(f"/sales/leads/{lead['id']}/convert", {}).status_code == 404
    assert outsider_api.get("/sales/leads").json()["items"] == []
    foreign = crm.account_create(organization=other_org, actor=outsider, name="Theirs")
    response = owner_api.post(f"/sales/leads/{lead['id']}/convert",
                              {"account_id": foreign.pk})
    assert response.status_code == 404 and Lead.objects.get().status == "new"


def test_list_filters_and_query_count(apis, org, owner, django_assert_max_num_queries):
    owner_api, member_api, _ = apis
    for index in range(6):
        owner_api.post("/sales/leads", {"email": f"l{index}@x.co",
                                        "owner_id": owner.pk if index % 2 else None})
    with django_assert_max_num_queries(8):
        response = member_api.get("/sales/leads", data={"limit": 4})
    data = response.json()
    assert len(data["items"]) == 4 and data["next_cursor"]
    mine = owner_api.get("/sales/leads", data={"owner": "mine"}).json()["items"]
    assert len(mine) == 3
    assert owner_api.get("/sales/leads", data={"status": "weird"}).status_code == 422
    assert owner_api.get("/sales/leads", data={"sort": "score"}).status_code == 200


def test_update_convert_disqualify(apis, org):
    owner_api, _member_api, _ = apis
    lead = owner_api.post("/sales/leads", {"first_name": "Budi", "last_name": "S",
                                           "email": "budi@x.co", "company": "CV X"}).json()
    url = f"/sales/leads/{lead['id']}"
    updated = owner_api.patch(url, {"version": lead["version"], "city": "Bandung",
                                    "status": "working"})
    assert updated.status_code == 200 and updated.json()["status"] == "working"
    stale = owner_api.patch(url, {"version": lead["version"], "city": "Bogor"})
    assert stale.status_code == 409
    converted = owner_api.post(url + "/convert", {"amount": "2500000.00",
                                                  "opportunity_name": "CV X tiles"})
    assert converted.status_code == 200, converted.content
    data = converted.json()
    assert data["status"] == "converted" and data["converted_opportunity_id"]
    assert data["converted_account_id"] and data["converted_contact_id"]
    twice = owner_api.post(url + "/convert", {})
    assert twice.status_code == 409
    other = owner_api.post("/sales/leads", {"email": "z@x.co"}).json()
    assert owner_api.post(f"/sales/leads/{other['id']}/disqualify", {"reason": ""}
                          ).status_code == 422
    done = owner_api.post(f"/sales/leads/{other['id']}/disqualify", {"reason": "Spam"})
    assert done.status_code == 200 and done.json()["status"] == "disqualified"


def test_rules_and_web_forms(apis, org, owner, member):
    owner_api, member_api, outsider_api = apis
    rule = owner_api.post("/sales/assignment-rules", {"name": "RR", "method": "round_robin",
                                                      "user_ids": [owner.pk, member.pk]})
    assert rule.status_code == 201 and rule.json()["user_ids"] == sorted([owner.pk, member.pk])
    territory = owner_api.post("/sales/territories", {"name": "Java",
                                                      "criteria": {"country": ["ID"]},
                                                      "member_ids": [member.pk]})
    assert territory.status_code == 201, territory.content
    bad = owner_api.post("/sales/scoring-rules", {"label": "x", "field": "password",
                                                  "operator": "equals", "value": "1",
                                                  "points": 1})
    assert bad.status_code == 422 and not ScoringRule.objects.exists()
    form = owner_api.post("/sales/web-forms", {"name": "Site", "fields": ["email", "company"],
                                               "allowed_origins": ["https://acme.co.id"]})
    assert form.status_code == 201 and form.json()["key"]
    assert owner_api.post("/sales/web-forms", {"name": "Bad", "fields": ["password"]}
                          ).status_code == 422
    assert LeadWebForm.objects.count() == 1
    assert member_api.get("/sales/web-forms").json()[0]["name"] == "Site"
    assert outsider_api.get("/sales/web-forms").json() == []
    assert outsider_api.patch(f"/sales/web-forms/{form.json()['id']}", {"name": "Mine"}
                            ).status_code == 404
    assert outsider_api.get("/sales/assignment-rules").json() == []
