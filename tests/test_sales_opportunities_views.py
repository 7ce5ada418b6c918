"""Opportunity pages: board (columns, counts, load more, bounded queries, htmx moves, stale
version 409), list (filters, keyset pages, CSV), detail (history, won/lost, reopen, lines),
new/edit forms, pipeline settings, lead conversion landing on the deal; members without
sales.edit cannot write; outsiders get 404 everywhere."""

import datetime

import pytest
from django.urls import reverse

from jalin.crm import services as crm
from jalin.sales import leads
from jalin.sales import opportunities as opps
from jalin.sales.models import CloseReason, Competitor, Opportunity, PipelineStage
from jalin.tenancy.models import Membership
from jalin.tenancy.roles import Role
from tests.conftest import _client_for, make_user

CLOSE = datetime.date(2026, 12, 31)


@pytest.fixture
def world(org, owner):
    account = crm.account_create(organization=org, actor=owner, name="Toko Jaya")
    pipeline = leads.default_pipeline(org)
    stages = {s.name: s for s in PipelineStage.objects.filter(pipeline=pipeline)}
    deal = opps.opportunity_create(organization=org, actor=owner, name="Semen 500 sak",
                                   account=account, close_date=CLOSE, amount=15_000_000)
    return {"account": account, "pipeline": pipeline, "stages": stages, "deal": deal}


def test_board_shows_columns_and_moves_with_htmx(world, org, owner, owner_client,
                                                 django_assert_max_num_queries):
    for index in range(30):
        opps.opportunity_create(organization=org, actor=owner, name=f"Deal {index}",
                                account=world["account"], close_date=CLOSE, amount=1000)
    with django_assert_max_num_queries(20):
        response = owner_client.get(reverse("sales:board"))
    page = response.content.decode()
    assert response.status_code == 200
    assert "Qualification" in page and "Negotiation" in page and "Semen 500 sak" in page
    assert page.count('data-move-url') == 25 and "Load more" in page
    column = owner_client.get(reverse("sales:board_column"), {
        "pipeline": world["pipeline"].pk, "stage": world["stages"]["Qualification"].pk,
        "cursor": _next_cursor(page)}, HTTP_HX_REQUEST="true")
    assert column.status_code == 200 and column.content.decode().count('data-move-url') == 6
    deal = world["deal"]
    proposal = world["stages"]["Proposal"]
    moved = owner_client.post(reverse("sales:opportunity_move", args=[deal.pk]),
                              {"stage": proposal.pk, "version": deal.version},
                              HTTP_HX_REQUEST="true")
    assert moved.status_code == 200 and 'id="board"' in moved.content.decode()
    assert Opportunity.objects.get(pk=deal.pk).stage_id == proposal.pk
    stale = owner_client.post(reverse("sales:opportunity_move", args=[deal.pk]),
                              {"stage": world["stages"]["Negotiation"].pk,
                               "version": deal.version}, HTTP_HX_REQUEST="true")
    assert stale.status_code == 409 and "board-error" in stale.content.decode()
    assert Opportunity.objects.get(pk=deal.pk).stage_id == proposal.pk
    bad = owner_client.post(reverse("sales:opportunity_move", args=[deal.pk]),
                            {"stage": "nope"}, HTTP_HX_REQUEST="true")
    assert bad.status_code == 400
    # A plain post (no JavaScript) redirects back to the board
    plain = owner_client.post(reverse("sales:opportunity_move", args=[deal.pk]),
                              {"stage": world["stages"]["Negotiation"].pk})
    assert plain.status_code == 302 and Opportunity.objects.get(pk=deal.pk).stage.name == \
        "Negotiation"


def _next_cursor(page):
    import html
    import re
    from urllib.parse import parse_qs, urlparse

    match = re.search(r'hx-get="([^"]*board/?column[^"]*|[^"]*pipeline/column/[^"]*)"', page)
    query = parse_qs(urlparse(html.unescape(match.group(1))).query)
    return query["cursor"][0]


def test_list_filters_pages_and_csv(world, org, owner, member, owner_client,
                                    django_assert_max_num_queries):
    for index in range(60):
        opps.opportunity_create(organization=org, actor=owner, name=f"Deal {index}",
                                account=world["account"], close_date=CLOSE,
                                amount=index, owner=member if index < 10 else owner)
    with django_assert_max_num_queries(12):
        page = owner_client.get(reverse("sales:opportunities")).content.decode()
    assert page.count("<tr>") == 51 and "next-page" in page
    mine = owner_client.get(reverse("sales:opportunities"), {"owner": member.pk})
    assert mine.content.decode().count("<tr>") == 11
    searched = owner_client.get(reverse("sales:opportunities"), {"q": "semen"})
    assert searched.content.decode().count("<tr>") == 2
    nothing = owner_client.get(reverse("sales:opportunities"), {"status": "won"})
    assert "No opportunities match" in nothing.content.decode()
    tampered = owner_client.get(reverse("sales:opportunities"), {"cursor": "x", "sort": "??"})
    assert tampered.status_code == 200
    export = owner_client.get(reverse("sales:opportunity_export"), {"sort": "amount"})
    body = b"".join(export.streaming_content).decode()
    assert export["Content-Type"].startswith("text/csv")
    assert body.splitlines()[1].split(",")[1] == "Semen 500 sak"
    assert len(body.splitlines()) == 62


def test_detail_close_reopen_and_lines(world, org, owner, owner_client):
    deal = world["deal"]
    opps.opportunity_move(opportunity=deal, actor=owner, stage=world["stages"]["Proposal"])
    page = owner_client.get(reverse("sales:opportunity_detail", args=[deal.pk])).content.decode()
    assert "Stage history" in page and page.count('class="history-row"') == 2
    assert "Mark as lost" in page
    deal.refresh_from_db()
    line = owner_client.post(reverse("sales:opportunity_line_add", args=[deal.pk]),
                             {"description": "Semen", "quantity": "10",
                              "unit_price": "65,000", "version": deal.version})
    assert line.status_code == 302
    deal.refresh_from_db()
    assert deal.amount == 650000
    bad_line = owner_client.post(reverse("sales:opportunity_line_add", args=[deal.pk]),
                                 {"description": "X", "quantity": "0", "unit_price": "1"})
    assert bad_line.status_code == 400
    no_reason = owner_client.post(reverse("sales:opportunity_close", args=[deal.pk]),
                                  {"outcome": "lost", "version": deal.version})
    assert no_reason.status_code == 400 and "close-error" in no_reason.content.decode()
    reason = CloseReason.objects.get(organization=org, name="No budget")
    lost = owner_client.post(reverse("sales:opportunity_close", args=[deal.pk]),
                             {"outcome": "lost", "reason": reason.pk, "version": deal.version})
    assert lost.status_code == 302
    deal.refresh_from_db()
    assert deal.status == "lost" and deal.close_reason == reason
    stale = owner_client.post(reverse("sales:opportunity_reopen", args=[deal.pk]),
                              {"version": deal.version - 1})
    assert stale.status_code == 409
    reopened = owner_client.post(reverse("sales:opportunity_reopen", args=[deal.pk]),
                                 {"version": deal.version})
    assert reopened.status_code == 302
    won = owner_client.post(reverse("sales:opportunity_close", args=[deal.pk]),
                            {"outcome": "won"})
    assert won.status_code == 302 and Opportunity.objects.get(pk=deal.pk).status == "won"
    page = owner_client.get(reverse("sales:opportunity_detail", args=[deal.pk])).content.decode()
    assert page.count('class="history-row"') == 5 and "reopen-form" in page


def test_new_and_edit_forms(world, org, owner, member, owner_client):
    account = world["account"]
    form = owner_client.get(reverse("sales:opportunity_new"), {"account": account.pk})
    assert form.status_code == 200 and "Toko Jaya" in form.content.decode()
    bad = owner_client.post(reverse("sales:opportunity_new"), {"name": "", "account": ""})
    assert bad.status_code == 400 and Opportunity.objects.count() == 1
    created = owner_client.post(reverse("sales:opportunity_new"), {
        "name": "Besi beton", "account": account.pk, "close_date": "2026-12-15",
        "amount": "2,500,000", "stage": world["stages"]["Proposal"].pk})
    assert created.status_code == 302, created.content
    deal = Opportunity.objects.get(name="Besi beton")
    assert deal.stage.name == "Proposal" and deal.amount == 2_500_000
    assert created["Location"] == reverse("sales:opportunity_detail", args=[deal.pk])
    edit = owner_client.get(reverse("sales:opportunity_edit", args=[deal.pk]))
    assert edit.status_code == 200
    rival = Competitor.objects.create(organization=org, name="PT Saingan")
    saved = owner_client.post(reverse("sales:opportunity_edit", args=[deal.pk]), {
        "version": deal.version, "name": "Besi beton 12mm", "account": account.pk,
        "close_date": "2026-12-20", "amount": "3000000", "owner": member.pk,
        "next_step": "Kirim sampel", "competitors": [rival.pk]})
    assert saved.status_code == 302, saved.content
    deal.refresh_from_db()
    assert (deal.name, deal.owner_id, deal.next_step) == ("Besi beton 12mm", member.pk,
                                                          "Kirim sampel")
    assert list(deal.competitors.all()) == [rival]
    stale = owner_client.post(reverse("sales:opportunity_edit", args=[deal.pk]), {
        "version": 1, "name": "Other", "account": account.pk, "close_date": "2026-12-20"})
    assert stale.status_code == 409 and Opportunity.objects.get(pk=deal.pk).name == \
        "Besi beton 12mm"


def test_pipeline_settings_page(world, org, owner, owner_client):
    url = reverse("sales:pipeline_settings")
    assert owner_client.get(url).status_code == 200
    pipeline = world["pipeline"]
    response = owner_client.post(url, {"action": "stage_save", "pipeline": pipeline.pk,
                                       "name": "Site visit", "probability": "30"})
    assert response.status_code == 302
    assert PipelineStage.objects.filter(pipeline=pipeline, name="Site visit").exists()
    bad = owner_client.post(url, {"action": "stage_save", "pipeline": pipeline.pk,
                                  "name": "X", "probability": "300"})
    assert bad.status_code == 400
    in_use = owner_client.post(url, {"action": "stage_delete", "pipeline": pipeline.pk,
                                     "stage": world["deal"].stage_id})
    assert in_use.status_code == 400
    assert owner_client.post(url, {"action": "competitor_new", "name": "PT Saingan"}
                             ).status_code == 302
    assert owner_client.post(url, {"action": "reason_save", "kind": "lost",
                                   "name": "Tender lost"}).status_code == 302
    assert owner_client.post(url, {"action": "pipeline_new", "name": "Projects"}
                             ).status_code == 302
    assert owner_client.post(url, {"action": "???"}).status_code == 400


def test_lead_conversion_lands_on_the_opportunity(org, owner, owner_client):
    lead = leads.lead_create(organization=org, actor=owner, first_name="Ani", last_name="W",
                             company="PT Maju")
    response = owner_client.post(reverse("sales:lead_convert", args=[lead.pk]),
                                 {"version": lead.version, "opportunity": "1",
                                  "amount": "1000"})
    lead.refresh_from_db()
    assert response["Location"] == reverse("sales:opportunity_detail",
                                           args=[lead.converted_opportunity_id])


def test_viewer_reads_but_cannot_write(world, org, owner):
    viewer = make_user("viewer")
    Membership.objects.create(user=viewer, organization=org, role=Role.VIEWER)
    client = _client_for(viewer)
    deal = world["deal"]
    assert client.get(reverse("sales:board")).status_code == 200
    page = client.get(reverse("sales:opportunity_detail", args=[deal.pk])).content.decode()
    assert "won-form" not in page
    assert client.post(reverse("sales:opportunity_close", args=[deal.pk]),
                       {"outcome": "won"}).status_code == 403
    assert client.post(reverse("sales:opportunity_move", args=[deal.pk]),
                       {"stage": world["stages"]["Proposal"].pk}).status_code == 403
    assert client.post(reverse("sales:pipeline_settings"),
                       {"action": "competitor_new", "name": "X"}).status_code == 404
    assert Opportunity.objects.get(pk=deal.pk).status == "open"


def test_outsider_gets_404_everywhere(world, outsider_client):
    deal = world["deal"]
    line_url = reverse("sales:opportunity_line_remove", args=[deal.pk, 1])
    for url in (reverse("sales:opportunity_detail", args=[deal.pk]),
                reverse("sales:opportunity_edit", args=[deal.pk])):
        assert outsider_client.get(url).status_code == 404, url
    for url in (reverse("sales:opportunity_move", args=[deal.pk]),
                reverse("sales:opportunity_close", args=[deal.pk]),
                reverse("sales:opportunity_reopen", args=[deal.pk]),
                reverse("sales:opportunity_line_add", args=[deal.pk]), line_url):
        assert outsider_client.post(url, {"stage": world["stages"]["Proposal"].pk,
                                          "outcome": "won"}).status_code == 404, url
    board = outsider_client.get(reverse("sales:board"), {"pipeline": world["pipeline"].pk})
    assert "Semen 500 sak" not in board.content.decode()
    listing = outsider_client.get(reverse("sales:opportunities"))
    assert "Semen 500 sak" not in listing.content.decode()
    column = outsider_client.get(reverse("sales:board_column"), {
        "pipeline": world["pipeline"].pk, "stage": world["stages"]["Proposal"].pk})
    assert column.status_code == 404
    export = outsider_client.get(reverse("sales:opportunity_export"))
    assert "Semen" not in b"".join(export.streaming_content).decode()
    assert Opportunity.objects.get(pk=deal.pk).status == "open"


def test_dashboard_lists_my_open_deals_and_those_gone_quiet(world, org, owner, owner_client,
                                                            member, django_assert_max_num_queries):
    from django.utils import timezone

    opps.opportunity_create(organization=org, actor=owner, name="Cat tembok",
                            account=world["account"],
                            close_date=CLOSE + datetime.timedelta(days=30))
    quiet = opps.opportunity_create(organization=org, actor=owner, name="Besi beton",
                                    account=world["account"], close_date=CLOSE)
    Opportunity.objects.filter(pk=quiet.pk).update(stale_alerted_at=timezone.now())
    opps.opportunity_create(organization=org, actor=owner, name="Pipa PVC",
                            account=world["account"], close_date=CLOSE, owner=member)
    won = opps.opportunity_create(organization=org, actor=owner, name="Genteng",
                                  account=world["account"], close_date=CLOSE)
    opps.opportunity_close(opportunity=won, actor=owner, won=True)
    for index in range(15):
        opps.opportunity_create(organization=org, actor=owner, name=f"Later {index}",
                                account=world["account"],
                                close_date=CLOSE + datetime.timedelta(days=60))
    with django_assert_max_num_queries(15):
        response = owner_client.get(reverse("sales:home"))
    page = response.content.decode()
    mine = page[page.index('id="my-deals"'):page.index('id="stale-deals"')]
    # Open deals of this seller only, soonest close date first, ten at most.
    assert mine.index("Semen 500 sak") < mine.index("Cat tembok")
    assert "Pipa PVC" not in mine and "Genteng" not in mine and "Later 14" not in mine
    assert mine.count("/sales/opportunities/") - mine.count("?owner=mine") == 10
    quiet_section = page[page.index('id="stale-deals"'):page.index('id="recent-conversions"')]
    assert "Besi beton" in quiet_section and "Semen 500 sak" not in quiet_section
