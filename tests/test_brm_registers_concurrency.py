"""BRM register numbering and sign-off under real concurrency, on PostgreSQL with threads
(one connection each): REQ-n and CSI-n never repeat and leave no gaps, and two decision
makers racing to sign the same version record one decision."""

import pytest
from django.db import connection

from jalin.brm import registers, requirements
from jalin.brm.models import Improvement, Requirement, SignOff, Stakeholder
from jalin.brm.register_base import RegisterError
from jalin.crm.models import Contact
from jalin.tenancy.models import Membership
from tests.brm_world import make_requirement, make_user, make_world, membership
from tests.test_hub_orders_concurrency import run_threads

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only(db):
    if connection.vendor != "postgresql":
        pytest.skip("concurrency guarantees are proven on PostgreSQL")


def test_concurrent_creation_numbers_without_duplicates_or_gaps(org, owner):
    world = make_world(org, owner)

    def create(index):
        if index % 2:
            return registers.improvement_create(organization=org, actor=owner,
                                                title=f"Idea {index}")
        return requirements.requirement_create(organization=org, account=world.account,
                                               title=f"Need {index}", actor=owner,
                                               description="Something")

    results = run_threads(create, 8)
    assert [error for _result, error in results if error is not None] == []
    assert sorted(Requirement.objects.values_list("number", flat=True)) == [1, 2, 3, 4]
    assert sorted(Improvement.objects.values_list("number", flat=True)) == [1, 2, 3, 4]


def test_two_decision_makers_racing_record_one_sign_off(org, owner):
    world = make_world(org, owner)
    second = make_user("second-dm")
    Membership.objects.create(user=second, organization=world.buyer, role="buyer")
    contact = Contact.objects.create(organization=org, account=world.account,
                                     last_name="Second")
    Stakeholder.objects.create(organization=org, account=world.account, contact=contact,
                               role="decision_maker", portal_user=second)
    requirement = make_requirement(world, qualified=True)
    signers = [membership(world.decision_maker, world.buyer), membership(second, world.buyer)]

    def sign(index):
        return requirements.requirement_sign_off(
            requirement=requirement, membership=signers[index % 2], decision="approved",
            version_number=1)

    results = run_threads(sign, 4)
    made = [result for result, error in results if error is None]
    refused = [error for _result, error in results if error is not None]
    assert len(made) == 1
    assert all(isinstance(error, RegisterError) for error in refused), refused
    assert SignOff.objects.count() == 1
    assert Requirement.objects.get().status == "approved"
