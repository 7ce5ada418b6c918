"""Opportunity services: create with defaults and validation, update with optimistic
concurrency, moves with stage history and board ranks, won/lost with reasons, reopen, lines
that make up the amount, pipeline settings, stale-deal alerts, lead conversion, timeline."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from jalin.core.events import events_process
from jalin.core.housekeeping import registered_housekeeping
from jalin.core.models import Event, Notification
from jalin.crm import services as crm
from jalin.crm.models import TimelineEntry
from jalin.hub.testing import link_buyer, make_price_list, make_product, set_price
from jalin.sales import leads
from jalin.sales import opportunities as opps
from jalin.sales.models import (
    CloseReason,
    Competitor,
    Opportunity,
    OpportunityStageChange,
    PipelineStage,
)
from jalin.tenancy.models import Membership, Role
from jalin.tenancy.services import StaleVersion
from tests.conftest import make_user

CLOSE = datetime.date(2026, 12, 31)


@pytest.fixture
def account(org, owner):
    return crm.account_create(organization=org, actor=owner, name="Toko Bangunan Jaya")


@pytest.fixture
def pipeline(org):
    return leads.default_pipeline(org)


def stage(pipeline, name):
    return PipelineStage.objects.get(pipeline=pipeline, name=name)


def new(org, actor, account, name="Semen 500 sak", **extra):
    return opps.opportunity_create(organization=org, actor=actor, name=name, account=account,
                                   close_date=CLOSE, **extra)


def test_create_defaults_history_and_event(org, owner, account, pipeline):
    opportunity = new(org, owner, account, amount="15000000")
    assert opportunity.pipeline_id == pipeline.pk
    assert opportunity.stage.name == "Qualification"
    assert opportunity.owner_id == owner.pk and opportunity.currency == "IDR"
    assert opportunity.amount == Decimal("15000000.00")
    assert opportunity.forecast_category == "pipeline"
    assert opportunity.effective_probability == 10
    history = list(OpportunityStageChange.objects.filter(opportunity=opportunity))
    assert [(h.from_stage_id, h.to_stage_id, h.changed_by_id) for h in history] == [
        (None, opportunity.stage_id, owner.pk)]
    event = Event.objects.get(type="sales.opportunity.created")
    assert event.payload["account_id"] == account.pk and event.payload["title"] == "Semen 500 sak"
    # A second card goes below the first
    second = new(org, owner, account, name="Besi beton")
    assert second.board_rank > opportunity.board_rank


def test_create_validates_before_writing(org, owner, account, other_org, outsider, pipeline):
    foreign_account = crm.account_create(organization=other_org, actor=outsider, name="Theirs")
    foreign_pipeline = leads.default_pipeline(other_org)
    won = stage(pipeline, "Won")
    cases = [
        ({"name": " "}, ValidationError),
        ({"account": foreign_account}, leads.SalesError),
        ({"account": None}, ValidationError),
        ({"close_date": "31/12/2026"}, ValidationError),
        ({"close_date": None}, ValidationError),
        ({"amount": "-5"}, ValidationError),
        ({"amount": "lots"}, ValidationError),
        ({"amount": "NaN"}, ValidationError),
        ({"currency": "RUPIAH"}, ValidationError),
        ({"pipeline": foreign_pipeline}, leads.SalesError),
        ({"stage": stage(foreign_pipeline, "Proposal")}, leads.SalesError),
        ({"stage": won}, ValidationError),
        ({"owner": outsider}, leads.SalesError),
        ({"probability": 101}, ValidationError),
        ({"forecast_category": "closed"}, ValidationError),
        ({"lines": [{"description": "x", "quantity": 0, "unit_price": 1}]}, ValidationError),
        ({"lines": [{"description": "x", "quantity": 1, "unit_price": 1, "color": 2}]},
         leads.SalesError),
    ]
    for changes, error in cases:
        arguments = {"name": "Deal", "account": account, "close_date": CLOSE, **changes}
        with pytest.raises(error):
            opps.opportunity_create(organization=org, actor=owner, **arguments)
    assert Opportunity.objects.filter(organization=org).count() == 0
    assert not Event.objects.filter(type="sales.opportunity.created").exists()


def test_lines_make_the_amount(org, owner, account, pipeline):
    product = make_product(org, owner, "SMN-50", "Semen 50 kg")
    opportunity = new(org, owner, account, lines=[
        {"product": product.pk, "quantity": 100, "unit_price": "65000"},
        {"description": "Ongkos kirim", "quantity": 1, "unit_price": "250000",
         "discount_percent": "10"}])
    assert opportunity.amount == Decimal("6725000.00")
    first, second = opportunity.lines.all()
    assert first.description == "Semen 50 kg" and second.amount == Decimal("225000.00")
    line = opps.opportunity_line_add(opportunity=opportunity, actor=owner,
                                     version=opportunity.version, description="Pasir",
                                     quantity=2, unit_price="1000000")
    opportunity.refresh_from_db()
    assert opportunity.amount == Decimal("8725000.00") and line.position == 3
    opps.opportunity_line_update(line=line, actor=owner, version=opportunity.version,
                                 quantity=3)
    opportunity.refresh_from_db()
    assert opportunity.amount == Decimal("9725000.00")
    with pytest.raises(StaleVersion):
        opps.opportunity_line_remove(line=line, actor=owner, version=1)
    opps.opportunity_line_remove(line=line, actor=owner, version=opportunity.version)
    opportunity.refresh_from_db()
    assert opportunity.amount == Decimal("6725000.00")
    # With lines the amount cannot be typed over
    with pytest.raises(ValidationError) as error:
        opps.opportunity_update(opportunity=opportunity, actor=owner,
                                version=opportunity.version, amount="1")
    assert "amount" in error.value.message_dict
    other = make_product(make_org_with_product(), owner, "X-1")
    with pytest.raises(leads.SalesError):
        opps.opportunity_line_add(opportunity=opportunity, actor=owner, product=other.pk,
                                  quantity=1, unit_price=1)


def make_org_with_product():
    from tests.conftest import make_org

    return make_org("another-supplier")


def test_update_changes_fields_and_refuses_stale_versions(org, owner, member, account,
                                                          pipeline):
    opportunity = new(org, owner, account, amount=1000)
    rival = opps.competitor_save(organization=org, actor=owner, name="PT Saingan")
    updated = opps.opportunity_update(
        opportunity=opportunity, actor=owner, version=opportunity.version, amount="2500",
        owner=member.pk, next_step="Kirim penawaran", next_step_on="2026-12-01",
        probability=40, forecast_category="commit", competitors=[rival.pk])
    assert (updated.amount, updated.owner_id, updated.probability, updated.version) == (
        Decimal("2500.00"), member.pk, 40, 2)
    assert updated.effective_probability == 40 and list(updated.competitors.all()) == [rival]
    event = Event.objects.filter(type="sales.opportunity.updated").latest("id")
    assert set(event.payload["changed"]) >= {"amount", "owner_id", "competitors"}
    with pytest.raises(StaleVersion):
        opps.opportunity_update(opportunity=opportunity, actor=owner, version=1, name="Other")
    with pytest.raises(leads.SalesError):
        opps.opportunity_update(opportunity=opportunity, actor=owner, version=2,
                                stage=stage(pipeline, "Proposal"))
    # Nothing changed: no version bump, no event
    count = Event.objects.count()
    same = opps.opportunity_update(opportunity=opportunity, actor=owner, version=2,
                                   amount="2500")
    assert same.version == 2 and Event.objects.count() == count


def test_move_records_history_and_ranks_between_neighbours(org, owner, member, account,
                                                           pipeline):
    a, b, c = (new(org, owner, account, name=name) for name in "ABC")
    proposal = stage(pipeline, "Proposal")
    # Move b and c into Proposal: c first, then b on top of it, then a between them
    earlier = timezone.now() - datetime.timedelta(hours=5)
    Opportunity.objects.filter(pk=b.pk).update(stage_entered_at=earlier)
    opps.opportunity_move(opportunity=c, actor=owner, stage=proposal, version=c.version)
    moved_b = opps.opportunity_move(opportunity=b, actor=member, stage=proposal, before=c.pk)
    moved_a = opps.opportunity_move(opportunity=a, actor=owner, stage=proposal.pk,
                                    after=b.pk, before=c.pk)
    column = list(Opportunity.objects.filter(stage=proposal).order_by("board_rank")
                  .values_list("name", flat=True))
    assert column == ["B", "A", "C"]
    assert moved_b.forecast_category == "best_case" and moved_b.effective_probability == 50
    change = OpportunityStageChange.objects.filter(opportunity=b).latest("id")
    assert change.changed_by_id == member.pk and change.from_stage.name == "Qualification"
    assert 5 * 3600 - 5 <= change.seconds_in_previous <= 5 * 3600 + 60
    event = Event.objects.filter(type="sales.opportunity.moved", aggregate_id=str(b.pk)).get()
    assert event.payload["from_stage"] == "Qualification" and event.payload["stage"] == "Proposal"
    # Reorder within the column: no history row, rank only
    history = OpportunityStageChange.objects.count()
    reordered = opps.opportunity_move(opportunity=moved_a, actor=owner, stage=proposal,
                                      after=c.pk, version=moved_a.version)
    assert OpportunityStageChange.objects.count() == history
    assert reordered.version == moved_a.version + 1
    assert list(Opportunity.objects.filter(stage=proposal).order_by("board_rank")
                .values_list("name", flat=True)) == ["B", "C", "A"]
    # Refusals
    with pytest.raises(StaleVersion):
        opps.opportunity_move(opportunity=a, actor=owner, stage=proposal, version=1)
    with pytest.raises(leads.SalesError) as error:
        opps.opportunity_move(opportunity=a, actor=owner, stage=stage(pipeline, "Won"))
    assert error.value.code == "use_close"
    with pytest.raises(ValidationError):  # neighbour not in the target column
        opps.opportunity_move(opportunity=a, actor=owner, stage=stage(pipeline, "Negotiation"),
                              after=b.pk)


def test_many_drops_between_the_same_cards_renumber_the_column(org, owner, account, pipeline):
    a, b = new(org, owner, account, name="A"), new(org, owner, account, name="B")
    cards = [new(org, owner, account, name=f"x{i}") for i in range(3)]
    for _round in range(30):
        for card in cards:
            opps.opportunity_move(opportunity=card, actor=owner, stage=a.stage_id, after=a.pk,
                                  before=b.pk)
            b = Opportunity.objects.get(pk=card.pk)
    names = list(Opportunity.objects.filter(stage=a.stage).order_by("board_rank", "id")
                 .values_list("name", flat=True))
    assert names[0] == "A" and len(set(Opportunity.objects.filter(stage=a.stage)
                                       .values_list("board_rank", flat=True))) == 5


def test_close_won_lost_and_reopen(org, owner, account, pipeline):
    opportunity = new(org, owner, account, amount=1000)
    opportunity = opps.opportunity_move(opportunity=opportunity, actor=owner,
                                        stage=stage(pipeline, "Negotiation"))
    price = CloseReason.objects.get(organization=org, kind="lost", name="Price too high")
    rival = opps.competitor_save(organization=org, actor=owner, name="PT Saingan")
    with pytest.raises(ValidationError) as error:  # lost needs a reason from the list
        opps.opportunity_close(opportunity=opportunity, actor=owner, won=False)
    assert "reason_id" in error.value.message_dict
    won_reason = CloseReason.objects.get(organization=org, kind="won", name="Price")
    with pytest.raises(leads.SalesError):  # a won reason does not explain a loss
        opps.opportunity_close(opportunity=opportunity, actor=owner, won=False,
                               reason=won_reason)
    lost = opps.opportunity_close(opportunity=opportunity, actor=owner, won=False,
                                  reason=price, note="Too expensive", lost_to=rival,
                                  version=opportunity.version)
    assert (lost.status, lost.stage.name, lost.forecast_category) == ("lost", "Lost", "omitted")
    assert lost.close_reason == price and lost.lost_to == rival and lost.closed_at
    event = Event.objects.get(type="sales.opportunity.lost")
    assert event.payload["reason"] == "Price too high" and event.payload["lost_to"] == "PT Saingan"
    with pytest.raises(leads.SalesError):
        opps.opportunity_close(opportunity=lost, actor=owner, won=True)
    with pytest.raises(leads.SalesError):
        opps.opportunity_move(opportunity=lost, actor=owner, stage=stage(pipeline, "Proposal"))
    reopened = opps.opportunity_reopen(opportunity=lost, actor=owner, version=lost.version)
    assert (reopened.status, reopened.stage.name) == ("open", "Negotiation")
    assert reopened.close_reason is None and reopened.closed_at is None
    assert reopened.forecast_category == "commit"
    with pytest.raises(leads.SalesError):
        opps.opportunity_reopen(opportunity=reopened, actor=owner)
    won = opps.opportunity_close(opportunity=reopened, actor=owner, won=True)
    assert (won.status, won.stage.name, won.forecast_category) == ("won", "Won", "closed")
    stages = list(OpportunityStageChange.objects.filter(opportunity=opportunity)
                  .order_by("id").values_list("to_stage__name", flat=True))
    assert stages == ["Qualification", "Negotiation", "Lost", "Negotiation", "Won"]


def test_lost_without_configured_reasons_needs_a_note(org, owner, account, pipeline):
    CloseReason.objects.filter(organization=org).delete()
    opportunity = new(org, owner, account)
    with pytest.raises(ValidationError) as error:
        opps.opportunity_close(opportunity=opportunity, actor=owner, won=False)
    assert "note" in error.value.message_dict
    lost = opps.opportunity_close(opportunity=opportunity, actor=owner, won=False,
                                  note="Customer closed the shop")
    assert lost.status == "lost" and lost.close_note == "Customer closed the shop"


def test_pipeline_without_won_stage_cannot_win(org, owner, account):
    pipeline = opps.pipeline_save(organization=org, actor=owner, name="Projects")
    assert pipeline.is_default  # the first pipeline of the organization
    opps.stage_delete(stage=stage(pipeline, "Won"), actor=owner)
    opportunity = new(org, owner, account, pipeline=pipeline)
    with pytest.raises(leads.SalesError) as error:
        opps.opportunity_close(opportunity=opportunity, actor=owner, won=True)
    assert error.value.code == "no_stage"


@pytest.fixture
def hub_order(org, owner, other_org):
    from jalin.hub import orders, stock

    product = make_product(org, owner, "SMN-50", "Semen 50 kg")
    warehouse = stock.warehouse_create(supplier=org, actor=owner, code="jkt", name="Jakarta")
    stock.stock_adjust(warehouse=warehouse, product=product, delta=100, reason="count",
                       actor=owner)
    price_list = make_price_list(org, owner)
    set_price(price_list, product, "65000", owner)
    relationship = link_buyer(org, other_org, owner, price_list=price_list)
    return orders.order_place(relationship=relationship, actor=owner,
                              lines=[(product.pk, 10)], entered_by_supplier=True)


def test_won_with_hub_order_is_idempotent(org, owner, account, pipeline, hub_order):
    opportunity = new(org, owner, account)
    won = opps.opportunity_close(opportunity=opportunity, actor=None, won=True,
                                 hub_order=hub_order)
    assert won.hub_order_id == hub_order.pk and won.status == "won"
    version = won.version
    again = opps.opportunity_close(opportunity=won, actor=None, won=True, hub_order=hub_order)
    assert again.version == version
    assert Event.objects.filter(type="sales.opportunity.won").count() == 1
    # A lost deal the customer ordered after all becomes won
    other = new(org, owner, account, name="Second")
    opps.opportunity_close(opportunity=other, actor=owner, won=False,
                           reason=CloseReason.objects.filter(kind="lost").first())
    won_after_all = opps.opportunity_close(opportunity=other, actor=None, won=True,
                                           hub_order=hub_order)
    assert won_after_all.status == "won"


def test_pipeline_settings(org, owner, account, pipeline):
    second = opps.pipeline_save(organization=org, actor=owner, name="Projects",
                                stale_after_days=14, is_default=True)
    pipeline.refresh_from_db()
    assert second.is_default and not pipeline.is_default
    assert [s.name for s in opps.pipeline_stages(second)][:2] == ["Qualification",
                                                                  "Needs analysis"]
    with pytest.raises(ValidationError):
        opps.pipeline_save(organization=org, actor=owner, name="Projects")
    with pytest.raises(ValidationError):
        opps.pipeline_save(organization=org, actor=owner, name="X", stale_after_days=0)
    site_visit = opps.stage_save(pipeline=second, actor=owner, name="Site visit",
                                 probability=30, forecast_category="pipeline")
    assert site_visit.position == 7
    with pytest.raises(ValidationError):
        opps.stage_save(pipeline=second, actor=owner, name="Bad", probability=150)
    with pytest.raises(ValidationError):
        opps.stage_save(pipeline=second, actor=owner, name="Bad", probability=10, kind="won",
                        forecast_category="commit")
    stages = opps.pipeline_stages(second)
    order = [site_visit.pk] + [s.pk for s in stages if s.pk != site_visit.pk]
    assert opps.stages_reorder(pipeline=second, actor=owner, stage_ids=order)[0] == site_visit
    with pytest.raises(ValidationError):
        opps.stages_reorder(pipeline=second, actor=owner, stage_ids=order[1:])
    # A stage deals have been in cannot be deleted; an unused one can
    opportunity = new(org, owner, account, pipeline=second)
    with pytest.raises(leads.SalesError):
        opps.stage_delete(stage=opportunity.stage, actor=owner)
    opps.stage_delete(stage=stage(second, "Needs analysis"), actor=owner)
    with pytest.raises(leads.SalesError):  # default pipeline
        opps.pipeline_archive(pipeline=second, actor=owner)
    opps.pipeline_save(organization=org, actor=owner, pipeline=pipeline, name="Sales",
                       is_default=True)
    second.refresh_from_db()
    with pytest.raises(leads.SalesError) as error:  # still has open deals
        opps.pipeline_archive(pipeline=second, actor=owner)
    assert error.value.code == "in_use"
    reason = opps.close_reason_save(organization=org, actor=owner, kind="lost",
                                    name="Lost the tender")
    with pytest.raises(ValidationError):
        opps.close_reason_save(organization=org, actor=owner, kind="lost",
                               name="Lost the tender")
    opps.close_reason_save(organization=org, actor=owner, reason=reason, kind="lost",
                           name="Lost the tender", is_active=False)
    assert not opps.close_reasons(org, "lost").filter(pk=reason.pk).exists()
    rival = opps.competitor_save(organization=org, actor=owner, name="PT Saingan")
    with pytest.raises(ValidationError):
        opps.competitor_save(organization=org, actor=owner, name="PT Saingan")
    opps.competitor_delete(competitor=rival, actor=owner)
    assert not Competitor.objects.filter(organization=org).exists()


def test_stale_alert_once_per_spell(org, owner, member, account, pipeline):
    assert "sales.opportunities_alert_stale" in registered_housekeeping()
    fresh = new(org, owner, account, name="Fresh")
    stale = new(org, member, account, name="Sleeping", owner=member)
    long_ago = timezone.now() - datetime.timedelta(days=pipeline.stale_after_days + 2)
    Opportunity.objects.filter(pk=stale.pk).update(stage_entered_at=long_ago,
                                                   updated_at=long_ago)
    assert opps.opportunities_alert_stale() == 1
    assert opps.opportunities_alert_stale() == 0  # once per spell
    notification = Notification.objects.get(user=member, kind="sales.stale")
    assert "Sleeping" in notification.title
    assert not Notification.objects.filter(user=owner, kind="sales.stale").exists()
    assert Event.objects.filter(type="sales.opportunity.stale",
                                aggregate_id=str(stale.pk)).exists()
    assert fresh.pk not in set(opps.stale_queryset(org).values_list("pk", flat=True))
    # A move ends the spell; going quiet again starts a new one
    stale.refresh_from_db()
    moved = opps.opportunity_move(opportunity=stale, actor=member,
                                  stage=stage(pipeline, "Proposal"))
    assert moved.stale_alerted_at is None
    later = timezone.now() + datetime.timedelta(days=pipeline.stale_after_days + 2)
    assert opps.opportunities_alert_stale(now=later) == 2
    assert Notification.objects.filter(user=member, kind="sales.stale").count() == 2


def test_lead_conversion_opens_the_deal_through_the_service(org, owner):
    lead = leads.lead_create(organization=org, actor=owner, first_name="Ani", last_name="W",
                             email="ani@majubangun.co.id", company="PT Maju Bangun")
    converted = leads.lead_convert(lead=lead, actor=owner, amount=5_000_000)
    opportunity = converted.converted_opportunity
    assert opportunity.amount == Decimal("5000000.00") and opportunity.lead_id == lead.pk
    assert OpportunityStageChange.objects.filter(opportunity=opportunity).count() == 1
    event = Event.objects.get(type="sales.opportunity.created")
    assert event.payload["lead_id"] == lead.pk
    assert CloseReason.objects.filter(organization=org, kind="lost").count() == 5


def test_opportunity_events_reach_the_account_timeline(org, owner, account, pipeline):
    opportunity = new(org, owner, account, amount=1000)
    opportunity = opps.opportunity_move(opportunity=opportunity, actor=owner,
                                        stage=stage(pipeline, "Proposal"))
    opps.opportunity_close(opportunity=opportunity, actor=owner, won=True)
    events_process(batch_size=1000)
    entries = list(TimelineEntry.objects.filter(account=account).order_by("id")
                   .values_list("event_type", flat=True))
    assert [e for e in entries if e.startswith("sales.")] == [
        "sales.opportunity.created", "sales.opportunity.moved", "sales.opportunity.won"]
    from jalin.crm.timeline.render import sentence

    moved = TimelineEntry.objects.get(account=account, event_type="sales.opportunity.moved")
    assert sentence(moved) == "Opportunity Semen 500 sak moved to Proposal"
    won = TimelineEntry.objects.get(account=account, event_type="sales.opportunity.won")
    assert sentence(won) == "Opportunity Semen 500 sak won (IDR 1000.00)"


def test_owner_must_be_member(org, owner, account, pipeline):
    stranger = make_user("stranger")
    with pytest.raises(leads.SalesError):
        new(org, owner, account, owner=stranger)
    inactive = make_user("left")
    Membership.objects.create(user=inactive, organization=org, role=Role.SALES,
                              is_active=False)
    with pytest.raises(leads.SalesError):
        new(org, owner, account, owner=inactive.pk)


def test_generator_loads_a_funnel_reproducibly(org, owner, member, account, pipeline):
    from io import StringIO

    from django.core.management import call_command

    from jalin.sales.generate import generate_opportunities

    written = generate_opportunities(organization=org, count=300, closed=20, seed=7,
                                     batch=100, out=StringIO())
    assert written == 320
    open_deals = Opportunity.objects.filter(organization=org, status="open")
    assert open_deals.count() == 300
    by_stage = {name: open_deals.filter(stage__name=name).count()
                for name in ("Qualification", "Negotiation")}
    assert by_stage["Qualification"] > by_stage["Negotiation"]  # a funnel
    assert OpportunityStageChange.objects.filter(opportunity__organization=org).count() == 320
    assert set(open_deals.values_list("owner_id", flat=True)) == {owner.pk, member.pk}
    # Ranks within a column are distinct (the board order is total)
    column = open_deals.filter(stage__name="Qualification")
    assert column.values("board_rank").distinct().count() == column.count()
    out = StringIO()
    call_command("sales_generate", org=org.slug, opportunities=5, stdout=out)
    assert Opportunity.objects.filter(organization=org).count() == 325
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("sales_generate", org="nope", opportunities=5, stdout=out)


def test_demo_pipeline_seed_is_idempotent(org, owner, member, account):
    from jalin.sales.demo_pipeline import DEALS, seed_pipeline

    users = {"budi": owner, "sari": member}
    assert seed_pipeline(supplier=org, users=users) == len(DEALS)
    assert seed_pipeline(supplier=org, users=users) == 0
    deals = Opportunity.objects.filter(organization=org)
    assert deals.filter(status="won").count() == 2 and deals.filter(status="lost").count() == 2
    assert deals.filter(status="open", stale_alerted_at__isnull=False).count() == 1
    assert deals.filter(stage__name="Negotiation", status="open").count() == 2


def test_system_actor_opens_an_unowned_deal(org, account, pipeline):
    deal = opps.opportunity_create(organization=org, actor=None, name="From a consumer",
                                   account=account, close_date=CLOSE)
    assert deal.owner_id is None
    assert OpportunityStageChange.objects.get(opportunity=deal).changed_by_id is None
