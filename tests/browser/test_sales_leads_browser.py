"""Leads in a real browser: a visitor fills the public web form, the lead appears in the
list with its score, and staff convert it and land on the new opportunity's account."""

import re

import pytest
from django.urls import reverse

from jalin.sales import leads, webforms
from jalin.sales.models import Lead
from tests.browser.test_hub_orders_browser import new_page
from tests.browser.test_shell_browser import csp_problems, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_web_form_to_converted_lead(browser, page, live_server, org, owner, console_messages,
                                    monkeypatch):
    monkeypatch.setattr(webforms, "MIN_FILL_SECONDS", 0)  # no real waiting in tests
    leads.scoring_rule_save(organization=org, actor=owner, label="Company email",
                            field="email", operator="not_free_email_domain", points=10)
    form = webforms.webform_save(organization=org, actor=owner, name="Contact us",
                                 fields=["first_name", "last_name", "company", "email"],
                                 thank_you="Terima kasih, kami segera menghubungi Anda.")

    # A visitor fills the form.
    page.goto(live_server.url + reverse("sales:web_form_public", args=[form.key])
              + "?utm_source=expo")
    page.locator("#lead-web-form input[name=first_name]").fill("Dewi")
    page.locator("#lead-web-form input[name=last_name]").fill("Lestari")
    page.locator("#lead-web-form input[name=company]").fill("CV Sinar Terang")
    page.locator("#lead-web-form input[name=email]").fill("dewi@sinarterang.co.id")
    page.locator("#lead-web-form button[type=submit]").click()
    page.locator("#thank-you").wait_for()
    lead = Lead.objects.get()
    assert (lead.source, lead.score, lead.utm) == ("web_form", 10, {"utm_source": "expo"})

    # Staff find it in the list with its score and convert it.
    staff = new_page(browser, console_messages)
    sign_in(staff, live_server, "owner")
    staff.goto(live_server.url + reverse("sales:leads"))
    row = staff.locator(f"#leads-table tr[data-lead='{lead.pk}']")
    assert row.locator(".lead-score").inner_text().strip() == "10"
    row.get_by_role("link", name="Dewi Lestari").click()
    staff.wait_for_url(re.compile(r"/sales/leads/\d+/$"))
    assert "Company email" in staff.locator("#score-explanation").inner_text()
    staff.locator("#convert-form input[name=amount]").fill("1500000")
    staff.locator("#convert-button").click()
    staff.wait_for_url(re.compile(r"/(sales/opportunities|crm/accounts)/\d+/$"))
    lead.refresh_from_db()
    assert lead.status == "converted" and lead.converted_opportunity.amount == 1500000
    assert "CV Sinar Terang" in staff.content()
    assert not csp_problems(console_messages), console_messages
