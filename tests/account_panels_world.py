"""A customer with something in every panel of the CRM account page: supplier `org`'s account
"Toko Bangunan" linked to the hub buyer "toko", with ROWS+1 open deals (one won), quotes,
hub orders, open invoices (some overdue), open cases (SLA clocks breached / at risk / on
track), agreements in force and BRM portfolio records; a contact on the deals and cases.

`build_outsider` gives the outsider's organization an account of the same name linked to the
same buyer, with its own deal, order, invoice, case and agreement, each named with the
"OUTSIDER" marker, so a leak shows on the page."""

import datetime
from decimal import Decimal
from types import SimpleNamespace

from django.utils import timezone

from jalin.brm.models import (
    CustomerProfile,
    Health,
    Improvement,
    ImprovementSource,
    Requirement,
    ReviewStatus,
    ServiceReview,
)
from jalin.crm.models import Account, Contact
from jalin.hub.models import Invoice, Order, OrderStatus
from jalin.hub.testing import link_buyer
from jalin.sales.leads import default_pipeline, first_open_stage
from jalin.sales.models import Opportunity, OpportunityStatus, SalesQuote, SalesQuoteStatus
from jalin.service.models import (
    Agreement,
    AgreementKind,
    AgreementStatus,
    BusinessCalendar,
    Case,
    CaseStatus,
    SlaClock,
    SlaClockState,
    SlaMetric,
)
from tests.conftest import make_org

ROWS = 6  # one more than a panel shows


def _deal(org, account, name, *, status=OpportunityStatus.OPEN, amount="1000000",
          contact=None, days=10):
    pipeline = default_pipeline(org)
    return Opportunity.objects.create(
        organization=org, account=account, contact=contact, pipeline=pipeline,
        stage=first_open_stage(pipeline), name=name, currency="IDR", amount=Decimal(amount),
        status=status, close_date=timezone.localdate() + datetime.timedelta(days=days))


def _records(org, owner, account, relationship, *, prefix, contact=None, count=ROWS,
             number_from=1):
    today = timezone.localdate()
    now = timezone.now()
    deals = [_deal(org, account, f"{prefix} deal {i}", contact=contact, days=i)
             for i in range(count)]
    quotes = [SalesQuote.objects.create(
        organization=org, opportunity=deals[i % len(deals)], number=number_from + i,
        status=SalesQuoteStatus.SENT, valid_until=today + datetime.timedelta(days=30),
        currency="IDR", total_gross=Decimal("500000")) for i in range(count)]
    orders, invoices = [], []
    if relationship is not None:
        orders = [Order.objects.create(
            supplier=org, buyer=relationship.buyer, relationship=relationship,
            number=number_from + i, status=OrderStatus.CONFIRMED, currency="IDR",
            total_gross=Decimal("250000"), submitted_at=now) for i in range(count)]
        invoices = [Invoice.objects.create(
            supplier=org, buyer=relationship.buyer, relationship=relationship,
            number=number_from + i, order=orders[i], currency="IDR",
            issue_date=today - datetime.timedelta(days=40),
            due_date=today + datetime.timedelta(days=(-10 if i < 2 else 20)),
            total_gross=Decimal("100000"), amount_settled=Decimal("25000"))
            for i in range(count)]
    calendar = BusinessCalendar.objects.create(organization=org, name=f"{prefix} 24x7",
                                               always_open=True)
    cases = []
    for i in range(count):
        case = Case.objects.create(organization=org, number=number_from + i,
                                   subject=f"{prefix} case {i}", account=account,
                                   contact=contact, status=CaseStatus.OPEN)
        due = now + datetime.timedelta(hours=(-1 if i == count - 1 else 5))
        SlaClock.objects.create(
            case=case, metric=SlaMetric.RESOLUTION, calendar=calendar, target_seconds=3600,
            state=SlaClockState.RUNNING, started_at=now - datetime.timedelta(hours=1),
            due_at=due, warn_at=now - datetime.timedelta(minutes=5) if i == count - 2 else due)
        cases.append(case)
    agreements = [Agreement.objects.create(
        organization=org, number=number_from + i, kind=AgreementKind.SLA,
        title=f"{prefix} agreement {i}", account=account, buyer=account.hub_organization,
        status=AgreementStatus.ACTIVE, starts_on=today,
        ends_on=today + datetime.timedelta(days=365 + i)) for i in range(count)]
    return SimpleNamespace(deals=deals, quotes=quotes, orders=orders, invoices=invoices,
                           cases=cases, agreements=agreements)


def build_world(org, owner):
    toko = make_org("toko-bangunan", is_supplier=False, is_buyer=True)
    relationship = link_buyer(org, toko, owner)
    account = Account.objects.create(organization=org, name="Toko Bangunan",
                                     hub_organization=toko)
    contact = Contact.objects.create(organization=org, first_name="Lina", last_name="Wati",
                                     account=account)
    records = _records(org, owner, account, relationship, prefix="Ours", contact=contact)
    won = _deal(org, account, "Ours won deal", status=OpportunityStatus.WON, amount="7000000")
    CustomerProfile.objects.create(organization=org, account=account, health=Health.AT_RISK,
                                   health_note="Ours late deliveries",
                                   relationship_manager=owner)
    requirements = [Requirement.objects.create(organization=org, number=i + 1,
                                               account=account, title=f"Ours requirement {i}")
                    for i in range(ROWS)]
    improvements = [Improvement.objects.create(organization=org, number=i + 1,
                                               title=f"Ours improvement {i}",
                                               source=ImprovementSource.OTHER, account=account)
                    for i in range(ROWS)]
    today = timezone.localdate()
    next_review = ServiceReview.objects.create(
        organization=org, account=account, scheduled_for=today + datetime.timedelta(days=7),
        period_start=today - datetime.timedelta(days=90), period_end=today)
    ServiceReview.objects.create(
        organization=org, account=account, scheduled_for=today - datetime.timedelta(days=80),
        period_start=today - datetime.timedelta(days=170),
        period_end=today - datetime.timedelta(days=80), status=ReviewStatus.HELD)
    return SimpleNamespace(toko=toko, relationship=relationship, account=account,
                           contact=contact, won=won, requirements=requirements,
                           improvements=improvements, next_review=next_review,
                           **vars(records))


def build_outsider(other_org, outsider, toko):
    """The outsider's own account of the same name, linked to the same buyer."""
    relationship = link_buyer(other_org, toko, outsider)
    account = Account.objects.create(organization=other_org, name="Toko Bangunan",
                                     hub_organization=toko)
    records = _records(other_org, outsider, account, relationship, prefix="OUTSIDER",
                       count=1, number_from=1)
    return SimpleNamespace(account=account, relationship=relationship, **vars(records))


def more_records(org, owner, world, *, count):
    """`count` more of everything on the world's account (numbers after the first batch)."""
    return _records(org, owner, world.account, world.relationship, prefix="More",
                    contact=world.contact, count=count, number_from=100)
