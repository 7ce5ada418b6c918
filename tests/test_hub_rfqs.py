"""Requests for quotation and quotes: lifecycle, validation, quoted prices → order with tax,
expiry, permissions, events, notifications and the CRM timeline (SQLite and PostgreSQL)."""

import datetime
from decimal import Decimal

import pytest
from django.db import transaction
from django.http import Http404

from jalin.core.events import events_process
from jalin.core.events_models import Event
from jalin.core.housekeeping import registered_housekeeping
from jalin.core.models import Notification
from jalin.crm import services as crm_services
from jalin.crm.models import Account, TimelineEntry
from jalin.crm.timeline import render
from jalin.hub import rfq_selectors, rfqs
from jalin.hub.models import (
    BuyerSettings,
    Order,
    OrderStatus,
    PaymentTerms,
    Quote,
    QuoteStatus,
    Rfq,
    RfqStatus,
    RfqStatusChange,
    StockLevel,
    TradingRelationship,
)
from jalin.hub.services import HubError
from jalin.hub.testing import make_product
from jalin.tenancy.services import StaleVersion
from tests.rfq_world import build_world, in_days, make_quote, make_rfq

pytestmark = pytest.mark.django_db


@pytest.fixture
def w(org, owner):
    return build_world(org, owner)


def events(prefix):
    return list(Event.objects.filter(type__startswith=prefix).order_by("id"))


def reserved(w, product):
    return StockLevel.objects.get(warehouse=w.warehouse, product=product).reserved


# --- RFQs --------------------------------------------------------------------------------------


def test_rfq_is_numbered_per_supplier_at_submit_and_notifies_sales(w):
    draft = make_rfq(w, submit=False, title="Draft first")
    assert draft.status == RfqStatus.DRAFT and draft.number is None
    assert not events("hub.rfq.")  # a draft is the buyer's alone
    assert not rfq_selectors.rfqs_for(organization=w.supplier).exists()
    first = make_rfq(w, needed_by=in_days(10))
    second = make_rfq(w, title="More paper")
    assert (first.number, second.number) == (1, 2)
    draft = rfqs.rfq_submit(rfq=draft, membership=w.buyer_membership, actor=w.buyer_user)
    assert draft.number == 3 and draft.status == RfqStatus.SUBMITTED
    submitted = events("hub.rfq.submitted")
    assert len(submitted) == 3 and submitted[0].organization == w.supplier
    assert submitted[0].payload == {
        "rfq_id": first.pk, "rfq_number": 1, "supplier_id": w.supplier.pk,
        "buyer_id": w.buyer.pk, "title": "Office supplies Q1", "status": "submitted",
        "quote_id": None, "quote_number": None, "total": None, "currency": None}
    lines = list(first.lines.all())
    assert [(ln.product_id, ln.quantity, ln.description, ln.note) for ln in lines] == [
        (w.paper.pk, 5, "Paper", ""), (w.pens.pk, 10, "Pens", "blue")]
    notified = set(Notification.objects.filter(kind="rfq", organization=w.supplier)
                   .values_list("user__username", flat=True))
    assert notified == {"owner", "s-sales"}  # not finance
    assert Notification.objects.filter(kind="rfq").count() == 6  # 3 RFQs × 2 people
    assert list(RfqStatusChange.objects.filter(rfq=first).values_list(
        "from_status", "to_status")) == [("", "draft"), ("draft", "submitted")]


def test_bad_rfq_input_is_refused_and_writes_nothing(w, owner, other_org):
    other_org.is_supplier = True
    other_org.save()
    foreign = make_product(other_org, owner, "X-1")
    cases = [
        ([{"product_id": w.paper.pk, "quantity": 1}, {"product_id": foreign.pk, "quantity": 1}],
         "not_found", "lines[1].product_id"),
        ([{"product_id": 999999, "quantity": 1}], "not_found", "lines[0].product_id"),
        ([{"quantity": 3}], "required", "lines[0].description"),
        ([{"product_id": w.paper.pk, "quantity": 0}], "invalid_quantity", "lines[0].quantity"),
        ([{"product_id": w.paper.pk, "quantity": "2"}], "invalid_quantity",
         "lines[0].quantity"),
        ([{"product_id": w.paper.pk, "quantity": 1}, {"product_id": w.paper.pk, "quantity": 2}],
         "duplicate_product", "lines[1].product_id"),
        ([], "no_lines", "lines"),
    ]
    for lines, code, field in cases:
        with pytest.raises(HubError) as error:
            make_rfq(w, lines=lines)
        assert (error.value.code, error.value.field) == (code, field), lines
    with pytest.raises(HubError) as error:
        make_rfq(w, title="  ")
    assert error.value.field == "title"
    with pytest.raises(HubError) as error:
        make_rfq(w, needed_by=in_days(-1))
    assert (error.value.code, error.value.field) == ("past_date", "needed_by")
    w.paper.is_active = False
    w.paper.save()
    with pytest.raises(HubError) as error:
        make_rfq(w, lines=[{"product_id": w.paper.pk, "quantity": 1}])
    assert error.value.field == "lines[0].product_id"  # inactive: not orderable
    assert not Rfq.objects.exists() and not Event.objects.filter(type__startswith="hub.rfq")


def test_free_text_lines_and_idempotency_key(w):
    rfq = make_rfq(w, lines=[{"description": "Printed paper bags", "quantity": 300}],
                   idempotency_key="form-1")
    again = make_rfq(w, lines=[{"description": "Printed paper bags", "quantity": 300}],
                     idempotency_key="form-1")
    assert rfq.pk == again.pk and Rfq.objects.count() == 1
    line = rfq.lines.get()
    assert line.product is None and line.description == "Printed paper bags"


def test_suspended_relationship_cannot_request(w):
    TradingRelationship.objects.filter(pk=w.relationship.pk).update(status="suspended")
    w.relationship.refresh_from_db()
    with pytest.raises(HubError) as error:
        make_rfq(w)
    assert error.value.code == "not_trading"


# --- Quotes -------------------------------------------------------------------------------------


def test_quote_totals_tax_events_and_notification(w):
    rfq = make_rfq(w)
    quote = make_quote(w, rfq, prices={w.paper.pk: "9500", w.pens.pk: "2000"})
    assert quote.status == QuoteStatus.SENT and quote.number == 1
    assert quote.currency == "IDR" and quote.valid_until == in_days(7)
    # paper 5 × 9,500 = 47,500 + 11 % = 52,725; pens (exempt) 10 × 2,000 = 20,000
    assert (quote.total_net, quote.total_tax, quote.total_gross) == (
        Decimal("67500"), Decimal("5225"), Decimal("72725"))
    rfq.refresh_from_db()
    assert rfq.status == RfqStatus.QUOTED
    sent = Event.objects.get(type="hub.quote.sent")
    assert sent.organization == w.supplier
    assert sent.payload["buyer_id"] == w.buyer.pk and sent.payload["quote_number"] == 1
    assert (sent.payload["total"], sent.payload["currency"]) == ("72725.00", "IDR")
    note = Notification.objects.get(kind="quote")
    assert note.user == w.buyer_user and note.organization == w.buyer
    assert f"/hub/rfqs/{rfq.pk}/" in note.url


def test_bad_quote_input_is_refused(w, owner, other_org):
    rfq = make_rfq(w, lines=[{"product_id": w.paper.pk, "quantity": 5},
                             {"description": "Special paper", "quantity": 3}])
    other_rfq = make_rfq(w, title="Other")
    paper_line, text_line = rfq.lines.all()
    other_org.is_supplier = True
    other_org.save()
    foreign = make_product(other_org, owner, "X-1")

    def save(lines, valid_until=None, **extra):
        return rfqs.quote_save(rfq=rfq, membership=w.sales_membership, actor=w.sales,
                               valid_until=valid_until or in_days(5), lines=lines, **extra)

    cases = [
        ([{"rfq_line_id": other_rfq.lines.first().pk, "unit_price": "1"}], "not_found",
         "lines[0].rfq_line_id"),
        ([{"rfq_line_id": text_line.pk, "unit_price": "1"}], "required",
         "lines[0].product_id"),
        ([{"rfq_line_id": text_line.pk, "unit_price": "1", "product_id": foreign.pk}],
         "not_found", "lines[0].product_id"),
        ([{"rfq_line_id": paper_line.pk, "unit_price": "-1"}], "invalid_price",
         "lines[0].unit_price"),
        ([{"rfq_line_id": paper_line.pk, "unit_price": "1.23456"}], "invalid_price",
         "lines[0].unit_price"),
        ([{"rfq_line_id": paper_line.pk, "unit_price": "NaN"}], "invalid_price",
         "lines[0].unit_price"),
        ([{"rfq_line_id": paper_line.pk, "unit_price": "1"},
          {"rfq_line_id": paper_line.pk, "unit_price": "2"}], "duplicate_line",
         "lines[1].rfq_line_id"),
        ([{"rfq_line_id": paper_line.pk, "unit_price": "1"},
          {"rfq_line_id": text_line.pk, "unit_price": "2", "product_id": w.paper.pk}],
         "duplicate_product", "lines[1].product_id"),
        ([{"rfq_line_id": text_line.pk, "unit_price": "2", "product_id": w.boxes.pk}],
         "below_minimum", "lines[0].quantity"),  # boxes: minimum 10
    ]
    for lines, code, field in cases:
        with pytest.raises(HubError) as error:
            save(lines)
        assert (error.value.code, error.value.field) == (code, field), lines
    with pytest.raises(HubError) as error:
        save([{"rfq_line_id": paper_line.pk, "unit_price": "1"}], valid_until=in_days(-1))
    assert (error.value.code, error.value.field) == ("past_date", "valid_until")
    assert not Quote.objects.exists()
    rfq.refresh_from_db()
    assert rfq.status == RfqStatus.SUBMITTED


def test_only_the_suppliers_fulfilment_staff_quote(w):
    rfq = make_rfq(w)
    lines = [{"rfq_line_id": line.pk, "unit_price": "1"} for line in rfq.lines.all()]
    for membership in (w.finance_membership, w.buyer_membership, w.b_membership):
        with pytest.raises(HubError) as error:
            rfqs.quote_save(rfq=rfq, membership=membership, actor=membership.user,
                            valid_until=in_days(3), lines=lines)
        assert error.value.code == "forbidden"
    assert not Quote.objects.exists()


def test_draft_quote_is_rewritten_hidden_from_the_buyer_then_sent(w):
    rfq = make_rfq(w)
    draft = make_quote(w, rfq, send=False)
    again = make_quote(w, rfq, prices={w.paper.pk: "8000"}, send=False)
    assert again.pk == draft.pk and again.number == 1 and again.version == 2
    assert again.lines.get(product=w.paper).unit_price == Decimal("8000")
    assert not Event.objects.filter(type__startswith="hub.quote.").exists()
    buyer_view = rfq_selectors.rfq_detail(organization=w.buyer, pk=rfq.pk)
    assert buyer_view.current_quote is None and buyer_view.draft_quote is None
    with pytest.raises(Http404):
        rfq_selectors.quote_or_404(organization=w.buyer, pk=draft.pk)
    sent = rfqs.quote_send(quote=again, membership=w.sales_membership, actor=w.sales)
    assert sent.status == QuoteStatus.SENT
    assert rfq_selectors.rfq_detail(organization=w.buyer, pk=rfq.pk).current_quote.pk == sent.pk


def test_a_revised_quote_supersedes_the_sent_one(w):
    rfq = make_rfq(w)
    first = make_quote(w, rfq, prices={w.paper.pk: "9500"})
    second = make_quote(w, rfq, prices={w.paper.pk: "9000"})
    first.refresh_from_db()
    assert (first.status, second.status, second.number) == (
        QuoteStatus.SUPERSEDED, QuoteStatus.SENT, 2)
    assert Event.objects.filter(type="hub.quote.superseded").count() == 1
    with pytest.raises(HubError) as error:
        rfqs.quote_accept(quote=first, membership=w.buyer_membership, actor=w.buyer_user)
    assert error.value.code == "invalid_transition"
    assert not Order.objects.exists()


# --- Accepting ---------------------------------------------------------------------------------


def test_accept_places_the_order_at_quoted_prices_with_tax(w):
    rfq = make_rfq(w)
    quote = make_quote(w, rfq, prices={w.paper.pk: "9500.5", w.pens.pk: "2000"})
    order, created = rfqs.quote_accept(quote=quote, membership=w.buyer_membership,
                                       actor=w.buyer_user)
    assert created and order.quote_id == quote.pk
    assert order.status == OrderStatus.SUBMITTED and order.number == 1
    prices = {line.product_id: (line.unit_price, line.quantity, line.line_gross)
              for line in order.lines.all()}
    # 5 × 9,500.5 = 47,502.5 → 47,503 (IDR, half up); tax 11 % = 5,225.33 → 5,225
    assert prices == {w.paper.pk: (Decimal("9500.5"), 5, Decimal("52728")),
                      w.pens.pk: (Decimal("2000"), 10, Decimal("20000"))}
    quote.refresh_from_db()
    assert order.total_gross == quote.total_gross == Decimal("72728")
    assert order.total_tax == quote.total_tax == Decimal("5225")
    rfq.refresh_from_db()
    assert (quote.status, rfq.status) == (QuoteStatus.ACCEPTED, RfqStatus.ACCEPTED)
    assert quote.decided_by == w.buyer_user
    assert (reserved(w, w.paper), reserved(w, w.pens)) == (5, 10)
    accepted = Event.objects.get(type="hub.quote.accepted")
    assert accepted.payload["order_id"] == order.pk and accepted.payload["buyer_id"] == w.buyer.pk
    assert Event.objects.filter(type="hub.order.submitted").count() == 1
    again, created = rfqs.quote_accept(quote=quote, membership=w.approver_membership,
                                       actor=w.approver)
    assert again.pk == order.pk and not created and Order.objects.count() == 1
    assert reserved(w, w.paper) == 5


def test_a_free_text_item_mapped_to_an_unpriced_product_is_ordered_at_the_quote(w):
    rfq = make_rfq(w, lines=[{"description": "Printed paper bags", "quantity": 4}])
    quote = make_quote(w, rfq)  # maps the item to CUS-1 (no list price) at 100
    order, _created = rfqs.quote_accept(quote=quote, membership=w.buyer_membership,
                                        actor=w.buyer_user)
    line = order.lines.get()
    assert (line.sku, line.quantity, line.unit_price) == ("CUS-1", 4, Decimal("100"))


def test_refused_order_changes_nothing_and_says_why(w):
    rfq = make_rfq(w, lines=[{"product_id": w.custom.pk, "quantity": 25}])  # 20 in stock
    quote = make_quote(w, rfq)
    with pytest.raises(HubError) as error:
        rfqs.quote_accept(quote=quote, membership=w.buyer_membership, actor=w.buyer_user)
    assert error.value.code == "out_of_stock" and "CUS-1" in error.value.message
    quote.refresh_from_db()
    rfq.refresh_from_db()
    assert (quote.status, rfq.status) == (QuoteStatus.SENT, RfqStatus.QUOTED)
    assert not Order.objects.exists() and reserved(w, w.custom) == 0
    assert not Event.objects.filter(type__in=["hub.quote.accepted", "hub.order.submitted"])
    TradingRelationship.objects.filter(pk=w.relationship.pk).update(status="suspended")
    with pytest.raises(HubError) as error:
        rfqs.quote_accept(quote=quote, membership=w.buyer_membership, actor=w.buyer_user)
    assert error.value.code == "not_trading"
    w.custom.is_active = False
    w.custom.save()
    TradingRelationship.objects.filter(pk=w.relationship.pk).update(status="active")
    with pytest.raises(HubError) as error:
        rfqs.quote_accept(quote=quote, membership=w.buyer_membership, actor=w.buyer_user)
    assert "CUS-1" in error.value.message and error.value.field == "action"
    assert not Order.objects.exists()


def test_approval_threshold_and_credit_limit_still_apply(w):
    BuyerSettings.objects.create(buyer=w.buyer, approval_threshold=Decimal("50000"),
                                 currency="IDR")
    quote = make_quote(w, make_rfq(w), prices={w.paper.pk: "9500", w.pens.pk: "2000"})
    order, _created = rfqs.quote_accept(quote=quote, membership=w.buyer_membership,
                                        actor=w.buyer_user)
    assert order.status == OrderStatus.AWAITING_APPROVAL  # 72,725 > 50,000
    BuyerSettings.objects.all().delete()
    TradingRelationship.objects.filter(pk=w.relationship.pk).update(
        payment_terms=PaymentTerms.NET, payment_days=30, credit_limit=Decimal("1000"))
    quote = make_quote(w, make_rfq(w, title="Again"))
    order, _created = rfqs.quote_accept(quote=quote, membership=w.buyer_membership,
                                        actor=w.buyer_user)
    assert order.status == OrderStatus.CREDIT_HOLD


def test_expired_quote_is_refused_and_the_job_expires_it_once(w):
    rfq = make_rfq(w)
    quote = make_quote(w, rfq)
    Quote.objects.filter(pk=quote.pk).update(valid_until=in_days(-1))
    with pytest.raises(HubError) as error:
        rfqs.quote_accept(quote=quote, membership=w.buyer_membership, actor=w.buyer_user)
    assert error.value.code == "expired"
    assert not Order.objects.exists()
    assert "hub.quotes_expire" in registered_housekeeping()
    fresh = make_quote(w, make_rfq(w, title="Still valid"))
    assert rfqs.quotes_expire() == 1
    assert rfqs.quotes_expire() == 0  # idempotent
    quote.refresh_from_db()
    rfq.refresh_from_db()
    fresh.refresh_from_db()
    assert (quote.status, rfq.status, fresh.status) == (
        QuoteStatus.EXPIRED, RfqStatus.EXPIRED, QuoteStatus.SENT)
    assert Event.objects.filter(type="hub.quote.expired").count() == 1
    assert Event.objects.filter(type="hub.rfq.expired").count() == 1
    # Valid until today means valid all of today (Asia/Jakarta): tomorrow it expires.
    assert rfqs.quotes_expire(on_date=in_days(7)) == 0
    assert rfqs.quotes_expire(on_date=in_days(8)) == 1
    # The supplier may quote an expired request again.
    requote = make_quote(w, rfq)
    rfq.refresh_from_db()
    assert requote.status == QuoteStatus.SENT and rfq.status == RfqStatus.QUOTED


# --- Declining and cancelling ------------------------------------------------------------------


def test_buyer_declines_the_quote(w):
    rfq = make_rfq(w)
    quote = make_quote(w, rfq)
    rfqs.quote_decline(quote=quote, membership=w.buyer_membership, actor=w.buyer_user,
                       comment="Too expensive")
    quote.refresh_from_db()
    rfq.refresh_from_db()
    assert (quote.status, rfq.status) == (QuoteStatus.DECLINED, RfqStatus.DECLINED)
    assert Event.objects.get(type="hub.quote.declined").payload["quote_id"] == quote.pk
    with pytest.raises(HubError):
        rfqs.quote_accept(quote=quote, membership=w.buyer_membership, actor=w.buyer_user)
    with pytest.raises(HubError):
        make_quote(w, rfq)  # closed


def test_cancel_withdraws_the_quote_and_checks_the_version(w):
    rfq = make_rfq(w)
    quote = make_quote(w, rfq)
    rfq.refresh_from_db()
    with pytest.raises(StaleVersion):
        rfqs.rfq_cancel(rfq=rfq, membership=w.buyer_membership, actor=w.buyer_user,
                        version=rfq.version - 1)
    with pytest.raises(HubError) as error:
        rfqs.rfq_cancel(rfq=rfq, membership=w.sales_membership, actor=w.sales)
    assert error.value.code == "forbidden"
    rfqs.rfq_cancel(rfq=rfq, membership=w.buyer_membership, actor=w.buyer_user,
                    version=rfq.version, comment="Not needed")
    quote.refresh_from_db()
    rfq.refresh_from_db()
    assert (rfq.status, quote.status) == (RfqStatus.CANCELLED, QuoteStatus.DECLINED)
    assert Event.objects.filter(type="hub.rfq.cancelled").count() == 1
    with pytest.raises(HubError) as error:
        rfqs.rfq_cancel(rfq=rfq, membership=w.buyer_membership, actor=w.buyer_user)
    assert error.value.code == "invalid_transition"
    draft = make_rfq(w, submit=False)
    rfqs.rfq_cancel(rfq=draft, membership=w.buyer_membership, actor=w.buyer_user)
    assert Event.objects.filter(type="hub.rfq.cancelled").count() == 1  # drafts: no event


def test_supplier_declines_to_quote(w):
    rfq = make_rfq(w)
    with pytest.raises(HubError) as error:
        rfqs.rfq_decline(rfq=rfq, membership=w.buyer_membership, actor=w.buyer_user)
    assert error.value.code == "forbidden"
    rfqs.rfq_decline(rfq=rfq, membership=w.sales_membership, actor=w.sales,
                     comment="We do not make these")
    rfq.refresh_from_db()
    assert rfq.status == RfqStatus.DECLINED
    change = rfq.status_changes.last()
    assert (change.actor, change.comment) == (w.sales, "We do not make these")


def test_viewers_and_other_buyers_cannot_act(w):
    rfq = make_rfq(w)
    quote = make_quote(w, rfq)
    for membership in (w.buyer_viewer_membership, w.sales_membership, w.b_membership):
        with pytest.raises(HubError) as error:
            rfqs.quote_accept(quote=quote, membership=membership, actor=membership.user)
        assert error.value.code == "forbidden"
    with pytest.raises(Http404):
        rfq_selectors.rfq_or_404(organization=w.buyer_b, pk=rfq.pk)
    with pytest.raises(Http404):
        rfq_selectors.quote_or_404(organization=w.buyer_b, pk=quote.pk)
    assert not Order.objects.exists()


# --- CRM timeline ------------------------------------------------------------------------------


def test_rfq_and_quote_steps_reach_the_crm_timeline(w):
    account = crm_services.account_create(organization=w.supplier, actor=w.owner,
                                          name="PT Buyer A")
    Account.objects.filter(pk=account.pk).update(hub_organization=w.buyer)
    rfq = make_rfq(w, title="Paper for Q1")
    quote = make_quote(w, rfq, prices={w.paper.pk: "9500", w.pens.pk: "2000"})
    rfqs.quote_accept(quote=quote, membership=w.buyer_membership, actor=w.buyer_user)
    with transaction.atomic():
        pass
    events_process(batch_size=1000)
    lines = TimelineEntry.objects.filter(account=account, category="hub")
    sentences = {line.event_type: render.sentence(line) for line in lines}
    assert sentences["hub.rfq.submitted"] == "Request for quotation received: Paper for Q1"
    assert sentences["hub.quote.sent"] == "Quote sent: Paper for Q1 (IDR 72725.00)"
    assert sentences["hub.quote.accepted"] == "Quote accepted: Paper for Q1 (IDR 72725.00)"
    assert "hub.rfq.quoted" not in sentences  # told once, by the quote's own event


def test_validity_is_a_jakarta_calendar_day(w, settings):
    rfq = make_rfq(w)
    quote = make_quote(w, rfq, valid_days=0)  # valid until today
    assert quote.valid_until == rfqs.today()
    assert settings.TIME_ZONE == "Asia/Jakarta"
    order, _created = rfqs.quote_accept(quote=quote, membership=w.buyer_membership,
                                        actor=w.buyer_user)
    assert order.quote_id == quote.pk
    assert isinstance(quote.valid_until, datetime.date)
