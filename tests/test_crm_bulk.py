"""Bulk actions on the account and contact lists: owner, add/remove tags; all or nothing
with foreign ids; one audit row and one event per changed record; pages and API; viewers
refused."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from jalin.api.testing import ApiClient, bearer_token_for
from jalin.core.events_models import Event
from jalin.core.models import AuditLog
from jalin.crm import services
from jalin.crm.models import Account, Contact
from jalin.crm.search import bulk
from jalin.crm.services import CrmError
from jalin.tenancy.models import Membership
from jalin.tenancy.roles import Role


def api_for(user):
    return ApiClient(token=bearer_token_for(Membership.objects.get(user=user)))


@pytest.fixture
def accounts(org, owner):
    return [services.account_create(organization=org, actor=owner, name=f"Bulk {index}",
                                    tags=["old"]) for index in range(3)]


@pytest.fixture
def contacts(org, owner):
    return [services.contact_create(organization=org, actor=owner, last_name=f"Bulk {index}")
            for index in range(3)]


def test_accounts_owner_and_tags(org, owner, member, accounts):
    ids = [a.pk for a in accounts]
    changed = bulk.accounts_bulk_update(organization=org, actor=owner, ids=ids, owner=member,
                                        add_tags=["vip"], remove_tags=["old"])
    assert changed == 3
    for account in Account.objects.filter(pk__in=ids):
        assert account.owner_id == member.pk and account.version == 2
        assert [t.name for t in account.tags.all()] == ["vip"]
    events = Event.objects.filter(type="crm.account.updated")
    assert events.count() == 3
    assert sorted(events.first().payload["changed"]) == ["owner_id", "tags"]
    assert events.first().payload["account_id"] in ids
    assert AuditLog.objects.filter(action="crm.account.updated").count() == 3
    # Nothing left to change: no new versions, events or audit rows.
    assert bulk.accounts_bulk_update(organization=org, actor=owner, ids=ids, owner=member,
                                     add_tags=["vip"]) == 0
    assert Event.objects.filter(type="crm.account.updated").count() == 3


def test_foreign_id_changes_nothing(org, other_org, owner, outsider, member, accounts):
    foreign = services.account_create(organization=other_org, actor=outsider, name="Theirs")
    with pytest.raises(CrmError) as error:
        bulk.accounts_bulk_update(organization=org, actor=owner,
                                  ids=[a.pk for a in accounts] + [foreign.pk], owner=member,
                                  add_tags=["vip"])
    assert error.value.field == "ids"
    assert not Account.objects.filter(owner=member).exists()
    assert not Event.objects.filter(type="crm.account.updated").exists()
    foreign.refresh_from_db()
    assert foreign.version == 1


def test_archived_and_bad_ids_refused(org, owner, member, accounts):
    services.account_archive(account=accounts[0], actor=owner)
    for ids in ([a.pk for a in accounts], [], ["x"], [2**70], list(range(1, 502))):
        with pytest.raises(CrmError):
            bulk.accounts_bulk_update(organization=org, actor=owner, ids=ids, owner=member)
    with pytest.raises(CrmError):
        bulk.accounts_bulk_update(organization=org, actor=owner, ids=[accounts[1].pk])


def test_owner_must_be_a_member(org, owner, outsider, accounts, contacts):
    with pytest.raises(CrmError) as error:
        bulk.accounts_bulk_update(organization=org, actor=owner, ids=[accounts[0].pk],
                                  owner=outsider)
    assert error.value.field == "owner_id"
    with pytest.raises(CrmError):
        bulk.contacts_bulk_update(organization=org, actor=owner, ids=[contacts[0].pk],
                                  owner=outsider.pk)


def test_contacts_owner(org, owner, member, contacts):
    ids = [c.pk for c in contacts]
    assert bulk.contacts_bulk_update(organization=org, actor=owner, ids=ids,
                                     owner=member.pk) == 3
    assert set(Contact.objects.filter(pk__in=ids).values_list("owner_id", flat=True)) == \
        {member.pk}
    event = Event.objects.filter(type="crm.contact.updated").first()
    assert event.payload["changed"] == ["owner_id"] and event.payload["contact_id"] in ids
    assert bulk.contacts_bulk_update(organization=org, actor=owner, ids=ids, owner=None) == 3
    assert not Contact.objects.filter(owner__isnull=False).exists()


def test_pages(org, member, member_client, accounts, contacts):
    url = reverse("crm:account_bulk")
    response = member_client.post(url, {"ids": [a.pk for a in accounts], "action": "add_tag",
                                        "tag": "gold", "next": "/crm/accounts/?tier=key"})
    assert response.status_code == 302 and response["Location"] == "/crm/accounts/?tier=key"
    assert Account.objects.filter(tags__name="gold").count() == 3
    member_client.post(url, {"ids": [accounts[0].pk], "action": "remove_tag", "tag": "gold"})
    assert Account.objects.filter(tags__name="gold").count() == 2
    response = member_client.post(reverse("crm:contact_bulk"), {
        "ids": [c.pk for c in contacts], "action": "assign_owner", "owner": member.pk,
        "next": "https://evil.example/"})
    assert response["Location"] == reverse("crm:contact_list")
    assert Contact.objects.filter(owner=member).count() == 3
    body = member_client.get(reverse("crm:account_list")).content.decode()
    assert 'id="bulk-form"' in body and 'name="ids"' in body and "data-bulk-all" in body


def test_page_with_foreign_id_changes_nothing(org, other_org, outsider, member, member_client,
                                              accounts):
    foreign = services.account_create(organization=other_org, actor=outsider, name="Theirs")
    response = member_client.post(reverse("crm:account_bulk"), {
        "ids": [accounts[0].pk, foreign.pk], "action": "assign_owner", "owner": member.pk})
    assert response.status_code == 302
    assert not Account.objects.filter(owner=member).exists()
    messages = [str(m) for m in response.wsgi_request._messages]
    assert any("not in this organization" in m for m in messages)


def test_api(org, owner, member, accounts, contacts, other_org, outsider):
    api = api_for(member)
    response = api.post("/crm/accounts/bulk", {"ids": [a.pk for a in accounts],
                                               "owner_id": member.pk, "add_tags": ["api"]})
    assert response.status_code == 200 and response.json() == {"changed": 3}
    foreign = services.contact_create(organization=other_org, actor=outsider, last_name="X")
    response = api.post("/crm/contacts/bulk", {"ids": [contacts[0].pk, foreign.pk],
                                               "owner_id": member.pk})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "ids"
    assert not Contact.objects.filter(owner=member).exists()
    response = api.post("/crm/contacts/bulk", {"ids": list(range(1, 502)), "owner_id": 1})
    assert response.status_code == 422
    response = api.post("/crm/contacts/bulk", {"ids": [c.pk for c in contacts],
                                               "owner_id": None})
    assert response.status_code == 200


def test_viewer_and_outsider_refused(org, owner, accounts):
    user = get_user_model().objects.create_user("viewer", "v@example.test", "x-Pass-123!")
    Membership.objects.create(user=user, organization=org, role=Role.VIEWER)
    client = Client()
    client.force_login(user)
    response = client.post(reverse("crm:account_bulk"),
                           {"ids": [accounts[0].pk], "action": "assign_owner", "owner": ""})
    assert response.status_code == 403
    assert "bulk-form" not in client.get(reverse("crm:account_list")).content.decode()
    api = api_for(user)
    assert api.post("/crm/accounts/bulk", {"ids": [accounts[0].pk], "owner_id": None}) \
        .status_code == 403
    assert Account.objects.get(pk=accounts[0].pk).version == 1


def test_outsider_cannot_touch_our_records(org, outsider, outsider_client, accounts):
    response = outsider_client.post(reverse("crm:account_bulk"), {
        "ids": [accounts[0].pk], "action": "assign_owner", "owner": outsider.pk})
    assert response.status_code == 302
    assert Account.objects.get(pk=accounts[0].pk).owner_id is None
    response = api_for(outsider).post("/crm/accounts/bulk",
                                      {"ids": [accounts[0].pk], "owner_id": outsider.pk})
    assert response.status_code == 422


def test_bulk_query_count_grows_only_by_audit_and_event(org, owner, member):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def run(count, offset):
        made = [services.account_create(organization=org, actor=owner, name=f"Q{offset + i}",
                                        tags=["a"]) for i in range(count)]
        with CaptureQueriesContext(connection) as context:
            bulk.accounts_bulk_update(organization=org, actor=owner,
                                      ids=[a.pk for a in made], owner=member,
                                      add_tags=["b"], remove_tags=["a"])
        return len(context.captured_queries)

    small, large = run(3, 0), run(30, 100)
    per_record = (large - small) / 27
    assert per_record <= 2  # the audit row and the event; the rest is constant


def test_contacts_custom_field_set_and_reindexed(org, owner, member, contacts):
    from jalin.crm.search.selectors import search

    services.custom_field_define(organization=org, actor=owner, target="contact",
                                 key="segment", label="Segment", type="choice",
                                 choices=["Grosir", "Eceran"])
    ids = [c.pk for c in contacts]
    api = api_for(member)
    response = api.post("/crm/contacts/bulk", {"ids": ids, "custom": {"segment": "Grosir"}})
    assert response.status_code == 200 and response.json() == {"changed": 3}
    assert {c.custom.get("segment") for c in Contact.objects.filter(pk__in=ids)} == {"Grosir"}
    assert len(search(organization=org, query="grosir")) == 3
    event = Event.objects.filter(type="crm.contact.updated").first()
    assert event.payload["changed"] == ["custom"]
    response = api.post("/crm/contacts/bulk", {"ids": ids, "custom": {"segment": "Nope"}})
    assert response.status_code == 422
    assert {c.custom.get("segment") for c in Contact.objects.filter(pk__in=ids)} == {"Grosir"}
