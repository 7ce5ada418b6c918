"""Transactional outbox: emit, sequence, deliver, retry, dead-letter, replay, idempotency."""

from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone

from jalin.core import events
from jalin.core.audit import audit_record
from jalin.core.consumers import (
    consumer,
    get_consumer,
    register_consumer,
    registered_consumers,
    unregister_consumer,
)
from jalin.core.events import (
    consumer_deliver,
    consumer_reset_cursor,
    consumer_status_list,
    dead_letter_replay,
    emit_event,
    event_retry_delay,
    events_process,
    events_sequence,
    idempotent,
)
from jalin.core.events_models import (
    ConsumerReceipt,
    ConsumerState,
    DeadLetter,
    Event,
    EventSequencer,
)
from jalin.core.models import AuditLog
from jalin.tenancy.checks import check_tenant_owners


@pytest.fixture(name="consumers")
def consumers_fixture():
    """Register consumers for one test, alone: the apps' own consumers (the CRM timeline, ...)
    step aside for the test and come back afterwards, so counts of deliveries are the test's."""
    apps_consumers = registered_consumers()
    for registration in apps_consumers:
        unregister_consumer(registration.name)
    names = []

    def register(name, handler, event_types=None):
        register_consumer(name, handler, event_types=event_types)
        names.append(name)

    yield register
    for name in names:
        unregister_consumer(name)
    for registration in apps_consumers:
        register_consumer(registration.name, registration.handler,
                          event_types=registration.event_types)


def record_effect(name, event):
    """A database effect a consumer makes; it commits or rolls back with delivery."""
    audit_record(actor=None, organization=event.organization, action=f"effect:{name}",
                 object_id=event.pk)


def effects(name):
    return [
        int(object_id)
        for object_id in AuditLog.objects.filter(action=f"effect:{name}")
        .order_by("id")
        .values_list("object_id", flat=True)
    ]


def emit(org, type="test.happened", **payload):
    with transaction.atomic():
        return emit_event(type=type, organization=org, payload=payload)


class Clock:
    """Stands in for django.utils.timezone inside jalin.core.events."""

    def __init__(self):
        self.current = timezone.now()

    def now(self):
        return self.current

    def advance(self, seconds):
        self.current += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch):
    fake = Clock()
    monkeypatch.setattr(events, "timezone", fake)
    return fake


@pytest.fixture
def retry_settings(settings):
    settings.JALIN_EVENT_MAX_ATTEMPTS = 3
    settings.JALIN_EVENT_BACKOFF_BASE_SECONDS = 10
    settings.JALIN_EVENT_BACKOFF_MAX_SECONDS = 30
    return settings


# --- Emit and rollback ----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_emit_outside_a_transaction_is_refused(org):
    with pytest.raises(RuntimeError):
        emit_event(type="test.happened", organization=org)
    assert not Event.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_rolled_back_change_leaves_no_event_and_delivers_nothing(org, consumers):
    seen = []
    consumers("test.rollback", lambda event: seen.append(event.pk))

    with pytest.raises(ZeroDivisionError), transaction.atomic():
        emit_event(type="test.happened", organization=org)
        1 / 0  # noqa: B018 - the change fails after the event was written

    assert not Event.objects.exists()
    assert events_process() == {"sequenced": 0, "delivered": 0}
    assert seen == []


# --- Sequencing -----------------------------------------------------------------------------


def test_sequencer_numbers_committed_events_in_id_order(org):
    first, second, third = emit(org), emit(org), emit(org)
    assert first.position is None  # positions are given after commit, by the sequencer

    assert events_sequence() == 3
    positions = [Event.objects.get(pk=e.pk).position for e in (first, second, third)]
    assert positions == sorted(positions)
    assert len(set(positions)) == 3
    assert EventSequencer.objects.get().last_position == positions[-1]
    assert events_sequence() == 0


def test_sequencer_never_reuses_a_position_after_its_row_is_lost(org):
    first = emit(org)
    events_sequence()
    EventSequencer.objects.all().delete()
    later = emit(org)
    events_sequence()
    assert Event.objects.get(pk=later.pk).position == Event.objects.get(pk=first.pk).position + 1


def test_event_with_a_lower_id_that_becomes_visible_later_is_not_skipped(org, consumers):
    """The single-connection version of the late-commit trap (PostgreSQL threads test the real
    race): an event with a lower id appears after higher ids were delivered."""
    seen = []
    consumers("test.late", lambda event: seen.append(event.pk))
    with transaction.atomic():
        early = emit_event(type="test.happened", organization=org)
        late_id = early.pk
        early.delete()  # hold its id back, as an uncommitted transaction would
    later = emit(org)
    events_process()
    assert seen == [later.pk]

    with transaction.atomic():  # now the "slow transaction" commits its lower-id event
        Event.objects.create(id=late_id, type="test.happened", organization=org)
    events_process()

    assert seen == [later.pk, late_id]
    assert Event.objects.get(pk=late_id).position > Event.objects.get(pk=later.pk).position


# --- Delivery -------------------------------------------------------------------------------


def test_consumer_gets_each_event_once_in_order(org, other_org, consumers):
    consumers("test.all", lambda event: record_effect("all", event))
    emitted = [emit(org), emit(other_org), emit(None, type="system.tick")]

    events_process()
    events_process()

    assert effects("all") == [e.pk for e in emitted]
    state = ConsumerState.objects.get(name="test.all")
    assert state.position == Event.objects.get(pk=emitted[-1].pk).position
    assert state.attempts == 0


def test_type_filter_skips_other_types_and_still_advances(org, consumers):
    consumers("test.orders", lambda event: record_effect("orders", event),
              event_types=["hub.order_placed"])
    emit(org, type="crm.note_added")
    placed = emit(org, type="hub.order_placed")
    last = emit(org, type="crm.note_added")

    events_process()

    assert effects("orders") == [placed.pk]
    assert ConsumerState.objects.get(name="test.orders").position == (
        Event.objects.get(pk=last.pk).position
    )


def test_batches_resume_where_the_last_one_stopped(org, consumers):
    consumers("test.batch", lambda event: record_effect("batch", event),
              event_types=["test.happened"])
    emitted = [emit(org) for _ in range(5)]
    events_sequence()

    assert consumer_deliver(name="test.batch", batch_size=2).delivered == 2
    assert consumer_deliver(name="test.batch", batch_size=2).delivered == 2
    assert consumer_deliver(name="test.batch", batch_size=2).delivered == 1
    assert consumer_deliver(name="test.batch", batch_size=2).delivered == 0
    assert effects("batch") == [e.pk for e in emitted]


def test_unknown_consumer_is_an_error(db):
    with pytest.raises(LookupError):
        consumer_deliver(name="test.nobody")


def test_raising_consumer_blocks_neither_other_consumers_nor_the_write(org, consumers, clock):
    def broken(event):
        raise ConnectionError("CRM is down")

    consumers("test.broken", broken)
    consumers("test.healthy", lambda event: record_effect("healthy", event))

    first = emit(org)  # the write path is just an INSERT: it commits whatever consumers do
    events_process()
    second = emit(org)
    events_process()

    assert effects("healthy") == [first.pk, second.pk]
    broken_state = ConsumerState.objects.get(name="test.broken")
    assert broken_state.position == 0
    assert broken_state.attempts == 1
    assert "ConnectionError: CRM is down" in broken_state.last_error
    assert broken_state.next_attempt_at == clock.now() + timedelta(seconds=event_retry_delay(1))


def test_failure_rolls_back_that_handlers_partial_effect(org, consumers):
    def half_done(event):
        record_effect("half", event)
        raise ValueError("second step failed")

    consumers("test.half", half_done)
    emit(org)
    events_process()
    assert effects("half") == []


def test_retry_waits_for_the_backoff_schedule(org, consumers, clock, retry_settings):
    retry_settings.JALIN_EVENT_MAX_ATTEMPTS = 6
    calls = []

    def flaky(event):
        calls.append(clock.now())
        if len(calls) < 5:
            raise TimeoutError("try later")
        record_effect("flaky", event)

    consumers("test.flaky", flaky)
    event = emit(org)
    events_sequence()

    expected_delays = [10, 20, 30, 30]  # base * 2^(n-1), capped at the maximum
    assert [event_retry_delay(n) for n in range(1, 5)] == expected_delays
    for attempt, delay in enumerate(expected_delays, start=1):
        consumer_deliver(name="test.flaky")
        assert len(calls) == attempt
        state = ConsumerState.objects.get(name="test.flaky")
        assert state.attempts == attempt
        assert state.next_attempt_at == clock.now() + timedelta(seconds=delay)

        clock.advance(delay - 1)  # not yet due: the handler is not called
        assert consumer_deliver(name="test.flaky").skipped
        assert len(calls) == attempt
        clock.advance(1)

    consumer_deliver(name="test.flaky")
    assert effects("flaky") == [event.pk]
    state = ConsumerState.objects.get(name="test.flaky")
    assert (state.attempts, state.next_attempt_at, state.last_error) == (0, None, "")


def test_consumer_stops_at_the_failing_event_to_keep_order(org, consumers, clock):
    failures = {"left": 1}
    first, second, third = emit(org), emit(org), emit(org)

    def once_failing_on_second(event):
        if event.pk == second.pk and failures["left"]:
            failures["left"] -= 1
            raise RuntimeError("not now")
        record_effect("ordered", event)

    consumers("test.ordered", once_failing_on_second)
    events_process()
    assert effects("ordered") == [first.pk]
    assert ConsumerState.objects.get(name="test.ordered").position == (
        Event.objects.get(pk=first.pk).position
    )

    clock.advance(event_retry_delay(1))
    events_process()
    assert effects("ordered") == [first.pk, second.pk, third.pk]


# --- Dead letters ---------------------------------------------------------------------------


def _dead_letter_after_max_attempts(org, consumers, clock, healthy):
    poisoned = emit(org, type="test.poison")
    following = emit(org)

    def picky(event):
        if event.type == "test.poison" and not healthy["yes"]:
            raise ValueError("cannot parse payload")
        record_effect("picky", event)

    consumers("test.picky", picky)
    events_sequence()
    for attempt in range(1, 4):
        assert not DeadLetter.objects.exists()
        outcome = consumer_deliver(name="test.picky")
        assert outcome.failed
        assert outcome.dead_lettered == (attempt == 3)
        clock.advance(3600)
    return poisoned, following


def test_dead_letter_after_max_attempts_unblocks_the_consumer(
    org, consumers, clock, retry_settings
):
    poisoned, following = _dead_letter_after_max_attempts(
        org, consumers, clock, healthy={"yes": False}
    )

    letter = DeadLetter.objects.get()
    assert (letter.consumer, letter.event_id, letter.attempts) == (
        "test.picky", poisoned.pk, 3
    )
    assert "ValueError: cannot parse payload" in letter.error
    assert "cannot parse payload" in letter.traceback and "Traceback" in letter.traceback
    assert letter.replayed_at is None

    events_process()  # the cursor moved past the poisoned event
    assert effects("picky") == [following.pk]
    assert DeadLetter.objects.for_org(org).get() == letter
    assert [row["dead_letters"] for row in consumer_status_list() if row["name"] == "test.picky"
            ] == [1]


def test_dead_letter_replay_delivers_it_once_fixed(org, owner, consumers, clock, retry_settings):
    healthy = {"yes": False}
    poisoned, following = _dead_letter_after_max_attempts(org, consumers, clock, healthy)
    events_process()
    letter = DeadLetter.objects.get()

    healthy["yes"] = True
    assert dead_letter_replay(dead_letter=letter, actor=owner) is True

    letter.refresh_from_db()
    assert letter.replayed_at is not None
    assert effects("picky") == [following.pk, poisoned.pk]
    audit = AuditLog.objects.get(action="event.dead_letter_replayed")
    assert (audit.actor, audit.organization, audit.object_id) == (owner, org, str(letter.pk))
    with pytest.raises(ValueError):
        dead_letter_replay(dead_letter=letter, actor=owner)
    assert effects("picky") == [following.pk, poisoned.pk]
    assert not DeadLetter.objects.pending().exists()


def test_failed_replay_keeps_the_dead_letter(org, owner, consumers, clock, retry_settings):
    _dead_letter_after_max_attempts(org, consumers, clock, healthy={"yes": False})
    letter = DeadLetter.objects.get()

    assert dead_letter_replay(dead_letter=letter, actor=owner) is False

    letter.refresh_from_db()
    assert letter.replayed_at is None
    assert letter.attempts == 4
    assert AuditLog.objects.filter(action="event.dead_letter_replay_failed").count() == 1
    assert effects("picky") == []


def test_replay_for_an_unregistered_consumer_is_refused(org, owner):
    event = emit(org)
    letter = DeadLetter.objects.create(consumer="test.retired", event=event, attempts=8)
    with pytest.raises(ValueError):
        dead_letter_replay(dead_letter=letter, actor=owner)
    letter.refresh_from_db()
    assert letter.replayed_at is None


# --- Crash between effect and checkpoint; idempotency ---------------------------------------


@pytest.mark.django_db(transaction=True)
def test_crash_between_effect_and_checkpoint_redelivers_and_effect_happens_once(
    org, consumers, monkeypatch
):
    calls = []

    def count_and_record(event):
        calls.append(event.pk)
        record_effect("crashy", event)

    consumers("test.crashy", count_and_record)
    event = emit(org)

    real_checkpoint = events._checkpoint

    def killed_before_checkpoint(state, position):
        raise SystemError("worker killed after the handler ran")

    monkeypatch.setattr(events, "_checkpoint", killed_before_checkpoint)
    events_process()  # the handler ran; the worker died before the cursor was saved
    assert calls == [event.pk]
    assert effects("crashy") == []  # the effect went down with the checkpoint
    assert ConsumerState.objects.get(name="test.crashy").position == 0

    monkeypatch.setattr(events, "_checkpoint", real_checkpoint)
    events_process()
    events_process()
    assert calls == [event.pk, event.pk]  # redelivered ...
    assert effects("crashy") == [event.pk]  # ... and the effect happened once


@pytest.mark.django_db(transaction=True)
def test_receipt_keeps_the_effect_single_when_the_checkpoint_is_lost(org, owner, consumers):
    calls = []

    def guarded(event):
        calls.append(event.pk)
        with idempotent("test.guarded", event) as first_time:
            if first_time:
                record_effect("guarded", event)

    consumers("test.guarded", guarded)
    event = emit(org)
    events_process()
    # The checkpoint is lost after the effect committed (a restored state table, an operator
    # rewinding the consumer): the event is delivered again.
    consumer_reset_cursor(name="test.guarded", position=0, actor=owner)
    events_process()

    assert calls == [event.pk, event.pk]
    assert effects("guarded") == [event.pk]
    assert ConsumerReceipt.objects.filter(consumer="test.guarded", event=event).count() == 1
    assert AuditLog.objects.filter(action="event.consumer_cursor_reset").count() == 1


@pytest.mark.django_db(transaction=True)
def test_idempotent_block_that_fails_leaves_no_receipt(org):
    event = emit(org)
    with pytest.raises(ValueError), idempotent("test.receipt", event) as first_time:
        assert first_time
        raise ValueError("effect failed")
    assert not ConsumerReceipt.objects.exists()

    with idempotent("test.receipt", event) as first_time:
        assert first_time
    with idempotent("test.receipt", event) as first_time:
        assert not first_time
    with idempotent("test.other", event) as first_time:
        assert first_time


def test_cursor_cannot_be_negative(owner):
    with pytest.raises(ValueError):
        consumer_reset_cursor(name="test.any", position=-1, actor=owner)
    assert not ConsumerState.objects.exists()


# --- Registry and declarations --------------------------------------------------------------


def test_registry_rejects_a_second_handler_under_the_same_name(consumers):
    def handler(event):
        pass

    consumers("test.registry", handler, event_types=["a.b"])
    register_consumer("test.registry", handler, event_types=["a.b"])  # same: harmless
    with pytest.raises(ImproperlyConfigured):
        register_consumer("test.registry", lambda event: None)
    with pytest.raises(ImproperlyConfigured):
        register_consumer("test.string", handler, event_types="a.b")
    with pytest.raises(ImproperlyConfigured):
        register_consumer("", handler)
    assert get_consumer("test.registry").handler is handler


def test_decorator_registers_with_types():
    try:

        @consumer("test.decorated", types=["hub.order_placed"])
        def handler(event):
            pass

        registration = get_consumer("test.decorated")
        assert registration.handler is handler
        assert registration.wants("hub.order_placed")
        assert not registration.wants("crm.note_added")
        assert registration in registered_consumers()
    finally:
        unregister_consumer("test.decorated")
    assert get_consumer("test.decorated") is None


def test_delivery_models_declare_their_tenant_owner():
    from django.apps import apps

    errors = check_tenant_owners([apps.get_app_config("core")])
    assert errors == []
    assert DeadLetter.tenant_owner == "event__organization"
    assert ConsumerReceipt.tenant_owner == "event__organization"
    assert ConsumerState.tenant_exempt and EventSequencer.tenant_exempt
