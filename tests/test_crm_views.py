"""CRM pages: permissions, forms with custom fields, keyset pages, CSV export scope and
query counts that do not grow with the number of rows."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from jalin.crm import services
from jalin.crm.models import Account, Contact
from jalin.tenancy.models import Membership
from jalin.tenancy.roles import Role


def make_accounts(org, actor, count, prefix="Account"):
    return [services.account_create(organization=org, actor=actor, name=f"{prefix} {i:03d}",
                                    owner=actor, tags=["vip", f"t{i}"])
            for i in range(count)]


def queries_for(client, url):
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200, response.content[:500]
    return len(context.captured_queries)


def test_account_pages_need_crm_view(client, org, owner):
    viewer = get_user_model().objects.create_user("viewer-x", "v@example.test", "x-Pass-123!")
    Membership.objects.create(user=viewer, organization=org, role=Role.BUYER)
    client.force_login(viewer)
    assert client.get("/crm/accounts/").status_code == 403
    assert client.get("/crm/accounts/export.csv").status_code == 403


def test_member_creates_account_with_custom_fields(org, owner, member_client):
    services.custom_field_define(organization=org, actor=owner, target="account", key="segment",
                                 label="Segment", type="choice", choices=["smb", "enterprise"],
                                 required=True)
    response = member_client.get("/crm/accounts/new/")
    assert response.status_code == 200 and b"custom__segment" in response.content
    bad = member_client.post("/crm/accounts/new/", {"name": "PT Baru", "status": "prospect",
                                                    "tier": "standard", "custom__segment": ""})
    assert bad.status_code == 400 and b"Segment is required" in bad.content
    assert not Account.objects.exists()
    good = member_client.post("/crm/accounts/new/", {
        "name": "PT Baru", "status": "prospect", "tier": "standard", "custom__segment": "smb",
        "tags_text": "retail, jakarta", "phone": "021 555 0100"})
    account = Account.objects.get()
    assert good.status_code == 302 and good["Location"] == f"/crm/accounts/{account.pk}/"
    assert account.custom == {"segment": "smb"} and account.phone == "+62215550100"
    detail = member_client.get(good["Location"])
    assert b"PT Baru" in detail.content and b"retail" in detail.content


def test_edit_with_stale_version_is_409(org, owner, owner_client):
    account = services.account_create(organization=org, actor=owner, name="Before")
    services.account_update(account=account, actor=owner, version=1, name="Someone else")
    response = owner_client.post(f"/crm/accounts/{account.pk}/edit/", {
        "name": "Mine", "status": "prospect", "tier": "standard", "version": 1})
    assert response.status_code == 409
    assert Account.objects.get(pk=account.pk).name == "Someone else"


def test_outsider_cannot_reach_records(org, owner, outsider_client):
    account = services.account_create(organization=org, actor=owner, name="Secret Co")
    contact = services.contact_create(organization=org, actor=owner, last_name="Secret")
    for url in (f"/crm/accounts/{account.pk}/", f"/crm/accounts/{account.pk}/edit/",
                f"/crm/contacts/{contact.pk}/"):
        assert outsider_client.get(url).status_code == 404
    assert outsider_client.post(f"/crm/accounts/{account.pk}/archive/").status_code == 404
    assert b"Secret Co" not in outsider_client.get("/crm/accounts/").content
    assert Account.objects.get(pk=account.pk).archived_at is None


def test_list_filters_sort_and_keyset_pages(org, owner, owner_client, settings):
    make_accounts(org, owner, 3, prefix="Alpha")
    services.account_create(organization=org, actor=owner, name="Beta", status="customer")
    response = owner_client.get("/crm/accounts/?status=customer")
    assert b"Beta" in response.content and b"Alpha 000" not in response.content
    response = owner_client.get("/crm/accounts/?q=alp")
    assert b"Alpha 002" in response.content and b"Beta" not in response.content
    response = owner_client.get("/crm/accounts/?tag=t1")
    assert b"Alpha 001" in response.content and b"Alpha 002" not in response.content


def test_keyset_pages_walk_forward_and_back(org, owner, owner_client, monkeypatch):
    from jalin.crm import views

    monkeypatch.setattr(views, "PER_PAGE", 2)
    make_accounts(org, owner, 5)
    first = owner_client.get("/crm/accounts/")
    assert first.context["page"].items[0].name == "Account 000"
    cursor = first.context["page"].next_cursor
    second = owner_client.get(f"/crm/accounts/?after={cursor}")
    assert [a.name for a in second.context["page"]] == ["Account 002", "Account 003"]
    back = owner_client.get(f"/crm/accounts/?before={second.context['page'].previous_cursor}")
    assert [a.name for a in back.context["page"]] == ["Account 000", "Account 001"]
    mangled = owner_client.get("/crm/accounts/?after=garbage")
    assert mangled.status_code == 200 and mangled.context["page"].items[0].name == "Account 000"


def test_list_and_detail_query_counts_do_not_grow(org, owner, owner_client):
    services.custom_field_define(organization=org, actor=owner, target="account", key="x",
                                 label="X", type="text")
    accounts = make_accounts(org, owner, 3)
    for _account in accounts:
        services.contact_create(organization=org, actor=owner, last_name="C", owner=owner,
                                account=accounts[0])
    owner_client.get("/")  # the first request of a session does one-off bookkeeping
    small_list = queries_for(owner_client, "/crm/accounts/")
    small_contacts = queries_for(owner_client, "/crm/contacts/")
    small_detail = queries_for(owner_client, f"/crm/accounts/{accounts[0].pk}/")
    more = make_accounts(org, owner, 27, prefix="More")
    for account in more:
        services.contact_create(organization=org, actor=owner, last_name="D", owner=owner,
                                account=accounts[0])
        services.account_update(account=account, actor=owner, version=1, parent=accounts[0])
    assert queries_for(owner_client, "/crm/accounts/") == small_list
    assert queries_for(owner_client, "/crm/contacts/") == small_contacts
    assert queries_for(owner_client, f"/crm/accounts/{accounts[0].pk}/") == small_detail


def test_csv_export_is_scoped_and_filtered(org, other_org, owner, outsider, owner_client):
    services.account_create(organization=org, actor=owner, name="=HYPERLINK(evil)")
    services.account_create(organization=org, actor=owner, name="Kept", status="customer")
    services.account_create(organization=other_org, actor=outsider, name="Foreign Co")
    response = owner_client.get("/crm/accounts/export.csv")
    body = b"".join(response.streaming_content).decode()
    assert response["Content-Type"].startswith("text/csv")
    assert "Kept" in body and "Foreign Co" not in body
    assert "'=HYPERLINK(evil)" in body
    filtered = b"".join(owner_client.get("/crm/accounts/export.csv?status=customer")
                        .streaming_content).decode()
    assert "Kept" in filtered and "HYPERLINK" not in filtered
    services.contact_create(organization=org, actor=owner, last_name="Mine",
                            phone="+6281234567890")
    services.contact_create(organization=other_org, actor=outsider, last_name="Theirs")
    contacts = b"".join(owner_client.get("/crm/contacts/export.csv").streaming_content).decode()
    assert "Mine" in contacts and "+6281234567890" in contacts and "Theirs" not in contacts


def test_contact_form_refuses_foreign_account(org, other_org, owner, outsider, owner_client):
    foreign = services.account_create(organization=other_org, actor=outsider, name="Theirs")
    response = owner_client.post("/crm/contacts/new/", {"last_name": "X",
                                                        "account": foreign.pk})
    assert response.status_code == 400
    assert not Contact.objects.exists()
    ok = owner_client.post("/crm/contacts/new/", {"last_name": "Wijaya", "first_name": "Andi",
                                                  "email": "ANDI@example.com",
                                                  "phone": "0812 3456 7890",
                                                  "email_opt_in": "on"})
    contact = Contact.objects.get()
    assert ok.status_code == 302 and contact.email == "andi@example.com"
    assert contact.email_opt_in_at is not None


def test_custom_fields_page_is_for_org_admins(org, owner, owner_client, member_client):
    assert member_client.get("/crm/fields/").status_code == 403
    response = owner_client.post("/crm/fields/", {"target": "contact", "key": "shoe_size",
                                                  "label": "Shoe size", "type": "number"})
    assert response.status_code == 302
    bad = owner_client.post("/crm/fields/", {"target": "contact", "key": "level",
                                             "label": "Level", "type": "choice"})
    assert bad.status_code == 400 and b"at least one choice" in bad.content
    assert b"Shoe size" in owner_client.get("/crm/contacts/new/").content


def test_nav_and_dashboard_link_to_crm(member_client):
    response = member_client.get("/")
    assert b'href="/crm/"' in response.content
    assert b'data-nav="crm"' in response.content


def test_pages_speak_bahasa_indonesia(org, owner, owner_client):
    owner_client.cookies["django_language"] = "id"
    response = owner_client.get("/crm/accounts/", headers={"Accept-Language": "id"})
    assert "Perusahaan pelanggan yang Anda tambahkan" in response.content.decode()
    response = owner_client.post("/crm/contacts/new/", {"last_name": "X", "phone": "12"},
                                 headers={"Accept-Language": "id"})
    assert "Masukkan nomor telepon yang valid" in response.content.decode()


def test_owner_and_custom_field_filters(org, owner, member, owner_client):
    services.custom_field_define(organization=org, actor=owner, target="account", key="region",
                                 label="Region", type="choice", choices=["java", "bali"])
    services.account_create(organization=org, actor=owner, name="Javan", owner=member,
                            custom={"region": "java"})
    services.account_create(organization=org, actor=owner, name="Balinese",
                            custom={"region": "bali"})
    page = owner_client.get("/crm/accounts/").content.decode()
    assert 'name="cf_region"' in page and 'name="owner"' in page
    by_region = owner_client.get("/crm/accounts/?cf_region=bali").content.decode()
    assert "Balinese" in by_region and "Javan" not in by_region
    by_owner = owner_client.get(f"/crm/accounts/?owner={member.pk}").content.decode()
    assert "Javan" in by_owner and "Balinese" not in by_owner


@pytest.mark.parametrize("query", [
    "owner=99999999999999999999999", "account=99999999999999999999999", "after=%%%",
    "sort=nope", "cf_region=" + "x" * 500,
])
def test_odd_list_parameters_never_fail(owner_client, query):
    assert owner_client.get(f"/crm/accounts/?{query}").status_code == 200
    assert owner_client.get(f"/crm/contacts/?{query}").status_code == 200
    assert owner_client.get(f"/crm/contacts/export.csv?{query}").status_code == 200
