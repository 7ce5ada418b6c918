"""Duplicate groups (email, phone, folded name at one account; account name and tax id) and
merging: everything moves to the kept record, atomically; stale, foreign and self merges
are refused."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from jalin.core.events import Event
from jalin.crm import services
from jalin.crm.imports import duplicates, merge
from jalin.crm.models import (
    Account,
    Activity,
    Comment,
    Contact,
    Document,
    SearchDocument,
    TimelineEntry,
)
from jalin.tenancy.models import Membership
from jalin.tenancy.roles import Role


def contact(org, owner, last_name, **fields):
    return services.contact_create(organization=org, actor=owner, last_name=last_name,
                                   **fields)


def test_contact_groups_by_email_phone_and_folded_name(org, other_org, owner, outsider):
    acme = services.account_create(organization=org, actor=owner, name="Acme")
    a = contact(org, owner, "Núñez", first_name="José", email="jose@example.test",
                account=acme)
    b = contact(org, owner, "nunez", first_name="JOSE ", email="JOSE@example.test",
                phone="0812 3456 7890", account=acme)
    c = contact(org, owner, "Other", phone="+62 812-3456-7890")
    contact(org, owner, "Nunez", first_name="Jose")  # no account: not a name duplicate
    contact(other_org, outsider, "Stranger", email="jose@example.test",
            phone="081234567890")
    by_email = duplicates.contact_duplicates(organization=org, kind="email")
    assert [(g.key, [m.pk for m in g.members]) for g in by_email.groups] == [
        ("jose@example.test", [a.pk, b.pk])]
    by_phone = duplicates.contact_duplicates(organization=org, kind="phone")
    assert [[m.pk for m in g.members] for g in by_phone.groups] == [[b.pk, c.pk]]
    by_name = duplicates.contact_duplicates(organization=org, kind="name")
    assert [(g.key, [m.pk for m in g.members]) for g in by_name.groups] == [
        ("jose nunez", [a.pk, b.pk])]


def test_groups_page_by_keyset(org, owner):
    for i in range(5):
        for _copy in range(2):
            contact(org, owner, f"P{i}", email=f"p{i}@example.test")
    first = duplicates.contact_duplicates(organization=org, kind="email", limit=2)
    assert [g.key for g in first.groups] == ["p0@example.test", "p1@example.test"]
    second = duplicates.contact_duplicates(organization=org, kind="email", limit=2,
                                           after=first.next_after)
    assert [g.key for g in second.groups] == ["p2@example.test", "p3@example.test"]


def test_account_groups(org, owner):
    one = services.account_create(organization=org, actor=owner, name="PT Maju",
                                  tax_id="01.1")
    two = services.account_create(organization=org, actor=owner, name="pt maju")
    three = services.account_create(organization=org, actor=owner, name="Else", tax_id="01.1")
    names = duplicates.account_duplicates(organization=org, kind="name")
    assert [[m.pk for m in g.members] for g in names.groups] == [[one.pk, two.pk]]
    taxes = duplicates.account_duplicates(organization=org, kind="tax_id")
    assert [[m.pk for m in g.members] for g in taxes.groups] == [[one.pk, three.pk]]


def test_duplicates_page_and_api(org, owner, owner_client, outsider_client):
    a = contact(org, owner, "Sama", email="same@example.test")
    b = contact(org, owner, "Sama", email="same@example.test")
    page = owner_client.get("/crm/duplicates/")
    assert page.status_code == 200 and b"same@example.test" in page.content
    assert f"/crm/contacts/merge/?keep={a.pk}&amp;merge={b.pk}".encode() in page.content
    assert b"same@example.test" not in outsider_client.get("/crm/duplicates/").content
    api = owner_client.get("/api/v1/crm/duplicates/contacts?kind=email").json()
    assert api["groups"] == [{"kind": "email", "key": "same@example.test",
                              "ids": [a.pk, b.pk]}]
    assert outsider_client.get("/api/v1/crm/duplicates/contacts").json()["groups"] == []
    assert owner_client.get("/crm/duplicates/?record=account&kind=tax_id").status_code == 200
    assert owner_client.get("/api/v1/crm/duplicates/accounts?kind=name").status_code == 200


def test_duplicates_page_query_count_is_flat(org, owner, owner_client):
    def count():
        with CaptureQueriesContext(connection) as context:
            assert owner_client.get("/crm/duplicates/").status_code == 200
        return len(context.captured_queries)

    for i in range(3):
        contact(org, owner, "A", email=f"a{i}@example.test")
        contact(org, owner, "B", email=f"a{i}@example.test")
    count()  # warm the session
    few = count()
    for i in range(3, 20):
        contact(org, owner, "A", email=f"a{i}@example.test")
        contact(org, owner, "B", email=f"a{i}@example.test")
    count()
    assert count() == few


@pytest.fixture
def pair(org, owner):
    acme = services.account_create(organization=org, actor=owner, name="Acme")
    keep = contact(org, owner, "Wijaya", first_name="Ani", email="ani@example.test",
                   account=acme)
    other = contact(org, owner, "Wijaya", first_name="Ani W.", email="ani.w@example.test",
                    phone="0812 3456 7890", job_title="Buyer",
                    extra_emails=["old@example.test"])
    return keep, other


def attach_everything(org, owner, other):
    activity = Activity.objects.create(organization=org, kind="call", subject="Call",
                                       contact=other)
    meeting = Activity.objects.create(organization=org, kind="meeting", subject="Meet")
    meeting.attendee_contacts.add(other)
    document = Document.objects.create(organization=org, title="Contract", contact=other)
    comment = Comment.objects.create(organization=org, contact=other, body="Hello",
                                     author=owner)
    line = TimelineEntry.objects.create(organization=org, contact=other, event_id=999_999,
                                        event_type="crm.contact.created", category="record",
                                        summary="created", occurred_at=timezone.now())
    return activity, meeting, document, comment, line


def test_contact_merge_moves_everything(org, owner, pair):
    keep, other = pair
    activity, meeting, document, comment, line = attach_everything(org, owner, other)
    kept = merge.contacts_merge(organization=org, actor=owner, keep=keep, merge=other,
                                field_choices={"first_name": "keep", "job_title": "merge"},
                                version_keep=keep.version, version_merge=other.version)
    assert kept.pk == keep.pk and kept.version == keep.version + 1
    kept.refresh_from_db()
    assert kept.first_name == "Ani" and kept.job_title == "Buyer"
    assert kept.phone == "+6281234567890"  # keep had none, so merge's value fills it
    assert kept.extra_emails == ["ani.w@example.test", "old@example.test"]
    for row in (activity, document, comment, line):
        row.refresh_from_db()
        assert row.contact_id == keep.pk
    assert list(meeting.attendee_contacts.all()) == [keep]
    other.refresh_from_db()
    assert other.archived_at is not None and other.merged_into_id == keep.pk
    assert not SearchDocument.objects.filter(kind="contact", object_id=other.pk).exists()
    event = Event.objects.get(type="crm.contact.merged")
    assert event.payload["keep_id"] == keep.pk and event.payload["merged_id"] == other.pk
    assert event.payload["contact_id"] == keep.pk and event.payload["title"]


def test_contact_merge_is_atomic(org, owner, pair, monkeypatch):
    keep, other = pair
    activity, *_rest = attach_everything(org, owner, other)

    def boom(**kwargs):
        raise RuntimeError("index down")

    monkeypatch.setattr(merge.search_index, "unindex", boom)
    with pytest.raises(RuntimeError):
        merge.contacts_merge(organization=org, actor=owner, keep=keep, merge=other,
                             version_keep=keep.version, version_merge=other.version)
    activity.refresh_from_db()
    other.refresh_from_db()
    assert activity.contact_id == other.pk and other.archived_at is None
    assert not Event.objects.filter(type="crm.contact.merged").exists()


def test_merge_refusals(org, other_org, owner, outsider, pair):
    keep, other = pair
    stranger = contact(other_org, outsider, "Stranger")
    with pytest.raises(services.StaleVersion):
        merge.contacts_merge(organization=org, actor=owner, keep=keep, merge=other,
                             version_keep=keep.version + 1, version_merge=other.version)
    with pytest.raises(services.CrmError) as error:
        merge.contacts_merge(organization=org, actor=owner, keep=keep, merge=stranger,
                             version_keep=1, version_merge=1)
    assert error.value.field == "merge"
    with pytest.raises(services.CrmError) as error:
        merge.contacts_merge(organization=org, actor=owner, keep=keep, merge=keep,
                             version_keep=1, version_merge=1)
    assert error.value.code == "same_record"
    with pytest.raises(services.CrmError):
        merge.contacts_merge(organization=org, actor=owner, keep=keep, merge=other,
                             field_choices={"email": "both"}, version_keep=1,
                             version_merge=1)
    assert Contact.objects.filter(archived_at__isnull=True).count() == 3


def test_merge_api(org, other_org, owner, outsider, owner_client, pair):
    keep, other = pair
    stranger = contact(other_org, outsider, "Stranger")
    body = {"keep_id": keep.pk, "merge_id": other.pk, "version_keep": keep.version,
            "version_merge": other.version, "field_choices": {"email": "merge"}}
    stale = owner_client.post("/api/v1/crm/contacts/merge", {**body, "version_keep": 9},
                              content_type="application/json")
    assert stale.status_code == 409
    foreign = owner_client.post("/api/v1/crm/contacts/merge",
                                {**body, "merge_id": stranger.pk},
                                content_type="application/json")
    assert foreign.status_code == 422 and foreign.json()["errors"][0]["field"] == "merge_id"
    itself = owner_client.post("/api/v1/crm/contacts/merge", {**body, "merge_id": keep.pk},
                               content_type="application/json")
    assert itself.status_code == 422
    done = owner_client.post("/api/v1/crm/contacts/merge", body,
                             content_type="application/json")
    assert done.status_code == 200, done.content
    assert done.json()["email"] == "ani.w@example.test"
    assert "ani@example.test" in done.json()["extra_emails"]


def test_merge_page(org, owner, owner_client, outsider_client, member_client, pair):
    keep, other = pair
    url = f"/crm/contacts/merge/?keep={keep.pk}&merge={other.pk}"
    page = owner_client.get(url)
    assert page.status_code == 200 and b"Ani W." in page.content
    assert outsider_client.get(url).status_code == 404
    stale = owner_client.post(url, {"version_keep": keep.version + 5,
                                    "version_merge": other.version})
    assert stale.status_code == 409
    response = member_client.post(url, {"version_keep": keep.version,
                                        "version_merge": other.version,
                                        "choice_first_name": "merge"})
    assert response.status_code == 302 and response["Location"] == \
        f"/crm/contacts/{keep.pk}/"
    keep.refresh_from_db()
    assert keep.first_name == "Ani W."
    viewer = get_user_model().objects.create_user("viewer-m", "vm@example.test", "x-Pass-1!")
    Membership.objects.create(user=viewer, organization=org, role=Role.BUYER)
    owner_client.force_login(viewer)
    assert owner_client.get(url).status_code == 403


def test_account_merge_moves_contacts_children_history_and_tags(org, owner, owner_client):
    keep = services.account_create(organization=org, actor=owner, name="PT Maju",
                                   tags=["vip"])
    other = services.account_create(organization=org, actor=owner, name="PT Maju (old)",
                                    tax_id="01.2", tags=["jakarta"])
    child = services.account_create(organization=org, actor=owner, name="Branch",
                                    parent=other)
    person = contact(org, owner, "Person", account=other)
    activity = Activity.objects.create(organization=org, kind="call", subject="C",
                                       account=other)
    document = Document.objects.create(organization=org, title="D", account=other)
    comment = Comment.objects.create(organization=org, account=other, body="x")
    line = TimelineEntry.objects.create(organization=org, account=other, event_id=888_888,
                                        event_type="x", category="record", summary="s",
                                        occurred_at=timezone.now())
    response = owner_client.post("/api/v1/crm/accounts/merge", {
        "keep_id": keep.pk, "merge_id": other.pk, "version_keep": keep.version,
        "version_merge": other.version}, content_type="application/json")
    assert response.status_code == 200, response.content
    assert sorted(response.json()["tags"]) == ["jakarta", "vip"]
    assert response.json()["tax_id"] == "01.2"  # keep had none
    for row in (person, child, activity, document, comment, line):
        row.refresh_from_db()
    assert person.account_id == keep.pk and child.parent_id == keep.pk
    assert {activity.account_id, document.account_id, comment.account_id,
            line.account_id} == {keep.pk}
    other.refresh_from_db()
    assert other.merged_into_id == keep.pk and other.archived_at is not None
    assert Event.objects.get(type="crm.account.merged").payload["merged_id"] == other.pk
    assert Account.objects.filter(archived_at__isnull=True).count() == 2


def test_account_merge_page(org, owner, owner_client, outsider_client):
    keep = services.account_create(organization=org, actor=owner, name="PT Maju",
                                   tier="key")
    other = services.account_create(organization=org, actor=owner, name="pt maju",
                                    tier="strategic", industry="Retail")
    url = f"/crm/accounts/merge/?keep={keep.pk}&merge={other.pk}"
    page = owner_client.get(url)
    assert page.status_code == 200 and b"Strategic" in page.content
    assert outsider_client.get(url).status_code == 404
    assert owner_client.get(f"/crm/accounts/merge/?keep={keep.pk}&merge=x").status_code == 404
    same = owner_client.post(f"/crm/accounts/merge/?keep={keep.pk}&merge={keep.pk}",
                             {"version_keep": keep.version, "version_merge": keep.version})
    assert same.status_code == 422
    response = owner_client.post(url, {"version_keep": keep.version,
                                       "version_merge": other.version,
                                       "choice_tier": "merge"})
    assert response.status_code == 302
    keep.refresh_from_db()
    assert keep.tier == "strategic" and keep.industry == "Retail" and keep.name == "PT Maju"


def test_candidates_for_one_contact(org, other_org, owner, outsider, owner_client,
                                    outsider_client):
    acme = services.account_create(organization=org, actor=owner, name="Acme")
    ani = contact(org, owner, "Wijaya", first_name="Ani", email="ani@example.test",
                  account=acme)
    same_email = contact(org, owner, "W", email="ani@example.test")
    same_name = contact(org, owner, "wijaya", first_name="ANÍ", account=acme)
    contact(org, owner, "Other", account=acme)  # same account, other name
    contact(other_org, outsider, "Wijaya", email="ani@example.test")
    assert [c.pk for c in duplicates.contact_candidates(organization=org, contact=ani)] == [
        same_email.pk, same_name.pk]
    page = owner_client.get(f"/crm/duplicates/?contact={ani.pk}")
    assert page.status_code == 200
    assert f"?keep={ani.pk}&amp;merge={same_name.pk}".encode() in page.content
    assert b"Other" not in page.content
    assert outsider_client.get(f"/crm/duplicates/?contact={ani.pk}").status_code == 404
    detail = owner_client.get(f"/crm/contacts/{ani.pk}/")
    assert f"/crm/duplicates/?contact={ani.pk}".encode() in detail.content
    assert f"/crm/contacts/{ani.pk}/vcard.vcf".encode() in detail.content
