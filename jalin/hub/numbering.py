"""Gapless document numbers per supplier and sequence.

`next_number` must be called inside the transaction that creates the document, as late as
possible (the counter row stays locked until commit). A rollback gives the number back, so a
sequence never has gaps — what tax offices expect of invoice numbers.
"""

from django.db import IntegrityError, transaction

from .models import DocumentCounter

INVOICE = "invoice"
CREDIT_NOTE = "credit_note"
PAYMENT = "payment"
RFQ = "rfq"
QUOTE = "quote"
RETURN = "return"


def next_number(*, supplier_id, sequence):
    """Lock the (supplier, sequence) counter, take the next number and return it."""
    counter = (DocumentCounter.objects.select_for_update()
               .filter(supplier_id=supplier_id, sequence=sequence).first())
    if counter is None:
        try:
            with transaction.atomic():
                DocumentCounter.objects.create(supplier_id=supplier_id, sequence=sequence)
        except IntegrityError:
            pass  # created by a concurrent transaction: lock that one
        counter = DocumentCounter.objects.select_for_update().get(
            supplier_id=supplier_id, sequence=sequence)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return counter.last_number
