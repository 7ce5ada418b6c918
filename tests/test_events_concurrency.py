"""Outbox guarantees under real concurrency, on PostgreSQL with threads (one connection each)."""

import threading
import time

import pytest
from django.db import connection, transaction

from jalin.core.events import consumer_deliver, emit_event, events_process, events_sequence
from jalin.core.events_models import ConsumerState, Event, EventSequencer

from .test_events import consumers_fixture, effects, emit, record_effect  # noqa: F401

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

WAIT = 10  # seconds; only reached when something is wrong


@pytest.fixture(autouse=True)
def _postgres_only(db):
    if connection.vendor != "postgresql":
        pytest.skip("concurrency guarantees are proven on PostgreSQL")


def in_thread(target, *args):
    """Run `target` in a thread with its own connection; re-raise its error on join()."""
    errors = []

    def run():
        try:
            target(*args)
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()

    def join():
        thread.join(WAIT)
        assert not thread.is_alive(), "thread did not finish"
        if errors:
            raise errors[0]

    return join


def test_event_that_commits_after_a_higher_id_is_delivered_not_skipped(org, consumers):
    seen = []
    consumers("test.late", lambda event: seen.append(event.pk))
    emitted, release = threading.Event(), threading.Event()
    slow = {}

    def slow_transaction():
        with transaction.atomic():
            slow["event"] = emit_event(type="test.slow", organization=org)
            emitted.set()
            assert release.wait(WAIT)

    join = in_thread(slow_transaction)
    assert emitted.wait(WAIT)
    fast = emit(org, type="test.fast")  # a later id, committed first
    assert slow["event"].pk < fast.pk

    events_process()
    assert seen == [fast.pk]  # the uncommitted event is invisible, not passed over

    release.set()
    join()
    events_process()
    events_process()

    assert seen == [fast.pk, slow["event"].pk]
    positions = dict(Event.objects.values_list("pk", "position"))
    assert positions[slow["event"].pk] > positions[fast.pk]


def test_concurrent_sequencers_give_commit_ordered_positions_readers_never_skip(org):
    writers, per_writer = 4, 15
    done = threading.Event()
    seen = []

    def write_and_sequence():
        for _ in range(per_writer):
            with transaction.atomic():
                emit_event(type="test.burst", organization=org)
            events_sequence(limit=3)

    def read_positions():
        # What the public API does: remember the last position, ask for the ones after it.
        cursor = 0
        while True:
            finished = done.is_set()
            rows = list(
                Event.objects.filter(position__gt=cursor)
                .order_by("position")
                .values_list("pk", "position")
            )
            seen.extend(pk for pk, _ in rows)
            if rows:
                cursor = rows[-1][1]
            if finished and not rows:
                return
            time.sleep(0.001)

    join_reader = in_thread(read_positions)
    joins = [in_thread(write_and_sequence) for _ in range(writers)]
    for join in joins:
        join()
    while events_sequence():
        pass
    done.set()
    join_reader()

    total = writers * per_writer
    positions = sorted(Event.objects.values_list("position", flat=True))
    assert None not in positions
    assert positions == list(range(positions[0], positions[0] + total))
    assert EventSequencer.objects.get().last_position == positions[-1]
    assert sorted(seen) == sorted(Event.objects.values_list("pk", flat=True))
    assert len(seen) == total  # every event seen once: no position appeared behind a reader


def test_two_workers_never_deliver_an_event_twice_to_one_consumer(org, consumers):
    delivered = []
    lock = threading.Lock()

    def slow_handler(event):
        record_effect("race", event)
        with lock:
            delivered.append(event.pk)
        time.sleep(0.005)  # widen the window in which the other worker could double-deliver

    consumers("test.race", slow_handler)
    emitted = [emit(org).pk for _ in range(40)]
    events_sequence()
    high = Event.objects.order_by("-position").values_list("position", flat=True).first()
    start = threading.Barrier(2)
    skips = []

    def worker():
        start.wait(WAIT)
        for _ in range(1000):
            outcome = consumer_deliver(name="test.race", batch_size=5)
            if outcome.skipped:
                skips.append(1)
            if ConsumerState.objects.get(name="test.race").position >= high:
                return

    joins = [in_thread(worker), in_thread(worker)]
    for join in joins:
        join()

    assert sorted(delivered) == sorted(emitted)
    assert len(delivered) == len(set(delivered))
    assert sorted(effects("race")) == sorted(emitted)
    assert skips, "the workers never contended; the test proved nothing"


def test_busy_consumer_blocks_neither_the_write_path_nor_other_consumers(org, consumers):
    inside, release = threading.Event(), threading.Event()

    def stuck_handler(event):
        inside.set()
        assert release.wait(WAIT)

    consumers("test.stuck", stuck_handler)
    consumers("test.other", lambda event: record_effect("other", event))
    first = emit(org)
    events_sequence()
    join = in_thread(lambda: consumer_deliver(name="test.stuck"))
    assert inside.wait(WAIT)
    try:
        started = time.monotonic()
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '2s'")
            second = emit_event(type="test.happened", organization=org)
        events_sequence()
        consumer_deliver(name="test.other")
        assert consumer_deliver(name="test.stuck").skipped  # held by the other worker
        assert time.monotonic() - started < 2
        assert effects("other") == [first.pk, second.pk]
    finally:
        release.set()
        join()


def test_held_sequencer_lock_does_not_block_emitting(org):
    holding, release = threading.Event(), threading.Event()

    def hold_sequencer():
        EventSequencer.objects.get_or_create(pk=EventSequencer.SINGLETON_ID)
        with transaction.atomic():
            EventSequencer.objects.select_for_update().get(pk=EventSequencer.SINGLETON_ID)
            holding.set()
            assert release.wait(WAIT)

    join = in_thread(hold_sequencer)
    assert holding.wait(WAIT)
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '2s'")
            event = emit_event(type="test.happened", organization=org)
        assert Event.objects.filter(pk=event.pk, position__isnull=True).exists()
    finally:
        release.set()
        join()
    assert events_sequence() == 1
