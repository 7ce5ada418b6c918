"""Transactional outbox tables. See jalin/core/events.py for emit and delivery."""

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone


class EventQuerySet(models.QuerySet):
    def for_org(self, organization):
        return self.filter(organization=organization)


class Event(models.Model):
    """A domain event, written in the same transaction as the change it describes.

    `id` is assigned at insert, before commit, so ids do not arrive in commit order. Consumers
    therefore never read by id: the sequencer gives each committed event a `position` in the
    order it became visible, and cursors move over positions.
    """

    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    type = models.CharField(max_length=100)
    aggregate_type = models.CharField(max_length=100, blank=True)
    aggregate_id = models.CharField(max_length=64, blank=True)
    payload = models.JSONField(default=dict, encoder=DjangoJSONEncoder)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )
    request_id = models.CharField(max_length=64, blank=True)
    occurred_at = models.DateTimeField(default=timezone.now)
    position = models.BigIntegerField(null=True, blank=True, unique=True)

    objects = EventQuerySet.as_manager()
    tenant_owner = "organization"

    class Meta:
        indexes = [
            models.Index(fields=["organization", "position"]),
            models.Index(
                fields=["id"],
                condition=models.Q(position__isnull=True),
                name="core_event_unsequenced",
            ),
        ]

    def __str__(self):
        return f"{self.type} #{self.pk}"


class EventSequencer(models.Model):
    """The single row the sequencer locks so that only one transaction assigns positions.

    Holding this lock while reading "committed events without a position" is what makes
    positions commit-ordered: an event that commits after the sequencer ran is simply seen by
    the next run and gets a later position.
    """

    SINGLETON_ID = 1

    last_position = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    tenant_exempt = "System bookkeeping for the event outbox; holds no organization data."

    def __str__(self):
        return f"event sequencer at {self.last_position}"


class ConsumerState(models.Model):
    """One registered consumer's delivery cursor and retry state."""

    name = models.CharField(max_length=100, unique=True)
    position = models.BigIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    tenant_exempt = "A delivery cursor over all organizations' events; holds no tenant data."

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} at {self.position}"


class ConsumerReceipt(models.Model):
    """Proof that a consumer already applied an event's effect (see `idempotent`)."""

    consumer = models.CharField(max_length=100)
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    tenant_owner = "event__organization"

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["consumer", "event"], name="core_consumerreceipt_once"
            ),
        ]

    def __str__(self):
        return f"{self.consumer} applied event #{self.event_id}"


class DeadLetterQuerySet(models.QuerySet):
    def for_org(self, organization):
        return self.filter(event__organization=organization)

    def pending(self):
        return self.filter(replayed_at__isnull=True)


class DeadLetter(models.Model):
    """An event a consumer failed on too many times. The consumer's cursor moved past it."""

    consumer = models.CharField(max_length=100)
    event = models.ForeignKey(Event, on_delete=models.PROTECT, related_name="+")
    error = models.TextField(blank=True)
    traceback = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    replayed_at = models.DateTimeField(null=True, blank=True)

    objects = DeadLetterQuerySet.as_manager()
    tenant_owner = "event__organization"

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(
                fields=["consumer", "id"],
                condition=models.Q(replayed_at__isnull=True),
                name="core_deadletter_pending",
            ),
        ]

    def __str__(self):
        return f"{self.consumer} failed on event #{self.event_id}"
