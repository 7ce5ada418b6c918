"""/api/v1/crm/comments over HTTP: threads of accounts, contacts and activities, replies,
mentions as ids and usernames, edits with revisions, deletes, stale versions, foreign ids,
permissions, idempotency and a flat query count."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from jalin.api.testing import ApiClient, bearer_token_for
from jalin.core.models import Notification
from jalin.crm import services as crm_services
from jalin.crm.activities import services as activity_services
from jalin.crm.models import Comment
from jalin.crm.threads import services
from jalin.tenancy.models import Membership
from jalin.tenancy.roles import Role
from tests.conftest import make_user


def api_for(user):
    return ApiClient(token=bearer_token_for(Membership.objects.get(user=user)))


@pytest.fixture
def owner_api(owner):
    return api_for(owner)


@pytest.fixture
def member_api(member):
    return api_for(member)


@pytest.fixture
def outsider_api(outsider):
    return api_for(outsider)


@pytest.fixture
def account(org, owner):
    return crm_services.account_create(organization=org, actor=owner, name="PT Sinar Jaya")


@pytest.fixture
def foreign_account(other_org, outsider):
    return crm_services.account_create(organization=other_org, actor=outsider, name="Rival")


def test_post_reply_read_and_list(org, owner, member, owner_api, member_api, account):
    created = owner_api.post("/crm/comments", {"account_id": account.pk,
                                               "body": "Ping @member <b>now</b>"})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["mentions"] == [{"id": member.pk, "username": "member"}]
    assert body["author_id"] == owner.pk and body["author_username"] == "owner"
    assert body["body"] == "Ping @member <b>now</b>"  # plain text, as written
    assert body["account_id"] == account.pk and body["parent_id"] is None
    reply = member_api.post("/crm/comments", {"account_id": account.pk, "body": "On it",
                                              "parent_id": body["id"]})
    assert reply.status_code == 201, reply.content
    nested = owner_api.post("/crm/comments", {"account_id": account.pk, "body": "Thanks",
                                              "parent_id": reply.json()["id"]})
    assert nested.json()["parent_id"] == body["id"]  # flattened to the top-level post
    listing = owner_api.get(f"/crm/comments?account_id={account.pk}").json()
    assert [item["id"] for item in listing["items"]] == [body["id"]]
    assert [r["body"] for r in listing["items"][0]["replies"]] == ["On it", "Thanks"]
    detail = owner_api.get(f"/crm/comments/{body['id']}").json()
    assert len(detail["replies"]) == 2
    assert Notification.objects.filter(user=member, kind="mention").count() == 1


def test_threads_of_contacts_and_activities(org, owner, owner_api, account):
    contact = crm_services.contact_create(organization=org, actor=owner, last_name="Santoso",
                                          account=account)
    activity = activity_services.activity_create(organization=org, actor=owner, kind="note",
                                                 subject="Visit", contact=contact)
    for field, record in (("contact_id", contact), ("activity_id", activity)):
        created = owner_api.post("/crm/comments", {field: record.pk, "body": f"On {field}"})
        assert created.status_code == 201, created.content
        items = owner_api.get(f"/crm/comments?{field}={record.pk}").json()["items"]
        assert [item["body"] for item in items] == [f"On {field}"]


def test_edit_revisions_delete_and_stale(org, owner, member, owner_api, member_api, account):
    comment = services.comment_post(organization=org, actor=member, record=account,
                                    body="First")
    url = f"/crm/comments/{comment.pk}"
    refused = owner_api.patch(url, {"version": 1, "body": "Not mine"})
    assert refused.status_code == 403
    patched = member_api.patch(url, {"version": 1, "body": "Second"})
    assert patched.status_code == 200, patched.content
    assert patched.json()["version"] == 2 and patched.json()["edited_at"]
    stale = member_api.patch(url, {"version": 1, "body": "Lost"})
    assert stale.status_code == 409 and stale.json()["code"] == "stale"
    revisions = member_api.get(f"{url}/revisions").json()
    assert [item["body"] for item in revisions["items"]] == ["First"]
    assert revisions["items"][0]["edited_by_id"] == member.pk
    reply = services.comment_post(organization=org, actor=owner, record=account, body="Re",
                                  parent=comment)
    assert member_api.delete(f"{url}?version=1").status_code == 409
    third = make_user("third")
    Membership.objects.create(user=third, organization=org, role=Role.SALES)
    assert api_for(third).delete(url).status_code == 403
    assert owner_api.delete(f"{url}?version=2").status_code == 204  # org admin
    assert owner_api.delete(url).status_code == 204  # again: already gone, still 204
    gone = member_api.get(url).json()
    assert gone["body"] == "" and gone["deleted_at"] and [r["id"] for r in gone["replies"]] \
        == [reply.pk]
    assert member_api.get(f"{url}/revisions").json()["items"] == []


def test_bad_input_is_refused_and_writes_nothing(org, owner, owner_api, account,
                                                 foreign_account, outsider, other_org):
    theirs = services.comment_post(organization=other_org, actor=outsider,
                                   record=foreign_account, body="Victim text")
    cases = [
        ({"account_id": foreign_account.pk, "body": "x"}, "account_id"),
        ({"contact_id": 999999, "body": "x"}, "contact_id"),
        ({"body": "x"}, "account_id"),
        ({"account_id": account.pk, "contact_id": 1, "body": "x"}, "account_id"),
        ({"account_id": account.pk, "body": "x", "parent_id": theirs.pk}, "parent_id"),
        ({"account_id": account.pk, "body": ""}, "body"),
        ({"account_id": account.pk, "body": "   "}, "body"),
        ({"account_id": account.pk, "body": "x" * 10001}, "body"),
        ({"account_id": account.pk, "body": "x", "html": True}, "html"),
    ]
    for payload, field in cases:
        response = owner_api.post("/crm/comments", payload)
        assert response.status_code == 422, (payload, response.content)
        assert field in {error["field"] for error in response.json()["errors"]}, payload
    assert owner_api.get(f"/crm/comments?account_id={foreign_account.pk}").status_code == 422
    for url in (f"/crm/comments/{theirs.pk}", f"/crm/comments/{theirs.pk}/revisions",
                "/crm/comments/99999999999"):
        assert owner_api.get(url).status_code == 404
    assert owner_api.patch(f"/crm/comments/{theirs.pk}",
                           {"version": 1, "body": "x"}).status_code == 404
    assert owner_api.delete(f"/crm/comments/{theirs.pk}").status_code == 404
    assert not Comment.objects.filter(organization=org).exists()
    assert Comment.objects.get(pk=theirs.pk).body == "Victim text"


def test_viewer_reads_but_cannot_write(org, owner, account):
    viewer = make_user("viewer")
    Membership.objects.create(user=viewer, organization=org, role=Role.VIEWER)
    comment = services.comment_post(organization=org, actor=owner, record=account, body="Hi")
    viewer_api = api_for(viewer)
    assert viewer_api.get(f"/crm/comments?account_id={account.pk}").status_code == 200
    assert viewer_api.post("/crm/comments", {"account_id": account.pk,
                                             "body": "x"}).status_code == 403
    assert viewer_api.delete(f"/crm/comments/{comment.pk}").status_code == 403
    assert Comment.objects.count() == 1


def test_idempotent_post(org, owner_api, account):
    headers = {"Idempotency-Key": "thread-post-1"}
    first = owner_api.post("/crm/comments", {"account_id": account.pk, "body": "Once"},
                           headers=headers)
    again = owner_api.post("/crm/comments", {"account_id": account.pk, "body": "Once"},
                           headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert again["Idempotent-Replayed"] == "true"
    assert Comment.objects.count() == 1


def test_cursor_and_flat_query_count(org, owner, member, owner_api, account):
    def fill(count):
        for index in range(count):
            top = services.comment_post(organization=org, actor=owner, record=account,
                                        body=f"Post {index} @member")
            services.comment_post(organization=org, actor=member, record=account,
                                  body=f"Reply {index} @owner", parent=top)

    def queries():
        with CaptureQueriesContext(connection) as context:
            response = owner_api.get(f"/crm/comments?account_id={account.pk}&limit=50")
        assert response.status_code == 200
        return len(context.captured_queries)

    fill(3)
    queries()
    small = queries()
    fill(27)
    assert queries() == small
    seen, cursor = [], None
    while True:
        url = f"/crm/comments?account_id={account.pk}&limit=7"
        page = owner_api.get(url + (f"&cursor={cursor}" if cursor else "")).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 30
    assert owner_api.get(f"/crm/comments?account_id={account.pk}&cursor=bad").status_code \
        == 400
