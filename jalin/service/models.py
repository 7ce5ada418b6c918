"""Service management records owned by the supplier organization: the service catalogue and
the agreements (contracts, SLAs, OLAs, underpinning contracts) that promise service levels,
business-hours calendars, the service desk's cases with their SLA clocks, and satisfaction
surveys.

A case may have a `buyer`: the hub organization of the case's account. Buyer users see exactly
the cases, agreements and survey invitations whose `buyer` is their organization (the portal);
everything else is visible to the owning supplier only. The BRM module (`jalin.brm`) builds on
these records; nothing here imports it.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from jalin.core.storage import private_storage
from jalin.tenancy.models import validate_time_zone


def default_weekly_hours():
    """Monday–Friday 08:00–17:00. Keys are ISO weekdays (1 = Monday) as strings; each value
    is a list of [start, end] "HH:MM" pairs in the calendar's time zone."""
    return {str(day): [["08:00", "17:00"]] for day in range(1, 6)}


class BusinessCalendar(models.Model):
    """When the clock of an SLA runs: weekly working hours in a time zone, minus holidays."""

    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="+"
    )
    name = models.CharField(_("name"), max_length=100)
    time_zone = models.CharField(_("time zone"), max_length=64, default="Asia/Jakarta",
                                 validators=[validate_time_zone])
    # Public holidays of this country are preloaded (python `holidays`); own rows can be added.
    country = models.CharField(_("holiday country"), max_length=2, default="ID", blank=True)
    weekly_hours = models.JSONField(_("working hours"), default=default_weekly_hours)
    # 24x7 support: every minute counts, holidays included.
    always_open = models.BooleanField(_("24 × 7"), default=False)
    is_default = models.BooleanField(_("default calendar"), default=False)
    created_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    tenant_owner = "organization"

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"],
                                    name="service_calendar_unique_name"),
            models.UniqueConstraint(fields=["organization"], condition=models.Q(is_default=True),
                                    name="service_calendar_one_default"),
        ]

    def __str__(self):
        return self.name


class Holiday(models.Model):
    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE,
                                 related_name="holidays")
    date = models.DateField(_("date"))
    name = models.CharField(_("name"), max_length=120)
    # Loaded from the country's public holidays (vs. added by hand).
    preloaded = models.BooleanField(default=False)

    tenant_owner = "calendar__organization"

    class Meta:
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["calendar", "date"], name="service_holiday_once"),
        ]

    def __str__(self):
        return f"{self.date} {self.name}"


class Team(models.Model):
    """A group of agents cases can be assigned to (first line, field service, billing...)."""

    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="+"
    )
    name = models.CharField(_("name"), max_length=100)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+",
                                     verbose_name=_("members"))
    archived_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    tenant_owner = "organization"

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"],
                                    name="service_team_unique_name"),
        ]

    def __str__(self):
        return self.name


class CasePriority(models.TextChoices):
    CRITICAL = "critical", _("Critical")
    HIGH = "high", _("High")
    NORMAL = "normal", _("Normal")
    LOW = "low", _("Low")


class SlaMetric(models.TextChoices):
    FIRST_RESPONSE = "first_response", _("First response")
    RESOLUTION = "resolution", _("Resolution")


class SlaPolicy(models.Model):
    """Response and resolution targets per priority, counted in a calendar's business hours.
    The policy that applies to a case comes from the customer's active agreement, else the
    organization's default policy."""

    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="+"
    )
    name = models.CharField(_("name"), max_length=100)
    calendar = models.ForeignKey(BusinessCalendar, verbose_name=_("calendar"),
                                 on_delete=models.PROTECT, related_name="+")
    is_default = models.BooleanField(_("default policy"), default=False)
    # Warn when this share of a target has elapsed; breach is always at 100%.
    warn_at_percent = models.PositiveSmallIntegerField(
        _("warn at (%)"), default=75, validators=[MinValueValidator(1), MaxValueValidator(99)])
    # Cases under no agreement (the default policy): share of clocks per target that must be
    # met for a period to count as met (agreements carry their own).
    required_attainment_percent = models.DecimalField(
        _("required attainment (%)"), max_digits=5, decimal_places=2, default=Decimal("95"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))])
    archived_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    tenant_owner = "organization"

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "SLA policies"
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"],
                                    name="service_sla_policy_unique_name"),
            models.UniqueConstraint(fields=["organization"], condition=models.Q(is_default=True),
                                    name="service_sla_policy_one_default"),
        ]

    def __str__(self):
        return self.name


class SlaTarget(models.Model):
    policy = models.ForeignKey(SlaPolicy, on_delete=models.CASCADE, related_name="targets")
    priority = models.CharField(_("priority"), max_length=10, choices=CasePriority.choices)
    metric = models.CharField(_("metric"), max_length=20, choices=SlaMetric.choices)
    minutes = models.PositiveIntegerField(_("target (business minutes)"),
                                          validators=[MinValueValidator(1)])

    tenant_owner = "policy__organization"

    class Meta:
        ordering = ["policy", "metric", "priority"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "priority", "metric"],
                                    name="service_sla_target_once"),
        ]

    def __str__(self):
        return f"{self.policy} {self.metric} {self.priority}: {self.minutes} min"


# --- Service portfolio --------------------------------------------------------------------


class ServiceStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    UNDER_EVALUATION = "under_evaluation", _("Under evaluation")
    APPROVED = "approved", _("Approved")
    DESIGN = "design", _("Design")
    LIVE = "live", _("Live")
    PENDING_RETIREMENT = "pending_retirement", _("Pending retirement")
    RETIRED = "retired", _("Retired")
    CANCELLED = "cancelled", _("Cancelled")


# Portfolio sections: pipeline (not yet offered), catalogue (offered), retired.
SERVICE_PIPELINE = (ServiceStatus.DRAFT, ServiceStatus.UNDER_EVALUATION, ServiceStatus.APPROVED,
                    ServiceStatus.DESIGN)
SERVICE_CATALOGUE = (ServiceStatus.LIVE, ServiceStatus.PENDING_RETIREMENT)
SERVICE_RETIRED = (ServiceStatus.RETIRED, ServiceStatus.CANCELLED)


class ItilStage(models.TextChoices):
    STRATEGY = "strategy", _("Service strategy")
    DESIGN = "design", _("Service design")
    TRANSITION = "transition", _("Service transition")
    OPERATION = "operation", _("Service operation")
    IMPROVEMENT = "improvement", _("Continual service improvement")


class Service(models.Model):
    """A service the organization offers (or plans to, or used to)."""

    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="+"
    )
    code = models.CharField(_("code"), max_length=30)
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    category = models.CharField(_("category"), max_length=100, blank=True)
    # ITIL: utility = fit for purpose (what it does), warranty = fit for use (how well).
    utility = models.TextField(_("utility (what it does)"), blank=True)
    warranty = models.TextField(_("warranty (how well: availability, capacity, security)"),
                                blank=True)
    status = models.CharField(_("status"), max_length=20, choices=ServiceStatus.choices,
                              default=ServiceStatus.DRAFT)
    stage = models.CharField(_("ITIL stage"), max_length=20, choices=ItilStage.choices,
                             default=ItilStage.STRATEGY)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("owner"),
                              on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="+")
    live_since = models.DateField(_("live since"), null=True, blank=True)
    retired_on = models.DateField(_("retired on"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    tenant_owner = "organization"

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "code"],
                                    name="service_service_unique_code"),
        ]
        indexes = [
            models.Index(fields=["organization", "status", "name"],
                         name="service_service_org_status"),
        ]

    def __str__(self):
        return self.name


class ServiceStatusChange(models.Model):
    """Lifecycle history of a service: who moved it, from what, to what, when."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, related_name="+")
    comment = models.TextField(blank=True)
    changed_at = models.DateTimeField(default=timezone.now)

    tenant_owner = "service__organization"

    class Meta:
        ordering = ["changed_at", "id"]

    def __str__(self):
        return f"{self.from_status} → {self.to_status}"


class ServiceSubscription(models.Model):
    """A customer (CRM account) that uses a service, from when, under which agreement."""

    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="+"
    )
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="subscriptions")
    account = models.ForeignKey("crm.Account", on_delete=models.CASCADE, related_name="+")
    agreement = models.ForeignKey("Agreement", on_delete=models.SET_NULL, null=True,
                                  blank=True, related_name="subscriptions")
    started_on = models.DateField(_("since"), default=timezone.localdate)
    ended_on = models.DateField(_("until"), null=True, blank=True)

    tenant_owner = "organization"

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["service", "account"],
                                    name="service_subscription_once"),
        ]
        indexes = [
            models.Index(fields=["organization", "account"], name="service_subscr_org_account"),
        ]

    def __str__(self):
        return f"{self.account_id} uses {self.service_id}"


# --- Agreement portfolio ------------------------------------------------------------------


class AgreementKind(models.TextChoices):
    CONTRACT = "contract", _("Contract")
    SLA = "sla", _("Service level agreement (SLA)")
    OLA = "ola", _("Operational level agreement (OLA)")
    UNDERPINNING = "underpinning", _("Underpinning contract")


class AgreementStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    NEGOTIATION = "negotiation", _("Negotiation")
    PENDING_SIGNATURE = "pending_signature", _("Pending signature")
    ACTIVE = "active", _("Active")
    SUSPENDED = "suspended", _("Suspended")
    EXPIRED = "expired", _("Expired")
    TERMINATED = "terminated", _("Terminated")


class Agreement(models.Model):
    """A contract, SLA, OLA or underpinning contract. A customer agreement (contract/SLA) names
    the CRM account and, through `buyer`, is visible to that customer in the portal; an OLA is
    with an internal team; an underpinning contract with a third party (`counterparty`)."""

    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="+"
    )
    number = models.PositiveIntegerField(_("number"))
    kind = models.CharField(_("kind"), max_length=20, choices=AgreementKind.choices,
                            default=AgreementKind.SLA)
    title = models.CharField(_("title"), max_length=200)
    account = models.ForeignKey("crm.Account", verbose_name=_("customer"),
                                on_delete=models.PROTECT, null=True, blank=True,
                                related_name="+")
    buyer = models.ForeignKey("tenancy.Organization", on_delete=models.SET_NULL, null=True,
                              blank=True, related_name="+")
    team = models.ForeignKey(Team, verbose_name=_("internal team (OLA)"),
                             on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    counterparty = models.CharField(_("third party (underpinning contract)"), max_length=200,
                                    blank=True)
    services = models.ManyToManyField(Service, verbose_name=_("services covered"), blank=True,
                                      related_name="agreements")
    sla_policy = models.ForeignKey(SlaPolicy, verbose_name=_("SLA policy"),
                                   on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="agreements")
    # Share of cases per target that must meet it for the period to count as met.
    required_attainment_percent = models.DecimalField(
        _("required attainment (%)"), max_digits=5, decimal_places=2, default=Decimal("95"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))])
    availability_percent = models.DecimalField(
        _("availability (%)"), max_digits=6, decimal_places=3, null=True, blank=True,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))])
    rto_minutes = models.PositiveIntegerField(_("recovery time objective (minutes)"),
                                              null=True, blank=True)
    rpo_minutes = models.PositiveIntegerField(_("recovery point objective (minutes)"),
                                              null=True, blank=True)
    maintenance_window = models.CharField(_("maintenance window"), max_length=200, blank=True)
    starts_on = models.DateField(_("valid from"), null=True, blank=True)
    ends_on = models.DateField(_("valid until"), null=True, blank=True)
    review_on = models.DateField(_("next review"), null=True, blank=True)
    renewal_notice_days = models.PositiveIntegerField(_("renewal notice (days)"), default=60)
    status = models.CharField(_("status"), max_length=20, choices=AgreementStatus.choices,
                              default=AgreementStatus.DRAFT)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("owner"),
                              on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="+")
    notes = models.TextField(_("notes"), blank=True)
    # Incremented each time the agreement goes to "pending signature" (see AgreementSignature).
    signature_round = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    tenant_owner = "organization"

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "number"],
                                    name="service_agreement_unique_number"),
        ]
        indexes = [
            models.Index(fields=["organization", "status", "ends_on"],
                         name="service_agreement_org_status"),
            models.Index(fields=["organization", "account", "status"],
                         name="service_agreement_org_acct"),
            models.Index(fields=["buyer", "status"], name="service_agreement_buyer"),
        ]

    def __str__(self):
        return f"AGR-{self.number} {self.title}"


class AgreementStatusChange(models.Model):
    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE,
                                  related_name="status_changes")
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, related_name="+")
    comment = models.TextField(blank=True)
    changed_at = models.DateTimeField(default=timezone.now)

    tenant_owner = "agreement__organization"

    class Meta:
        ordering = ["changed_at", "id"]

    def __str__(self):
        return f"{self.from_status} → {self.to_status}"


class SignatureDecision(models.TextChoices):
    SIGNED = "signed", _("Signed")
    DECLINED = "declined", _("Declined")


class AgreementSignature(models.Model):
    """One party's signature (or refusal) of an agreement: a row, never a boolean."""

    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="signatures")
    # "provider" (the supplier's side) or "customer".
    party = models.CharField(max_length=10)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                             related_name="+")
    signer_name = models.CharField(max_length=200)
    decision = models.CharField(max_length=10, choices=SignatureDecision.choices)
    comment = models.TextField(blank=True)
    decided_at = models.DateTimeField(default=timezone.now)
    # Which signature round (Agreement.signature_round) this answers: each time the agreement
    # goes to "pending signature" a new round starts; each party answers once per round.
    round = models.PositiveIntegerField(default=1)

    tenant_owner = "agreement__organization"

    class Meta:
        ordering = ["decided_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["agreement", "round", "party"],
                                    name="service_signature_once_per_round"),
        ]

    def __str__(self):
        return f"{self.signer_name}: {self.decision}"


class AgreementReminderKind(models.TextChoices):
    REVIEW = "review", _("Review due")
    RENEWAL = "renewal", _("Renewal notice")


class AgreementReminder(models.Model):
    """A reminder sent for an agreement: at most one per agreement, kind and date (the review
    date or the end date it warns about), however often the job runs."""

    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="reminders")
    kind = models.CharField(max_length=10, choices=AgreementReminderKind.choices)
    # The date the reminder is about (review_on, or ends_on for a renewal).
    due_on = models.DateField()
    notified_user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                      null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    tenant_owner = "agreement__organization"

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["agreement", "kind", "due_on"],
                                    name="service_agreement_reminder_once"),
        ]

    def __str__(self):
        return f"{self.agreement_id} {self.kind} {self.due_on}"


class AgreementDocument(models.Model):
    """A file attached to an agreement (the signed contract, annexes). Stored in the private
    storage and only ever served as a download to the agreement's parties."""

    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="documents")
    title = models.CharField(_("title"), max_length=200)
    file = models.FileField(max_length=300, storage=private_storage)
    original_name = models.CharField(_("file name"), max_length=255)
    size = models.PositiveBigIntegerField()
    content_type = models.CharField(max_length=100)
    sha256 = models.CharField(max_length=64)
    # Shown to the customer in the portal (false: internal working papers).
    shared_with_customer = models.BooleanField(_("visible to the customer"), default=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                    null=True, blank=True, related_name="+")
    uploaded_at = models.DateTimeField(default=timezone.now)

    tenant_owner = "agreement__organization"

    class Meta:
        ordering = ["-uploaded_at", "-id"]

    def __str__(self):
        return self.title


# --- Service desk -------------------------------------------------------------------------


class CaseKind(models.TextChoices):
    COMPLAINT = "complaint", _("Complaint")
    COMPLIMENT = "compliment", _("Compliment")
    QUESTION = "question", _("Question")
    INCIDENT = "incident", _("Incident")
    SERVICE_REQUEST = "service_request", _("Service request")
    FEEDBACK = "feedback", _("Feedback")


class CaseStatus(models.TextChoices):
    NEW = "new", _("New")
    OPEN = "open", _("Open")
    WAITING = "waiting", _("Waiting on customer")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")
    MERGED = "merged", _("Merged")


CASE_OPEN_STATUSES = (CaseStatus.NEW, CaseStatus.OPEN, CaseStatus.WAITING)


class CaseChannel(models.TextChoices):
    PORTAL = "portal", _("Portal")
    EMAIL = "email", _("Email")
    API = "api", _("API")
    STAFF = "staff", _("Staff")
    SURVEY = "survey", _("Survey follow-up")


class Case(models.Model):
    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="+"
    )
    number = models.PositiveIntegerField(_("number"))
    kind = models.CharField(_("kind"), max_length=20, choices=CaseKind.choices,
                            default=CaseKind.QUESTION)
    subject = models.CharField(_("subject"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    priority = models.CharField(_("priority"), max_length=10, choices=CasePriority.choices,
                                default=CasePriority.NORMAL)
    category = models.CharField(_("category"), max_length=100, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=CaseStatus.choices,
                              default=CaseStatus.NEW)
    channel = models.CharField(_("channel"), max_length=10, choices=CaseChannel.choices,
                               default=CaseChannel.STAFF)
    account = models.ForeignKey("crm.Account", verbose_name=_("account"),
                                on_delete=models.PROTECT, null=True, blank=True,
                                related_name="+")
    contact = models.ForeignKey("crm.Contact", verbose_name=_("contact"),
                                on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="+")
    # The customer's hub organization (from the account): its portal users see this case.
    buyer = models.ForeignKey("tenancy.Organization", on_delete=models.SET_NULL, null=True,
                              blank=True, related_name="+")
    requester = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                  null=True, blank=True, related_name="+")
    requester_email = models.EmailField(_("requester email"), blank=True)
    order = models.ForeignKey("hub.Order", verbose_name=_("order"), on_delete=models.SET_NULL,
                              null=True, blank=True, related_name="+")
    service = models.ForeignKey(Service, verbose_name=_("service"), on_delete=models.SET_NULL,
                                null=True, blank=True, related_name="cases")
    # The agreement and policy whose SLA applies (resolved when the case opens or changes).
    agreement = models.ForeignKey(Agreement, verbose_name=_("agreement"),
                                  on_delete=models.SET_NULL, null=True, blank=True,
                                  related_name="cases")
    sla_policy = models.ForeignKey(SlaPolicy, verbose_name=_("SLA policy"),
                                   on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("assignee"),
                                 on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="+")
    team = models.ForeignKey(Team, verbose_name=_("team"), on_delete=models.SET_NULL,
                             null=True, blank=True, related_name="cases")
    merged_into = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="merged_cases")
    # A follow-up case (e.g. opened by a low survey score) points at the case it follows.
    follow_up_of = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="follow_ups")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")
    first_responded_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    tenant_owner = "organization"

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "number"],
                                    name="service_case_unique_number"),
        ]
        indexes = [
            models.Index(fields=["organization", "status", "-id"], name="service_case_status"),
            models.Index(fields=["organization", "assignee", "status"],
                         name="service_case_assignee"),
            models.Index(fields=["organization", "team", "status"], name="service_case_team"),
            models.Index(fields=["organization", "account", "-id"], name="service_case_account"),
            models.Index(fields=["buyer", "-id"], name="service_case_buyer"),
            models.Index(fields=["organization", "created_at"], name="service_case_created"),
        ]

    def __str__(self):
        return f"#{self.number} {self.subject}"

    @property
    def is_open(self):
        return self.status in CASE_OPEN_STATUSES


class MessageVisibility(models.TextChoices):
    PUBLIC = "public", _("Reply to customer")
    INTERNAL = "internal", _("Internal note")


class CaseMessage(models.Model):
    """A public reply (seen by the customer) or an internal note (staff only)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="messages")
    visibility = models.CharField(max_length=10, choices=MessageVisibility.choices,
                                  default=MessageVisibility.PUBLIC)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                               blank=True, related_name="+")
    author_email = models.EmailField(blank=True)
    # True when written by the supplier's staff, False when by the customer.
    from_staff = models.BooleanField(default=True)
    channel = models.CharField(max_length=10, choices=CaseChannel.choices,
                               default=CaseChannel.STAFF)
    body = models.TextField(_("message"))
    # RFC 5322 Message-ID of the e-mail this came from or was sent as (threading, dedupe).
    email_message_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    tenant_owner = "case__organization"

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["case", "created_at"], name="service_message_case"),
            models.Index(fields=["email_message_id"], name="service_message_msgid",
                         condition=~models.Q(email_message_id="")),
        ]

    def __str__(self):
        return f"{self.case_id} {self.visibility}"


class CaseEvent(models.Model):
    """History of a case: every change of status, priority, assignee, SLA, merge, escalation."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="history")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                              blank=True, related_name="+")
    action = models.CharField(max_length=40)
    from_value = models.CharField(max_length=200, blank=True)
    to_value = models.CharField(max_length=200, blank=True)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    tenant_owner = "case__organization"

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"{self.case_id} {self.action}"


class CannedReply(models.Model):
    """A reply text agents insert into the reply box, shared by the organization's agents.

    The body may hold placeholders such as {{ case.number }} or {{ contact.first_name }}; they
    are replaced by plain-text substitution from a fixed list (`jalin.service.desk`), never
    rendered as a template."""

    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="+"
    )
    title = models.CharField(_("title"), max_length=120)
    body = models.TextField(_("text"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    tenant_owner = "organization"

    class Meta:
        ordering = ["title", "id"]
        verbose_name_plural = "canned replies"
        constraints = [
            models.UniqueConstraint(fields=["organization", "title"],
                                    name="service_canned_reply_unique_title"),
        ]

    def __str__(self):
        return self.title


class SlaClockState(models.TextChoices):
    RUNNING = "running", _("Running")
    PAUSED = "paused", _("Paused")
    ACHIEVED = "achieved", _("Met")
    BREACHED = "breached", _("Breached")
    CANCELLED = "cancelled", _("Cancelled")


class SlaClock(models.Model):
    """One SLA target's clock on one case (first response or resolution).

    Time is counted in the calendar's business seconds. `elapsed_seconds` is what had elapsed
    when the clock last changed state (`segment_started_at`); while running, the time since then
    is added. Changing the target (priority, agreement) keeps elapsed and paused time and only
    moves `due_at`. `warned_at`/`breached_at` are set exactly once (conditional updates)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="sla_clocks")
    metric = models.CharField(max_length=20, choices=SlaMetric.choices)
    policy = models.ForeignKey(SlaPolicy, on_delete=models.SET_NULL, null=True, related_name="+")
    agreement = models.ForeignKey(Agreement, on_delete=models.SET_NULL, null=True, blank=True,
                                  related_name="+")
    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.PROTECT, related_name="+")
    target_seconds = models.PositiveIntegerField()
    # The case priority the target was taken for (results are grouped by it).
    priority = models.CharField(max_length=10, choices=CasePriority.choices, blank=True)
    state = models.CharField(max_length=10, choices=SlaClockState.choices,
                             default=SlaClockState.RUNNING)
    started_at = models.DateTimeField()
    segment_started_at = models.DateTimeField(null=True, blank=True)
    elapsed_seconds = models.PositiveIntegerField(default=0)
    paused_seconds = models.PositiveIntegerField(default=0)
    due_at = models.DateTimeField(null=True, blank=True)
    warn_at = models.DateTimeField(null=True, blank=True)
    warned_at = models.DateTimeField(null=True, blank=True)
    breached_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)

    tenant_owner = "case__organization"

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["case", "metric"], name="service_sla_clock_once"),
        ]
        indexes = [
            # The worker's scans: running clocks that are due for a warning or a breach.
            models.Index(fields=["warn_at"], name="service_clock_warn_due",
                         condition=models.Q(state="running", warned_at__isnull=True)),
            models.Index(fields=["due_at"], name="service_clock_breach_due",
                         condition=models.Q(state="running", breached_at__isnull=True)),
            # Clocks decided in a period: missed when they breached then, met when they
            # stopped then without a breach (sla_results.decided_clocks, the monthly freeze
            # job, BRM measures and metrics). The clock has no organization column (it is
            # the case's), so the period is the bound; the case join narrows to the tenant.
            models.Index(fields=["breached_at"], name="service_clock_breached",
                         condition=models.Q(breached_at__isnull=False)),
            models.Index(fields=["stopped_at"], name="service_clock_met",
                         condition=models.Q(state="achieved", breached_at__isnull=True)),
        ]

    def __str__(self):
        return f"{self.case_id} {self.metric} {self.state}"


class EscalationTrigger(models.TextChoices):
    WARNING = "warning", _("On warning")
    BREACH = "breach", _("On breach")


class EscalationAction(models.TextChoices):
    NOTIFY_USER = "notify_user", _("Notify a user")
    NOTIFY_TEAM = "notify_team", _("Notify a team")
    REASSIGN_TEAM = "reassign_team", _("Reassign to a team")
    RAISE_PRIORITY = "raise_priority", _("Raise the priority")


class EscalationRule(models.Model):
    """What happens when an SLA clock warns or breaches: notify someone, hand the case to a
    team, or raise its priority. Applied at most once per clock (`SlaEscalation`)."""

    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="+"
    )
    name = models.CharField(_("name"), max_length=100)
    trigger = models.CharField(_("when"), max_length=10, choices=EscalationTrigger.choices)
    # Blank: any metric / any priority.
    metric = models.CharField(_("metric"), max_length=20, choices=SlaMetric.choices,
                              blank=True)
    priority = models.CharField(_("priority"), max_length=10, choices=CasePriority.choices,
                                blank=True)
    action = models.CharField(_("action"), max_length=20, choices=EscalationAction.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("user"),
                             on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    team = models.ForeignKey(Team, verbose_name=_("team"), on_delete=models.SET_NULL,
                             null=True, blank=True, related_name="+")
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    tenant_owner = "organization"

    class Meta:
        ordering = ["trigger", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"],
                                    name="service_escalation_rule_name"),
        ]

    def __str__(self):
        return self.name


class SlaEscalation(models.Model):
    """One firing of an escalation rule on one clock: the unique row is what makes it happen
    exactly once, whatever the number of workers."""

    clock = models.ForeignKey(SlaClock, on_delete=models.CASCADE, related_name="escalations")
    rule = models.ForeignKey(EscalationRule, on_delete=models.CASCADE, related_name="firings")
    fired_at = models.DateTimeField(default=timezone.now)
    outcome = models.CharField(max_length=200, blank=True)

    tenant_owner = "clock__case__organization"

    class Meta:
        ordering = ["fired_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["clock", "rule"], name="service_escalation_once"),
        ]

    def __str__(self):
        return f"{self.rule_id} on {self.clock_id}"


class SlaResult(models.Model):
    """Frozen SLA results of one month: per agreement (or the default policy: no agreement,
    `agreement_key` 0) × metric × priority. Reports of closed months read these rows, so
    history is never recomputed differently later."""

    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="+"
    )
    agreement = models.ForeignKey(Agreement, on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="sla_results")
    # agreement id, or 0 for the default policy: NULLs are never equal in a unique constraint.
    agreement_key = models.PositiveBigIntegerField(default=0)
    account = models.ForeignKey("crm.Account", on_delete=models.SET_NULL, null=True,
                                blank=True, related_name="+")
    metric = models.CharField(max_length=20, choices=SlaMetric.choices)
    priority = models.CharField(max_length=10, choices=CasePriority.choices)
    period = models.DateField()  # first day of the month
    total = models.PositiveIntegerField(default=0)
    achieved = models.PositiveIntegerField(default=0)
    breached = models.PositiveIntegerField(default=0)
    attainment_percent = models.DecimalField(max_digits=5, decimal_places=2, null=True)
    required_percent = models.DecimalField(max_digits=5, decimal_places=2)
    met = models.BooleanField(null=True)
    frozen_at = models.DateTimeField(default=timezone.now)

    tenant_owner = "organization"

    class Meta:
        ordering = ["-period", "agreement_key", "metric", "priority"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "agreement_key", "metric", "priority", "period"],
                name="service_sla_result_once"),
        ]
        indexes = [
            models.Index(fields=["organization", "period"], name="service_sla_result_period"),
        ]

    def __str__(self):
        return f"{self.period} {self.agreement_key} {self.metric} {self.priority}"

    @property
    def period_start(self):
        return self.period

    @property
    def period_end(self):
        """The last day of the month."""
        import datetime

        following = (self.period.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
        return following - datetime.timedelta(days=1)


# --- Satisfaction -------------------------------------------------------------------------


class SurveyKind(models.TextChoices):
    CSAT = "csat", _("Customer satisfaction (CSAT, 1–5)")
    NPS = "nps", _("Net promoter score (NPS, 0–10)")
    CES = "ces", _("Customer effort score (CES, 1–7)")


SURVEY_SCALES = {SurveyKind.CSAT: (1, 5), SurveyKind.NPS: (0, 10), SurveyKind.CES: (1, 7)}


class SurveyTrigger(models.TextChoices):
    CASE_RESOLVED = "case_resolved", _("When a case is resolved")
    PERIODIC = "periodic", _("Periodically per customer")
    MANUAL = "manual", _("Sent by hand")


def _on_scale(field):
    condition = models.Q()
    for kind, (low, high) in SURVEY_SCALES.items():
        condition |= models.Q(kind=kind, **{f"{field}__gte": low, f"{field}__lte": high})
    return condition


class Survey(models.Model):
    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="+"
    )
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=10, choices=SurveyKind.choices)
    question = models.CharField(_("question"), max_length=300)
    trigger = models.CharField(_("sent"), max_length=20, choices=SurveyTrigger.choices,
                               default=SurveyTrigger.MANUAL)
    # Explicit per survey: a score at or above this is "good" (CSAT %). No default on purpose.
    good_threshold = models.PositiveSmallIntegerField(_("good from score"))
    # A score at or below this opens a follow-up case (blank: never by score).
    follow_up_at_or_below = models.PositiveSmallIntegerField(
        _("open a follow-up case at or below"), null=True, blank=True)
    follow_up_on_comment = models.BooleanField(_("open a follow-up case for any comment"),
                                               default=False)
    invitation_valid_days = models.PositiveSmallIntegerField(
        _("invitations valid for (days)"), default=14, validators=[MinValueValidator(1)])
    # Periodic surveys (relationship NPS): how often each customer is asked.
    period_days = models.PositiveSmallIntegerField(_("ask every (days)"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    tenant_owner = "organization"

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"],
                                    name="service_survey_unique_name"),
            # The good threshold (and the follow-up threshold) lie on the kind's scale.
            models.CheckConstraint(
                condition=_on_scale("good_threshold"), name="service_survey_good_on_scale"),
            models.CheckConstraint(
                condition=models.Q(follow_up_at_or_below__isnull=True)
                | _on_scale("follow_up_at_or_below"),
                name="service_survey_follow_up_on_scale"),
        ]

    def __str__(self):
        return self.name

    @property
    def scale(self):
        return SURVEY_SCALES[self.kind]


class InvitationStatus(models.TextChoices):
    SENT = "sent", _("Sent")
    ANSWERED = "answered", _("Answered")
    EXPIRED = "expired", _("Expired")
    CANCELLED = "cancelled", _("Cancelled")


class SurveyInvitation(models.Model):
    """An invitation to answer a survey once: a link with a token (stored hashed) that
    expires. For a case's CSAT, `case` is set; relationship surveys name only the account."""

    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="+"
    )
    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="invitations")
    token_hash = models.CharField(max_length=64, unique=True)
    case = models.ForeignKey(Case, on_delete=models.SET_NULL, null=True, blank=True,
                             related_name="survey_invitations")
    account = models.ForeignKey("crm.Account", on_delete=models.SET_NULL, null=True,
                                blank=True, related_name="+")
    contact = models.ForeignKey("crm.Contact", on_delete=models.SET_NULL, null=True,
                                blank=True, related_name="+")
    buyer = models.ForeignKey("tenancy.Organization", on_delete=models.SET_NULL, null=True,
                              blank=True, related_name="+")
    recipient_user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                       null=True, blank=True, related_name="+")
    recipient_email = models.EmailField(blank=True)
    status = models.CharField(max_length=10, choices=InvitationStatus.choices,
                              default=InvitationStatus.SENT)
    # Periodic (relationship) surveys: the first day of the period this invitation asks
    # about; one invitation per survey × account × period, also when two workers run.
    period_start = models.DateField(null=True, blank=True)
    # Who sent it by hand (manual sends); blank when the system sent it.
    sent_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                null=True, blank=True, related_name="+")
    sent_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)

    tenant_owner = "organization"

    class Meta:
        ordering = ["-sent_at", "-id"]
        constraints = [
            # One CSAT invitation per case and survey, also when two workers send at once.
            models.UniqueConstraint(fields=["survey", "case"], name="service_invitation_per_case",
                                    condition=models.Q(case__isnull=False)),
            models.UniqueConstraint(fields=["survey", "account", "period_start"],
                                    name="service_invitation_per_period",
                                    condition=models.Q(period_start__isnull=False)),
        ]
        indexes = [
            models.Index(fields=["organization", "survey", "-sent_at"],
                         name="service_invitation_survey"),
            models.Index(fields=["expires_at"], name="service_invitation_expiry",
                         condition=models.Q(status="sent")),
            models.Index(fields=["buyer", "status"], name="service_invitation_buyer"),
        ]

    def __str__(self):
        return f"{self.survey_id} → {self.recipient_email or self.recipient_user_id}"


class SurveyResponse(models.Model):
    """The one answer to an invitation. `score` is raw on the survey's scale; `normalized` is
    the same on 0–100 so CSAT, NPS and CES can be drawn on one axis."""

    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="+"
    )
    invitation = models.OneToOneField(SurveyInvitation, on_delete=models.PROTECT,
                                      related_name="response")
    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="responses")
    score = models.PositiveSmallIntegerField()
    normalized = models.DecimalField(max_digits=5, decimal_places=2)
    # Whether the score was at or above the survey's good threshold when it was given:
    # recorded, so a later change of the threshold does not rewrite past CSAT.
    good = models.BooleanField(default=False)
    comment = models.TextField(blank=True)
    case = models.ForeignKey(Case, on_delete=models.SET_NULL, null=True, blank=True,
                             related_name="+")
    account = models.ForeignKey("crm.Account", on_delete=models.SET_NULL, null=True,
                                blank=True, related_name="+")
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                    null=True, blank=True, related_name="+")
    follow_up_case = models.ForeignKey(Case, on_delete=models.SET_NULL, null=True, blank=True,
                                       related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    tenant_owner = "organization"

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["organization", "survey", "created_at"],
                         name="service_response_survey"),
            models.Index(fields=["organization", "account", "created_at"],
                         name="service_response_account"),
            models.Index(fields=["organization", "-id"], name="service_response_org_id"),
        ]

    def __str__(self):
        return f"{self.survey_id}: {self.score}"


# Email to case (support mailboxes, the e-mail log): kept in their own module.
from .mail_models import CaseEmail, EmailDirection, EmailOutcome, SupportMailbox  # noqa: E402,F401
