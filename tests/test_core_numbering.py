"""The shared gap-free number sequences (`jalin.core.numbering`): per organization, scope and
period; only inside a transaction; a rollback gives the number back; first use safe under
concurrency (PostgreSQL, real threads); and the migrations that moved the five old counter
tables into `core.NumberSequence` (forward and back)."""

import threading
import time

import pytest
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor

from jalin.core import numbering
from jalin.core.models import NumberSequence
from jalin.core.numbering import NumberingError
from tests.conftest import make_org
from tests.test_hub_orders_concurrency import run_threads

SCOPE = "test.thing"


def take(org, scope=SCOPE, **extra):
    with transaction.atomic():
        return numbering.next_number(organization=org, scope=scope, **extra)


# --- Behaviour (any database) --------------------------------------------------------------


@pytest.mark.django_db
def test_numbers_start_at_one_and_count_up_per_organization_scope_and_period(org, other_org):
    assert numbering.last_number(organization=org, scope=SCOPE) == 0
    assert [take(org) for _ in range(3)] == [1, 2, 3]
    assert take(org, "test.other") == 1
    assert take(other_org) == 1
    assert take(org, period="2026") == 1
    assert take(org, period="2027") == 1
    assert take(org, period="2026") == 2
    assert take(org.pk) == 4  # an organization id works as well as the organization
    assert numbering.last_number(organization=org, scope=SCOPE) == 4
    assert numbering.last_number(organization=org, scope=SCOPE, period="2026") == 2
    assert NumberSequence.objects.filter(organization=org).count() == 4
    assert str(NumberSequence.objects.get(organization=org, period="2027")).endswith(
        "test.thing 2027: 1")


@pytest.mark.django_db
def test_a_rolled_back_number_is_handed_out_again(org):
    assert take(org) == 1
    with pytest.raises(RuntimeError), transaction.atomic():
        assert numbering.next_number(organization=org, scope=SCOPE) == 2
        raise RuntimeError("the document failed after it was numbered")
    assert take(org) == 2
    # First use rolled back too: the sequence row itself goes away again.
    with pytest.raises(RuntimeError), transaction.atomic():
        assert numbering.next_number(organization=org, scope="test.new") == 1
        raise RuntimeError("rolled back")
    assert not NumberSequence.objects.filter(scope="test.new").exists()
    assert take(org, "test.new") == 1


@pytest.mark.django_db(transaction=True)
def test_numbers_are_only_taken_inside_a_transaction(org):
    with pytest.raises(NumberingError):
        numbering.next_number(organization=org, scope=SCOPE)
    with pytest.raises(NumberingError):
        numbering.advance_to(organization=org, scope=SCOPE, number=5)
    assert not NumberSequence.objects.exists()


@pytest.mark.django_db
def test_bad_scope_or_count_is_refused(org):
    with transaction.atomic():
        with pytest.raises(NumberingError):
            numbering.next_number(organization=org, scope="")
        for count in (0, -1, True, 1.5, "2"):
            with pytest.raises(NumberingError):
                numbering.next_numbers(organization=org, scope=SCOPE, count=count)
    assert not NumberSequence.objects.exists()


@pytest.mark.django_db
def test_blocks_floors_and_advancing(org):
    with transaction.atomic():
        assert list(numbering.next_numbers(organization=org, scope=SCOPE, count=3)) == [1, 2, 3]
        # `after`: rows already carry numbers up to 10 (imported without the sequence).
        assert numbering.next_number(organization=org, scope=SCOPE, after=10) == 11
        assert numbering.next_number(organization=org, scope=SCOPE, after=5) == 12
        assert numbering.advance_to(organization=org, scope=SCOPE, number=40) == 40
        assert numbering.advance_to(organization=org, scope=SCOPE, number=7) == 40  # not back
        assert numbering.next_number(organization=org, scope=SCOPE) == 41
        assert numbering.advance_to(organization=org, scope="test.fresh", number=3) == 3


@pytest.mark.django_db
def test_taking_a_number_costs_two_queries_once_the_sequence_exists(
        org, django_assert_num_queries):
    take(org)
    with transaction.atomic(), django_assert_num_queries(2):  # lock the row, write it
        numbering.next_number(organization=org, scope=SCOPE)
    with transaction.atomic(), django_assert_num_queries(4):  # + insert, lock the new row
        numbering.next_number(organization=org, scope="test.first")


# --- Concurrency (PostgreSQL) --------------------------------------------------------------


def _postgres():
    if connection.vendor != "postgresql":
        pytest.skip("concurrency guarantees are proven on PostgreSQL")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_many_threads_get_consecutive_numbers_without_gaps_first_use_included(org):
    _postgres()
    other = make_org("numbering-other")
    threads, rolled_back = 16, {3, 11}
    taken = []
    lock = threading.Lock()

    def work(index):
        with transaction.atomic():
            number = numbering.next_number(organization=org, scope="test.race")
            # The other organization's sequence is a different row: never waits on this one.
            numbering.next_number(organization=other, scope="test.race")
            time.sleep(0.01)  # hold the lock a moment, so the others queue behind it
            if index in rolled_back:
                raise RuntimeError("rolled back")  # the number comes back
            with lock:
                taken.append(number)
            return number

    # Nobody has used the sequence yet: all threads race to create its row.
    assert not NumberSequence.objects.exists()
    results = run_threads(work, threads)
    errors = [error for _result, error in results if error is not None]
    assert [str(error) for error in errors] == ["rolled back"] * len(rolled_back)
    committed = threads - len(rolled_back)
    assert sorted(taken) == list(range(1, committed + 1))
    assert numbering.last_number(organization=org, scope="test.race") == committed
    assert numbering.last_number(organization=other, scope="test.race") == committed
    assert NumberSequence.objects.filter(scope="test.race").count() == 2

    # And again once the row exists.
    taken.clear()
    rolled_back = set()
    results = run_threads(work, 8)
    assert [error for _result, error in results if error is not None] == []
    assert sorted(taken) == list(range(committed + 1, committed + 9))


# --- The migrations from the old counter tables --------------------------------------------

BEFORE = [("core", "0004_number_sequences"), ("hub", "0016_promotion_pricing_unit_cost"),
          ("service", "0006_survey_periods_good_answers"),
          ("brm", "0003_requirement_history_and_counters"),
          ("sales", "0009_campaign_background_launch_and_schedule")]


@pytest.mark.django_db(transaction=True)
def test_counter_rows_move_back_into_the_old_tables_and_forward_again(org, other_org):
    """Unapply the data migrations (NumberSequence rows → the old counter tables), then apply
    them again (old tables → NumberSequence). Each migrate() builds the whole project state,
    so the test does it only twice."""
    expected = {
        (org.pk, "hub.order", 7), (org.pk, "hub.invoice", 5), (org.pk, "hub.credit_note", 2),
        (other_org.pk, "hub.invoice", 9), (org.pk, "sales.quote", 4),
        (org.pk, "service.case", 12), (org.pk, "service.agreement", 3),
        (org.pk, "brm.requirement", 6), (org.pk, "brm.improvement", 1)}
    NumberSequence.objects.bulk_create(
        [NumberSequence(organization_id=org_id, scope=scope, last=last)
         for org_id, scope, last in expected]
        + [NumberSequence(organization_id=org.pk, scope="test.kept", last=8)])
    executor = MigrationExecutor(connection)
    try:
        old = executor.migrate(BEFORE).apps
        assert set(old.get_model("hub", "OrderCounter").objects
                   .values_list("supplier_id", "last_number")) == {(org.pk, 7)}
        assert set(old.get_model("hub", "DocumentCounter").objects
                   .values_list("supplier_id", "sequence", "last_number")) == {
            (org.pk, "invoice", 5), (org.pk, "credit_note", 2), (other_org.pk, "invoice", 9),
            (org.pk, "sales_quote", 4)}
        assert set(old.get_model("service", "CaseCounter").objects
                   .values_list("organization_id", "last_number")) == {(org.pk, 12)}
        assert set(old.get_model("service", "AgreementCounter").objects
                   .values_list("organization_id", "last_number")) == {(org.pk, 3)}
        assert set(old.get_model("brm", "RegisterCounter").objects
                   .values_list("organization_id", "register", "last_number")) == {
            (org.pk, "requirement", 6), (org.pk, "improvement", 1)}
        assert set(old.get_model("core", "NumberSequence").objects
                   .values_list("scope", flat=True)) == {"test.kept"}
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
    assert set(NumberSequence.objects.exclude(scope="test.kept")
               .values_list("organization_id", "scope", "last")) == expected
    assert set(NumberSequence.objects.values_list("period", flat=True)) == {""}
    with transaction.atomic():  # and numbering goes on where the old counters stopped
        assert numbering.next_number(organization=org, scope="hub.order") == 8
