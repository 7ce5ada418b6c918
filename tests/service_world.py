"""A small service desk for the case tests: supplier `org` (owner = org admin, `member` a sales
user, an agent), buyer "Toko" with an account linked on the hub (a buyer user, a contact) and
one delivered order, and buyer "Other" trading with the same supplier (its own account)."""

from types import SimpleNamespace

from jalin.crm.models import Account, Contact
from jalin.hub import stock
from jalin.hub.testing import (
    link_buyer,
    make_delivered_order,
    make_price_list,
    make_product,
    set_price,
)
from jalin.tenancy.models import Membership
from jalin.tenancy.roles import Role
from tests.conftest import make_org, make_user


def person(organization, username, role):
    user = make_user(username)
    membership = Membership.objects.create(user=user, organization=organization, role=role)
    return user, membership


def build_world(org, owner, *, with_order=False):
    toko = make_org("toko-bangunan", is_supplier=False, is_buyer=True)
    other = make_org("other-buyer", is_supplier=False, is_buyer=True)
    relationship = link_buyer(org, toko, owner)
    link_buyer(org, other, owner)
    buyer_user, buyer_membership = person(toko, "lina", Role.BUYER)
    other_user, _ = person(other, "olga", Role.BUYER)
    agent, agent_membership = person(org, "agen", Role.SERVICE_AGENT)
    account = Account.objects.create(organization=org, name="Toko Bangunan",
                                     hub_organization=toko)
    other_account = Account.objects.create(organization=org, name="Other Buyer",
                                           hub_organization=other)
    plain_account = Account.objects.create(organization=org, name="Walk-in Customer")
    contact = Contact.objects.create(organization=org, first_name="Lina", last_name="Wati",
                                     email="lina@toko.test", account=account)
    order = None
    if with_order:
        price_list = make_price_list(org, owner, "Base", is_base=True)
        paper = make_product(org, owner, "PAP-1", "Paper")
        set_price(price_list, paper, "10000", owner)
        warehouse = stock.warehouse_create(supplier=org, actor=owner, code="W1", name="Main")
        stock.stock_adjust(warehouse=warehouse, product=paper, delta=50, reason="count",
                           actor=owner)
        owner_membership = Membership.objects.get(user=owner, organization=org)
        order = make_delivered_order(relationship=relationship,
                                     supplier_membership=owner_membership, actor=owner,
                                     lines=[(paper.pk, 2)])
    return SimpleNamespace(
        supplier=org, owner=owner, toko=toko, other=other, buyer_user=buyer_user,
        buyer_membership=buyer_membership, other_user=other_user, agent=agent,
        agent_membership=agent_membership, account=account, other_account=other_account,
        plain_account=plain_account, contact=contact, order=order, relationship=relationship)
