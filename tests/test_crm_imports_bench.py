"""Throughput of a 50,000-row contact import (check + write). Skipped unless
JALIN_IMPORT_BENCH=1; run it on PostgreSQL:

    JALIN_IMPORT_BENCH=1 DATABASE_URL=postgres://... JALIN_TEST_DB_NAME=test_jalin_bench \
        .venv/bin/pytest -q -s -p no:cacheprovider tests/test_crm_imports_bench.py
"""

import os
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from jalin.crm import services as crm_services
from jalin.crm.imports import services
from jalin.crm.models import Contact, SearchDocument

pytestmark = pytest.mark.skipif(os.environ.get("JALIN_IMPORT_BENCH") != "1",
                                reason="set JALIN_IMPORT_BENCH=1 to measure import speed")
ROWS = int(os.environ.get("JALIN_IMPORT_BENCH_ROWS", "50000"))


def test_50k_contacts(org, owner, settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "private": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(tmp_path), "base_url": None}}}
    for i in range(20):
        crm_services.account_create(organization=org, actor=owner, name=f"Account {i}")
    lines = ["First name,Last name,Email,Phone,Job title,Company"]
    lines += [f"First{i},Last{i},person{i}@example.test,0812{i:08d},Buyer,Account {i % 20}"
              for i in range(ROWS)]
    data = ("\n".join(lines) + "\n").encode()
    job = services.import_create(organization=org, actor=owner, target="contact",
                                 format="csv",
                                 uploaded=SimpleUploadedFile("big.csv", data))
    job.status = "queued"
    job.mapping = {**job.mapping, "mode": "import"}
    job.save()
    started = time.perf_counter()
    services.import_process(job_id=job.pk)
    elapsed = time.perf_counter() - started
    job.refresh_from_db()
    assert job.status == "done", job.errors[:3]
    assert job.created_count == ROWS
    assert Contact.objects.filter(organization=org).count() == ROWS
    assert SearchDocument.objects.filter(kind="contact").count() == ROWS
    print(f"\n{ROWS} contacts checked and imported in {elapsed:.1f} s: "
          f"{ROWS / elapsed:.0f} rows/s")
