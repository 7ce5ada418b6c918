"""Shared set-up for the portfolio tests: a supplier's customer that is a hub buyer with an
approver, a plain buyer, and a second buyer company."""

from jalin.crm.models import Account
from jalin.service import agreements, service_catalogue
from jalin.tenancy.models import Membership, Organization
from jalin.tenancy.roles import Role

from .conftest import make_user


def buyer_org(slug):
    return Organization.objects.create(slug=slug, name=slug.title(), is_buyer=True)


def customer(org, name="Toko Test", buyer=None):
    return Account.objects.create(organization=org, name=name, hub_organization=buyer,
                                  status="customer")


def member_of(organization, username, role):
    user = make_user(username)
    membership = Membership.objects.create(user=user, organization=organization, role=role)
    return user, membership


def buyer_world(org):
    """(buyer org, account, approver user, plain buyer user)."""
    buyer = buyer_org("toko-test")
    account = customer(org, buyer=buyer)
    approver, _ = member_of(buyer, "approver", Role.BUYER_APPROVER)
    shopper, _ = member_of(buyer, "shopper", Role.BUYER)
    return buyer, account, approver, shopper


def live_service(org, actor, code="HOST", name="Hosting"):
    service = service_catalogue.service_create(organization=org, actor=actor, code=code,
                                               name=name)
    for status in ("under_evaluation", "approved", "design", "live"):
        service = service_catalogue.service_transition(service=service, to_status=status,
                                                       actor=actor)
    return service


def pending_agreement(org, actor, account, **extra):
    agreement = agreements.agreement_create(organization=org, actor=actor, kind="sla",
                                            title="Gold support", account=account, **extra)
    return agreements.agreement_transition(agreement=agreement, to_status="pending_signature",
                                           actor=actor)
