"""Payments API: recording (supplier, Idempotency-Key, no unknown fields), reading both sides,
allocating, buyer checkout; buyers cannot record or allocate or name another buyer's
invoices; query counts."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from jalin.api.testing import ApiClient, bearer_token_for
from jalin.hub import payments
from jalin.hub.models import InvoiceStatus, Payment, PaymentCheckout
from jalin.tenancy.models import Membership
from tests import payments_world

TODAY = timezone.localdate().isoformat()


def api_for(user, organization):
    membership = Membership.objects.get(user=user, organization=organization)
    return ApiClient(token=bearer_token_for(membership))


@pytest.fixture
def world(org, owner):
    world = payments_world.build(org, owner)
    world.owner_api = api_for(owner, org)
    world.finance_api = api_for(world.finance, org)
    world.buyer_api = api_for(world.buyer_user, world.buyer)
    world.other_api = api_for(world.other_buyer_user, world.other_buyer)
    return world


def body(world, **changes):
    data = {"buyer_id": world.buyer.pk, "amount": "150000", "currency": "IDR",
            "received_on": TODAY, "method": "bank_transfer", "reference": "BCA-9"}
    data.update(changes)
    return data


def create(api, data, key="k-1"):
    return api.post("/hub/payments", data, headers={"Idempotency-Key": key} if key else None)


def test_record_with_automatic_allocation_and_read_it(world):
    response = create(world.finance_api, body(world))
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["number"] == 1 and data["amount_allocated"] == "150000.00"
    assert [a["invoice_id"] for a in data["allocations"]] == [world.inv_old.pk,
                                                             world.inv_mid.pk]
    assert data["buyer"]["id"] == world.buyer.pk and data["reversed"] is False
    replay = create(world.finance_api, body(world))
    assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"
    assert Payment.objects.count() == 1
    detail = world.owner_api.get(f"/hub/payments/{data['id']}").json()
    assert detail["allocations"][0]["invoice_number"] == world.inv_old.number
    # The buyer reads it too (its own payment), from its side.
    assert world.buyer_api.get(f"/hub/payments/{data['id']}").status_code == 200
    assert [p["id"] for p in world.buyer_api.get("/hub/payments").json()["items"]] == [
        data["id"]]
    assert world.other_api.get(f"/hub/payments/{data['id']}").status_code == 404
    assert world.other_api.get("/hub/payments").json()["items"] == []


def test_idempotency_key_is_required_and_bodies_are_strict(world):
    assert create(world.finance_api, body(world), key=None).status_code == 428
    for extra in ({"amount_allocated": "150000"}, {"supplier_id": world.supplier.pk},
                  {"number": 7}):
        response = create(world.finance_api, body(world, **extra), key=f"x-{extra}")
        assert response.status_code == 422, extra
    for bad in ({"amount": "-1"}, {"amount": "0"}, {"amount": "abc"},
                {"received_on": "yesterday"}, {"method": "bitcoin"},
                {"allocations": [{"invoice_id": world.inv_old.pk, "amount": "1",
                                  "extra": 1}]}):
        response = create(world.finance_api, body(world, **bad), key=f"b-{bad}")
        assert response.status_code == 422, bad
    response = create(world.finance_api, body(world, method="provider"), key="prov")
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "method"
    assert not Payment.objects.exists()


def test_explicit_allocations_and_refusals(world):
    over = create(world.finance_api, body(world, allocations=[
        {"invoice_id": world.inv_old.pk, "amount": "100000"},
        {"invoice_id": world.inv_mid.pk, "amount": "60000"}]), key="over")
    assert over.status_code == 422 and over.json()["code"] == "over_allocated"
    foreign = create(world.finance_api, body(world, allocations=[
        {"invoice_id": world.foreign_invoice.pk, "amount": "10"}]), key="foreign")
    assert foreign.status_code == 404
    stranger = create(world.finance_api, body(world, buyer_id=world.supplier.pk), key="s")
    assert stranger.status_code == 404
    assert not Payment.objects.exists()
    ok = create(world.finance_api, body(world, allocations=[]), key="credit")
    assert ok.status_code == 201 and ok.json()["amount_allocated"] == "0.00"


def test_allocate_later_through_the_api(world):
    payment = create(world.finance_api, body(world, allocations=[]), key="c").json()
    url = f"/hub/payments/{payment['id']}/allocations"
    response = world.finance_api.post(url, {"invoice_id": world.inv_old.pk,
                                            "amount": "100000"})
    assert response.status_code == 201 and response.json()["amount_allocated"] == "100000.00"
    world.inv_old.refresh_from_db()
    assert world.inv_old.status == InvoiceStatus.PAID
    assert world.finance_api.post(url, {"invoice_id": world.inv_mid.pk,
                                        "amount": "50001"}).status_code == 422
    assert world.finance_api.post(url, {"invoice_id": world.foreign_invoice.pk,
                                        "amount": "1"}).status_code == 404
    assert world.finance_api.post(url, {"invoice_id": world.inv_mid.pk, "amount": "1",
                                        "payment_id": 5}).status_code == 422
    # The buyer sees the payment but cannot allocate it; another buyer gets 404.
    assert world.buyer_api.post(url, {"invoice_id": world.inv_mid.pk,
                                      "amount": "1"}).status_code == 403
    assert world.other_api.post(url, {"invoice_id": world.inv_mid.pk,
                                      "amount": "1"}).status_code == 404
    assert Payment.objects.get().amount_allocated == Decimal("100000")


def test_buyers_cannot_record_payments(world):
    response = create(world.buyer_api, body(world))
    assert response.status_code == 403  # no finance.edit
    from tests.conftest import make_user

    admin = make_user("buyer-admin")
    from jalin.tenancy.roles import Role

    Membership.objects.create(user=admin, organization=world.buyer, role=Role.ORG_ADMIN)
    admin_api = api_for(admin, world.buyer)
    # Even a buyer's admin (finance.edit) has no customers: 404 for any buyer_id.
    assert create(admin_api, body(world, buyer_id=world.buyer.pk)).status_code == 404
    assert not Payment.objects.exists()


def test_buyer_starts_a_checkout(world):
    response = world.buyer_api.post(f"/hub/invoices/{world.inv_mid.pk}/checkout")
    assert response.status_code == 201, response.content
    data = response.json()
    checkout = PaymentCheckout.objects.get()
    assert data["redirect_url"].endswith(f"/hub/pay/test/{checkout.token}/")
    assert data["amount"] == "200000.00" and data["status"] == "pending"
    assert world.other_api.post(
        f"/hub/invoices/{world.inv_mid.pk}/checkout").status_code == 404
    # The supplier does not pay its own invoices.
    assert world.owner_api.post(
        f"/hub/invoices/{world.inv_mid.pk}/checkout").status_code == 404
    payments.payment_record(relationship=world.relationship, amount=Decimal("100000"),
                            currency="IDR", received_on=timezone.localdate(),
                            method="cash", reference="", actor=world.owner,
                            allocations=[(world.inv_old.pk, Decimal("100000"))])
    paid = world.buyer_api.post(f"/hub/invoices/{world.inv_old.pk}/checkout")
    assert paid.status_code == 422 and paid.json()["code"] == "already_paid"


def test_list_filters_and_query_count(world):
    def make(n, relationship, method="bank_transfer"):
        for _ in range(n):
            payments.payment_record(relationship=relationship, amount=Decimal("10"),
                                    currency="IDR", received_on=timezone.localdate(),
                                    method=method, reference="", actor=world.owner,
                                    allocations=[])

    make(3, world.relationship)
    world.owner_api.get("/hub/payments")  # warm up (token bookkeeping on first use)
    with CaptureQueriesContext(connection) as few:
        assert len(world.owner_api.get("/hub/payments").json()["items"]) == 3
    make(27, world.other_relationship, method="cash")
    with CaptureQueriesContext(connection) as many:
        assert len(world.owner_api.get("/hub/payments?limit=100").json()["items"]) == 30
    assert len(many) == len(few)
    cash = world.owner_api.get("/hub/payments?method=cash&limit=100").json()["items"]
    assert len(cash) == 27
    mine = world.owner_api.get(f"/hub/payments?buyer_id={world.buyer.pk}").json()["items"]
    assert len(mine) == 3
    page = world.owner_api.get("/hub/payments?limit=10").json()
    assert page["next_cursor"] and len(page["items"]) == 10
