"""Desk and portal pages of the service desk with the personas: owner (org admin), member
(sales: may look, not change), outsider (another company: 404), an agent, the buyer whose case
it is, and the buyer of another organization (404)."""

import datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from jalin.service import cases, desk
from jalin.service.models import (
    CannedReply,
    Case,
    CaseMessage,
    CaseStatus,
    SlaClock,
    Team,
)
from tests.service_world import build_world


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def world(org, owner):
    return build_world(org, owner)


def open_case(world, **extra):
    fields = {"organization": world.supplier, "subject": "Broken tiles", "kind": "complaint",
              "channel": "portal", "account": world.account, "actor": world.buyer_user,
              "requester": world.buyer_user, "description": "Half of them broken."}
    fields.update(extra)
    return cases.case_open(**fields)


def add_clock(case, *, due_in, warn_in=None, state="running", breached=False):
    """Give the case exactly one clock with a known due time (replacing the clocks the SLA
    engine started when the case opened), so the list's countdowns and filters are known."""
    SlaClock.objects.filter(case=case).delete()
    now = timezone.now()
    from jalin.service.models import BusinessCalendar
    calendar, _ = BusinessCalendar.objects.get_or_create(organization=case.organization,
                                                         name="Office")
    return SlaClock.objects.create(
        case=case, metric="resolution", calendar=calendar, target_seconds=3600, state=state,
        started_at=now, segment_started_at=now, due_at=now + due_in,
        warn_at=now + (warn_in if warn_in is not None else due_in / 2),
        breached_at=now if breached else None)


# --- List ----------------------------------------------------------------------------------


def test_list_filters_and_shows_countdown(world, owner_client, member_client):
    tiles = open_case(world)
    other = open_case(world, subject="Invoice question", kind="question",
                      account=world.other_account, priority="high")
    cases.case_update(case=other, actor=world.owner, assignee=world.owner)
    add_clock(tiles, due_in=datetime.timedelta(hours=2))
    url = reverse("service:cases")
    for client in (owner_client, member_client):
        response = client.get(url)
        assert response.status_code == 200
        body = response.content.decode()
        assert "Broken tiles" in body and "Invoice question" in body
        assert "data-countdown=" in body
    body = owner_client.get(url, {"kind": "question"}).content.decode()
    assert "Invoice question" in body and "Broken tiles" not in body
    body = owner_client.get(url, {"assignee": "mine"}).content.decode()
    assert "Invoice question" in body and "Broken tiles" not in body
    body = owner_client.get(url, {"assignee": "unassigned"}).content.decode()
    assert "Broken tiles" in body and "Invoice question" not in body
    body = owner_client.get(url, {"account": world.other_account.pk}).content.decode()
    assert "Invoice question" in body and "Broken tiles" not in body
    body = owner_client.get(url, {"priority": "high", "sort": "priority"}).content.decode()
    assert "Invoice question" in body and "Broken tiles" not in body
    body = owner_client.get(url, {"q": f"#{tiles.number}"}).content.decode()
    assert "Broken tiles" in body and "Invoice question" not in body
    # Nonsense filters are ignored, never a 500.
    response = owner_client.get(url, {"status": "zzz", "team": "abc", "assignee": "-1",
                                      "sort": "drop table", "cursor": "!!!"})
    assert response.status_code == 200


def test_list_sla_filters(world, owner_client):
    breached = open_case(world, subject="Late one")
    at_risk = open_case(world, subject="Risky one")
    calm = open_case(world, subject="Calm one")
    add_clock(breached, due_in=-datetime.timedelta(minutes=5))
    add_clock(at_risk, due_in=datetime.timedelta(minutes=30),
              warn_in=-datetime.timedelta(minutes=5))
    add_clock(calm, due_in=datetime.timedelta(hours=5))
    url = reverse("service:cases")
    body = owner_client.get(url, {"sla": "breached"}).content.decode()
    assert "Late one" in body and "Risky one" not in body and "Calm one" not in body
    body = owner_client.get(url, {"sla": "at_risk"}).content.decode()
    assert "Risky one" in body and "Late one" not in body and "Calm one" not in body
    body = owner_client.get(url, {"sort": "due"}).content.decode()
    assert body.index("Late one") < body.index("Risky one") < body.index("Calm one")


@pytest.fixture
def small_pages(monkeypatch):
    from jalin.service import case_views
    monkeypatch.setattr(case_views, "PER_PAGE", 3)


def test_list_pages_by_keyset_in_every_sort(world, owner_client, small_pages):
    for index in range(7):
        case = open_case(world, subject=f"Case number {index}",
                         priority=["low", "high", "normal"][index % 3])
        if index % 2:
            add_clock(case, due_in=datetime.timedelta(hours=index))
    url = reverse("service:cases")
    for sort in ("newest", "oldest", "updated", "priority", "due"):
        seen, cursor = [], ""
        for _page in range(10):
            response = owner_client.get(url, {"sort": sort, "cursor": cursor})
            page = response.context["page"]
            seen += [case.pk for case in page.items]
            cursor = page.next_cursor
            if not cursor:
                break
        assert len(seen) == len(set(seen)) == 7, sort


def test_list_query_count_does_not_grow_with_rows(world, owner_client,
                                                  django_assert_max_num_queries, small_pages):
    team = Team.objects.create(organization=world.supplier, name="First line")
    for index in range(3):
        case = open_case(world, subject=f"Row {index}", contact=world.contact)
        cases.case_update(case=case, actor=world.owner, assignee=world.agent, team=team)
        add_clock(case, due_in=datetime.timedelta(hours=1))
    url = reverse("service:cases")
    owner_client.get(url)  # warm caches (session, content types)
    with django_assert_max_num_queries(12) as few:
        owner_client.get(url)
    for index in range(20):
        case = open_case(world, subject=f"More {index}", contact=world.contact)
        cases.case_update(case=case, actor=world.owner, assignee=world.agent, team=team)
        add_clock(case, due_in=datetime.timedelta(hours=1))
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = owner_client.get(url)
    assert response.status_code == 200


def test_csv_export_follows_filters(world, owner_client):
    open_case(world)
    open_case(world, subject="=cmd|' /C calc'!A0", kind="question")
    response = owner_client.get(reverse("service:case_export"), {"kind": "question"})
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode()
    assert "Broken tiles" not in body
    assert "'=cmd" in body  # formula cells are neutralised
    assert body.splitlines()[0].lstrip("\ufeff").startswith("number,subject,kind")


def test_outsider_and_buyers_get_404_on_the_desk(world, outsider_client):
    case = open_case(world)
    buyer = client_for(world.buyer_user)
    for client in (outsider_client, buyer):
        assert client.get(reverse("service:case_detail", args=[case.pk])).status_code == 404
        assert client.post(reverse("service:case_reply", args=[case.pk]),
                           {"body": "hi"}).status_code in (403, 404)
    # The outsider (a supplier too) has its own, empty desk; a buyer-only org has none.
    response = outsider_client.get(reverse("service:cases"), {"status": "all"})
    assert response.status_code == 200 and "Broken tiles" not in response.content.decode()
    assert buyer.get(reverse("service:cases")).status_code == 404
    assert not CaseMessage.objects.exists()


# --- Detail --------------------------------------------------------------------------------


def test_detail_shows_notes_and_replies_apart(world, owner_client, member_client):
    case = open_case(world)
    cases.case_add_message(case=case, body="Customer is upset; check stock", from_staff=True,
                           channel="staff", visibility="internal", author=world.agent)
    cases.case_add_message(case=case, body="We are sending replacements.", from_staff=True,
                           channel="staff", author=world.agent)
    response = member_client.get(reverse("service:case_detail", args=[case.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'class="message-internal"' in body and "Internal note" in body
    assert "Reply to customer" in body
    assert 'id="reply-form"' not in body  # a sales member may look, not write
    body = owner_client.get(reverse("service:case_detail", args=[case.pk])).content.decode()
    assert 'id="reply-form"' in body and 'id="edit-form"' in body


def test_member_cannot_reply_or_change(world, member_client):
    case = open_case(world)
    url = reverse("service:case_reply", args=[case.pk])
    assert member_client.post(url, {"body": "hello"}).status_code == 403
    assert member_client.post(reverse("service:case_status", args=[case.pk]),
                              {"status": "open", "version": case.version}).status_code == 403
    assert not CaseMessage.objects.exists()
    assert Case.objects.get(pk=case.pk).status == CaseStatus.NEW


def test_reply_and_internal_note(world, owner_client):
    case = open_case(world)
    url = reverse("service:case_reply", args=[case.pk])
    response = owner_client.post(url, {"body": "Checking with the warehouse", "internal": "1"})
    assert response.status_code == 302
    response = owner_client.post(url, {"body": "Replacement is on its way."})
    assert response.status_code == 302
    notes = list(CaseMessage.objects.filter(case=case).values_list("visibility", "from_staff"))
    assert notes == [("internal", True), ("public", True)]
    case.refresh_from_db()
    assert case.first_responded_at is not None and case.status == CaseStatus.OPEN
    response = owner_client.post(url, {"body": "   "})
    assert response.status_code == 400 and "Write a message." in response.content.decode()
    assert CaseMessage.objects.filter(case=case).count() == 2


def test_canned_reply_insert_substitutes_safely(world, owner_client):
    case = open_case(world, contact=world.contact)
    reply = desk.canned_reply_create(
        organization=world.supplier, actor=world.owner, title="Thanks",
        body="Hello {{ contact.first_name }}, case {{ case.number }} is noted. "
             "{{ settings.SECRET_KEY }} {% debug %} {{ case.organization.memberships }}")
    response = owner_client.post(reverse("service:case_reply", args=[case.pk]),
                                 {"body": "Hi.", "canned": reply.pk, "insert": "1"})
    assert response.status_code == 200
    body = response.context["body"]
    assert body.startswith("Hi.\n\nHello Lina, case 1 is noted.")
    assert "{{ settings.SECRET_KEY }}" in body and "{% debug %}" in body
    assert not CaseMessage.objects.exists()  # inserting is not sending
    response = owner_client.get(reverse("service:case_canned", args=[case.pk]),
                                {"canned": reply.pk, "body": ""})
    assert "Hello Lina" in response.content.decode()


def test_status_and_edit_with_stale_version_answer_409(world, owner_client):
    case = open_case(world)
    version = case.version
    url = reverse("service:case_edit", args=[case.pk])
    response = owner_client.post(url, {"version": version, "priority": "high",
                                       "assignee": world.agent.pk})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.priority == "high" and case.assignee_id == world.agent.pk
    response = owner_client.post(url, {"version": version, "priority": "low"})
    assert response.status_code == 409
    assert Case.objects.get(pk=case.pk).priority == "high"
    response = owner_client.post(reverse("service:case_status", args=[case.pk]),
                                 {"version": version, "status": "resolved"})
    assert response.status_code == 409
    response = owner_client.post(reverse("service:case_status", args=[case.pk]),
                                 {"version": case.version, "status": "resolved"})
    assert response.status_code == 302
    assert Case.objects.get(pk=case.pk).status == CaseStatus.RESOLVED
    response = owner_client.post(reverse("service:case_status", args=[case.pk]),
                                 {"version": case.version + 1, "status": "waiting"})
    assert response.status_code == 400


def test_edit_rejects_foreign_records(world, owner_client, other_org):
    case = open_case(world)
    foreign = Team.objects.create(organization=other_org, name="Theirs")
    response = owner_client.post(reverse("service:case_edit", args=[case.pk]),
                                 {"version": case.version, "team": foreign.pk})
    assert response.status_code == 400
    response = owner_client.post(reverse("service:case_edit", args=[case.pk]),
                                 {"version": case.version, "assignee": 999999})
    assert response.status_code == 400
    assert Case.objects.get(pk=case.pk).version == case.version


# --- New case, merge -----------------------------------------------------------------------


def test_new_case_form(world, owner_client):
    url = reverse("service:case_new")
    assert owner_client.get(url, {"account": world.account.pk}).status_code == 200
    response = owner_client.post(url, {"account": world.account.pk, "contact": world.contact.pk,
                                       "subject": "Phone call: missing invoice",
                                       "kind": "question", "priority": "low",
                                       "channel": "staff"})
    assert response.status_code == 302
    case = Case.objects.get()
    assert (case.account_id, case.contact_id, case.priority, case.buyer_id) == (
        world.account.pk, world.contact.pk, "low", world.toko.pk)
    response = owner_client.post(url, {"account": world.account.pk, "subject": "",
                                       "kind": "question"})
    assert response.status_code == 400 and "Enter a subject." in response.content.decode()
    response = owner_client.post(url, {"account": 99999999, "subject": "x", "kind": "question"})
    assert response.status_code == 400
    assert Case.objects.count() == 1
    response = owner_client.get(reverse("service:case_contact_options"),
                                {"account": world.account.pk})
    assert "Lina" in response.content.decode()


def test_merge_page_suggests_and_merges(world, owner_client):
    target = open_case(world, subject="Tiles broken on delivery")
    source = open_case(world, subject="Broken tiles delivered")
    open_case(world, subject="Unrelated thing", account=world.other_account)
    url = reverse("service:case_merge", args=[source.pk])
    response = owner_client.get(url)
    assert response.status_code == 200
    assert [case.pk for case in response.context["candidates"]] == [target.pk]
    response = owner_client.post(url, {"target": target.number})
    assert response.status_code == 400  # not confirmed
    response = owner_client.post(url, {"target": target.number, "confirm": "1"})
    assert response.status_code == 302
    source.refresh_from_db()
    assert source.status == CaseStatus.MERGED and source.merged_into_id == target.pk
    body = owner_client.get(reverse("service:case_detail", args=[source.pk])).content.decode()
    assert 'id="merged-notice"' in body and 'id="reply-form"' not in body


# --- Canned replies and teams --------------------------------------------------------------


def test_canned_reply_crud(world, owner_client, member_client, outsider_client):
    url = reverse("service:canned_reply_new")
    assert owner_client.post(url, {"title": "Hello", "body": "Hi {{ contact.first_name }}"}
                             ).status_code == 302
    reply = CannedReply.objects.get()
    assert owner_client.post(url, {"title": "Hello", "body": "dup"}).status_code == 400
    assert owner_client.post(url, {"title": "", "body": "x"}).status_code == 400
    assert member_client.post(url, {"title": "Nope", "body": "x"}).status_code == 403
    edit = reverse("service:canned_reply_edit", args=[reply.pk])
    assert owner_client.post(edit, {"title": "Hello!", "body": "Hi", "version": reply.version}
                             ).status_code == 302
    assert owner_client.post(edit, {"title": "Again", "body": "Hi", "version": reply.version}
                             ).status_code == 409
    assert outsider_client.get(edit).status_code == 404
    assert outsider_client.post(reverse("service:canned_reply_delete", args=[reply.pk])
                                ).status_code == 404
    assert member_client.get(reverse("service:canned_replies")).status_code == 200
    assert owner_client.post(reverse("service:canned_reply_delete", args=[reply.pk])
                             ).status_code == 302
    assert not CannedReply.objects.exists()


def test_teams_admin(world, owner_client, outsider, outsider_client):
    url = reverse("service:team_new")
    response = owner_client.post(url, {"name": "First line",
                                       "members": [world.agent.pk, world.owner.pk]})
    assert response.status_code == 302
    team = Team.objects.get()
    assert set(team.members.values_list("pk", flat=True)) == {world.agent.pk, world.owner.pk}
    response = owner_client.post(url, {"name": "Leaky", "members": [outsider.pk]})
    assert response.status_code == 400 and not Team.objects.filter(name="Leaky").exists()
    response = owner_client.post(url, {"name": "First line"})
    assert response.status_code == 400
    edit = reverse("service:team_edit", args=[team.pk])
    assert owner_client.post(edit, {"name": "Level 1", "members": [world.agent.pk],
                                    "archived": "1"}).status_code == 302
    team.refresh_from_db()
    assert team.name == "Level 1" and team.archived_at is not None
    assert list(team.members.values_list("pk", flat=True)) == [world.agent.pk]
    assert outsider_client.get(edit).status_code == 404
    assert owner_client.get(reverse("service:teams")).status_code == 200


# --- Home and portal -----------------------------------------------------------------------


def test_home_is_desk_dashboard_for_supplier(world, owner_client):
    open_case(world)
    mine = open_case(world, subject="Mine")
    cases.case_update(case=mine, actor=world.owner, assignee=world.owner)
    add_clock(mine, due_in=-datetime.timedelta(minutes=1))
    response = owner_client.get(reverse("service:home"))
    assert response.status_code == 200
    assert response.context["counts"] == {"open": 2, "mine": 1, "unassigned": 1,
                                          "breached": 1, "at_risk": 0}


def test_portal_home_lists_only_own_cases(world):
    mine = open_case(world)
    theirs = open_case(world, subject="Other buyer secret", account=world.other_account)
    buyer = client_for(world.buyer_user)
    response = buyer.get(reverse("service:home"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Broken tiles" in body and "Other buyer secret" not in body
    assert buyer.get(reverse("service:portal_case_detail", args=[theirs.pk])).status_code == 404
    other = client_for(world.other_user)
    assert other.get(reverse("service:portal_case_detail", args=[mine.pk])).status_code == 404
    assert other.post(reverse("service:portal_case_reply", args=[mine.pk]),
                      {"body": "sneaky"}).status_code == 404
    assert "Broken tiles" not in other.get(reverse("service:portal_cases")).content.decode()
    assert not CaseMessage.objects.exists()


def test_portal_shows_only_public_messages_and_reply_reopens(world):
    case = open_case(world)
    cases.case_add_message(case=case, body="SECRET internal note", from_staff=True,
                           channel="staff", visibility="internal", author=world.agent)
    cases.case_add_message(case=case, body="We are on it.", from_staff=True, channel="staff",
                           author=world.agent)
    cases.case_set_status(case=case, status="resolved", actor=world.agent)
    buyer = client_for(world.buyer_user)
    url = reverse("service:portal_case_detail", args=[case.pk])
    body = buyer.get(url).content.decode()
    assert "We are on it." in body and "SECRET internal note" not in body
    response = buyer.post(reverse("service:portal_case_reply", args=[case.pk]),
                          {"body": "Still broken!"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == CaseStatus.OPEN
    message = CaseMessage.objects.filter(case=case).last()
    assert (message.from_staff, message.visibility, message.channel) == (False, "public",
                                                                          "portal")
    response = buyer.post(reverse("service:portal_case_reply", args=[case.pk]), {"body": ""})
    assert response.status_code == 400


def test_portal_new_case(world, org, owner):
    buyer = client_for(world.buyer_user)
    url = reverse("service:portal_case_new")
    assert buyer.get(url).status_code == 200
    response = buyer.post(url, {"supplier": world.supplier.pk, "kind": "complaint",
                                "subject": "Wrong colour", "description": "Ordered grey."})
    assert response.status_code == 302
    case = Case.objects.get()
    assert (case.organization_id, case.account_id, case.buyer_id, case.channel,
            case.requester_id) == (world.supplier.pk, world.account.pk, world.toko.pk,
                                   "portal", world.buyer_user.pk)
    response = buyer.post(url, {"supplier": world.supplier.pk, "kind": "nonsense",
                                "subject": "x"})
    assert response.status_code == 400
    response = buyer.post(url, {"supplier": 999999, "kind": "question", "subject": "x"})
    assert response.status_code == 400
    response = buyer.post(url, {"supplier": world.supplier.pk, "kind": "question",
                                "subject": "x", "order": 424242})
    assert response.status_code == 400
    assert Case.objects.count() == 1


def test_portal_new_case_with_own_order(org, owner):
    world = build_world(org, owner, with_order=True)
    buyer = client_for(world.buyer_user)
    response = buyer.post(reverse("service:portal_case_new"), {
        "supplier": world.supplier.pk, "kind": "complaint", "subject": "Damaged paper",
        "order": world.order.pk})
    assert response.status_code == 302
    assert Case.objects.get().order_id == world.order.pk
    other = client_for(world.other_user)
    response = other.post(reverse("service:portal_case_new"), {
        "supplier": world.supplier.pk, "kind": "complaint", "subject": "Not mine",
        "order": world.order.pk})
    assert response.status_code == 400
    assert Case.objects.count() == 1


def test_portal_is_404_for_supplier_only_orgs(world, owner_client):
    assert owner_client.get(reverse("service:portal_cases")).status_code == 404


def test_detail_and_portal_query_counts_do_not_grow(world, owner_client,
                                                    django_assert_max_num_queries):
    case = open_case(world, contact=world.contact)
    add_clock(case, due_in=datetime.timedelta(hours=1))
    buyer = client_for(world.buyer_user)

    def talk(count):
        for index in range(count):
            cases.case_add_message(case=case, body=f"note {index}", from_staff=True,
                                   channel="staff", visibility="internal", author=world.agent)
            cases.case_add_message(case=case, body=f"reply {index}", from_staff=True,
                                   channel="staff", author=world.owner)
            cases.case_add_message(case=case, body=f"customer {index}", from_staff=False,
                                   channel="portal", author=world.buyer_user)

    talk(1)
    detail = reverse("service:case_detail", args=[case.pk])
    portal = reverse("service:portal_case_detail", args=[case.pk])
    owner_client.get(detail)
    buyer.get(portal)
    with django_assert_max_num_queries(40) as staff_queries:
        owner_client.get(detail)
    with django_assert_max_num_queries(20) as portal_queries:
        buyer.get(portal)
    talk(8)
    with django_assert_max_num_queries(len(staff_queries.captured_queries)):
        assert owner_client.get(detail).status_code == 200
    with django_assert_max_num_queries(len(portal_queries.captured_queries)):
        assert buyer.get(portal).status_code == 200
