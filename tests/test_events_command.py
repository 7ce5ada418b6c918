"""`jalin events`: status, dead-letter list, replay and cursor reset from the command line."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from jalin.core.consumers import register_consumer, unregister_consumer
from jalin.core.events import emit_event, events_process
from jalin.core.events_models import ConsumerState, DeadLetter


@pytest.fixture
def flaky_consumer(settings):
    settings.JALIN_EVENT_MAX_ATTEMPTS = 1
    state = {"broken": True, "seen": []}

    def handler(event):
        if state["broken"]:
            raise RuntimeError("warehouse unreachable")
        state["seen"].append(event.pk)

    register_consumer("test.flaky", handler)
    yield state
    unregister_consumer("test.flaky")


def run(*args):
    out = StringIO()
    call_command("events", *args, stdout=out, stderr=out)
    return out.getvalue()


def test_dead_letter_listed_replayed_and_status_shown(org, flaky_consumer):
    with transaction.atomic():
        event = emit_event(type="test.happened", organization=org)
    events_process()
    letter = DeadLetter.objects.get(consumer="test.flaky")

    assert "test.flaky" in run("status")
    listing = run("dead-letters")
    assert f"#{letter.pk} test.flaky event #{event.pk}" in listing
    assert "warehouse unreachable" in listing

    # Still broken: replay fails, the letter stays, and the command says so (non-zero).
    with pytest.raises(CommandError):
        run("replay", str(letter.pk))
    letter.refresh_from_db()
    assert letter.replayed_at is None

    flaky_consumer["broken"] = False
    assert f"#{letter.pk} replayed." in run("replay", str(letter.pk))
    assert flaky_consumer["seen"] == [event.pk]
    assert run("dead-letters") == "No dead letters.\n"
    assert "replayed" in run("dead-letters", "--all")
    with pytest.raises(CommandError, match="already replayed"):
        run("replay", str(letter.pk))


def test_replay_of_unknown_letter_and_bad_cursor_are_clear_errors(db):
    with pytest.raises(CommandError, match="no dead letter #999"):
        run("replay", "999")
    with pytest.raises(CommandError, match="negative"):
        run("reset-cursor", "test.any", "-1")


def test_reset_cursor_moves_a_consumer(db):
    assert "after position 7" in run("reset-cursor", "test.rebuild", "7")
    assert ConsumerState.objects.get(name="test.rebuild").position == 7
