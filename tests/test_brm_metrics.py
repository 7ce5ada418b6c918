"""BRM metrics dashboard on a known data set (hand-computed), its page, CSV and API, query
counts that do not grow with the number of customers, and referrals."""

import datetime
from decimal import Decimal

import pytest

from jalin.api.testing import ApiClient, bearer_token_for
from jalin.brm import metrics, referrals
from jalin.brm.models import (
    BusinessObjective,
    CustomerChange,
    Improvement,
    OpportunityRecord,
    Referral,
    Requirement,
    RequirementVersion,
    SignOff,
)
from jalin.brm.periods import Period, parse_period
from jalin.hub import stock
from jalin.hub.models import Order
from jalin.hub.orders import order_place
from jalin.hub.testing import link_buyer, make_price_list, make_product, set_price
from jalin.tenancy.models import Membership

from .brm_review_world import World, at
from .conftest import make_org

DAY = datetime.date
OCTOBER = Period("month", DAY(2026, 10, 1), DAY(2026, 10, 31))


def api_for(user):
    return ApiClient(token=bearer_token_for(Membership.objects.filter(user=user).first()))


def _requirement(org, number, account, status, *, signed=None, costs=0):
    requirement = Requirement.objects.create(organization=org, number=number, account=account,
                                             title=f"Req {number}", status=status,
                                             created_at=at(2026, 9, 1))
    version = RequirementVersion.objects.create(requirement=requirement, number=1,
                                                description="d", costs=Decimal(costs))
    if signed:
        SignOff.objects.create(requirement=requirement, requirement_version=version,
                               signer_name="Bambang", decision="approved", decided_at=signed)
    return requirement


@pytest.fixture
def world(org, owner):
    w = World(org)
    a, b, c = w.account("Alpha"), w.account("Beta"), w.account("Gamma")
    outside = w.account("Not in portfolio", profile=False)
    w.a, w.b, w.c, w.outside = a, b, c, outside
    # Objectives: Alpha agreed, Beta proposed, Gamma none -> documented 2/3, agreed 1/3.
    BusinessObjective.objects.create(organization=org, account=a, title="Grow",
                                     status="agreed", agreed_on=DAY(2026, 10, 5),
                                     created_at=at(2026, 9, 1))
    BusinessObjective.objects.create(organization=org, account=b, title="Save",
                                     status="proposed", created_at=at(2026, 9, 1))
    BusinessObjective.objects.create(organization=org, account=c, title="Dropped",
                                     status="dropped", created_at=at(2026, 9, 1))
    # Requirements: submitted (non-draft) 3, approved 2 -> 66.67 %; signed off in October 1,
    # with a business case 1.
    _requirement(org, 1, a, "approved", signed=at(2026, 10, 10), costs=100)
    _requirement(org, 2, a, "qualified")
    _requirement(org, 3, b, "approved", signed=at(2026, 9, 15))
    _requirement(org, 4, c, "draft")
    # Changes in October: 4 identified, 3 with a response (10 h, 30 h, 2 h): 75 %, mean 14,
    # median 10.
    CustomerChange.objects.create(organization=org, account=a, origin="ours", title="c1",
                                  identified_at=at(2026, 10, 1, 0), response="r",
                                  responded_at=at(2026, 10, 1, 10))
    CustomerChange.objects.create(organization=org, account=b, origin="ours", title="c2",
                                  identified_at=at(2026, 10, 2, 8), response="r",
                                  responded_at=at(2026, 10, 3, 14))
    CustomerChange.objects.create(organization=org, account=c, origin="ours", title="c3",
                                  identified_at=at(2026, 10, 10, 0), response="r",
                                  responded_at=at(2026, 10, 10, 2))
    CustomerChange.objects.create(organization=org, account=a, origin="customer", title="c4",
                                  identified_at=at(2026, 10, 20))
    CustomerChange.objects.create(organization=org, account=a, origin="customer", title="c5",
                                  identified_at=at(2026, 9, 20))
    # Opportunities: identified 2 (one for nobody), assessed 1, recorded 1 in October.
    OpportunityRecord.objects.create(organization=org, title="o1", account=a,
                                     identified_at=at(2026, 10, 2))
    OpportunityRecord.objects.create(organization=org, title="o2",
                                     identified_at=at(2026, 10, 3))
    OpportunityRecord.objects.create(organization=org, title="o3", account=b,
                                     status="recorded", identified_at=at(2026, 9, 3),
                                     assessed_at=at(2026, 10, 4), recorded_at=at(2026, 10, 9))
    # SLA: Alpha 2 met + 1 breached, Beta 1 met -> 3/4 = 75 %, Alpha 66.67 %, Beta 100 %.
    for account, states in ((a, ("achieved", "achieved", "breached")), (b, ("achieved",))):
        for state in states:
            case = w.case(account, created=at(2026, 10, 6))
            if state == "breached":
                w.clock(case, "resolution", state="running", breached=at(2026, 10, 7))
            else:
                w.clock(case, "resolution", state="achieved", stopped=at(2026, 10, 7))
    # Satisfaction: CSAT Alpha 5, 2 / Beta 4 (good >= 4): 2/3 = 66.67 %; NPS Alpha 10,
    # Beta 3: 0; invitations 5 answered + 1 unanswered: 83.33 %.
    for account, kind, score in ((a, "csat", 5), (a, "csat", 2), (b, "csat", 4),
                                 (a, "nps", 10), (b, "nps", 3)):
        w.answer(kind, account, score, when=at(2026, 10, 12))
    w.invitation("csat", c, sent=at(2026, 10, 12))
    # Referrals: Alpha 2 in October, Beta 1 in September.
    for day in (3, 4):
        Referral.objects.create(organization=org, referrer=a, referred_name=f"R{day}",
                                referred_on=DAY(2026, 10, day))
    Referral.objects.create(organization=org, referrer=b, referred_name="Old",
                            referred_on=DAY(2026, 9, 30))
    # Improvements: raised in October complaint (Alpha), survey (Beta), service report
    # (nobody) -> 3, from feedback 2; completed in October 1 (raised in September).
    for number, source, account in ((1, "complaint", a), (2, "survey", b),
                                    (3, "service_report", None)):
        Improvement.objects.create(organization=org, number=number, title=f"i{number}",
                                   source=source, account=account, raised_at=at(2026, 10, 8))
    Improvement.objects.create(organization=org, number=4, title="done", source="feedback",
                               account=a, raised_at=at(2026, 9, 8), status="closed",
                               closed_at=at(2026, 10, 15))
    return w


def _orders(org, owner, buyers_and_dates):
    warehouse = stock.warehouse_create(supplier=org, actor=owner, code="W1", name="Main")
    product = make_product(org, owner, "SKU-1")
    stock.stock_adjust(warehouse=warehouse, product=product, delta=1000, reason="init",
                       actor=owner)
    prices = make_price_list(org, owner)
    set_price(prices, product, "1000", owner)
    relationships = {}
    for buyer, when in buyers_and_dates:
        if buyer.pk not in relationships:
            relationships[buyer.pk] = link_buyer(org, buyer, owner, price_list=prices)
        order = order_place(relationship=relationships[buyer.pk], actor=owner,
                            lines=[(product.pk, 1)], entered_by_supplier=True)
        Order.objects.filter(pk=order.pk).update(submitted_at=when)


def test_metrics_on_a_known_data_set(world, django_assert_max_num_queries):
    with django_assert_max_num_queries(12):
        data = metrics.brm_metrics(organization=world.org, period=OCTOBER)
    overall = data["overall"]
    assert overall["customers"] == 3
    assert (overall["objectives_documented_share"], overall["objectives_agreed_share"]) == (
        66.67, 33.33)
    assert (overall["requirements_submitted"], overall["requirements_approved"],
            overall["signoff_share"], overall["requirements_signed_off"],
            overall["business_cases_signed_off"]) == (3, 2, 66.67, 1, 1)
    assert (overall["changes_identified"], overall["changes_with_response"],
            overall["changes_response_share"], overall["change_response_mean_hours"],
            overall["change_response_median_hours"]) == (4, 3, 75.0, 14.0, 10.0)
    assert (overall["opportunities_identified"], overall["opportunities_assessed"],
            overall["opportunities_recorded"]) == (2, 1, 1)
    assert (overall["sla_total"], overall["sla_achieved"], overall["sla_attainment_percent"]) \
        == (4, 3, 75.0)
    assert (overall["csat_percent"], overall["nps"], overall["response_rate"]) == (
        66.67, 0.0, 83.33)
    assert overall["referrals"] == 2
    assert (overall["improvements_raised"], overall["improvements_from_feedback"],
            overall["improvements_completed"]) == (3, 2, 1)
    assert overall["improvements_by_source"]["service_report"] == 1
    rows = {row["name"]: row for row in data["customers"]}
    assert list(rows) == ["Alpha", "Beta", "Gamma"]  # not the account outside the portfolio
    alpha = rows["Alpha"]
    assert (alpha["objectives_agreed"], alpha["sla_attainment_percent"], alpha["csat_percent"],
            alpha["nps"], alpha["referrals"], alpha["changes_identified"],
            alpha["change_response_median_hours"]) == (True, 66.67, 50.0, 100.0, 2, 2, 10.0)
    assert (rows["Beta"]["sla_attainment_percent"], rows["Beta"]["nps"]) == (100.0, -100.0)
    assert rows["Gamma"]["response_rate"] == 0.0 and rows["Gamma"]["csat_percent"] is None
    assert set(data["definitions"]) >= {"csat", "nps", "repeat_business", "sla_attainment"}
    # One customer only.
    only = metrics.brm_metrics(organization=world.org, period=OCTOBER, account_id=world.a.pk)
    assert [row["name"] for row in only["customers"]] == ["Alpha"]
    assert (only["overall"]["sla_attainment_percent"], only["overall"]["csat_percent"],
            only["overall"]["opportunities_identified"]) == (66.67, 50.0, 1)


def test_repeat_business_rate(org, owner):
    w = World(org)
    buyers = [make_org(f"buyer-{n}", is_buyer=True, is_supplier=False) for n in range(3)]
    for n, buyer in enumerate(buyers):
        w.account(f"Customer {n}", buyer=buyer)
    # Buyer 0: ordered before and in October (repeat); buyer 1: first order in October;
    # buyer 2: ordered only in September.
    _orders(org, owner, [(buyers[0], at(2026, 8, 5)), (buyers[0], at(2026, 10, 5)),
                         (buyers[1], at(2026, 10, 6)), (buyers[2], at(2026, 9, 6))])
    data = metrics.brm_metrics(organization=org, period=OCTOBER)
    assert (data["overall"]["ordered"], data["overall"]["repeat"],
            data["overall"]["repeat_business_rate"]) == (2, 1, 50.0)
    quarter = metrics.brm_metrics(organization=org, period=parse_period(
        "quarter", "2026-Q3", organization=org))
    assert (quarter["overall"]["ordered"], quarter["overall"]["repeat"]) == (2, 0)


def test_query_count_does_not_grow_with_customers(world, django_assert_max_num_queries):
    with django_assert_max_num_queries(12):
        metrics.brm_metrics(organization=world.org, period=OCTOBER)
    for n in range(30):
        account = world.account(f"More {n}")
        case = world.case(account, created=at(2026, 10, 6))
        world.clock(case, "resolution", state="achieved", stopped=at(2026, 10, 7))
        world.answer("csat", account, 5, when=at(2026, 10, 12))
    with django_assert_max_num_queries(12):
        data = metrics.brm_metrics(organization=world.org, period=OCTOBER)
    assert data["overall"]["customers"] == 33
    with django_assert_max_num_queries(5):
        trend = metrics.trend(organization=world.org,
                              periods=[OCTOBER.previous(), OCTOBER, OCTOBER.next()])
    assert [row["sla_attainment_percent"] for row in trend] == [None, 97.06, None]
    assert trend[1]["improvements_raised"] == 3 and trend[1]["improvements_completed"] == 1


def test_page_csv_and_api(world, owner, owner_client, outsider, outsider_client,
                          django_assert_max_num_queries):
    page = owner_client.get("/brm/metrics/?period=month&on=2026-10")
    body = page.content.decode()
    assert page.status_code == 200
    assert 'data-value="75.0"' in body and 'data-value="66.67"' in body
    assert "promoters (9–10)" in body  # definitions listed
    assert 'data-chart="brm-quality-chart"' in body
    assert owner_client.get("/brm/metrics/?period=year").status_code == 400
    assert owner_client.get("/brm/metrics/?on=2026-13").status_code == 400
    csv_response = owner_client.get("/brm/metrics/export.csv?period=month&on=2026-10")
    text = b"".join(csv_response.streaming_content).decode("utf-8-sig")
    lines = text.strip().splitlines()
    assert lines[0].startswith("period,account_id,name,")
    assert lines[1].startswith("2026-10,") and "Alpha" in lines[1]
    assert "All customers" in lines[-1]
    quarter = owner_client.get("/brm/metrics/?period=quarter&on=2026-Q4")
    assert quarter.status_code == 200
    # The outsider sees none of it.
    other = outsider_client.get("/brm/metrics/?period=month&on=2026-10").content.decode()
    assert "Alpha" not in other
    api = api_for(owner)
    api.get("/brm/metrics")  # warm-up (token bookkeeping)
    with django_assert_max_num_queries(24):
        response = api.get("/brm/metrics?period=month&on=2026-10&trend=3")
    data = response.json()
    assert response.status_code == 200
    assert data["overall"]["sla_attainment_percent"] == 75.0
    assert data["period"] == {"kind": "month", "key": "2026-10", "start": "2026-10-01",
                              "end": "2026-10-31"}
    assert len(data["trend"]) == 3 and data["trend"][-1]["csat_percent"] == 66.67
    assert api.get("/brm/metrics?on=bad").status_code == 422
    assert api.get("/brm/metrics?period=year").status_code == 422
    theirs = api_for(outsider).get("/brm/metrics?period=month&on=2026-10").json()
    assert theirs["customers"] == [] and theirs["overall"]["sla_total"] == 0


def test_referrals_form_and_api(world, owner, owner_client, member_client, outsider):
    before = Referral.objects.count()
    bad = owner_client.post("/brm/referrals/", {"referrer": "", "referred_name": "X"})
    assert bad.status_code == 400 and 'role="alert"' in bad.content.decode()
    assert owner_client.post("/brm/referrals/", {"referrer": world.a.pk,
                                                 "referred_name": ""}).status_code == 400
    assert owner_client.post("/brm/referrals/", {"referrer": world.a.pk,
                                                 "referred_name": "New Co",
                                                 "referred_on": "2026-13-01"}
                             ).status_code == 400
    assert Referral.objects.count() == before
    ok = owner_client.post("/brm/referrals/", {"referrer": world.a.pk,
                                               "referred_name": "New Co",
                                               "referred_on": "2026-10-20"})
    assert ok.status_code == 302
    assert member_client.post("/brm/referrals/", {"referrer": world.a.pk,
                                                  "referred_name": "Y"}).status_code == 403
    assert "New Co" in owner_client.get("/brm/referrals/").content.decode()
    api = api_for(owner)
    created = api.post("/brm/referrals", {"referrer_id": world.b.pk,
                                          "referred_account_id": world.outside.pk,
                                          "referred_on": "2026-10-21"})
    assert created.status_code == 201 and created.json()["referred_name"] == \
        "Not in portfolio"
    foreign = World(outsider.memberships.get().organization).account("Theirs")
    assert api.post("/brm/referrals", {"referrer_id": foreign.pk, "referred_name": "Z"}
                    ).status_code == 404
    assert api.post("/brm/referrals", {"referrer_id": world.a.pk,
                                       "referred_account_id": world.a.pk}).status_code == 422
    assert len(api.get("/brm/referrals").json()["items"]) == Referral.objects.count()
    assert api_for(outsider).get("/brm/referrals").json()["items"] == []
    with pytest.raises(referrals.ReferralError):
        referrals.referral_create(organization=world.org, actor=owner, referrer_id=world.a.pk,
                                  referred_name="Future",
                                  referred_on=DAY(2100, 1, 1))
    data = metrics.brm_metrics(organization=world.org, period=OCTOBER)
    assert data["overall"]["referrals"] == 4
