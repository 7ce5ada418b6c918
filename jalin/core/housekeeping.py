"""Periodic clean-up jobs that the worker runs (expired idempotency keys, old login failures).

Apps register their jobs in AppConfig.ready; core does not import them. Jobs must be
idempotent and cheap to repeat: with several workers each runs them on its own schedule.
"""

import logging
import time
from dataclasses import dataclass

logger = logging.getLogger("jalin.housekeeping")


@dataclass
class HousekeepingJob:
    name: str
    func: object
    every_seconds: float


_jobs: dict[str, HousekeepingJob] = {}


def register_housekeeping(name, func, *, every_seconds):
    if name in _jobs and _jobs[name].func is not func:
        raise ValueError(f"A housekeeping job named {name!r} is already registered.")
    _jobs[name] = HousekeepingJob(name=name, func=func, every_seconds=every_seconds)


def registered_housekeeping():
    return dict(_jobs)


class HousekeepingSchedule:
    """Remembers, per worker process, when each job last ran."""

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self.last_run: dict[str, float] = {}

    def run_due(self):
        """Run every job whose interval has passed (all of them on the first call)."""
        ran = 0
        for job in list(_jobs.values()):
            now = self.clock()
            last = self.last_run.get(job.name)
            if last is not None and now - last < job.every_seconds:
                continue
            self.last_run[job.name] = now
            try:
                result = job.func()
            except Exception:
                # One broken clean-up must not stop the others or the worker.
                logger.exception("Housekeeping job %s failed", job.name)
                continue
            ran += 1
            if result:
                logger.info("Housekeeping %s: %s", job.name, result)
        return ran
