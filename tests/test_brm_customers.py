"""Customer portfolio: profiles, objectives, stakeholders, revenue from the hub, predicted
value, signals, the portfolio list (filters, sort, keyset, query counts), pages and API."""

import datetime
from decimal import Decimal

import pytest

from jalin.api.testing import ApiClient
from jalin.brm import customer_selectors as selectors
from jalin.brm import customers
from jalin.brm.models import BusinessObjective, CustomerProfile, Stakeholder
from jalin.crm.models import Contact
from jalin.hub.testing import link_buyer, make_invoice
from jalin.service.models import Case
from jalin.tenancy.roles import Role
from jalin.tenancy.services import TenancyError

from .brm_portfolio_world import buyer_world, customer, member_of

pytestmark = pytest.mark.django_db
TODAY = datetime.date(2026, 11, 15)


def _contact(org, account, name="Ani"):
    return Contact.objects.create(organization=org, account=account, last_name=name)


def test_profile_upsert_health_reason_and_version(org, owner):
    account = customer(org)
    with pytest.raises(TenancyError):
        customers.profile_update(account=account, actor=owner, health="critical")
    assert not CustomerProfile.objects.exists()
    profile = customers.profile_update(account=account, actor=owner, health="at_risk",
                                       health_note="Late payments", review_every_days=30)
    assert profile.next_review_on is not None and profile.version == 1
    profile = customers.profile_update(account=account, actor=owner, version=1,
                                       health="good")
    assert profile.health_note == "" and profile.version == 2
    with pytest.raises(TenancyError):
        customers.profile_update(account=account, actor=owner, version=1, health="good")
    with pytest.raises(TenancyError):
        customers.profile_update(account=account, actor=owner, version=2,
                                 review_every_days=2)
    assert CustomerProfile.objects.count() == 1


def test_agreed_objective_needs_date_and_customer_contact(org, owner):
    account = customer(org)
    other = customer(org, "Other")
    contact, stranger = _contact(org, account), _contact(org, other, "Budi")
    with pytest.raises(TenancyError):
        customers.objective_create(account=account, actor=owner, title="Grow",
                                   status="agreed", agreed_on=TODAY)
    with pytest.raises(TenancyError):
        customers.objective_create(account=account, actor=owner, title="Grow",
                                   status="agreed", agreed_on=TODAY, agreed_by=stranger)
    assert not BusinessObjective.objects.exists()
    objective = customers.objective_create(account=account, actor=owner, title="Grow",
                                           desired_outcome="Twice the stores")
    objective = customers.objective_update(objective=objective, actor=owner, version=1,
                                           status="agreed", agreed_on=TODAY,
                                           agreed_by=contact)
    assert objective.status == "agreed" and objective.agreed_by == contact


def test_stakeholders_and_portal_login(org, owner):
    buyer, account, approver, _shopper = buyer_world(org)
    contact = _contact(org, account)
    outsider_user, _ = member_of(org, "staffer", Role.SALES)
    with pytest.raises(TenancyError):
        customers.stakeholder_create(account=account, actor=owner, contact=contact,
                                     role="decision_maker", portal_user=outsider_user)
    stakeholder = customers.stakeholder_create(account=account, actor=owner, contact=contact,
                                               role="decision_maker", portal_user=approver)
    with pytest.raises(TenancyError):
        customers.stakeholder_create(account=account, actor=owner, contact=contact,
                                     role="decision_maker")
    customers.stakeholder_create(account=account, actor=owner, contact=contact,
                                 role="service_user")
    customers.stakeholder_remove(stakeholder=stakeholder, actor=owner)
    assert list(Stakeholder.objects.values_list("role", flat=True)) == ["service_user"]


def _revenue_world(org, owner):
    buyer, account, _approver, _shopper = buyer_world(org)
    relationship = link_buyer(org, buyer, owner)
    # 6 months before the last 6: 100/month; the last 6: 150/month; one credit note of 50.
    for back in range(12):
        month = selectors._months_back(TODAY.replace(day=1), back)
        amount = 150 if back < 6 else 100
        make_invoice(relationship, amount, issue_date=month + datetime.timedelta(days=4))
    make_invoice(relationship, 50, issue_date=TODAY - datetime.timedelta(days=3),
                 kind="credit_note")
    # Older than 24 months and another currency: not counted.
    make_invoice(relationship, 999, issue_date=datetime.date(2020, 1, 5))
    make_invoice(relationship, 7, currency="USD", issue_date=TODAY - datetime.timedelta(days=1))
    return account


def test_revenue_by_month_and_prediction(org, owner):
    account = _revenue_world(org, owner)
    revenue = selectors.revenue_by_month(organization=org, account=account, today=TODAY)
    assert revenue.linked and len(revenue.months) == 24
    this_month = revenue.months[-1]
    assert this_month[0] == TODAY.replace(day=1)
    assert (this_month[1], this_month[2], this_month[3]) == (
        Decimal("150.00"), Decimal("50.00"), Decimal("100.00"))
    assert revenue.total == Decimal(6 * 150 + 6 * 100 - 50)
    assert revenue.other_currencies == [("USD", Decimal("7.00"))]
    prediction = selectors.predicted_value(revenue)
    # T12 = 1450; trend = (850 / 600) = 1.4166 → 1.42; 1450 × 1.42 = 2059.00
    assert prediction.trailing_12 == Decimal("1450.00")
    assert prediction.trend == Decimal("1.42")
    assert prediction.computed == Decimal("2059.00")
    assert selectors.predicted_value(revenue, override=Decimal("5")).value == Decimal("5")
    unlinked = selectors.revenue_by_month(organization=org, account=customer(org, "Solo"),
                                          today=TODAY)
    assert not unlinked.linked and selectors.predicted_value(unlinked).computed is None


def test_signals_read_the_service_desk(org, owner):
    account = customer(org)
    Case.objects.create(organization=org, number=1, kind="complaint", subject="Late",
                        account=account, status="open")
    Case.objects.create(organization=org, number=2, kind="complaint", subject="Done",
                        account=account, status="resolved")
    signals = selectors.signals_for(organization=org, account=account)
    assert signals.open_complaints == 1 and signals.sla_breaches_90d == 0


def test_portfolio_filters_sort_keyset_matrix(org, owner):
    names = ["Alfa", "Bravo", "Charlie", "Delta", "Echo"]
    accounts = [customer(org, name) for name in names]
    customers.profile_update(account=accounts[1], actor=owner, health="critical",
                             health_note="x", next_review_on=datetime.date(2026, 1, 1))
    customers.profile_update(account=accounts[3], actor=owner, health="at_risk",
                             health_note="y", next_review_on=datetime.date(2025, 1, 1))
    queryset = selectors.portfolio_queryset(organization=org)
    first = selectors.portfolio_page(queryset, sort="name", limit=2)
    assert [a.name for a in first.items] == ["Alfa", "Bravo"]
    second = selectors.portfolio_page(queryset, sort="name", cursor=first.next_cursor,
                                      limit=2)
    assert [a.name for a in second.items] == ["Charlie", "Delta"]
    by_health = selectors.portfolio_page(queryset, sort="health", limit=10)
    assert [a.name for a in by_health.items][:2] == ["Bravo", "Delta"]
    by_review = selectors.portfolio_page(queryset, sort="next_review", limit=1)
    assert by_review.items[0].name == "Delta"
    page2 = selectors.portfolio_page(queryset, sort="next_review", limit=1,
                                     cursor=by_review.next_cursor)
    assert page2.items[0].name == "Bravo"
    assert selectors.portfolio_page(queryset, cursor="garbage!").items[0].name == "Alfa"
    critical = selectors.portfolio_queryset(organization=org, health="critical")
    assert [a.name for a in critical] == ["Bravo"]
    unassessed = selectors.portfolio_queryset(organization=org, health="not_assessed")
    assert unassessed.count() == 3
    columns, matrix = selectors.tier_health_matrix(queryset)
    standard = next(row for row in matrix if row[1] == "standard")
    assert dict(standard[2]) == {"good": 0, "at_risk": 1, "critical": 1, "not_assessed": 3}


def test_portfolio_page_query_count(org, owner, owner_client, django_assert_max_num_queries):
    for index in range(3):
        account = customer(org, f"Few {index}")
        customers.profile_update(account=account, actor=owner, relationship_manager=owner)
    with django_assert_max_num_queries(16):
        response = owner_client.get("/brm/")
    assert response.status_code == 200
    for index in range(20):
        account = customer(org, f"Many {index}")
        customers.profile_update(account=account, actor=owner, relationship_manager=owner)
    with django_assert_max_num_queries(16):
        response = owner_client.get("/brm/?sort=health")
    assert response.status_code == 200 and b"Many 19" in response.content


def test_pages_three_personas(org, owner, owner_client, member_client, outsider_client):
    account = _revenue_world(org, owner)
    contact = _contact(org, account)
    response = owner_client.get(f"/brm/customers/{account.pk}/")
    assert response.status_code == 200
    assert b"revenue-table" in response.content and b"prediction-how" in response.content
    response = owner_client.post(f"/brm/customers/{account.pk}/profile/", {
        "health": "critical", "health_note": "", "review_every_days": "30"})
    assert response.status_code == 400 and not CustomerProfile.objects.exists()
    response = owner_client.post(f"/brm/customers/{account.pk}/profile/", {
        "health": "critical", "health_note": "Outage", "review_every_days": "30",
        "relationship_manager": owner.pk})
    assert response.status_code == 302
    response = owner_client.post(f"/brm/customers/{account.pk}/objectives/", {
        "title": "Open 10 stores", "status": "agreed", "agreed_on": "2026-11-01",
        "agreed_by": contact.pk})
    assert response.status_code == 302
    response = owner_client.post(f"/brm/customers/{account.pk}/stakeholders/", {
        "contact": contact.pk, "role": "sponsor", "influence": "5"})
    assert response.status_code == 302
    page = owner_client.get("/brm/?health=critical")
    assert b"Toko Test" in page.content
    csv = b"".join(owner_client.get("/brm/customers/export.csv").streaming_content)
    assert b"Toko Test" in csv and b"critical" in csv
    unlinked = customer(org, "Solo")
    assert b"revenue-unlinked" in owner_client.get(f"/brm/customers/{unlinked.pk}/").content
    # Member (sales): reads, cannot write.
    assert member_client.get(f"/brm/customers/{account.pk}/").status_code == 200
    assert member_client.post(f"/brm/customers/{account.pk}/objectives/",
                              {"title": "No"}).status_code == 403
    assert BusinessObjective.objects.count() == 1
    # Outsider: 404.
    assert outsider_client.get(f"/brm/customers/{account.pk}/").status_code == 404
    assert b"Toko Test" not in outsider_client.get("/brm/").content


def test_api_over_http(org, owner, owner_client, member_client, outsider_client):
    account = _revenue_world(org, owner)
    contact = _contact(org, account)
    api = ApiClient(client=owner_client)
    response = api.patch(f"/brm/customers/{account.pk}/profile",
                         {"health": "at_risk", "health_note": "Slow", "predicted_value": "10"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["profile"]["health"] == "at_risk" and body["prediction"]["value"] == "10.00"
    response = api.patch(f"/brm/customers/{account.pk}/profile",
                         {"version": 9, "health": "good"})
    assert response.status_code == 409
    response = api.post(f"/brm/customers/{account.pk}/objectives",
                        {"title": "Grow", "status": "agreed"})
    assert response.status_code == 422
    response = api.post(f"/brm/customers/{account.pk}/objectives",
                        {"title": "Grow", "status": "agreed", "agreed_on": "2026-11-01",
                         "agreed_by_contact_id": contact.pk})
    assert response.status_code == 201 and response.json()["agreed_by_contact_id"] == contact.pk
    response = api.post(f"/brm/customers/{account.pk}/stakeholders",
                        {"contact_id": contact.pk, "role": "decision_maker"})
    assert response.status_code == 201
    stakeholder_id = response.json()["id"]
    revenue = api.get(f"/brm/customers/{account.pk}/revenue?months=12").json()
    assert revenue["linked"] and len(revenue["months"]) == 12
    listing = api.get("/brm/customers?health=at_risk").json()
    assert [row["name"] for row in listing["items"]] == ["Toko Test"]
    assert api.delete(f"/brm/stakeholders/{stakeholder_id}").status_code == 204
    assert ApiClient(client=member_client).patch(
        f"/brm/customers/{account.pk}/profile", {"health": "good"}).status_code == 403
    outsider = ApiClient(client=outsider_client)
    assert outsider.get(f"/brm/customers/{account.pk}").status_code == 404
    assert outsider.get("/brm/customers").json()["items"] == []
