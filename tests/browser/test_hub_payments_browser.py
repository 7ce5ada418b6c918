"""Payments in a real browser: finance picks a customer and its open invoices load (htmx),
allocates by hand and records; the buyer clicks "Pay now", pays on the test provider's page
and comes back to a paid invoice."""

import re

import pytest
from django.urls import reverse

from jalin.hub.models import InvoiceStatus, Payment
from tests import payments_world
from tests.browser.test_shell_browser import csp_problems, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_record_a_payment_and_pay_online(page, live_server, org, owner, console_messages):
    world = payments_world.build(org, owner)
    sign_in(page, live_server, "sup-finance")
    page.goto(live_server.url + reverse("hub:payment_record"))
    page.select_option("select[name=customer]", str(world.buyer.pk))
    page.locator(f"input[name=alloc_{world.inv_old.pk}]").wait_for()
    page.fill("input[name=amount]", "100000")
    page.check("input[name=allocation][value=manual]")
    page.fill(f"input[name=alloc_{world.inv_old.pk}]", "100000")
    page.fill("input[name=reference]", "BCA 0042")
    page.locator("#payment-form button[type=submit]").dblclick()
    page.wait_for_url(re.compile(r"/hub/payments/\d+/$"))
    assert Payment.objects.count() == 1  # the double click made one payment
    world.inv_old.refresh_from_db()
    assert world.inv_old.status == InvoiceStatus.PAID

    buyer_context = page.context.browser.new_context(locale="en-US")
    buyer_page = buyer_context.new_page()
    sign_in(buyer_page, live_server, "buyer-payer")
    buyer_page.goto(live_server.url + reverse("hub:payments") + "?side=buyer")
    row = buyer_page.locator("#invoices-to-pay tbody tr", has_text=str(world.inv_mid))
    row.get_by_role("button", name="Pay now").click()
    buyer_page.wait_for_url(re.compile(r"/hub/pay/test/[^/]+/$"))
    assert "Test payment provider" in buyer_page.locator("h1").inner_text()
    buyer_page.locator("#test-pay").click()
    buyer_page.wait_for_url(re.compile(r"/hub/"))
    assert "Payment received" in buyer_page.content()
    world.inv_mid.refresh_from_db()
    assert world.inv_mid.status == InvoiceStatus.PAID
    buyer_context.close()
    assert csp_problems(console_messages) == []
