"""Periodic clean-up of the CRM's private files and import jobs (run by `jalin worker`).

- An import job that was queued or running for a day has lost its worker (a crash, a
  redeploy): it is marked failed with a message, and its writes never happened because the
  write is one transaction. Its file stays until the job is a week old, so the person can
  check the file again.
- The file of an import job that is a week old is deleted (the job row, counts and errors
  stay for the record).
- A private file that no document version and no import job names, and that is older than a
  day, is deleted: what remains of an upload whose transaction rolled back after the file was
  stored. The grace day keeps uploads that are still between "stored" and "committed".
"""

import logging
import os
from datetime import timedelta

from django.utils import timezone
from django.utils.translation import gettext as _

from jalin.core.storage import private_storage, referenced_private_files

from .models import DocumentVersion, ImportJob, ImportStatus

logger = logging.getLogger("jalin.crm.housekeeping")

STUCK_AFTER = timedelta(days=1)
IMPORT_FILE_KEPT_FOR = timedelta(days=7)
ORPHAN_GRACE = timedelta(days=1)
BATCH = 1000


def imports_expire(*, now=None):
    """Fail stuck import jobs and delete the files of week-old ones; returns the counts."""
    now = now or timezone.now()
    stuck = ImportJob.objects.filter(
        status__in=(ImportStatus.QUEUED, ImportStatus.RUNNING), created_at__lt=now - STUCK_AFTER
    ).update(
        status=ImportStatus.FAILED, finished_at=now, error_count=1,
        errors=[{"row": 0, "column": "", "field": "", "message": _(
            "The import stopped because its worker went away. Nothing was written; check "
            "the file again.")}],
    )
    storage = private_storage()
    expired = 0
    old_with_files = (ImportJob.objects.filter(created_at__lt=now - IMPORT_FILE_KEPT_FOR)
                      .exclude(file="")
                      .exclude(status__in=(ImportStatus.QUEUED, ImportStatus.RUNNING)))
    for job in old_with_files.iterator(chunk_size=BATCH):
        storage.delete(job.file.name)
        ImportJob.objects.filter(pk=job.pk).update(file="")
        expired += 1
    return {"stuck_failed": stuck, "files_deleted": expired}


def _stored_files(root):
    for directory, _dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(directory, name)
            yield os.path.relpath(path, root).replace(os.sep, "/"), path


def _referenced(names):
    # Other apps' private files (hub product images, ...) are theirs to keep: ask them too.
    return set(DocumentVersion.objects.filter(file__in=names).values_list("file", flat=True)) | set(
        ImportJob.objects.filter(file__in=names).values_list("file", flat=True)) | (
        referenced_private_files(names))


def private_files_sweep(*, now=None):
    """Delete private files older than a day that nothing refers to; returns how many."""
    now = now or timezone.now()
    storage = private_storage()
    root = getattr(storage, "location", None)
    if not root or not os.path.isdir(root):
        return {"orphans_deleted": 0}
    cutoff = (now - ORPHAN_GRACE).timestamp()
    deleted = 0
    batch = []

    def sweep(batch):
        known = _referenced([name for name, _path in batch])
        count = 0
        for name, path in batch:
            if name not in known:
                os.remove(path)
                logger.info("Deleted orphan private file %s", name)
                count += 1
        return count

    for name, path in _stored_files(root):
        try:
            if os.path.getmtime(path) > cutoff:
                continue
        except FileNotFoundError:
            continue
        batch.append((name, path))
        if len(batch) >= BATCH:
            deleted += sweep(batch)
            batch = []
    if batch:
        deleted += sweep(batch)
    return {"orphans_deleted": deleted}


