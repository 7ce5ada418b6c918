"""The filing cabinet in a real browser: a colleague opens a contact, uploads a file from the
documents panel (htmx, with the progress bar, no page load), sees it listed with its size and
version, downloads it and gets exactly the bytes back; then files a new version."""

import re
from pathlib import Path

import pytest
from django.urls import reverse

from jalin.crm import services as crm_services
from jalin.crm.models import Document
from tests.browser.test_shell_browser import csp_problems, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< >>\n%%EOF\n" * 40


@pytest.fixture(autouse=True)
def private_root(settings, tmp_path):
    root = tmp_path / "private"
    settings.JALIN_PRIVATE_MEDIA_ROOT = root
    settings.STORAGES = {**settings.STORAGES, "private": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(root), "base_url": None}}}
    return root


def test_upload_list_and_download_from_a_contact(page, live_server, org, owner, tmp_path,
                                                 console_messages):
    contact = crm_services.contact_create(organization=org, actor=owner, first_name="Sari",
                                          last_name="Wijaya")
    source = tmp_path / "Penawaran harga.pdf"
    source.write_bytes(PDF)
    sign_in(page, live_server, "owner")
    page.goto(live_server.url + reverse("crm:contact_detail", args=[contact.pk]))
    panel = page.locator("#documents-panel")
    assert "No documents yet." in panel.inner_text()
    url_before = page.url
    panel.get_by_label("Title (optional; the file name otherwise)").fill("Price offer")
    panel.locator("input[type=file][name=file]").last.set_input_files(str(source))
    panel.get_by_role("button", name="Upload", exact=True).click()
    row = page.locator("#documents-panel .document-row").first
    row.get_by_text("Penawaran harga.pdf").wait_for()
    assert page.url == url_before  # swapped in place by htmx
    text = row.inner_text()
    assert "Price offer" in text and "v1" in text and "owner" in text
    assert re.search(r"\d+(\.\d+)?\s(KB|bytes)", text)
    assert page.locator("#documents-panel progress").first.is_hidden()
    document = Document.objects.get()
    assert document.contact_id == contact.pk and document.current.size == len(PDF)

    with page.expect_download() as info:
        row.get_by_role("link", name="Penawaran harga.pdf").click()
    download = info.value
    assert download.suggested_filename == "Penawaran harga.pdf"
    assert Path(download.path()).read_bytes() == PDF

    # A new version from the same row.
    second = tmp_path / "offer-v2.pdf"
    second.write_bytes(PDF + b"% revised\n")
    row.locator("summary", has_text="New version").click()
    row.locator("input[type=file]").set_input_files(str(second))
    row.get_by_role("button", name="Upload version").click()
    page.locator("#documents-panel .document-row").first.get_by_text("offer-v2.pdf").wait_for()
    assert "v2" in page.locator("#documents-panel .document-row").first.inner_text()
    assert csp_problems(console_messages) == []


def test_a_file_over_the_limit_is_refused_before_sending(page, live_server, org, owner,
                                                         tmp_path, settings, console_messages):
    settings.JALIN_DOCUMENT_MAX_BYTES = 1000
    account = crm_services.account_create(organization=org, actor=owner, name="PT Maju")
    big = tmp_path / "scan.pdf"
    big.write_bytes(PDF * 3)
    sign_in(page, live_server, "owner")
    page.goto(live_server.url + reverse("crm:account_detail", args=[account.pk]))
    panel = page.locator("#documents-panel")
    assert "At most 1000\xa0bytes." in panel.inner_text()
    file_input = panel.locator("input[type=file][name=file]").last
    file_input.set_input_files(str(big))
    requests = []
    page.on("request", lambda request: requests.append(request.url)
            if "/crm/documents/" in request.url else None)
    panel.get_by_role("button", name="Upload", exact=True).click()
    message = file_input.evaluate("input => input.validationMessage")
    assert message.startswith("The file is too large")
    assert requests == [] and not Document.objects.exists()
    assert csp_problems(console_messages) == []
