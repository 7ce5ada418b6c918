"""The catalog extras in a real browser: the supplier uploads a picture through the product
page; the buyer filters the shop by an attribute, sees the family with its matching variant,
its own prices and the thumbnail (served by the access-checked image view), and picks the
other colour on the product page. No CSP violation or console error on the way."""

import io
import re

import pytest
from django.urls import reverse
from PIL import Image

from jalin.hub import services
from jalin.hub.models import ProductImage
from jalin.hub.testing import link_buyer, make_price_list, make_product, set_price
from jalin.tenancy.models import Membership
from jalin.tenancy.roles import Role
from tests.browser.test_shell_browser import csp_problems, sign_in
from tests.conftest import make_org, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_supplier_uploads_a_picture_buyer_filters_and_picks_a_variant(
        browser, page, live_server, org, owner, tmp_path, console_messages):
    base = make_price_list(org, owner, "Base", is_base=True)
    group_list = make_price_list(org, owner, "Contractors")
    head = make_product(org, owner, "CAT-5L", "Cat tembok 5 L")
    white = make_product(org, owner, "CAT-5L-PTH", "Cat tembok 5 L Putih", variant_of=head,
                         attributes={"Warna": "Putih"})
    grey = make_product(org, owner, "CAT-5L-ABU", "Cat tembok 5 L Abu", variant_of=head,
                        attributes={"Warna": "Abu"})
    hammer = make_product(org, owner, "HAM-1", "Hammer")
    for product, price in ((head, "200000"), (white, "210000"), (grey, "190000"),
                           (hammer, "50000")):
        set_price(base, product, price, owner)
    set_price(group_list, white, "180000", owner)
    group = services.customer_group_create(supplier=org, actor=owner, name="Contractors",
                                           price_list=group_list)
    buyer = make_org("buyer-co", is_supplier=False, is_buyer=True)
    link_buyer(org, buyer, owner, group=group)
    Membership.objects.create(user=make_user("shopper"), organization=buyer, role=Role.BUYER)

    # The supplier uploads a picture of the white paint on its product page.
    picture = tmp_path / "white.png"
    buffer = io.BytesIO()
    Image.new("RGB", (120, 90), (250, 250, 245)).save(buffer, "PNG")
    picture.write_bytes(buffer.getvalue())
    sign_in(page, live_server, "owner")
    page.goto(live_server.url + reverse("hub:product_detail", args=[white.pk]))
    page.set_input_files("input[name=file]", str(picture))
    page.get_by_role("button", name="Upload image").click()
    page.wait_for_url(re.compile(rf"/hub/catalog/products/{white.pk}/$"))
    assert ProductImage.objects.filter(product=white, is_primary=True).exists()
    thumbnail = page.locator("#product-images img").first
    thumbnail.wait_for()
    assert page.evaluate("img => img.naturalWidth", thumbnail.element_handle()) > 0
    page.context.clear_cookies()

    # The buyer filters by colour: the family, with only the white variant, at the group's
    # price, and its thumbnail loads.
    sign_in(page, live_server, "shopper")
    page.goto(live_server.url + reverse("hub:shop_catalog", args=[org.pk]))
    page.locator("details.attribute-filters summary").click()
    page.get_by_label("Putih").check()
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(re.compile(r"attr="))
    families = page.locator("tbody.product-family")
    assert families.count() == 1
    rows = families.first.locator("tr")
    assert rows.count() == 2
    variant = rows.nth(1)
    assert "CAT-5L-PTH" in variant.inner_text()
    assert "180,000" in variant.locator(".price").inner_text()
    image = variant.locator("img.product-thumb")
    image.wait_for()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0",
                           arg=image.element_handle())
    assert "HAM-1" not in page.locator("#shop-table").inner_text()

    # On the product page the picker switches to the grey variant.
    rows.first.get_by_role("link", name="Cat tembok 5 L").click()
    page.wait_for_url(re.compile(rf"/products/{head.pk}/$"))
    page.goto(live_server.url + reverse("hub:shop_product", args=[org.pk, white.pk]))
    page.locator("#variant-picker").get_by_role("button", name="Abu").click()
    page.wait_for_url(re.compile(rf"/products/{grey.pk}/$"))
    assert "190,000" in page.locator("#variant-table").inner_text()
    assert csp_problems(console_messages) == []
