"""Invoicing under real concurrency, on PostgreSQL with threads (one connection each):
gapless invoice and credit note numbers, never a unit invoiced or credited twice, and the
credit check counting unpaid invoices."""

from decimal import Decimal

import pytest
from django.db import connection, transaction

from jalin.hub import invoicing, numbering, orders, stock
from jalin.hub.models import (
    Invoice,
    InvoiceKind,
    InvoicingMode,
    Order,
    OrderStatus,
    PaymentTerms,
    SupplierSettings,
)
from jalin.hub.services import HubError
from jalin.hub.testing import link_buyer, make_price_list, make_product, set_price
from tests.conftest import make_org, make_user
from tests.test_hub_orders_concurrency import run_threads

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only(db):
    if connection.vendor != "postgresql":
        pytest.skip("concurrency guarantees are proven on PostgreSQL")


@pytest.fixture
def setup(org, owner):
    base = make_price_list(org, owner, "Base", is_base=True)
    product = make_product(org, owner, "A")
    set_price(base, product, "200", owner)
    warehouse = stock.warehouse_create(supplier=org, actor=owner, code="W1", name="Main")
    stock.stock_adjust(warehouse=warehouse, product=product, delta=10_000, reason="count",
                       actor=owner)
    buyer = make_org("inv-cc-buyer", is_supplier=False, is_buyer=True)
    rel = link_buyer(org, buyer, owner, payment_terms=PaymentTerms.NET, payment_days=14,
                     credit_limit=Decimal("1000000"))
    rel.tax_exempt = True  # each unit is exactly 200
    rel.save()
    membership = owner.memberships.get(organization=org)
    return type("Setup", (), dict(supplier=org, owner=owner, product=product, rel=rel,
                                  membership=membership, user=make_user("inv-cc-user")))


def shipped_uninvoiced_orders(setup, count, quantity=1):
    """Confirmed and fully shipped orders with nothing invoiced (shipped while the supplier
    invoiced per order, switched after confirmation)."""
    made = []
    for _ in range(count):
        order = orders.order_place(relationship=setup.rel, actor=setup.user,
                                   lines=[(setup.product.pk, quantity)])
        made.append(orders.order_transition(order=order, action="confirm",
                                            membership=setup.membership, actor=setup.owner))
    SupplierSettings.objects.update_or_create(supplier=setup.supplier,
                                              defaults={"invoicing": InvoicingMode.PER_ORDER})
    for order in made:
        order.refresh_from_db()
        orders.ship(order=order, membership=setup.membership, actor=setup.owner,
                    quantities={order.lines.get().pk: quantity})
    assert not Invoice.objects.exists()
    return made


def test_concurrent_issues_number_1_to_n_without_gaps_or_doubles(setup):
    made = shipped_uninvoiced_orders(setup, 12)

    def issue(index):
        if index < 10:
            return invoicing.invoice_issue(order=made[index], actor=setup.owner)
        if index < 14:  # the same orders again: nothing left to invoice
            return invoicing.invoice_issue(order=made[index - 10], actor=setup.owner)
        with transaction.atomic():  # issued, then rolled back: the number comes back
            invoicing.invoice_issue(order=made[index - 4], actor=setup.owner)
            raise RuntimeError("rolled back")

    results = run_threads(issue, 16)
    issued = [result for result, error in results if error is None]
    errors = [error for _result, error in results if error is not None]
    assert len(issued) == 10
    assert sorted(type(e).__name__ + getattr(e, "code", "") for e in errors) == (
        ["HubErrornothing_to_invoice"] * 4 + ["RuntimeError"] * 2)
    assert sorted(Invoice.objects.values_list("number", flat=True)) == list(range(1, 11))
    assert numbering.last_number(supplier_id=setup.supplier.pk,
                                 sequence=numbering.INVOICE) == 10
    for order in Order.objects.prefetch_related("lines"):
        line = order.lines.get()
        invoiced = Invoice.objects.filter(order=order).count()
        assert line.invoiced_quantity == (1 if invoiced else 0)
        assert invoiced <= 1
        assert order.invoiced_gross == Decimal("200") * invoiced


def test_concurrent_credit_notes_never_credit_more_than_the_line(setup):
    order = shipped_uninvoiced_orders(setup, 1, quantity=5)[0]
    invoice = invoicing.invoice_issue(order=order, actor=setup.owner)
    line = invoice.lines.get()

    def credit(index):
        return invoicing.credit_note_issue(invoice=invoice, lines=[(line.pk, 1)],
                                           reason=f"Return {index}", actor=setup.owner)

    results = run_threads(credit, 8)
    notes = [result for result, error in results if error is None]
    errors = [error for _result, error in results if error is not None]
    assert len(notes) == 5
    assert all(isinstance(e, HubError) and e.code == "over_credit" for e in errors)
    assert sorted(Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE)
                  .values_list("number", flat=True)) == [1, 2, 3, 4, 5]
    invoice.refresh_from_db()
    assert invoice.amount_settled == invoice.total_gross == Decimal("1000")
    assert invoice.balance == 0


def test_unpaid_invoices_count_in_the_concurrent_credit_check(setup):
    setup.rel.credit_limit = Decimal("1000")
    setup.rel.save()
    SupplierSettings.objects.update_or_create(
        supplier=setup.supplier, defaults={"invoicing": InvoicingMode.PER_SHIPMENT})
    first = orders.order_place(relationship=setup.rel, actor=setup.user,
                               lines=[(setup.product.pk, 3)])
    first = orders.order_transition(order=first, action="confirm",
                                    membership=setup.membership, actor=setup.owner)
    orders.ship(order=first, membership=setup.membership, actor=setup.owner,
                quantities={first.lines.get().pk: 3})
    for action in ("deliver", "close"):
        orders.order_transition(order=Order.objects.get(pk=first.pk), action=action,
                                membership=setup.membership, actor=setup.owner)
    assert orders.exposure_parts(setup.rel).invoices == Decimal("600")

    def place(index):
        return orders.order_place(relationship=setup.rel, actor=setup.user,
                                  lines=[(setup.product.pk, 1)])

    results = run_threads(place, 10)
    assert [error for _result, error in results if error is not None] == []
    statuses = [result.status for result, _error in results]
    assert statuses.count(OrderStatus.SUBMITTED) == 2
    assert statuses.count(OrderStatus.CREDIT_HOLD) == 8
    assert orders.exposure(setup.rel) == Decimal("1000")
