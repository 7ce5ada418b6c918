"""Order upload into the cart: CSV variants (BOM, semicolon, tab, header or not) and .xlsx,
the per-line report (page, CSV download, API), the three modes, limits and refused files,
and that another supplier's SKU is simply unknown."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from openpyxl import Workbook

from jalin.api.testing import ApiClient, bearer_token_for
from jalin.hub import order_upload, orders, sku_lines
from jalin.hub.models import CartLine
from jalin.hub.services import HubError, category_create
from jalin.hub.testing import link_buyer, make_price_list, make_product, set_price
from jalin.tenancy.models import Membership
from jalin.tenancy.roles import Role
from tests.conftest import make_org, make_user


@pytest.fixture
def world(org, owner, other_org):
    base = make_price_list(org, owner, "Base", is_base=True)
    tools = category_create(supplier=org, actor=owner, name="Tools")
    secret = category_create(supplier=org, actor=owner, name="Secret")
    paper = make_product(org, owner, "PAP-1", "Paper", category=tools)
    pens = make_product(org, owner, "PEN-1", "Pens", category=tools, min_order_quantity=10)
    hidden = make_product(org, owner, "HID-1", "Hidden", category=secret)
    for product in (paper, pens, hidden):
        set_price(base, product, "1000", owner)
    buyer = make_org("upload-buyer", is_supplier=False, is_buyer=True)
    relationship = link_buyer(org, buyer, owner, catalog_scope="categories",
                              categories=[tools])
    user = make_user("uploader")
    membership = Membership.objects.create(user=user, organization=buyer, role=Role.BUYER)
    other_supplier = make_org("other-supplier", is_supplier=True)
    foreign = make_product(other_supplier, owner, "FOR-1", "Foreign")
    client = Client()
    client.force_login(user)
    return type("World", (), dict(
        supplier=org, owner=owner, paper=paper, pens=pens, hidden=hidden, foreign=foreign,
        buyer=buyer, relationship=relationship, user=user, membership=membership,
        client=client, api=ApiClient(token=bearer_token_for(membership)),
        other_supplier=other_supplier, tools=tools,
    ))


def cart(world):
    return dict(CartLine.objects.filter(cart__user=world.user)
                .values_list("product__sku", "quantity"))


def upload(world, data, name="order.csv", mode="check"):
    return order_upload.cart_upload(relationship=world.relationship, user=world.user,
                               uploaded=SimpleUploadedFile(name, data), mode=mode)


def xlsx(rows):
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    book.create_sheet("Ignored").append(["PAP-1", 999])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("data", [
    b"PAP-1,3\nPEN-1,10\n",
    "\ufeffPAP-1;3\r\nPEN-1;10\r\n".encode(),  # Excel's "CSV UTF-8" on an Indonesian PC
    b"PAP-1\t3\nPEN-1\t10\n",
    b"SKU,Quantity,Note\nPAP-1,3,for the office\n\nPEN-1,10,\n",
    b"Qty;Catatan;Kode\n3;kantor;PAP-1\n10;;PEN-1\n",  # header names the columns
    "\ufeffsku,qty\nPAP-1,3\nPEN-1,10".encode(),
])
def test_csv_variants_fill_the_cart(world, data):
    result = upload(world, data)
    assert result.applied and result.report == []
    assert cart(world) == {"PAP-1": 3, "PEN-1": 10}


def test_xlsx_first_sheet_with_numbers_and_header(world):
    data = xlsx([["SKU", "Quantity", "Note"], ["PAP-1", 3, "office"], [None, None],
                 ["PEN-1", 10.0, None], ["PEN-1", 2.5]])
    result = upload(world, data, name="order.xlsx", mode="valid_only")
    assert [(p.number, p.code) for p in result.report] == [(5, "bad_quantity")]
    assert cart(world) == {"PAP-1": 3, "PEN-1": 10}
    numeric_skus = xlsx([[123, 1]])
    make_product(world.supplier, world.owner, "123", category=world.tools)
    set_price(world.supplier.hub_price_lists.get(is_base=True),
              world.supplier.hub_products.get(sku="123"), "5", world.owner)
    assert upload(world, numeric_skus, name="n.xlsx").applied


def test_report_reasons_and_check_mode_adds_nothing(world):
    data = (b"PAP-1,2\n"       # 1 good
            b"NOPE,1\n"        # 2 unknown
            b"PEN-1,5\n"       # 3 below the minimum of 10
            b"HID-1,1\n"       # 4 not entitled (another category)
            b"FOR-1,1\n"       # 5 another supplier's SKU: unknown
            b"PAP-1,abc\n"     # 6 bad quantity
            b"PAP-1,0\n"       # 7 bad quantity
            b",4\n"            # 8 format
            b"PAP-1,1\n"       # 9 duplicate of line 1: added up
            )
    result = upload(world, data)
    codes = [(p.number, p.code) for p in result.report]
    assert codes == [(2, "unknown_sku"), (3, "below_minimum"), (4, "not_entitled"),
                     (5, "unknown_sku"), (6, "bad_quantity"), (7, "bad_quantity"),
                     (8, "format"), (9, "duplicate")]
    assert "HID-1 is not available to you." in [p.message for p in result.report]
    assert not result.applied and cart(world) == {}
    assert result.checked.quantities == {world.paper.pk: 3}
    assert not upload(world, data, mode="all_or_nothing").applied and cart(world) == {}
    assert upload(world, data, mode="valid_only").applied
    assert cart(world) == {"PAP-1": 3}


@pytest.mark.parametrize("data,name,code", [
    (b"%PDF-1.4 binary\x00\x01", "order.csv", "unsupported_file"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1rest", "old.xls", "unsupported_file"),
    (b"PK\x03\x04not really a zip", "order.xlsx", "unsupported_file"),
    ("PAP-1,3\nCAF\xc9,1\n".encode("latin-1"), "latin.csv", "unsupported_file"),
    (b"   \n\n", "empty.csv", "empty_file"),
    (b"SKU,Quantity\n", "header.csv", "empty_file"),
])
def test_refused_files_change_nothing(world, data, name, code):
    with pytest.raises(HubError) as error:
        upload(world, data, name=name, mode="valid_only")
    assert error.value.code == code
    assert cart(world) == {}


def test_limits(world, settings):
    too_many = "".join(f"PAP-1,{i + 1}\n" for i in range(sku_lines.MAX_UPLOAD_LINES + 1))
    with pytest.raises(HubError) as error:
        upload(world, too_many.encode(), mode="valid_only")
    assert error.value.code == "too_many_lines" and cart(world) == {}
    with_header = "SKU,Qty\n" + "".join("PAP-1,1\n" for _ in range(sku_lines.MAX_UPLOAD_LINES))
    assert upload(world, with_header.encode(), mode="valid_only").applied  # 2,000 + header
    big = b"PAP-1,1\n" * (sku_lines.MAX_UPLOAD_BYTES // 8 + 1)
    with pytest.raises(HubError) as error:
        upload(world, big)
    assert error.value.code == "too_large"


def test_more_products_than_an_order_can_hold_adds_nothing(world, monkeypatch):
    monkeypatch.setattr(orders, "MAX_LINES", 1)
    result_error = None
    try:
        upload(world, b"PAP-1,1\nPEN-1,10\n")
    except HubError as error:
        result_error = error
    assert result_error is not None and result_error.code == "too_many_lines"
    assert cart(world) == {}


def test_quick_order_shares_the_validator(world):
    result = orders.quick_order(relationship=world.relationship, user=world.user,
                                text="PAP-1, 2\nHID-1, 1\nFOR-1, 1\nPEN-1; x")
    assert result.added == 1
    messages = [message for _n, _raw, message in result.errors]
    assert messages == ["HID-1 is not available to you.", "Unknown SKU FOR-1.",
                        "The quantity must be a whole number from 1 to 1000000."]


# --- Page ----------------------------------------------------------------------------------


def post_file(world, data, name="order.csv", mode="check"):
    url = reverse("hub:cart_upload", args=[world.supplier.pk])
    return world.client.post(url, {"file": SimpleUploadedFile(name, data), "mode": mode})


def test_page_report_then_add_good_lines_and_download(world):
    url = reverse("hub:cart_upload", args=[world.supplier.pk])
    page = world.client.get(url).content.decode()
    assert 'id="upload-form"' in page and "Show me the report first" in page
    response = post_file(world, b"PAP-1,2\n=HYPERLINK(\"x\"),1\nNOPE,1\n")
    html = response.content.decode()
    assert response.status_code == 200 and 'id="upload-report"' in html
    assert "Unknown SKU NOPE." in html and "Nothing was added" in html
    assert cart(world) == {}
    token = response.context["token"]
    report = world.client.get(reverse("hub:cart_upload_report", args=[world.supplier.pk]),
                              {"token": token})
    assert report.status_code == 200
    text = b"".join(report.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["Line", "Content", "Reason", "Code"]
    assert rows[1][0] == "2" and rows[1][1].startswith("'=HYPERLINK")  # formula-safe
    assert rows[1][2].startswith("Unknown SKU") and rows[2][3] == "unknown_sku"
    applied = world.client.post(reverse("hub:cart_upload_apply", args=[world.supplier.pk]),
                                {"token": token})
    assert applied.status_code == 302 and applied["Location"] == reverse("hub:cart")
    assert cart(world) == {"PAP-1": 2}
    again = world.client.post(reverse("hub:cart_upload_apply", args=[world.supplier.pk]),
                              {"token": token})
    assert again.status_code == 302 and cart(world) == {"PAP-1": 2}  # not added twice
    wrong = world.client.get(reverse("hub:cart_upload_report", args=[world.supplier.pk]),
                             {"token": "forged"})
    assert wrong.status_code == 404


def test_page_clean_file_goes_straight_to_the_cart(world):
    response = post_file(world, b"PAP-1,2\n")
    assert response.status_code == 302 and cart(world) == {"PAP-1": 2}


def test_page_refusals(world):
    too_big = post_file(world, b"PAP-1,1\n" * (sku_lines.MAX_UPLOAD_BYTES // 8 + 1))
    assert too_big.status_code == 413 and "larger than 2 MB" in too_big.content.decode()
    pdf = post_file(world, b"%PDF\x00", name="x.pdf")
    assert pdf.status_code == 422 and "Upload a CSV file" in pdf.content.decode()
    url = reverse("hub:cart_upload", args=[world.supplier.pk])
    assert world.client.post(url, {"mode": "check"}).status_code == 422
    assert cart(world) == {}


def test_page_for_persons_who_may_not_order(world, owner_client, outsider_client):
    url = reverse("hub:cart_upload", args=[world.supplier.pk])
    assert outsider_client.get(url).status_code == 404  # trades with no one
    # The supplier's own admin is not its own customer.
    assert owner_client.get(url).status_code == 404


# --- API -----------------------------------------------------------------------------------


def api_upload(world, data, name="order.csv", headers=None, **form):
    return world.api.client.post(
        f"/api/v1/hub/carts/{world.supplier.pk}/upload",
        {"file": SimpleUploadedFile(name, data), **form},
        headers={"Authorization": f"Bearer {world.api.token}", **(headers or {})})


def test_api_upload_answers_the_report(world):
    response = api_upload(world, b"PAP-1,2\nNOPE,1\n")
    body = response.json()
    assert response.status_code == 200, body
    assert body["mode"] == "all_or_nothing" and body["applied"] is False
    assert body["report"] == [{"line": 2, "content": "NOPE, 1", "reason": "Unknown SKU NOPE.",
                               "code": "unknown_sku"}]
    assert body["cart"]["lines"] == []
    body = api_upload(world, b"PAP-1,2\nNOPE,1\n", mode="valid_only").json()
    assert body["applied"] and body["added"] == 1
    assert [(line["sku"], line["quantity"]) for line in body["cart"]["lines"]] == [("PAP-1", 2)]
    assert api_upload(world, b"x", mode="everything").status_code == 422


def test_api_upload_refusals_and_idempotency(world):
    big = api_upload(world, b"PAP-1,1\n" * (sku_lines.MAX_UPLOAD_BYTES // 8 + 1))
    assert big.status_code == 413
    assert api_upload(world, b"%PDF\x00").json()["code"] == "unsupported_file"
    stranger = make_org("stranger-supplier", is_supplier=True)
    response = world.api.client.post(
        f"/api/v1/hub/carts/{stranger.pk}/upload",
        {"file": SimpleUploadedFile("o.csv", b"PAP-1,1\n")},
        headers={"Authorization": f"Bearer {world.api.token}"})
    assert response.status_code == 404
    first = api_upload(world, b"PAP-1,2\n", headers={"Idempotency-Key": "up-1"})
    second = api_upload(world, b"PAP-1,2\n", headers={"Idempotency-Key": "up-1"})
    assert first.status_code == second.status_code == 200
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert cart(world) == {"PAP-1": 2}  # the retry added nothing


def test_checking_rows_costs_the_same_queries_for_3_or_300_rows(world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = []
    for count in (3, 300):
        rows = [sku_lines.Row(i + 1, "", sku, 10) for i, sku in
                enumerate(["PAP-1", "PEN-1", "HID-1", "NOPE"] * (count // 3))][:count]
        with CaptureQueriesContext(connection) as ctx:
            checked = sku_lines.check_rows(relationship=world.relationship, rows=rows)
        assert checked.problems  # HID-1 / NOPE
        counts.append(len(ctx))
    assert counts[0] == counts[1], counts
