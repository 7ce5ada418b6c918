"""Transactional outbox: `emit_event` writes an event in the caller's transaction.

Delivery (sequencer, consumers, cursors, retries, dead letters) lives below `emit_event`.
"""

from django.db import transaction

from .events_models import Event
from .request_context import current_request_id


def emit_event(*, type, organization, payload=None, aggregate=None, actor=None):
    """Record a domain event. Must run inside the transaction that made the change."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        raise RuntimeError("emit_event must be called inside transaction.atomic()")
    aggregate_type = aggregate._meta.label_lower if aggregate is not None else ""
    aggregate_id = str(aggregate.pk) if aggregate is not None else ""
    actor_obj = actor if getattr(actor, "is_authenticated", False) else None
    return Event.objects.create(
        organization=organization,
        type=type,
        aggregate_type=aggregate_type,
        aggregate_id=aggregate_id,
        payload=payload or {},
        actor=actor_obj,
        request_id=current_request_id(),
    )
