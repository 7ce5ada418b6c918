"""Billing in a real browser: the supplier ships part of an order and finds the shipment's
invoice from the order page; issues a credit note for one unit from the invoice page; the
buyer sees the invoice with its balance, its available credit in the shop and its statement."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from jalin.hub import orders, stock
from jalin.hub.models import Invoice, InvoiceKind, PaymentTerms
from jalin.hub.testing import link_buyer, make_price_list, make_product, set_price
from jalin.tenancy.models import Membership
from jalin.tenancy.roles import Role
from tests.browser.test_hub_orders_browser import new_page
from tests.browser.test_shell_browser import csp_problems, sign_in
from tests.conftest import make_org, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_supplier_invoices_and_credits_buyer_sees_balance(browser, page, live_server, org,
                                                         owner, console_messages):
    base = make_price_list(org, owner, "Base", is_base=True)
    paper = make_product(org, owner, "PAP-1", "Copy paper A4")
    set_price(base, paper, "50000", owner)
    warehouse = stock.warehouse_create(supplier=org, actor=owner, code="W1", name="Main")
    stock.stock_adjust(warehouse=warehouse, product=paper, delta=20, reason="count",
                       actor=owner)
    buyer = make_org("buyer-co", is_supplier=False, is_buyer=True)
    relationship = link_buyer(org, buyer, owner, payment_terms=PaymentTerms.NET,
                              payment_days=30, credit_limit=Decimal("1000000"))
    shopper = make_user("shopper")
    Membership.objects.create(user=shopper, organization=buyer, role=Role.BUYER)
    membership = Membership.objects.get(user=owner, organization=org)
    order = orders.order_place(relationship=relationship, actor=shopper,
                               lines=[(paper.pk, 4)])
    orders.order_transition(order=order, action="confirm", membership=membership, actor=owner)

    # The supplier ships 3 of 4; the shipment's invoice shows on the order.
    sign_in(page, live_server, "owner")
    page.goto(live_server.url + reverse("hub:order_detail", args=[order.pk]))
    ship = page.locator("#ship-form")
    ship.locator("input[type=number]").fill("3")
    ship.get_by_role("button", name="Record shipment").click()
    page.locator("#order-status[data-status=partially_shipped]").wait_for()
    page.locator("#order-invoices").get_by_role("link", name="INV-1").click()
    page.wait_for_url(re.compile(r"/hub/invoices/\d+/$"))
    assert "166,500" in page.locator("#invoice-total").inner_text()  # 3 × 50,000 + 11 %

    # A credit note for one damaged ream, from the invoice page.
    form = page.locator("#credit-note-form")
    form.locator("input[type=number]").fill("1")
    form.get_by_label("Reason").fill("One ream arrived wet")
    form.get_by_role("button", name="Issue credit note").click()
    page.wait_for_url(re.compile(r"/hub/invoices/\d+/$"))
    assert page.locator("h1").inner_text() == "Credit note CN-1"
    note = Invoice.objects.get(kind=InvoiceKind.CREDIT_NOTE)
    assert note.total_gross == Decimal("55500") and note.reason == "One ream arrived wet"

    # The buyer sees the invoice's balance, its credit and its statement.
    buyer_page = new_page(browser, console_messages)
    sign_in(buyer_page, live_server, "shopper")
    buyer_page.goto(live_server.url + reverse("hub:invoices") + "?side=buyer")
    buyer_page.locator("#invoices-table").get_by_role("link", name="INV-1").click()
    assert "111,000" in buyer_page.locator("#invoice-balance").inner_text()
    assert "CN-1" in buyer_page.locator("#allocations").inner_text()
    buyer_page.goto(live_server.url + reverse("hub:shop_catalog", args=[org.pk]))
    buyer_page.locator("#credit-details summary").click()
    # Exposure: 111,000 open on the invoice + 55,500 not invoiced yet = 166,500.
    assert "166,500" in buyer_page.locator("#credit-exposure").inner_text()
    assert "833,500" in buyer_page.locator("#credit-available").inner_text()
    buyer_page.get_by_role("link", name="Statement of account").click()
    buyer_page.wait_for_url(re.compile(r"/hub/statements/\d+/"))
    assert "111,000" in buyer_page.locator("#statement-closing").inner_text()
    assert csp_problems(console_messages) == []
