"""A salesperson in a real browser creates an account and a contact at it through the forms:
a bad phone number is refused with its message and nothing is saved; the fixed form saves,
stores the number in E.164 and links the contact to the account."""

import re

import pytest
from django.urls import reverse

from jalin.crm.models import Account, Contact
from tests.browser.test_shell_browser import csp_problems, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_create_an_account_and_a_contact(page, live_server, org, member, console_messages):
    sign_in(page, live_server, "member")
    page.goto(live_server.url + reverse("crm:account_list"))
    page.get_by_role("button", name="New account").click()
    page.get_by_label("Name", exact=True).fill("PT Cahaya Abadi")
    page.get_by_label("Status").select_option("customer")
    page.get_by_label("Industry").fill("Distribusi listrik")
    page.get_by_label("Phone").fill("021 555 0100")
    page.locator("main form.crm-form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/crm/accounts/\d+/$"))
    account = Account.objects.get(organization=org, name="PT Cahaya Abadi")
    assert page.locator("h1").inner_text() == "PT Cahaya Abadi"
    assert account.phone == "+62215550100" and account.status == "customer"

    page.get_by_role("button", name="Add contact").click()
    page.get_by_label("First name").fill("Rina")
    page.get_by_label("Last name").fill("Kusuma")
    page.get_by_label("Email", exact=True).fill("Rina.Kusuma@Cahaya.example")
    page.get_by_label("Phone", exact=True).fill("12345")
    page.get_by_label("Relationship role").select_option("decision_maker")
    page.locator("main form.crm-form button[type=submit]").click()
    assert page.get_by_text("Enter a valid phone number").first.is_visible()
    assert not Contact.objects.filter(organization=org, last_name="Kusuma").exists()
    # The refused form comes back as 400, which Chromium logs as a failed load: expected.
    assert csp_problems(console_messages) == [
        "error: Failed to load resource: the server responded with a status of 400 "
        "(Bad Request)"]
    console_messages.clear()

    page.get_by_label("Phone", exact=True).fill("0812 3456 7890")
    page.locator("main form.crm-form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/crm/contacts/\d+/$"))
    contact = Contact.objects.get(organization=org, last_name="Kusuma")
    assert contact.account == account and contact.phone == "+6281234567890"
    assert contact.email == "rina.kusuma@cahaya.example"
    assert contact.relationship_role == "decision_maker"
    assert page.get_by_role("link", name="PT Cahaya Abadi").first.is_visible()

    page.get_by_role("link", name="PT Cahaya Abadi").first.click()
    page.wait_for_url(re.compile(rf"/crm/accounts/{account.pk}/$"))
    assert page.get_by_role("link", name="Rina Kusuma").first.is_visible()
    assert csp_problems(console_messages) == []
