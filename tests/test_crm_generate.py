"""`jalin crm_generate`: small runs on SQLite and PostgreSQL write consistent, realistic rows."""

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from jalin.crm.models import Account, Activity, Contact, SearchDocument, TimelineEntry
from jalin.tenancy.models import Membership
from jalin.tenancy.roles import Role

E164 = re.compile(r"^\+[1-9]\d{7,14}$")


def generate(org, **counts):
    out = StringIO()
    args = ["crm_generate", "--org", org.slug, "--seed", "3", "--batch", "70"]
    for name, value in counts.items():
        flag = f"--{name.replace('_', '-')}"
        args += [flag] if value is True else [flag, str(value)]
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_small_run_writes_consistent_rows(org, owner, member, other_org):
    output = generate(org, contacts=200, accounts=30, activities=400, index_activities=True)
    assert "rows/s" in output and "Generated 30 accounts, 200 contacts, 400 activities" in output
    accounts = Account.objects.filter(organization=org)
    contacts = Contact.objects.filter(organization=org)
    assert accounts.count() == 30 and contacts.count() == 200
    assert Activity.objects.filter(organization=org).count() == 400
    assert not Account.objects.filter(organization=other_org).exists()
    # Every reference stays inside the organization.
    account_ids = set(accounts.values_list("pk", flat=True))
    assert set(contacts.exclude(account=None).values_list("account_id", flat=True)) <= account_ids
    owners = set(Membership.objects.filter(organization=org).values_list("user_id", flat=True))
    assert set(contacts.values_list("owner_id", flat=True)) <= owners
    assert len(set(accounts.values_list("owner_id", flat=True))) == 2  # spread over members
    for activity in Activity.objects.filter(organization=org).exclude(contact=None)[:100]:
        assert activity.contact.account_id == activity.account_id
    # Realistic values.
    phones = [p for p in contacts.values_list("phone", flat=True) if p]
    assert phones and all(E164.match(p) for p in phones)
    assert sum(p.startswith("+628") for p in phones) > len(phones) / 2
    assert all("@" in e for e in contacts.exclude(email="").values_list("email", flat=True))
    assert any(name.startswith(("PT ", "CV ", "UD ")) for name in
               accounts.values_list("name", flat=True))
    assert contacts.exclude(relationship_role="").exists()
    assert accounts.exclude(custom={}).exists()
    # Search documents for accounts, contacts (and activities when asked).
    kinds = dict.fromkeys(("account", "contact", "activity"), 0)
    for kind in SearchDocument.objects.filter(organization=org).values_list("kind", flat=True):
        kinds[kind] += 1
    assert kinds == {"account": 30, "contact": 200, "activity": 400}
    lines = TimelineEntry.objects.filter(organization=org)
    assert lines.count() == 90 and set(lines.values_list("account_id", flat=True)) == account_ids
    assert lines.filter(event_id__gte=0).count() == 0  # never collides with real events
    # A second run adds to the first without clashing ids.
    generate(org, contacts=20, accounts=5, activities=10)
    assert Contact.objects.filter(organization=org).count() == 220


@pytest.mark.django_db
def test_a_run_ending_on_a_batch_boundary_keeps_every_line(org, owner):
    call_command("crm_generate", "--org", org.slug, "--accounts", "6", "--contacts", "0",
                 "--activities", "0", "--batch", "3", stdout=StringIO())
    assert TimelineEntry.objects.filter(organization=org).count() == 18


@pytest.mark.django_db
def test_generated_rows_show_on_pages(org, owner, owner_client):
    generate(org, contacts=20, accounts=3, activities=30)
    account = Account.objects.filter(organization=org).first()
    body = owner_client.get(f"/crm/accounts/{account.pk}/").content.decode()
    assert f"Account {account.name} was created" in body
    assert owner_client.get("/crm/contacts/").status_code == 200


@pytest.mark.django_db
def test_bad_arguments_are_refused(org, owner):
    with pytest.raises(CommandError, match="No organization"):
        call_command("crm_generate", "--org", "nope")
    with pytest.raises(CommandError, match="must not be negative"):
        call_command("crm_generate", "--org", org.slug, "--contacts", "-1")
    with pytest.raises(CommandError, match="need at least one account"):
        call_command("crm_generate", "--org", org.slug, "--accounts", "0")
    Membership.objects.filter(organization=org).update(is_active=False)
    with pytest.raises(CommandError, match="no active members"):
        call_command("crm_generate", "--org", org.slug)
    assert not Contact.objects.exists()
    assert Role.SALES  # members of any role can own records


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_big_loads_rebuild_every_index_they_drop(org, owner, monkeypatch):
    from django.db import connection

    from jalin.crm.management.commands import crm_generate

    if connection.vendor != "postgresql":
        pytest.skip("indexes are dropped around COPY on PostgreSQL only")

    def indexes(table):
        with connection.cursor() as cursor:
            cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = %s ORDER BY 1",
                           [table])
            return [row[0] for row in cursor.fetchall()]

    before = {table: indexes(table) for table in ("crm_activity", "crm_contact",
                                                  "crm_searchdocument")}
    monkeypatch.setattr(crm_generate, "BULK_THRESHOLD", 10)
    output = generate(org, contacts=40, accounts=5, activities=60)
    assert "dropping index crm_activity_my_day" in output and "rebuilt" in output
    assert {table: indexes(table) for table in before} == before
    assert Activity.objects.filter(organization=org).count() == 60
