"""The pipeline board in a real browser: a seller drags a card to another column, moves
another with the keyboard (focus the card, Alt+→), and the deal's stage history shows both
moves with who made them."""

import re

import pytest
from django.urls import reverse

from jalin.crm import services as crm
from jalin.sales import leads
from jalin.sales import opportunities as opps
from jalin.sales.models import Opportunity, OpportunityStageChange, PipelineStage
from tests.browser.test_shell_browser import csp_problems, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_drag_and_keyboard_moves_show_in_history(page, live_server, org, owner,
                                                 console_messages):
    account = crm.account_create(organization=org, actor=owner, name="Toko Jaya")
    pipeline = leads.default_pipeline(org)
    stages = {s.name: s for s in PipelineStage.objects.filter(pipeline=pipeline)}
    dragged = opps.opportunity_create(organization=org, actor=owner, name="Semen 500 sak",
                                      account=account, close_date="2026-12-31",
                                      amount=15_000_000)
    keyed = opps.opportunity_create(organization=org, actor=owner, name="Besi beton",
                                    account=account, close_date="2026-12-31", amount=8_000_000)
    sign_in(page, live_server, "owner")
    page.goto(live_server.url + reverse("sales:board"))

    # Drag "Semen 500 sak" from Qualification to Proposal.
    card = page.locator(f"#card-{dragged.pk}")
    target = page.locator(f".board-column[data-stage='{stages['Proposal'].pk}'] .board-cards")
    card.drag_to(target)
    page.locator(f".board-column[data-stage='{stages['Proposal'].pk}'] #card-{dragged.pk}"
                 ).wait_for()
    proposal_count = (f".board-column[data-stage=\"{stages['Proposal'].pk}\"] "
                      "[data-count]")
    page.wait_for_function(
        f"() => document.querySelector('{proposal_count}').textContent.trim() === '1'")
    # htmx settles a swap 20 ms later and then focuses the moved card; wait for that, as a
    # person would, before putting the focus elsewhere.
    page.wait_for_function("() => !document.querySelector('.htmx-settling, .htmx-request')")
    assert Opportunity.objects.get(pk=dragged.pk).stage_id == stages["Proposal"].pk

    # Move "Besi beton" with the keyboard: focus the card, Alt+ArrowRight.
    keyed_card = page.locator(f"#card-{keyed.pk}")
    keyed_card.focus()
    keyed_card.press("Alt+ArrowRight")
    page.locator(f".board-column[data-stage='{stages['Needs analysis'].pk}'] "
                 f"#card-{keyed.pk}").wait_for()
    # Focus stays on the moved card, so a second press moves it on.
    page.wait_for_function(
        f"() => document.activeElement && document.activeElement.id === 'card-{keyed.pk}'")
    page.keyboard.press("Alt+ArrowRight")
    page.locator(f".board-column[data-stage='{stages['Proposal'].pk}'] "
                 f"#card-{keyed.pk}").wait_for()
    assert Opportunity.objects.get(pk=keyed.pk).stage_id == stages["Proposal"].pk

    # The history of each deal shows the moves and who made them.
    assert list(OpportunityStageChange.objects.filter(opportunity=dragged).order_by("id")
                .values_list("to_stage__name", "changed_by__username")) == [
        ("Qualification", "owner"), ("Proposal", "owner")]
    page.goto(live_server.url + reverse("sales:opportunity_detail", args=[keyed.pk]))
    rows = page.locator("#stage-history .history-row")
    assert rows.count() == 3
    assert re.search(r"Needs analysis.*owner", rows.nth(1).inner_text(), re.S)
    assert re.search(r"Proposal.*owner", rows.nth(2).inner_text(), re.S)
    page.goto(live_server.url + reverse("sales:opportunity_detail", args=[dragged.pk]))
    assert "Proposal" in page.locator("#stage-history").inner_text()
    assert not csp_problems(console_messages), console_messages
