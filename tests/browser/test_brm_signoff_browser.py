"""Sign-off in a real browser: the customer's decision maker finds the requirement awaiting
sign-off in the portal, reads the business case and signs version 1 off; the supplier's
staff see the requirement approved with who signed which version when."""

import re

import pytest
from django.urls import reverse

from jalin.brm.models import SignOff
from tests.brm_world import make_requirement, make_world
from tests.browser.test_hub_orders_browser import new_page
from tests.browser.test_shell_browser import csp_problems, sign_in
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_decision_maker_signs_off_in_the_portal(browser, page, live_server, org, owner,
                                                console_messages):
    world = make_world(org, owner)
    world.decision_maker.set_password(PASSWORD)
    world.decision_maker.save()
    requirement = make_requirement(world, qualified=True, title="Weekend deliveries",
                                   risks="Drivers' overtime")

    sign_in(page, live_server, world.decision_maker.username)
    page.goto(live_server.url + reverse("brm:portal_requirements"))
    page.locator("#awaiting-sign-off").get_by_role("link", name=re.compile("REQ-1")).click()
    page.wait_for_url(re.compile(r"/brm/portal/requirements/\d+/$"))
    assert "Drivers' overtime" in page.locator("#business-case").inner_text()
    assert page.locator("#roi").inner_text().startswith("150")
    page.get_by_label("Comment (required to reject)").fill("Approved by the board")
    page.get_by_role("button", name="Sign off version 1").click()
    page.locator("#requirement-status[data-status=approved]").wait_for()
    assert SignOff.objects.get().user == world.decision_maker
    assert "Bambang Wijaya" in page.locator("#sign-offs").inner_text()
    assert page.locator("#sign-off-form").count() == 0

    staff = new_page(browser, console_messages)
    sign_in(staff, live_server, "owner")
    staff.goto(live_server.url + reverse("brm:requirement_detail", args=[requirement.pk]))
    assert staff.locator("#requirement-status").get_attribute("data-status") == "approved"
    signed = staff.locator("#current-sign-off")
    assert signed.get_attribute("data-decision") == "approved"
    assert "Bambang Wijaya" in signed.inner_text() and "Version 1" in signed.inner_text()
    row = staff.locator("#sign-offs tbody tr").first
    assert "version 1" in row.inner_text() and "Approved by the board" in row.inner_text()
    assert row.locator("time").get_attribute("datetime")
    assert csp_problems(console_messages) == []
