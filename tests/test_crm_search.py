"""CRM search (SQLite FTS5 / PostgreSQL full text + trigram): ranking, prefixes, accents,
typos, phones, emails, hostile input, organization scoping, limits, the index kept in step,
the header typeahead, the results page, the account lookup and the search API."""

import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from jalin.api.testing import ApiClient, bearer_token_for
from jalin.crm import services
from jalin.crm.models import SearchDocument
from jalin.crm.search import index as search_index
from jalin.crm.search.selectors import phone_digits, search
from jalin.tenancy.models import Membership
from jalin.tenancy.roles import Role

is_postgres = pytest.mark.skipif("connection.vendor != 'postgresql'",
                                 reason="trigram typo tolerance is PostgreSQL only")


def titles(hits):
    return [hit.title for hit in hits]


@pytest.fixture
def crm(org, owner):
    budi_inc = services.account_create(organization=org, actor=owner, name="Budi Makmur",
                                       industry="Retail")
    mention = services.account_create(organization=org, actor=owner, name="PT Sejahtera",
                                      billing_address="Jl. Budi Utomo 4, Jakarta")
    budi = services.contact_create(organization=org, actor=owner, first_name="Budi",
                                   last_name="Santoso", email="budi.santoso@example.test",
                                   phone="+62 812 3456 7890", account=mention)
    sukarno = services.contact_create(organization=org, actor=owner, first_name="Ahmad",
                                      last_name="Sukarnó", job_title="Buyer")
    return {"budi_inc": budi_inc, "mention": mention, "budi": budi, "sukarno": sukarno}


def test_exact_name_ranks_above_body_mention(org, crm):
    hits = search(organization=org, query="budi")
    assert titles(hits)[:2] == ["Budi Makmur", "Budi Santoso"] or \
        titles(hits)[:2] == ["Budi Santoso", "Budi Makmur"]
    assert "PT Sejahtera" in titles(hits)
    assert titles(hits).index("PT Sejahtera") > titles(hits).index("Budi Makmur")


def test_prefix_and_several_words(org, crm):
    assert titles(search(organization=org, query="sant")) == ["Budi Santoso"]
    assert titles(search(organization=org, query="bud sant")) == ["Budi Santoso"]
    hits = search(organization=org, query="Budi Sa", kinds=["contact"])
    assert hits[0].kind == "contact" and hits[0].id == crm["budi"].pk
    assert hits[0].url == reverse("crm:contact_detail", args=[crm["budi"].pk])


def test_accents_are_ignored_both_ways(org, crm):
    assert titles(search(organization=org, query="Sukarno")) == ["Ahmad Sukarnó"]
    assert titles(search(organization=org, query="sukarnó")) == ["Ahmad Sukarnó"]
    assert titles(search(organization=org, query="SUKAR")) == ["Ahmad Sukarnó"]


@is_postgres
def test_typos_are_tolerated_on_postgres(org, crm):
    assert "Budi Santoso" in titles(search(organization=org, query="santso"))
    assert "PT Sejahtera" in titles(search(organization=org, query="sejahtra"))


def test_phone_in_any_format_matches_e164(org, crm):
    for query in ("+62 812-3456-7890", "0812 3456 7890", "081234567890", "+6281234"):
        assert titles(search(organization=org, query=query)) == ["Budi Santoso"], query
    assert phone_digits("0812 3456 7890") == "6281234567890"
    assert phone_digits("hello") is None


def test_email_exact_and_prefix(org, crm):
    assert titles(search(organization=org, query="budi.santoso@example.test")) == \
        ["Budi Santoso"]
    assert "Budi Santoso" in titles(search(organization=org, query="budi.santoso"))


@pytest.mark.parametrize("query", [
    '"', '""', "*", "**", "AND OR", "NOT", "NEAR(", "NEAR(a b", "'", "''", "(" * 100,
    "a:*", "b & c | !d", "budi\\", "%_%", "-- drop", "title:budi", "^budi", "{budi}",
    "budi OR 1=1", "\x00\x00", "🙂🙂", "a" * 500,
])
def test_hostile_queries_never_raise(org, crm, query):
    hits = search(organization=org, query=query)
    assert isinstance(hits, list)


def test_hostile_queries_over_http(org, crm, member_client):
    for query in ('"', "NEAR(", "(" * 100, "'", "AND OR", "*"):
        response = member_client.get(reverse("crm:search_suggest"), {"q": query})
        assert response.status_code == 200
        response = member_client.get(reverse("crm:search"), {"q": query})
        assert response.status_code == 200


def test_other_organizations_never_appear(org, other_org, owner, outsider, crm):
    services.account_create(organization=other_org, actor=outsider, name="Budi Makmur")
    services.contact_create(organization=other_org, actor=outsider, first_name="Budi",
                            last_name="Santoso", phone="+62 812 3456 7890")
    own_ids = {crm["budi_inc"].pk, crm["budi"].pk, crm["mention"].pk}
    for query in ("budi", "Budi Makmur", "santso", "+62 812 3456 7890"):
        assert {hit.id for hit in search(organization=org, query=query)} <= own_ids
    assert len(search(organization=other_org, query="budi")) == 2


def test_minimum_length_runs_no_query(org, crm):
    with CaptureQueriesContext(connection) as context:
        assert search(organization=org, query="b") == []
        assert search(organization=org, query="  b  ") == []
        assert search(organization=org, query="") == []
    assert context.captured_queries == []


def test_limit_is_respected_and_capped(org, owner):
    for index in range(60):
        services.account_create(organization=org, actor=owner, name=f"Limit {index:02d}")
    assert len(search(organization=org, query="limit", limit=3)) == 3
    assert len(search(organization=org, query="limit", limit=500)) == 50
    assert len(search(organization=org, query="limit", limit="x")) == 10


def test_archived_records_disappear(org, owner, crm):
    services.account_archive(account=crm["budi_inc"], actor=owner)
    services.contact_delete(contact=crm["budi"], actor=owner)
    assert titles(search(organization=org, query="budi")) == ["PT Sejahtera"]


def test_index_follows_updates(org, owner, crm):
    ahmad = crm["sukarno"]
    services.contact_update(contact=ahmad, actor=owner, version=ahmad.version,
                            last_name="Wijaya")
    assert titles(search(organization=org, query="sukarno")) == []
    assert titles(search(organization=org, query="wija")) == ["Ahmad Wijaya"]
    assert SearchDocument.objects.filter(organization=org, kind="contact",
                                         object_id=ahmad.pk).count() == 1


def test_renaming_an_account_reindexes_its_contacts(org, owner):
    account = services.account_create(organization=org, actor=owner, name="PT Lama Jaya")
    contact = services.contact_create(organization=org, actor=owner, last_name="Hartono",
                                      account=account)
    services.account_update(account=account, actor=owner, version=account.version,
                            name="PT Baru Makmur")
    row = SearchDocument.objects.get(organization=org, kind="contact", object_id=contact.pk)
    assert "PT Baru Makmur" in row.subtitle and "Lama" not in row.body
    assert "Hartono" in titles(search(organization=org, query="makmur"))


def test_kinds_filter(org, crm):
    assert {hit.kind for hit in search(organization=org, query="budi", kinds=["account"])} \
        == {"account"}
    assert search(organization=org, query="budi", kinds=["nonsense"]) == []


def test_rebuilding_rows_directly_keeps_fts_in_step(org, crm):
    """Bulk writers (imports, the generator) write SearchDocument rows directly."""
    SearchDocument.objects.filter(organization=org).delete()
    assert search(organization=org, query="budi") == []
    SearchDocument.objects.bulk_create([
        search_index.document_for_account(crm["budi_inc"]),
        search_index.document_for_contact(crm["budi"], account_name="PT Sejahtera"),
    ])
    assert len(search(organization=org, query="budi")) == 2


# --- Pages -----------------------------------------------------------------------------------


def _count(client, url, params):
    with CaptureQueriesContext(connection) as context:
        response = client.get(url, params)
    assert response.status_code == 200
    return len(context.captured_queries)


def test_typeahead_groups_by_kind_with_constant_queries(org, owner, member_client, crm):
    url = reverse("crm:search_suggest")
    response = member_client.get(url, {"q": "budi"})
    body = response.content.decode()
    assert 'role="option"' in body and "Budi Santoso" in body and "Budi Makmur" in body
    assert body.index("nav-search-group-account") < body.index("nav-search-group-contact")
    before = _count(member_client, url, {"q": "budi"})
    for index in range(30):
        services.contact_create(organization=org, actor=owner, first_name="Budi",
                                last_name=f"Number {index}")
    assert _count(member_client, url, {"q": "budi"}) == before


def test_typeahead_short_query_and_nothing_found(member_client, crm):
    url = reverse("crm:search_suggest")
    assert 'role="option"' not in member_client.get(url, {"q": "b"}).content.decode()
    assert "Nothing found" in member_client.get(url, {"q": "zzzzqq"}).content.decode()


def test_results_page_groups_and_pages_by_kind(org, owner, member_client, crm):
    for index in range(25):
        services.contact_create(organization=org, actor=owner, first_name="Paged",
                                last_name=f"Person {index:02d}")
    body = member_client.get(reverse("crm:search"), {"q": "paged"}).content.decode()
    assert "More Contacts" in body
    first = member_client.get(reverse("crm:search"), {"q": "paged", "kind": "contact"})
    assert first.content.decode().count("Paged Person") == 20
    assert 'rel="next"' in first.content.decode()
    second = member_client.get(reverse("crm:search"),
                               {"q": "paged", "kind": "contact", "page": "2"})
    assert second.content.decode().count("Paged Person") == 5
    assert member_client.get(reverse("crm:search"), {"page": "x" * 50}).status_code == 200


def test_nav_search_shows_only_with_crm_view(org, member_client, crm):
    from django.contrib.auth import get_user_model
    from django.test import Client

    assert 'id="nav-search-input"' in member_client.get(reverse("crm:account_list")) \
        .content.decode()
    buyer = get_user_model().objects.create_user("buyer1", "b@example.test", "x-Pass-123!")
    Membership.objects.create(user=buyer, organization=org, role=Role.BUYER)
    client = Client()
    client.force_login(buyer)
    assert 'id="nav-search-input"' not in client.get(reverse("core:dashboard")) \
        .content.decode()
    assert client.get(reverse("crm:search_suggest"), {"q": "budi"}).status_code == 403


def test_outsider_finds_nothing_of_ours(outsider_client, crm):
    body = outsider_client.get(reverse("crm:search_suggest"), {"q": "budi"}).content.decode()
    assert "Budi" not in body
    assert outsider_client.get(reverse("crm:account_lookup"), {"q": "budi"}).json() == \
        {"results": []}


def test_account_lookup_json(member_client, crm):
    data = member_client.get(reverse("crm:account_lookup"), {"q": "budi"}).json()
    assert [row["name"] for row in data["results"]] == ["Budi Makmur", "PT Sejahtera"]
    excluded = member_client.get(reverse("crm:account_lookup"),
                                 {"q": "budi", "exclude": str(crm["budi_inc"].pk)}).json()
    assert [row["name"] for row in excluded["results"]] == ["PT Sejahtera"]


def test_forms_render_a_picker_not_a_select_of_accounts(org, owner, member_client, crm):
    body = member_client.get(reverse("crm:contact_create")).content.decode()
    assert 'name="account"' in body and "<select name=\"account\"" not in body
    assert "data-account-picker" in body and "Budi Makmur" not in body
    edit = member_client.get(reverse("crm:contact_edit", args=[crm["budi"].pk])) \
        .content.decode()
    assert 'value="PT Sejahtera"' in edit  # the current account's name is shown
    body = member_client.get(reverse("crm:account_create")).content.decode()
    assert "data-account-picker" in body and '<select name="parent"' not in body


def test_picker_refuses_another_organizations_account(org, other_org, outsider, member_client,
                                                       crm):
    foreign = services.account_create(organization=other_org, actor=outsider, name="Theirs")
    response = member_client.post(reverse("crm:contact_create"),
                                  {"last_name": "Picked", "account": str(foreign.pk)})
    assert response.status_code == 400
    response = member_client.post(reverse("crm:contact_create"),
                                  {"last_name": "Picked", "account": str(crm["mention"].pk)})
    assert response.status_code == 302
    response = member_client.post(reverse("crm:account_create"),
                                  {"name": "Child", "status": "prospect", "tier": "standard",
                                   "parent": str(foreign.pk)})
    assert response.status_code == 400


# --- API -------------------------------------------------------------------------------------


@pytest.fixture
def member_api(member, org):
    return ApiClient(token=bearer_token_for(Membership.objects.get(user=member)))


def test_search_api(member_api, crm):
    response = member_api.get("/crm/search?q=budi&kinds=contact&limit=5")
    assert response.status_code == 200
    data = response.json()
    assert data["query"] == "budi"
    assert [(r["kind"], r["title"]) for r in data["results"]] == [("contact", "Budi Santoso")]
    assert data["results"][0]["url"].endswith(f"/crm/contacts/{crm['budi'].pk}/")
    assert member_api.get("/crm/search?q=b").json()["results"] == []
    assert member_api.get("/crm/search?q=budi&limit=51").status_code == 422
    assert member_api.get("/crm/search?q=" + "(" * 100).status_code == 200


def test_search_api_needs_crm_view(org, owner):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user("buyer2", "b2@example.test", "x-Pass-123!")
    membership = Membership.objects.create(user=user, organization=org, role=Role.BUYER)
    api = ApiClient(token=bearer_token_for(membership))
    assert api.get("/crm/search?q=budi").status_code == 403


def test_reindex_command_rebuilds_rows(org, owner, crm):
    from django.core.management import call_command

    SearchDocument.objects.filter(organization=org).delete()
    SearchDocument.objects.create(organization=org, kind="account", object_id=10**9,
                                  title="Ghost Budi")
    call_command("crm_reindex", "--org", org.slug, stdout=io.StringIO())
    assert titles(search(organization=org, query="sukarno")) == ["Ahmad Sukarnó"]
    assert "Ghost Budi" not in titles(search(organization=org, query="budi"))
    assert SearchDocument.objects.filter(organization=org).count() == 4


def test_name_prefix_lists_page_through_matches_with_the_fenced_order(org, owner,
                                                                      member_client):
    """The list's name search (sorted by name or by update) pages correctly both ways with
    the order written so no sort index is walked (PostgreSQL)."""
    import re

    from jalin.crm import views as crm_views

    for index in range(7):
        services.contact_create(organization=org, actor=owner, first_name=f"F{index}",
                                last_name="Wijaya")
        services.contact_create(organization=org, actor=owner, last_name=f"Other {index}")
    original = crm_views.PER_PAGE
    crm_views.PER_PAGE = 3
    try:
        for sort in ("name", "updated"):
            base = reverse("crm:contact_list")
            seen, url, pages = [], base + f"?q=wij&sort={sort}", []
            while url:
                body = member_client.get(url).content.decode()
                pages.append(re.findall(r">(F\d Wijaya)<", body))
                seen += pages[-1]
                found = re.search(r'href="([^"]*)" rel="next"', body)
                url = base + found.group(1).replace("&amp;", "&") if found else None
            assert sorted(seen) == [f"F{i} Wijaya" for i in range(7)], sort
            if sort == "name":
                assert seen == [f"F{i} Wijaya" for i in range(7)]
            previous = re.search(r'href="([^"]*)" rel="prev"', body).group(1)
            body = member_client.get(base + previous.replace("&amp;", "&")).content.decode()
            assert re.findall(r">(F\d Wijaya)<", body) == pages[-2]
    finally:
        crm_views.PER_PAGE = original


def test_document_and_activity_hits_link_somewhere(org, owner, crm):
    from jalin.crm.models import Document

    document = Document.objects.create(organization=org, title="Budi price agreement",
                                       account=crm["budi_inc"])
    search_index.index_document(document)
    hit = search(organization=org, query="agreement", kinds=["document"])[0]
    assert hit.kind == "document" and hit.url
    assert hit.url.startswith("/crm/")
