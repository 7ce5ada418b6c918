"""Service reviews and BRM metrics in a real browser: staff schedule a review, hold it with
minutes (the report freezes), the buyer reads it in the portal; the metrics page draws its
charts under the CSP and switches to a quarter."""

import re

import pytest
from django.urls import reverse

from jalin.brm.models import CustomerProfile, ReviewStatus, ServiceReview
from jalin.crm.models import Account
from jalin.tenancy.models import Membership
from jalin.tenancy.roles import Role
from tests.browser.test_hub_orders_browser import new_page
from tests.browser.test_shell_browser import csp_problems, sign_in
from tests.conftest import make_org, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_schedule_hold_and_read_in_the_portal(browser, page, live_server, org, owner,
                                              console_messages):
    buyer = make_org("toko-review", is_supplier=False, is_buyer=True)
    Membership.objects.create(user=make_user("lina-review"), organization=buyer,
                              role=Role.BUYER)
    account = Account.objects.create(organization=org, name="Toko Review",
                                     hub_organization=buyer)
    CustomerProfile.objects.create(organization=org, account=account, review_every_days=30)

    sign_in(page, live_server, "owner")
    page.goto(live_server.url + reverse("brm:review_create"))
    page.locator("#review-form select[name=account]").select_option(label="Toko Review")
    page.get_by_label("Date of the review").fill("2026-12-15")
    page.get_by_role("button", name="Schedule").click()
    page.wait_for_url(re.compile(r"/brm/reviews/\d+/$"))
    assert page.locator("#review-status").get_attribute("data-status") == "scheduled"
    page.get_by_label("Minutes and actions").fill("Agreed: weekly delivery report.")
    page.get_by_role("button", name="Hold and freeze the report").click()
    page.locator("#review-status[data-status=held]").wait_for()
    assert page.locator("#report-frozen").is_visible()
    review = ServiceReview.objects.get()
    assert review.status == ReviewStatus.HELD and review.report["account"]["name"] == \
        "Toko Review"
    assert CustomerProfile.objects.get().next_review_on.isoformat() == "2027-01-14"

    portal = new_page(browser, console_messages)
    sign_in(portal, live_server, "lina-review")
    portal.goto(live_server.url + reverse("service:home"))
    portal.locator('a[href="/brm/portal/reviews/"]').first.click()
    portal.locator("#portal-reviews tbody a").first.click()
    portal.wait_for_url(re.compile(r"/brm/portal/reviews/\d+/$"))
    assert "weekly delivery report" in portal.locator("#review-minutes").inner_text()
    assert portal.locator("#hold-form").count() == 0

    page.goto(live_server.url + reverse("brm:metrics"))
    page.locator("canvas[data-chart=brm-quality-chart]").wait_for()
    page.locator("#metrics-filters select[name=period]").select_option("quarter")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(re.compile(r"period=quarter"))
    assert page.locator("#metric-customers td.number").inner_text().strip() == "1"
    assert csp_problems(console_messages) == []
