"""Transactional outbox: `emit_event` writes an event in the caller's transaction.

Delivery happens later, in the worker (`jalin worker`), in three steps:

1. `events_sequence` gives committed events a `position`. Event ids are assigned at insert,
   before commit, so a transaction that started earlier can commit an event with a lower id
   after a higher one is already visible. The sequencer takes one lock (the `EventSequencer`
   row), reads the committed events that have no position yet and numbers them. An event that
   commits late is just numbered by the next run, so positions are commit-ordered and a reader
   that remembers "the last position I saw" never skips anything.
2. `consumer_deliver` hands events after a consumer's cursor to its handler, one by one, in a
   transaction that holds the consumer's state row and moves the cursor. The handler's
   database effects and the cursor commit together. A handler that raises is retried with
   exponential backoff; the consumer stops at that event (order is kept) until then, other
   consumers go on. After `JALIN_EVENT_MAX_ATTEMPTS` the event goes to the dead-letter list and
   the cursor moves past it.
3. `dead_letter_replay` redelivers a dead letter to its consumer on an operator's request.

Delivery is at-least-once: a handler whose effect can happen outside the delivery transaction
(an e-mail, a webhook, a second database) guards it with `idempotent(consumer, event)`.
"""

import logging
import traceback as traceback_module
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Max
from django.utils import timezone

from .audit import audit_record
from .consumers import get_consumer, registered_consumers
from .events_models import ConsumerReceipt, ConsumerState, DeadLetter, Event, EventSequencer
from .request_context import current_request_id

logger = logging.getLogger("jalin.events")

DEFAULT_BATCH_SIZE = 100
SEQUENCE_BATCH_SIZE = 1000
MAX_ERROR_LENGTH = 2000


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


# --- Sequencing -----------------------------------------------------------------------------


def events_sequence(*, limit=SEQUENCE_BATCH_SIZE):
    """Give committed, unsequenced events the next positions, in id order. Returns how many."""
    with transaction.atomic():
        EventSequencer.objects.bulk_create(
            [EventSequencer(pk=EventSequencer.SINGLETON_ID)], ignore_conflicts=True
        )
        # The lock serializes sequencers: whoever holds it sees every event committed before
        # it was granted, and nobody else can hand out positions meanwhile.
        sequencer = EventSequencer.objects.select_for_update().get(pk=EventSequencer.SINGLETON_ID)
        pending = list(
            Event.objects.filter(position__isnull=True).order_by("id").only("id")[:limit]
        )
        if not pending:
            return 0
        # The sequencer row can be newer than the events (a restored or flushed table): never
        # hand out a position that is already taken.
        highest = Event.objects.aggregate(highest=Max("position"))["highest"] or 0
        position = max(sequencer.last_position, highest)
        for event in pending:
            position += 1
            event.position = position
        Event.objects.bulk_update(pending, ["position"], batch_size=500)
        sequencer.last_position = position
        sequencer.updated_at = timezone.now()
        sequencer.save(update_fields=["last_position", "updated_at"])
    logger.debug("Sequenced %d events up to position %d", len(pending), position)
    return len(pending)


# --- Delivery -------------------------------------------------------------------------------


def event_retry_delay(attempts):
    """Seconds to wait after the `attempts`-th failure: base * 2^(attempts-1), capped."""
    base = settings.JALIN_EVENT_BACKOFF_BASE_SECONDS
    cap = settings.JALIN_EVENT_BACKOFF_MAX_SECONDS
    return min(base * 2 ** max(attempts - 1, 0), cap)


def _error_text(exc):
    return f"{type(exc).__name__}: {exc}"[:MAX_ERROR_LENGTH]


def _checkpoint(state, position):
    """Move the cursor past `position` and clear the retry state (same transaction)."""
    state.position = position
    state.attempts = 0
    state.next_attempt_at = None
    state.last_error = ""
    state.updated_at = timezone.now()
    state.save(
        update_fields=["position", "attempts", "next_attempt_at", "last_error", "updated_at"]
    )


def _record_failure(state, event, exc):
    """The handler raised on `event`: schedule a retry, or dead-letter it and move on."""
    now = timezone.now()
    state.attempts += 1
    state.last_error = _error_text(exc)
    state.updated_at = now
    if state.attempts >= settings.JALIN_EVENT_MAX_ATTEMPTS:
        DeadLetter.objects.create(
            consumer=state.name,
            event=event,
            error=state.last_error,
            traceback="".join(traceback_module.format_exception(exc))[-20000:],
            attempts=state.attempts,
        )
        logger.error(
            "Consumer %s gave up on event #%s (%s) after %d attempts; dead-lettered: %s",
            state.name, event.pk, event.type, state.attempts, state.last_error,
        )
        state.position = event.position
        state.attempts = 0
        state.next_attempt_at = None
        dead_lettered = True
    else:
        delay = event_retry_delay(state.attempts)
        state.next_attempt_at = now + timedelta(seconds=delay)
        logger.warning(
            "Consumer %s failed on event #%s (%s), attempt %d; retrying in %ss: %s",
            state.name, event.pk, event.type, state.attempts, delay, state.last_error,
        )
        dead_lettered = False
    state.save()
    return dead_lettered


@dataclass
class Delivery:
    delivered: int = 0
    failed: bool = False
    dead_lettered: bool = False
    skipped: bool = False  # not due yet, or another worker holds the consumer


def consumer_deliver(*, name, batch_size=DEFAULT_BATCH_SIZE):
    """Deliver the next events after `name`'s cursor to its handler. Safe to run concurrently:
    a consumer held by another worker is skipped, never delivered twice."""
    registration = get_consumer(name)
    if registration is None:
        raise LookupError(f"No event consumer named {name!r} is registered.")
    ConsumerState.objects.bulk_create([ConsumerState(name=name)], ignore_conflicts=True)
    outcome = Delivery()
    with transaction.atomic():
        state = ConsumerState.objects.select_for_update(skip_locked=True).filter(name=name).first()
        if state is None or (
            state.next_attempt_at is not None and state.next_attempt_at > timezone.now()
        ):
            outcome.skipped = True
            return outcome
        # Read the high-water mark after taking the lock: everything up to it is committed and
        # sequenced, so events the consumer does not want can be stepped over up to there.
        high = Event.objects.aggregate(high=Max("position"))["high"] or 0
        if high <= state.position:
            return outcome
        events = Event.objects.filter(position__gt=state.position, position__lte=high)
        if registration.event_types is not None:
            events = events.filter(type__in=registration.event_types)
        events = list(events.order_by("position")[:batch_size])
        position = state.position
        for event in events:
            try:
                with transaction.atomic():
                    registration.handler(event)
            except Exception as exc:
                state.position = position  # keep the progress made before this event
                outcome.failed = True
                outcome.dead_lettered = _record_failure(state, event, exc)
                return outcome
            position = event.position
            outcome.delivered += 1
        if len(events) < batch_size:
            position = high
        _checkpoint(state, position)
    return outcome


def events_deliver(*, batch_size=DEFAULT_BATCH_SIZE):
    """One delivery round over every registered consumer. One consumer's failure (even an
    unexpected database error) is logged and never stops the others."""
    delivered = 0
    for registration in registered_consumers():
        try:
            delivered += consumer_deliver(name=registration.name, batch_size=batch_size).delivered
        except Exception:
            logger.exception("Delivering events to consumer %s failed", registration.name)
    return delivered


def events_process(*, batch_size=DEFAULT_BATCH_SIZE):
    """Sequence what has committed, then deliver one batch to every consumer."""
    sequenced = events_sequence()
    delivered = events_deliver(batch_size=batch_size)
    return {"sequenced": sequenced, "delivered": delivered}


@contextmanager
def idempotent(consumer_name, event):
    """`with idempotent("crm.timeline", event) as first_time: if first_time: ...`

    Writes a receipt for (consumer, event). The first caller gets True; anyone after a
    committed receipt gets False. The receipt and the effect inside the block commit or roll
    back together, so an exception in the block leaves no receipt and the next delivery tries
    again.
    """
    with transaction.atomic():
        try:
            with transaction.atomic():
                ConsumerReceipt.objects.create(consumer=consumer_name, event=event)
        except IntegrityError:
            yield False
            return
        yield True


# --- Operator actions -----------------------------------------------------------------------


def dead_letter_replay(*, dead_letter, actor):
    """Redeliver a dead letter to its consumer now. Returns True when the handler succeeded
    (the letter is marked replayed), False when it failed again (the letter stays)."""
    registration = get_consumer(dead_letter.consumer)
    if registration is None:
        raise ValueError(f"Event consumer {dead_letter.consumer!r} is not registered.")
    with transaction.atomic():
        letter = (
            DeadLetter.objects.select_for_update().select_related("event").get(pk=dead_letter.pk)
        )
        if letter.replayed_at is not None:
            raise ValueError("This dead letter was already replayed.")
        event = letter.event
        try:
            with transaction.atomic():
                registration.handler(event)
        except Exception as exc:
            letter.attempts += 1
            letter.error = _error_text(exc)
            letter.traceback = "".join(traceback_module.format_exception(exc))[-20000:]
            letter.save(update_fields=["attempts", "error", "traceback"])
            succeeded = False
        else:
            letter.replayed_at = timezone.now()
            letter.save(update_fields=["replayed_at"])
            succeeded = True
        audit_record(
            actor=actor,
            organization=event.organization,
            action="event.dead_letter_replayed" if succeeded else "event.dead_letter_replay_failed",
            obj=letter,
            after={"consumer": letter.consumer, "event": event.pk, "error": letter.error},
        )
    dead_letter.replayed_at = letter.replayed_at
    dead_letter.attempts = letter.attempts
    dead_letter.error = letter.error
    logger.info(
        "Dead letter #%s (%s, event #%s) replayed by %s: %s",
        letter.pk, letter.consumer, event.pk, actor, "ok" if succeeded else letter.error,
    )
    return succeeded


def consumer_reset_cursor(*, name, position, actor):
    """Move a consumer's cursor (rebuild a projection from `position`, or skip ahead).

    Moving it back redelivers events: handlers must be idempotent for that to be safe."""
    if position < 0:
        raise ValueError("A cursor position cannot be negative.")
    ConsumerState.objects.bulk_create([ConsumerState(name=name)], ignore_conflicts=True)
    with transaction.atomic():
        state = ConsumerState.objects.select_for_update().get(name=name)
        before = state.position
        _checkpoint(state, position)
        audit_record(
            actor=actor,
            organization=None,
            action="event.consumer_cursor_reset",
            obj=state,
            before={"position": before},
            after={"position": position},
        )
    return state


# --- Selectors ------------------------------------------------------------------------------


def consumer_status_list():
    """Every registered consumer with its cursor, lag and retry state (for operators)."""
    high = Event.objects.aggregate(high=Max("position"))["high"] or 0
    states = {state.name: state for state in ConsumerState.objects.all()}
    pending_dead_letters = dict(
        DeadLetter.objects.pending()
        .order_by()
        .values("consumer")
        .annotate(count=Count("id"))
        .values_list("consumer", "count")
    )
    rows = []
    for registration in registered_consumers():
        state = states.get(registration.name)
        position = state.position if state else 0
        rows.append(
            {
                "name": registration.name,
                "position": position,
                "lag": max(high - position, 0),
                "attempts": state.attempts if state else 0,
                "next_attempt_at": state.next_attempt_at if state else None,
                "last_error": state.last_error if state else "",
                "dead_letters": pending_dead_letters.get(registration.name, 0),
            }
        )
    return rows
