"""CSV imports: every row checked like form input, nothing written while any row is bad
(unless the user asks for the valid rows only), updates by email, encodings and delimiters,
custom fields, progress counters, safe error reports, tenancy and permissions."""

import csv
import io

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from jalin.core.events import Event
from jalin.core.models import AuditLog
from jalin.crm import services as crm_services
from jalin.crm.imports import services
from jalin.crm.models import Account, Contact, ImportJob, SearchDocument
from jalin.tenancy.models import Membership
from jalin.tenancy.roles import Role

IMMEDIATE = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture(autouse=True)
def _imports_setup(settings, tmp_path):
    settings.TASKS = IMMEDIATE
    settings.JALIN_PRIVATE_MEDIA_ROOT = tmp_path
    settings.STORAGES = {**settings.STORAGES, "private": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(tmp_path), "base_url": None}}}


def upload(client, content, *, name="contacts.csv", target="contact", format="csv"):
    if isinstance(content, str):
        content = content.encode()
    return client.post("/crm/imports/new/", {
        "target": target, "format": format,
        "file": SimpleUploadedFile(name, content, content_type="text/csv")})


def job_of(response):
    return ImportJob.objects.get(pk=int(response["Location"].strip("/").split("/")[-2]))


def check(client, job, **mapping):
    data = {f"col_{i}": mapping.get(h, job.mapping["columns"].get(h, ""))
            for i, h in enumerate(job.mapping["headers"])}
    data["on_existing"] = mapping.get("on_existing", "update")
    response = client.post(f"/crm/imports/{job.pk}/mapping/", data)
    assert response.status_code == 302, response.content[:800]
    job.refresh_from_db()
    return job


def run(client, job, valid_only=False):
    data = {"action": "run"}
    if valid_only:
        data["valid_only"] = "1"
    response = client.post(f"/crm/imports/{job.pk}/run/", data)
    assert response.status_code == 302
    job.refresh_from_db()
    return job


GOOD = ("First name,Last name,Email,Phone,Job title\n"
        "Ani,Wijaya,ani@example.test,0812 3456 7890,Buyer\n"
        "Budi,Santoso,budi@example.test,,\n"
        "Citra,Lestari,citra@example.test,+62 21 555 0100,CFO\n")


def test_upload_maps_columns_and_imports(org, owner, owner_client,
                                         django_capture_on_commit_callbacks):
    response = upload(owner_client, GOOD)
    assert response.status_code == 302
    job = job_of(response)
    assert job.total_rows == 3
    assert job.mapping["columns"] == {"First name": "first_name", "Last name": "last_name",
                                      "Email": "email", "Phone": "phone",
                                      "Job title": "job_title"}
    mapping_page = owner_client.get(f"/crm/imports/{job.pk}/mapping/")
    assert b"ani@example.test" in mapping_page.content  # the first row as a sample
    job = check(owner_client, job)
    assert job.status == "previewed" and job.error_count == 0
    assert job.mapping["result"]["created"] == 3 and not Contact.objects.exists()
    page = owner_client.get(f"/crm/imports/{job.pk}/")
    assert b"Every row is valid" in page.content and b"Wijaya" in page.content
    stored = job.file.name
    with django_capture_on_commit_callbacks(execute=True):
        job = run(owner_client, job)
    assert job.status == "done" and job.created_count == 3 and job.processed_rows == 3
    ani = Contact.objects.get(email="ani@example.test")
    assert ani.phone == "+6281234567890" and ani.job_title == "Buyer"
    assert SearchDocument.objects.filter(kind="contact", object_id=ani.pk).exists()
    assert AuditLog.objects.filter(action="crm.contact.created", object_id=str(ani.pk)).exists()
    events = Event.objects.filter(type="crm.import.finished")
    assert events.count() == 1
    assert events.get().payload["created"] == 3
    assert events.get().payload["account_id"] is None
    assert not Event.objects.filter(type="crm.contact.created").exists()
    assert not job.file and not job.file.storage.exists(stored)  # gone once the job ends


def test_bad_row_imports_nothing_and_names_row_and_column(org, owner, owner_client):
    content = GOOD.replace("budi@example.test", "budi-at-example")
    job = check(owner_client, job_of(upload(owner_client, content)))
    assert job.error_count == 1
    assert job.errors == [{"row": 3, "column": "Email", "field": "email",
                           "message": "Enter a valid email address."}]
    page = owner_client.get(f"/crm/imports/{job.pk}/")
    assert b"Enter a valid email address." in page.content and b"Nothing was imported" in \
        page.content
    job = run(owner_client, job)
    assert job.status == "failed" and job.created_count == 0
    assert not Contact.objects.exists()
    assert not Event.objects.filter(type="crm.import.finished").exists()


def test_valid_only_mode_skips_bad_rows(org, owner, owner_client):
    content = GOOD.replace("0812 3456 7890", "12")
    job = check(owner_client, job_of(upload(owner_client, content)))
    assert job.errors[0]["row"] == 2 and job.errors[0]["column"] == "Phone"
    job = run(owner_client, job, valid_only=True)
    assert job.status == "done" and job.created_count == 2 and job.error_count == 1
    assert sorted(Contact.objects.values_list("last_name", flat=True)) == ["Lestari",
                                                                           "Santoso"]


def test_update_existing_by_email_and_skip_option(org, owner, owner_client):
    existing = crm_services.contact_create(organization=org, actor=owner, last_name="Old",
                                           email="ANI@example.test", job_title="Intern")
    job = run(owner_client, check(owner_client, job_of(upload(owner_client, GOOD))))
    assert job.created_count == 2 and job.updated_count == 1
    existing.refresh_from_db()
    assert existing.last_name == "Wijaya" and existing.job_title == "Buyer"
    assert existing.version == 2
    assert Contact.objects.filter(email="ani@example.test").count() == 1
    assert SearchDocument.objects.get(kind="contact", object_id=existing.pk).title == \
        "Ani Wijaya"
    second = check(owner_client, job_of(upload(owner_client, GOOD.replace("Buyer", "Boss"))),
                   on_existing="skip")
    second = run(owner_client, second)
    assert second.created_count == 0 and second.mapping["result"]["skipped"] == 3
    existing.refresh_from_db()
    assert existing.job_title == "Buyer"


def test_bom_semicolon_and_latin1(org, owner, owner_client):
    bom = ("\ufeffNama;Last name;E-mail\nÁgnes;Kovács;agnes@example.test\n").encode()
    job = check(owner_client, job_of(upload(owner_client, bom)))
    assert job.mapping["delimiter"] == ";" and job.mapping["columns"]["Last name"] == \
        "last_name" and job.mapping["columns"]["E-mail"] == "email"
    run(owner_client, job)
    assert Contact.objects.get().last_name == "Kovács"
    latin = "last_name\temail\nJosé Müller\tjose@example.test\n".encode("cp1252")
    job = job_of(upload(owner_client, latin))
    assert job.mapping["encoding"] == "cp1252" and job.mapping["delimiter"] == "\t"
    run(owner_client, check(owner_client, job))
    assert Contact.objects.filter(last_name="José Müller").exists()


def test_custom_fields_are_validated(org, owner, owner_client):
    crm_services.custom_field_define(organization=org, actor=owner, target="contact",
                                     key="segment", label="Segment", type="choice",
                                     choices=["smb", "enterprise"], required=True)
    content = "Last name,Segment,custom.segment_note\nA,smb,x\nB,giant,y\n"
    job = job_of(upload(owner_client, content))
    assert job.mapping["columns"]["Segment"] == "custom.segment"
    job = check(owner_client, job)
    assert job.error_count == 1
    assert job.errors[0]["row"] == 3 and job.errors[0]["column"] == "Segment"
    assert "Pick one of" in job.errors[0]["message"]
    job = run(owner_client, job, valid_only=True)
    assert Contact.objects.get().custom == {"segment": "smb"}


def test_account_by_name_never_matches_other_orgs(org, other_org, owner, outsider,
                                                  owner_client):
    crm_services.account_create(organization=other_org, actor=outsider, name="Rival Buyer")
    mine = crm_services.account_create(organization=org, actor=owner, name="PT Maju")
    content = "Last name,Company\nA,pt  maju\nB,Rival Buyer\n"
    job = check(owner_client, job_of(upload(owner_client, content)))
    assert job.mapping["columns"]["Company"] == "account"
    assert [(e["row"], e["column"]) for e in job.errors] == [(3, "Company")]
    run(owner_client, job, valid_only=True)
    assert Contact.objects.get().account == mine
    assert not Contact.objects.filter(account__organization=other_org).exists()


def test_error_report_csv_is_formula_safe(org, owner, owner_client):
    content = "Last name,Email\n=HYPERLINK(\"x\"),@SUM(1)\n"
    job = check(owner_client, job_of(upload(owner_client, content)))
    job.errors.append({"row": 9, "column": "=cmd", "field": "", "message": "+danger"})
    job.save()
    response = owner_client.get(f"/crm/imports/{job.pk}/errors.csv")
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["row", "column", "message"]
    assert ["9", "'=cmd", "'+danger"] in rows
    for row in rows[1:]:
        assert all(cell[:1] not in "=+-@" for cell in row)


def test_oversized_file_is_413(org, owner, owner_client, settings):
    settings.JALIN_IMPORT_MAX_BYTES = 100
    response = upload(owner_client, "Last name\n" + "x\n" * 100)
    assert response.status_code == 413
    assert not ImportJob.objects.exists()


def test_bad_files_are_refused(org, owner, owner_client):
    assert upload(owner_client, "").status_code == 400
    assert upload(owner_client, b"\x00\x01\x02binary").status_code == 400
    assert upload(owner_client, "hello", format="vcard").status_code == 400
    assert upload(owner_client, "x", target="account", format="vcard").status_code == 400
    assert not ImportJob.objects.exists()


def test_progress_counters_and_partial(org, owner, owner_client, monkeypatch):
    monkeypatch.setattr(services, "PROGRESS_EVERY", 2)
    seen = []
    original = services._save_progress

    def spy(job, **fields):
        if "processed_rows" in fields:
            seen.append(fields["processed_rows"])
        return original(job, **fields)

    monkeypatch.setattr(services, "_save_progress", spy)
    rows = "".join(f"N{i},n{i}@example.test\n" for i in range(5))
    job = check(owner_client, job_of(upload(owner_client, "Last name,Email\n" + rows)))
    assert seen == [2, 4, 5]
    assert job.processed_rows == 5 and job.total_rows == 5
    ImportJob.objects.filter(pk=job.pk).update(status="running", processed_rows=2)
    partial = owner_client.get(f"/crm/imports/{job.pk}/progress/")
    assert b'hx-trigger="every 1s"' in partial.content
    assert b'<progress id="import-progress-bar" value="2" max="5">' in partial.content
    ImportJob.objects.filter(pk=job.pk).update(status="previewed")
    done = owner_client.get(f"/crm/imports/{job.pk}/progress/")
    assert b"every 1s" not in done.content


def test_accounts_import_matches_name_and_tax_id(org, owner, owner_client):
    existing = crm_services.account_create(organization=org, actor=owner, name="PT Lama",
                                           tax_id="01.111", tags=["vip"])
    parent = crm_services.account_create(organization=org, actor=owner, name="Group Induk")
    content = ("Name,Tax id,Tier,Parent account,Phone,Tags\n"
               "PT Lama Baru,01.111,Key,,,jakarta\n"
               "PT Baru,02.222,strategic,group induk,021 555 0100,\"vip, retail\"\n"
               "PT Salah,03.333,gold,,,\n")
    job = check(owner_client, job_of(upload(owner_client, content, target="account",
                                            name="accounts.csv")))
    assert [(e["row"], e["column"]) for e in job.errors] == [(4, "Tier")]
    job = run(owner_client, job, valid_only=True)
    assert job.created_count == 1 and job.updated_count == 1
    existing.refresh_from_db()
    assert existing.name == "PT Lama Baru" and existing.tier == "key"
    new = Account.objects.get(name="PT Baru")
    assert new.parent == parent and new.phone == "+62215550100"
    assert sorted(tag.name for tag in new.tags.all()) == ["retail", "vip"]
    assert sorted(tag.name for tag in existing.tags.all()) == ["jakarta", "vip"]


def test_duplicate_emails_inside_file_are_errors(org, owner, owner_client):
    content = "Last name,Email\nA,a@example.test\nB,A@example.test\n"
    job = check(owner_client, job_of(upload(owner_client, content)))
    assert job.errors[0]["row"] == 3 and "row 2" in job.errors[0]["message"]


def test_permissions_and_tenancy(org, owner, member_client, outsider_client, client,
                                 owner_client):
    job = job_of(upload(owner_client, GOOD))
    assert member_client.get(f"/crm/imports/{job.pk}/").status_code == 200
    for url in (f"/crm/imports/{job.pk}/", f"/crm/imports/{job.pk}/mapping/",
                f"/crm/imports/{job.pk}/errors.csv", f"/crm/imports/{job.pk}/progress/"):
        assert outsider_client.get(url).status_code == 404
    assert outsider_client.post(f"/crm/imports/{job.pk}/run/", {"action": "run"}) \
        .status_code == 404
    viewer = get_user_model().objects.create_user("viewer-i", "vi@example.test", "x-Pass-1!")
    Membership.objects.create(user=viewer, organization=org, role=Role.BUYER)
    client.force_login(viewer)
    assert client.get("/crm/imports/").status_code == 403
    assert upload(client, GOOD).status_code == 403
    assert b"contacts.csv" not in outsider_client.get("/crm/imports/").content


def test_import_list_query_count_is_flat(org, owner, owner_client):
    def count():
        with CaptureQueriesContext(connection) as context:
            assert owner_client.get("/crm/imports/").status_code == 200
        return len(context.captured_queries)

    for _ in range(3):
        upload(owner_client, GOOD)
    few = count()
    for _ in range(20):
        upload(owner_client, GOOD)
    assert count() == few


def test_big_files_are_built_again_for_the_write(org, owner, owner_client, monkeypatch):
    """Files above IN_MEMORY_ROWS are read a second time inside the write transaction."""
    monkeypatch.setattr(services, "IN_MEMORY_ROWS", 0)
    crm_services.contact_create(organization=org, actor=owner, last_name="Old",
                                email="ani@example.test")
    content = GOOD.replace("citra@example.test", "citra@")
    job = run(owner_client, check(owner_client, job_of(upload(owner_client, content))),
              valid_only=True)
    assert job.status == "done" and (job.created_count, job.updated_count) == (1, 1)
    assert job.error_count == 1 and job.errors[0]["row"] == 4
    assert Contact.objects.get(email="ani@example.test").last_name == "Wijaya"


def test_check_reads_every_row_but_previews_twenty(org, owner, owner_client):
    rows = "".join(f"P{i},p{i}@example.test\n" for i in range(40)) + "Last,broken@\n"
    job = check(owner_client, job_of(upload(owner_client, "Last name,Email\n" + rows)))
    assert [(e["row"], e["column"]) for e in job.errors] == [(42, "Email")]
    page = owner_client.get(f"/crm/imports/{job.pk}/")
    assert page.content.count(b"<tr><td>") + page.content.count(b'<tr class="import-bad-row">') \
        == 20


def test_mapping_without_a_name_column_is_refused(org, owner, owner_client):
    job = job_of(upload(owner_client, "Nickname,Note\nAni,x\n"))
    response = owner_client.post(f"/crm/imports/{job.pk}/mapping/",
                                 {"col_0": "", "col_1": "job_title"})
    assert response.status_code == 400 and b"Map a column to last_name" in response.content
    job.refresh_from_db()
    assert job.status == "uploaded"


def test_record_edited_between_check_and_write_stops_the_import(org, owner, owner_client,
                                                               monkeypatch):
    existing = crm_services.contact_create(organization=org, actor=owner, last_name="Old",
                                           email="ani@example.test")
    job = check(owner_client, job_of(upload(owner_client, GOOD)))
    original = services._write

    def edited_meanwhile(job, **kwargs):
        crm_services.contact_update(contact=existing, actor=owner, version=1,
                                    job_title="Edited by a colleague")
        return original(job, **kwargs)

    monkeypatch.setattr(services, "_write", edited_meanwhile)
    job = run(owner_client, job)
    assert job.status == "failed" and "changed while importing" in job.errors[0]["message"]
    assert Contact.objects.count() == 1
    existing.refresh_from_db()
    assert existing.job_title == "Edited by a colleague" and existing.last_name == "Old"
