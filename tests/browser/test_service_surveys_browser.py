"""Satisfaction survey in a real browser: a resolved case e-mails its requester a CSAT link;
the buyer answers it with a low score and a comment (a double click records one answer); the
follow-up case appears in the supplier's desk, and the dashboard counts the answer."""

import re

import pytest
from django.urls import reverse

from jalin.core.events import events_process
from jalin.service import cases
from jalin.service.models import Case, SurveyResponse
from tests.browser.test_hub_orders_browser import new_page
from tests.browser.test_shell_browser import csp_problems, sign_in
from tests.survey_world import build_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_buyer_answers_low_score_and_the_desk_gets_a_follow_up(browser, page, live_server, org,
                                                               owner, console_messages,
                                                               mailoutbox, settings):
    settings.TASKS = {"default": {
        "BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    settings.JALIN_SITE_URL = live_server.url
    world = build_world(org, owner)
    case = cases.case_open(organization=org, subject="Tap still leaking", kind="complaint",
                           channel="portal", account=world.account, contact=world.contact,
                           requester=world.buyer_user, actor=world.buyer_user)
    cases.case_set_status(case=case, status="resolved", actor=world.agent)
    events_process()
    [mail] = mailoutbox
    link = re.search(r"https?://\S+/service/s/\S+/", mail.body).group(0)
    assert link.startswith(live_server.url)

    # The buyer sees the survey waiting in the portal and answers it from the e-mail link.
    sign_in(page, live_server, "lina-survey")
    page.goto(live_server.url + reverse("service:survey_portal_list"))
    assert page.locator("#portal-open-surveys li").count() == 1
    page.goto(link)
    assert page.locator("#survey-answer input[type=radio]:checked").count() == 0
    page.get_by_label("2", exact=True).check()
    page.get_by_label("Comment (optional)").fill("The plumber came twice and it still drips")
    page.get_by_role("button", name="Send answer").dblclick()
    page.locator("#survey-thanks, #survey-answered").first.wait_for()
    answer = SurveyResponse.objects.get()
    assert answer.score == 2 and answer.answered_by == world.buyer_user
    follow_up = answer.follow_up_case
    assert follow_up.follow_up_of == case and follow_up.channel == "survey"

    # The supplier's desk shows the follow-up case; the dashboard counts the answer.
    desk = new_page(browser, console_messages)
    sign_in(desk, live_server, "owner")
    desk.goto(live_server.url + reverse("service:cases"))
    desk.get_by_role("link", name=f"#{follow_up.number}").click()
    desk.wait_for_url(re.compile(rf"/service/cases/{follow_up.pk}/$"))
    assert "still drips" in desk.content()
    desk.goto(live_server.url + reverse("service:survey_detail", args=[world.survey.pk]))
    assert desk.locator("#total-csat").inner_text().strip() == "0.00 %"
    desk.locator("#total-answers").click()
    desk.wait_for_url(re.compile(r"/service/surveys/answers/\?"))
    assert desk.locator("#answers-table .answer-score").all_inner_texts() == ["2"]
    assert Case.objects.filter(follow_up_of=case).count() == 1
    assert csp_problems(console_messages) == []
