"""The hub's whole journey in a real browser, as issue 4 tells it: a buyer finds products at
its own prices and orders by uploading a SKU file; its approver approves; the supplier confirms
and ships part of the order; the buyer sees the shipment and its invoice and pays it through
the test payment provider; after delivery the buyer returns a line and the supplier receives it
and credits it."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from jalin.hub import stock
from jalin.hub.models import (
    BuyerSettings,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    Order,
    OrderStatus,
    Payment,
    PaymentTerms,
    ReturnRequest,
    StockLevel,
)
from jalin.hub.testing import link_buyer, make_price_list, make_product, set_price
from jalin.tenancy.models import Membership
from jalin.tenancy.roles import Role
from tests.browser.test_shell_browser import csp_problems, sign_in
from tests.conftest import make_org, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def new_page(browser, messages):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.on("console", lambda message: messages.append(f"{message.type}: {message.text}"))
    return page


def test_order_by_upload_approve_ship_invoice_pay_and_return(browser, page, live_server, org,
                                                            owner, console_messages, tmp_path):
    base = make_price_list(org, owner, "Base", is_base=True)
    special = make_price_list(org, owner, "Special")
    paper = make_product(org, owner, "PAP-1", "Copy paper A4")
    ink = make_product(org, owner, "INK-2", "Printer ink")
    set_price(base, paper, "60000", owner)
    set_price(special, paper, "50000", owner)
    set_price(base, ink, "20000", owner)
    warehouse = stock.warehouse_create(supplier=org, actor=owner, code="W1", name="Main")
    for product in (paper, ink):
        stock.stock_adjust(warehouse=warehouse, product=product, delta=20, reason="count",
                           actor=owner)
    buyer = make_org("buyer-co", is_supplier=False, is_buyer=True)
    link_buyer(org, buyer, owner, price_list=special, payment_terms=PaymentTerms.NET,
               payment_days=30, credit_limit=Decimal("10000000"))
    BuyerSettings.objects.create(buyer=buyer, approval_threshold=100000, currency="IDR")
    Membership.objects.create(user=make_user("shopper"), organization=buyer, role=Role.BUYER)
    Membership.objects.create(user=make_user("approver"), organization=buyer,
                              role=Role.BUYER_APPROVER)

    # The buyer finds its products at its own price (50,000, not the base 60,000).
    sign_in(page, live_server, "shopper")
    page.goto(live_server.url + reverse("hub:shop_catalog", args=[org.pk]))
    page.get_by_label("Search (SKU or name)").fill("PAP")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"q=PAP"))
    row = page.locator("#shop-table tbody tr", has_text="PAP-1")
    assert "50,000" in row.locator(".price").inner_text()
    assert page.locator("#shop-table tbody tr", has_text="INK-2").count() == 0

    # It orders by uploading a SKU file: the unknown SKU is reported, the good lines added.
    upload = tmp_path / "order.csv"
    upload.write_text("SKU;quantity\nPAP-1;3\nINK-2;2\nNOPE-9;1\n", encoding="utf-8")
    page.goto(live_server.url + reverse("hub:cart_upload", args=[org.pk]))
    page.locator("#upload-form input[type=file]").set_input_files(str(upload))
    page.locator("#upload-form").get_by_role("button", name="Upload").click()
    report = page.locator("#upload-report")
    report.wait_for()
    assert "NOPE-9" in report.inner_text()
    page.locator("#add-good-lines").click()
    page.goto(live_server.url + reverse("hub:cart"))
    page.locator("button.submit-order").dblclick()
    page.wait_for_url(re.compile(r"/hub/orders/\d+/$"))
    order = Order.objects.get()
    assert order.status == OrderStatus.AWAITING_APPROVAL  # 3 × 50,000 + 2 × 20,000 + tax
    assert {line.sku: line.quantity for line in order.lines.all()} == {"PAP-1": 3, "INK-2": 2}

    # The approver approves.
    approver = new_page(browser, console_messages)
    sign_in(approver, live_server, "approver")
    approver.goto(live_server.url + reverse("hub:order_detail", args=[order.pk]))
    approver.get_by_role("button", name="Approve").click()
    approver.locator("#order-status[data-status=submitted]").wait_for()

    # The supplier confirms and ships the paper only.
    supplier = new_page(browser, console_messages)
    sign_in(supplier, live_server, "owner")
    supplier.goto(live_server.url + reverse("hub:orders") + "?side=supplier")
    supplier.get_by_role("link", name=f"#{order.number}").click()
    supplier.get_by_role("button", name="Confirm").click()
    supplier.locator("#order-status[data-status=confirmed]").wait_for()
    lines = {line.sku: line for line in order.lines.all()}
    ship = supplier.locator("#ship-form")
    ship.locator(f"input[name=ship_{lines['PAP-1'].pk}]").fill("3")
    ship.locator(f"input[name=ship_{lines['INK-2'].pk}]").fill("0")
    ship.get_by_label("Tracking number").fill("JNE-777")
    ship.get_by_role("button", name="Record shipment").click()
    supplier.locator("#order-status[data-status=partially_shipped]").wait_for()

    # The buyer sees the shipment and its invoice, and pays it through the test provider.
    page.goto(live_server.url + reverse("hub:order_detail", args=[order.pk]))
    assert page.locator("#order-status").get_attribute("data-status") == "partially_shipped"
    shipments = page.locator("#shipments").inner_text()
    assert "JNE-777" in shipments and "PAP-1 × 3" in shipments
    invoice = Invoice.objects.get(order=order, kind=InvoiceKind.INVOICE)
    assert invoice.total_gross == Decimal("166500")  # 150,000 + 11 % PPN
    page.locator("#order-invoices").get_by_role("link", name=str(invoice)).click()
    page.wait_for_url(re.compile(r"/hub/invoices/\d+/$"))
    assert "166,500" in page.locator("#invoice-balance").inner_text()
    page.locator("#pay-now").click()
    page.locator("#test-provider").wait_for()
    assert "166,500" in page.locator("#checkout-amount").inner_text()
    page.locator("#test-pay").click()
    page.locator("#invoice-paid").wait_for()
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID and invoice.balance == 0
    assert Payment.objects.filter(buyer=buyer).count() == 1

    # The supplier ships the rest and marks the order delivered.
    supplier.reload()
    supplier.locator("#ship-form").get_by_role("button", name="Record shipment").click()
    supplier.locator("#order-status[data-status=shipped]").wait_for()
    supplier.get_by_role("button", name="Mark delivered").click()
    supplier.locator("#order-status[data-status=delivered]").wait_for()

    # The buyer returns one ream of paper.
    page.goto(live_server.url + reverse("hub:order_detail", args=[order.pk]))
    page.locator("#request-return").click()
    page.get_by_label("Quantity PAP-1").fill("1")
    page.get_by_role("button", name="Request return").click()
    page.locator("#return-status[data-status=requested]").wait_for()
    rma = ReturnRequest.objects.get()

    # The supplier approves, receives it back into stock, and credits it.
    before = StockLevel.objects.get(warehouse=warehouse, product=paper).on_hand
    supplier.goto(live_server.url + reverse("hub:return_detail", args=[rma.pk]))
    supplier.locator("#return-actions").get_by_role("button", name="Approve").click()
    supplier.locator("#return-status[data-status=approved]").wait_for()
    supplier.locator("#receive-form").get_by_role("button", name="Receive goods").click()
    supplier.locator("#return-status[data-status=received]").wait_for()
    assert StockLevel.objects.get(warehouse=warehouse, product=paper).on_hand == before + 1
    supplier.get_by_role("button", name="Issue credit note").click()
    supplier.locator("#return-status[data-status=credited]").wait_for()
    credit_note = Invoice.objects.get(kind=InvoiceKind.CREDIT_NOTE)
    assert credit_note.total_gross == Decimal("55500")  # one ream, 50,000 + 11 %

    # The buyer sees the credit note on its return.
    page.reload()
    assert str(credit_note) in page.locator("#credit-notes").inner_text()
    assert csp_problems(console_messages) == []
