"""Lead services: validation, explainable scoring, each assignment method, conversion that
creates or links CRM records and keeps the lead, converting twice refused, disqualify."""

import pytest
from django.core.exceptions import ValidationError

from jalin.core.events import events_process
from jalin.core.models import Event
from jalin.crm import services as crm
from jalin.crm.models import Account, Contact, TimelineEntry
from jalin.sales import leads
from jalin.sales.models import (
    AssignmentRule,
    Lead,
    LeadStatus,
    Opportunity,
    Pipeline,
    ScoringRule,
    Territory,
)
from jalin.tenancy.models import Membership, Role
from jalin.tenancy.services import StaleVersion
from tests.conftest import make_user


def seller(org, name):
    user = make_user(name)
    Membership.objects.create(user=user, organization=org, role=Role.SALES)
    return user


def test_create_normalizes_and_validates(org, owner):
    lead = leads.lead_create(organization=org, actor=owner, first_name=" Budi ",
                             last_name="Santoso", email="Budi@Example.CO.ID",
                             phone="0812 3456 7890", company="PT Maju", country="id")
    assert (lead.email, lead.phone, lead.country, lead.first_name) == (
        "budi@example.co.id", "+6281234567890", "ID", "Budi")
    assert Event.objects.filter(type="sales.lead.created", aggregate_id=str(lead.pk)).exists()
    for bad in ({"email": "nope"}, {"phone": "12"}, {}, {"email": "a@b.co", "country": "IDN"}):
        with pytest.raises(ValidationError):
            leads.lead_create(organization=org, actor=owner, **bad)
    with pytest.raises(leads.SalesError):
        leads.lead_create(organization=org, actor=owner, email="x@y.co", surprise=1)
    assert Lead.objects.count() == 1


def test_idempotency_key_returns_the_first_lead(org, owner):
    first = leads.lead_create(organization=org, actor=owner, email="a@b.co",
                              idempotency_key="k1", source="api")
    again = leads.lead_create(organization=org, actor=owner, email="a@b.co",
                              idempotency_key="k1", source="api")
    assert first.pk == again.pk and Lead.objects.count() == 1


def test_score_explains_which_rule_added_what(org, owner):
    leads.scoring_rule_save(organization=org, actor=owner, label="Construction",
                            field="industry", operator="equals", value="construction",
                            points=15)
    leads.scoring_rule_save(organization=org, actor=owner, label="Company email",
                            field="email", operator="not_free_email_domain", points=10)
    leads.scoring_rule_save(organization=org, actor=owner, label="Big city",
                            field="city", operator="in", value="Jakarta, Surabaya", points=5)
    leads.scoring_rule_save(organization=org, actor=owner, label="Has phone",
                            field="phone", operator="is_set", points=3)
    lead = leads.lead_create(organization=org, actor=owner, email="ani@majubangun.co.id",
                             industry="Construction", city="surabaya")
    assert lead.score == 30
    assert [(item["label"], item["points"]) for item in lead.score_explanation] == [
        ("Construction", 15), ("Company email", 10), ("Big city", 5)]
    free = leads.lead_create(organization=org, actor=owner, email="ani@gmail.com",
                             phone="+62 812 3456 7890")
    assert free.score == 3 and free.score_explanation[0]["label"] == "Has phone"
    # Recomputed on update
    updated = leads.lead_update(lead=free, actor=owner, version=free.version,
                                industry="construction")
    assert updated.score == 18
    with pytest.raises(StaleVersion):
        leads.lead_update(lead=free, actor=owner, version=free.version, city="Bandung")
    # A rule change rescores open leads
    rule = ScoringRule.objects.get(label="Has phone")
    leads.scoring_rule_save(organization=org, actor=owner, rule=rule, label="Has phone",
                            field="phone", operator="is_set", points=7)
    assert Lead.objects.get(pk=free.pk).score == 22
    with pytest.raises(ValidationError):
        leads.scoring_rule_save(organization=org, actor=owner, label="x", field="password",
                                operator="equals", value="1", points=1)
    with pytest.raises(ValidationError):
        leads.scoring_rule_save(organization=org, actor=owner, label="x", field="city",
                                operator="equals", value="", points=1)


def test_assignment_account_owner(org, owner):
    rep = seller(org, "rep-a")
    account = crm.account_create(organization=org, actor=owner, name="PT Maju Bangun",
                                 owner=rep, website="https://majubangun.co.id")
    crm.contact_create(organization=org, actor=owner, first_name="Sari", last_name="Dewi",
                       email="sari@tokojaya.com", account=account)
    leads.assignment_rule_save(organization=org, actor=owner, name="Known accounts",
                               method="account_owner", position=1)
    by_name = leads.lead_create(organization=org, actor=owner, company="pt maju bangun",
                                email="x@gmail.com")
    by_site = leads.lead_create(organization=org, actor=owner, email="y@majubangun.co.id")
    by_contact = leads.lead_create(organization=org, actor=owner, email="z@tokojaya.com")
    stranger = leads.lead_create(organization=org, actor=owner, email="q@gmail.com")
    assert [by_name.owner_id, by_site.owner_id, by_contact.owner_id, stranger.owner_id] == [
        rep.pk, rep.pk, rep.pk, None]
    assert Event.objects.filter(type="sales.lead.assigned").count() == 3


def test_assignment_territory_round_robin_among_members(org, owner):
    west, east, other = seller(org, "west-1"), seller(org, "west-2"), seller(org, "east-1")
    java = leads.territory_save(organization=org, actor=owner, name="West Java",
                                criteria={"country": "id", "region": ["Jawa Barat"]},
                                member_ids=[west.pk, east.pk], position=1)
    leads.territory_save(organization=org, actor=owner, name="Everything else ID",
                         criteria={"country": ["ID"]}, member_ids=[other.pk], position=2)
    leads.assignment_rule_save(organization=org, actor=owner, name="By territory",
                               method="territory")
    owners = [leads.lead_create(organization=org, actor=owner, email=f"l{i}@x.co",
                                country="ID", region="jawa barat") for i in range(4)]
    assert [lead.owner_id for lead in owners] == [west.pk, east.pk, west.pk, east.pk]
    assert {lead.territory_id for lead in owners} == {java.pk}
    bali = leads.lead_create(organization=org, actor=owner, email="b@x.co", country="ID",
                             region="Bali")
    assert bali.owner_id == other.pk
    nowhere = leads.lead_create(organization=org, actor=owner, email="n@x.co", country="SG")
    assert nowhere.owner_id is None
    with pytest.raises(ValidationError):
        leads.territory_save(organization=org, actor=owner, name="Bad",
                             criteria={"planet": "Mars"})


def test_assignment_round_robin_and_rule_order(org, owner, outsider):
    a, b, c = seller(org, "rr-a"), seller(org, "rr-b"), seller(org, "rr-c")
    leads.assignment_rule_save(organization=org, actor=owner, name="Account owner first",
                               method="account_owner", position=1)
    leads.assignment_rule_save(organization=org, actor=owner, name="Everyone",
                               method="round_robin", position=2, user_ids=[a.pk, b.pk, c.pk])
    got = [leads.lead_create(organization=org, actor=owner, email=f"r{i}@x.co").owner_id
           for i in range(6)]
    assert got == [a.pk, b.pk, c.pk, a.pk, b.pk, c.pk]
    Membership.objects.filter(user=b).update(is_active=False)  # left the team: skipped
    got = [leads.lead_create(organization=org, actor=owner, email=f"s{i}@x.co").owner_id
           for i in range(3)]
    assert got == [a.pk, c.pk, a.pk]
    with pytest.raises(leads.SalesError):
        leads.assignment_rule_save(organization=org, actor=owner, name="Foreign",
                                   method="round_robin", user_ids=[outsider.pk])
    explicit = leads.lead_create(organization=org, actor=owner, email="e@x.co", owner=c)
    assert explicit.owner_id == c.pk
    manual = leads.lead_assign(lead=explicit, actor=owner, owner=a.pk)
    assert manual.owner_id == a.pk


def test_convert_creates_account_contact_opportunity_and_keeps_the_lead(org, owner):
    lead = leads.lead_create(organization=org, actor=owner, first_name="Ani", last_name="W",
                             email="ani@majubangun.co.id", company="PT Maju Bangun",
                             industry="Construction", phone="081234567890",
                             email_opt_in=True)
    converted = leads.lead_convert(lead=lead, actor=owner, amount=5_000_000)
    assert converted.status == LeadStatus.CONVERTED and converted.converted_at
    account, contact = converted.converted_account, converted.converted_contact
    opportunity = converted.converted_opportunity
    assert account.name == "PT Maju Bangun" and contact.account_id == account.pk
    assert contact.email == "ani@majubangun.co.id" and contact.email_opt_in
    assert opportunity.account_id == account.pk and opportunity.lead_id == lead.pk
    pipeline = Pipeline.objects.get(organization=org)
    assert pipeline.is_default and opportunity.pipeline_id == pipeline.pk
    assert [(s.name, s.probability, s.kind) for s in pipeline.stages.all()] == [
        ("Qualification", 10, "open"), ("Needs analysis", 25, "open"), ("Proposal", 50, "open"),
        ("Negotiation", 75, "open"), ("Won", 100, "won"), ("Lost", 0, "lost")]
    assert opportunity.stage.name == "Qualification"
    # History stays: the lead row, its events, and a line on the account's timeline.
    assert Lead.objects.filter(pk=lead.pk).exists()
    assert set(Event.objects.filter(aggregate_id=str(lead.pk), aggregate_type="sales.lead")
               .values_list("type", flat=True)) >= {"sales.lead.created",
                                                    "sales.lead.converted"}
    events_process(batch_size=1000)
    assert TimelineEntry.objects.filter(account=account,
                                        event_type="sales.lead.converted").exists()
    # Twice: refused, nothing new
    with pytest.raises(leads.SalesError) as error:
        leads.lead_convert(lead=lead, actor=owner)
    assert error.value.code == "already_converted"
    assert Opportunity.objects.count() == 1 and Account.objects.count() == 1


def test_convert_links_an_existing_account_and_contact(org, owner, other_org, outsider):
    account = crm.account_create(organization=org, actor=owner, name="Toko Jaya")
    contact = crm.contact_create(organization=org, actor=owner, first_name="Sari",
                                 last_name="Dewi", email="sari@tokojaya.com", account=account)
    lead = leads.lead_create(organization=org, actor=owner, first_name="Sari",
                             email="sari@tokojaya.com", company="Toko Jaya")
    assert leads.account_suggestions(lead)[0] == account
    foreign = crm.account_create(organization=other_org, actor=outsider, name="Theirs")
    with pytest.raises(leads.SalesError):
        leads.lead_convert(lead=lead, actor=owner, account=foreign)
    converted = leads.lead_convert(lead=lead, actor=owner, account=account,
                                   create_opportunity=False)
    assert converted.converted_account_id == account.pk
    assert converted.converted_contact_id == contact.pk  # same email on that account: linked
    assert converted.converted_opportunity is None
    assert Account.objects.filter(organization=org).count() == 1
    assert Contact.objects.filter(organization=org).count() == 1


def test_disqualify_needs_a_reason_and_closes(org, owner):
    lead = leads.lead_create(organization=org, actor=owner, email="d@x.co")
    with pytest.raises(ValidationError):
        leads.lead_disqualify(lead=lead, actor=owner, reason=" ")
    done = leads.lead_disqualify(lead=lead, actor=owner, reason="Student project")
    assert done.status == "disqualified" and done.disqualified_reason == "Student project"
    with pytest.raises(leads.SalesError):
        leads.lead_convert(lead=done, actor=owner)
    with pytest.raises(leads.SalesError):
        leads.lead_disqualify(lead=done, actor=owner, reason="again")


def test_default_pipeline_is_reused(org, owner):
    first = leads.default_pipeline(org)
    assert leads.default_pipeline(org).pk == first.pk
    assert Pipeline.objects.filter(organization=org).count() == 1
    assert AssignmentRule.objects.count() == 0 and Territory.objects.count() == 0
