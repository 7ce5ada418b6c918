"""vCards: export one contact or the filtered list (3.0 and 4.0) that vobject reads back;
import Apple- and Google-style cards (several per file, folded lines, charsets)."""

import pytest
import vobject
from django.core.files.uploadedfile import SimpleUploadedFile

from jalin.crm import services
from jalin.crm.imports.reading import vcard_rows
from jalin.crm.models import Contact, ImportJob

IMMEDIATE = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture(autouse=True)
def _imports_setup(settings, tmp_path):
    settings.TASKS = IMMEDIATE
    settings.STORAGES = {**settings.STORAGES, "private": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(tmp_path), "base_url": None}}}


@pytest.fixture
def ani(org, owner):
    account = services.account_create(organization=org, actor=owner, name="PT Maju Jaya")
    return services.contact_create(
        organization=org, actor=owner, first_name="Ani", last_name="Wijaya-Müller",
        job_title="Head of Purchasing", email="ani@example.test",
        extra_emails=["ani.w@example.test"], phone="0812 3456 7890",
        extra_phones=["021 555 0100"], account=account)


def test_one_contact_round_trips_in_3_and_4(ani, owner_client):
    response = owner_client.get(f"/crm/contacts/{ani.pk}/vcard.vcf")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/vcard")
    assert "attachment" in response["Content-Disposition"]
    card = vobject.readOne(response.content.decode())
    assert card.version.value == "3.0"
    assert card.n.value.family == "Wijaya-Müller" and card.n.value.given == "Ani"
    assert card.fn.value == "Ani Wijaya-Müller" and card.org.value == ["PT Maju Jaya"]
    assert card.title.value == "Head of Purchasing"
    assert [e.value for e in card.contents["email"]] == ["ani@example.test",
                                                         "ani.w@example.test"]
    assert [t.value for t in card.contents["tel"]] == ["+6281234567890", "+62215550100"]
    assert card.uid.value == f"jalin-contact-{ani.organization_id}-{ani.pk}"
    assert card.rev.value
    v4 = owner_client.get(f"/crm/contacts/{ani.pk}/vcard.vcf?version=4")
    card4 = vobject.readOne(v4.content.decode())
    assert card4.version.value == "4.0"
    assert card4.contents["tel"][0].value == "tel:+6281234567890"
    api = owner_client.get(f"/api/v1/crm/contacts/{ani.pk}/vcard")
    assert api.status_code == 200 and b"BEGIN:VCARD" in api.content
    # and the exported card imports back to the same fields
    rows = list(vcard_rows(response.content))
    assert rows[0][1]["email"] == "ani@example.test"
    assert rows[0][1]["extra_phones"] == ["+62215550100"]
    assert rows[0][1]["account"] == "PT Maju Jaya"


def test_list_export_uses_the_list_filters(org, owner, ani, owner_client, outsider_client):
    services.contact_create(organization=org, actor=owner, last_name="Santoso")
    everyone = owner_client.get("/crm/contacts/export.vcf")
    text = b"".join(everyone.streaming_content).decode()
    cards = list(vobject.readComponents(text))
    assert sorted(card.n.value.family for card in cards) == ["Santoso", "Wijaya-Müller"]
    filtered = owner_client.get("/crm/contacts/export.vcf?q=ani@example.test")
    assert b"".join(filtered.streaming_content).decode().count("BEGIN:VCARD") == 1
    assert outsider_client.get(f"/crm/contacts/{ani.pk}/vcard.vcf").status_code == 404
    assert outsider_client.get(f"/api/v1/crm/contacts/{ani.pk}/vcard").status_code == 404
    leak = b"".join(outsider_client.get("/crm/contacts/export.vcf").streaming_content)
    assert b"Wijaya" not in leak


APPLE = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nPRODID:-//Apple Inc.//iPhone OS 17.0//EN\r\n"
    "N:Lestari;Citra;;;\r\nFN:Citra Lestari\r\nORG:PT Maju Jaya;Purchasing\r\n"
    "TITLE:Buyer\r\nitem1.EMAIL;type=INTERNET;type=pref:citra@example.test\r\n"
    "TEL;type=CELL;type=VOICE;type=pref:+62 812-1111-2222\r\n"
    "TEL;type=WORK;type=VOICE:(021) 555-0199\r\n"
    "NOTE:A very long note that is folded over several lines because Apple folds at sev\r\n"
    " enty-five characters.\r\nEND:VCARD\r\n")
GOOGLE = (
    "BEGIN:VCARD\nVERSION:3.0\nFN:Dewi Anggraini\nN:Anggraini;Dewi;;;\n"
    "EMAIL;TYPE=INTERNET;TYPE=HOME:dewi@example.test\n"
    "EMAIL;TYPE=INTERNET;TYPE=WORK:dewi@work.example.test\n"
    "TEL;TYPE=CELL:0813-2222-3333\nORG:Some Company Not In The CRM\nEND:VCARD\n")
V4 = ("BEGIN:VCARD\nVERSION:4.0\nFN:Eko Prasetyo\nN:Prasetyo;Eko;;;\n"
      "EMAIL;PREF=1:eko@example.test\nTEL;VALUE=uri;TYPE=cell:tel:+62-811-4444-5555\n"
      "END:VCARD\n")


def test_apple_google_and_v4_cards_import(org, owner, ani, owner_client):
    content = (APPLE + GOOGLE + V4).encode()
    response = owner_client.post("/crm/imports/new/", {
        "target": "contact", "format": "vcard",
        "file": SimpleUploadedFile("contacts.vcf", content, content_type="text/vcard")})
    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert job.total_rows == 3 and response["Location"] == f"/crm/imports/{job.pk}/"
    owner_client.post(f"/crm/imports/{job.pk}/run/", {"action": "check"})
    job.refresh_from_db()
    assert job.status == "previewed" and job.errors == [], job.errors
    owner_client.post(f"/crm/imports/{job.pk}/run/", {"action": "run"})
    job.refresh_from_db()
    assert job.status == "done" and job.created_count == 3
    citra = Contact.objects.get(email="citra@example.test")
    assert citra.first_name == "Citra" and citra.account == ani.account
    assert citra.phone == "+6281211112222" and citra.extra_phones == ["+62215550199"]
    dewi = Contact.objects.get(last_name="Anggraini")
    assert dewi.extra_emails == ["dewi@work.example.test"] and dewi.account is None
    assert Contact.objects.get(last_name="Prasetyo").phone == "+6281144445555"


def test_latin1_card_and_unreadable_card(org, owner, owner_client):
    content = ("BEGIN:VCARD\nVERSION:3.0\nN:Muñoz;José;;;\nFN:José Muñoz\nEND:VCARD\n"
               ).encode("latin-1")
    rows = list(vcard_rows(content))
    assert rows[0][1]["last_name"] == "Muñoz"
    broken = list(vcard_rows(b"BEGIN:VCARD\nVERSION:3.0\nN:\x00;;\nBEGIN:X\nEND:VCARD\n"))
    assert len(broken) == 1


def test_charset_parameters_and_quoted_printable():
    data = ("BEGIN:VCARD\r\nVERSION:3.0\r\nN;CHARSET=UTF-8:Muñoz;José;;;\r\n"
            "FN;CHARSET=UTF-8:José Muñoz\r\nEMAIL;TYPE=INTERNET:j@example.test\r\nEND:VCARD\r\n"
            "BEGIN:VCARD\r\nVERSION:2.1\r\n"
            "N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:Mu=C3=B1oz;Jos=C3=A9;;;\r\n"
            "TEL;CELL:0812-1111-2222\r\nEND:VCARD\r\n").encode()
    rows = [fields for _number, fields in vcard_rows(data)]
    assert [(row["first_name"], row["last_name"]) for row in rows] == [("José", "Muñoz")] * 2
    assert rows[1]["phone"] == "0812-1111-2222"
