"""Agreement portfolio in a real browser: staff create an SLA for a customer on the hub, send
it for signature and sign for the provider; the customer's buyer approver signs it in the
portal and it becomes active."""

import re

import pytest
from django.urls import reverse

from jalin.crm.models import Account
from jalin.service.models import Agreement
from jalin.tenancy.models import Membership
from jalin.tenancy.roles import Role
from tests.browser.test_hub_orders_browser import new_page
from tests.browser.test_shell_browser import csp_problems, sign_in
from tests.conftest import make_org, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_staff_creates_agreement_buyer_approver_signs(browser, page, live_server, org, owner,
                                                     console_messages):
    buyer = make_org("toko-co", is_supplier=False, is_buyer=True)
    Account.objects.create(organization=org, name="Toko Co", hub_organization=buyer,
                           status="customer")
    Membership.objects.create(user=make_user("approver"), organization=buyer,
                              role=Role.BUYER_APPROVER)

    # Staff: create the agreement, send it for signature, sign for the provider.
    sign_in(page, live_server, "owner")
    page.goto(live_server.url + reverse("service:agreements"))
    page.locator("#agreement-new").click()
    page.get_by_label("Kind").select_option("sla")
    page.get_by_label("Title").fill("Gold support")
    page.get_by_label("Customer (contract, SLA)").select_option(label="Toko Co")
    page.get_by_label("Availability (%)").fill("99.9")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(re.compile(r"/service/agreements/\d+/$"))
    page.locator("#agreement-status[data-status=draft]").wait_for()
    page.locator("#agreement-transition button[data-to=pending_signature]").click()
    page.locator("#agreement-status[data-status=pending_signature]").wait_for()
    page.locator("#sign-provider").get_by_role("button", name="Sign", exact=True).click()
    page.locator("#signatures li[data-party=provider]").wait_for()
    agreement = Agreement.objects.get()
    assert agreement.status == "pending_signature" and agreement.number == 1

    # The buyer approver signs in the portal.
    buyer_page = new_page(browser, console_messages)
    sign_in(buyer_page, live_server, "approver")
    buyer_page.goto(live_server.url + reverse("service:portal_agreements"))
    buyer_page.get_by_role("link", name="AGR-1").click()
    buyer_page.locator("#sign-customer").get_by_role("button", name="Sign",
                                                     exact=True).click()
    buyer_page.locator("#agreement-status[data-status=active]").wait_for()
    agreement.refresh_from_db()
    assert agreement.status == "active"

    page.reload()
    assert page.locator("#agreement-status").get_attribute("data-status") == "active"
    assert page.locator("#status-history [data-status=active]").count() == 1
    assert csp_problems(console_messages) == []
