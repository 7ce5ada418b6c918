"""DESIGN.md: "If the CRM side fails, ordering goes on and the CRM catches up later" — a broken
timeline consumer must not stop the hub. The hub's write commits, the other consumers still
get the event, and the timeline catches up once the failure is fixed (by retry or by replaying
the dead letter)."""

import pytest

from jalin.core import consumers
from jalin.core.events import dead_letter_replay, events_process
from jalin.core.events_models import ConsumerState, DeadLetter
from jalin.crm.models import Account, HubBuyerLink, TimelineEntry
from jalin.crm.timeline.consumer import TIMELINE_CONSUMER, record_timeline
from jalin.hub.models import TradingRelationship
from jalin.hub.services import relationship_create


class Broken(RuntimeError):
    pass


def broken_timeline(event):
    raise Broken("timeline database is on fire")


@pytest.fixture
def broken_consumer():
    """Swap the real timeline handler for one that raises; put it back afterwards."""
    consumers.unregister_consumer(TIMELINE_CONSUMER)
    consumers.register_consumer(TIMELINE_CONSUMER, broken_timeline)
    yield
    consumers.unregister_consumer(TIMELINE_CONSUMER)
    consumers.register_consumer(TIMELINE_CONSUMER, record_timeline)


def fix_timeline():
    consumers.unregister_consumer(TIMELINE_CONSUMER)
    consumers.register_consumer(TIMELINE_CONSUMER, record_timeline)


@pytest.fixture
def buyer(other_org):
    other_org.is_buyer = True
    other_org.save(update_fields=["is_buyer"])
    return other_org


@pytest.fixture
def linked_account(org, buyer):
    org.is_supplier = True
    org.save(update_fields=["is_supplier"])
    return Account.objects.create(organization=org, name="PT Pembeli", hub_organization=buyer)


def hub_lines(account):
    return TimelineEntry.objects.filter(account=account, category="hub")


def test_broken_timeline_does_not_stop_the_hub_and_catches_up_on_retry(
        org, owner, buyer, linked_account, broken_consumer, settings):
    settings.JALIN_EVENT_BACKOFF_BASE_SECONDS = 0
    relationship = relationship_create(supplier=org, buyer=buyer, actor=owner)
    events_process()
    # The hub's write committed and the other CRM consumer got the event.
    assert TradingRelationship.objects.filter(pk=relationship.pk).exists()
    assert HubBuyerLink.objects.filter(organization=org, buyer=buyer).exists()
    state = ConsumerState.objects.get(name=TIMELINE_CONSUMER)
    assert state.attempts == 1 and "on fire" in state.last_error
    assert not hub_lines(linked_account).exists()
    # The hub keeps working while the timeline is down.
    events_process()
    assert not hub_lines(linked_account).exists()

    fix_timeline()
    events_process()
    assert list(hub_lines(linked_account).values_list("event_type", flat=True)) == [
        "hub.relationship.created"]
    state.refresh_from_db()
    assert state.attempts == 0 and state.last_error == ""


def test_dead_lettered_timeline_event_is_replayed_after_the_fix(
        org, owner, buyer, linked_account, broken_consumer, settings):
    settings.JALIN_EVENT_MAX_ATTEMPTS = 1
    relationship_create(supplier=org, buyer=buyer, actor=owner)
    events_process()
    letter = DeadLetter.objects.get(consumer=TIMELINE_CONSUMER)
    assert letter.event.type == "hub.relationship.created"
    assert HubBuyerLink.objects.filter(organization=org, buyer=buyer).exists()
    assert not hub_lines(linked_account).exists()

    fix_timeline()
    assert dead_letter_replay(dead_letter=letter, actor=owner) is True
    assert hub_lines(linked_account).count() == 1
    # Redelivering it once more (an operator rewinding the cursor) changes nothing.
    record_timeline(letter.event)
    assert hub_lines(linked_account).count() == 1
