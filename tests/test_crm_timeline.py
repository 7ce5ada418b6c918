"""The timeline: the crm.timeline consumer (which events land where, idempotency, foreign
ids, deleted records), the panel and its "older"/category fragments, the API, query counts."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from jalin.core.events import consumer_reset_cursor, emit_event, events_process
from jalin.core.events_models import Event
from jalin.crm import services
from jalin.crm.models import Account, Contact, TimelineEntry
from jalin.crm.timeline import render
from jalin.crm.timeline.consumer import record_timeline


def deliver():
    events_process(batch_size=1000)


def emit(org, type, payload, actor=None):
    with transaction.atomic():
        return emit_event(type=type, organization=org, payload=payload, actor=actor)


@pytest.fixture
def account(org, owner):
    return services.account_create(organization=org, actor=owner, name="PT Sinar Jaya")


@pytest.fixture
def contact(org, owner, account):
    return services.contact_create(organization=org, actor=owner, first_name="Budi",
                                   last_name="Santoso", account=account.pk)


def make_lines(org, *, account=None, contact=None, count=3, category="record", start=1):
    now = timezone.now()
    TimelineEntry.objects.bulk_create([
        TimelineEntry(organization=org, account=account, contact=contact,
                      event_id=-(start + i), event_type="crm.comment.posted",
                      category=category, summary=f"Line {start + i:03d}", data={},
                      occurred_at=now - timezone.timedelta(minutes=start + i))
        for i in range(count)])


# --- Consumer ---------------------------------------------------------------------------------


def test_account_and_contact_events_land_on_their_timelines(org, owner, account, contact):
    deliver()
    account_lines = TimelineEntry.objects.filter(organization=org, account=account)
    assert set(account_lines.values_list("event_type", flat=True)) == {
        "crm.account.created", "crm.contact.created"}
    line = TimelineEntry.objects.get(event_type="crm.contact.created")
    assert (line.contact_id, line.account_id, line.category) == (contact.pk, account.pk,
                                                                  "record")
    assert line.actor == owner and line.summary == "Budi Santoso"
    assert render.sentence(line) == "Contact Budi Santoso was added"


def test_a_redelivered_event_changes_nothing(org, owner, account):
    deliver()
    before = list(TimelineEntry.objects.values_list("pk", "event_id"))
    event = Event.objects.get(type="crm.account.created")
    record_timeline(event)
    record_timeline(event)
    consumer_reset_cursor(name="crm.timeline", position=0, actor=None)
    deliver()
    assert list(TimelineEntry.objects.values_list("pk", "event_id")) == before


def test_activity_event_on_a_contact_also_reaches_its_account(org, owner, account, contact):
    emit(org, "crm.activity.completed", {"account_id": None, "contact_id": contact.pk,
                                         "title": "Intro call", "kind": "call"}, actor=owner)
    deliver()
    line = TimelineEntry.objects.get(event_type="crm.activity.completed")
    assert (line.account_id, line.contact_id, line.category) == (account.pk, contact.pk,
                                                                  "activity")
    assert render.sentence(line) == "Call done: Intro call"


def test_foreign_or_deleted_records_are_skipped(org, other_org, owner, account):
    foreign = Account.objects.create(organization=other_org, name="Victim Supply Secret")
    emit(org, "crm.activity.created", {"account_id": foreign.pk, "contact_id": None,
                                       "title": "sneaky"})
    emit(org, "crm.document.uploaded", {"account_id": None, "contact_id": 987654321,
                                        "title": "gone.pdf"})
    emit(org, "crm.comment.posted", {"account_id": "x" * 40, "contact_id": True})
    emit(org, "crm.custom_field.defined", {"key": "segment"})
    emit(None, "crm.activity.created", {"account_id": account.pk})
    deliver()
    assert not TimelineEntry.objects.exclude(event_type="crm.account.created").exists()
    assert not TimelineEntry.objects.filter(organization=other_org).exists()


def test_contact_deleted_meanwhile_keeps_the_account_line(org, owner, account, contact):
    emit(org, "crm.comment.posted", {"account_id": account.pk, "contact_id": contact.pk,
                                     "title": "Hello"})
    Contact.objects.filter(pk=contact.pk).delete()
    deliver()
    line = TimelineEntry.objects.get(event_type="crm.comment.posted")
    assert (line.account_id, line.contact_id, line.category) == (account.pk, None, "thread")


def test_hub_events_land_on_the_account_linked_to_the_buyer(org, other_org, owner, account):
    Account.objects.filter(pk=account.pk).update(hub_organization=other_org)
    emit(org, "hub.order.placed", {"buyer_id": other_org.pk, "title": "SO-0001"})
    emit(org, "service.case.opened", {"buyer_id": other_org.pk, "title": "Broken pallet"})
    emit(org, "hub.invoice_issued", {"buyer_id": other_org.pk, "title": "INV-7"})
    emit(org, "hub.order.placed", {"buyer_id": org.pk, "title": "not linked"})
    emit(other_org, "hub.order.placed", {"buyer_id": other_org.pk, "title": "wrong org"})
    deliver()
    lines = TimelineEntry.objects.filter(account=account).exclude(category="record")
    assert sorted(lines.values_list("category", "summary")) == [
        ("hub", "INV-7"), ("hub", "SO-0001"), ("service", "Broken pallet")]
    assert render.sentence(lines.get(summary="SO-0001")) == "Order SO-0001 placed on the hub"
    assert render.sentence(lines.get(summary="INV-7")) == "hub.invoice_issued: INV-7"


def test_unknown_event_types_get_a_generic_line(org, account):
    emit(org, "crm.activity.teleported", {"account_id": account.pk, "title": "Beam"})
    deliver()
    line = TimelineEntry.objects.get(event_type="crm.activity.teleported")
    assert render.sentence(line) == "crm.activity.teleported: Beam"


# --- Panel and pages --------------------------------------------------------------------------


def test_account_page_shows_own_and_contact_lines_newest_first(org, owner, owner_client,
                                                               account, contact):
    deliver()
    body = owner_client.get(f"/crm/accounts/{account.pk}/").content.decode()
    assert "Contact Budi Santoso was added" in body
    assert "Account PT Sinar Jaya was created" in body
    assert body.index("Contact Budi Santoso was added") < body.index(
        "Account PT Sinar Jaya was created")
    assert 'title="' in body and "<time datetime=" in body
    contact_body = owner_client.get(f"/crm/contacts/{contact.pk}/").content.decode()
    assert "Contact Budi Santoso was added" in contact_body
    assert "Account PT Sinar Jaya was created" not in contact_body


def test_older_pages_and_category_chips(org, owner_client, account):
    make_lines(org, account=account, count=25)
    make_lines(org, account=account, count=2, category="document", start=100)
    body = owner_client.get(f"/crm/accounts/{account.pk}/").content.decode()
    assert "Line 001" in body and "Line 020" in body and "Line 021" not in body
    older = body.split('class="timeline-more"')[1].split('href="')[1].split('"')[0]
    older = older.replace("&amp;", "&")
    fragment = owner_client.get(older, headers={"HX-Request": "true"}).content.decode()
    assert "Line 021" in fragment and "Line 025" in fragment and "Line 001" not in fragment
    assert "<html" not in fragment
    page = owner_client.get(older).content.decode()  # without JavaScript: a whole page
    assert "<html" in page and "Line 021" in page
    docs = owner_client.get(f"/crm/accounts/{account.pk}/timeline/?category=document",
                            headers={"HX-Request": "true"}).content.decode()
    assert "Line 100" in docs and "Line 001" not in docs
    chip = owner_client.get(f"/crm/accounts/{account.pk}/timeline/?category=document",
                            headers={"HX-Request": "true",
                                     "HX-Target": f"timeline-account-{account.pk}"})
    chip = chip.content.decode()
    assert 'class="timeline-panel"' in chip and "<html" not in chip and "Line 100" in chip
    assert 'category=document" hx-get' in chip.split('aria-current="true"')[0].rsplit(
        "<a ", 1)[1]
    for bad in ("?cursor=garbage", "?category=nope", "?cursor=" + "A" * 600):
        response = owner_client.get(f"/crm/accounts/{account.pk}/timeline/{bad}")
        assert response.status_code == 200


def test_timeline_pages_are_scoped_and_need_crm_view(org, other_org, outsider_client,
                                                     member_client, account, contact):
    assert outsider_client.get(f"/crm/accounts/{account.pk}/timeline/").status_code == 404
    assert outsider_client.get(f"/crm/contacts/{contact.pk}/timeline/").status_code == 404
    assert member_client.get(f"/crm/contacts/{contact.pk}/timeline/").status_code == 200
    assert member_client.post(f"/crm/contacts/{contact.pk}/timeline/").status_code == 405


def _queries(client, url):
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200
    return len(context.captured_queries)


def test_query_counts_do_not_grow_with_lines(org, owner, owner_client, account, contact):
    make_lines(org, account=account, contact=contact, count=3)
    urls = [f"/crm/accounts/{account.pk}/", f"/crm/contacts/{contact.pk}/",
            f"/crm/accounts/{account.pk}/timeline/",
            f"/api/v1/crm/accounts/{account.pk}/timeline"]
    for url in urls:  # warm per-process caches (session, content types)
        _queries(owner_client, url)
    few = [_queries(owner_client, url) for url in urls]
    make_lines(org, account=account, contact=contact, count=30, start=50)
    many = [_queries(owner_client, url) for url in urls]
    assert few == many


# --- API --------------------------------------------------------------------------------------


def test_api_lists_lines_with_category_filter_and_cursor(org, owner_client, outsider_client,
                                                         account, contact):
    make_lines(org, account=account, count=5)
    make_lines(org, account=account, contact=contact, count=2, category="activity",
               start=10)
    url = f"/api/v1/crm/accounts/{account.pk}/timeline"
    first = owner_client.get(url, {"limit": 4}).json()
    assert [item["summary"] for item in first["items"]] == [
        "Line 001", "Line 002", "Line 003", "Line 004"]
    assert first["items"][0]["sentence"] == "Comment: Line 001"
    second = owner_client.get(url, {"limit": 4, "cursor": first["next_cursor"]}).json()
    assert [item["summary"] for item in second["items"]] == [
        "Line 005", "Line 010", "Line 011"]
    assert second["next_cursor"] is None
    contact_items = owner_client.get(f"/api/v1/crm/contacts/{contact.pk}/timeline",
                                     {"category": "activity"}).json()["items"]
    assert [item["summary"] for item in contact_items] == ["Line 010", "Line 011"]
    assert owner_client.get(url, {"category": "nope"}).status_code == 422
    assert owner_client.get(url, {"cursor": "garbage"}).status_code == 400
    assert outsider_client.get(url).status_code == 404
    assert owner_client.get("/api/v1/crm/accounts/99999999/timeline").status_code == 404


def test_lines_link_to_their_activity_while_it_exists(org, owner, owner_client, account):
    from jalin.crm.models import Activity

    activity = Activity.objects.create(organization=org, kind="call", subject="Intro call",
                                       account=account)
    with transaction.atomic():
        emit_event(type="crm.activity.created", organization=org, aggregate=activity,
                   payload={"account_id": account.pk, "contact_id": None,
                            "title": "Intro call", "kind": "call"})
    deliver()
    body = owner_client.get(f"/crm/accounts/{account.pk}/").content.decode()
    assert f'href="/crm/activities/{activity.pk}/">Call planned or logged: Intro call' in body
    Activity.objects.filter(pk=activity.pk).delete()
    body = owner_client.get(f"/crm/accounts/{account.pk}/").content.decode()
    assert "Call planned or logged: Intro call" in body
    assert f'href="/crm/activities/{activity.pk}/"' not in body
