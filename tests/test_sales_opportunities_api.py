"""Opportunities API over HTTP: create (idempotent, lines), bad input 422 with nothing written,
foreign ids 404, update with version (409), move between cards, close/reopen, lines, history,
board with counts/sums and "load more", list filters with a bounded query count, settings;
outsiders see nothing, members without sales.edit cannot write."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from jalin.api.testing import ApiClient, bearer_token_for
from jalin.crm import services as crm
from jalin.sales import leads
from jalin.sales import opportunities as opps
from jalin.sales.models import Opportunity, PipelineStage
from jalin.tenancy.models import Membership
from jalin.tenancy.roles import Role
from tests.conftest import make_user


def api_for(user, organization):
    membership = Membership.objects.get(user=user, organization=organization)
    return ApiClient(token=bearer_token_for(membership))


@pytest.fixture
def setup(org, owner, member, outsider, other_org):
    account = crm.account_create(organization=org, actor=owner, name="Toko Jaya")
    pipeline = leads.default_pipeline(org)
    stages = {s.name: s for s in PipelineStage.objects.filter(pipeline=pipeline)}
    return {"owner": api_for(owner, org), "member": api_for(member, org),
            "outsider": api_for(outsider, other_org), "account": account,
            "pipeline": pipeline, "stages": stages}


def body(account, **extra):
    return {"name": "Semen 500 sak", "account_id": account.pk, "close_date": "2026-12-31",
            **extra}


def test_create_read_update(setup, org, member):
    api, account = setup["owner"], setup["account"]
    payload = body(account, lines=[
        {"description": "Semen", "quantity": 100, "unit_price": "65000"}])
    first = api.post("/sales/opportunities", payload, headers={"Idempotency-Key": "o-1"})
    assert first.status_code == 201, first.content
    data = first.json()
    assert (data["amount"], data["stage_name"], data["effective_probability"]) == (
        "6500000.00", "Qualification", 10)
    assert len(data["lines"]) == 1
    again = api.post("/sales/opportunities", payload, headers={"Idempotency-Key": "o-1"})
    assert again.status_code == 201 and Opportunity.objects.count() == 1
    pk = data["id"]
    updated = api.patch(f"/sales/opportunities/{pk}", {"version": data["version"],
                                                       "owner_id": member.pk,
                                                       "next_step": "Call Monday"})
    assert updated.status_code == 200, updated.content
    assert updated.json()["owner_id"] == member.pk
    stale = api.patch(f"/sales/opportunities/{pk}", {"version": data["version"],
                                                     "name": "Other"})
    assert stale.status_code == 409
    from_lines = api.patch(f"/sales/opportunities/{pk}", {"version": updated.json()["version"],
                                                          "amount": "5"})
    assert from_lines.status_code == 422
    assert api.get(f"/sales/opportunities/{pk}").json()["name"] == "Semen 500 sak"


def test_bad_input_and_foreign_ids(setup, org, other_org, outsider):
    api, account = setup["owner"], setup["account"]
    foreign_account = crm.account_create(organization=other_org, actor=outsider, name="Theirs")
    foreign_stage = PipelineStage.objects.filter(
        pipeline=leads.default_pipeline(other_org)).first()
    cases = [
        (body(account, name=""), 422),
        (body(account, close_date="31-12-2026"), 422),
        (body(account, amount="-1"), 422),
        (body(account, currency="RUPIAH"), 422),
        (body(account, surprise=1), 422),
        (body(account, stage_id=setup["stages"]["Won"].pk), 422),
        (body(foreign_account), 404),
        (body(account, stage_id=foreign_stage.pk), 404),
        (body(account, owner_id=outsider.pk), 404),
        (body(account, lines=[{"description": "x", "quantity": 0, "unit_price": 1}]), 422),
    ]
    for payload, status in cases:
        response = api.post("/sales/opportunities", payload)
        assert response.status_code == status, (payload, response.content)
        assert response["Content-Type"].startswith("application/problem+json")
    assert not Opportunity.objects.filter(organization=org).exists()
    pk = api.post("/sales/opportunities", body(account)).json()["id"]
    outsider_api = setup["outsider"]
    for path in (f"/sales/opportunities/{pk}", f"/sales/opportunities/{pk}/history",
                 f"/sales/opportunities/{pk}/lines",
                 f"/sales/pipelines/{setup['pipeline'].pk}/board"):
        assert outsider_api.get(path).status_code == 404, path
    assert outsider_api.post(f"/sales/opportunities/{pk}/move",
                             {"stage_id": setup["stages"]["Proposal"].pk}).status_code == 404
    assert outsider_api.post(f"/sales/opportunities/{pk}/close",
                             {"won": True}).status_code == 404
    assert outsider_api.get("/sales/opportunities").json()["items"] == []
    # A seller (sales role) may write; a viewer-only member may not
    viewer = make_user("viewer")
    Membership.objects.create(user=viewer, organization=org, role=Role.VIEWER)
    viewer_api = api_for(viewer, org)
    assert viewer_api.get(f"/sales/opportunities/{pk}").status_code == 200
    assert viewer_api.post(f"/sales/opportunities/{pk}/close",
                           {"won": True}).status_code == 403
    assert Opportunity.objects.get(pk=pk).status == "open"


def test_move_close_reopen_history(setup, org):
    api, account, stages = setup["owner"], setup["account"], setup["stages"]
    ids = [api.post("/sales/opportunities", body(account, name=name)).json()["id"]
           for name in "ABC"]
    proposal = stages["Proposal"].pk
    assert api.post(f"/sales/opportunities/{ids[2]}/move",
                    {"stage_id": proposal}).status_code == 200
    moved = api.post(f"/sales/opportunities/{ids[0]}/move",
                     {"stage_id": proposal, "before_id": ids[2], "version": 1})
    assert moved.status_code == 200, moved.content
    stale = api.post(f"/sales/opportunities/{ids[0]}/move",
                     {"stage_id": stages["Negotiation"].pk, "version": 1})
    assert stale.status_code == 409
    won_stage = api.post(f"/sales/opportunities/{ids[0]}/move",
                         {"stage_id": stages["Won"].pk})
    assert won_stage.status_code == 422 and won_stage.json()["code"] == "use_close"
    reasons = api.get("/sales/close-reasons").json()
    lost_reason = next(r for r in reasons if r["kind"] == "lost")
    no_reason = api.post(f"/sales/opportunities/{ids[0]}/close", {"won": False})
    assert no_reason.status_code == 422
    lost = api.post(f"/sales/opportunities/{ids[0]}/close",
                    {"won": False, "reason_id": lost_reason["id"], "note": "Harga"})
    assert lost.status_code == 200 and lost.json()["status"] == "lost"
    reopened = api.post(f"/sales/opportunities/{ids[0]}/reopen", {})
    assert reopened.status_code == 200 and reopened.json()["stage_name"] == "Proposal"
    history = api.get(f"/sales/opportunities/{ids[0]}/history").json()
    assert [(h["from_stage"], h["to_stage"], h["changed_by"]) for h in history] == [
        (None, "Qualification", "owner"), ("Qualification", "Proposal", "owner"),
        ("Proposal", "Lost", "owner"), ("Lost", "Proposal", "owner")]
    assert all(h["seconds_in_stage"] >= 0 for h in history)


def test_lines_over_http(setup):
    api, account = setup["owner"], setup["account"]
    pk = api.post("/sales/opportunities", body(account)).json()["id"]
    line = api.post(f"/sales/opportunities/{pk}/lines",
                    {"description": "Pasir", "quantity": 2, "unit_price": "100000",
                     "discount_percent": "5"})
    assert line.status_code == 201, line.content
    assert line.json()["amount"] == "190000.00"
    line_id = line.json()["id"]
    changed = api.patch(f"/sales/opportunities/{pk}/lines/{line_id}", {"quantity": 4})
    assert changed.status_code == 200 and changed.json()["amount"] == "380000.00"
    assert api.get(f"/sales/opportunities/{pk}").json()["amount"] == "380000.00"
    assert api.delete(f"/sales/opportunities/{pk}/lines/{line_id}").status_code == 204
    assert api.get(f"/sales/opportunities/{pk}").json()["amount"] == "0.00"
    assert api.delete(f"/sales/opportunities/{pk}/lines/{line_id}").status_code == 404


def test_board_and_list_with_bounded_queries(setup, org, owner, member):
    api, account, pipeline, stages = (setup["owner"], setup["account"], setup["pipeline"],
                                      setup["stages"])
    for index in range(30):
        opps.opportunity_create(organization=org, actor=owner, name=f"Deal {index}",
                                account=account, close_date=datetime.date(2026, 12, 1),
                                amount=1000 * (index + 1),
                                owner=member if index % 2 else owner,
                                stage=stages["Proposal"] if index < 12 else None)
    path = f"/sales/pipelines/{pipeline.pk}/board?limit=5"
    with CaptureQueriesContext(connection) as queries:
        response = api.get(path)
    assert response.status_code == 200, response.content
    first_count = len(queries)
    columns = {c["stage"]["name"]: c for c in response.json()["columns"]}
    assert list(columns) == ["Qualification", "Needs analysis", "Proposal", "Negotiation"]
    proposal = columns["Proposal"]
    assert proposal["count"] == 12 and len(proposal["cards"]) == 5
    assert proposal["totals"] == [{"currency": "IDR", "amount": "78000.00"}]
    assert columns["Qualification"]["count"] == 18
    more = api.get(f"/sales/pipelines/{pipeline.pk}/board/{stages['Proposal'].pk}"
                   f"?limit=5&cursor={proposal['next_cursor']}").json()
    assert [c["name"] for c in more["items"]] == [f"Deal {i}" for i in range(5, 10)]
    # More data, same number of queries
    for index in range(20):
        opps.opportunity_create(organization=org, actor=owner, name=f"More {index}",
                                account=account, close_date=datetime.date(2026, 12, 1))
    with CaptureQueriesContext(connection) as queries:
        api.get(path)
    assert len(queries) <= first_count
    mine = api.get(f"/sales/pipelines/{pipeline.pk}/board?owner={member.pk}").json()
    assert sum(c["count"] for c in mine["columns"]) == 15
    # List: filters and sorts, bounded queries
    with CaptureQueriesContext(connection) as queries:
        listing = api.get("/sales/opportunities?sort=amount&limit=10")
    assert listing.status_code == 200 and len(queries) <= first_count
    items = listing.json()["items"]
    assert items[0]["amount"] == "30000.00" and len(items) == 10
    nxt = api.get(f"/sales/opportunities?sort=amount&limit=10&cursor="
                  f"{listing.json()['next_cursor']}").json()["items"]
    assert nxt[0]["amount"] == "20000.00"
    assert len(api.get(f"/sales/opportunities?stage={stages['Proposal'].pk}&limit=100")
               .json()["items"]) == 12
    assert len(api.get("/sales/opportunities?q=more&limit=100").json()["items"]) == 20
    assert api.get("/sales/opportunities?status=won").json()["items"] == []
    assert api.get("/sales/opportunities?sort=nonsense").status_code == 422
    assert api.get("/sales/opportunities?cursor=garbage").status_code in (400, 422)


def test_pipeline_settings_api(setup, org):
    api = setup["owner"]
    created = api.post("/sales/pipelines", {"name": "Projects", "stale_after_days": 14})
    assert created.status_code == 201, created.content
    pipeline_id = created.json()["id"]
    assert len(created.json()["stages"]) == 6
    stage = api.post(f"/sales/pipelines/{pipeline_id}/stages",
                     {"name": "Site visit", "probability": 30})
    assert stage.status_code == 201
    bad = api.post(f"/sales/pipelines/{pipeline_id}/stages",
                   {"name": "Bad", "probability": 30, "kind": "won",
                    "forecast_category": "commit"})
    assert bad.status_code == 422
    assert api.delete(f"/sales/pipelines/{pipeline_id}/stages/{stage.json()['id']}"
                      ).status_code == 204
    assert api.post("/sales/competitors", {"name": "PT Saingan"}).status_code == 201
    assert api.post("/sales/competitors", {"name": "PT Saingan"}).status_code == 422
    assert api.delete(f"/sales/pipelines/{pipeline_id}").status_code == 204
    assert setup["outsider"].get(f"/sales/pipelines/{setup['pipeline'].pk}").status_code == 404
    assert setup["outsider"].get("/sales/pipelines").json() == []


@pytest.mark.parametrize("sort", ["close_date", "close_date_desc", "stage_age", "oldest",
                                  "amount"])
def test_every_sort_pages_through_all_rows_once(setup, org, owner, sort):
    for index in range(7):
        opps.opportunity_create(organization=org, actor=owner, name=f"Deal {index}",
                                account=setup["account"], amount=index % 3,
                                close_date=datetime.date(2026, 12, 1 + index % 2))
    api, seen, cursor = setup["owner"], [], ""
    for _page in range(10):
        body = api.get(f"/sales/opportunities?sort={sort}&limit=3"
                       + (f"&cursor={cursor}" if cursor else "")).json()
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(Opportunity.objects.filter(organization=org)
                                  .values_list("pk", flat=True))
    assert len(seen) == len(set(seen)) == 7
