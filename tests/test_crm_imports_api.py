"""The imports API: upload, mapping, dry run, run, errors, 413, tenancy and permissions."""

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile

from jalin.crm.models import Contact, ImportJob
from jalin.tenancy.models import Membership
from jalin.tenancy.roles import Role

IMMEDIATE = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
CSV = "Surname,Mail\nWijaya,ani@example.test\nSantoso,not-an-email\n"


@pytest.fixture(autouse=True)
def _imports_setup(settings, tmp_path):
    settings.TASKS = IMMEDIATE
    settings.STORAGES = {**settings.STORAGES, "private": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(tmp_path), "base_url": None}}}


def post_file(client, content=CSV, **data):
    return client.post("/api/v1/crm/imports", {
        "target": "contact", "format": "csv",
        "file": SimpleUploadedFile("people.csv", content.encode()), **data})


def test_upload_check_patch_and_run(org, owner, owner_client):
    response = post_file(owner_client)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["mapping"] == {"Surname": "last_name", "Mail": "email"}
    assert body["status"] == "uploaded" and body["total_rows"] == 2
    import_id = body["id"]
    checked = owner_client.post(f"/api/v1/crm/imports/{import_id}/dry-run")
    assert checked.status_code == 202
    detail = owner_client.get(f"/api/v1/crm/imports/{import_id}").json()
    assert detail["status"] == "previewed" and detail["error_count"] == 1
    assert detail["errors"][0] == {"row": 3, "column": "Mail", "field": "email",
                                   "message": "Enter a valid email address."}
    refused = owner_client.post(f"/api/v1/crm/imports/{import_id}/run", {},
                                content_type="application/json")
    assert refused.status_code == 202
    assert owner_client.get(f"/api/v1/crm/imports/{import_id}").json()["status"] == "failed"
    assert not Contact.objects.exists()
    bad_patch = owner_client.patch(f"/api/v1/crm/imports/{import_id}",
                                   {"mapping": {"Mail": "nonsense"}},
                                   content_type="application/json")
    assert bad_patch.status_code == 422
    assert bad_patch.json()["errors"][0]["field"] == "mapping.Mail"
    patched = owner_client.patch(f"/api/v1/crm/imports/{import_id}",
                                 {"valid_only": True}, content_type="application/json")
    assert patched.status_code == 200 and patched.json()["options"]["valid_only"] is True
    done = owner_client.post(f"/api/v1/crm/imports/{import_id}/run", {"valid_only": True},
                             content_type="application/json")
    assert done.status_code == 202
    final = owner_client.get(f"/api/v1/crm/imports/{import_id}").json()
    assert final["status"] == "done" and final["created_count"] == 1
    assert Contact.objects.get().last_name == "Wijaya"
    again = owner_client.post(f"/api/v1/crm/imports/{import_id}/run", {},
                              content_type="application/json")
    assert again.status_code == 422
    listing = owner_client.get("/api/v1/crm/imports").json()
    assert [item["id"] for item in listing["items"]] == [import_id]


def test_api_refuses_big_files_bad_input_and_strangers(org, owner, owner_client,
                                                        outsider_client, client, settings):
    assert post_file(owner_client, target="lead").status_code == 422
    assert post_file(owner_client, content="").status_code == 422
    settings.JALIN_IMPORT_MAX_BYTES = 10
    assert post_file(owner_client).status_code == 413
    settings.JALIN_IMPORT_MAX_BYTES = 10_000
    import_id = post_file(owner_client).json()["id"]
    for method, url in (("get", f"/api/v1/crm/imports/{import_id}"),
                        ("post", f"/api/v1/crm/imports/{import_id}/dry-run"),
                        ("post", f"/api/v1/crm/imports/{import_id}/run")):
        assert getattr(outsider_client, method)(url, {}, content_type="application/json") \
            .status_code == 404
    assert outsider_client.get("/api/v1/crm/imports").json()["items"] == []
    viewer = get_user_model().objects.create_user("viewer-a", "va@example.test", "x-Pass-1!")
    Membership.objects.create(user=viewer, organization=org, role=Role.BUYER)
    client.force_login(viewer)
    assert post_file(client).status_code == 403
    assert ImportJob.objects.count() == 1


def test_import_list_api_query_count_is_flat(org, owner, owner_client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count():
        with CaptureQueriesContext(connection) as context:
            assert owner_client.get("/api/v1/crm/imports?limit=50").status_code == 200
        return len(context.captured_queries)

    for _ in range(3):
        post_file(owner_client)
    count()
    few = count()
    for _ in range(20):
        post_file(owner_client)
    assert count() == few


def test_a_job_runs_once(org, owner, owner_client):
    from jalin.crm.imports import services

    import_id = post_file(owner_client).json()["id"]
    ImportJob.objects.filter(pk=import_id).update(status="queued")
    services.import_process(job_id=import_id)
    ImportJob.objects.filter(pk=import_id).update(status="previewed", processed_rows=0)
    assert services.import_process(job_id=import_id) == {"skipped": True}
    assert ImportJob.objects.get(pk=import_id).processed_rows == 0
