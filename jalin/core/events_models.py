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
