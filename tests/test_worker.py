"""`jalin worker`: event delivery and database tasks in one process."""

import io
import os
import signal
import threading
import time

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from jalin.core.events_models import ConsumerState, Event
from jalin.core.management.commands.worker import EventAndTaskWorker
from jalin.core.tasks import deliver_events, send_email

from .test_events import consumers_fixture, effects, emit, record_effect  # noqa: F401


def run_worker_once(*args):
    out = io.StringIO()
    call_command("worker", "--once", *args, stdout=out)
    return out.getvalue()


def make_worker(interval=0.0):
    return EventAndTaskWorker(
        interval=interval, batch_size=10, queue_names=["default", "events"],
        backend_name="default", worker_id="test-worker",
    )


def test_worker_once_delivers_an_emitted_event(org, consumers):
    consumers("test.worker", lambda event: record_effect("worker", event))
    event = emit(org)

    output = run_worker_once()

    assert "Sequenced 1 events, delivered 1, ran 0 tasks." in output
    assert effects("worker") == [event.pk]
    assert Event.objects.get(pk=event.pk).position is not None
    assert "delivered 0" in run_worker_once()  # nothing twice
    assert effects("worker") == [event.pk]


def test_worker_once_runs_an_enqueued_email_task(db):
    result = send_email.enqueue(
        to=["buyer@example.test"], subject="Order confirmed", body="Thanks for your order."
    )
    assert mail.outbox == []  # enqueued, not sent

    output = run_worker_once()

    assert "ran 1 tasks" in output
    assert [(m.subject, m.to) for m in mail.outbox] == [
        ("Order confirmed", ["buyer@example.test"])
    ]
    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == 1
    assert "ran 0 tasks" in run_worker_once()
    assert len(mail.outbox) == 1


def test_failing_task_is_recorded_and_the_next_task_still_runs(db):
    broken = send_email.enqueue(to=["a@example.test"], subject="No body")  # missing `body`
    fine = send_email.enqueue(to=["b@example.test"], subject="Hello", body="Hi")

    run_worker_once()

    broken.refresh()
    fine.refresh()
    assert broken.status == TaskResultStatus.FAILED
    assert "body" in broken.errors[0].traceback
    assert fine.status == TaskResultStatus.SUCCESSFUL
    assert [m.to for m in mail.outbox] == [["b@example.test"]]


def test_deliver_events_task_delivers_through_the_task_queue(org, consumers):
    consumers("test.queued", lambda event: record_effect("queued", event))
    event = emit(org)
    result = deliver_events.enqueue(batch_size=10)
    assert result.task.queue_name == "events"

    worker = make_worker()
    assert worker.tasks.run_ready(10) == 1  # only the task runner, not the event pass

    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == {"sequenced": 1, "delivered": 1}
    assert effects("queued") == [event.pk]


def test_worker_only_runs_the_queues_it_was_given(db):
    send_email.enqueue(to=["a@example.test"], subject="Hello", body="Hi")
    assert "ran 0 tasks" in run_worker_once("--queues", "events")
    assert DBTaskResult.objects.get().status == TaskResultStatus.READY
    assert "ran 1 tasks" in run_worker_once("--queues", "default")


def test_worker_pass_survives_a_broken_consumer(org, consumers):
    def broken(event):
        raise RuntimeError("boom")

    consumers("test.broken", broken)
    consumers("test.fine", lambda event: record_effect("fine", event))
    event = emit(org)

    run_worker_once()

    assert effects("fine") == [event.pk]
    assert ConsumerState.objects.get(name="test.broken").attempts == 1


@pytest.mark.parametrize(
    "args", [("--interval", "-1"), ("--batch-size", "0"), ("--backend", "nope")]
)
def test_bad_options_are_refused(db, args):
    with pytest.raises(CommandError):
        call_command("worker", "--once", *args)


def test_sigterm_stops_the_loop_gracefully(org, consumers):
    """The loop sleeps for a long interval; SIGTERM wakes it and it returns promptly."""
    consumers("test.signal", lambda event: record_effect("signal", event))
    emit(org)
    worker = make_worker(interval=30)
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGTERM))
    try:
        worker.install_signal_handlers()
        timer.start()
        started = time.monotonic()
        worker.run()
        elapsed = time.monotonic() - started
    finally:
        timer.cancel()
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    assert elapsed < 5
    assert not worker.running
    assert len(effects("signal")) == 1  # the pass before the signal did its work


def test_second_signal_forces_exit(db):
    worker = make_worker()
    worker._on_signal(signal.SIGINT, None)
    assert not worker.running and not worker.tasks.running
    with pytest.raises(SystemExit):
        worker._on_signal(signal.SIGINT, None)
