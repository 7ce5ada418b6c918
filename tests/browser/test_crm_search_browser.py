"""A salesperson in a real browser: types part of a contact's name in the header search box,
picks the suggestion with the keyboard and lands on the contact; "/" focuses the box; the
account picker on the contact form fills the hidden id; bulk "select all" ticks the page."""

import re

import pytest
from django.urls import reverse

from jalin.crm import services as crm_services
from jalin.crm.models import Contact
from tests.browser.test_shell_browser import csp_problems, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_typeahead_keyboard_to_contact(page, live_server, org, owner, console_messages):
    account = crm_services.account_create(organization=org, actor=owner, name="PT Maju Jaya")
    contact = crm_services.contact_create(organization=org, actor=owner, first_name="Budi",
                                          last_name="Santoso", account=account)
    sign_in(page, live_server, "owner")
    page.keyboard.press("/")
    box = page.locator("#nav-search-input")
    assert box.evaluate("el => el === document.activeElement")
    with page.expect_response(lambda response: "q=santo" in response.url):
        box.press_sequentially("santo", delay=40)
    option = page.locator("#nav-search-listbox [role=option]").first
    option.wait_for(state="visible")
    assert "Budi Santoso" in option.inner_text()
    assert box.get_attribute("aria-expanded") == "true"
    page.keyboard.press("ArrowDown")
    assert option.get_attribute("aria-selected") == "true"
    assert box.get_attribute("aria-activedescendant") == option.get_attribute("id")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith(reverse("crm:contact_detail", args=[contact.pk]))
    assert "Budi Santoso" in page.locator("h1").inner_text()

    # Enter without a selection opens the full results page; Escape closes the list.
    box = page.locator("#nav-search-input")
    box.fill("")
    with page.expect_response(lambda response: "q=maju" in response.url):
        box.press_sequentially("maju", delay=40)
    page.locator("#nav-search-listbox [role=option]").first.wait_for(state="visible")
    page.keyboard.press("Escape")
    assert page.locator("#nav-search-listbox").is_hidden()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert re.search(r"/crm/search/\?q=maju", page.url)
    assert page.get_by_role("link", name="PT Maju Jaya").is_visible()
    assert csp_problems(console_messages) == []


def test_account_picker_and_bulk_select(page, live_server, org, owner, console_messages):
    crm_services.account_create(organization=org, actor=owner, name="PT Sinar Harapan")
    sign_in(page, live_server, "owner")
    page.goto(live_server.url + reverse("crm:contact_create"))
    page.get_by_label("Last name").fill("Wijaya")
    picker = page.locator("[data-account-picker] [data-picker-text]")
    with page.expect_response(lambda response: "q=sinar" in response.url):
        picker.press_sequentially("sinar", delay=40)
    page.locator("[data-picker-list] [role=option]").first.wait_for(state="visible")
    picker.press("ArrowDown")
    picker.press("Enter")
    assert picker.input_value() == "PT Sinar Harapan"
    page.locator("main form.crm-form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/crm/contacts/\d+/$"))
    assert Contact.objects.get(last_name="Wijaya").account.name == "PT Sinar Harapan"

    page.goto(live_server.url + reverse("crm:account_list"))
    page.locator("[data-bulk-all]").check()
    assert page.locator('input[name="ids"]:checked').count() == 1
    assert csp_problems(console_messages) == []
