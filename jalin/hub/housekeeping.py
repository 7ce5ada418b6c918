"""Periodic clean-up of the hub's private files (run by `jalin worker`), like the CRM's:

- a catalog import queued or running for a day has lost its worker: it is marked failed (its
  write is one transaction, so nothing was written); its file stays until the job is a week
  old, then it is deleted (the job row, counts and errors stay);
- `referenced_files(names)` tells the sweep of orphaned private files which files are still
  product images or import files, so it never deletes them.
"""

from datetime import timedelta

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from jalin.core.storage import private_storage

from .models import CatalogImportJob, CatalogImportStatus, ProductImage

STUCK_AFTER = timedelta(days=1)
FILE_KEPT_FOR = timedelta(days=7)
ACTIVE = (CatalogImportStatus.QUEUED, CatalogImportStatus.RUNNING)


def catalog_imports_expire(*, now=None):
    now = now or timezone.now()
    stuck = CatalogImportJob.objects.filter(
        status__in=ACTIVE, created_at__lt=now - STUCK_AFTER,
    ).update(status=CatalogImportStatus.FAILED, finished_at=now, error_count=1, errors=[{
        "row": 0, "column": "", "message": _(
            "The import stopped because its worker went away. Nothing was written; upload "
            "the file again.")}])
    storage = private_storage()
    deleted = 0
    old = (CatalogImportJob.objects.filter(created_at__lt=now - FILE_KEPT_FOR)
           .exclude(file="").exclude(status__in=ACTIVE))
    for job in old.iterator(chunk_size=1000):
        storage.delete(job.file.name)
        CatalogImportJob.objects.filter(pk=job.pk).update(file="")
        deleted += 1
    return {"stuck_failed": stuck, "files_deleted": deleted}


def referenced_files(names):
    names = list(names)
    found = set(CatalogImportJob.objects.filter(file__in=names).values_list("file", flat=True))
    for file_name, thumbnail in ProductImage.objects.filter(
            Q(file__in=names) | Q(thumbnail__in=names)).values_list("file", "thumbnail"):
        found.update((file_name, thumbnail))
    return found
