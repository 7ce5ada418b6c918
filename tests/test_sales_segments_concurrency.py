"""Segment refresh under real concurrency and at size (PostgreSQL, threads): refreshes of one
segment run one after the other (the segment row is locked), so none fails on the members'
unique constraint and the members are exactly the matching contacts; a refresh of 50,000
contacts is a handful of set-based statements, not one per contact."""

import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from jalin.crm.models import Account, Contact, CustomFieldDefinition
from jalin.sales import segments
from jalin.sales.models import SegmentMember
from tests.test_hub_orders_concurrency import run_threads

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only(db):
    if connection.vendor != "postgresql":
        pytest.skip("concurrency guarantees are proven on PostgreSQL")


def _contacts(org, count):
    retail = Account.objects.create(organization=org, name="Retail", industry="Retail")
    other = Account.objects.create(organization=org, name="Other", industry="Wholesale")
    Contact.objects.bulk_create([
        Contact(organization=org, last_name=f"C{index}",
                account=retail if index % 2 else other, custom={"score": index % 10})
        for index in range(count)], batch_size=5000)
    return retail


def test_concurrent_refreshes_of_one_segment(org, owner):
    _contacts(org, 400)
    segment = segments.segment_create(organization=org, actor=owner, name="Retail",
                                      rules={"conditions": [{"field": "account.industry",
                                                             "op": "equals",
                                                             "value": "Retail"}]})

    def refresh(_index):
        return segments.segment_refresh(segment=segment).member_count

    results = run_threads(refresh, 6)
    assert all(error is None for _result, error in results), results
    assert {result for result, _error in results} == {200}
    assert SegmentMember.objects.filter(segment=segment).count() == 200


def test_refresh_of_50000_contacts_is_set_based(org, owner, capsys):
    _contacts(org, 50_000)
    CustomFieldDefinition.objects.create(organization=org, target="contact", key="score",
                                         label="Score", type="number")
    segment = segments.segment_create(
        organization=org, actor=owner, name="Big",
        rules={"match": "all", "conditions": [
            {"field": "account.industry", "op": "equals", "value": "Retail"},
            {"field": "contact.custom.score", "op": "gte", "value": 3}]})
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        refreshed = segments.segment_refresh(segment=segment)
    first = time.perf_counter() - started
    assert refreshed.member_count == 20_000  # odd indexes (25,000) ending in 3, 5, 7 or 9
    assert len(queries) < 20
    started = time.perf_counter()
    again = segments.segment_refresh(segment=segment)
    second = time.perf_counter() - started
    assert (again.added, again.removed) == (0, 0)
    with capsys.disabled():
        print(f"\nsegment refresh, 50,000 contacts: first {first:.2f}s "
              f"({len(queries)} queries), unchanged {second:.2f}s")
