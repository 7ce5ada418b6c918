"""The related panels of the CRM account and contact pages (jalin.crm.panels): every module's
records about the customer in one place, each panel only for roles that may see its module,
never another organization's records, a failing panel degrading to a notice, a bounded
number of queries however much the customer has; and the same panels over the JSON API."""

import logging
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from jalin.api.testing import ApiClient, bearer_token_for
from jalin.core import panels as core_panels
from jalin.crm.panels import ACCOUNT, register_account_panel
from jalin.tenancy.models import Membership
from jalin.tenancy.roles import Role
from tests.account_panels_world import build_outsider, build_world, more_records
from tests.conftest import _client_for, make_user

MAX_PAGE_QUERIES = 50  # 39 today: the page itself, ~13 for the panels, their savepoints


@pytest.fixture
def world(org, owner):
    return build_world(org, owner)


def _page(client, account):
    response = client.get(reverse("crm:account_detail", args=[account.pk]))
    assert response.status_code == 200
    return response.content.decode()


def _persona(org, username, role):
    user = make_user(username)
    Membership.objects.create(user=user, organization=org, role=role)
    return user


def test_owner_sees_every_panel_with_at_most_five_rows(world, owner_client):
    html = _page(owner_client, world.account)
    for key in ("deals", "quotes", "hub", "cases", "agreements", "portfolio"):
        assert f'id="panel-{key}"' in html, key
    # Deals: the five closing soonest (deal 0..4), not the sixth; totals of open and won.
    for i in range(5):
        assert f"Ours deal {i}</a>" in html
    assert "Ours deal 5</a>" not in html
    assert reverse("sales:opportunity_detail", args=[world.deals[0].pk]) in html
    assert f"{reverse('sales:opportunities')}?account={world.account.pk}" in html
    assert "7.000.000" in html or "7,000,000" in html  # the won total
    # Quotes: the five newest with their status and a filtered "view all".
    assert world.quotes[-1].label in html and f">{world.quotes[0].label}<" not in html
    assert f"{reverse('sales:quotes')}?account={world.account.pk}" in html
    # Hub: orders and open invoices of the linked buyer, links to the supplier pages.
    assert reverse("hub:order_detail", args=[world.orders[-1].pk]) in html
    assert reverse("hub:order_detail", args=[world.orders[0].pk]) not in html
    assert reverse("hub:invoice_detail", args=[world.invoices[0].pk]) in html
    assert f"side=supplier&amp;counterparty={world.toko.pk}" in html
    assert "Overdue" in html
    # Cases with their SLA state, agreements in force, the portfolio records.
    assert 'data-sla="breached"' in html and 'data-sla="at_risk"' in html
    assert 'data-sla="on_track"' in html
    assert f"{reverse('service:cases')}?account={world.account.pk}" in html
    assert "Ours agreement 0" in html and "Ours agreement 5" not in html
    assert "Ours late deliveries" in html and "Ours requirement 5" in html
    assert "Ours improvement 0" not in html  # the five newest only
    assert reverse("brm:customer", args=[world.account.pk]) in html


def test_view_all_links_filter_by_the_account(world, owner_client):
    quotes = owner_client.get(reverse("sales:quotes"), {"account": world.account.pk})
    assert quotes.status_code == 200 and quotes.content.decode().count("data-quote=") == 6
    other = owner_client.get(reverse("sales:quotes"), {"account": 999999})
    assert other.status_code == 200 and "data-quote=" not in other.content.decode()
    orders = owner_client.get(reverse("hub:orders"), {"side": "supplier",
                                                      "counterparty": world.toko.pk})
    assert orders.status_code == 200
    body = orders.content.decode()
    assert "Orders with Toko Bangunan" in body
    assert all(f"#{order.number}<" in body for order in world.orders)
    nothing = owner_client.get(reverse("hub:orders"), {"side": "supplier",
                                                       "counterparty": 10**30})
    assert nothing.status_code == 200 and "#1<" not in nothing.content.decode()


def test_a_member_without_sales_permission_sees_no_sales_panel(org, world):
    agent = _client_for(_persona(org, "agen", Role.SERVICE_AGENT))
    html = _page(agent, world.account)
    assert 'id="panel-deals"' not in html and 'id="panel-quotes"' not in html
    assert "Ours deal 0" not in html
    assert 'id="panel-cases"' in html and 'id="panel-portfolio"' in html
    finance = _client_for(_persona(org, "fina", Role.FINANCE))
    html = _page(finance, world.account)
    assert 'id="panel-hub"' in html
    for key in ("deals", "quotes", "cases", "agreements", "portfolio"):
        assert f'id="panel-{key}"' not in html


def test_outsider_gets_404_and_never_sees_the_others_records(
        org, other_org, owner, outsider, world, owner_client, outsider_client):
    theirs = build_outsider(other_org, outsider, world.toko)
    assert outsider_client.get(
        reverse("crm:account_detail", args=[world.account.pk])).status_code == 404
    html = _page(owner_client, world.account)
    assert "OUTSIDER" not in html
    assert reverse("hub:order_detail", args=[theirs.orders[0].pk]) not in html
    # And the outsider's page of its same-named account, linked to the same buyer, shows only
    # the outsider's own records.
    own = _page(outsider_client, theirs.account)
    assert "OUTSIDER deal 0" in own and "OUTSIDER case 0" in own
    assert "Ours" not in own
    assert reverse("hub:order_detail", args=[world.orders[-1].pk]) not in own


def test_a_failing_panel_degrades_to_a_notice(world, owner_client, caplog):
    def broken(*, organization, record, user):
        raise RuntimeError("the warehouse is on fire")

    register_account_panel("broken", title="Broken", order=1, selector=broken,
                           template="crm/panels/_related.html")
    try:
        with caplog.at_level(logging.ERROR, logger="jalin.panels"):
            html = _page(owner_client, world.account)
    finally:
        core_panels.unregister_panel(ACCOUNT, "broken")
    assert 'id="panel-broken"' in html and "could not be loaded" in html
    assert "Ours deal 0" in html and 'id="panel-cases"' in html  # the others still show
    assert any("broken" in record.getMessage() for record in caplog.records)


def test_a_failing_query_does_not_poison_the_other_panels(world, owner_client):
    from django.db import connection

    def bad_sql(*, organization, record, user):
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM no_such_table_for_panels")
        return {}

    register_account_panel("bad_sql", title="Bad SQL", order=1, selector=bad_sql,
                           template="crm/panels/_related.html")
    try:
        html = _page(owner_client, world.account)
    finally:
        core_panels.unregister_panel(ACCOUNT, "bad_sql")
    assert 'id="panel-bad_sql"' in html and "could not be loaded" in html
    assert "Ours agreement 0" in html and "Ours late deliveries" in html


def test_the_page_query_count_is_bounded(org, owner, world, owner_client,
                                         django_assert_max_num_queries):
    # Six rows behind every panel (one more than each shows) ...
    with CaptureQueriesContext(connection) as first:
        _page(owner_client, world.account)
    # ... and three times as many: the count does not grow with the rows (no N+1; the first
    # request of a test also warms a few caches).
    more_records(org, owner, world, count=12)
    with (django_assert_max_num_queries(MAX_PAGE_QUERIES),
          CaptureQueriesContext(connection) as second):
        _page(owner_client, world.account)
    assert len(second) <= len(first), (len(first), len(second))


def test_contact_page_shows_open_deals_and_cases(org, world, owner_client):
    response = owner_client.get(reverse("crm:contact_detail", args=[world.contact.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="panel-deals"' in html and "Ours deal 0</a>" in html
    assert 'id="panel-cases"' in html and "Ours case 5" in html
    agent = _client_for(_persona(org, "agen2", Role.SERVICE_AGENT))
    html = agent.get(reverse("crm:contact_detail", args=[world.contact.pk])).content.decode()
    assert 'id="panel-deals"' not in html and 'id="panel-cases"' in html


# --- JSON API ------------------------------------------------------------------------------


def _api(user):
    return ApiClient(token=bearer_token_for(Membership.objects.get(user=user)))


def test_api_summary_returns_the_panels(org, owner, world, other_org, outsider,
                                        django_assert_max_num_queries):
    build_outsider(other_org, outsider, world.toko)
    api = _api(owner)
    with django_assert_max_num_queries(MAX_PAGE_QUERIES):
        response = api.get(f"/crm/accounts/{world.account.pk}/summary")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["account"]["id"] == world.account.pk
    panels = {panel["key"]: panel for panel in body["panels"]}
    assert list(panels) == ["deals", "quotes", "hub", "cases", "agreements", "portfolio"]
    assert all(panel["ok"] for panel in panels.values())
    deals = panels["deals"]["data"]
    assert [row["name"] for row in deals["open"]] == [f"Ours deal {i}" for i in range(5)]
    [won] = deals["won_totals"]
    assert (won["currency"], won["count"], Decimal(won["amount"])) == ("IDR", 1, 7000000)
    assert deals["open"][0]["close_date"] == world.deals[0].close_date.isoformat()
    hub = panels["hub"]["data"]
    assert hub["linked"] and len(hub["orders"]) == 5 and len(hub["open_invoices"]) == 5
    [balance] = hub["balances"]
    assert balance["currency"] == "IDR"
    assert (Decimal(balance["open"]), Decimal(balance["overdue"])) == (450000, 150000)
    assert {row["sla_state"] for row in panels["cases"]["data"]["open"]} == {
        "breached", "at_risk", "on_track"}
    assert "OUTSIDER" not in response.content.decode()


def test_api_summary_respects_roles_tenancy_and_failures(org, owner, world, outsider):
    agent = _persona(org, "agen3", Role.SERVICE_AGENT)
    keys = [panel["key"] for panel in
            _api(agent).get(f"/crm/accounts/{world.account.pk}/summary").json()["panels"]]
    assert "deals" not in keys and "quotes" not in keys and "cases" in keys
    assert _api(outsider).get(f"/crm/accounts/{world.account.pk}/summary").status_code == 404
    assert _api(owner).get("/crm/accounts/999999999/summary").status_code == 404

    def broken(*, organization, record, user):
        raise ValueError("nope")

    register_account_panel("broken", title="Broken", order=1, selector=broken,
                           template="crm/panels/_related.html")
    try:
        body = _api(owner).get(f"/crm/accounts/{world.account.pk}/summary").json()
    finally:
        core_panels.unregister_panel(ACCOUNT, "broken")
    assert body["panels"][0] == {"key": "broken", "title": "Broken", "ok": False, "data": None}
    assert body["panels"][1]["ok"]
