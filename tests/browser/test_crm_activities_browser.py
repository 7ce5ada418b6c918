"""A salesperson in a real browser: logs a call from the account's activities panel (htmx,
no page load), schedules a meeting with a contact and downloads its .ics file."""

import re
from pathlib import Path

import pytest
from django.urls import reverse
from icalendar import Calendar

from jalin.crm import services as crm_services
from jalin.crm.models import Activity
from tests.browser.test_shell_browser import csp_problems, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_log_a_call_and_schedule_a_meeting(page, live_server, org, owner, console_messages):
    account = crm_services.account_create(organization=org, actor=owner, name="PT Maju Jaya")
    contact = crm_services.contact_create(organization=org, actor=owner, first_name="Budi",
                                          last_name="Santoso", email="budi@maju.test",
                                          account=account)
    sign_in(page, live_server, "owner")
    page.goto(live_server.url + reverse("crm:account_detail", args=[account.pk]))
    panel = page.locator("#activities-panel")
    panel.get_by_text("Log a call").click()
    panel.get_by_label("Subject").fill("Asked about the December order")
    panel.get_by_label("Direction").select_option("inbound")
    panel.get_by_label("Outcome").select_option("connected")
    url_before = page.url
    panel.get_by_role("button", name="Log call").click()
    done_list = page.locator('#activities-panel [data-list="done"]')
    done_list.get_by_text("Asked about the December order").wait_for()
    assert page.url == url_before  # swapped in place by htmx
    call = Activity.objects.get(kind="call")
    assert call.account_id == account.pk and call.status == "done"

    page.locator("#activities-panel").get_by_text("Schedule meeting").click()
    page.wait_for_url(re.compile(r"/crm/activities/new/\?kind=meeting"))
    page.get_by_label("Subject").fill("Contract review")
    page.get_by_label("Starts").fill("2026-12-01T10:00")
    page.get_by_label("Ends").fill("2026-12-01T11:30")
    page.get_by_label("Location").fill("Kantor Maju, Lantai 3")
    page.get_by_label("Attendees (contacts)").select_option(str(contact.pk))
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(re.compile(r"/crm/activities/\d+/$"))
    assert page.locator("h1").inner_text() == "Contract review"
    meeting = Activity.objects.get(kind="meeting")

    with page.expect_download() as download_info:
        page.get_by_text("Download .ics").click()
    download = download_info.value
    assert download.suggested_filename == "contract-review.ics"
    calendar = Calendar.from_ical(Path(download.path()).read_bytes())
    (event,) = calendar.walk("VEVENT")
    assert str(calendar["METHOD"]) == "PUBLISH"
    assert str(event["UID"]) == meeting.ical_uid
    assert str(event["SUMMARY"]) == "Contract review"
    assert str(event["LOCATION"]) == "Kantor Maju, Lantai 3"
    assert event.decoded("DTSTART").isoformat() == "2026-12-01T03:00:00+00:00"
    assert event.decoded("DTEND").isoformat() == "2026-12-01T04:30:00+00:00"
    assert [str(a) for a in [event["ATTENDEE"]]] == ["mailto:budi@maju.test"]

    # The account's panel now shows the meeting as open.
    page.goto(live_server.url + reverse("crm:account_detail", args=[account.pk]))
    assert page.locator('#activities-panel [data-list="open"]').get_by_text(
        "Contract review").is_visible()
    assert csp_problems(console_messages) == []


def test_calendar_is_a_list_on_a_phone(browser, live_server, org, owner, console_messages):
    import datetime

    from jalin.crm.activities import services

    services.activity_create(organization=org, actor=owner, kind="task", subject="Kirim PO",
                             due_at=datetime.datetime(2026, 11, 10, 3, 0, tzinfo=datetime.UTC))
    context = browser.new_context(viewport={"width": 390, "height": 800}, locale="en-US")
    phone = context.new_page()
    phone.on("console", lambda message: console_messages.append(
        f"{message.type}: {message.text}"))
    try:
        sign_in(phone, live_server, "owner")
        phone.goto(live_server.url + reverse("crm:calendar") + "?month=2026-11")
        assert not phone.locator("table.month-grid").is_visible()
        agenda = phone.locator("section.month-list")
        assert agenda.is_visible() and agenda.get_by_text("Kirim PO").is_visible()
        phone.set_viewport_size({"width": 1280, "height": 900})
        assert phone.locator("table.month-grid").get_by_text("Kirim PO").is_visible()
        assert not agenda.is_visible()
    finally:
        context.close()
    assert csp_problems(console_messages) == []
