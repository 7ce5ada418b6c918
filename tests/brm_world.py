"""A small BRM world for the register tests: the supplier `org` (owner, member), a customer
account linked to a buyer organization with a decision maker (linked as stakeholder), a
plain buyer and a buyer approver, and another buyer organization with its own user."""

from dataclasses import dataclass

from jalin.accounts.models import User
from jalin.brm import requirements
from jalin.brm.models import Stakeholder, StakeholderRole
from jalin.crm.models import Account, Contact
from jalin.service.models import Service
from jalin.tenancy.models import Membership
from tests.conftest import make_org


def make_user(username, **extra):
    """A user without a password hash (hashing is slow); tests log in with force_login."""
    return User.objects.create_user(username=username, email=f"{username}@example.test",
                                    password=None, **extra)


@dataclass
class World:
    org: object
    owner: object
    buyer: object
    account: object
    decision_maker: object
    plain_buyer: object
    approver: object
    other_buyer: object
    other_buyer_user: object
    service: object
    stakeholder: object


def make_world(org, owner, *, link_decision_maker=True, prefix=""):
    buyer = make_org(f"{prefix}toko-bangunan", is_supplier=False, is_buyer=True)
    other_buyer = make_org(f"{prefix}toko-lain", is_supplier=False, is_buyer=True)
    account = Account.objects.create(organization=org, name="Toko Bangunan",
                                     hub_organization=buyer)
    decision_maker = make_user(f"{prefix}bambang", first_name="Bambang", last_name="Wijaya")
    plain_buyer = make_user(f"{prefix}lina")
    approver = make_user(f"{prefix}approver")
    other_user = make_user(f"{prefix}other-buyer")
    Membership.objects.create(user=decision_maker, organization=buyer, role="buyer")
    Membership.objects.create(user=plain_buyer, organization=buyer, role="buyer")
    Membership.objects.create(user=approver, organization=buyer, role="buyer_approver")
    Membership.objects.create(user=other_user, organization=other_buyer, role="org_admin")
    contact = Contact.objects.create(organization=org, account=account, first_name="Bambang",
                                     last_name="Wijaya")
    stakeholder = Stakeholder.objects.create(
        organization=org, account=account, contact=contact,
        role=StakeholderRole.DECISION_MAKER,
        portal_user=decision_maker if link_decision_maker else None)
    service = Service.objects.create(organization=org, code="DLV", name="Same-day delivery")
    return World(org=org, owner=owner, buyer=buyer, account=account,
                 decision_maker=decision_maker, plain_buyer=plain_buyer, approver=approver,
                 other_buyer=other_buyer, other_buyer_user=other_user, service=service,
                 stakeholder=stakeholder)


def make_requirement(world, *, title="Weekend deliveries", qualified=False, **content):
    content = {"description": "Deliver on Saturdays too.", "costs": "1000000",
               "benefits": "2500000", **content}
    requirement = requirements.requirement_create(
        organization=world.org, account=world.account, title=title, actor=world.owner,
        **content)
    if qualified:
        for action in ("submit", "screen", "qualify"):
            requirement = requirements.requirement_transition(
                requirement=requirement, action=action, actor=world.owner,
                version=requirement.version)
    return requirement


def membership(user, organization):
    return Membership.objects.get(user=user, organization=organization)
