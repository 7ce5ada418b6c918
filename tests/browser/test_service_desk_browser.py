"""The service desk in a real browser: a buyer opens a complaint in the portal, an agent
picks a canned reply (htmx fills it in), adds an internal note and replies, the buyer sees the
reply but not the note, and the agent resolves the case."""

import re

import pytest
from django.urls import reverse

from jalin.service import desk
from jalin.service.models import Case, CaseMessage
from tests.browser.test_hub_orders_browser import new_page
from tests.browser.test_shell_browser import csp_problems, sign_in
from tests.service_world import build_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_complaint_reply_resolve(browser, page, live_server, org, owner, console_messages):
    world = build_world(org, owner)
    desk.canned_reply_create(organization=org, actor=owner, title="Sorry",
                             body="Dear {{ contact.first_name }}, sorry about case "
                                  "#{{ case.number }}.")

    # The buyer opens a complaint in the portal.
    sign_in(page, live_server, "lina")
    page.goto(live_server.url + reverse("service:home"))
    page.locator("#portal-new-case").click()
    page.locator("#portal-kind").select_option("complaint")
    page.locator("#portal-subject").fill("Tiles arrived broken")
    page.locator("#portal-description").fill("Six boxes of 40 were broken.")
    page.locator("#portal-case-submit").click()
    page.wait_for_url(re.compile(r"/service/my/cases/\d+/$"))
    case = Case.objects.get()
    assert (case.kind, case.channel, case.buyer_id) == ("complaint", "portal", world.toko.pk)

    # The agent finds it on the desk, notes internally, then replies with a canned reply.
    agent = new_page(browser, console_messages)
    sign_in(agent, live_server, "owner")
    agent.goto(live_server.url + reverse("service:cases"))
    agent.locator("#cases-table").get_by_role("link", name=f"#{case.number}").click()
    agent.wait_for_url(re.compile(r"/service/cases/\d+/$"))
    agent.locator("#reply-body").fill("Checked: the carrier dropped a pallet.")
    agent.locator("#internal-toggle").check()
    agent.locator("#reply-submit").click()
    agent.locator(".message-internal").wait_for()
    agent.locator("#canned-select").select_option(label="Sorry")
    agent.locator("#reply-body").filter(has_text="sorry about case").wait_for()
    assert agent.locator("#internal-toggle").is_checked() is False
    agent.locator("#reply-body").press("End")
    agent.locator("#reply-body").type(" New tiles ship today.")
    agent.locator("#reply-submit").click()
    agent.locator(".conversation .message-public").wait_for()
    assert list(CaseMessage.objects.order_by("id").values_list("visibility", flat=True)) == [
        "internal", "public"]

    # The buyer sees the reply, never the internal note.
    page.reload()
    conversation = page.locator("#conversation").inner_text()
    assert "sorry about case" in conversation and "New tiles ship today." in conversation
    assert "carrier dropped a pallet" not in conversation

    # The agent resolves the case; the buyer sees it resolved.
    agent.locator("#status-form button[data-status=resolved]").click()
    agent.locator("#case-status[data-status=resolved]").wait_for()
    page.reload()
    assert page.locator("#case-status").get_attribute("data-status") == "resolved"
    assert csp_problems(console_messages) == []
