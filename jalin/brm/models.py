"""Business Relationship Management (ITIL): what the supplier knows about each customer's
business, what it has agreed with them, and what it improves because of them.

Records are owned by the supplier organization. Requirements (with their business cases) and
service reviews name the customer's hub organization in `buyer` so the customer's decision
makers can read and sign them off in the portal. Agreements and services live in
`jalin.service` (the service desk's SLA clocks need them); this module builds on them.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Health(models.TextChoices):
    GOOD = "good", _("Good")
    AT_RISK = "at_risk", _("At risk")
    CRITICAL = "critical", _("Critical")


class CustomerProfile(models.Model):
    """A customer's entry in the customer portfolio: the BRM effort assigned to it and what is
    known about its business. Tier comes from the CRM account (`account.tier`)."""

    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="+"
    )
    account = models.OneToOneField("crm.Account", on_delete=models.CASCADE, related_name="+")
    relationship_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("relationship manager"),
        on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    review_every_days = models.PositiveSmallIntegerField(
        _("service review every (days)"), default=90, validators=[MinValueValidator(7)])
    next_review_on = models.DateField(_("next service review"), null=True, blank=True)
    business_summary = models.TextField(_("what their business does"), blank=True)
    activity_patterns = models.TextField(
        _("business activity patterns"), blank=True,
        help_text=_("Seasons, peaks, closing days: when they need us most."))
    health = models.CharField(_("relationship health"), max_length=10, choices=Health.choices,
                              default=Health.GOOD)
    health_note = models.CharField(_("why"), max_length=300, blank=True)
    # Expected revenue over the next 12 months, in the organization's currency.
    predicted_value = models.DecimalField(_("predicted value (12 months)"), max_digits=18,
                                          decimal_places=2, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    tenant_owner = "organization"

    class Meta:
        indexes = [
            models.Index(fields=["organization", "health"], name="brm_profile_org_health"),
            models.Index(fields=["organization", "next_review_on"], name="brm_profile_review"),
        ]

    def __str__(self):
        return f"{self.account_id}: {self.get_health_display()}"


class ObjectiveStatus(models.TextChoices):
    PROPOSED = "proposed", _("Proposed")
    AGREED = "agreed", _("Agreed with customer")
    ACHIEVED = "achieved", _("Achieved")
    DROPPED = "dropped", _("Dropped")


class BusinessObjective(models.Model):
    """A customer's business objective and the outcome they want from us. "Agreed" carries the
    date and the customer contact who agreed it."""

    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="+"
    )
    account = models.ForeignKey("crm.Account", on_delete=models.CASCADE, related_name="+")
    title = models.CharField(_("objective"), max_length=200)
    desired_outcome = models.TextField(_("desired outcome"), blank=True)
    measure = models.CharField(_("how success is measured"), max_length=200, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=ObjectiveStatus.choices,
                              default=ObjectiveStatus.PROPOSED)
    agreed_on = models.DateField(_("agreed on"), null=True, blank=True)
    agreed_by = models.ForeignKey("crm.Contact", verbose_name=_("agreed by"),
                                  on_delete=models.SET_NULL, null=True, blank=True,
                                  related_name="+")
    target_date = models.DateField(_("target date"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    tenant_owner = "organization"

    class Meta:
        ordering = ["account", "id"]
        indexes = [models.Index(fields=["organization", "account"], name="brm_objective_acct")]

    def __str__(self):
        return self.title


class StakeholderRole(models.TextChoices):
    DECISION_MAKER = "decision_maker", _("Decision maker")
    SPONSOR = "sponsor", _("Sponsor")
    KEY_STAKEHOLDER = "key_stakeholder", _("Key stakeholder")
    SERVICE_USER = "service_user", _("Service user")


class Stakeholder(models.Model):
    """Who is who at the customer: decision makers and key stakeholders vs. service users.
    `portal_user` is the buyer-side login allowed to sign off requirements for the customer."""

    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="+"
    )
    account = models.ForeignKey("crm.Account", on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey("crm.Contact", on_delete=models.CASCADE, related_name="+")
    role = models.CharField(_("role"), max_length=20, choices=StakeholderRole.choices)
    influence = models.PositiveSmallIntegerField(
        _("influence (1–5)"), default=3, validators=[MinValueValidator(1), MaxValueValidator(5)])
    portal_user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("portal login"),
                                    on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+")
    notes = models.TextField(_("notes"), blank=True)

    tenant_owner = "organization"

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "contact", "role"],
                                    name="brm_stakeholder_once"),
        ]

    def __str__(self):
        return f"{self.contact_id} ({self.role})"


class RequirementStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    SCREENING = "screening", _("Screening")
    QUALIFIED = "qualified", _("Qualified")
    APPROVED = "approved", _("Approved")
    DEFERRED = "deferred", _("Deferred")
    REJECTED = "rejected", _("Rejected")


class RequirementKind(models.TextChoices):
    NEW_SERVICE = "new_service", _("New service")
    CHANGED_SERVICE = "changed_service", _("Change to a service")


class Requirement(models.Model):
    """A customer's requirement for a new or changed service, with its business case. The
    content is versioned (`RequirementVersion`); sign-offs name the version they approve."""

    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="+"
    )
    number = models.PositiveIntegerField(_("number"))
    account = models.ForeignKey("crm.Account", verbose_name=_("customer"),
                                on_delete=models.PROTECT, related_name="+")
    buyer = models.ForeignKey("tenancy.Organization", on_delete=models.SET_NULL, null=True,
                              blank=True, related_name="+")
    kind = models.CharField(_("kind"), max_length=20, choices=RequirementKind.choices,
                            default=RequirementKind.NEW_SERVICE)
    service = models.ForeignKey("service.Service", verbose_name=_("service"),
                                on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="+")
    title = models.CharField(_("title"), max_length=200)
    status = models.CharField(_("status"), max_length=10, choices=RequirementStatus.choices,
                              default=RequirementStatus.DRAFT)
    current_version = models.PositiveIntegerField(default=1)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("owner"),
                              on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    tenant_owner = "organization"

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "number"],
                                    name="brm_requirement_unique_number"),
        ]
        indexes = [
            models.Index(fields=["organization", "status"], name="brm_requirement_status"),
            models.Index(fields=["buyer", "status"], name="brm_requirement_buyer"),
        ]

    def __str__(self):
        return f"REQ-{self.number} {self.title}"


class RequirementVersion(models.Model):
    """One version of a requirement and its business case (costs, benefits, risks). Versions
    are never edited: a change makes a new version, and earlier sign-offs stay with theirs."""

    requirement = models.ForeignKey(Requirement, on_delete=models.CASCADE,
                                    related_name="versions")
    number = models.PositiveIntegerField()
    description = models.TextField(_("requirement"))
    costs = models.DecimalField(_("costs"), max_digits=18, decimal_places=2, default=0)
    benefits = models.DecimalField(_("benefits"), max_digits=18, decimal_places=2, default=0)
    cost_notes = models.TextField(_("cost breakdown"), blank=True)
    benefit_notes = models.TextField(_("expected benefits"), blank=True)
    risks = models.TextField(_("risks"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    tenant_owner = "requirement__organization"

    class Meta:
        ordering = ["requirement", "number"]
        constraints = [
            models.UniqueConstraint(fields=["requirement", "number"],
                                    name="brm_requirement_version_once"),
        ]

    def __str__(self):
        return f"{self.requirement_id} v{self.number}"


class SignOffDecision(models.TextChoices):
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class SignOff(models.Model):
    """A decision maker's sign-off of one requirement version: who, decision, when, comment."""

    requirement = models.ForeignKey(Requirement, on_delete=models.CASCADE,
                                    related_name="sign_offs")
    requirement_version = models.ForeignKey(RequirementVersion, on_delete=models.PROTECT,
                                            related_name="sign_offs")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                             related_name="+")
    signer_name = models.CharField(max_length=200)
    # "customer" (in the portal) or "provider" (the supplier's own approval).
    party = models.CharField(max_length=10, default="customer")
    decision = models.CharField(max_length=10, choices=SignOffDecision.choices)
    comment = models.TextField(blank=True)
    decided_at = models.DateTimeField(default=timezone.now)

    tenant_owner = "requirement__organization"

    class Meta:
        ordering = ["decided_at", "id"]
        constraints = [
            # One decision per party on a version: a new version needs a new sign-off.
            models.UniqueConstraint(fields=["requirement_version", "party"],
                                    name="brm_signoff_once_per_version"),
        ]

    def __str__(self):
        return f"{self.signer_name}: {self.decision}"


class ChangeOrigin(models.TextChoices):
    OURS = "ours", _("Our change")
    CUSTOMER = "customer", _("Change in the customer's business")


class ImpactLevel(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")


class CustomerChange(models.Model):
    """A change (ours, or in the customer's business) that affects a customer, its impact and
    our documented response. Response time = responded_at − identified_at."""

    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="+"
    )
    account = models.ForeignKey("crm.Account", verbose_name=_("customer"),
                                on_delete=models.CASCADE, related_name="+")
    origin = models.CharField(_("origin"), max_length=10, choices=ChangeOrigin.choices)
    title = models.CharField(_("change"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    service = models.ForeignKey("service.Service", on_delete=models.SET_NULL, null=True,
                                blank=True, related_name="+")
    impact = models.TextField(_("impact on the customer"), blank=True)
    impact_level = models.CharField(_("impact"), max_length=10, choices=ImpactLevel.choices,
                                    default=ImpactLevel.MEDIUM)
    identified_at = models.DateTimeField(_("identified"), default=timezone.now)
    response = models.TextField(_("our response"), blank=True)
    responded_at = models.DateTimeField(_("responded"), null=True, blank=True)
    responded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                     null=True, blank=True, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")
    version = models.PositiveIntegerField(default=1)

    tenant_owner = "organization"

    class Meta:
        ordering = ["-identified_at", "-id"]
        indexes = [
            models.Index(fields=["organization", "identified_at"], name="brm_change_identified"),
            models.Index(fields=["organization", "account"], name="brm_change_account"),
        ]

    def __str__(self):
        return self.title


class OpportunityStatus(models.TextChoices):
    IDENTIFIED = "identified", _("Identified")
    ASSESSED = "assessed", _("Assessed with customer")
    RECORDED = "recorded", _("Recorded in the service portfolio")
    DECLINED = "declined", _("Declined")


class OpportunityKind(models.TextChoices):
    TECHNOLOGY = "technology", _("Technology development")
    BUSINESS = "business", _("Business opportunity")
    PROCESS = "process", _("Process improvement")


class OpportunityRecord(models.Model):
    """The BRM opportunity register: developments that could create value for customers
    (not a sales opportunity, which lives in `jalin.sales`)."""

    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="+"
    )
    title = models.CharField(_("opportunity"), max_length=200)
    kind = models.CharField(_("kind"), max_length=12, choices=OpportunityKind.choices,
                            default=OpportunityKind.TECHNOLOGY)
    description = models.TextField(_("description"), blank=True)
    account = models.ForeignKey("crm.Account", verbose_name=_("customer"),
                                on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="+")
    service = models.ForeignKey("service.Service", verbose_name=_("service"),
                                on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="+")
    status = models.CharField(_("status"), max_length=12, choices=OpportunityStatus.choices,
                              default=OpportunityStatus.IDENTIFIED)
    assessment = models.TextField(_("assessment with the customer"), blank=True)
    estimated_value = models.DecimalField(_("estimated value"), max_digits=18,
                                          decimal_places=2, null=True, blank=True)
    identified_at = models.DateTimeField(default=timezone.now)
    assessed_at = models.DateTimeField(null=True, blank=True)
    recorded_at = models.DateTimeField(null=True, blank=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                              blank=True, related_name="+")
    version = models.PositiveIntegerField(default=1)

    tenant_owner = "organization"

    class Meta:
        ordering = ["-identified_at", "-id"]
        indexes = [
            models.Index(fields=["organization", "status"], name="brm_opportunity_status"),
        ]

    def __str__(self):
        return self.title


class ImprovementStatus(models.TextChoices):
    NEW = "new", _("New")
    ACCEPTED = "accepted", _("Accepted")
    APPROVED = "approved", _("Approved")
    IN_PROGRESS = "in_progress", _("In progress")
    MONITOR = "monitor", _("Monitoring")
    CLOSED = "closed", _("Closed")
    CANCELLED = "cancelled", _("Cancelled")


class ImprovementSource(models.TextChoices):
    COMPLAINT = "complaint", _("Complaint")
    FEEDBACK = "feedback", _("Feedback")
    SURVEY = "survey", _("Survey comment")
    SERVICE_REPORT = "service_report", _("Service report")
    SERVICE_REVIEW = "service_review", _("Service review")
    OTHER = "other", _("Other")


class Improvement(models.Model):
    """The continual improvement (CSI) register."""

    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="+"
    )
    number = models.PositiveIntegerField(_("number"))
    title = models.CharField(_("improvement"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    source = models.CharField(_("source"), max_length=20, choices=ImprovementSource.choices)
    source_case = models.ForeignKey("service.Case", on_delete=models.SET_NULL, null=True,
                                    blank=True, related_name="+")
    source_response = models.ForeignKey("service.SurveyResponse", on_delete=models.SET_NULL,
                                        null=True, blank=True, related_name="+")
    account = models.ForeignKey("crm.Account", verbose_name=_("customer"),
                                on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="+")
    service = models.ForeignKey("service.Service", verbose_name=_("service"),
                                on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="+")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("owner"),
                              on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="+")
    status = models.CharField(_("status"), max_length=12, choices=ImprovementStatus.choices,
                              default=ImprovementStatus.NEW)
    expected_benefit = models.TextField(_("expected benefit"), blank=True)
    realized_benefit = models.TextField(_("realized benefit"), blank=True)
    expected_value = models.DecimalField(_("expected value"), max_digits=18, decimal_places=2,
                                         null=True, blank=True)
    realized_value = models.DecimalField(_("realized value"), max_digits=18, decimal_places=2,
                                         null=True, blank=True)
    raised_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")
    version = models.PositiveIntegerField(default=1)

    tenant_owner = "organization"

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "number"],
                                    name="brm_improvement_unique_number"),
            # One improvement per survey answer, also when the event is delivered twice.
            models.UniqueConstraint(fields=["source_response"],
                                    condition=models.Q(source_response__isnull=False),
                                    name="brm_improvement_per_response"),
            # One improvement per resolved complaint/feedback case, also when the
            # `service.case.resolved` event is delivered twice or the case is resolved again.
            models.UniqueConstraint(
                fields=["source_case"],
                condition=models.Q(source_case__isnull=False,
                                   source__in=["complaint", "feedback"]),
                name="brm_improvement_per_case"),
        ]
        indexes = [
            models.Index(fields=["organization", "status"], name="brm_improvement_status"),
            models.Index(fields=["organization", "raised_at"], name="brm_improvement_raised"),
        ]

    def __str__(self):
        return f"CSI-{self.number} {self.title}"


class ImprovementStatusChange(models.Model):
    improvement = models.ForeignKey(Improvement, on_delete=models.CASCADE,
                                    related_name="status_changes")
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, related_name="+")
    comment = models.TextField(blank=True)
    changed_at = models.DateTimeField(default=timezone.now)

    tenant_owner = "improvement__organization"

    class Meta:
        ordering = ["changed_at", "id"]

    def __str__(self):
        return f"{self.from_status} → {self.to_status}"


class ReviewStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    HELD = "held", _("Held")
    CANCELLED = "cancelled", _("Cancelled")


class ServiceReview(models.Model):
    """A scheduled customer service review. When held, its report (SLA attainment, cases,
    satisfaction, open improvements, agreement renewals for the period) is frozen in `report`
    so it reads the same later."""

    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="+"
    )
    account = models.ForeignKey("crm.Account", verbose_name=_("customer"),
                                on_delete=models.CASCADE, related_name="+")
    buyer = models.ForeignKey("tenancy.Organization", on_delete=models.SET_NULL, null=True,
                              blank=True, related_name="+")
    scheduled_for = models.DateField(_("date"))
    period_start = models.DateField(_("period from"))
    period_end = models.DateField(_("period to"))
    status = models.CharField(_("status"), max_length=10, choices=ReviewStatus.choices,
                              default=ReviewStatus.SCHEDULED)
    report = models.JSONField(null=True, blank=True)
    minutes = models.TextField(_("minutes and actions"), blank=True)
    held_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    tenant_owner = "organization"

    class Meta:
        ordering = ["-scheduled_for", "-id"]
        constraints = [
            # One review per customer and date (the scheduling job may run any number of
            # times); a cancelled review frees its date.
            models.UniqueConstraint(fields=["account", "scheduled_for"],
                                    condition=~models.Q(status="cancelled"),
                                    name="brm_review_once_per_day"),
        ]
        indexes = [
            models.Index(fields=["organization", "scheduled_for"], name="brm_review_date"),
            models.Index(fields=["buyer", "status"], name="brm_review_buyer"),
        ]

    def __str__(self):
        return f"{self.account_id} {self.scheduled_for}"


class Referral(models.Model):
    """A customer recommended us to another company (a referral): who referred, whom, when.
    The referred company is a CRM account when we know it, else just its name."""

    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="+"
    )
    referrer = models.ForeignKey("crm.Account", verbose_name=_("referred by"),
                                 on_delete=models.CASCADE, related_name="+")
    referred_account = models.ForeignKey("crm.Account", verbose_name=_("referred account"),
                                         on_delete=models.SET_NULL, null=True, blank=True,
                                         related_name="+")
    referred_name = models.CharField(_("referred company"), max_length=200)
    referred_on = models.DateField(_("date"), default=timezone.localdate)
    note = models.TextField(_("note"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    tenant_owner = "organization"

    class Meta:
        ordering = ["-referred_on", "-id"]
        indexes = [
            models.Index(fields=["organization", "referred_on"], name="brm_referral_date"),
        ]

    def __str__(self):
        return f"{self.referrer_id} → {self.referred_name}"


# --- Registers: requirement history and numbering (jalin.brm.requirements / registers) -----


class RequirementStatusChange(models.Model):
    """Lifecycle history of a requirement: who moved it, from what, to what, when."""

    requirement = models.ForeignKey(Requirement, on_delete=models.CASCADE,
                                    related_name="status_changes")
    from_status = models.CharField(max_length=10, blank=True)
    to_status = models.CharField(max_length=10)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, related_name="+")
    comment = models.TextField(blank=True)
    changed_at = models.DateTimeField(default=timezone.now)

    tenant_owner = "requirement__organization"

    class Meta:
        ordering = ["changed_at", "id"]

    def __str__(self):
        return f"{self.from_status} → {self.to_status}"
