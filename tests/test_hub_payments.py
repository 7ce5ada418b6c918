"""Payments: recording, allocation arithmetic, refusal of over-allocation, automatic
allocation order, idempotency, allocation later, reversal; overdue reminders with a frozen
clock (passed in as `today`/`now`)."""

import datetime
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from jalin.core.events import Event
from jalin.core.models import AuditLog, Notification, NumberSequence
from jalin.hub import numbering, payments
from jalin.hub.models import (
    Invoice,
    InvoiceReminder,
    InvoiceStatus,
    Payment,
    PaymentAllocation,
    PaymentReversal,
)
from jalin.hub.services import HubError
from jalin.hub.testing import make_invoice
from tests import payments_world

TODAY = timezone.localdate()


@pytest.fixture
def world(org, owner):
    return payments_world.build(org, owner)


def record(world, amount, allocations=None, **extra):
    values = {"relationship": world.relationship, "amount": Decimal(amount),
              "currency": "IDR", "received_on": TODAY, "method": "bank_transfer",
              "reference": "TRF-1", "actor": world.owner, "allocations": allocations}
    values.update(extra)
    return payments.payment_record(**values)


def fresh(obj):
    obj.refresh_from_db()
    return obj


def test_explicit_allocations_settle_invoices_and_leave_credit(world):
    payment = record(world, "250000", [(world.inv_old.pk, Decimal("100000")),
                                       (world.inv_mid.pk, Decimal("50000"))])
    assert payment.number == 1
    assert payment.amount_allocated == Decimal("150000")
    assert payment.unallocated == Decimal("100000")  # credit on account
    old, mid, new = fresh(world.inv_old), fresh(world.inv_mid), fresh(world.inv_new)
    assert (old.status, old.amount_settled, old.balance) == (InvoiceStatus.PAID,
                                                             Decimal("100000"), 0)
    assert old.paid_at is not None
    assert (mid.status, mid.balance) == (InvoiceStatus.PARTIALLY_PAID, Decimal("150000"))
    assert mid.paid_at is None
    assert new.status == InvoiceStatus.OPEN and new.amount_settled == 0
    events = list(Event.objects.filter(type__startswith="hub.").values_list("type", "payload"))
    types = [t for t, _p in events]
    assert types.count("hub.payment.recorded") == 1
    assert types.count("hub.invoice.paid") == 1  # only the fully paid one
    paid = next(p for t, p in events if t == "hub.invoice.paid")
    assert paid["invoice_id"] == world.inv_old.pk and paid["buyer_id"] == world.buyer.pk
    recorded = next(p for t, p in events if t == "hub.payment.recorded")
    assert recorded["buyer_id"] == world.buyer.pk and recorded["allocated"] == "150000.00"
    assert AuditLog.objects.filter(action="hub.payment.recorded").count() == 1


def test_automatic_allocation_pays_oldest_due_first(world):
    payment = record(world, "250000")  # allocations=None: automatic
    rows = list(PaymentAllocation.objects.filter(payment=payment).order_by("id")
                .values_list("invoice_id", "amount"))
    assert rows == [(world.inv_old.pk, Decimal("100000")),
                    (world.inv_mid.pk, Decimal("150000"))]
    assert fresh(world.inv_new).amount_settled == 0
    assert payment.unallocated == 0
    # More than everything owed: the rest stays on account; the other buyer's invoice and
    # other currencies are never touched.
    usd = make_invoice(world.relationship, "10.00", currency="USD",
                       due_date=TODAY - datetime.timedelta(days=30),
                       issue_date=TODAY - datetime.timedelta(days=40))
    second = record(world, "1000000")
    assert second.amount_allocated == Decimal("350000")  # 50,000 of mid + 300,000 of new
    assert second.unallocated == Decimal("650000")
    assert fresh(usd).amount_settled == 0
    assert fresh(world.foreign_invoice).amount_settled == 0
    assert all(fresh(i).status == InvoiceStatus.PAID
               for i in (world.inv_old, world.inv_mid, world.inv_new))


def _nothing_written(world, payments_before=0):
    assert Payment.objects.count() == payments_before
    for invoice in (world.inv_old, world.inv_mid, world.inv_new, world.foreign_invoice):
        assert fresh(invoice).amount_settled == 0
    assert not NumberSequence.objects.filter(scope=numbering.PAYMENT, last__gt=0).exists()


@pytest.mark.parametrize("allocations, field, code", [
    ([(1, "100000"), (2, "150000")], "allocations", "over_allocated"),  # sum > payment
    ([(1, "100001")], "allocations[0].amount", "over_settled"),  # > invoice balance
    ([(1, "50000"), (1, "10")], "allocations[1].invoice_id", "duplicate"),
    ([(9, "100")], "allocations[0].invoice_id", "not_found"),  # another buyer's invoice
    ([(1, "0")], "allocations[0].amount", "invalid_amount"),
    ([(1, "10.5")], "allocations[0].amount", "invalid_amount"),  # IDR has no cents
])
def test_bad_allocations_are_refused_and_change_nothing(world, allocations, field, code):
    ids = {1: world.inv_old.pk, 2: world.inv_mid.pk, 9: world.foreign_invoice.pk}
    allocations = [(ids[i], Decimal(a)) for i, a in allocations]
    with pytest.raises(HubError) as error:
        record(world, "200000", allocations)
    assert (error.value.field, error.value.code) == (field, code)
    _nothing_written(world)


def test_payment_input_is_checked(world):
    for changes, field in [({"amount": Decimal("0")}, "amount"),
                           ({"amount": Decimal("-5")}, "amount"),
                           ({"currency": "rupiah"}, "currency"),
                           ({"method": "provider"}, "method"),
                           ({"received_on": TODAY + datetime.timedelta(days=5)},
                            "received_on"),
                           ({"received_on": None}, "received_on")]:
        with pytest.raises(HubError) as error:
            record(world, changes.pop("amount", "1000"), **changes)
        assert error.value.field == field
    with pytest.raises(HubError) as error:  # currency must equal the invoices'
        record(world, "10", [(world.inv_old.pk, Decimal("10"))], currency="USD")
    assert error.value.code == "currency_mismatch"
    _nothing_written(world)


def test_paid_invoice_cannot_take_more(world):
    record(world, "100000", [(world.inv_old.pk, Decimal("100000"))])
    with pytest.raises(HubError) as error:
        record(world, "5", [(world.inv_old.pk, Decimal("5"))])
    assert error.value.code == "already_paid"
    assert Payment.objects.count() == 1


def test_same_idempotency_key_answers_the_same_payment(world):
    first = record(world, "100000", idempotency_key="k-1")
    again = record(world, "100000", idempotency_key="k-1")
    assert first.pk == again.pk and Payment.objects.count() == 1
    assert fresh(world.inv_old).amount_settled == Decimal("100000")
    other = record(world, "1000", idempotency_key="k-2")
    assert other.number == 2  # gapless


def test_allocate_the_remainder_later(world):
    payment = record(world, "120000", [])
    assert payment.unallocated == Decimal("120000")
    payments.payment_allocate(payment=payment, invoice=world.inv_mid, amount=Decimal("70000"),
                              actor=world.owner)
    payment = fresh(payment)
    assert payment.amount_allocated == Decimal("70000") and payment.version == 2
    assert fresh(world.inv_mid).status == InvoiceStatus.PARTIALLY_PAID
    with pytest.raises(HubError) as error:  # only 50,000 left on the payment
        payments.payment_allocate(payment=payment, invoice=world.inv_new,
                                  amount=Decimal("50001"), actor=world.owner)
    assert error.value.code == "over_allocated"
    payments.payment_allocate(payment=payment, invoice=world.inv_old,
                              amount=Decimal("50000"), actor=world.owner)
    second = record(world, "200000", [])
    with pytest.raises(HubError) as error:  # the invoice needs only 50,000 more
        payments.payment_allocate(payment=second, invoice=world.inv_old,
                                  amount=Decimal("50001"), actor=world.owner)
    assert error.value.code == "over_settled"
    assert fresh(world.inv_old).amount_settled == Decimal("50000")
    with pytest.raises(HubError) as error:
        payments.payment_allocate(payment=payment, invoice=world.foreign_invoice,
                                  amount=Decimal("1"), actor=world.owner)
    assert error.value.code == "not_found"
    assert fresh(world.foreign_invoice).amount_settled == 0
    assert Event.objects.filter(type="hub.payment.allocated").count() == 2


def test_reversal_reopens_invoices_and_blocks_further_use(world):
    payment = record(world, "150000", [(world.inv_old.pk, Decimal("100000")),
                                       (world.inv_mid.pk, Decimal("50000"))])
    with pytest.raises(HubError):
        payments.payment_reverse(payment=payment, actor=world.owner, reason=" ")
    payments.payment_reverse(payment=payment, actor=world.owner, reason="Wrong customer")
    payment = fresh(payment)
    assert payment.amount_allocated == 0
    assert not PaymentAllocation.objects.filter(payment=payment).exists()
    old = fresh(world.inv_old)
    assert (old.status, old.amount_settled, old.paid_at) == (InvoiceStatus.OPEN, 0, None)
    reversal = PaymentReversal.objects.get(payment=payment)
    assert reversal.allocations == [[world.inv_old.pk, "100000.00"],
                                    [world.inv_mid.pk, "50000.00"]]
    event = Event.objects.get(type="hub.payment.reversed")
    assert event.payload["buyer_id"] == world.buyer.pk
    with pytest.raises(HubError) as error:
        payments.payment_reverse(payment=payment, actor=world.owner, reason="again")
    assert error.value.code == "reversed"
    with pytest.raises(HubError):
        payments.payment_allocate(payment=payment, invoice=world.inv_old,
                                  amount=Decimal("1"), actor=world.owner)


def test_reversed_payment_is_no_credit_and_not_on_the_statement(world):
    from jalin.hub import invoice_selectors
    from jalin.hub.orders import exposure_parts

    kept = record(world, "30000", [])  # on account: a credit
    mistake = record(world, "50000", [], reference="Oops")
    assert exposure_parts(world.relationship).credit == Decimal("80000")
    payments.payment_reverse(payment=mistake, actor=world.owner, reason="Not ours")
    assert exposure_parts(world.relationship).credit == Decimal("30000")
    statement = invoice_selectors.statement(relationship=world.relationship)
    numbers = [row.number for row in statement.rows if row.kind == "payment"]
    assert numbers == [str(kept)]
    assert statement.aging.unapplied == Decimal("30000")


# --- Overdue reminders -------------------------------------------------------------------------


@pytest.fixture
def overdue(world):
    """One invoice due on DUE with a balance; the buyer has a buyer (finance.view) and a viewer
    (no finance.view)."""
    due = datetime.date(2026, 3, 2)
    invoice = make_invoice(world.relationship, "500000", due_date=due,
                           issue_date=due - datetime.timedelta(days=30))
    Invoice.objects.exclude(pk=invoice.pk).update(due_date=datetime.date(2030, 1, 1))
    world.overdue, world.due = invoice, due
    return world


def run(world, days_after_due):
    today = world.due + datetime.timedelta(days=days_after_due)
    now = timezone.make_aware(datetime.datetime.combine(today, datetime.time(9)))
    return payments.send_overdue_reminders(today=today, now=now)


def levels(invoice):
    return list(InvoiceReminder.objects.filter(invoice=invoice).values_list("level", flat=True))


def test_reminders_at_due_plus_1_7_14_once_each(overdue, django_capture_on_commit_callbacks):
    assert run(overdue, 0) == 0  # due today: not overdue yet
    assert run(overdue, 1) == 1
    assert run(overdue, 1) == 0  # the job ran twice: nothing more
    assert run(overdue, 6) == 0
    assert levels(overdue.overdue) == [1]
    assert run(overdue, 7) == 1
    assert run(overdue, 13) == 0
    assert run(overdue, 14) == 1
    assert run(overdue, 30) == 0  # the final level is the last
    assert levels(overdue.overdue) == [1, 2, 3]
    events = list(Event.objects.filter(type="hub.invoice.overdue").order_by("id"))
    assert [e.payload["level"] for e in events] == [1, 2, 3]
    assert events[-1].payload["final"] is True
    assert events[0].payload["buyer_id"] == overdue.buyer.pk
    assert events[0].organization_id == overdue.supplier.pk
    # In-app: the buyer member with finance.view, once per level; never the viewer.
    notes = Notification.objects.filter(kind="invoice_overdue")
    assert set(notes.values_list("user__username", flat=True)) == {"buyer-payer"}
    assert notes.count() == 3
    assert "Final reminder" in notes.order_by("id").last().title
    # Email through the task queue (Django mail when the worker runs it).
    from django_tasks_db.models import DBTaskResult

    assert DBTaskResult.objects.filter(task_path__endswith="send_email").count() == 3


def test_late_job_sends_only_the_level_reached(overdue):
    assert run(overdue, 9) == 1
    assert levels(overdue.overdue) == [2]
    assert run(overdue, 9) == 0
    assert run(overdue, 20) == 1
    assert levels(overdue.overdue) == [2, 3]


def test_paid_or_not_yet_due_invoices_get_no_reminder(overdue):
    record(overdue, "500000", [(overdue.overdue.pk, Decimal("500000"))])
    assert run(overdue, 3) == 0
    assert not InvoiceReminder.objects.exists()


def test_reminder_levels_are_a_setting(overdue, settings):
    settings.JALIN_INVOICE_REMINDER_DAYS = [3, 10]
    assert run(overdue, 2) == 0
    assert run(overdue, 3) == 1
    assert run(overdue, 10) == 1
    assert run(overdue, 40) == 0
    assert levels(overdue.overdue) == [1, 2]
    assert Event.objects.filter(type="hub.invoice.overdue").last().payload["final"] is True


def test_reminders_are_a_registered_housekeeping_job():
    from jalin.core.housekeeping import registered_housekeeping

    jobs = registered_housekeeping()
    assert jobs["hub.overdue_reminders"].func is payments.send_overdue_reminders
    assert "hub.checkouts_expire" in jobs
    assert mail.outbox == []


def test_demo_pays_one_invoice_per_supplier_once(db, settings):
    """The demo pays each supplier's oldest open invoice once, however often it runs."""
    from io import StringIO

    from django.core.management import call_command

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("demo", stdout=StringIO())
    paid = list(Payment.objects.order_by("id"))
    assert paid, "the demo has invoices, so it records payments"
    assert all(p.idempotency_key.startswith("demo:payment:") for p in paid)
    assert len({p.supplier_id for p in paid}) == len(paid)
    for payment in paid:
        allocation = PaymentAllocation.objects.get(payment=payment)
        assert allocation.invoice.status == InvoiceStatus.PAID
    output = StringIO()
    call_command("demo", stdout=output)
    assert Payment.objects.count() == len(paid)
    assert "0 payments recorded" in output.getvalue()
