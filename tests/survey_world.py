"""A small world for survey tests: a supplier with a CSAT survey, a customer account linked to
a buyer organization with a portal user, and resolved cases to survey."""

from dataclasses import dataclass

from django.utils import timezone

from jalin.crm.models import Account, AccountStatus, Contact, RelationshipRole
from jalin.service import surveys
from jalin.service.models import Case, CaseStatus
from jalin.tenancy.models import Membership
from jalin.tenancy.roles import Role
from tests.conftest import make_org, make_user


@dataclass
class World:
    org: object
    owner: object
    agent: object
    buyer: object
    buyer_user: object
    account: object
    contact: object
    survey: object


def make_survey(org, owner, **overrides):
    values = {"name": "After a case", "kind": "csat", "question": "How did we do?",
              "trigger": "case_resolved", "good_threshold": 4, "follow_up_at_or_below": 2,
              "follow_up_on_comment": True, "invitation_valid_days": 14}
    values.update(overrides)
    return surveys.survey_create(organization=org, actor=owner, **values)



def make_case(world, *, requester=None, assignee=None, status=CaseStatus.RESOLVED, **extra):
    """A case row as the desk would leave it (tests of invitations do not need the desk)."""
    from django.db import transaction

    from jalin.service.cases import _next_number

    with transaction.atomic():
        number = _next_number(world.org)
    values = {"organization": world.org, "number": number, "subject": f"Broken tap {number}",
              "account": world.account, "buyer": world.buyer, "contact": world.contact,
              "requester": requester if requester is not None else world.buyer_user,
              "assignee": assignee if assignee is not None else world.agent,
              "status": status, "resolved_at": timezone.now()}
    values.update(extra)
    return Case.objects.create(**values)


def build_world(org, owner):
    agent = make_user("agent")
    Membership.objects.create(user=agent, organization=org, role=Role.SERVICE_AGENT)
    buyer = make_org("toko-survey", is_supplier=False, is_buyer=True)
    buyer_user = make_user("lina-survey")
    Membership.objects.create(user=buyer_user, organization=buyer, role=Role.BUYER)
    account = Account.objects.create(organization=org, name="Toko Survey",
                                     status=AccountStatus.CUSTOMER, hub_organization=buyer)
    contact = Contact.objects.create(organization=org, account=account, first_name="Lina",
                                     last_name="Buyer", email="lina@toko.test",
                                     relationship_role=RelationshipRole.DECISION_MAKER)
    survey = make_survey(org, owner)
    return World(org=org, owner=owner, agent=agent, buyer=buyer, buyer_user=buyer_user,
                 account=account, contact=contact, survey=survey)


def invite(world, case=None, **kwargs):
    """A case-resolved invitation for a new (or the given) case; returns (invitation, token)."""
    case = case or make_case(world)
    return surveys.invitation_create(
        survey=kwargs.pop("survey", world.survey), case=case, account=case.account,
        contact=case.contact, buyer=case.buyer, recipient_user=case.requester,
        recipient_email="lina@toko.test", **kwargs)
