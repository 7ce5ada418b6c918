"""How hub buyers reach the CRM: by the hub's relationship events, never by an import."""

import ast
from pathlib import Path

import pytest
from django.db import transaction
from django.utils import timezone

from jalin.core import consumers
from jalin.core.events import events_process
from jalin.core.events_models import ConsumerState, Event
from jalin.crm import services
from jalin.crm.consumers import HUB_BUYER_LINKS, record_hub_buyer_link
from jalin.crm.models import HubBuyerLink
from jalin.hub.models import TradingRelationship
from jalin.hub.services import relationship_create, relationship_update

JALIN = Path(__file__).resolve().parent.parent / "jalin"


def _imported_modules(path):
    """Absolute names of every module `path` imports (relative imports resolved)."""
    package = ".".join(path.relative_to(JALIN.parent).with_suffix("").parts[:-1])
    names = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            names.append(base)
            names.extend(f"{base}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize(("module", "forbidden"), [("crm", "jalin.hub"), ("hub", "jalin.crm")])
def test_crm_and_hub_never_import_each_other(module, forbidden):
    sources = sorted((JALIN / module).rglob("*.py"))
    assert sources, f"no sources found under jalin/{module}"
    offenders = [
        str(path.relative_to(JALIN.parent)) for path in sources
        if forbidden in path.read_text()
        or any(name == forbidden or name.startswith(forbidden + ".")
               for name in _imported_modules(path))
    ]
    assert offenders == []


def _link(org, buyer):
    return HubBuyerLink.objects.filter(organization=org, buyer=buyer).first()


def test_a_buyer_becomes_linkable_once_the_relationship_event_is_delivered(org, other_org,
                                                                           owner):
    relationship_create(supplier=org, buyer=other_org, actor=owner)
    assert not services.linkable_buyers(org).exists()  # not delivered yet: no reach-back
    events_process()
    link = _link(org, other_org)
    assert link.status == "active"
    assert link.updated_from_event_position == Event.objects.get(
        type="hub.relationship.created").position
    assert list(services.linkable_buyers(org)) == [other_org]
    assert not services.linkable_buyers(other_org).exists()  # the buyer's own CRM sees nothing
    account = services.account_create(organization=org, actor=owner, name="Rival",
                                      hub_organization=other_org)
    assert account.hub_organization == other_org


def test_later_events_win_and_redelivery_changes_nothing(org, other_org, owner):
    relationship = relationship_create(supplier=org, buyer=other_org, actor=owner)
    events_process()
    relationship_update(relationship=relationship, actor=owner, version=relationship.version,
                        status="suspended")
    events_process()
    link = _link(org, other_org)
    assert link.status == "suspended"
    # Suspended customers stay linkable, as the hub still lists them.
    assert list(services.linkable_buyers(org)) == [other_org]

    created = Event.objects.get(type="hub.relationship.created")
    updated = Event.objects.get(type="hub.relationship.updated")
    with transaction.atomic():
        record_hub_buyer_link(created)  # an older event redelivered late
        record_hub_buyer_link(updated)  # the same event twice
    assert HubBuyerLink.objects.count() == 1
    link.refresh_from_db()
    assert (link.status, link.updated_from_event_position) == ("suspended", updated.position)


def test_a_failing_crm_consumer_does_not_stop_the_hub_and_catches_up_later(
        org, other_org, owner, monkeypatch):
    def crm_is_down(event):
        raise RuntimeError("CRM is down")

    registered = consumers.get_consumer(HUB_BUYER_LINKS)
    monkeypatch.setitem(consumers._registry, HUB_BUYER_LINKS, consumers.Consumer(
        name=HUB_BUYER_LINKS, handler=crm_is_down, event_types=registered.event_types))

    relationship = relationship_create(supplier=org, buyer=other_org, actor=owner)
    events_process()  # the delivery fails, and says so only in the consumer's state

    assert TradingRelationship.objects.filter(pk=relationship.pk, supplier=org,
                                              buyer=other_org).exists()
    assert _link(org, other_org) is None
    state = ConsumerState.objects.get(name=HUB_BUYER_LINKS)
    assert state.attempts == 1 and "CRM is down" in state.last_error

    monkeypatch.undo()  # the CRM recovers ...
    ConsumerState.objects.filter(name=HUB_BUYER_LINKS).update(
        next_attempt_at=timezone.now())  # ... and its backoff has passed
    events_process()

    assert _link(org, other_org).status == "active"
    state.refresh_from_db()
    assert state.attempts == 0 and state.last_error == ""
    assert list(services.linkable_buyers(org)) == [other_org]
