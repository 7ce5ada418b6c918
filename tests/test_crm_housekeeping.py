"""The CRM's clean-up jobs: stuck imports fail, old import files go, orphan files go."""

import os
import time
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from jalin.core.housekeeping import registered_housekeeping
from jalin.crm import services as crm_services
from jalin.crm.documents import services as document_services
from jalin.crm.housekeeping import imports_expire, private_files_sweep
from jalin.crm.models import DocumentVersion, ImportJob, ImportStatus


@pytest.fixture(autouse=True)
def private_root(settings, tmp_path):
    root = tmp_path / "private"
    settings.JALIN_PRIVATE_MEDIA_ROOT = root
    settings.STORAGES = {**settings.STORAGES, "private": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(root), "base_url": None}}}
    return root


def make_old(path, days=2):
    then = time.time() - days * 86400
    os.utime(path, (then, then))


def job(org, owner, *, status, age_days, name):
    job = ImportJob(organization=org, created_by=owner, target="contact",
                    original_name="people.csv", status=status,
                    created_at=timezone.now() - timedelta(days=age_days))
    job.file.save(name, ContentFile(b"last_name\nSantoso\n"), save=False)
    job.save()
    return job


def test_jobs_are_registered():
    jobs = registered_housekeeping()
    assert "crm.imports_expire" in jobs and "crm.private_files_sweep" in jobs


def test_stuck_imports_fail_and_old_files_go(org, owner, private_root):
    stuck = job(org, owner, status=ImportStatus.RUNNING, age_days=2, name="imports/1/a.dat")
    fresh = job(org, owner, status=ImportStatus.RUNNING, age_days=0, name="imports/1/b.dat")
    old = job(org, owner, status=ImportStatus.PREVIEWED, age_days=8, name="imports/1/c.dat")
    old_path = private_root / old.file.name

    assert imports_expire() == {"stuck_failed": 1, "files_deleted": 1}

    stuck.refresh_from_db(), fresh.refresh_from_db(), old.refresh_from_db()
    assert stuck.status == ImportStatus.FAILED and "worker" in stuck.errors[0]["message"]
    assert stuck.file.name  # kept: the person may check the file again
    assert fresh.status == ImportStatus.RUNNING
    assert old.file.name == "" and not old_path.exists()
    assert old.status == ImportStatus.PREVIEWED  # the record of the job stays
    assert imports_expire() == {"stuck_failed": 0, "files_deleted": 0}


def test_orphan_files_are_swept_after_a_grace_day(org, owner, private_root):
    account = crm_services.account_create(organization=org, actor=owner, name="PT Arsip")
    document = document_services.document_upload(
        organization=org, actor=owner, record=account,
        file=ContentFile(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", name="a.pdf"),
    )
    kept = private_root / DocumentVersion.objects.get(document=document).file.name
    make_old(kept)
    orphan = private_root / str(org.pk) / "2026" / "01" / "left-by-a-rollback"
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"nobody points here")
    make_old(orphan)
    young = private_root / str(org.pk) / "2026" / "01" / "being-uploaded"
    young.write_bytes(b"its transaction has not committed yet")

    assert private_files_sweep() == {"orphans_deleted": 1}
    assert kept.exists() and young.exists() and not orphan.exists()
