"""Agreement portfolio: lifecycle, signatures → active, numbering, reminders, expiry,
portal isolation, pages and API."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from jalin.api.testing import ApiClient
from jalin.core.models import Notification
from jalin.service import agreements
from jalin.service.models import (
    Agreement,
    AgreementReminder,
    AgreementSignature,
    AgreementStatusChange,
)
from jalin.tenancy.models import Membership
from jalin.tenancy.roles import Role
from jalin.tenancy.services import TenancyError

from .brm_portfolio_world import buyer_org, buyer_world, customer, member_of, pending_agreement

pytestmark = pytest.mark.django_db


def _client(user):
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


def test_numbers_and_parties(org, owner):
    buyer, account, _approver, _shopper = buyer_world(org)
    first = agreements.agreement_create(organization=org, actor=owner, kind="sla",
                                        title="One", account=account)
    second = agreements.agreement_create(organization=org, actor=owner, kind="underpinning",
                                         title="Two", counterparty="Telco")
    assert (first.number, second.number) == (1, 2)
    assert first.buyer_id == buyer.pk and second.buyer_id is None
    with pytest.raises(TenancyError):
        agreements.agreement_create(organization=org, actor=owner, kind="ola", title="No team")
    with pytest.raises(TenancyError):
        agreements.agreement_create(organization=org, actor=owner, kind="contract",
                                    title="No customer")
    with pytest.raises(TenancyError):
        agreements.agreement_create(organization=org, actor=owner, kind="sla", title="Dates",
                                    account=account, starts_on=datetime.date(2026, 2, 1),
                                    ends_on=datetime.date(2026, 1, 1))
    assert Agreement.objects.count() == 2


def test_signatures_make_it_active(org, owner):
    buyer, account, approver, shopper = buyer_world(org)
    agreement = pending_agreement(org, owner, account)
    owner_membership = Membership.objects.get(user=owner, organization=org)
    approver_membership = Membership.objects.get(user=approver)
    shopper_membership = Membership.objects.get(user=shopper)
    # A plain buyer may not sign; the supplier may not sign for the customer.
    with pytest.raises(TenancyError):
        agreements.agreement_sign(agreement=agreement, membership=shopper_membership,
                                  actor=shopper, party="customer", decision="signed")
    with pytest.raises(TenancyError):
        agreements.agreement_sign(agreement=agreement, membership=owner_membership,
                                  actor=owner, party="customer", decision="signed",
                                  signer_name="Forged")
    agreements.agreement_sign(agreement=agreement, membership=owner_membership, actor=owner,
                              party="provider", decision="signed")
    agreement.refresh_from_db()
    assert agreement.status == "pending_signature"
    with pytest.raises(TenancyError):
        agreements.agreement_sign(agreement=agreement, membership=owner_membership,
                                  actor=owner, party="provider", decision="signed")
    agreements.agreement_sign(agreement=agreement, membership=approver_membership,
                              actor=approver, party="customer", decision="signed")
    agreement.refresh_from_db()
    assert agreement.status == "active" and agreement.starts_on is not None
    last = AgreementStatusChange.objects.filter(agreement=agreement).last()
    assert (last.from_status, last.to_status, last.changed_by) == (
        "pending_signature", "active", approver)
    assert AgreementSignature.objects.filter(agreement=agreement).count() == 2


def test_decline_goes_back_to_negotiation_and_new_round(org, owner):
    _buyer, account, approver, _shopper = buyer_world(org)
    agreement = pending_agreement(org, owner, account)
    approver_membership = Membership.objects.get(user=approver)
    with pytest.raises(TenancyError):  # a decline needs a reason
        agreements.agreement_sign(agreement=agreement, membership=approver_membership,
                                  actor=approver, party="customer", decision="declined")
    agreements.agreement_sign(agreement=agreement, membership=approver_membership,
                              actor=approver, party="customer", decision="declined",
                              comment="Price too high")
    agreement.refresh_from_db()
    assert agreement.status == "negotiation"
    agreement = agreements.agreement_transition(agreement=agreement,
                                                to_status="pending_signature", actor=owner)
    assert agreement.signature_round == 2
    assert agreements.signable_parties(agreement, approver_membership) == ["customer"]


@pytest.mark.parametrize(("start", "target"), [
    ("draft", "active"), ("pending_signature", "active"), ("draft", "expired"),
    ("terminated", "draft"), ("active", "draft"),
])
def test_forbidden_transitions(org, owner, start, target):
    _buyer, account, _approver, _shopper = buyer_world(org)
    agreement = agreements.agreement_create(organization=org, actor=owner, kind="sla",
                                            title="T", account=account)
    Agreement.objects.filter(pk=agreement.pk).update(status=start)
    history = AgreementStatusChange.objects.count()
    with pytest.raises(TenancyError):
        agreements.agreement_transition(agreement=agreement, to_status=target, actor=owner,
                                        comment="x")
    agreement.refresh_from_db()
    assert agreement.status == start and AgreementStatusChange.objects.count() == history


def test_terms_locked_once_active(org, owner):
    _buyer, account, _approver, _shopper = buyer_world(org)
    agreement = agreements.agreement_create(organization=org, actor=owner, kind="sla",
                                            title="T", account=account)
    Agreement.objects.filter(pk=agreement.pk).update(status="active")
    with pytest.raises(TenancyError):
        agreements.agreement_update(agreement=agreement, actor=owner, version=1, title="New")
    updated = agreements.agreement_update(agreement=agreement, actor=owner, version=1,
                                          notes="ok", review_on=datetime.date(2026, 6, 1))
    assert updated.notes == "ok" and updated.title == "T"


def test_reminders_exactly_once_and_expiry(org, owner):
    _buyer, account, _approver, _shopper = buyer_world(org)
    agreement = agreements.agreement_create(
        organization=org, actor=owner, kind="sla", title="R", account=account, owner=owner,
        review_on=datetime.date(2026, 5, 20), ends_on=datetime.date(2026, 6, 30),
        renewal_notice_days=60)
    Agreement.objects.filter(pk=agreement.pk).update(status="active")
    # Too early for either.
    assert agreements.agreement_reminders_run(today=datetime.date(2026, 4, 1)) == {
        "reminded": 0, "expired": 0}
    # 14 days before review and within the 60-day renewal notice: both, once.
    today = datetime.date(2026, 5, 10)
    assert agreements.agreement_reminders_run(today=today)["reminded"] == 2
    assert agreements.agreement_reminders_run(today=today)["reminded"] == 0
    assert agreements.agreement_reminders_run(today=today + datetime.timedelta(days=3)
                                              )["reminded"] == 0
    assert AgreementReminder.objects.filter(agreement=agreement).count() == 2
    assert Notification.objects.filter(user=owner).count() == 2
    # The review moves on: a new date gets its own reminder.
    Agreement.objects.filter(pk=agreement.pk).update(review_on=datetime.date(2026, 5, 25))
    assert agreements.agreement_reminders_run(today=today + datetime.timedelta(days=3)
                                              )["reminded"] == 1
    # Past the end date: expired with a history row, once.
    result = agreements.agreement_reminders_run(today=datetime.date(2026, 7, 1))
    assert result["expired"] == 1
    agreement.refresh_from_db()
    assert agreement.status == "expired"
    assert AgreementStatusChange.objects.filter(agreement=agreement,
                                                to_status="expired").count() == 1
    assert agreements.agreement_reminders_run(today=datetime.date(2026, 7, 2))["expired"] == 0


def test_documents_type_and_size(org, owner, settings):
    _buyer, account, _approver, _shopper = buyer_world(org)
    agreement = agreements.agreement_create(organization=org, actor=owner, kind="sla",
                                            title="D", account=account)
    document = agreements.agreement_document_add(
        agreement=agreement, actor=owner,
        file=SimpleUploadedFile("contract.pdf", b"%PDF-1.4\nhello\n%%EOF\n"))
    assert document.content_type == "application/pdf"
    with pytest.raises(TenancyError):
        agreements.agreement_document_add(
            agreement=agreement, actor=owner,
            file=SimpleUploadedFile("run.exe", b"MZ\x90\x00" + b"\x00" * 100))
    with pytest.raises(TenancyError):
        agreements.agreement_document_add(
            agreement=agreement, actor=owner,
            file=SimpleUploadedFile("page.html", b"<html><script>x</script></html>"))
    settings.JALIN_DOCUMENT_MAX_BYTES = 10
    with pytest.raises(TenancyError):
        agreements.agreement_document_add(
            agreement=agreement, actor=owner,
            file=SimpleUploadedFile("big.txt", b"x" * 50))
    assert agreement.documents.count() == 1


def test_portal_isolation_and_signing_pages(org, owner, owner_client):
    _buyer, account, approver, shopper = buyer_world(org)
    agreement = pending_agreement(org, owner, account)
    draft = agreements.agreement_create(organization=org, actor=owner, kind="sla",
                                        title="Secret draft", account=account)
    other_buyer = buyer_org("other-buyer")
    other_user, _ = member_of(other_buyer, "otherapprover", Role.BUYER_APPROVER)
    approver_client, shopper_client = _client(approver), _client(shopper)
    other_client = _client(other_user)
    listing = approver_client.get("/service/my/agreements/")
    assert b"Gold support" in listing.content and b"Secret draft" not in listing.content
    assert approver_client.get(f"/service/my/agreements/{draft.pk}/").status_code == 404
    assert other_client.get(f"/service/my/agreements/{agreement.pk}/").status_code == 404
    assert b"Gold support" not in other_client.get("/service/my/agreements/").content
    assert other_client.post(f"/service/my/agreements/{agreement.pk}/sign/",
                             {"party": "customer", "decision": "signed"}).status_code == 404
    # Buyer staff pages never show the supplier's agreements.
    assert approver_client.get(f"/service/agreements/{agreement.pk}/").status_code == 404
    # A plain buyer sees it but may not sign.
    response = shopper_client.post(f"/service/my/agreements/{agreement.pk}/sign/",
                                   {"party": "customer", "decision": "signed"})
    assert response.status_code == 403
    response = owner_client.post(f"/service/agreements/{agreement.pk}/sign/",
                                 {"party": "provider", "decision": "signed"})
    assert response.status_code == 302
    response = approver_client.post(f"/service/my/agreements/{agreement.pk}/sign/",
                                    {"party": "customer", "decision": "signed"})
    assert response.status_code == 302
    agreement.refresh_from_db()
    assert agreement.status == "active"


def test_staff_pages_personas(org, owner, owner_client, member_client, outsider_client):
    _buyer, account, _approver, _shopper = buyer_world(org)
    response = owner_client.post("/service/agreements/new/", {
        "kind": "sla", "title": "Silver", "account": account.pk,
        "required_attainment_percent": "90", "renewal_notice_days": "30"})
    assert response.status_code == 302, response.content
    agreement = Agreement.objects.get(title="Silver")
    assert agreement.required_attainment_percent == 90
    response = owner_client.post("/service/agreements/new/", {
        "kind": "sla", "title": "Bad", "account": account.pk,
        "required_attainment_percent": "190"})
    assert response.status_code == 400 and not Agreement.objects.filter(title="Bad").exists()
    listing = owner_client.get("/service/agreements/?status=draft&kind=sla")
    assert b"Silver" in listing.content
    csv = b"".join(owner_client.get("/service/agreements/export.csv").streaming_content)
    assert b"Silver" in csv
    upload = owner_client.post(f"/service/agreements/{agreement.pk}/documents/", {
        "title": "Signed", "shared": "on",
        "file": SimpleUploadedFile("c.pdf", b"%PDF-1.4\n%%EOF\n")})
    assert upload.status_code == 302
    document = agreement.documents.get()
    download = owner_client.get(f"/service/agreements/{agreement.pk}/documents/{document.pk}/")
    assert download.status_code == 200 and download["X-Content-Type-Options"] == "nosniff"
    assert member_client.get(f"/service/agreements/{agreement.pk}/").status_code == 200
    assert member_client.post(f"/service/agreements/{agreement.pk}/status/",
                              {"to_status": "negotiation"}).status_code == 403
    assert outsider_client.get(f"/service/agreements/{agreement.pk}/").status_code == 404
    assert b"Silver" not in outsider_client.get("/service/agreements/").content


def test_list_queries_do_not_grow(org, owner, owner_client, django_assert_max_num_queries):
    for index in range(3):
        agreements.agreement_create(organization=org, actor=owner, kind="sla",
                                    title=f"A{index}", account=customer(org, f"C{index}"))
    with django_assert_max_num_queries(12):
        assert owner_client.get("/service/agreements/").status_code == 200
    for index in range(10):
        agreements.agreement_create(organization=org, actor=owner, kind="sla",
                                    title=f"B{index}", account=customer(org, f"D{index}"))
    with django_assert_max_num_queries(12):
        assert owner_client.get("/service/agreements/").status_code == 200


def test_api_over_http(org, owner, owner_client, outsider_client):
    _buyer, account, approver, _shopper = buyer_world(org)
    api = ApiClient(client=owner_client)
    response = api.post("/service/agreements", {"kind": "sla", "title": "Api SLA",
                                                "account_id": account.pk,
                                                "availability_percent": "99.9"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["label"] == "AGR-1" and body["buyer_id"] == account.hub_organization_id
    agreement_id = body["id"]
    assert api.post("/service/agreements", {"kind": "sla", "title": "x",
                                            "account_id": 999999}).status_code == 404
    response = api.post(f"/service/agreements/{agreement_id}/transitions",
                        {"to_status": "active"})
    assert response.status_code == 422
    response = api.post(f"/service/agreements/{agreement_id}/transitions",
                        {"to_status": "pending_signature"})
    assert response.status_code == 200 and response.json()["signable_parties"] == ["provider"]
    response = api.post(f"/service/agreements/{agreement_id}/signatures",
                        {"party": "provider", "decision": "signed"})
    assert response.status_code == 201
    buyer_api = ApiClient(client=_client(approver))
    assert buyer_api.get("/portal/agreements").json()["items"][0]["id"] == agreement_id
    response = buyer_api.post(f"/portal/agreements/{agreement_id}/signatures",
                              {"decision": "signed"})
    assert response.status_code == 201
    assert api.get(f"/service/agreements/{agreement_id}").json()["status"] == "active"
    outsider_api = ApiClient(client=outsider_client)
    assert outsider_api.get(f"/service/agreements/{agreement_id}").status_code == 404
    assert outsider_api.get(f"/portal/agreements/{agreement_id}").status_code == 404
    assert outsider_api.get("/portal/agreements").json()["items"] == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_numbers_unique_under_concurrency(org, owner):
    if connection.vendor != "postgresql":
        pytest.skip("concurrency guarantees are proven on PostgreSQL")
    from tests.test_hub_orders_concurrency import run_threads

    results = run_threads(lambda index: agreements.agreement_create(
        organization=org, actor=owner, kind="underpinning", title=f"T{index}",
        counterparty="Telco").number, 6)
    errors = [error for _result, error in results if error]
    assert not errors, errors
    assert sorted(result for result, _error in results) == [1, 2, 3, 4, 5, 6]


def test_portal_home_links_to_agreements_awaiting_signature(org, owner):
    _buyer, account, approver, _shopper = buyer_world(org)
    pending_agreement(org, owner, account)
    response = _client(approver).get("/service/")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-link="agreements"' in body and "/service/my/agreements/" in body
    assert agreements.awaiting_customer_count(account.hub_organization, approver) == 1
