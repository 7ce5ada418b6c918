"""Supplier-initiated quotes (`rfqs.supplier_quote_create` / `supplier_quote_withdraw`): an RFQ
opened by the supplier, quoted and sent in one transaction, that the buyer accepts with the
ordinary `quote_accept` into a hub order; validation, permissions, idempotency, withdrawal."""

from decimal import Decimal

import pytest

from jalin.core.events_models import Event
from jalin.core.models import Notification
from jalin.hub import rfq_selectors, rfqs
from jalin.hub.models import (
    Order,
    Quote,
    QuoteStatus,
    Rfq,
    RfqStatus,
    RfqStatusChange,
)
from jalin.hub.services import HubError
from tests.rfq_world import build_world, in_days

pytestmark = pytest.mark.django_db


@pytest.fixture
def w(org, owner):
    return build_world(org, owner)


def create(w, lines=None, **extra):
    lines = lines if lines is not None else [
        {"product_id": w.paper.pk, "quantity": 5, "unit_price": "9500"},
        {"product_id": w.pens.pk, "quantity": 10, "unit_price": "2500", "lead_time_days": 3}]
    return rfqs.supplier_quote_create(
        relationship=w.relationship, membership=extra.pop("membership", w.sales_membership),
        actor=extra.pop("actor", w.sales), title=extra.pop("title", "Office supplies offer"),
        lines=lines, valid_until=extra.pop("valid_until", in_days(14)),
        note="Delivery included", reference="SQ-7", **extra)


def test_supplier_quote_opens_a_quoted_rfq_with_a_sent_numbered_quote(w):
    quote = create(w)
    rfq = Rfq.objects.get(pk=quote.rfq_id)
    assert rfq.supplier_initiated and rfq.reference == "SQ-7"
    assert rfq.status == RfqStatus.QUOTED and rfq.number == 1 and rfq.requested_by is None
    assert quote.status == QuoteStatus.SENT and quote.number == 1
    assert quote.sent_by == w.sales
    lines = list(quote.lines.order_by("position"))
    assert [(ln.sku, ln.quantity, ln.unit_price, ln.lead_time_days) for ln in lines] == [
        ("PAP-1", 5, Decimal("9500"), None), ("PEN-1", 10, Decimal("2500"), 3)]
    # Paper at the standard rate (11%), pens exempt: the hub's own tax rules.
    assert quote.total_net == Decimal("72500")
    assert quote.total_tax == Decimal("5225")
    assert quote.total_gross == Decimal("77725")
    assert [(c.from_status, c.to_status, c.quote_id is not None)
            for c in RfqStatusChange.objects.filter(rfq=rfq).order_by("id")] == [
        ("", "submitted", False), ("", "draft", True), ("draft", "sent", True),
        ("submitted", "quoted", False)]
    types = list(Event.objects.filter(type__startswith="hub.").exclude(
        type__startswith="hub.relationship").exclude(type__startswith="hub.stock")
        .exclude(type__startswith="hub.product").exclude(type__startswith="hub.price")
        .exclude(type__startswith="hub.warehouse").order_by("id").values_list("type", flat=True))
    assert types == ["hub.rfq.opened", "hub.quote.sent", "hub.rfq.quoted"]
    opened = Event.objects.get(type="hub.rfq.opened")
    assert opened.organization == w.supplier
    assert opened.payload["buyer_id"] == w.buyer.pk and opened.payload["supplier_initiated"]
    # The buyer's people who may order hear of it (the viewer does not); buyer B nothing.
    notified = set(Notification.objects.filter(kind="quote").values_list(
        "user__username", flat=True))
    assert notified == {"a-buyer", "a-approver"}
    # Both parties see it; the other buyer does not.
    assert rfq_selectors.rfqs_for(organization=w.buyer).filter(pk=rfq.pk).exists()
    assert rfq_selectors.rfqs_for(organization=w.supplier).filter(pk=rfq.pk).exists()
    assert not rfq_selectors.rfqs_for(organization=w.buyer_b).filter(pk=rfq.pk).exists()


def test_buyer_accepts_it_into_an_order_at_the_quoted_prices(w):
    quote = create(w)
    order, created = rfqs.quote_accept(quote=quote, membership=w.buyer_membership,
                                       actor=w.buyer_user)
    assert created and order.quote_id == quote.pk
    assert {line.product_id: line.unit_price for line in order.lines.all()} == {
        w.paper.pk: Decimal("9500"), w.pens.pk: Decimal("2500")}
    assert order.total_gross == Decimal("77725")
    accepted = Event.objects.get(type="hub.quote.accepted")
    assert accepted.payload["order_id"] == order.pk and accepted.payload["quote_id"] == quote.pk
    assert Rfq.objects.get(pk=quote.rfq_id).status == RfqStatus.ACCEPTED


def test_idempotency_key_answers_the_first_quote(w):
    first = create(w, idempotency_key="sales-quote-1")
    again = create(w, idempotency_key="sales-quote-1")
    assert again.pk == first.pk
    assert Quote.objects.count() == 1 and Rfq.objects.count() == 1


@pytest.mark.parametrize("lines, field, code", [
    ([], "lines", "no_lines"),
    ([{"product_id": 999999, "quantity": 1, "unit_price": "1"}], "lines[0].product_id",
     "not_found"),
    ([{"product_id": "PAPER", "quantity": 1, "unit_price": "1"}], "lines[0].product_id",
     "not_found"),
    ([{"product_id": None, "quantity": 0, "unit_price": "1"}], "lines[0].quantity",
     "invalid_quantity"),
    ([{"product_id": None, "quantity": 2, "unit_price": "-1"}], "lines[0].unit_price",
     "invalid_price"),
    ([{"product_id": None, "quantity": 2, "unit_price": "abc"}], "lines[0].unit_price",
     "invalid_price"),
])
def test_bad_lines_are_refused_and_write_nothing(w, lines, field, code):
    lines = [dict(line, product_id=w.paper.pk if line["product_id"] is None
                  else line["product_id"]) for line in lines]
    with pytest.raises(HubError) as caught:
        create(w, lines=lines)
    assert (caught.value.field, caught.value.code) == (field, code)
    assert not Rfq.objects.exists() and not Quote.objects.exists()


def test_minimum_order_duplicates_and_other_suppliers_products(w, other_org, outsider):
    with pytest.raises(HubError) as caught:
        create(w, lines=[{"product_id": w.boxes.pk, "quantity": 5, "unit_price": "900"}])
    assert caught.value.code == "below_minimum"
    with pytest.raises(HubError) as caught:
        create(w, lines=[{"product_id": w.paper.pk, "quantity": 5, "unit_price": "1"},
                         {"product_id": w.paper.pk, "quantity": 6, "unit_price": "1"}])
    assert caught.value.code == "duplicate_product"
    with pytest.raises(HubError) as caught:
        create(w, valid_until=in_days(-1))
    assert caught.value.code == "past_date"
    with pytest.raises(HubError) as caught:
        create(w, title="  ")
    assert caught.value.field == "title"
    assert not Rfq.objects.exists()


def test_only_the_suppliers_people_who_may_fulfil_can_send_it(w):
    for membership, actor in ((w.buyer_membership, w.buyer_user),
                              (w.finance_membership, w.finance)):
        with pytest.raises(HubError) as caught:
            create(w, membership=membership, actor=actor)
        assert caught.value.code == "forbidden"
    w.relationship.status = "suspended"
    w.relationship.save(update_fields=["status"])
    with pytest.raises(HubError) as caught:
        create(w)
    assert caught.value.code == "not_trading"
    assert not Rfq.objects.exists()


def test_withdraw_cancels_the_rfq_and_blocks_accepting(w):
    quote = create(w)
    withdrawn = rfqs.supplier_quote_withdraw(quote=quote, membership=w.sales_membership,
                                             actor=w.sales, comment="Prices changed")
    assert withdrawn.status == QuoteStatus.WITHDRAWN
    assert Rfq.objects.get(pk=quote.rfq_id).status == RfqStatus.CANCELLED
    assert set(Event.objects.filter(type__in=("hub.quote.withdrawn", "hub.rfq.withdrawn"))
               .values_list("type", flat=True)) == {"hub.quote.withdrawn", "hub.rfq.withdrawn"}
    with pytest.raises(HubError) as caught:
        rfqs.quote_accept(quote=quote, membership=w.buyer_membership, actor=w.buyer_user)
    assert caught.value.code == "invalid_transition"
    assert not Order.objects.exists()
    with pytest.raises(HubError):  # twice
        rfqs.supplier_quote_withdraw(quote=quote, membership=w.sales_membership, actor=w.sales)


def test_withdraw_is_refused_for_buyers_and_for_quotes_of_buyer_rfqs(w):
    quote = create(w)
    with pytest.raises(HubError) as caught:
        rfqs.supplier_quote_withdraw(quote=quote, membership=w.buyer_membership,
                                     actor=w.buyer_user)
    assert caught.value.code == "forbidden"
    from tests.rfq_world import make_quote, make_rfq

    ordinary = make_quote(w, make_rfq(w))
    with pytest.raises(HubError) as caught:
        rfqs.supplier_quote_withdraw(quote=ordinary, membership=w.sales_membership,
                                     actor=w.sales)
    assert caught.value.code == "invalid_transition"
    assert Quote.objects.get(pk=ordinary.pk).status == QuoteStatus.SENT
