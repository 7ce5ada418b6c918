"""Gapless hub document numbers per supplier and sequence, on the shared
`jalin.core.numbering` sequences (scope "hub.<sequence>", no period: hub numbers never
restart).

`next_number` must be called inside the transaction that creates the document, as late as
possible (the sequence row stays locked until commit). A rollback gives the number back, so a
sequence never has gaps — what tax offices expect of invoice numbers.
"""

from jalin.core import numbering

ORDER = "hub.order"
INVOICE = "hub.invoice"
CREDIT_NOTE = "hub.credit_note"
PAYMENT = "hub.payment"
RFQ = "hub.rfq"
QUOTE = "hub.quote"
RETURN = "hub.return"


def _hub_scope(sequence):
    if not isinstance(sequence, str) or not sequence.startswith("hub."):
        raise numbering.NumberingError(f"Not a hub number sequence: {sequence!r}")
    return sequence


def next_number(*, supplier_id, sequence):
    """Lock the supplier's `sequence` (one of the scopes above), take the next number and
    return it."""
    return numbering.next_number(organization=supplier_id, scope=_hub_scope(sequence))


def last_number(*, supplier_id, sequence):
    """The supplier's last number in `sequence` (0 before the first); no lock."""
    return numbering.last_number(organization=supplier_id, scope=_hub_scope(sequence))


def next_numbers(*, supplier_id, sequence, count):
    """Take `count` consecutive numbers at once (a range), for bulk writers."""
    return numbering.next_numbers(organization=supplier_id, scope=_hub_scope(sequence),
                                  count=count)


def advance_to(*, supplier_id, sequence, number):
    """Move the sequence past `number` after rows were written with their own numbers."""
    return numbering.advance_to(organization=supplier_id, scope=_hub_scope(sequence),
                                number=number)


def lock(*, supplier_id, sequence):
    """Hold the supplier's `sequence` row until the transaction ends, taking no number."""
    numbering.lock(organization=supplier_id, scope=_hub_scope(sequence))
