"""Background tasks (Django's tasks API; the database backend runs them in `jalin worker`).

Enqueue from a service with `send_email.enqueue(to=[...], subject=..., body=...)`. The task
row is written in the caller's transaction, so a rolled-back service enqueues nothing.
Arguments must be JSON-serializable: pass ids, not model instances.
"""

import logging

from django.core.mail import send_mail
from django.tasks import task

from .events import DEFAULT_BATCH_SIZE, events_process

logger = logging.getLogger("jalin.tasks")


@task(queue_name="events")
def deliver_events(batch_size=DEFAULT_BATCH_SIZE):
    """Sequence committed events and deliver one batch to every consumer.

    `jalin worker` already does this on every pass; the task exists for deployments that run
    only a task worker, or to kick delivery right after a bulk import.
    """
    return events_process(batch_size=batch_size)


@task()
def send_email(*, to, subject, body, html_body=None, from_email=None):
    """Send one e-mail. Failure marks the task failed (visible in the task results)."""
    sent = send_mail(
        subject=subject,
        message=body,
        from_email=from_email,
        recipient_list=list(to),
        html_message=html_body,
        fail_silently=False,
    )
    logger.info("Sent e-mail %r to %d recipient(s)", subject, len(to))
    return sent
