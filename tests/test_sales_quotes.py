"""Sales quotes: made from an opportunity at the customer's hub prices with the hub's tax,
numbered, edited while draft, sent into the buyer's portal through the hub (or marked sent for a
PDF customer), accepted in the portal into a hub order — the consumer marks the quote accepted
and wins the opportunity — declined, expired, withdrawn; the PDF (SQLite and PostgreSQL)."""

import datetime
from decimal import Decimal

import pytest

from jalin.core.events import events_process
from jalin.core.events_models import Event
from jalin.crm.models import TimelineEntry
from jalin.crm.timeline import render
from jalin.hub import rfq_selectors, rfqs
from jalin.hub.models import Order, QuoteStatus, Rfq, RfqStatus
from jalin.hub.services import HubError
from jalin.sales import consumers, quotes
from jalin.sales.models import (
    OpportunityStatus,
    SalesQuote,
    SalesQuoteLine,
    SalesQuoteStatus,
)
from jalin.sales.quote_pdf import quote_pdf
from jalin.tenancy.services import StaleVersion
from tests.pdf_text import pdf_text
from tests.sales_quote_world import build_sales_world

pytestmark = pytest.mark.django_db

S = SalesQuoteStatus


@pytest.fixture
def w(org, owner):
    return build_sales_world(org, owner)


def lines_of(quote):
    return [(line.sku, line.description, line.quantity, line.unit_price, line.price_source,
             line.tax_rate, line.line_net, line.line_tax, line.line_gross)
            for line in SalesQuoteLine.objects.filter(quote=quote).order_by("position")]


def send(w, quote):
    return quotes.sales_quote_send(quote=quote, actor=w.sales, membership=w.sales_membership)


# --- Create and edit -------------------------------------------------------------------------


def test_hub_customer_quote_uses_customer_prices_and_hub_tax(w):
    quote = quotes.sales_quote_create(opportunity=w.hub_deal, actor=w.sales)
    assert quote.status == S.DRAFT and quote.number == 1 and quote.label == "SQ-1"
    assert quote.currency == "IDR" and quote.valid_until == (
        quotes.today() + datetime.timedelta(days=30))
    # Paper: buyer A's own list (8,000, not the deal's 10,800 nor the base 10,000), 11% tax;
    # pens: no customer price → the base list (2,500), tax exempt.
    assert lines_of(quote) == [
        ("PAP-1", "Paper", 5, Decimal("8000"), "customer", Decimal("11"), Decimal("40000"),
         Decimal("4400"), Decimal("44400")),
        ("PEN-1", "Pens", 10, Decimal("2500"), "base", Decimal("0"), Decimal("25000"),
         Decimal("0"), Decimal("25000"))]
    assert (quote.total_net, quote.total_tax, quote.total_gross) == (
        Decimal("65000"), Decimal("4400"), Decimal("69400"))
    event = Event.objects.get(type="sales.quote.created")
    assert event.organization == w.supplier and event.payload["opportunity_id"] == w.hub_deal.pk
    assert event.payload["hub_customer"] is True
    second = quotes.sales_quote_create(opportunity=w.pdf_deal, actor=w.sales)
    assert second.number == 2  # numbered per organization, gapless


def test_quantity_breaks_of_the_customer_apply(w):
    quote = quotes.sales_quote_create(opportunity=w.hub_deal, actor=w.sales, lines=[
        {"product_id": w.pens.pk, "quantity": 60}])
    assert lines_of(quote)[0][3] == Decimal("2500")
    w.relationship.price_list = None
    w.relationship.save(update_fields=["price_list"])
    quote = quotes.sales_quote_create(opportunity=w.hub_deal, actor=w.sales, lines=[
        {"product_id": w.paper.pk, "quantity": 60}])
    assert lines_of(quote)[0][3:5] == (Decimal("9000"), "base")  # the base list's 50+ break


def test_non_hub_customer_keeps_the_deal_prices_and_free_text_lines(w):
    quote = quotes.sales_quote_create(opportunity=w.pdf_deal, actor=w.sales,
                                      note="Installation on site")
    assert lines_of(quote) == [
        ("PAP-1", "Paper", 5, Decimal("10800"), "opportunity", Decimal("11"),
         Decimal("54000"), Decimal("5940"), Decimal("59940")),
        ("", "Installation", 1, Decimal("500000"), "opportunity", Decimal("11"),
         Decimal("500000"), Decimal("55000"), Decimal("555000"))]
    assert quote.total_gross == Decimal("614940") and quote.hub_quote is None


@pytest.mark.parametrize("lines, field, code", [
    ([], "lines", "no_lines"),
    ([{"product_id": "x", "quantity": 1}], "lines[0].product_id", "not_found"),
    ([{"description": "Thing", "quantity": 0, "unit_price": "1"}], "lines[0].quantity",
     "invalid_quantity"),
    ([{"description": "Thing", "quantity": 2, "unit_price": "-5"}], "lines[0].unit_price",
     "invalid_price"),
    ([{"description": "Thing", "quantity": 2, "unit_price": "1.00001"}],
     "lines[0].unit_price", "invalid_price"),
    ([{"description": "", "quantity": 2, "unit_price": "5"}], "lines[0].description",
     "required"),
    ([{"description": "Thing", "quantity": 2}], "lines[0].unit_price", "no_price"),
])
def test_bad_lines_are_refused_naming_the_field_and_write_nothing(w, lines, field, code):
    with pytest.raises(quotes.SalesError) as caught:
        quotes.sales_quote_create(opportunity=w.hub_deal, actor=w.sales, lines=lines)
    assert (caught.value.field, caught.value.code) == (field, code)
    assert not SalesQuote.objects.exists() and not Event.objects.filter(
        type__startswith="sales.quote").exists()


def test_products_of_others_duplicates_unpriced_and_past_dates(w, other_org, outsider):
    from jalin.hub.testing import make_product

    foreign = make_product(other_org, outsider, "RIV-1", "Rival product")
    for lines, code in (
            ([{"product_id": foreign.pk, "quantity": 1, "unit_price": "1"}], "not_found"),
            ([{"product_id": w.paper.pk, "quantity": 1}, {"product_id": w.paper.pk,
                                                           "quantity": 2}],
             "duplicate_product"),
            ([{"product_id": w.custom.pk, "quantity": 1}], "no_price")):
        with pytest.raises(quotes.SalesError) as caught:
            quotes.sales_quote_create(opportunity=w.hub_deal, actor=w.sales, lines=lines)
        assert caught.value.code == code
    with pytest.raises(quotes.SalesError) as caught:
        quotes.sales_quote_create(opportunity=w.hub_deal, actor=w.sales,
                                  valid_until=quotes.today() - datetime.timedelta(days=1))
    assert caught.value.code == "past_date"
    w.hub_deal.status = OpportunityStatus.LOST
    w.hub_deal.save(update_fields=["status"])
    with pytest.raises(quotes.SalesError) as caught:
        quotes.sales_quote_create(opportunity=w.hub_deal, actor=w.sales)
    assert caught.value.code == "closed"
    assert not SalesQuote.objects.exists()


def test_draft_edit_reprices_checks_version_and_stops_after_send(w):
    quote = quotes.sales_quote_create(opportunity=w.hub_deal, actor=w.sales)
    edited = quotes.sales_quote_update(
        quote=quote, actor=w.sales, version=quote.version, note="Valid for stock on hand",
        lines=[{"product_id": w.paper.pk, "quantity": 10},
               {"product_id": w.custom.pk, "quantity": 2, "unit_price": "15000"}])
    assert edited.version == quote.version + 1
    assert [(ln[0], ln[2], ln[3], ln[4]) for ln in lines_of(edited)] == [
        ("PAP-1", 10, Decimal("8000"), "customer"), ("CUS-1", 2, Decimal("15000"), "manual")]
    assert edited.total_net == Decimal("110000")
    with pytest.raises(StaleVersion):
        quotes.sales_quote_update(quote=quote, actor=w.sales, version=quote.version, note="x")
    send(w, edited)
    with pytest.raises(quotes.SalesError) as caught:
        quotes.sales_quote_update(quote=edited, actor=w.sales, version=edited.version + 1,
                                  note="late")
    assert caught.value.code == "not_draft"


# --- Sending ---------------------------------------------------------------------------------


def test_send_to_a_hub_buyer_puts_the_same_quote_in_the_portal(w):
    quote = quotes.sales_quote_create(opportunity=w.hub_deal, actor=w.sales)
    sent = send(w, quote)
    assert sent.status == S.SENT and sent.sent_at is not None
    hub_quote = sent.hub_quote
    assert hub_quote.status == QuoteStatus.SENT and hub_quote.buyer == w.buyer
    assert hub_quote.rfq.supplier_initiated and hub_quote.rfq.reference == "SQ-1"
    assert hub_quote.rfq.title == "Paper for buyer A"
    assert {(ln.product_id, ln.quantity, ln.unit_price) for ln in hub_quote.lines.all()} == {
        (w.paper.pk, 5, Decimal("8000")), (w.pens.pk, 10, Decimal("2500"))}
    assert (hub_quote.total_net, hub_quote.total_tax, hub_quote.total_gross) == (
        sent.total_net, sent.total_tax, sent.total_gross)
    assert rfq_selectors.rfqs_for(organization=w.buyer).filter(pk=hub_quote.rfq_id).exists()
    assert Event.objects.get(type="sales.quote.sent").payload["via"] == "hub"
    with pytest.raises(quotes.SalesError):  # twice
        send(w, sent)
    assert Rfq.objects.count() == 1


def test_a_free_text_line_cannot_go_to_a_hub_buyer(w):
    quote = quotes.sales_quote_create(opportunity=w.hub_deal, actor=w.sales, lines=[
        {"product_id": w.paper.pk, "quantity": 5},
        {"description": "Delivery", "quantity": 1, "unit_price": "50000"}])
    with pytest.raises(quotes.SalesError) as caught:
        send(w, quote)
    assert (caught.value.field, caught.value.code) == ("lines[1].product_id", "not_orderable")
    assert SalesQuote.objects.get(pk=quote.pk).status == S.DRAFT and not Rfq.objects.exists()


def test_the_hubs_refusal_is_passed_on_and_nothing_is_sent(w):
    quote = quotes.sales_quote_create(opportunity=w.hub_deal, actor=w.sales, lines=[
        {"product_id": w.boxes.pk, "quantity": 5}])  # below the minimum of 10
    with pytest.raises(quotes.SalesError) as caught:
        send(w, quote)
    assert (caught.value.field, caught.value.code) == ("lines[0].quantity", "below_minimum")
    with pytest.raises(quotes.SalesError) as caught:  # finance may not fulfil on the hub
        quotes.sales_quote_send(quote=quote, actor=w.finance, membership=w.finance_membership)
    assert caught.value.code == "hub_refused"
    assert SalesQuote.objects.get(pk=quote.pk).status == S.DRAFT and not Rfq.objects.exists()


def test_send_to_a_customer_off_the_hub_marks_it_sent(w):
    quote = send(w, quotes.sales_quote_create(opportunity=w.pdf_deal, actor=w.sales))
    assert quote.status == S.SENT and quote.hub_quote is None and not Rfq.objects.exists()
    assert Event.objects.get(type="sales.quote.sent").payload["via"] == "pdf"


# --- The buyer's answer ----------------------------------------------------------------------


def test_portal_accept_makes_the_order_and_the_consumer_wins_the_opportunity(w):
    quote = send(w, quotes.sales_quote_create(opportunity=w.hub_deal, actor=w.sales))
    order, created = rfqs.quote_accept(quote=quote.hub_quote, membership=w.buyer_membership,
                                       actor=w.buyer_user)
    assert created and order.total_gross == Decimal("69400")
    events_process()
    quote.refresh_from_db()
    assert quote.status == S.ACCEPTED and quote.hub_order == order
    assert quote.decided_at is not None
    opportunity = type(w.hub_deal).objects.get(pk=w.hub_deal.pk)
    assert opportunity.status == OpportunityStatus.WON and opportunity.hub_order == order
    assert Event.objects.filter(type="sales.quote.accepted").count() == 1
    # The account's timeline tells the story in sales terms too (the events sales emitted
    # while consuming reach the timeline on the dispatcher's next round).
    events_process()
    entries = {entry.event_type: entry for entry in TimelineEntry.objects.filter(
        account=w.hub_account, event_type__startswith="sales.quote.")}
    assert set(entries) == {"sales.quote.sent", "sales.quote.accepted"}
    assert render.sentence(entries["sales.quote.accepted"]) == (
        "Sales quote for Paper for buyer A accepted (IDR 69400.00)")
    # A redelivered event changes nothing (receipt and status check).
    accepted = Event.objects.get(type="hub.quote.accepted")
    version = quote.version
    consumers.quote_outcome_from_hub(accepted)
    quote.refresh_from_db()
    assert quote.version == version
    assert Event.objects.filter(type="sales.quote.accepted").count() == 1


def test_declined_and_expired_in_the_hub_reach_the_sales_quote(w):
    declined = send(w, quotes.sales_quote_create(opportunity=w.hub_deal, actor=w.sales))
    rfqs.quote_decline(quote=declined.hub_quote, membership=w.buyer_membership,
                       actor=w.buyer_user, comment="Too dear")
    expiring = send(w, quotes.sales_quote_create(
        opportunity=w.hub_deal, actor=w.sales,
        valid_until=quotes.today() + datetime.timedelta(days=1)))
    assert rfqs.quotes_expire(on_date=quotes.today() + datetime.timedelta(days=2)) == 1
    events_process()
    assert SalesQuote.objects.get(pk=declined.pk).status == S.DECLINED
    assert SalesQuote.objects.get(pk=expiring.pk).status == S.EXPIRED
    assert type(w.hub_deal).objects.get(pk=w.hub_deal.pk).status == OpportunityStatus.OPEN


def test_requoted_on_the_hubs_own_pages_the_sales_quote_is_withdrawn(w):
    quote = send(w, quotes.sales_quote_create(opportunity=w.hub_deal, actor=w.sales))
    rfq = quote.hub_quote.rfq
    rfqs.quote_save(rfq=rfq, membership=w.sales_membership, actor=w.sales,
                    valid_until=quote.valid_until,
                    lines=[{"rfq_line_id": line.pk, "unit_price": "7000"}
                           for line in rfq.lines.all()])
    events_process()
    assert SalesQuote.objects.get(pk=quote.pk).status == S.WITHDRAWN


def test_withdraw_takes_the_quote_out_of_the_portal(w):
    quote = send(w, quotes.sales_quote_create(opportunity=w.hub_deal, actor=w.sales))
    withdrawn = quotes.sales_quote_withdraw(quote=quote, actor=w.sales,
                                            membership=w.sales_membership, comment="Re-quote")
    assert withdrawn.status == S.WITHDRAWN
    hub_quote = withdrawn.hub_quote
    hub_quote.refresh_from_db()
    assert hub_quote.status == QuoteStatus.WITHDRAWN
    assert Rfq.objects.get(pk=hub_quote.rfq_id).status == RfqStatus.CANCELLED
    with pytest.raises(HubError):
        rfqs.quote_accept(quote=hub_quote, membership=w.buyer_membership, actor=w.buyer_user)
    assert not Order.objects.exists()
    with pytest.raises(quotes.SalesError):
        quotes.sales_quote_withdraw(quote=quote, actor=w.sales, membership=w.sales_membership)
    draft = quotes.sales_quote_create(opportunity=w.pdf_deal, actor=w.sales)
    assert quotes.sales_quote_withdraw(quote=draft, actor=w.sales).status == S.WITHDRAWN


def test_answer_recorded_for_a_pdf_quote_wins_the_deal(w):
    quote = send(w, quotes.sales_quote_create(opportunity=w.pdf_deal, actor=w.sales))
    accepted = quotes.sales_quote_record_answer(quote=quote, actor=w.sales, accepted=True,
                                                version=quote.version)
    assert accepted.status == S.ACCEPTED
    assert type(w.pdf_deal).objects.get(pk=w.pdf_deal.pk).status == OpportunityStatus.WON
    hub_quote = send(w, quotes.sales_quote_create(opportunity=w.hub_deal, actor=w.sales))
    with pytest.raises(quotes.SalesError) as caught:
        quotes.sales_quote_record_answer(quote=hub_quote, actor=w.sales, accepted=True)
    assert caught.value.code == "hub_quote"  # the buyer answers that one in the portal


def test_pdf_quotes_expire_by_the_housekeeping_job(w):
    quote = send(w, quotes.sales_quote_create(
        opportunity=w.pdf_deal, actor=w.sales,
        valid_until=quotes.today() + datetime.timedelta(days=1)))
    hub = send(w, quotes.sales_quote_create(
        opportunity=w.hub_deal, actor=w.sales,
        valid_until=quotes.today() + datetime.timedelta(days=1)))
    later = quotes.today() + datetime.timedelta(days=2)
    assert quotes.quotes_expire(on_date=later) == 1
    assert quotes.quotes_expire(on_date=later) == 0
    assert SalesQuote.objects.get(pk=quote.pk).status == S.EXPIRED
    assert SalesQuote.objects.get(pk=hub.pk).status == S.SENT  # the hub expires that one


def test_pdf_has_the_quote_lines_and_totals(w):
    quote = quotes.sales_quote_create(opportunity=w.pdf_deal, actor=w.sales,
                                      note="Installation on site")
    data = quote_pdf(quote=quote, lines=list(quote.lines.all()))
    assert data.startswith(b"%PDF")
    text = pdf_text(data)
    for expected in ("SQ-1", "Walk-in refit", "Toko Walk-in", "Installation", "614,940",
                     "Installation on site"):
        assert expected in text, expected
