"""`jalin worker`: deliver events and run background tasks in one process until stopped.

Each pass: sequence committed events, deliver a batch to every consumer that is due, run the
database tasks that are ready, run the housekeeping jobs that are due; sleep `--interval`
seconds when a pass found nothing to do.
SIGINT/SIGTERM finish the current step and exit; a second signal exits at once (the open
transaction rolls back, so the interrupted work is redone by the next worker).
Several workers may run side by side: consumers and tasks are claimed with row locks.
"""

import logging
import os
import signal
import socket
import threading
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import OperationalError, close_old_connections, connection
from django.tasks import task_backends
from django.tasks.exceptions import InvalidTaskBackend
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.management.commands.db_worker import Worker as DBTaskWorker
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction, is_locked_database_exception

from jalin.core.events import DEFAULT_BATCH_SIZE, events_deliver, events_sequence
from jalin.core.housekeeping import HousekeepingSchedule

logger = logging.getLogger("jalin.worker")


def refresh_connections():
    """Drop broken or expired connections between passes, like a request boundary does.
    Never inside a transaction (only possible when a caller wraps the pass, e.g. a test)."""
    if not connection.in_atomic_block:
        close_old_connections()


class TaskRunner(DBTaskWorker):
    """django_tasks_db's worker, driven one task at a time from our loop.

    Claiming mirrors `DBTaskWorker.run` (lock a ready row, mark it claimed, commit); running
    and recording the result is `DBTaskWorker.run_task`, unchanged.
    """

    def run_ready(self, limit):
        ran = 0
        while ran < limit and self.running:
            tasks = DBTaskResult.objects.ready().filter(
                backend_name=self.backend_name, queue_name__in=self.queue_names
            )
            try:
                with exclusive_transaction(tasks.db):
                    task_result = tasks.get_locked()
                    if task_result is not None:
                        task_result.claim(self.worker_id)
            except OperationalError as exc:
                if is_locked_database_exception(exc):
                    return ran  # SQLite busy: try again next pass
                raise
            if task_result is None:
                return ran
            logger.info("Running task %s (%s)", task_result.task_path, task_result.id)
            self.run_task(task_result)
            ran += 1
        return ran


class EventAndTaskWorker:
    def __init__(self, *, interval, batch_size, queue_names, backend_name, worker_id):
        self.interval = interval
        self.batch_size = batch_size
        self.running = True
        self._wake = threading.Event()
        self.housekeeping = HousekeepingSchedule()
        self.tasks = TaskRunner(
            queue_names=queue_names,
            interval=interval,
            batch=False,
            backend_name=backend_name,
            startup_delay=False,
            max_tasks=None,
            worker_id=worker_id,
            excluded_queue_names=[],
        )

    # Signals -------------------------------------------------------------------------------
    def install_signal_handlers(self):
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self._on_signal)

    def _on_signal(self, signum, frame):
        if not self.running:
            logger.warning("Received %s again: exiting now.", signal.strsignal(signum))
            raise SystemExit(1)
        logger.warning(
            "Received %s: finishing the current step, then stopping (again to force).",
            signal.strsignal(signum),
        )
        self.stop()

    def stop(self):
        self.running = False
        self.tasks.running = False
        self._wake.set()

    # Loop ----------------------------------------------------------------------------------
    def run_pass(self):
        """One round of everything. Returns how much work it found."""
        refresh_connections()
        sequenced = events_sequence()
        delivered = events_deliver(batch_size=self.batch_size) if self.running else 0
        ran = self.tasks.run_ready(self.batch_size) if self.running else 0
        if self.running:
            self.housekeeping.run_due()
        refresh_connections()
        if sequenced or delivered or ran:
            logger.info(
                "Pass: sequenced %d events, delivered %d, ran %d tasks", sequenced, delivered, ran
            )
        return {"sequenced": sequenced, "delivered": delivered, "tasks": ran}

    def run(self):
        while self.running:
            started = time.monotonic()
            try:
                work = self.run_pass()
            except Exception:
                # A database outage must not end the worker; it retries after the interval.
                logger.exception("Worker pass failed")
                work = {}
            if self.running and not any(work.values()):
                self._wake.wait(max(self.interval - (time.monotonic() - started), 0))


def positive_int(value):
    number = int(value)
    if number <= 0:
        raise ValueError(value)
    return number


class Command(BaseCommand):
    help = "Run background tasks and deliver events until stopped (SIGINT/SIGTERM)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Do one pass, then exit.")
        parser.add_argument(
            "--interval", type=float, default=1.0,
            help="Seconds to sleep after a pass that found no work (default: %(default)s).",
        )
        parser.add_argument(
            "--batch-size", type=positive_int, default=DEFAULT_BATCH_SIZE,
            help="Events per consumer and tasks per pass (default: %(default)s).",
        )
        parser.add_argument(
            "--queues", default="",
            help="Comma-separated task queues to run (default: all queues of the backend).",
        )
        parser.add_argument("--backend", default="default", help="Task backend alias.")

    def handle(self, *, once, interval, batch_size, queues, backend, **options):
        if interval < 0:
            raise CommandError("--interval must be zero or more.")
        try:
            task_backend = task_backends[backend]
        except InvalidTaskBackend as exc:
            raise CommandError(str(exc)) from exc
        if not isinstance(task_backend, DatabaseBackend):
            raise CommandError(f"Task backend {backend!r} is not a database backend.")
        queue_names = [name.strip() for name in queues.split(",") if name.strip()]
        queue_names = queue_names or sorted(task_backend.queues)
        worker_id = f"{socket.gethostname()}-{os.getpid()}"[:64]
        worker = EventAndTaskWorker(
            interval=interval,
            batch_size=batch_size,
            queue_names=queue_names,
            backend_name=backend,
            worker_id=worker_id,
        )
        if once:
            work = worker.run_pass()
            self.stdout.write(
                "Sequenced {sequenced} events, delivered {delivered}, ran {tasks} tasks.".format(
                    **work
                )
            )
            return
        logger.info("Worker %s started (queues: %s)", worker_id, ",".join(queue_names))
        worker.install_signal_handlers()
        worker.run()
        logger.info("Worker %s stopped", worker_id)
