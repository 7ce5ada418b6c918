"""/api/v1/crm/documents over HTTP: multipart uploads under accounts, contacts and activities,
type detection, 413 for oversized files (nothing on disk), 422 for empty files, programs and
foreign records, 404 for foreign ids, versions, PATCH/DELETE with stale versions, downloads
as sandboxed attachments, permissions, session CSRF and a flat query count."""

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from jalin.api.testing import ApiClient, bearer_token_for
from jalin.crm import services as crm_services
from jalin.crm.activities import services as activity_services
from jalin.crm.documents import services
from jalin.crm.models import Document
from jalin.tenancy.models import Membership
from jalin.tenancy.roles import Role
from tests.conftest import make_user
from tests.test_crm_documents import ELF, HTML, PDF, PNG, stored_files

API = "/api/v1"


@pytest.fixture(autouse=True)
def private_root(settings, tmp_path):
    root = tmp_path / "private"
    settings.JALIN_PRIVATE_MEDIA_ROOT = root
    settings.STORAGES = {**settings.STORAGES, "private": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(root), "base_url": None}}}
    return root


def api_for(user):
    return ApiClient(token=bearer_token_for(Membership.objects.get(user=user)))


@pytest.fixture
def owner_api(owner):
    return api_for(owner)


@pytest.fixture
def outsider_api(outsider):
    return api_for(outsider)


@pytest.fixture
def account(org, owner):
    return crm_services.account_create(organization=org, actor=owner, name="PT Sinar Jaya")


@pytest.fixture
def contact(org, owner, account):
    return crm_services.contact_create(organization=org, actor=owner, last_name="Santoso",
                                       account=account)


@pytest.fixture
def foreign_account(other_org, outsider):
    return crm_services.account_create(organization=other_org, actor=outsider, name="Rival")


def multipart(api, path, content, name="file.bin", **fields):
    data = {key: value for key, value in fields.items() if value is not None}
    if content is not None:
        data["file"] = SimpleUploadedFile(name, content, content_type="text/plain")
    return api.client.post(API + path, data, headers=api._headers(None))


def test_upload_read_list_and_download(owner_api, account, contact, private_root):
    response = multipart(owner_api, "/crm/documents", PNG, name="photo.txt",
                         account_id=account.pk, title="Warehouse", description="Gate")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["title"], body["description"], body["account_id"], body["contact_id"]) == (
        "Warehouse", "Gate", account.pk, None)
    current = body["current"]
    assert current["content_type"] == "image/png" and current["file_name"] == "photo.txt"
    assert current["size"] == len(PNG) and current["number"] == 1
    assert current["sha256"] == hashlib.sha256(PNG).hexdigest()
    assert len(stored_files(private_root)) == 1
    document_id = body["id"]
    assert owner_api.get(f"/crm/documents/{document_id}").json()["id"] == document_id
    multipart(owner_api, "/crm/documents", PDF, name="offer.pdf", contact_id=contact.pk)
    everything = owner_api.get("/crm/documents").json()["items"]
    assert [item["title"] for item in everything] == ["offer.pdf", "Warehouse"]
    only = owner_api.get(f"/crm/documents?account_id={account.pk}").json()["items"]
    assert [item["id"] for item in only] == [document_id]
    download = owner_api.get(f"/crm/documents/{document_id}/download")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PNG
    assert download["Content-Type"] == "image/png"
    assert download["Content-Disposition"] == 'attachment; filename="photo.txt"'
    assert download["X-Content-Type-Options"] == "nosniff"
    assert download["Content-Security-Policy"] == "sandbox; default-src 'none'"
    assert body["download_url"] == f"/api/v1/crm/documents/{document_id}/download"


def test_html_is_downloaded_as_octet_stream(owner_api, account):
    body = multipart(owner_api, "/crm/documents", HTML, name="x.html",
                     account_id=account.pk).json()
    assert body["current"]["content_type"] == "text/html"
    download = owner_api.get(f"/crm/documents/{body['id']}/download")
    assert download["Content-Type"] == "application/octet-stream"
    assert download["Content-Disposition"].startswith("attachment;")


def test_activity_documents(org, owner, owner_api, contact):
    activity = activity_services.activity_create(organization=org, actor=owner, kind="note",
                                                 status="done", subject="Visit",
                                                 contact=contact)
    response = multipart(owner_api, "/crm/documents", PDF, name="minutes.pdf",
                         activity_id=activity.pk)
    assert response.status_code == 201 and response.json()["activity_id"] == activity.pk
    listed = owner_api.get(f"/crm/documents?activity_id={activity.pk}").json()["items"]
    assert len(listed) == 1


def test_refused_uploads_write_nothing(owner_api, account, foreign_account, private_root,
                                      settings):
    cases = [
        (multipart(owner_api, "/crm/documents", ELF, name="a.pdf", account_id=account.pk),
         422, "executable"),
        (multipart(owner_api, "/crm/documents", b"", name="a.txt", account_id=account.pk),
         422, None),
        (multipart(owner_api, "/crm/documents", PDF, account_id=foreign_account.pk),
         422, "invalid_account"),
        (multipart(owner_api, "/crm/documents", PDF), 422, "record_required"),
        (multipart(owner_api, "/crm/documents", PDF, account_id=account.pk,
                   contact_id=1), 422, "record_required"),
        (multipart(owner_api, "/crm/documents", None, account_id=account.pk), 422, None),
    ]
    for response, status, code in cases:
        assert response.status_code == status, response.content
        assert response["Content-Type"] == "application/problem+json"
        if code:
            assert response.json()["code"] == code
    settings.JALIN_DOCUMENT_MAX_BYTES = 1000
    response = multipart(owner_api, "/crm/documents", b"%PDF" + b"x" * 200_000,
                         account_id=account.pk)
    assert response.status_code == 413
    problem = response.json()
    assert problem["code"] == "payload_too_large" and "too large" in problem["detail"]
    # Just over the limit (within the form's overhead): caught while reading the file.
    response = multipart(owner_api, "/crm/documents", b"x" * 1001, account_id=account.pk)
    assert response.status_code == 413
    assert not Document.objects.exists() and stored_files(private_root) == []


def test_versions_patch_and_delete(owner_api, account, private_root,
                                   django_capture_on_commit_callbacks):
    document = multipart(owner_api, "/crm/documents", PDF, name="v1.pdf",
                         account_id=account.pk).json()
    path = f"/crm/documents/{document['id']}"
    response = multipart(owner_api, path + "/versions", PNG, name="v2.png", version=1)
    assert response.status_code == 201
    assert response.json()["current"]["number"] == 2 and response.json()["version"] == 2
    stale = multipart(owner_api, path + "/versions", PNG, name="v3.png", version=1)
    assert stale.status_code == 409 and stale.json()["code"] == "stale"
    assert len(stored_files(private_root)) == 2
    versions = owner_api.get(path + "/versions").json()["items"]
    assert [(v["number"], v["file_name"]) for v in versions] == [(2, "v2.png"),
                                                                 (1, "v1.pdf")]
    old = owner_api.get(path + "/versions/1/download")
    assert b"".join(old.streaming_content) == PDF
    assert owner_api.get(path + "/versions/7/download").status_code == 404
    patched = owner_api.patch(path, {"version": 2, "title": "Contract"})
    assert patched.status_code == 200 and patched.json()["title"] == "Contract"
    assert owner_api.patch(path, {"version": 2, "title": "Late"}).status_code == 409
    assert owner_api.patch(path, {"version": 3, "title": ""}).status_code == 422
    assert owner_api.patch(path, {"version": 3, "owner": 1}).status_code == 422
    assert owner_api.delete(path + "?version=1").status_code == 409
    with django_capture_on_commit_callbacks(execute=True):
        assert owner_api.delete(path + "?version=3").status_code == 204
    assert owner_api.get(path).status_code == 404
    assert stored_files(private_root) == []


def test_outsiders_get_404_and_viewers_cannot_write(org, owner, owner_api, outsider_api,
                                                   account):
    document = multipart(owner_api, "/crm/documents", PDF, account_id=account.pk).json()
    path = f"/crm/documents/{document['id']}"
    for response in (outsider_api.get(path), outsider_api.get(path + "/download"),
                     outsider_api.get(path + "/versions"),
                     outsider_api.get(path + "/versions/1/download"),
                     outsider_api.patch(path, {"version": 1, "title": "Mine"}),
                     outsider_api.delete(path),
                     multipart(outsider_api, path + "/versions", PDF, version=1)):
        assert response.status_code == 404, response.content
    assert multipart(outsider_api, "/crm/documents", PDF,
                     account_id=account.pk).status_code == 422
    assert outsider_api.get(f"/crm/documents?account_id={account.pk}").status_code == 422
    assert outsider_api.get("/crm/documents").json()["items"] == []
    viewer = make_user("viewer")
    Membership.objects.create(user=viewer, organization=org, role=Role.VIEWER)
    viewer_api = api_for(viewer)
    assert viewer_api.get(path + "/download").status_code == 200
    assert multipart(viewer_api, "/crm/documents", PDF,
                     account_id=account.pk).status_code == 403
    assert multipart(viewer_api, path + "/versions", PDF, version=1).status_code == 403
    assert viewer_api.delete(path).status_code == 403
    assert Document.objects.count() == 1


def test_session_upload_needs_csrf(owner, account):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    data = {"account_id": account.pk, "file": SimpleUploadedFile("a.pdf", PDF)}
    assert client.post(API + "/crm/documents", data).status_code == 403
    assert client.post(API + "/crm/documents", {"file": SimpleUploadedFile("a.pdf", PDF),
                                                "account_id": account.pk}).status_code == 403
    assert not Document.objects.exists()
    assert Client().post(API + "/crm/documents", data).status_code == 401


def test_list_query_count_is_flat_and_cursor_walks(org, owner, owner_api, account):
    def fill(count):
        for index in range(count):
            services.document_upload(organization=org, actor=owner, record=account,
                                     file=SimpleUploadedFile(f"{index}.pdf", PDF))

    def queries():
        with CaptureQueriesContext(connection) as context:
            response = owner_api.get(f"/crm/documents?account_id={account.pk}&limit=50")
        assert response.status_code == 200
        return len(context.captured_queries)

    fill(3)
    queries()
    small = queries()
    fill(27)
    assert queries() == small
    seen, cursor = [], None
    while True:
        url = "/crm/documents?limit=7" + (f"&cursor={cursor}" if cursor else "")
        page = owner_api.get(url).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 30
    assert owner_api.get("/crm/documents?cursor=bad").status_code == 400
