"""Registry of event consumers.

Apps register consumers in `AppConfig.ready()`:

    from jalin.core.consumers import consumer

    @consumer("crm.timeline", types=["hub.order_placed", "hub.order_cancelled"])
    def record_on_timeline(event):
        ...

A consumer's name is its identity in the database (its cursor, dead letters and receipts), so
renaming a consumer starts a new cursor from the first event. The handler receives one
`Event` at a time, in position order, inside a transaction that also advances its cursor.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured

MAX_NAME_LENGTH = 100


@dataclass(frozen=True)
class Consumer:
    name: str
    handler: Callable
    event_types: frozenset[str] | None = None  # None: every event type

    def wants(self, event_type):
        return self.event_types is None or event_type in self.event_types


_registry: dict[str, Consumer] = {}


def register_consumer(name, handler, event_types: Iterable[str] | None = None) -> Consumer:
    """Register `handler` under `name`. Registering the same handler again is a no-op."""
    if not name or len(name) > MAX_NAME_LENGTH:
        raise ImproperlyConfigured(f"Consumer name must be 1..{MAX_NAME_LENGTH} characters.")
    if isinstance(event_types, str):
        raise ImproperlyConfigured("event_types must be a list of event types, not a string.")
    registration = Consumer(
        name=name,
        handler=handler,
        event_types=frozenset(event_types) if event_types is not None else None,
    )
    existing = _registry.get(name)
    if existing is not None and existing != registration:
        raise ImproperlyConfigured(f"Event consumer {name!r} is already registered.")
    _registry[name] = registration
    return registration


def consumer(name, *, types: Iterable[str] | None = None):
    """Decorator form of `register_consumer`."""

    def decorate(handler):
        register_consumer(name, handler, event_types=types)
        return handler

    return decorate


def unregister_consumer(name):
    """Forget a consumer (tests, or a consumer being retired). Its cursor row stays."""
    _registry.pop(name, None)


def get_consumer(name) -> Consumer | None:
    return _registry.get(name)


def registered_consumers() -> list[Consumer]:
    return [_registry[name] for name in sorted(_registry)]
