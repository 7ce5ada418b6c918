"""Activity pages: permissions (owner, member, outsider, viewer), per-kind forms with
prefill, foreign ids, the panel's quick call log over htmx, My day one-click completion,
calendar, .ics downloads and the CSV export; query counts that do not grow with rows."""

import datetime

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from icalendar import Calendar

from jalin.crm import services as crm_services
from jalin.crm.activities import services
from jalin.crm.models import Activity
from jalin.tenancy.models import Membership
from jalin.tenancy.roles import Role

from .conftest import make_user


@pytest.fixture
def account(org, owner):
    return crm_services.account_create(organization=org, actor=owner, name="PT Maju Jaya")


@pytest.fixture
def contact(org, owner, account):
    return crm_services.contact_create(organization=org, actor=owner, last_name="Santoso",
                                       email="budi@maju.test", account=account)


@pytest.fixture
def viewer_client(org):
    viewer = make_user("viewer")
    Membership.objects.create(user=viewer, organization=org, role=Role.VIEWER)
    client = Client()
    client.force_login(viewer)
    return client


def make_meeting(org, actor, **extra):
    fields = {"subject": "Review", "due_at": timezone.now() + datetime.timedelta(hours=3)}
    fields.update(extra)
    return services.activity_create(organization=org, actor=actor, kind="meeting", **fields)


def queries_for(client, url):
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200, response.content[:500]
    # The session middleware refreshes the idle timer now and then: not the page's queries.
    return len([q for q in context.captured_queries if "django_session" not in q["sql"]
                and not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))])


def test_form_shows_only_the_fields_of_the_kind_and_prefills(member_client, account, contact):
    page = member_client.get(f"/crm/activities/new/?kind=meeting&contact={contact.pk}")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'name="location"' in html and 'name="attendee_contacts"' in html
    assert 'name="direction"' not in html
    assert f'<option value="{account.pk}" selected>' in html  # account from the contact
    assert f'<option value="{contact.pk}" selected>' in html
    call = member_client.get("/crm/activities/new/?kind=call").content.decode()
    assert 'name="direction"' in call and 'name="location"' not in call
    task = member_client.get("/crm/activities/new/?kind=task").content.decode()
    assert 'name="due_at"' in task and 'name="outcome"' not in task


def test_member_schedules_edits_and_completes_a_meeting(org, member, member_client, contact):
    response = member_client.post("/crm/activities/new/?kind=meeting", {
        "kind": "meeting", "subject": "Demo", "due_at": "2026-12-01T10:00",
        "ends_at": "2026-12-01T11:00", "location": "Kantor", "contact": contact.pk,
        "attendee_contacts": [contact.pk], "assignee": member.pk})
    activity = Activity.objects.get()
    assert response.status_code == 302, response.content[:2000]
    assert response["Location"] == f"/crm/activities/{activity.pk}/"
    assert activity.due_at == datetime.datetime(2026, 12, 1, 3, 0, tzinfo=datetime.UTC)
    assert activity.account_id == contact.account_id
    detail = member_client.get(response["Location"]).content.decode()
    assert "Demo" in detail and "Kantor" in detail and "Send invitation" in detail
    edit = member_client.post(f"/crm/activities/{activity.pk}/edit/", {
        "subject": "Demo v2", "due_at": "2026-12-01T10:00", "ends_at": "2026-12-01T09:00",
        "version": 1})
    assert edit.status_code == 400 and b"end after it starts" in edit.content
    stale = member_client.post(f"/crm/activities/{activity.pk}/edit/", {
        "subject": "Demo v2", "due_at": "2026-12-01T10:00", "version": 7})
    assert stale.status_code == 409
    done = member_client.post(f"/crm/activities/{activity.pk}/complete/")
    assert done.status_code == 302
    assert Activity.objects.get().status == "done"


def test_bad_input_answers_400_and_writes_nothing(member_client):
    response = member_client.post("/crm/activities/new/?kind=call", {
        "kind": "call", "subject": "x", "direction": "", "duration_minutes": "-3"})
    assert response.status_code == 400 and not Activity.objects.exists()


def test_foreign_account_in_form_is_refused(org, owner, member_client, other_org, outsider):
    rival = crm_services.account_create(organization=other_org, actor=outsider, name="Rival")
    response = member_client.post("/crm/activities/new/?kind=task", {
        "kind": "task", "subject": "Steal", "due_at": "2026-12-01T10:00",
        "account": rival.pk})
    assert response.status_code == 400 and not Activity.objects.exists()


def test_outsider_and_viewer(org, owner, outsider_client, viewer_client, account):
    meeting = make_meeting(org, owner, account=account)
    for url in (f"/crm/activities/{meeting.pk}/", f"/crm/activities/{meeting.pk}/edit/",
                f"/crm/activities/{meeting.pk}/meeting.ics"):
        assert outsider_client.get(url).status_code == 404
    assert outsider_client.post(f"/crm/activities/{meeting.pk}/delete/").status_code == 404
    assert outsider_client.post("/crm/activities/log-call/", {
        "account": account.pk, "subject": "x", "direction": "inbound"}).status_code == 404
    assert viewer_client.get(f"/crm/activities/{meeting.pk}/").status_code == 200
    assert viewer_client.get("/crm/my-day/").status_code == 200
    assert viewer_client.get("/crm/activities/new/").status_code == 403
    assert viewer_client.post(f"/crm/activities/{meeting.pk}/complete/").status_code == 403
    assert viewer_client.post(f"/crm/activities/{meeting.pk}/delete/").status_code == 403
    assert Activity.objects.filter(status="open").count() == 1


def test_panel_logs_a_call_over_htmx(org, owner, owner_client, account):
    page = owner_client.get(f"/crm/accounts/{account.pk}/").content.decode()
    assert "Log a call" in page and f"kind=meeting&amp;account={account.pk}" in page
    response = owner_client.post("/crm/activities/log-call/", {
        "account": account.pk, "subject": "Follow-up call", "direction": "outbound",
        "outcome": "connected", "duration_minutes": "4"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="activities-panel"' in html and "Follow-up call" in html
    call = Activity.objects.get()
    assert call.kind == "call" and call.status == "done" and call.duration_seconds == 240
    bad = owner_client.post("/crm/activities/log-call/", {"account": account.pk,
                                                          "subject": ""},
                            headers={"HX-Request": "true"})
    assert bad.status_code == 400 and Activity.objects.count() == 1


def test_my_day_completes_with_one_click(org, owner, owner_client):
    task = services.activity_create(organization=org, actor=owner, kind="task",
                                    subject="Send the quote", due_at=timezone.now())
    page = owner_client.get("/crm/my-day/").content.decode()
    assert "Send the quote" in page and f'hx-post="/crm/activities/{task.pk}/complete/"' in page
    response = owner_client.post(f"/crm/activities/{task.pk}/complete/",
                                 headers={"HX-Request": "true"})
    assert response.status_code == 200 and b"is-done" in response.content
    assert Activity.objects.get().status == "done"


def test_calendar_month_and_week(org, owner, owner_client):
    services.activity_create(organization=org, actor=owner, kind="task", subject="Monthly task",
                             due_at=datetime.datetime(2026, 11, 10, 3, 0, tzinfo=datetime.UTC))
    month = owner_client.get("/crm/calendar/?month=2026-11").content.decode()
    assert "Monthly task" in month and "month=2026-10" in month and "month=2026-12" in month
    assert "/crm/calendar/week/" in month
    week = owner_client.get("/crm/calendar/week/?start=2026-11-10").content.decode()
    assert "Monthly task" in week
    for odd in ("?month=abc", "?month=99999-1", "?month=2026-13", "/week/?start=nope"):
        url = "/crm/calendar/" + odd.lstrip("/")
        assert owner_client.get(url).status_code == 200, odd


def test_ics_download_and_calendar_export(org, owner, member, owner_client, contact):
    meeting = make_meeting(org, owner, subject="Rapat", location="Ruang 1",
                           attendee_contacts=[contact],
                           due_at=datetime.datetime(2026, 11, 10, 3, 0, tzinfo=datetime.UTC))
    make_meeting(org, member, subject="Not mine",
                 due_at=datetime.datetime(2026, 11, 11, 3, 0, tzinfo=datetime.UTC))
    response = owner_client.get(f"/crm/activities/{meeting.pk}/meeting.ics")
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="rapat.ics"'
    (event,) = Calendar.from_ical(response.content).walk("VEVENT")
    assert str(event["UID"]) == meeting.ical_uid and str(event["LOCATION"]) == "Ruang 1"
    export = owner_client.get("/crm/calendar/meetings.ics?from=2026-11-01&to=2026-11-30")
    events = Calendar.from_ical(export.content).walk("VEVENT")
    assert [str(e["SUMMARY"]) for e in events] == ["Rapat"]
    task = services.activity_create(organization=org, actor=owner, kind="task", subject="t",
                                    due_at=timezone.now())
    assert owner_client.get(f"/crm/activities/{task.pk}/meeting.ics").status_code == 404


def test_send_invitation_from_the_page(org, owner, owner_client, contact):
    meeting = make_meeting(org, owner, attendee_contacts=[contact])
    response = owner_client.post(f"/crm/activities/{meeting.pk}/invite/", follow=True)
    assert b"Invitation sent to budi@maju.test" in response.content


def test_list_filters_and_csv(org, owner, member, owner_client, account):
    services.activity_create(organization=org, actor=owner, kind="task", subject="Mine",
                             due_at=timezone.now(), account=account)
    services.activity_create(organization=org, actor=owner, kind="note", subject="=HYPERLINK",
                             assignee=member)
    page = owner_client.get("/crm/activities/?kind=task").content.decode()
    assert "Mine" in page and "HYPERLINK" not in page
    page = owner_client.get(f"/crm/activities/?assignee={member.pk}").content.decode()
    assert "HYPERLINK" in page and "Mine" not in page
    csv = b"".join(owner_client.get("/crm/activities/export.csv").streaming_content).decode()
    assert "Mine" in csv and "'=HYPERLINK" in csv
    for odd in ("?account=99999999999999999999", "?date_from=nope", "?after=garbage",
                "?assignee=-1"):
        assert owner_client.get("/crm/activities/" + odd).status_code == 200, odd


def make_rows(org, owner, account, contact, count):
    now = timezone.now()
    for i in range(count):
        services.activity_create(organization=org, actor=owner, kind="task", subject=f"T{i}",
                                 due_at=now + datetime.timedelta(hours=i % 48),
                                 account=account, contact=contact)
        done = services.activity_create(organization=org, actor=owner, kind="call",
                                        subject=f"C{i}", direction="inbound", account=account,
                                        contact=contact, status="done")
        assert done.status == "done"
        make_meeting(org, owner, subject=f"M{i}", account=account, contact=contact,
                     attendee_contacts=[contact], due_at=now + datetime.timedelta(days=i % 20))


def test_query_counts_do_not_grow(org, owner, owner_client, account, contact):
    month = timezone.localdate().strftime("%Y-%m")
    urls = ["/crm/activities/", "/crm/my-day/", f"/crm/calendar/?month={month}",
            "/crm/calendar/week/", f"/crm/accounts/{account.pk}/",
            f"/crm/contacts/{contact.pk}/"]
    make_rows(org, owner, account, contact, 3)
    few = {url: queries_for(owner_client, url) for url in urls}
    make_rows(org, owner, account, contact, 27)
    many = {url: queries_for(owner_client, url) for url in urls}
    assert many == few


@pytest.mark.parametrize("url", [
    "/crm/activities/?date_from=0001-01-01&date_to=9999-12-31",
    "/crm/activities/?date_from=9999-12-31",
    "/crm/activities/export.csv?date_to=0001-01-01",
    "/crm/activities/new/?kind=party&account=abc&contact=99999999999999999999",
    "/crm/calendar/?month=0001-01", "/crm/calendar/?month=9999-12",
    "/crm/calendar/week/?start=9999-12-31", "/crm/calendar/week/?start=0001-01-01",
    "/crm/calendar/meetings.ics?from=9999-12-31", "/crm/calendar/meetings.ics?from=0001-01-01",
    "/crm/calendar/meetings.ics?from=2026-01-01&to=9999-12-31",
    "/crm/calendar/meetings.ics?from=2026-12-01&to=2026-01-01",
])
def test_odd_parameters_never_fail(owner_client, url):
    assert owner_client.get(url).status_code in (200, 404)


def test_odd_dates_in_forms_are_form_errors(owner_client):
    response = owner_client.post("/crm/activities/new/?kind=task", {
        "kind": "task", "subject": "x", "due_at": "0001-01-01T00:00"})
    assert response.status_code == 400 and not Activity.objects.exists()
