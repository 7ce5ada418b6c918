"""A salesperson imports contacts in a real browser: the check names the bad row, nothing
is imported; the fixed file goes through, the progress bar (htmx polling) reaches done and
the contacts are in the list."""

import re

import pytest
from django.urls import reverse

from jalin.crm.imports import services
from jalin.crm.models import Contact, ImportJob
from tests.browser.test_shell_browser import csp_problems, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BAD = ("First name,Last name,Email\n"
       "Ani,Wijaya,ani@example.test\n"
       "Budi,Santoso,budi-at-example\n"
       "Citra,Lestari,citra@example.test\n")


@pytest.fixture(autouse=True)
def _private_files(settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "private": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(tmp_path), "base_url": None}}}


def run_worker():
    """What `jalin worker` does for the queued job (the page polls meanwhile)."""
    job = ImportJob.objects.filter(status="queued").latest("id")
    services.import_process(job_id=job.pk)


def upload_and_check(page, live_server, content):
    page.goto(live_server.url + reverse("crm:import_create"))
    page.get_by_label("Import into").select_option("contact")
    page.get_by_label("File type").select_option("csv")
    page.get_by_label("File", exact=True).set_input_files(
        files=[{"name": "contacts.csv", "mimeType": "text/csv", "buffer": content.encode()}])
    page.get_by_role("button", name="Upload").click()
    page.wait_for_url(re.compile(r"/crm/imports/\d+/mapping/$"))
    assert page.get_by_label("Email").input_value() == "email"
    page.get_by_role("button", name="Check every row").click()
    page.wait_for_url(re.compile(r"/crm/imports/\d+/$"))
    assert page.locator("#import-progress progress").count() == 1  # queued: polling
    run_worker()


def test_import_contacts_with_a_bad_row_then_the_fixed_file(page, live_server, org, owner,
                                                           console_messages):
    sign_in(page, live_server, "owner")
    upload_and_check(page, live_server, BAD)
    errors = page.locator("#import-errors")
    errors.wait_for()  # the polling partial brought the outcome in
    assert "1 row has errors. Nothing was imported." in page.locator(
        "#import-progress").inner_text()
    first_error = errors.locator("tbody tr").first.inner_text()
    assert "3" in first_error and "Email" in first_error
    assert "Enter a valid email address." in first_error
    assert not Contact.objects.exists()

    page.get_by_role("button", name="Upload a fixed file").click()
    upload_and_check(page, live_server, BAD.replace("budi-at-example", "budi@example.test"))
    page.get_by_text("Every row is valid").wait_for()
    page.get_by_role("button", name="Import").click()
    page.wait_for_url(re.compile(r"/crm/imports/\d+/$"))
    run_worker()
    page.get_by_text("Done: 3 created, 0 updated, 0 skipped.").wait_for()
    bar = page.locator("#import-progress-bar")
    assert bar.get_attribute("value") == bar.get_attribute("max") == "3"
    page.get_by_role("button", name="Go to contacts").click()
    page.wait_for_url(re.compile(r"/crm/contacts/$"))
    table = page.locator("#contact-table").inner_text()
    for name in ("Ani Wijaya", "Budi Santoso", "Citra Lestari"):
        assert name in table
    assert csp_problems(console_messages) == []
