"""Two colleagues in a real browser: one posts on an account's thread, @mentions the other by
picking them from the suggestions with the keyboard and posts with Ctrl+Enter (htmx, no page
load); the colleague signs in, sees the notification and follows it to the post."""

import re

import pytest
from django.urls import reverse

from jalin.core.models import Notification
from jalin.crm import services as crm_services
from jalin.crm.models import Comment
from tests.browser.test_shell_browser import csp_problems, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_post_with_a_mention_and_the_colleague_is_notified(browser, page, live_server, org,
                                                           owner, member, console_messages):
    account = crm_services.account_create(organization=org, actor=owner, name="PT Maju Jaya")
    sign_in(page, live_server, "owner")
    page.goto(live_server.url + reverse("crm:account_detail", args=[account.pk]))
    panel = page.locator("#threads-panel")
    assert "Internal — never shown to the customer" in panel.inner_text()
    box = panel.get_by_label("New post")
    box.click()
    # "@" alone offers every active colleague; arrows move, Escape closes.
    box.press_sequentially("@")
    options = panel.locator(".mention-suggestions [role=option]")
    options.nth(1).wait_for()
    assert options.count() == 2
    assert options.nth(0).get_attribute("aria-selected") == "true"
    box.press("ArrowDown")
    assert options.nth(1).get_attribute("aria-selected") == "true"
    box.press("ArrowUp")
    assert options.nth(0).get_attribute("aria-selected") == "true"
    box.press("Escape")
    assert panel.locator(".mention-suggestions").is_hidden()
    box.fill("")
    box.press_sequentially("Please call them back @")
    options.nth(1).wait_for()  # offered again after the list was closed
    box.press_sequentially("mem")
    option = panel.locator(".mention-suggestions [role=option]", has_text="@member")
    options.filter(has_text="@owner").wait_for(state="detached")
    assert option.get_attribute("aria-selected") == "true"
    # Only names starting with "mem" are offered.
    assert panel.locator(".mention-suggestions [role=option]").count() == 1
    box.press("Enter")  # picks the highlighted colleague
    assert box.input_value() == "Please call them back @member "
    assert panel.locator(".mention-suggestions").is_hidden()
    box.press_sequentially("today.")
    url_before = page.url
    box.press("Control+Enter")
    post = page.locator("#threads-panel .thread-post").first
    post.locator(".thread-body").get_by_text("today.").wait_for()
    assert page.url == url_before  # swapped in place by htmx
    assert post.locator(".mention").inner_text() == "@member"
    comment = Comment.objects.get()
    assert comment.body == "Please call them back @member today."
    assert list(comment.mentions.values_list("username", flat=True)) == ["member"]
    assert csp_problems(console_messages) == []

    # The colleague, in a fresh browser session, sees the bell and the notification.
    notification = Notification.objects.get(user=member, kind="mention")
    assert notification.url.endswith(f"#comment-{comment.pk}")
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    colleague = context.new_page()
    try:
        colleague.set_default_timeout(10_000)
        sign_in(colleague, live_server, "member")
        assert colleague.locator("#nav-bell .nav-bell-count").inner_text() == "1"
        colleague.locator("#nav-bell").click()
        colleague.wait_for_url(re.compile(r"/notifications/$"))
        link = colleague.get_by_role("link", name=re.compile("owner mentioned you"))
        link.click()
        colleague.wait_for_url(re.compile(rf"/crm/accounts/{account.pk}/#comment-{comment.pk}$"))
        assert "today." in colleague.locator(f"#comment-{comment.pk}").inner_text()
    finally:
        context.close()
