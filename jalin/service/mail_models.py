"""Email to case: the support mailboxes of an organization and the log of every e-mail that
went in or out of a case (which is also what makes inbound mail idempotent by Message-ID).

Imported by `jalin.service.models`; the services live in `jalin.service.inbound_mail`
(parsing, routing, case creation), `jalin.service.mail_transports` (SMTP server, IMAP poller)
and `jalin.service.outbound_mail` (replies and acknowledgements sent to customers).
"""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class SupportMailbox(models.Model):
    """An address customers write to (support@sinar.example). Mail for it becomes cases of the
    owning organization; replies to those cases are sent from it.

    Mail reaches Jalin by one of: the `jalin mail_inbound` SMTP server (the MX or a forward
    delivers to it), the IMAP poller (`imap_host` set: the worker fetches unseen messages every
    minute), or the HTTP endpoint (a relay posts the raw message with the mailbox's token).

    Secrets: the IMAP password is stored encrypted (`jalin.service.mail_crypto`, a key derived
    from SECRET_KEY) and never shown again; the HTTP token is stored as a SHA-256 hash only.
    """

    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="+"
    )
    # Lower-case; unique over all organizations because the recipient picks the owner.
    address = models.EmailField(_("address"), max_length=254, unique=True)
    name = models.CharField(_("name"), max_length=100, blank=True)
    default_kind = models.CharField(_("kind of new cases"), max_length=20,
                                    default="question")
    default_priority = models.CharField(_("priority of new cases"), max_length=10,
                                        default="normal")
    default_team = models.ForeignKey("service.Team", verbose_name=_("team of new cases"),
                                     on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="+")
    send_acknowledgement = models.BooleanField(_("acknowledge new cases by e-mail"),
                                               default=True)
    is_active = models.BooleanField(_("active"), default=True)
    # IMAP polling (optional).
    imap_host = models.CharField(_("IMAP host"), max_length=255, blank=True)
    imap_port = models.PositiveIntegerField(_("IMAP port"), null=True, blank=True)
    imap_user = models.CharField(_("IMAP user"), max_length=255, blank=True)
    imap_password_encrypted = models.TextField(blank=True)
    imap_folder = models.CharField(_("IMAP folder"), max_length=255, default="INBOX")
    imap_ssl = models.BooleanField(_("IMAP over TLS"), default=True)
    # Lease that keeps two workers from polling the same mailbox at once.
    poll_lease_until = models.DateTimeField(null=True, blank=True)
    poll_lease_owner = models.CharField(max_length=64, blank=True)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    last_poll_error = models.TextField(blank=True)
    # HTTP endpoint: SHA-256 of the token (the token itself is shown once when issued).
    inbound_token_hash = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    tenant_owner = "organization"

    class Meta:
        ordering = ["address"]
        indexes = [
            models.Index(fields=["organization", "address"], name="service_mailbox_org"),
        ]

    def __str__(self):
        return self.address

    @property
    def polls_imap(self):
        return bool(self.imap_host and self.imap_user)

    @property
    def default_kind_label(self):
        from .models import CaseKind

        return dict(CaseKind.choices).get(self.default_kind, self.default_kind)

    @property
    def default_priority_label(self):
        from .models import CasePriority

        return dict(CasePriority.choices).get(self.default_priority, self.default_priority)

    @property
    def has_imap_password(self):
        return bool(self.imap_password_encrypted)

    @property
    def has_inbound_token(self):
        return bool(self.inbound_token_hash)


class EmailDirection(models.TextChoices):
    INBOUND = "in", _("Received")
    OUTBOUND = "out", _("Sent")


class EmailOutcome(models.TextChoices):
    OPENED = "opened", _("Opened a case")
    ADDED = "added", _("Added to a case")
    IGNORED = "ignored", _("Ignored (automatic reply or loop)")
    SENT = "sent", _("Sent")


class CaseEmail(models.Model):
    """One e-mail into or out of the service desk. Unique per organization by Message-ID:
    the same message delivered twice (two transports, a retried poll, two workers) is
    recorded once and makes one case or one message."""

    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="+"
    )
    mailbox = models.ForeignKey(SupportMailbox, on_delete=models.SET_NULL, null=True,
                                blank=True, related_name="emails")
    direction = models.CharField(max_length=3, choices=EmailDirection.choices)
    message_id = models.CharField(max_length=255)
    transport = models.CharField(max_length=10, blank=True)  # smtp, imap, http, backend
    outcome = models.CharField(max_length=10, choices=EmailOutcome.choices)
    detail = models.CharField(max_length=200, blank=True)
    case = models.ForeignKey("service.Case", on_delete=models.SET_NULL, null=True, blank=True,
                             related_name="emails")
    case_message = models.ForeignKey("service.CaseMessage", on_delete=models.SET_NULL,
                                     null=True, blank=True, related_name="+")
    from_address = models.CharField(max_length=254, blank=True)
    to_address = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=200, blank=True)
    size = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    tenant_owner = "organization"

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "message_id"],
                                    name="service_case_email_once"),
        ]
        indexes = [
            models.Index(fields=["organization", "-id"], name="service_case_email_org"),
            models.Index(fields=["case", "direction"], name="service_case_email_case"),
        ]

    def __str__(self):
        return f"{self.direction} {self.message_id}"
