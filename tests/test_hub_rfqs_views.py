"""RFQ and quote pages: request a quote (catalog, cart, free text), the supplier's queue with
filters and CSV, the quote editor prefilled with the buyer's prices, accept (double click →
one order), refusals shown with their reason, owner/member/outsider access, query counts."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from jalin.hub import orders
from jalin.hub.models import Order, Quote, QuoteStatus, Rfq, RfqStatus
from tests.rfq_world import build_world, in_days, make_quote, make_rfq

pytestmark = pytest.mark.django_db


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def w(org, owner):
    world = build_world(org, owner)
    world.buyer_client = client_for(world.buyer_user)
    world.owner_client = client_for(owner)
    world.sales_client = client_for(world.sales)
    world.viewer_client = client_for(world.buyer_viewer)
    world.b_client = client_for(world.b_user)
    return world


def rows(*lines, token="t1", action="submit", title="Paper for Q1", **extra):
    data = {"title": title, "rows": str(len(lines)), "token": token, "action": action,
            "needed_by": "", "note": "Please quote fast", **extra}
    for index, (sku, quantity, description) in enumerate(lines):
        data.update({f"sku_{index}": sku, f"quantity_{index}": str(quantity),
                     f"description_{index}": description, f"note_{index}": ""})
    return data


def test_buyer_requests_a_quote_from_the_catalog(w):
    catalog = w.buyer_client.get(reverse("hub:shop_catalog", args=[w.supplier.pk]))
    html = catalog.content.decode()
    new_url = reverse("hub:rfq_new", args=[w.supplier.pk])
    assert new_url in html and f"{new_url}?product={w.paper.pk}" in html
    form = w.buyer_client.get(f"{new_url}?product={w.paper.pk}").content.decode()
    assert 'value="PAP-1"' in form
    response = w.buyer_client.post(new_url, rows(("PAP-1", 5, ""), ("", 300, "Paper bags"),
                                                 ("", "", "")))
    assert response.status_code == 302
    rfq = Rfq.objects.get()
    assert response["Location"] == reverse("hub:rfq_detail", args=[rfq.pk])
    assert (rfq.status, rfq.number, rfq.buyer_note) == (RfqStatus.SUBMITTED, 1,
                                                         "Please quote fast")
    assert [(ln.product_id, ln.quantity, ln.description) for ln in rfq.lines.all()] == [
        (w.paper.pk, 5, "Paper"), (None, 300, "Paper bags")]
    # The same form again (a double click): still one request.
    again = w.buyer_client.post(new_url, rows(("PAP-1", 5, ""), ("", 300, "Paper bags")))
    assert again.status_code == 302 and Rfq.objects.count() == 1


def test_request_a_quote_for_my_cart(w):
    orders.cart_set_line(relationship=w.relationship, user=w.buyer_user,
                         product_id=w.pens.pk, quantity=40)
    cart = w.buyer_client.get(reverse("hub:cart")).content.decode()
    url = reverse("hub:rfq_new", args=[w.supplier.pk]) + "?from=cart"
    assert url.replace("&", "&amp;") in cart or url in cart
    form = w.buyer_client.get(url).content.decode()
    assert 'value="PEN-1"' in form and 'value="40"' in form


def test_bad_rows_are_shown_and_nothing_is_saved(w):
    url = reverse("hub:rfq_new", args=[w.supplier.pk])
    response = w.buyer_client.post(url, rows(("PAP-1", 5, ""), ("NOPE-9", 1, "")))
    assert response.status_code == 400
    assert "Row 2: unknown SKU NOPE-9." in response.content.decode()
    response = w.buyer_client.post(url, rows(("PAP-1", 0, "")))
    assert response.status_code == 400 and "Row 1" in response.content.decode()
    response = w.buyer_client.post(url, rows(("PAP-1", 1, ""), needed_by="2001-01-01"))
    assert response.status_code == 400
    assert not Rfq.objects.exists()
    assert w.buyer_client.post(url, rows(("PAP-1", 1, ""), action="draft")).status_code == 302
    assert Rfq.objects.get().status == RfqStatus.DRAFT


def test_supplier_queue_filters_csv_and_no_drafts(w):
    make_rfq(w, title="=HYPERLINK(evil)")
    make_rfq(w, title="Secret draft", submit=False)
    cancelled = make_rfq(w, title="Gone")
    cancelled_by = w.buyer_membership
    from jalin.hub import rfqs

    rfqs.rfq_cancel(rfq=cancelled, membership=cancelled_by, actor=w.buyer_user)
    html = w.sales_client.get(reverse("hub:rfqs") + "?side=supplier").content.decode()
    assert "HYPERLINK" in html and "Gone" in html and "Secret draft" not in html
    assert 'href="/hub/rfqs/?side=supplier"' in html  # "Quotes" in the sub-navigation
    filtered = w.sales_client.get(reverse("hub:rfqs") + "?side=supplier&status=cancelled")
    assert "Gone" in filtered.content.decode()
    assert "HYPERLINK" not in filtered.content.decode()
    response = w.sales_client.get(reverse("hub:rfq_export") + "?side=supplier")
    body = b"".join(response.streaming_content).decode()
    assert response["Content-Type"].startswith("text/csv")
    assert "'=HYPERLINK(evil)" in body and "Secret draft" not in body
    assert body.count("\n") == 3  # header + 2 rows
    buyer_html = w.buyer_client.get(reverse("hub:rfqs")).content.decode()
    assert "Secret draft" in buyer_html  # the buyer sees its own drafts


def test_quote_editor_prefills_buyer_prices_and_staff_override(w):
    rfq = make_rfq(w, lines=[{"product_id": w.paper.pk, "quantity": 50},
                             {"product_id": w.pens.pk, "quantity": 10},
                             {"description": "Bags", "quantity": 5}])
    paper_line, pens_line, bags_line = rfq.lines.all()
    url = reverse("hub:quote_edit", args=[rfq.pk])
    html = w.sales_client.get(url).content.decode()
    assert f'name="price_{paper_line.pk}" inputmode="decimal" value="9000.0000"' in html
    assert f'name="price_{pens_line.pk}" inputmode="decimal" value="2500.0000"' in html
    data = {"valid_until": in_days(5).isoformat(), "note": "Delivered Monday",
            "action": "send", "version": str(rfq.version)}
    for line, sku, price in ((paper_line, "PAP-1", "8800"), (pens_line, "PEN-1", "2500"),
                             (bags_line, "CUS-1", "1500")):
        data.update({f"include_{line.pk}": "on", f"sku_{line.pk}": sku,
                     f"quantity_{line.pk}": str(line.quantity), f"price_{line.pk}": price,
                     f"lead_{line.pk}": "3"})
    response = w.sales_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    quote = Quote.objects.get()
    assert quote.status == QuoteStatus.SENT and quote.supplier_note == "Delivered Monday"
    assert {ln.sku: str(ln.unit_price) for ln in quote.lines.all()} == {
        "PAP-1": "8800.0000", "PEN-1": "2500.0000", "CUS-1": "1500.0000"}
    # Revising starts from the quote on the table.
    html = w.sales_client.get(url).content.decode()
    assert f'name="price_{paper_line.pk}" inputmode="decimal" value="8800.0000"' in html
    data[f"price_{paper_line.pk}"] = "-5"
    data["version"] = str(Rfq.objects.get().version)
    response = w.sales_client.post(url, data)
    assert response.status_code == 400
    assert "Paper: A price cannot be negative." in response.content.decode()
    assert Quote.objects.count() == 1


def test_buyer_accepts_double_click_makes_one_order(w):
    rfq = make_rfq(w)
    quote = make_quote(w, rfq, prices={w.paper.pk: "9500", w.pens.pk: "2000"})
    detail = w.buyer_client.get(reverse("hub:rfq_detail", args=[rfq.pk])).content.decode()
    assert "Accept and order" in detail and "Prices include delivery" in detail
    url = reverse("hub:quote_accept", args=[quote.pk])
    first = w.buyer_client.post(url, {"token": "x1"})
    second = w.buyer_client.post(url, {"token": "x1"})
    order = Order.objects.get()
    assert first["Location"] == second["Location"] == reverse("hub:order_detail",
                                                              args=[order.pk])
    assert order.total_gross == quote.total_gross
    detail = w.buyer_client.get(reverse("hub:rfq_detail", args=[rfq.pk])).content.decode()
    assert reverse("hub:order_detail", args=[order.pk]) in detail
    assert "Accept and order" not in detail
    order_page = w.buyer_client.get(reverse("hub:order_detail", args=[order.pk]))
    assert f'href="{reverse("hub:rfq_detail", args=[rfq.pk])}" id="order-quote"' in \
        order_page.content.decode()


def test_a_refused_accept_shows_the_reason(w):
    rfq = make_rfq(w, lines=[{"product_id": w.custom.pk, "quantity": 25}])
    quote = make_quote(w, rfq)
    response = w.buyer_client.post(reverse("hub:quote_accept", args=[quote.pk]))
    assert response.status_code == 400
    assert "CUS-1" in response.content.decode()
    assert not Order.objects.exists()
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.SENT


def test_pages_for_owner_member_viewer_outsider(w, outsider_client):
    rfq = make_rfq(w)
    quote = make_quote(w, rfq)
    detail = reverse("hub:rfq_detail", args=[rfq.pk])
    for client in (w.owner_client, w.sales_client, w.buyer_client, w.viewer_client):
        assert client.get(detail).status_code == 200
    supplier_page = w.sales_client.get(detail).content.decode()
    assert "Revise the quote" in supplier_page and "Accept and order" not in supplier_page
    viewer_page = w.viewer_client.get(detail).content.decode()
    assert "Accept and order" not in viewer_page
    assert w.viewer_client.post(reverse("hub:quote_accept", args=[quote.pk])).status_code == 403
    assert w.buyer_client.get(reverse("hub:quote_edit", args=[rfq.pk])).status_code == 403
    for client in (outsider_client, w.b_client):
        assert client.get(detail).status_code == 404
        assert client.post(reverse("hub:rfq_cancel", args=[rfq.pk])).status_code in (403, 404)
        assert client.post(reverse("hub:quote_accept", args=[quote.pk])).status_code in (403,
                                                                                        404)
    assert w.b_client.post(reverse("hub:quote_accept", args=[quote.pk])).status_code == 404
    assert not Order.objects.exists()


def test_decline_and_cancel_buttons(w):
    rfq = make_rfq(w)
    quote = make_quote(w, rfq)
    response = w.buyer_client.post(reverse("hub:quote_decline", args=[quote.pk]),
                                   {"comment": "Too dear", "version": str(quote.version)})
    assert response.status_code == 302
    rfq.refresh_from_db()
    assert rfq.status == RfqStatus.DECLINED
    other = make_rfq(w, title="Second")
    response = w.buyer_client.post(reverse("hub:rfq_cancel", args=[other.pk]),
                                   {"version": str(other.version - 1)})
    assert response.status_code == 409
    response = w.sales_client.post(reverse("hub:rfq_decline", args=[other.pk]),
                                   {"comment": "No stock"})
    assert response.status_code == 302
    other.refresh_from_db()
    assert other.status == RfqStatus.DECLINED


def test_list_query_count_does_not_grow(w):
    def count(client, side):
        url = reverse("hub:rfqs") + f"?side={side}"
        client.get(url)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    for index in range(3):
        make_rfq(w, title=f"R{index}")
    few = (count(w.sales_client, "supplier"), count(w.buyer_client, "buyer"))
    for index in range(27):
        make_rfq(w, title=f"S{index}")
    assert (count(w.sales_client, "supplier"), count(w.buyer_client, "buyer")) == few
