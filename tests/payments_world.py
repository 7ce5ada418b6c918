"""A supplier with two customers and invoices, for the payment tests (not a test module)."""

import datetime

from django.test import Client
from django.utils import timezone

from jalin.hub.testing import link_buyer, make_invoice
from jalin.tenancy.models import Membership
from jalin.tenancy.roles import Role
from tests.conftest import make_org, make_user


class World:
    pass


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


def build(org, owner):
    world = World()
    world.supplier, world.owner = org, owner
    world.buyer = make_org("pay-buyer", is_supplier=False, is_buyer=True)
    world.other_buyer = make_org("pay-other", is_supplier=False, is_buyer=True)
    world.relationship = link_buyer(org, world.buyer, owner, payment_terms="net",
                                    payment_days=30, credit_limit=10_000_000)
    world.other_relationship = link_buyer(org, world.other_buyer, owner)
    today = timezone.localdate()
    # Due oldest first: inv_old (due 10 days ago), inv_mid (due today), inv_new (in 20 days).
    world.inv_new = make_invoice(world.relationship, "300000",
                                 due_date=today + datetime.timedelta(days=20))
    world.inv_old = make_invoice(world.relationship, "100000",
                                 due_date=today - datetime.timedelta(days=10),
                                 issue_date=today - datetime.timedelta(days=40))
    world.inv_mid = make_invoice(world.relationship, "200000", due_date=today,
                                 issue_date=today - datetime.timedelta(days=30))
    world.foreign_invoice = make_invoice(world.other_relationship, "50000")
    world.finance = make_user("sup-finance")
    Membership.objects.create(user=world.finance, organization=org, role=Role.FINANCE)
    world.buyer_user = make_user("buyer-payer")
    Membership.objects.create(user=world.buyer_user, organization=world.buyer, role=Role.BUYER)
    world.buyer_viewer = make_user("buyer-viewer")
    Membership.objects.create(user=world.buyer_viewer, organization=world.buyer,
                              role=Role.VIEWER)
    world.other_buyer_user = make_user("other-payer")
    Membership.objects.create(user=world.other_buyer_user, organization=world.other_buyer,
                              role=Role.BUYER)
    return world
