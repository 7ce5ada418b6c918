"""Documents (the filing cabinet): type detection from the content, refused files (empty,
programs, too large: nothing on disk, no row), private storage paths and sha256, versions,
deleting removes the files, a rolled-back upload leaves no file, foreign records, the panel
and pages (uploads with and without htmx, downloads as sandboxed attachments, 404 for
outsiders, viewers read only) and flat query counts of the panel and the list."""

import hashlib
import re

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import StopUpload
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from jalin.core.events import Event
from jalin.core.models import AuditLog
from jalin.crm import services as crm_services
from jalin.crm.activities import services as activity_services
from jalin.crm.documents import services
from jalin.crm.documents.uploads import DocumentSizeLimitHandler
from jalin.crm.models import Document, DocumentVersion, SearchDocument
from jalin.tenancy.models import Membership
from jalin.tenancy.roles import Role
from tests.conftest import make_user

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00"
       b"\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe"
       b"\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82")
PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< >>\n%%EOF\n"
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 120
PE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 120
MACHO = b"\xcf\xfa\xed\xfe\x07\x00\x00\x01" + b"\x00" * 120


@pytest.fixture(autouse=True)
def private_root(settings, tmp_path):
    root = tmp_path / "private"
    settings.JALIN_PRIVATE_MEDIA_ROOT = root
    settings.STORAGES = {**settings.STORAGES, "private": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(root), "base_url": None}}}
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "uploads")
    (tmp_path / "uploads").mkdir()
    return root


def stored_files(root):
    return sorted(path for path in root.rglob("*") if path.is_file()) if root.exists() else []


def upload_file(content, name="file.bin"):
    return SimpleUploadedFile(name, content, content_type="text/plain")


@pytest.fixture
def account(org, owner):
    return crm_services.account_create(organization=org, actor=owner, name="PT Sinar Jaya")


@pytest.fixture
def contact(org, owner, account):
    return crm_services.contact_create(organization=org, actor=owner, first_name="Budi",
                                       last_name="Santoso", account=account)


@pytest.fixture
def foreign_account(other_org, outsider):
    return crm_services.account_create(organization=other_org, actor=outsider,
                                       name="Rival secret")


@pytest.fixture
def viewer_client(org):
    user = make_user("viewer")
    Membership.objects.create(user=user, organization=org, role=Role.VIEWER)
    client = Client()
    client.force_login(user)
    return client


def upload(org, owner, record, content, name="file.bin", **kwargs):
    return services.document_upload(organization=org, actor=owner, record=record,
                                    file=upload_file(content, name), **kwargs)


# --- Services ------------------------------------------------------------------------------


def test_storage_follows_the_test_settings(private_root):
    field = DocumentVersion._meta.get_field("file")
    assert field.storage.location == str(private_root)


def test_upload_stores_privately_with_detected_type_and_sha256(org, owner, contact,
                                                               private_root):
    document = upload(org, owner, contact, PNG, name="notes.txt", title="Site photo",
                      description="Front gate")
    version = document.current
    assert (version.number, version.size, version.original_name) == (1, len(PNG), "notes.txt")
    assert version.content_type == "image/png"  # the content wins over the name
    assert version.sha256 == hashlib.sha256(PNG).hexdigest()
    assert re.fullmatch(rf"{org.pk}/\d{{4}}/\d{{2}}/[0-9a-f-]{{36}}", version.file.name)
    assert "notes" not in version.file.name
    assert stored_files(private_root) == [private_root / version.file.name]
    assert (private_root / version.file.name).read_bytes() == PNG
    assert document.title == "Site photo" and document.contact_id == contact.pk
    search = SearchDocument.objects.get(kind="document", object_id=document.pk)
    assert search.title == "Site photo" and search.subtitle == "notes.txt"
    event = Event.objects.get(type="crm.document.uploaded")
    assert event.payload["account_id"] == contact.account_id
    assert event.payload["contact_id"] == contact.pk
    assert event.payload["title"] == "Site photo"
    assert event.aggregate_id == str(document.pk)
    assert AuditLog.objects.filter(action="crm.document.uploaded",
                                   object_id=str(document.pk)).exists()


@pytest.mark.parametrize(("content", "name", "expected"), [
    (PDF, "offer.pdf", "application/pdf"),
    (PDF, "offer.txt", "application/pdf"),
    (b"name,qty\nbolt,4\n", "order.csv", "text/csv"),
    (b"just some words", "readme", "text/plain"),
    (b"just some words", "setup.exe", "text/plain"),
    (HTML, "page.txt", "text/html"),
    (b"<p>hello</p>", "page.html", "text/html"),
    (b"\x00\x01\x02\x03binary", "blob.dat", "application/octet-stream"),
])
def test_type_detection(content, name, expected):
    assert services.detect_content_type(content, name) == expected


def test_title_defaults_to_the_file_name(org, owner, account):
    document = upload(org, owner, account, PDF, name="Penawaran harga.pdf")
    assert document.title == "Penawaran harga.pdf"
    assert Event.objects.get(type="crm.document.uploaded").payload["contact_id"] is None


@pytest.mark.parametrize(("content", "code"), [
    (b"", "empty"), (ELF, "executable"), (PE, "executable"), (MACHO, "executable")])
def test_empty_files_and_programs_are_refused(org, owner, account, private_root, content,
                                              code):
    with pytest.raises(services.DocumentProblem) as error:
        upload(org, owner, account, content, name="innocent.pdf")
    assert error.value.code == code and error.value.field == "file"
    assert not Document.objects.exists() and not DocumentVersion.objects.exists()
    assert stored_files(private_root) == []


def test_size_limit(org, owner, account, private_root, settings):
    settings.JALIN_DOCUMENT_MAX_BYTES = 100
    with pytest.raises(services.FileTooLarge):
        upload(org, owner, account, b"x" * 101, name="big.txt")
    assert not Document.objects.exists() and stored_files(private_root) == []
    assert upload(org, owner, account, b"x" * 100, name="fits.txt").current.size == 100


def test_versions_are_numbered_and_stale_versions_refused(org, owner, member, account,
                                                          private_root):
    document = upload(org, owner, account, PDF, name="v1.pdf")
    document = services.document_add_version(document=document, actor=member,
                                              file=upload_file(PNG, "v2.png"), version=1)
    document = services.document_add_version(document=document, actor=owner,
                                              file=upload_file(b"third", "v3.txt"),
                                              version=2)
    numbers = list(document.versions.order_by("number").values_list("number", "original_name"))
    assert numbers == [(1, "v1.pdf"), (2, "v2.png"), (3, "v3.txt")]
    document.refresh_from_db()
    assert document.current.number == 3 and document.version == 3
    assert document.current.uploaded_by == owner
    assert len(stored_files(private_root)) == 3
    event = Event.objects.filter(type="crm.document.version_added").latest("id")
    assert event.payload["number"] == 3 and event.payload["account_id"] == account.pk
    with pytest.raises(services.StaleVersion):
        services.document_add_version(document=document, actor=owner,
                                      file=upload_file(b"late", "late.txt"), version=1)
    assert len(stored_files(private_root)) == 3  # the refused file was removed again
    assert document.versions.count() == 3


def test_update_title_and_description(org, owner, account):
    document = upload(org, owner, account, PDF, name="a.pdf")
    document = services.document_update(document=document, actor=owner, version=1,
                                        title="  Signed   contract ", description="2026")
    assert (document.title, document.description, document.version) == (
        "Signed contract", "2026", 2)
    assert SearchDocument.objects.get(kind="document", object_id=document.pk).title == \
        "Signed contract"
    with pytest.raises(services.CrmError) as error:
        services.document_update(document=document, actor=owner, version=2, title=" ")
    assert error.value.field == "title"
    with pytest.raises(services.StaleVersion):
        services.document_update(document=document, actor=owner, version=1, title="x")


def test_delete_removes_rows_and_files_after_commit(org, owner, account, private_root,
                                                   django_capture_on_commit_callbacks):
    document = upload(org, owner, account, PDF, name="a.pdf")
    services.document_add_version(document=document, actor=owner,
                                  file=upload_file(PNG, "b.png"), version=1)
    assert len(stored_files(private_root)) == 2
    with django_capture_on_commit_callbacks(execute=True):
        services.document_delete(document=document, actor=owner, version=2)
    assert not Document.objects.exists() and not DocumentVersion.objects.exists()
    assert stored_files(private_root) == []
    assert not SearchDocument.objects.filter(kind="document").exists()
    event = Event.objects.get(type="crm.document.deleted")
    assert event.payload["account_id"] == account.pk and event.payload["title"] == "a.pdf"


def test_rollback_leaves_no_file(org, owner, account, private_root, monkeypatch):
    def broken(document):
        raise RuntimeError("search is down")

    monkeypatch.setattr(services.search_index, "index_document", broken)
    with pytest.raises(RuntimeError):
        upload(org, owner, account, PDF, name="a.pdf")
    assert not Document.objects.exists() and stored_files(private_root) == []


def test_rollback_of_a_new_version_leaves_no_file(org, owner, account, private_root,
                                                  monkeypatch):
    document = upload(org, owner, account, PDF, name="a.pdf")
    monkeypatch.setattr(services, "emit_event",
                        lambda **kwargs: (_ for _ in ()).throw(RuntimeError("outbox full")))
    with pytest.raises(RuntimeError):
        services.document_add_version(document=document, actor=owner,
                                      file=upload_file(PNG, "b.png"), version=1)
    assert len(stored_files(private_root)) == 1 and document.versions.count() == 1


def test_foreign_and_archived_records_are_refused(org, owner, account, foreign_account):
    with pytest.raises(services.CrmError) as error:
        upload(org, owner, foreign_account, PDF)
    assert error.value.field == "account_id"
    crm_services.account_archive(account=account, actor=owner, version=account.version)
    account.refresh_from_db()
    with pytest.raises(services.CrmError) as error:
        upload(org, owner, account, PDF)
    assert error.value.field == "account_id"
    with pytest.raises(services.CrmError):
        services.document_upload(organization=org, actor=owner, record=org, file=None)
    assert not Document.objects.exists()


def test_activity_documents_carry_the_activitys_account_and_contact(org, owner, contact):
    activity = activity_services.activity_create(
        organization=org, actor=owner, kind="note", status="done", subject="Visit",
        account=contact.account, contact=contact)
    document = upload(org, owner, activity, PDF, name="minutes.pdf")
    assert document.activity_id == activity.pk
    payload = Event.objects.get(type="crm.document.uploaded").payload
    assert (payload["account_id"], payload["contact_id"], payload["activity_id"]) == (
        contact.account_id, contact.pk, activity.pk)


def test_the_upload_handler_stops_an_oversized_body_at_once(rf, settings):
    settings.JALIN_DOCUMENT_MAX_BYTES = 1000
    request = rf.post("/")
    handler = DocumentSizeLimitHandler(request)
    handler.handle_raw_input(None, {}, 1024**3, b"boundary")
    with pytest.raises(StopUpload) as stop:
        handler.new_file("file", "huge.bin", "application/octet-stream", None)
    assert stop.value.connection_reset
    assert request.document_upload_too_large
    chunked = DocumentSizeLimitHandler(rf.post("/"))
    chunked.handle_raw_input(None, {}, None, b"boundary")
    chunked.new_file("file", "huge.bin", "application/octet-stream", None)
    assert chunked.receive_data_chunk(b"x" * 600, 0) == b"x" * 600
    with pytest.raises(StopUpload):
        chunked.receive_data_chunk(b"x" * 600, 600)


# --- Pages ---------------------------------------------------------------------------------


def post_upload(client, record_field, record_id, content, name="file.bin", htmx=False,
                **extra):
    data = {record_field: record_id, "title": extra.pop("title", ""),
            "file": SimpleUploadedFile(name, content, content_type="text/html")}
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post(reverse("crm:document_upload"), data, headers=headers)


def test_panel_upload_without_javascript_then_download(owner_client, org, contact,
                                                       private_root):
    response = post_upload(owner_client, "contact", contact.pk, PDF, name="Offer 2026.pdf",
                           title="Offer")
    document = Document.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/crm/contacts/{contact.pk}/#document-{document.pk}"
    page = owner_client.get(f"/crm/contacts/{contact.pk}/")
    html = page.content.decode()
    assert "Offer 2026.pdf" in html and reverse("crm:document_download",
                                                args=[document.pk]) in html
    assert 'enctype="multipart/form-data"' in html and "crm/documents.js" in html
    download = owner_client.get(reverse("crm:document_download", args=[document.pk]))
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF
    assert download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"] == 'attachment; filename="Offer 2026.pdf"'
    assert download["X-Content-Type-Options"] == "nosniff"
    assert download["Content-Security-Policy"] == "sandbox; default-src 'none'"


def test_htmx_upload_returns_the_panel(owner_client, account):
    response = post_upload(owner_client, "account", account.pk, PNG, name="logo.png",
                           htmx=True)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section class="documents-panel"')
    assert "logo.png" in html and "v1" in html


def test_html_and_svg_download_as_sandboxed_octet_stream(owner_client, org, owner, account):
    for content, name in ((HTML, "invoice.html"),
                          (b'<svg xmlns="http://www.w3.org/2000/svg"><script>1</script></svg>',
                           "chart.svg")):
        document = upload(org, owner, account, content, name=name)
        response = owner_client.get(reverse("crm:document_download", args=[document.pk]))
        assert response.status_code == 200
        assert response["Content-Type"] == "application/octet-stream"
        assert response["Content-Disposition"].startswith("attachment;")
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Content-Security-Policy"] == "sandbox; default-src 'none'"
        assert b"".join(response.streaming_content) == content


def test_non_ascii_file_names_use_rfc5987(owner_client, org, owner, account):
    document = upload(org, owner, account, PDF, name="Penawaran – harga \"final\".pdf")
    response = owner_client.get(reverse("crm:document_download", args=[document.pk]))
    assert "filename*=utf-8''Penawaran%20%E2%80%93%20harga%20%22final%22.pdf" in \
        response["Content-Disposition"]


def test_version_download_and_detail_page(owner_client, org, owner, account):
    document = upload(org, owner, account, PDF, name="a.pdf")
    services.document_add_version(document=document, actor=owner,
                                  file=upload_file(PNG, "b.png"), version=1)
    old = owner_client.get(reverse("crm:document_version_download", args=[document.pk, 1]))
    assert b"".join(old.streaming_content) == PDF
    current = owner_client.get(reverse("crm:document_download", args=[document.pk]))
    assert b"".join(current.streaming_content) == PNG
    assert owner_client.get(reverse("crm:document_version_download",
                                    args=[document.pk, 9])).status_code == 404
    page = owner_client.get(reverse("crm:document_detail", args=[document.pk]))
    html = page.content.decode()
    assert page.status_code == 200 and "a.pdf" in html and "b.png" in html
    assert hashlib.sha256(PNG).hexdigest() in html


def test_new_version_edit_and_delete_from_pages(owner_client, org, owner, account,
                                                private_root,
                                                django_capture_on_commit_callbacks):
    document = upload(org, owner, account, PDF, name="a.pdf")
    response = owner_client.post(
        reverse("crm:document_add_version", args=[document.pk]),
        {"version": 1, "file": SimpleUploadedFile("b.pdf", PDF + b"%more")},
        headers={"HX-Request": "true"})
    assert response.status_code == 200 and "b.pdf" in response.content.decode()
    stale = owner_client.post(reverse("crm:document_add_version", args=[document.pk]),
                              {"version": 1, "file": SimpleUploadedFile("c.pdf", PDF)},
                              headers={"HX-Request": "true"})
    assert stale.status_code == 409 and len(stored_files(private_root)) == 2
    edit = owner_client.post(reverse("crm:document_edit", args=[document.pk]),
                             {"version": 2, "title": "Contract", "description": "Signed"})
    assert edit.status_code == 302
    document.refresh_from_db()
    assert (document.title, document.description) == ("Contract", "Signed")
    bad = owner_client.post(reverse("crm:document_edit", args=[document.pk]),
                            {"version": 3, "title": "", "description": ""})
    assert bad.status_code == 400 and "Give the document a title." in bad.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        gone = owner_client.post(reverse("crm:document_delete", args=[document.pk]),
                                 {"version": 3})
    assert gone.status_code == 302 and gone["Location"].startswith(
        f"/crm/accounts/{account.pk}/")
    assert not Document.objects.exists() and stored_files(private_root) == []


def test_refused_uploads_on_pages(owner_client, account, private_root, tmp_path, settings):
    response = post_upload(owner_client, "account", account.pk, ELF, name="tool.pdf",
                           htmx=True)
    assert response.status_code == 422
    assert "Programs cannot be filed as documents." in response.content.decode()
    response = post_upload(owner_client, "account", account.pk, b"", name="empty.txt")
    assert response.status_code == 302  # no-JS: back to the page with the message
    settings.JALIN_DOCUMENT_MAX_BYTES = 1000
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 100
    big = b"%PDF-1.4\n" + b"x" * 200_000
    response = post_upload(owner_client, "account", account.pk, big, name="big.pdf",
                           htmx=True)
    assert response.status_code == 413
    assert "too large" in response.content.decode()
    response = post_upload(owner_client, "account", account.pk, big, name="big.pdf")
    assert response.status_code == 413 and "too large" in response.content.decode()
    assert not Document.objects.exists() and stored_files(private_root) == []
    assert list((tmp_path / "uploads").iterdir()) == []  # nothing was spooled to disk


def test_outsiders_and_viewers(outsider_client, viewer_client, org, owner, account,
                               foreign_account):
    document = upload(org, owner, account, PDF, name="secret.pdf")
    for name, args in (("crm:document_download", [document.pk]),
                       ("crm:document_version_download", [document.pk, 1]),
                       ("crm:document_detail", [document.pk])):
        assert outsider_client.get(reverse(name, args=args)).status_code == 404
    assert outsider_client.post(reverse("crm:document_delete", args=[document.pk]),
                                {"version": 1}).status_code == 404
    # An outsider naming the victim's account in an upload gets 404, nothing is written.
    response = post_upload(outsider_client, "account", account.pk, PDF)
    assert response.status_code == 404 and Document.objects.count() == 1
    # A viewer reads and downloads but cannot write.
    assert viewer_client.get(reverse("crm:document_download",
                                     args=[document.pk])).status_code == 200
    page = viewer_client.get(f"/crm/accounts/{account.pk}/").content.decode()
    assert "secret.pdf" in page and reverse("crm:document_upload") not in page
    assert post_upload(viewer_client, "account", account.pk, PDF).status_code == 403
    assert viewer_client.post(reverse("crm:document_delete", args=[document.pk]),
                              {"version": 1}).status_code == 403
    assert Document.objects.count() == 1


def test_list_filters_and_keyset(owner_client, org, owner, member, account, contact):
    upload(org, owner, account, PDF, name="account.pdf")
    services.document_upload(organization=org, actor=member, record=contact,
                             file=upload_file(PDF, "contact.pdf"))
    html = owner_client.get(reverse("crm:document_list")).content.decode()
    assert "account.pdf" in html and "contact.pdf" in html
    html = owner_client.get(reverse("crm:document_list") + "?record=contact").content.decode()
    assert "contact.pdf" in html and "account.pdf" not in html
    html = owner_client.get(reverse("crm:document_list")
                            + f"?uploader={owner.pk}").content.decode()
    assert "account.pdf" in html and "contact.pdf" not in html
    html = owner_client.get(reverse("crm:document_list")
                            + f"?account={account.pk}").content.decode()
    assert "account.pdf" in html and "contact.pdf" not in html
    for index in range(55):
        upload(org, owner, account, PDF, name=f"bulk-{index}.pdf")
    first = owner_client.get(reverse("crm:document_list")).content.decode()
    assert "bulk-54.pdf" in first and "account.pdf" not in first and "before=" in first
    older = re.search(r'href="\?before=(\d+)"', first).group(1)
    second = owner_client.get(reverse("crm:document_list") + f"?before={older}")
    assert "account.pdf" in second.content.decode()


def _count(client, url):
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200
    return len(context.captured_queries)


def test_panel_and_list_query_counts_do_not_grow(owner_client, org, owner, member, account,
                                                 contact):
    def fill(count):
        for index in range(count):
            for record in (account, contact):
                services.document_upload(organization=org, actor=(owner, member)[index % 2],
                                         record=record, file=upload_file(PDF, f"{index}.pdf"))

    fill(3)
    urls = [f"/crm/accounts/{account.pk}/", f"/crm/contacts/{contact.pk}/",
            reverse("crm:document_list")]
    _count(owner_client, urls[0])
    small = [_count(owner_client, url) for url in urls]
    fill(27)
    assert [_count(owner_client, url) for url in urls] == small


def test_stored_content_file_from_code(org, owner, account):
    document = services.document_upload(organization=org, actor=owner, record=account,
                                        file=ContentFile(b"plain words", name="memo.txt"))
    assert document.current.content_type == "text/plain"
