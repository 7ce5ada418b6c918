"""Promotions and segments in a real browser: the promotion analysis with its chart drawn
(Chart.js under the CSP) and the uplift verdict; a segment built in the rules editor, its
preview count through htmx, saved and refreshed with its member; the promotion then targets
it."""

import pytest
from django.urls import reverse

from jalin.crm.models import Account, Contact
from tests.browser.test_shell_browser import csp_problems, sign_in
from tests.promos_world import build

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_promotion_analysis_and_a_segment_targeting_it(page, live_server, org, owner,
                                                       console_messages):
    world = build(org, owner)
    account = Account.objects.create(organization=org, name="Retail A", industry="Retail",
                                     hub_organization=world.buyers["a"])
    Contact.objects.create(organization=org, last_name="Susanto", account=account,
                           email="susanto@retail-a.test")

    sign_in(page, live_server, "owner")
    page.goto(live_server.url + reverse("sales:promotions"))
    page.get_by_role("link", name="Drill days").click()
    page.locator("canvas[data-chart='promotion-chart'][data-chart-ready='1']").wait_for()
    assert "80.0%" in page.locator("#promotion-verdict").inner_text()
    assert "360" in page.locator("#figures-period").inner_text()

    page.goto(live_server.url + reverse("sales:segment_new"))
    form = page.locator("#segment-form")
    form.locator("input[name=name]").fill("Retail shops")
    form.locator("select[name=field_0]").select_option("account.industry")
    form.locator("select[name=op_0]").select_option("equals")
    form.locator("input[name=value_0]").fill("retail")
    page.get_by_role("button", name="Count matching contacts").click()
    page.locator("#segment-preview", has_text="1 contact matches now.").wait_for()
    page.get_by_role("button", name="Save and refresh").click()
    page.locator("#segment-members", has_text="Susanto").wait_for()

    page.goto(live_server.url + reverse("sales:promotion_detail", args=[world.promotion.pk]))
    target = page.locator("#promotion-target-form")
    target.locator("select[name=segment]").select_option(label="Retail shops")
    target.get_by_role("button", name="Save").click()
    page.locator("#promotion-segment", has_text="Retail shops").wait_for()
    assert not csp_problems(console_messages), console_messages
