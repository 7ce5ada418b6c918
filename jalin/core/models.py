from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .events_models import Event  # noqa: F401


class AuditLogQuerySet(models.QuerySet):
    def for_org(self, organization):
        return self.filter(organization=organization)

    def update(self, **kwargs):
        raise TypeError("The audit log is append-only.")

    def delete(self):
        raise TypeError("The audit log is append-only.")


class AuditLog(models.Model):
    """Append-only record of who changed what. Written by services, never by views."""

    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )
    actor_label = models.CharField(max_length=200, blank=True)
    action = models.CharField(_("action"), max_length=100)
    object_type = models.CharField(max_length=100, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    before = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    after = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    request_id = models.CharField(max_length=64, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = AuditLogQuerySet.as_manager()
    tenant_owner = "organization"

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["organization", "-id"]),
            models.Index(fields=["object_type", "object_id"]),
        ]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_label} {self.action}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise TypeError("The audit log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("The audit log is append-only.")


class Notification(models.Model):
    """Something a person should see: a reminder that is due, a mention in a thread.
    Shown in the app (the bell) and, when `emailed_at` is set, also sent by email.
    `key` makes creation idempotent: the same reminder or mention never notifies twice."""

    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="+"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="notifications")
    kind = models.CharField(max_length=30)  # "reminder", "mention", ...
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=300, blank=True)
    key = models.CharField(max_length=150)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    tenant_owner = "organization"

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "organization", "-created_at"],
                         name="core_notification_inbox"),
            models.Index(fields=["user", "organization"], name="core_notification_unread",
                         condition=models.Q(read_at__isnull=True)),
        ]
        constraints = [
            models.UniqueConstraint(fields=["organization", "user", "key"],
                                    name="core_notification_once")
        ]

    def __str__(self):
        return self.title


class NumberSequence(models.Model):
    """The last number handed out in one gap-free sequence of an organization: `scope` names
    the sequence ("hub.order", "hub.invoice", "service.case", "brm.requirement", ...) and
    `period` splits it when numbers restart (a year, say; "" for a sequence that never
    restarts). Only `jalin.core.numbering` reads or writes these rows: it locks the row inside
    the transaction that uses the number, so numbers have no gaps and no duplicates. Each app
    formats its own numbers (INV-…, AGR-…, #…); this row holds only the integer."""

    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="+"
    )
    scope = models.CharField(max_length=40)
    period = models.CharField(max_length=20, blank=True, default="")
    last = models.PositiveBigIntegerField(default=0)

    tenant_owner = "organization"

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "scope", "period"],
                                    name="core_number_sequence_once"),
        ]

    def __str__(self):
        period = f" {self.period}" if self.period else ""
        return f"{self.organization_id} {self.scope}{period}: {self.last}"
