"""Threads: posting, replies (two levels), @mentions resolved only to active colleagues and
notified once, edits with history, deletes that keep replies, escaping, permissions, events,
and the panel's flat query count on account, contact and activity pages."""

import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from jalin.core.events import Event
from jalin.core.models import AuditLog, Notification
from jalin.crm import services as crm_services
from jalin.crm.activities import services as activity_services
from jalin.crm.models import Comment, CommentRevision
from jalin.crm.threads import services
from jalin.tenancy.models import Membership
from jalin.tenancy.roles import Role
from tests.conftest import make_user


@pytest.fixture
def account(org, owner):
    return crm_services.account_create(organization=org, actor=owner, name="PT Sinar Jaya")


@pytest.fixture
def contact(org, owner, account):
    return crm_services.contact_create(organization=org, actor=owner, first_name="Budi",
                                       last_name="Santoso", account=account)


@pytest.fixture
def foreign_account(other_org, outsider):
    return crm_services.account_create(organization=other_org, actor=outsider,
                                       name="Rival secret")


@pytest.fixture
def viewer(org):
    user = make_user("viewer")
    Membership.objects.create(user=user, organization=org, role=Role.VIEWER)
    return user


def post(org, actor, record, body, **extra):
    return services.comment_post(organization=org, actor=actor, record=record, body=body,
                                 **extra)


def mentions(user):
    return Notification.objects.filter(user=user, kind="mention")


# --- Services ------------------------------------------------------------------------------


def test_post_mentions_only_active_members_of_the_organization(org, other_org, owner, member,
                                                              outsider, account):
    # A user of another organization with a name someone might @mention.
    twin = make_user("sari")
    Membership.objects.create(user=twin, organization=other_org, role=Role.SALES)
    gone = make_user("gone")
    Membership.objects.create(user=gone, organization=org, role=Role.SALES, is_active=False)
    portal = make_user("portal")  # a member whose role cannot read the CRM
    Membership.objects.create(user=portal, organization=org, role=Role.BUYER)
    comment = post(org, owner, account,
                   "@Member please call them. cc @sari @outsider @gone @nobody @owner "
                   "@portal mail budi@member.test")
    assert sorted(user.username for user in comment.mentions.all()) == ["member", "owner"]
    assert mentions(member).count() == 1
    for user in (twin, outsider, gone, portal, owner):  # never the author about themselves
        assert not mentions(user).exists()
    notification = mentions(member).get()
    assert notification.key == f"mention:comment:{comment.pk}"
    assert notification.url == f"/crm/accounts/{account.pk}/#comment-{comment.pk}"
    assert notification.emailed_at is not None
    assert "owner" in notification.title and "please call them" in notification.title


def test_editing_notifies_only_new_mentions_and_keeps_history(org, owner, member, account):
    third = make_user("third")
    Membership.objects.create(user=third, organization=org, role=Role.SERVICE_AGENT)
    comment = post(org, owner, account, "Hello @member")
    edited = services.comment_edit(comment=comment, actor=owner, body="Hello @member!",
                                   version=1)
    assert edited.version == 2 and edited.edited_at is not None
    assert mentions(member).count() == 1  # no new mention, no second notification
    services.comment_edit(comment=edited, actor=owner, body="Hello @member and @third",
                          version=2)
    assert mentions(member).count() == 1 and mentions(third).count() == 1
    history = list(CommentRevision.objects.filter(comment=comment).values_list("body",
                                                                               flat=True))
    assert history == ["Hello @member!", "Hello @member"]
    types = list(Event.objects.filter(aggregate_id=str(comment.pk), type__startswith="crm.comment.")
                 .values_list("type", flat=True).order_by("id"))
    assert types == ["crm.comment.posted", "crm.comment.edited", "crm.comment.edited"]
    unchanged = services.comment_edit(comment=comment, actor=owner,
                                      body="Hello @member and @third", version=3)
    assert unchanged.version == 3  # same text: nothing written


def test_only_the_author_edits_and_versions_are_checked(org, owner, member, account):
    comment = post(org, member, account, "Mine")
    with pytest.raises(PermissionDenied):
        services.comment_edit(comment=comment, actor=owner, body="Theirs", version=1)
    with pytest.raises(crm_services.StaleVersion):
        services.comment_edit(comment=comment, actor=member, body="Again", version=7)
    assert Comment.objects.get(pk=comment.pk).body == "Mine"
    assert not CommentRevision.objects.exists()


def test_body_is_validated(org, owner, account):
    for body in ("", "   \n ", "x" * 10001, None):
        with pytest.raises(ValidationError) as error:
            post(org, owner, account, body)
        assert "body" in error.value.error_dict
    assert post(org, owner, account, "x" * 10000).body == "x" * 10000
    assert Comment.objects.count() == 1


def test_replies_to_replies_attach_to_the_top_post(org, owner, member, account, contact):
    top = post(org, owner, account, "Top")
    reply = post(org, member, account, "Reply", parent=top)
    nested = post(org, owner, account, "Reply to reply", parent=reply.pk)
    assert reply.parent_id == top.pk and nested.parent_id == top.pk
    # A parent on another record of the same organization is refused.
    with pytest.raises(crm_services.CrmError) as error:
        post(org, owner, contact, "Elsewhere", parent=top)
    assert error.value.field == "parent_id"
    with pytest.raises(crm_services.CrmError):
        post(org, owner, account, "Bad", parent="abc")
    assert Comment.objects.count() == 3


def test_foreign_records_and_parents_are_refused(org, owner, outsider, other_org, account,
                                                 foreign_account):
    with pytest.raises(crm_services.CrmError) as error:
        post(org, owner, foreign_account, "Hi")
    assert error.value.field == "account_id"
    theirs = post(other_org, outsider, foreign_account, "Theirs")
    with pytest.raises(crm_services.CrmError) as error:
        post(org, owner, account, "Hijack", parent=theirs)
    assert error.value.field == "parent_id"
    assert Comment.objects.filter(organization=org).count() == 0


def test_delete_keeps_replies_and_removes_text(org, owner, member, account):
    top = post(org, member, account, "Secret plan @owner")
    services.comment_edit(comment=top, actor=member, body="Secret plan v2", version=1)
    reply = post(org, owner, account, "Answer", parent=top)
    third = make_user("third")
    Membership.objects.create(user=third, organization=org, role=Role.SALES)
    with pytest.raises(PermissionDenied):
        services.comment_delete(comment=top, actor=third, version=2)
    # The org admin may delete someone else's post.
    deleted = services.comment_delete(comment=top, actor=owner, version=2)
    assert deleted.body == "" and deleted.deleted_at is not None and deleted.version == 3
    assert not CommentRevision.objects.filter(comment=top).exists()
    assert Comment.objects.get(pk=reply.pk).parent_id == top.pk
    with pytest.raises(crm_services.CrmError) as error:
        post(org, owner, account, "Late reply", parent=top)
    assert error.value.code == "parent_deleted"
    with pytest.raises(crm_services.StaleVersion):
        services.comment_edit(comment=deleted, actor=member, body="Back", version=3)
    assert AuditLog.objects.filter(action="crm.comment.deleted").count() == 1


def test_event_payloads_follow_the_contract(org, owner, account, contact):
    activity = activity_services.activity_create(
        organization=org, actor=owner, kind="note", subject="Visit", contact=contact)
    on_contact = post(org, owner, contact, "About Budi " + "long " * 40)
    on_activity = post(org, owner, activity, "About the visit")
    payloads = {event.aggregate_id: event.payload for event in
                Event.objects.filter(type="crm.comment.posted")}
    first = payloads[str(on_contact.pk)]
    assert first["account_id"] == account.pk and first["contact_id"] == contact.pk
    assert len(first["title"]) <= 120 and first["title"].startswith("About Budi")
    second = payloads[str(on_activity.pk)]
    assert second["activity_id"] == activity.pk and second["contact_id"] == contact.pk
    assert second["account_id"] == account.pk and second["title"] == "About the visit"


# --- Pages ---------------------------------------------------------------------------------


def test_panel_posts_with_and_without_htmx(owner_client, org, owner, member, account):
    page = owner_client.get(f"/crm/accounts/{account.pk}/")
    html = page.content.decode()
    assert "Internal — never shown to the customer" in html
    assert 'id="threads-panel"' in html and "crm/threads.js" in html
    # Without JavaScript: the form posts and redirects back to the post.
    response = owner_client.post("/crm/comments/new/", {"account": account.pk,
                                                        "body": "Hi @member"})
    comment = Comment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/crm/accounts/{account.pk}/#comment-{comment.pk}"
    # htmx: the re-rendered panel comes back.
    response = owner_client.post("/crm/comments/new/", {"account": account.pk,
                                                        "body": "A reply", "parent": comment.pk},
                                 headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200 and 'id="threads-panel"' in html
    assert "A reply" in html and '<span class="mention">@member</span>' in html
    assert "crm/threads.js" not in html  # the page has it already
    bad = owner_client.post("/crm/comments/new/", {"account": account.pk, "body": " "},
                            headers={"HX-Request": "true"})
    assert bad.status_code == 400 and "Write a message." in bad.content.decode()
    assert Comment.objects.count() == 2


def test_panel_on_contact_and_activity_pages(owner_client, org, owner, contact):
    post(org, owner, contact, "Contact talk")
    assert "Contact talk" in owner_client.get(f"/crm/contacts/{contact.pk}/").content.decode()
    activity = activity_services.activity_create(
        organization=org, actor=owner, kind="note", subject="Visit", contact=contact)
    response = owner_client.post("/crm/comments/new/", {"activity": activity.pk,
                                                        "body": "Activity talk"})
    assert response.status_code == 302
    html = owner_client.get(f"/crm/activities/{activity.pk}/").content.decode()
    assert "Activity talk" in html and 'id="threads-panel"' in html


def test_bodies_are_escaped_and_links_are_safe(owner_client, org, owner, account):
    comment = post(org, owner, account,
         '<script>alert(1)</script> <img src=x onerror=alert(2)>\n'
         'see https://example.com/x?a=1&b=2 "quoted"\n\nnext paragraph')
    html = owner_client.get(f"/crm/accounts/{account.pk}/").content.decode()
    assert "<script>alert(1)</script>" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert ('<a href="https://example.com/x?a=1&amp;b=2" rel="noopener nofollow">'
            in html)
    assert "<br>" in html and "<p>next paragraph</p>" in html
    services.comment_edit(comment=comment, actor=owner, body="<script>alert(3)</script>",
                          version=1)
    history = owner_client.get(f"/crm/comments/{comment.pk}/history/").content.decode()
    assert "<script>alert(1)</script>" not in history and "<script>alert(3)" not in history
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in history
    assert "&lt;script&gt;alert(3)&lt;/script&gt;" in history


def test_edit_delete_and_history_pages(owner_client, member_client, org, owner, member,
                                       account):
    comment = post(org, member, account, "First text")
    assert owner_client.post(f"/crm/comments/{comment.pk}/edit/",
                             {"body": "Hijacked", "version": 1}).status_code == 403
    response = member_client.post(f"/crm/comments/{comment.pk}/edit/",
                                  {"body": "Second text", "version": 1},
                                  headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Second text" in html and f"/crm/comments/{comment.pk}/history/" in html
    stale = member_client.post(f"/crm/comments/{comment.pk}/edit/",
                               {"body": "Third", "version": 1}, headers={"HX-Request": "true"})
    assert stale.status_code == 409
    history = member_client.get(f"/crm/comments/{comment.pk}/history/").content.decode()
    assert "First text" in history and "Second text" in history
    third = make_user("third")
    Membership.objects.create(user=third, organization=org, role=Role.SALES)
    member_client.force_login(third)
    assert member_client.post(f"/crm/comments/{comment.pk}/delete/",
                              {"version": 2}).status_code == 403
    response = owner_client.post(f"/crm/comments/{comment.pk}/delete/", {"version": 2})
    assert response.status_code == 302
    assert Comment.objects.get(pk=comment.pk).deleted_at is not None
    assert "This post was deleted." in owner_client.get(
        f"/crm/accounts/{account.pk}/").content.decode()


def test_viewer_reads_but_cannot_post(client, org, owner, viewer, account):
    post(org, owner, account, "Visible to viewers")
    client.force_login(viewer)
    html = client.get(f"/crm/accounts/{account.pk}/").content.decode()
    assert "Visible to viewers" in html and 'name="body"' not in html
    assert client.post("/crm/comments/new/", {"account": account.pk,
                                              "body": "Nope"}).status_code == 403
    assert Comment.objects.count() == 1


def test_foreign_ids_on_pages_are_404(owner_client, org, owner, outsider, other_org,
                                      foreign_account, account):
    theirs = post(other_org, outsider, foreign_account, "Victim text")
    assert owner_client.post("/crm/comments/new/", {"account": foreign_account.pk,
                                                    "body": "x"}).status_code == 404
    for url in (f"/crm/comments/{theirs.pk}/history/",
                f"/crm/threads/accounts/{foreign_account.pk}/"):
        assert owner_client.get(url).status_code == 404
    for url in (f"/crm/comments/{theirs.pk}/edit/", f"/crm/comments/{theirs.pk}/delete/"):
        assert owner_client.post(url, {"body": "x", "version": 1}).status_code == 404
    # A foreign parent on an own record: refused, nothing written.
    response = owner_client.post("/crm/comments/new/", {"account": account.pk, "body": "x",
                                                        "parent": theirs.pk},
                                 headers={"HX-Request": "true"})
    assert response.status_code == 400
    assert Comment.objects.filter(organization=org).count() == 0


def test_mention_suggestions_list_only_active_colleagues(owner_client, org, other_org, owner,
                                                        member, outsider):
    twin = make_user("memberish")
    Membership.objects.create(user=twin, organization=other_org, role=Role.SALES)
    html = owner_client.get("/crm/mentions/?q=mem").content.decode()
    assert 'data-username="member"' in html and "memberish" not in html
    html = owner_client.get("/crm/mentions/?q=").content.decode()
    assert 'data-username="owner"' in html and "outsider" not in html


def test_older_posts_pages_by_keyset(owner_client, org, owner, account):
    for index in range(25):
        post(org, owner, account, f"Post number {index:02d}")
    html = owner_client.get(f"/crm/accounts/{account.pk}/").content.decode()
    assert "Post number 24" in html and "Post number 04" not in html
    more = f"/crm/threads/accounts/{account.pk}/"
    assert more in html and "Older posts" in html
    cursor = re.search(r'\?cursor=([^"]+)"', html).group(1)
    older = owner_client.get(f"{more}?cursor={cursor}", headers={"HX-Request": "true"})
    text = older.content.decode()
    assert "Post number 04" in text and "Post number 00" in text
    assert "Post number 05" not in text and "Older posts" not in text
    # Garbage cursors fall back to the first page, no 500.
    assert owner_client.get(f"{more}?cursor=%%%").status_code == 200


def _panel_queries(client, url):
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200
    return len(context.captured_queries)


def test_panel_query_count_does_not_grow(owner_client, org, owner, member, account):
    url = f"/crm/accounts/{account.pk}/"

    def fill(count):
        for index in range(count):
            top = post(org, owner if index % 2 else member, account,
                       f"Post {index} @member @owner")
            post(org, member, account, f"Reply {index} @owner", parent=top)

    fill(3)
    _panel_queries(owner_client, url)  # the first request of a session does a little more
    small = _panel_queries(owner_client, url)
    fill(27)
    large = _panel_queries(owner_client, url)
    assert large == small, (small, large)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_edits_of_one_version_keep_one_revision(org, owner, member):
    import threading

    from django.db import connections

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: row locks decide the race")
    account = crm_services.account_create(organization=org, actor=owner, name="Race")
    comment = post(org, owner, account, "Original")
    barrier = threading.Barrier(2)
    outcomes = []

    def edit(text):
        try:
            barrier.wait()
            services.comment_edit(comment=comment, actor=owner, body=text, version=1)
            outcomes.append("saved")
        except crm_services.StaleVersion:
            outcomes.append("stale")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=edit, args=(f"Writer {i} @member",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["saved", "stale"]
    assert Comment.objects.get(pk=comment.pk).version == 2
    assert list(CommentRevision.objects.values_list("body", flat=True)) == ["Original"]
    assert mentions(member).count() == 1
