"""/api/v1/crm over HTTP: CRUD, filters and cursors, custom field errors per field, stale
versions, foreign ids, permissions and query counts."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from jalin.api.testing import ApiClient, bearer_token_for
from jalin.crm import services
from jalin.crm.models import Account, Contact, CustomFieldDefinition
from jalin.tenancy.models import Membership


@pytest.fixture
def owner_api(owner, org):
    return ApiClient(token=bearer_token_for(Membership.objects.get(user=owner)))


@pytest.fixture
def member_api(member, org):
    return ApiClient(token=bearer_token_for(Membership.objects.get(user=member)))


@pytest.fixture
def outsider_api(outsider):
    return ApiClient(token=bearer_token_for(Membership.objects.get(user=outsider)))


def test_account_crud(org, member, member_api):
    created = member_api.post("/crm/accounts", {"name": "PT Sinar", "tier": "key",
                                                "owner_id": member.pk, "tags": ["b2b"],
                                                "phone": "+62 21 555 0100"})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["tags"] == ["b2b"] and body["phone"] == "+62215550100" and body["version"] == 1
    url = f"/crm/accounts/{body['id']}"
    assert member_api.get(url).json()["name"] == "PT Sinar"
    patched = member_api.patch(url, {"version": 1, "status": "customer", "owner_id": None})
    assert patched.status_code == 200, patched.content
    assert patched.json()["status"] == "customer" and patched.json()["owner_id"] is None
    assert patched.json()["tier"] == "key"  # untouched fields stay
    stale = member_api.patch(url, {"version": 1, "name": "Lost update"})
    assert stale.status_code == 409 and stale.json()["code"] == "stale"
    assert member_api.delete(url).status_code == 204
    assert member_api.get(url).status_code == 404
    assert Account.objects.get(pk=body["id"]).archived_at is not None


def test_custom_fields_are_validated_per_field(org, owner, owner_api):
    for key, kind in (("score", "number"), ("since", "date")):
        response = owner_api.post("/crm/custom-fields", {"target": "account", "key": key,
                                                         "label": key, "type": kind})
        assert response.status_code == 201, response.content
    bad = owner_api.post("/crm/accounts", {"name": "A", "custom": {
        "score": "lots", "since": "2026-13-01", "nope": 1}})
    assert bad.status_code == 422
    fields = {error["field"] for error in bad.json()["errors"]}
    assert fields == {"custom.score", "custom.since", "custom.nope"}
    assert not Account.objects.exists()
    good = owner_api.post("/crm/accounts", {"name": "A", "custom": {"score": "4.5",
                                                                     "since": "2026-01-31"}})
    assert good.json()["custom"] == {"score": 4.5, "since": "2026-01-31"}
    listed = owner_api.get("/crm/accounts?custom.since=2026-01-31").json()["items"]
    assert [row["name"] for row in listed] == ["A"]
    assert owner_api.get("/crm/accounts?custom.since=2025-01-01").json()["items"] == []


def test_foreign_ids_are_refused_and_nothing_changes(org, other_org, owner, outsider,
                                                     owner_api, outsider_api):
    foreign = services.account_create(organization=other_org, actor=outsider, name="Theirs")
    response = owner_api.post("/crm/accounts", {"name": "Mine", "parent_id": foreign.pk})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "parent_id"
    response = owner_api.post("/crm/contacts", {"last_name": "X", "account_id": foreign.pk})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "account_id"
    response = owner_api.post("/crm/accounts", {"name": "Mine", "owner_id": outsider.pk})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "owner_id"
    assert owner_api.get(f"/crm/accounts/{foreign.pk}").status_code == 404
    assert owner_api.patch(f"/crm/accounts/{foreign.pk}",
                           {"version": 1, "name": "Hijack"}).status_code == 404
    assert owner_api.delete(f"/crm/accounts/{foreign.pk}").status_code == 404
    assert Account.objects.filter(organization=org).count() == 0
    assert Account.objects.get(pk=foreign.pk).name == "Theirs"
    assert outsider_api.get("/crm/accounts").json()["items"][0]["name"] == "Theirs"


def test_contacts_search_filters_and_cursor(org, owner, owner_api):
    account = services.account_create(organization=org, actor=owner, name="Acc")
    for index in range(5):
        services.contact_create(organization=org, actor=owner, last_name=f"Lee{index}",
                                email=f"lee{index}@example.com", account=account)
    services.contact_create(organization=org, actor=owner, last_name="Other",
                            phone="0812 3456 7890", relationship_role="billing")
    seen, cursor = [], None
    while True:
        page = owner_api.get("/crm/contacts?limit=2" + (f"&cursor={cursor}" if cursor else ""))
        assert page.status_code == 200
        seen += [row["last_name"] for row in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if not cursor:
            break
    assert seen == ["Lee0", "Lee1", "Lee2", "Lee3", "Lee4", "Other"]
    by_email = owner_api.get("/crm/contacts?q=LEE3@example.com").json()["items"]
    assert [row["last_name"] for row in by_email] == ["Lee3"]
    by_phone = owner_api.get("/crm/contacts?q=%2B6281234567890").json()["items"]
    assert [row["last_name"] for row in by_phone] == ["Other"]
    by_role = owner_api.get("/crm/contacts?relationship_role=billing").json()["items"]
    assert [row["last_name"] for row in by_role] == ["Other"]
    by_account = owner_api.get(f"/crm/contacts?account_id={account.pk}&limit=200")
    assert len(by_account.json()["items"]) == 5
    assert owner_api.get("/crm/contacts?cursor=bogus").status_code == 400


def test_contact_crud_and_validation(org, owner, member_api):
    bad = member_api.post("/crm/contacts", {"last_name": "X", "phone": "123",
                                            "email": "nope"})
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} <= {"phone", "email"}
    assert not Contact.objects.exists()
    created = member_api.post("/crm/contacts", {"last_name": "Putri", "email": "P@Ex.com",
                                                "phone_opt_in": True,
                                                "relationship_role": "decision_maker"})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["email"] == "p@ex.com" and body["phone_opt_in_at"] is not None
    patched = member_api.patch(f"/crm/contacts/{body['id']}", {"version": 1,
                                                               "job_title": "CFO"})
    assert patched.json()["job_title"] == "CFO" and patched.json()["version"] == 2
    assert member_api.delete(f"/crm/contacts/{body['id']}").status_code == 204


def test_custom_field_definitions_need_org_admin(org, owner, member_api, owner_api):
    payload = {"target": "contact", "key": "level", "label": "Level", "type": "choice",
               "choices": ["a", "b"]}
    assert member_api.post("/crm/custom-fields", payload).status_code == 403
    created = owner_api.post("/crm/custom-fields", payload)
    assert created.status_code == 201
    assert member_api.get("/crm/custom-fields").json()["items"][0]["key"] == "level"
    duplicate = owner_api.post("/crm/custom-fields", payload)
    assert duplicate.status_code == 422 and duplicate.json()["code"] == "duplicate_key"
    field_id = created.json()["id"]
    immutable = owner_api.patch(f"/crm/custom-fields/{field_id}", {"type": "text"})
    assert immutable.status_code == 422
    assert owner_api.delete(f"/crm/custom-fields/{field_id}").status_code == 204
    assert not CustomFieldDefinition.objects.get(pk=field_id).active


def test_viewer_roles_cannot_write(org, owner):
    from django.contrib.auth import get_user_model

    from jalin.tenancy.roles import Role

    user = get_user_model().objects.create_user("fin", "fin@example.test", "x-Pass-123!")
    membership = Membership.objects.create(user=user, organization=org, role=Role.FINANCE)
    api = ApiClient(token=bearer_token_for(membership))
    assert api.get("/crm/accounts").status_code == 200
    response = api.post("/crm/accounts", {"name": "Nope"})
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"


def test_idempotent_account_create(org, owner_api):
    headers = {"Idempotency-Key": "crm-test-1"}
    first = owner_api.post("/crm/accounts", {"name": "Once"}, headers=headers)
    again = owner_api.post("/crm/accounts", {"name": "Once"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert Account.objects.count() == 1


def _count(api, path):
    with CaptureQueriesContext(connection) as context:
        response = api.get(path)
    assert response.status_code == 200
    return len(context.captured_queries)


def test_api_list_query_counts_do_not_grow(org, owner, owner_api):
    def add(count, start):
        for index in range(start, start + count):
            account = services.account_create(organization=org, actor=owner,
                                              name=f"A{index:03d}", tags=["x", f"t{index}"])
            services.contact_create(organization=org, actor=owner, last_name=f"C{index}",
                                    account=account)

    add(3, 0)
    owner_api.get("/crm/accounts")  # warm-up: token last-used bookkeeping
    accounts, contacts = _count(owner_api, "/crm/accounts"), _count(owner_api, "/crm/contacts")
    add(27, 3)
    assert _count(owner_api, "/crm/accounts") == accounts
    assert _count(owner_api, "/crm/contacts") == contacts
