"""Sales records owned by the supplier organization: leads and their capture, opportunities in
configurable pipelines, sales targets, segments, campaigns and their experiments.

Sales builds on the CRM (accounts, contacts) and reads the hub through its selectors; it never
writes hub tables. A quote for a hub buyer is created and accepted through the hub's own
services (`jalin.hub.rfqs`), and the hub's events tell sales what became of it. Promotions
(discount rules applied by the hub's pricing) are hub records; sales analyses them.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from jalin.tenancy.models import validate_currency

MONEY = {"max_digits": 18, "decimal_places": 2}


class SalesTeam(models.Model):
    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="+"
    )
    name = models.CharField(_("name"), max_length=100)
    manager = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("manager"),
                                on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="+")
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+",
                                     verbose_name=_("members"))
    created_at = models.DateTimeField(default=timezone.now)

    tenant_owner = "organization"

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"],
                                    name="sales_team_unique_name"),
        ]

    def __str__(self):
        return self.name


class Territory(models.Model):
    """Where a seller sells: leads whose country/region/city/industry match go to its members
    (round robin among them)."""

    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="+"
    )
    name = models.CharField(_("name"), max_length=100)
    # {"country": ["ID"], "region": ["Jawa Barat"], "city": [...], "industry": [...]}: a lead
    # matches when every listed key matches one of its values (case-insensitive).
    criteria = models.JSONField(_("matches"), default=dict, blank=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+",
                                     verbose_name=_("sellers"))
    position = models.PositiveSmallIntegerField(default=0)

    tenant_owner = "organization"

    class Meta:
        ordering = ["position", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"],
                                    name="sales_territory_unique_name"),
        ]

    def __str__(self):
        return self.name


# --- Leads --------------------------------------------------------------------------------


class LeadSource(models.TextChoices):
    WEB_FORM = "web_form", _("Web form")
    IMPORT = "import", _("Import")
    API = "api", _("API")
    STAFF = "staff", _("Entered by staff")
    CAMPAIGN = "campaign", _("Campaign")
    REFERRAL = "referral", _("Referral")


class LeadStatus(models.TextChoices):
    NEW = "new", _("New")
    WORKING = "working", _("Working")
    QUALIFIED = "qualified", _("Qualified")
    DISQUALIFIED = "disqualified", _("Disqualified")
    CONVERTED = "converted", _("Converted")


class LeadWebForm(models.Model):
    """An embeddable form that creates leads. `key` is public (it is in the embed code); spam
    protection is a honeypot field, a minimum fill time, a per-IP rate limit and an origin
    allow-list."""

    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="+"
    )
    name = models.CharField(_("name"), max_length=100)
    key = models.CharField(max_length=40, unique=True)
    fields = models.JSONField(_("fields"), default=list, blank=True)
    thank_you = models.CharField(_("thank-you message"), max_length=300, blank=True)
    allowed_origins = models.JSONField(_("allowed sites"), default=list, blank=True)
    default_owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                      null=True, blank=True, related_name="+")
    campaign = models.ForeignKey("Campaign", on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="+")
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)

    tenant_owner = "organization"

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Lead(models.Model):
    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="+"
    )
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100, blank=True)
    company = models.CharField(_("company"), max_length=200, blank=True)
    job_title = models.CharField(_("job title"), max_length=150, blank=True)
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    website = models.URLField(_("website"), max_length=300, blank=True)
    industry = models.CharField(_("industry"), max_length=100, blank=True)
    company_size = models.CharField(_("company size"), max_length=20, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True)
    region = models.CharField(_("region"), max_length=100, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    message = models.TextField(_("message"), blank=True)
    source = models.CharField(_("source"), max_length=12, choices=LeadSource.choices,
                              default=LeadSource.STAFF)
    web_form = models.ForeignKey(LeadWebForm, on_delete=models.SET_NULL, null=True,
                                 blank=True, related_name="leads")
    campaign = models.ForeignKey("Campaign", on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="leads")
    utm = models.JSONField(default=dict, blank=True)
    email_opt_in = models.BooleanField(_("agrees to email"), default=False)
    status = models.CharField(_("status"), max_length=12, choices=LeadStatus.choices,
                              default=LeadStatus.NEW)
    disqualified_reason = models.CharField(_("reason"), max_length=200, blank=True)
    # The score and the facts that made it: [{"rule": id, "label": "...", "points": 10}, ...]
    score = models.IntegerField(_("score"), default=0)
    score_explanation = models.JSONField(default=list, blank=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("owner"),
                              on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="+")
    territory = models.ForeignKey(Territory, on_delete=models.SET_NULL, null=True, blank=True,
                                  related_name="+")
    custom = models.JSONField(default=dict, blank=True)
    converted_at = models.DateTimeField(null=True, blank=True)
    converted_account = models.ForeignKey("crm.Account", on_delete=models.SET_NULL, null=True,
                                          blank=True, related_name="+")
    converted_contact = models.ForeignKey("crm.Contact", on_delete=models.SET_NULL, null=True,
                                          blank=True, related_name="+")
    converted_opportunity = models.ForeignKey("Opportunity", on_delete=models.SET_NULL,
                                              null=True, blank=True, related_name="+")
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    tenant_owner = "organization"

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "idempotency_key"],
                                    condition=models.Q(idempotency_key__isnull=False),
                                    name="sales_lead_idempotency"),
        ]
        indexes = [
            models.Index(fields=["organization", "status", "-id"], name="sales_lead_status"),
            models.Index(fields=["organization", "owner", "status"], name="sales_lead_owner"),
            models.Index(fields=["organization", "email"], name="sales_lead_email"),
            models.Index(fields=["organization", "-score", "-id"], name="sales_lead_score"),
        ]

    def __str__(self):
        name = f"{self.first_name} {self.last_name}".strip()
        return name or self.company or self.email


class ScoringRule(models.Model):
    """Adds `points` to a lead's score when `field` `operator` `value` holds (e.g. industry
    equals "Construction": +15; email domain is not a free mail provider: +10)."""

    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="+"
    )
    label = models.CharField(_("label"), max_length=120)
    field = models.CharField(_("field"), max_length=60)
    operator = models.CharField(_("operator"), max_length=30)
    value = models.CharField(_("value"), max_length=200, blank=True)
    points = models.IntegerField(_("points"),
                                 validators=[MinValueValidator(-100), MaxValueValidator(100)])
    is_active = models.BooleanField(_("active"), default=True)

    tenant_owner = "organization"

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"{self.label} ({self.points:+d})"


class AssignmentMethod(models.TextChoices):
    ACCOUNT_OWNER = "account_owner", _("Owner of the existing account")
    TERRITORY = "territory", _("Territory")
    ROUND_ROBIN = "round_robin", _("Round robin")


class AssignmentRule(models.Model):
    """Rules are tried in `position` order; the first that yields an owner wins."""

    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="+"
    )
    name = models.CharField(_("name"), max_length=100)
    method = models.CharField(_("method"), max_length=20, choices=AssignmentMethod.choices)
    position = models.PositiveSmallIntegerField(default=0)
    # Round robin among these users (in id order), remembering who was last.
    users = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    last_assigned = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                      null=True, blank=True, related_name="+")
    is_active = models.BooleanField(_("active"), default=True)

    tenant_owner = "organization"

    class Meta:
        ordering = ["position", "id"]

    def __str__(self):
        return self.name


# --- Pipelines and opportunities ------------------------------------------------------------


class Pipeline(models.Model):
    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="+"
    )
    name = models.CharField(_("name"), max_length=100)
    is_default = models.BooleanField(_("default pipeline"), default=False)
    # An open deal with no stage change for this many days is stale (alert to its owner).
    stale_after_days = models.PositiveSmallIntegerField(_("stale after (days)"), default=30)
    archived_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    tenant_owner = "organization"

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"],
                                    name="sales_pipeline_unique_name"),
            models.UniqueConstraint(fields=["organization"], condition=models.Q(is_default=True),
                                    name="sales_pipeline_one_default"),
        ]

    def __str__(self):
        return self.name


class StageKind(models.TextChoices):
    OPEN = "open", _("Open")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")


class ForecastCategory(models.TextChoices):
    PIPELINE = "pipeline", _("Pipeline")
    BEST_CASE = "best_case", _("Best case")
    COMMIT = "commit", _("Commit")
    CLOSED = "closed", _("Closed")
    OMITTED = "omitted", _("Omitted")


class PipelineStage(models.Model):
    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="stages")
    name = models.CharField(_("name"), max_length=60)
    position = models.PositiveSmallIntegerField(_("position"))
    probability = models.PositiveSmallIntegerField(
        _("probability (%)"), validators=[MaxValueValidator(100)])
    kind = models.CharField(_("kind"), max_length=5, choices=StageKind.choices,
                            default=StageKind.OPEN)
    forecast_category = models.CharField(_("forecast category"), max_length=10,
                                         choices=ForecastCategory.choices,
                                         default=ForecastCategory.PIPELINE)

    tenant_owner = "pipeline__organization"

    class Meta:
        ordering = ["pipeline", "position"]
        constraints = [
            models.UniqueConstraint(fields=["pipeline", "name"], name="sales_stage_unique_name"),
        ]

    def __str__(self):
        return self.name


class CloseReason(models.Model):
    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(_("for"), max_length=5, choices=[
        (StageKind.WON, _("Won")), (StageKind.LOST, _("Lost"))])
    name = models.CharField(_("reason"), max_length=100)
    is_active = models.BooleanField(default=True)

    tenant_owner = "organization"

    class Meta:
        ordering = ["kind", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "kind", "name"],
                                    name="sales_close_reason_once"),
        ]

    def __str__(self):
        return self.name


class Competitor(models.Model):
    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="+"
    )
    name = models.CharField(_("name"), max_length=100)

    tenant_owner = "organization"

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"],
                                    name="sales_competitor_unique_name"),
        ]

    def __str__(self):
        return self.name


class OpportunityStatus(models.TextChoices):
    OPEN = "open", _("Open")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")


class Opportunity(models.Model):
    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="+"
    )
    name = models.CharField(_("name"), max_length=200)
    account = models.ForeignKey("crm.Account", verbose_name=_("account"),
                                on_delete=models.PROTECT, related_name="+")
    contact = models.ForeignKey("crm.Contact", verbose_name=_("contact"),
                                on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="+")
    pipeline = models.ForeignKey(Pipeline, on_delete=models.PROTECT, related_name="+")
    stage = models.ForeignKey(PipelineStage, verbose_name=_("stage"), on_delete=models.PROTECT,
                              related_name="+")
    status = models.CharField(_("status"), max_length=5, choices=OpportunityStatus.choices,
                              default=OpportunityStatus.OPEN)
    amount = models.DecimalField(_("amount"), default=Decimal("0"),
                                 validators=[MinValueValidator(Decimal("0"))], **MONEY)
    currency = models.CharField(_("currency"), max_length=3, default="IDR",
                                validators=[validate_currency])
    # Null: the stage's probability applies. Set: the owner's own judgement for this deal.
    probability = models.PositiveSmallIntegerField(_("probability (%)"), null=True, blank=True,
                                                   validators=[MaxValueValidator(100)])
    forecast_category = models.CharField(_("forecast category"), max_length=10,
                                         choices=ForecastCategory.choices,
                                         default=ForecastCategory.PIPELINE)
    close_date = models.DateField(_("expected close date"))
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("owner"),
                              on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="+")
    team = models.ForeignKey(SalesTeam, verbose_name=_("team"), on_delete=models.SET_NULL,
                             null=True, blank=True, related_name="+")
    next_step = models.CharField(_("next step"), max_length=200, blank=True)
    next_step_on = models.DateField(_("next step on"), null=True, blank=True)
    competitors = models.ManyToManyField(Competitor, verbose_name=_("competitors"), blank=True,
                                         related_name="+")
    close_reason = models.ForeignKey(CloseReason, verbose_name=_("won/lost reason"),
                                     on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="+")
    close_note = models.TextField(_("won/lost note"), blank=True)
    lost_to = models.ForeignKey(Competitor, verbose_name=_("lost to"), on_delete=models.SET_NULL,
                                null=True, blank=True, related_name="+")
    closed_at = models.DateTimeField(null=True, blank=True)
    lead = models.ForeignKey(Lead, on_delete=models.SET_NULL, null=True, blank=True,
                             related_name="+")
    campaign = models.ForeignKey("Campaign", on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="opportunities")
    # The hub order that came from this deal's accepted quote (learned from hub events).
    hub_order = models.ForeignKey("hub.Order", on_delete=models.SET_NULL, null=True,
                                  blank=True, related_name="+")
    stage_entered_at = models.DateTimeField(default=timezone.now)
    # Position among the cards of its stage on the board (drag and drop), smaller first.
    board_rank = models.FloatField(default=0)
    stale_alerted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    tenant_owner = "organization"

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "opportunities"
        indexes = [
            # Board: the open deals of a pipeline by stage, in card order.
            models.Index(fields=["organization", "pipeline", "stage", "board_rank", "id"],
                         name="sales_opp_board",
                         condition=models.Q(status="open")),
            # Forecast: open/won deals by close date (per owner).
            models.Index(fields=["organization", "status", "close_date"],
                         name="sales_opp_close_date"),
            models.Index(fields=["organization", "owner", "status", "close_date"],
                         name="sales_opp_owner"),
            models.Index(fields=["organization", "account"], name="sales_opp_account"),
            models.Index(fields=["organization", "stage_entered_at"], name="sales_opp_stale",
                         condition=models.Q(status="open")),
            # List pages: newest first and largest amount first, per status.
            models.Index(fields=["organization", "status", "-id"], name="sales_opp_status_id"),
            models.Index(fields=["organization", "status", "-amount", "-id"],
                         name="sales_opp_amount"),
        ]

    def __str__(self):
        return self.name

    @property
    def effective_probability(self):
        return self.probability if self.probability is not None else self.stage.probability


class StageTally(models.Model):
    """How many open deals a board column holds and their amount, per currency: the board's
    column headers without counting every open deal on each view. Kept by the opportunity
    services in the transaction of each create, move, close, reopen and amount change
    (`jalin.sales.board_tally`); `board_tally.recount` rebuilds it."""

    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE,
                                     related_name="+")
    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="+")
    stage = models.ForeignKey(PipelineStage, on_delete=models.CASCADE, related_name="+")
    currency = models.CharField(max_length=3)
    count = models.BigIntegerField(default=0)
    amount = models.DecimalField(max_digits=24, decimal_places=2, default=0)

    tenant_owner = "organization"

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["stage", "currency"], name="sales_stage_tally_once"),
        ]
        indexes = [models.Index(fields=["organization", "pipeline"],
                                name="sales_stage_tally_board")]

    def __str__(self):
        return f"{self.stage_id} {self.currency} {self.count}"


class OpportunityLine(models.Model):
    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE,
                                    related_name="lines")
    position = models.PositiveSmallIntegerField(default=1)
    product = models.ForeignKey("hub.Product", on_delete=models.PROTECT, null=True, blank=True,
                                related_name="+")
    description = models.CharField(_("description"), max_length=200)
    quantity = models.PositiveIntegerField(_("quantity"), validators=[MinValueValidator(1)])
    unit_price = models.DecimalField(_("unit price"), max_digits=18, decimal_places=4,
                                     validators=[MinValueValidator(Decimal("0"))])
    discount_percent = models.DecimalField(
        _("discount (%)"), max_digits=5, decimal_places=2, default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))])
    amount = models.DecimalField(_("amount"), default=Decimal("0"), **MONEY)

    tenant_owner = "opportunity__organization"

    class Meta:
        ordering = ["position", "id"]

    def __str__(self):
        return f"{self.description} × {self.quantity}"


class OpportunityStageChange(models.Model):
    """Stage history: who moved the deal, from where, and how long it sat there."""

    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE,
                                    related_name="stage_changes")
    from_stage = models.ForeignKey(PipelineStage, on_delete=models.PROTECT, null=True,
                                   blank=True, related_name="+")
    to_stage = models.ForeignKey(PipelineStage, on_delete=models.PROTECT, related_name="+")
    seconds_in_previous = models.PositiveBigIntegerField(default=0)
    amount = models.DecimalField(default=Decimal("0"), **MONEY)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")
    changed_at = models.DateTimeField(default=timezone.now)

    tenant_owner = "opportunity__organization"

    class Meta:
        ordering = ["changed_at", "id"]
        indexes = [
            models.Index(fields=["opportunity", "changed_at"], name="sales_stage_change_opp"),
        ]

    def __str__(self):
        return f"{self.opportunity_id}: {self.from_stage_id} → {self.to_stage_id}"


class SalesQuoteStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SENT = "sent", _("Sent")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")
    EXPIRED = "expired", _("Expired")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class SalesQuote(models.Model):
    """A quote made from an opportunity. For a hub buyer it is sent as a hub quote (created by
    the hub's services; `hub_quote`), which the buyer accepts in the portal; the hub order it
    becomes is learned from the hub's events."""

    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="+"
    )
    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE,
                                    related_name="quotes")
    number = models.PositiveIntegerField(_("number"))
    status = models.CharField(_("status"), max_length=12, choices=SalesQuoteStatus.choices,
                              default=SalesQuoteStatus.DRAFT)
    valid_until = models.DateField(_("valid until"))
    currency = models.CharField(_("currency"), max_length=3, validators=[validate_currency])
    # How the hub prices this customer: tax on top (or included), or no tax at all.
    prices_include_tax = models.BooleanField(default=False)
    tax_exempt = models.BooleanField(default=False)
    total_net = models.DecimalField(default=Decimal("0"), **MONEY)
    total_tax = models.DecimalField(default=Decimal("0"), **MONEY)
    total_gross = models.DecimalField(default=Decimal("0"), **MONEY)
    note = models.TextField(_("note"), blank=True)
    hub_quote = models.ForeignKey("hub.Quote", on_delete=models.SET_NULL, null=True,
                                  blank=True, related_name="+")
    hub_order = models.ForeignKey("hub.Order", on_delete=models.SET_NULL, null=True,
                                  blank=True, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    tenant_owner = "organization"

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "number"],
                                    name="sales_quote_unique_number"),
        ]
        indexes = [
            models.Index(fields=["opportunity", "number"], name="sales_quote_opportunity"),
            # The quote list, newest first, all or by status (keyset on id).
            models.Index(fields=["organization", "id"], name="sales_quote_list"),
            models.Index(fields=["organization", "status", "id"], name="sales_quote_status"),
        ]

    def __str__(self):
        return f"SQ-{self.number}"

    @property
    def label(self):
        return str(self)

    @property
    def is_draft(self):
        return self.status == SalesQuoteStatus.DRAFT


class SalesQuoteLine(models.Model):
    quote = models.ForeignKey(SalesQuote, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(default=1)
    product = models.ForeignKey("hub.Product", on_delete=models.PROTECT, null=True, blank=True,
                                related_name="+")
    sku = models.CharField(_("SKU"), max_length=64, blank=True)
    description = models.CharField(_("description"), max_length=200)
    quantity = models.PositiveIntegerField(_("quantity"), validators=[MinValueValidator(1)])
    unit_price = models.DecimalField(_("unit price"), max_digits=18, decimal_places=4)
    # Where the unit price came from: "customer", "group" or "base" (the hub's price lists for
    # this customer), "opportunity" (the deal's own line) or "manual" (edited on the quote).
    price_source = models.CharField(max_length=12, blank=True)
    tax_rate = models.DecimalField(max_digits=7, decimal_places=4, default=0)
    line_net = models.DecimalField(default=Decimal("0"), **MONEY)
    line_tax = models.DecimalField(default=Decimal("0"), **MONEY)
    line_gross = models.DecimalField(default=Decimal("0"), **MONEY)

    tenant_owner = "quote__organization"

    class Meta:
        ordering = ["position", "id"]

    def __str__(self):
        return f"{self.description} × {self.quantity}"


class SalesTarget(models.Model):
    """A revenue target for a seller, a team or the whole organization over a period."""

    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="+"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("seller"),
                             on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    team = models.ForeignKey(SalesTeam, verbose_name=_("team"), on_delete=models.CASCADE,
                             null=True, blank=True, related_name="+")
    period_start = models.DateField(_("from"))
    period_end = models.DateField(_("to"))
    amount = models.DecimalField(_("target"), validators=[MinValueValidator(Decimal("0"))],
                                 **MONEY)
    currency = models.CharField(_("currency"), max_length=3, default="IDR",
                                validators=[validate_currency])
    version = models.PositiveIntegerField(default=1)

    tenant_owner = "organization"

    class Meta:
        ordering = ["-period_start", "id"]
        indexes = [
            models.Index(fields=["organization", "period_start", "period_end"],
                         name="sales_target_period_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(period_end__gte=models.F("period_start")),
                                   name="sales_target_period"),
            models.CheckConstraint(condition=~(models.Q(user__isnull=False)
                                               & models.Q(team__isnull=False)),
                                   name="sales_target_one_subject"),
        ]

    def __str__(self):
        return f"{self.period_start}–{self.period_end}: {self.amount}"


# --- Segments, campaigns and experiments ----------------------------------------------------


class SegmentKind(models.TextChoices):
    DYNAMIC = "dynamic", _("Rules (refreshed automatically)")
    STATIC = "static", _("Static list")


class Segment(models.Model):
    """A set of contacts (and their accounts). Dynamic segments are rules over account and
    contact fields, custom fields and purchase behaviour (recency, frequency, monetary value
    from hub orders); the membership is materialized on refresh."""

    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="+"
    )
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=10, choices=SegmentKind.choices,
                            default=SegmentKind.DYNAMIC)
    rules = models.JSONField(_("rules"), default=dict, blank=True)
    member_count = models.PositiveIntegerField(default=0)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    tenant_owner = "organization"

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"],
                                    name="sales_segment_unique_name"),
        ]

    def __str__(self):
        return self.name


class SegmentMember(models.Model):
    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="members")
    contact = models.ForeignKey("crm.Contact", on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey("crm.Account", on_delete=models.SET_NULL, null=True,
                                blank=True, related_name="+")
    added_at = models.DateTimeField(default=timezone.now)

    tenant_owner = "segment__organization"

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["segment", "contact"], name="sales_segment_member"),
        ]

    def __str__(self):
        return f"{self.segment_id}: {self.contact_id}"


class CampaignChannel(models.TextChoices):
    EMAIL = "email", _("Email")
    PORTAL_OFFER = "portal_offer", _("Portal offer")


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SCHEDULED = "scheduled", _("Scheduled")
    # Launched: the segment is being copied into recipients in the background.
    PREPARING = "preparing", _("Preparing")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")


class PrimaryMetric(models.TextChoices):
    CONVERSION = "conversion", _("Conversion (an order within the window)")
    REVENUE = "revenue", _("Revenue per recipient")
    CLICK = "click", _("Click-through")
    REPLY = "reply", _("Reply")


class Campaign(models.Model):
    """A campaign over a segment by email or portal offer. With more than one variant (or a
    holdout) it is an experiment: recipients are assigned at random, reproducibly from `seed`,
    and results compare the variants on `primary_metric` within `attribution_days`."""

    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="+"
    )
    name = models.CharField(_("name"), max_length=150)
    channel = models.CharField(_("channel"), max_length=12, choices=CampaignChannel.choices,
                               default=CampaignChannel.EMAIL)
    segment = models.ForeignKey(Segment, verbose_name=_("segment"), on_delete=models.PROTECT,
                                null=True, blank=True, related_name="campaigns")
    status = models.CharField(_("status"), max_length=10, choices=CampaignStatus.choices,
                              default=CampaignStatus.DRAFT)
    # A hub promotion this campaign announces (its orders count for the campaign).
    promotion = models.ForeignKey("hub.Promotion", on_delete=models.SET_NULL, null=True,
                                  blank=True, related_name="+")
    holdout_percent = models.DecimalField(
        _("holdout (%)"), max_digits=5, decimal_places=2, default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("50"))])
    primary_metric = models.CharField(_("primary metric"), max_length=12,
                                      choices=PrimaryMetric.choices,
                                      default=PrimaryMetric.CONVERSION)
    attribution_days = models.PositiveSmallIntegerField(_("attribution window (days)"),
                                                        default=30)
    seed = models.CharField(max_length=32)
    # Sample-size guidance inputs: baseline rate and the smallest lift worth detecting.
    baseline_rate = models.DecimalField(_("expected baseline rate (%)"), max_digits=6,
                                        decimal_places=3, null=True, blank=True)
    minimum_detectable_effect = models.DecimalField(
        _("smallest lift worth detecting (percentage points)"), max_digits=6, decimal_places=3,
        null=True, blank=True)
    # When a scheduled campaign launches (the API calls it `scheduled_for`).
    scheduled_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # The background snapshot of the segment (status "preparing"): how many members were
    # expected (the segment's stored count at launch: an estimate, no COUNT(*)), how many are
    # copied so far, the last contact id copied (the resume point) and when a batch last
    # committed (a stalled preparation is queued again).
    recipients_expected = models.PositiveIntegerField(default=0)
    recipients_prepared = models.PositiveIntegerField(default=0)
    prepare_cursor = models.BigIntegerField(default=0)
    progress_at = models.DateTimeField(null=True, blank=True)
    # The sending's progress counters (set when the preparation completes, then incremented
    # by the sending runs), so the polled progress bar never counts a million rows.
    recipients_skipped = models.PositiveIntegerField(default=0)
    recipients_holdout = models.PositiveIntegerField(default=0)
    recipients_to_send = models.IntegerField(default=0)
    recipients_sent = models.PositiveIntegerField(default=0)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                              blank=True, related_name="+")
    budget = models.DecimalField(_("budget"), null=True, blank=True, **MONEY)
    # Why sending stopped (the mail server's error); cleared when sending is resumed.
    send_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    tenant_owner = "organization"

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["organization", "status", "-id"],
                         name="sales_campaign_org_status"),
            # The scheduler's "due campaigns" (and stalled preparations): few rows.
            models.Index(fields=["status", "scheduled_at"], name="sales_campaign_due",
                         condition=models.Q(status__in=["scheduled", "preparing"])),
        ]

    def __str__(self):
        return self.name


class CampaignVariant(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="variants")
    name = models.CharField(_("name"), max_length=60)
    weight = models.PositiveSmallIntegerField(_("share weight"), default=1,
                                              validators=[MinValueValidator(1)])
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("message"), blank=True)
    # Portal offer: headline and the link to open in the buyer's shop.
    offer_url = models.CharField(_("offer link"), max_length=300, blank=True)

    tenant_owner = "campaign__organization"

    class Meta:
        ordering = ["campaign", "id"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "name"], name="sales_variant_unique"),
        ]

    def __str__(self):
        return self.name


class CampaignRecipient(models.Model):
    """One contact in a campaign: its variant (null = holdout, who get nothing), what it did
    and what it brought (attributed hub orders within the window)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="recipients")
    variant = models.ForeignKey(CampaignVariant, on_delete=models.CASCADE, null=True,
                                blank=True, related_name="recipients")
    contact = models.ForeignKey("crm.Contact", on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey("crm.Account", on_delete=models.SET_NULL, null=True,
                                blank=True, related_name="+")
    buyer = models.ForeignKey("tenancy.Organization", on_delete=models.SET_NULL, null=True,
                              blank=True, related_name="+")
    email = models.EmailField(blank=True)
    token = models.CharField(max_length=43, unique=True)
    # Not sent: unsubscribed, no consent, no address, suppressed (the reason is kept).
    skipped_reason = models.CharField(max_length=30, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    clicked_at = models.DateTimeField(null=True, blank=True)
    replied_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    converted_at = models.DateTimeField(null=True, blank=True)
    revenue = models.DecimalField(default=Decimal("0"), **MONEY)

    tenant_owner = "campaign__organization"

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "contact"],
                                    name="sales_recipient_once"),
        ]
        indexes = [
            models.Index(fields=["campaign", "variant"], name="sales_recipient_variant"),
            models.Index(fields=["buyer", "sent_at"], name="sales_recipient_buyer"),
            # The sending job's "next unsent recipients" and the progress counts.
            models.Index(fields=["campaign", "sent_at", "id"], name="sales_recipient_sending"),
        ]

    def __str__(self):
        return f"{self.campaign_id}: {self.contact_id}"


class EmailSuppression(models.Model):
    """Addresses that must not receive campaign e-mail from this organization (unsubscribed,
    bounced, complained). Checked at send time, together with the contact's opt-in."""

    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="+"
    )
    email = models.EmailField()
    reason = models.CharField(max_length=20)
    created_at = models.DateTimeField(default=timezone.now)

    tenant_owner = "organization"

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "email"],
                                    name="sales_suppression_once"),
        ]

    def __str__(self):
        return f"{self.email} ({self.reason})"


class PromotionSegment(models.Model):
    """The sales segment a hub promotion targets: its accounts' linked hub buyers become the
    promotion's buyers (through a hub service), again whenever the segment is refreshed."""

    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="+"
    )
    promotion = models.OneToOneField("hub.Promotion", on_delete=models.CASCADE,
                                     related_name="+")
    segment = models.ForeignKey(Segment, on_delete=models.CASCADE,
                                related_name="promotion_links", verbose_name=_("segment"))
    buyer_count = models.PositiveIntegerField(default=0)
    synced_at = models.DateTimeField(default=timezone.now)

    tenant_owner = "organization"

    def __str__(self):
        return f"{self.promotion_id} <- {self.segment_id}"


class AttributionVia(models.TextChoices):
    WINDOW = "window", _("Within the attribution window")
    PROMOTION = "promotion", _("Used the campaign's promotion")


class CampaignAttribution(models.Model):
    """A hub order attributed to a campaign recipient (the buyer linked to the recipient's
    account ordered within the window after the send — or, for the holdout, after the
    campaign went out). One row per (recipient, order): redelivered events add nothing."""

    recipient = models.ForeignKey(CampaignRecipient, on_delete=models.CASCADE,
                                  related_name="attributions")
    order = models.ForeignKey("hub.Order", on_delete=models.CASCADE, related_name="+")
    amount = models.DecimalField(default=Decimal("0"), **MONEY)
    currency = models.CharField(max_length=3, default="IDR")
    ordered_at = models.DateTimeField()
    via = models.CharField(max_length=10, choices=AttributionVia.choices,
                           default=AttributionVia.WINDOW)
    created_at = models.DateTimeField(default=timezone.now)

    tenant_owner = "recipient__campaign__organization"

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["recipient", "order"],
                                    name="sales_attribution_once"),
        ]
        indexes = [models.Index(fields=["order"], name="sales_attribution_order")]

    def __str__(self):
        return f"{self.recipient_id}: order {self.order_id}"
