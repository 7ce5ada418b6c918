"""Customer service reviews: the report on a known data set (hand-computed attainment, CSAT,
NPS, CES, response rate), the frozen report of a held review, the scheduling job, pages,
PDF, portal isolation and the API."""

import datetime
import json
from decimal import Decimal

import pytest
from django.test import Client

from jalin.api.testing import ApiClient, bearer_token_for
from jalin.brm import reviews
from jalin.brm.models import (
    CustomerChange,
    CustomerProfile,
    Improvement,
    Requirement,
    ReviewStatus,
    ServiceReview,
)
from jalin.brm.review_report import build_report
from jalin.core.events_models import Event
from jalin.core.models import AuditLog, Notification
from jalin.service.models import Agreement, InvitationStatus, SlaResult
from jalin.tenancy.models import Membership
from jalin.tenancy.roles import Role

from .brm_review_world import World, at
from .conftest import make_org, make_user
from .pdf_text import pdf_text

DAY = datetime.date


def api_for(user):
    membership = Membership.objects.filter(user=user).first()
    return ApiClient(token=bearer_token_for(membership))


@pytest.fixture
def buyer_org(db):
    return make_org("toko-bangunan", is_buyer=True, is_supplier=False)


@pytest.fixture
def buyer_user(buyer_org):
    user = make_user("lina")
    Membership.objects.create(user=user, organization=buyer_org, role=Role.BUYER)
    return user


@pytest.fixture
def world(org, owner, buyer_org):
    """The known data set: review of "Toko" for 2026-09-01 .. 2026-11-30, held 2026-12-01."""
    w = World(org)
    toko = w.account("Toko", buyer=buyer_org, manager=owner)
    other = w.account("Other customer")
    w.toko, w.other = toko, other
    # Case 1: high complaint, first response met, resolution met.
    c1 = w.case(toko, kind="complaint", priority="high", created=at(2026, 10, 1),
                resolved=at(2026, 10, 2))
    w.clock(c1, "first_response", state="achieved", stopped=at(2026, 10, 1, 11))
    w.clock(c1, "resolution", state="achieved", stopped=at(2026, 10, 2))
    # Case 2: normal incident, first response breached, resolution met.
    c2 = w.case(toko, kind="incident", created=at(2026, 10, 5), resolved=at(2026, 10, 8))
    w.clock(c2, "first_response", state="breached", breached=at(2026, 10, 5, 15),
            stopped=at(2026, 10, 6))
    w.clock(c2, "resolution", state="achieved", stopped=at(2026, 10, 8))
    # Case 3: high question, still open; first response met, resolution breached (running).
    c3 = w.case(toko, kind="question", priority="high", created=at(2026, 11, 10))
    w.clock(c3, "first_response", state="achieved", stopped=at(2026, 11, 10, 12))
    w.clock(c3, "resolution", state="running", breached=at(2026, 11, 20))
    # Case 4: opened before the period, resolved in it (its first response is not counted).
    c4 = w.case(toko, kind="incident", created=at(2026, 8, 20), resolved=at(2026, 9, 3))
    w.clock(c4, "first_response", state="achieved", stopped=at(2026, 8, 20, 11))
    w.clock(c4, "resolution", state="achieved", stopped=at(2026, 9, 3))
    # Not counted: decided after the period; another customer's breach.
    c5 = w.case(toko, created=at(2026, 11, 29), resolved=at(2026, 12, 5))
    w.clock(c5, "resolution", state="achieved", stopped=at(2026, 12, 5))
    c6 = w.case(other, kind="complaint", created=at(2026, 10, 1))
    w.clock(c6, "first_response", state="breached", breached=at(2026, 10, 1, 15))
    # Satisfaction: CSAT 5,4,3,2,5 (good >= 4): 3/5 = 60 %; NPS 10,9,9,8,6,3: (3-2)/6 = 16.67;
    # CES 2,5: 3.5; invitations 13 answered + 2 sent + 1 expired (+1 cancelled, excluded):
    # 13/16 = 81.25 %.
    when = at(2026, 10, 15)
    for score in (5, 4, 3, 2, 5):
        w.answer("csat", toko, score, when=when)
    for score in (10, 9, 9, 8, 6, 3):
        w.answer("nps", toko, score, when=when)
    for score in (2, 5):
        w.answer("ces", toko, score, when=when)
    w.invitation("csat", toko, sent=when)
    w.invitation("csat", toko, sent=when)
    w.invitation("csat", toko, sent=when, status=InvitationStatus.EXPIRED)
    w.invitation("csat", toko, sent=when, status=InvitationStatus.CANCELLED)
    w.answer("csat", toko, 1, when=at(2026, 8, 1))  # before the period
    w.answer("csat", other, 1, when=when)  # another customer
    # Improvements, agreements, requirements, changes.
    Improvement.objects.create(organization=org, number=1, title="Faster call-backs",
                               source="complaint", account=toko, status="in_progress")
    Improvement.objects.create(organization=org, number=2, title="Closed one",
                               source="survey", account=toko, status="closed")
    Improvement.objects.create(organization=org, number=3, title="Someone else's",
                               source="survey", account=other)
    Agreement.objects.create(organization=org, number=1, title="Toko SLA", account=toko,
                             status="active", ends_on=DAY(2026, 12, 31),
                             review_on=DAY(2027, 3, 15))
    Agreement.objects.create(organization=org, number=2, title="Old contract", account=toko,
                             status="terminated", ends_on=DAY(2026, 12, 20))
    Requirement.objects.create(organization=org, number=1, account=toko, title="EDI orders",
                               status="submitted")
    Requirement.objects.create(organization=org, number=2, account=toko, title="Approved",
                               status="approved")
    Requirement.objects.create(organization=org, number=3, account=toko, title="Draft",
                               status="draft")
    CustomerChange.objects.create(organization=org, account=toko, origin="ours",
                                  title="New warehouse", identified_at=at(2026, 10, 3),
                                  response="Routes adapted", responded_at=at(2026, 10, 4))
    CustomerChange.objects.create(organization=org, account=toko, origin="customer",
                                  title="They open a branch", identified_at=at(2026, 11, 3))
    CustomerChange.objects.create(organization=org, account=toko, origin="customer",
                                  title="Older change", identified_at=at(2026, 8, 3))
    w.review = ServiceReview.objects.create(
        organization=org, account=toko, buyer=buyer_org, scheduled_for=DAY(2026, 12, 1),
        period_start=DAY(2026, 9, 1), period_end=DAY(2026, 11, 30))
    return w


def _sla(report, metric, priority):
    return next(row for row in report["sla"]["rows"]
                if row["metric"] == metric and row["priority"] == priority)


def test_report_on_a_known_data_set(world, django_assert_max_num_queries):
    with django_assert_max_num_queries(14):
        report = build_report(world.review, now=at(2026, 12, 1, 9))
    sla = report["sla"]
    assert (sla["total"], sla["achieved"], sla["breached"]) == (7, 5, 2)
    assert sla["attainment_percent"] == 71.43
    assert _sla(report, "first_response", "high")["attainment_percent"] == 100.0
    assert _sla(report, "first_response", "normal")["attainment_percent"] == 0.0
    assert _sla(report, "resolution", "high") | {} == {
        "metric": "resolution", "priority": "high", "total": 2, "achieved": 1, "breached": 1,
        "attainment_percent": 50.0}
    assert _sla(report, "resolution", "normal")["total"] == 2
    cases = report["cases"]
    assert (cases["opened"], cases["resolved"], cases["complaints"], cases["open_at_end"],
            cases["breached"]) == (4, 3, 1, 2, 2)
    by_kind = {row["kind"]: (row["opened"], row["resolved"]) for row in cases["by_kind"]}
    assert by_kind["incident"] == (1, 2)
    assert by_kind["complaint"] == (1, 1)
    sat = report["satisfaction"]
    assert sat["csat"] == {"answers": 5, "good": 3, "percent": 60.0}
    assert sat["nps"] == {"answers": 6, "promoters": 3, "detractors": 2, "passives": 1,
                          "score": 16.67}
    assert sat["ces"] == {"answers": 2, "mean": 3.5}
    assert sat["response_rate"] == {"sent": 16, "answered": 13, "percent": 81.25}
    assert [row["title"] for row in report["improvements"]] == ["Faster call-backs"]
    assert [(row["title"], row["due"]) for row in report["agreements_due"]] == [
        ("Toko SLA", "renewal")]
    assert [row["title"] for row in report["requirements_awaiting"]] == ["EDI orders"]
    changes = report["changes"]
    assert (changes["identified"], changes["with_response"], changes["without_response"]) \
        == (2, 1, 1)
    assert [row["title"] for row in changes["awaiting_response"]] == [
        "Older change", "They open a branch"]
    json.dumps(report)  # plain JSON


def test_report_lists_the_recorded_sla_results(world, org):
    agreement = Agreement.objects.get(title="Toko SLA")
    common = {"organization": org, "agreement": agreement, "agreement_key": agreement.pk,
              "account": world.toko, "metric": "resolution", "priority": "high",
              "required_percent": Decimal("95")}
    SlaResult.objects.create(period=DAY(2026, 10, 1), total=4, achieved=3, breached=1,
                             attainment_percent=Decimal("75.00"), met=False, **common)
    SlaResult.objects.create(period=DAY(2026, 12, 1), total=1, achieved=1, breached=0,
                             attainment_percent=Decimal("100.00"), met=True, **common)
    [row] = build_report(world.review)["sla"]["results"]
    assert (row["period_start"], row["period_end"], row["attainment_percent"],
            row["required_percent"], row["met"]) == ("2026-10-01", "2026-10-31", 75.0, 95.0,
                                                    False)
    # A cancelled clock is never counted.
    case = world.case(world.toko, created=at(2026, 10, 20))
    world.clock(case, "resolution", state="cancelled", stopped=at(2026, 10, 21))
    assert build_report(world.review)["sla"]["total"] == 7


def test_held_report_is_frozen(world, owner):
    held = reviews.review_hold(review=world.review, actor=owner, minutes="Agreed: call-backs",
                               version=1, now=at(2026, 12, 1, 11))
    frozen = json.loads(json.dumps(held.report))
    assert held.status == ReviewStatus.HELD and held.version == 2
    assert frozen["satisfaction"]["csat"]["percent"] == 60.0
    # The data changes afterwards...
    world.answer("csat", world.toko, 1, when=at(2026, 10, 20))
    Improvement.objects.filter(number=1).update(status="closed")
    case = world.case(world.toko, kind="complaint", created=at(2026, 11, 1))
    world.clock(case, "first_response", state="breached", breached=at(2026, 11, 1, 15))
    # ...the held review reads the same.
    held.refresh_from_db()
    assert held.report == frozen
    assert build_report(held)["satisfaction"]["csat"]["percent"] == 50.0  # live differs
    client = Client()
    client.force_login(owner)
    page = client.get(f"/brm/reviews/{held.pk}/").content.decode()
    assert "60.0 %" in page and "Faster call-backs" in page and "Agreed: call-backs" in page
    # Holding moved the customer's next review on by its cadence; audit and event.
    profile = CustomerProfile.objects.get(account=world.toko)
    assert profile.next_review_on == DAY(2026, 12, 1) + datetime.timedelta(days=90)
    assert AuditLog.objects.filter(action="brm.review.held", object_id=str(held.pk)).exists()
    assert Event.objects.filter(type="brm.review.held").count() == 1
    # Holding twice is refused and changes nothing.
    with pytest.raises(reviews.ReviewError):
        reviews.review_hold(review=held, actor=owner, minutes="again")
    held.refresh_from_db()
    assert held.minutes == "Agreed: call-backs"


def test_scheduling_job_is_idempotent_and_notifies(org, owner, django_assert_max_num_queries):
    w = World(org)
    soon = w.account("Soon", manager=owner, next_review_on=DAY(2026, 12, 10), every=30)
    w.account("Later", manager=owner, next_review_on=DAY(2027, 2, 1))
    w.account("Never", manager=owner)
    now = at(2026, 12, 1, 6)
    assert reviews.schedule_due_reviews(now=now) == 1
    with django_assert_max_num_queries(4):
        assert reviews.schedule_due_reviews(now=now) == 0
    review = ServiceReview.objects.get()
    assert (review.account, review.scheduled_for, review.status) == (
        soon, DAY(2026, 12, 10), ReviewStatus.SCHEDULED)
    assert (review.period_start, review.period_end) == (DAY(2026, 11, 10), DAY(2026, 12, 9))
    notes = Notification.objects.filter(user=owner, kind="brm.review")
    assert notes.count() == 1 and f"/brm/reviews/{review.pk}/" in notes.get().url
    # A hand-made review on the same day is refused with a clear error.
    with pytest.raises(reviews.ReviewError):
        reviews.review_create(organization=org, account=soon, scheduled_for=DAY(2026, 12, 10))
    # Once held, the next one comes 30 days later and the job schedules it when due.
    reviews.review_hold(review=review, actor=owner, now=at(2026, 12, 10, 10))
    assert reviews.schedule_due_reviews(now=at(2026, 12, 28)) == 1
    assert ServiceReview.objects.filter(scheduled_for=DAY(2027, 1, 9)).count() == 1
    assert ServiceReview.objects.get(scheduled_for=DAY(2027, 1, 9)).period_start == \
        DAY(2026, 12, 10)


def test_pages_pdf_and_bad_input(world, owner_client, member_client, org):
    review = world.review
    listing = owner_client.get("/brm/reviews/")
    assert listing.status_code == 200 and "Toko" in listing.content.decode()
    detail = owner_client.get(f"/brm/reviews/{review.pk}/")
    body = detail.content.decode()
    assert detail.status_code == 200 and "71.43 %" in body and 'id="hold-form"' in body
    pdf = owner_client.get(f"/brm/reviews/{review.pk}/pdf/")
    assert pdf["Content-Type"] == "application/pdf"
    text = pdf_text(pdf.content)
    assert "Toko" in text and "Faster call-backs" in text
    # Schedule by hand: bad input is 400 and creates nothing.
    before = ServiceReview.objects.count()
    for data in ({"account": world.toko.pk, "scheduled_for": "soon"},
                 {"account": "999999", "scheduled_for": "2027-01-10"},
                 {"account": world.toko.pk, "scheduled_for": "2027-01-10",
                  "period_start": "2027-01-05", "period_end": "2027-01-01"},
                 {"account": world.toko.pk, "scheduled_for": "2026-12-01"}):
        response = owner_client.post("/brm/reviews/new/", data)
        assert response.status_code == 400, data
        assert 'role="alert"' in response.content.decode()
    assert ServiceReview.objects.count() == before
    created = owner_client.post("/brm/reviews/new/", {"account": world.toko.pk,
                                                      "scheduled_for": "2027-03-01"})
    assert created.status_code == 302
    # A member (sales: brm.view only) reads but cannot write.
    assert member_client.get(f"/brm/reviews/{review.pk}/").status_code == 200
    assert member_client.post(f"/brm/reviews/{review.pk}/hold/",
                              {"version": 1}).status_code == 403
    # A stale version is refused (409) and changes nothing.
    response = owner_client.post(f"/brm/reviews/{review.pk}/hold/", {"version": 7})
    assert response.status_code == 409
    review.refresh_from_db()
    assert review.status == ReviewStatus.SCHEDULED
    assert owner_client.post(f"/brm/reviews/{review.pk}/hold/",
                             {"version": 1, "minutes": "ok"}).status_code == 302


def test_portal_isolation(world, owner, buyer_user, buyer_org, outsider_client):
    buyer = Client()
    buyer.force_login(buyer_user)
    review = world.review
    # Not held yet: invisible to the buyer.
    assert buyer.get(f"/brm/portal/reviews/{review.pk}/").status_code == 404
    reviews.review_hold(review=review, actor=owner, minutes="Thanks", now=at(2026, 12, 1, 11))
    home = buyer.get("/service/").content.decode()
    assert 'href="/brm/portal/reviews/"' in home
    listing = buyer.get("/brm/portal/reviews/").content.decode()
    assert f"/brm/portal/reviews/{review.pk}/" in listing
    page = buyer.get(f"/brm/portal/reviews/{review.pk}/")
    assert page.status_code == 200 and "60.0 %" in page.content.decode()
    assert 'id="hold-form"' not in page.content.decode()
    assert buyer.get(f"/brm/portal/reviews/{review.pk}/pdf/")["Content-Type"] == \
        "application/pdf"
    # The buyer cannot use the staff pages; another buyer gets 404 everywhere.
    assert buyer.get(f"/brm/reviews/{review.pk}/").status_code in (403, 404)
    for url in (f"/brm/portal/reviews/{review.pk}/", f"/brm/portal/reviews/{review.pk}/pdf/",
                f"/brm/reviews/{review.pk}/", f"/brm/reviews/{review.pk}/pdf/"):
        assert outsider_client.get(url).status_code == 404, url
    assert "Toko" not in outsider_client.get("/brm/portal/reviews/").content.decode()
    api = api_for(buyer_user)
    assert api.get("/brm/portal/reviews").json()["items"][0]["id"] == review.pk
    assert api.get(f"/brm/portal/reviews/{review.pk}").json()["report"]["sla"]["total"] == 7


def test_api_over_http(world, owner, outsider, member):
    api = api_for(owner)
    listing = api.get("/brm/reviews")
    assert listing.status_code == 200 and listing.json()["items"][0]["account_name"] == "Toko"
    detail = api.get(f"/brm/reviews/{world.review.pk}").json()
    assert detail["report"]["satisfaction"]["nps"]["score"] == 16.67
    created = api.post("/brm/reviews", {"account_id": world.toko.pk,
                                        "scheduled_for": "2027-03-01"})
    assert created.status_code == 201, created.content
    assert created.json()["period_start"] == "2026-12-01"
    duplicate = api.post("/brm/reviews", {"account_id": world.toko.pk,
                                          "scheduled_for": "2027-03-01"})
    assert duplicate.status_code == 422
    assert api.post("/brm/reviews", {"account_id": world.toko.pk, "scheduled_for": "x"}
                    ).status_code == 422
    assert api.post("/brm/reviews", {"account_id": world.toko.pk,
                                     "scheduled_for": "2027-04-01", "extra": 1}
                    ).status_code == 422
    count = ServiceReview.objects.count()
    foreign = World(outsider.memberships.get().organization).account("Theirs")
    assert api.post("/brm/reviews", {"account_id": foreign.pk,
                                     "scheduled_for": "2027-04-01"}).status_code == 404
    assert ServiceReview.objects.count() == count
    stale = api.post(f"/brm/reviews/{world.review.pk}/hold", {"version": 3})
    assert stale.status_code == 409
    held = api.post(f"/brm/reviews/{world.review.pk}/hold", {"version": 1, "minutes": "m"})
    assert held.status_code == 200 and held.json()["status"] == "held"
    assert api.post(f"/brm/reviews/{world.review.pk}/cancel", {"version": 2}
                    ).status_code == 422
    assert api_for(member).post(f"/brm/reviews/{created.json()['id']}/cancel",
                                       {"version": 1}).status_code == 403
    outsider_api = api_for(outsider)
    assert outsider_api.get(f"/brm/reviews/{world.review.pk}").status_code == 404
    assert outsider_api.get(f"/brm/portal/reviews/{world.review.pk}").status_code == 404
    assert outsider_api.get("/brm/reviews").json()["items"] == []


def test_report_query_count_does_not_grow_with_data(world, django_assert_max_num_queries):
    for day in range(1, 25):
        case = world.case(world.toko, kind="incident", created=at(2026, 10, day))
        world.clock(case, "first_response", state="achieved", stopped=at(2026, 10, day, 11))
        world.answer("csat", world.toko, 5, when=at(2026, 10, day))
    for number in range(10, 30):
        Improvement.objects.create(organization=world.org, number=number, title=f"I{number}",
                                   source="feedback", account=world.toko)
    with django_assert_max_num_queries(14):
        build_report(world.review)
