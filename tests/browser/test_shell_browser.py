"""A person in a real browser: signs in, switches organization and language, uses a phone."""

import re

import pytest
from django.urls import reverse

from jalin.tenancy.models import Membership
from jalin.tenancy.roles import Role
from tests.conftest import PASSWORD, make_org, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def consultant(db):
    """A person with two organizations: admin of one, sales in the other."""
    user = make_user("consultant")
    acme = make_org("acme-supply")
    rival = make_org("rival-trading", is_buyer=True)
    Membership.objects.create(user=user, organization=acme, role=Role.ORG_ADMIN)
    Membership.objects.create(user=user, organization=rival, role=Role.SALES)
    return user


def sign_in(page, live_server, username):
    page.goto(live_server.url + reverse("accounts:login"))
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_url(re.compile(r"/$"))


def csp_problems(console_messages):
    """CSP violations, script errors, and any other console error (e.g. a missing asset)."""
    return [m for m in console_messages
            if "Content Security Policy" in m or "Content-Security-Policy" in m
            or m.startswith(("pageerror", "error"))]


def test_sign_in_switch_organization_and_language(page, live_server, consultant,
                                                  console_messages):
    sign_in(page, live_server, "consultant")
    assert page.locator("h1").inner_text() == "Acme Supply"
    assert page.locator(".main-nav").get_by_role("link", name="Audit log").is_visible()

    # Switch organization with the keyboard: focus the switcher, open it, pick the other one.
    page.locator("details.org-switcher > summary").focus()
    page.keyboard.press("Enter")
    option = page.get_by_role("button", name=re.compile("Rival Trading"))
    assert option.is_visible()
    option.focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator("h1").inner_text() == "Rival Trading"
    assert "You are now working in Rival Trading." in page.locator(".flash-messages").inner_text()
    # Sales in Rival Trading: no audit log in the navigation.
    assert page.locator(".main-nav").get_by_text("Audit log").count() == 0

    # Language: choosing Bahasa Indonesia submits by itself (jalin.js, no inline script).
    with page.expect_navigation():
        page.select_option("#language-select", "id")
    assert page.locator("html").get_attribute("lang") == "id"
    assert page.locator(".main-nav").get_by_role("link", name="Dasbor").is_visible()
    assert page.locator(".main-nav").get_by_role("link", name="Penjualan").is_visible()
    assert page.locator("h1").inner_text() == "Rival Trading"

    assert csp_problems(console_messages) == []


def test_phone_width_navigation_is_usable(page, live_server, consultant, console_messages):
    page.set_viewport_size({"width": 375, "height": 740})
    sign_in(page, live_server, "consultant")
    # Nothing forces sideways scrolling on a phone.
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"page is {width}px wide at a 375px viewport"
    members = page.locator(".main-nav").get_by_role("link", name="Members")
    assert members.is_visible()
    box = members.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 375
    members.click()
    page.wait_for_url(re.compile(r"/org/members/$"))
    assert page.locator("h1").inner_text() == "Members"
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    # The organization switcher opens inside the screen.
    page.locator("details.org-switcher > summary").click()
    panel = page.locator(".org-switcher-panel").bounding_box()
    assert panel["x"] >= 0 and panel["x"] + panel["width"] <= 375
    assert csp_problems(console_messages) == []


def test_role_change_inline_with_htmx(page, live_server, consultant, console_messages):
    colleague = make_user("colleague")
    acme = Membership.objects.get(user=consultant, role=Role.ORG_ADMIN).organization
    membership = Membership.objects.create(user=colleague, organization=acme, role=Role.SALES)
    sign_in(page, live_server, "consultant")
    page.goto(live_server.url + reverse("tenancy:members"))
    row = page.locator(f"#member-{membership.pk}")
    row.locator("select[name=role]").select_option(Role.FINANCE)
    row.get_by_role("button", name="Change").click()
    page.locator(f"#member-{membership.pk} .row-notice").wait_for()
    row_text = page.locator(f"#member-{membership.pk}").inner_text()
    assert "Role of colleague is now Finance." in row_text
    # htmx swapped the row: no full page load, so the URL did not change to the POST target.
    assert page.url.endswith("/org/members/")
    membership.refresh_from_db()
    assert membership.role == Role.FINANCE
    assert csp_problems(console_messages) == []
