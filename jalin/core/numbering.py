"""Gap-free human numbers (order, invoice, case, agreement, register numbers …), one
mechanism for every app.

A sequence is identified by (organization, scope, period): `scope` is a short dotted name
owned by one app ("hub.invoice", "service.case"), `period` splits a sequence that restarts
(e.g. "2026"; "" when it never does). The counter row is `jalin.core.models.NumberSequence`.

Call `next_number` inside the transaction that creates the numbered document, as late as
possible: the row stays locked until that transaction ends, so concurrent creators wait for
each other (no duplicates) and a rolled-back document gives its number back (no gaps). The
first use creates the row safely under concurrency (INSERT … ON CONFLICT DO NOTHING, then lock).

Only the integer is shared: each app formats its own numbers (prefix, year, padding).
"""

from django.db import transaction

from .models import NumberSequence

__all__ = ["NumberingError", "advance_to", "last_number", "lock", "next_number", "next_numbers"]


class NumberingError(RuntimeError):
    """A programming error: numbers taken outside a transaction, or a bad count/scope."""


def _organization_id(organization):
    return getattr(organization, "pk", organization)


def _locked_row(*, organization, scope, period, using=None):
    if not scope:
        raise NumberingError("A number sequence needs a scope.")
    if not transaction.get_connection(using).in_atomic_block:
        raise NumberingError(
            "Take numbers inside the transaction that uses them (transaction.atomic): the "
            "counter row must stay locked until that transaction commits.")
    key = {"organization_id": _organization_id(organization), "scope": scope,
           "period": period or ""}
    manager = NumberSequence.objects.db_manager(using)
    row = manager.select_for_update().filter(**key).first()
    if row is None:
        # First use. ON CONFLICT DO NOTHING waits for a concurrent inserter of the same key
        # and then does nothing, without aborting this transaction; the lock below then
        # takes the row that won (or this one).
        manager.bulk_create([NumberSequence(**key)], ignore_conflicts=True)
        row = manager.select_for_update().get(**key)
    return row


def next_numbers(*, organization, scope, count, period="", after=0, using=None):
    """Take `count` consecutive numbers of the sequence and return them as a range. With
    `after`, the numbers are also above `after` (the highest number the documents already
    carry, e.g. rows loaded before the sequence existed)."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise NumberingError("Take at least one number.")
    row = _locked_row(organization=organization, scope=scope, period=period, using=using)
    first = max(row.last, after) + 1
    row.last = first + count - 1
    row.save(update_fields=["last"])
    return range(first, row.last + 1)


def next_number(*, organization, scope, period="", after=0, using=None):
    """Lock the (organization, scope, period) sequence, take its next number and return it.
    Must run inside the caller's transaction (raises NumberingError otherwise)."""
    return next_numbers(organization=organization, scope=scope, period=period, count=1,
                        after=after, using=using)[0]


def advance_to(*, organization, scope, number, period="", using=None):
    """Make sure the sequence's next number is above `number` (after a bulk load wrote
    numbered rows directly). Never moves a sequence back. Returns the last number."""
    row = _locked_row(organization=organization, scope=scope, period=period, using=using)
    if number > row.last:
        row.last = number
        row.save(update_fields=["last"])
    return row.last


def lock(*, organization, scope, period="", using=None):
    """Lock the sequence row (creating it on first use) without taking a number, so that
    other work waits for, and is waited for by, whoever numbers in this sequence until the
    caller's transaction ends."""
    _locked_row(organization=organization, scope=scope, period=period, using=using)


def last_number(*, organization, scope, period="", using=None):
    """The last number handed out (0 before the first); a plain read, no lock."""
    return (NumberSequence.objects.db_manager(using)
            .filter(organization_id=_organization_id(organization), scope=scope,
                    period=period or "")
            .values_list("last", flat=True).first() or 0)
