"""CRM records owned by the supplier organization whose staff use them.

Every row carries `organization`; every index starts with it, because every query is scoped to
one organization (and one organization may hold a million contacts). `version` is bumped on
each write for optimistic concurrency. Custom field values live in `custom` (JSON), validated
by `jalin.crm.custom_fields` against the organization's `CustomFieldDefinition`s.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Tag(models.Model):
    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="+"
    )
    name = models.CharField(_("name"), max_length=60)

    tenant_owner = "organization"

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="crm_tag_unique_name")
        ]

    def __str__(self):
        return self.name


class AccountStatus(models.TextChoices):
    PROSPECT = "prospect", _("Prospect")
    CUSTOMER = "customer", _("Customer")
    FORMER = "former", _("Former customer")


class AccountSize(models.TextChoices):
    MICRO = "micro", _("1–10 people")
    SMALL = "small", _("11–50 people")
    MEDIUM = "medium", _("51–250 people")
    LARGE = "large", _("251–1000 people")
    ENTERPRISE = "enterprise", _("More than 1000 people")


class AccountTier(models.TextChoices):
    STRATEGIC = "strategic", _("Strategic")
    KEY = "key", pgettext_lazy("account tier", "Key")
    STANDARD = "standard", _("Standard")
    LONG_TAIL = "long_tail", _("Long tail")


class Account(models.Model):
    """A customer company."""

    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="+"
    )
    name = models.CharField(_("name"), max_length=200)
    industry = models.CharField(_("industry"), max_length=100, blank=True)
    size = models.CharField(_("size"), max_length=20, choices=AccountSize.choices, blank=True)
    tier = models.CharField(_("tier"), max_length=20, choices=AccountTier.choices,
                            default=AccountTier.STANDARD)
    status = models.CharField(_("status"), max_length=20, choices=AccountStatus.choices,
                              default=AccountStatus.PROSPECT)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.SET_NULL,
        null=True, blank=True, related_name="+",
    )
    parent = models.ForeignKey(
        "self", verbose_name=_("parent account"), on_delete=models.SET_NULL, null=True,
        blank=True, related_name="children",
    )
    tax_id = models.CharField(_("tax id (NPWP)"), max_length=40, blank=True)
    billing_address = models.TextField(_("billing address"), blank=True)
    shipping_address = models.TextField(_("shipping address"), blank=True)
    website = models.URLField(_("website"), max_length=300, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True,
                             help_text=_("International format, e.g. +62 21 555 0100"))
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True, related_name="+")
    hub_organization = models.ForeignKey(
        "tenancy.Organization", verbose_name=_("buyer on the hub"), on_delete=models.SET_NULL,
        null=True, blank=True, related_name="+",
    )
    custom = models.JSONField(default=dict, blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    tenant_owner = "organization"

    class Meta:
        indexes = [
            models.Index(fields=["organization", "name", "id"], name="crm_account_org_name"),
            models.Index(fields=["organization", "updated_at", "id"],
                         name="crm_account_org_updated"),
            models.Index(fields=["organization", "owner"], name="crm_account_org_owner"),
            models.Index(fields=["organization", "status", "name"],
                         name="crm_account_org_status"),
            models.Index(fields=["organization", "tier", "name"], name="crm_account_org_tier"),
            models.Index(fields=["organization", "phone"], name="crm_account_org_phone"),
        ]

    def __str__(self):
        return self.name


class RelationshipRole(models.TextChoices):
    DECISION_MAKER = "decision_maker", _("Decision maker")
    INFLUENCER = "influencer", _("Influencer")
    USER = "user", _("User")
    BILLING = "billing", _("Billing")
    TECHNICAL = "technical", _("Technical")


class Contact(models.Model):
    """A person at a customer. `email` is stored lower-case; phones in E.164."""

    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="+"
    )
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100)
    job_title = models.CharField(_("job title"), max_length=150, blank=True)
    email = models.EmailField(_("email"), max_length=254, blank=True)
    extra_emails = models.JSONField(_("other emails"), default=list, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True,
                             help_text=_("International format, e.g. +62 812 3456 7890"))
    extra_phones = models.JSONField(_("other phones"), default=list, blank=True)
    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.SET_NULL, null=True, blank=True,
        related_name="contacts",
    )
    relationship_role = models.CharField(
        _("relationship role"), max_length=20, choices=RelationshipRole.choices, blank=True
    )
    email_opt_in = models.BooleanField(_("agrees to email"), default=False)
    email_opt_in_at = models.DateTimeField(null=True, blank=True)
    phone_opt_in = models.BooleanField(_("agrees to phone calls"), default=False)
    phone_opt_in_at = models.DateTimeField(null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.SET_NULL,
        null=True, blank=True, related_name="+",
    )
    custom = models.JSONField(default=dict, blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    tenant_owner = "organization"

    class Meta:
        indexes = [
            models.Index(fields=["organization", "last_name", "first_name", "id"],
                         name="crm_contact_org_name"),
            models.Index(fields=["organization", "updated_at", "id"],
                         name="crm_contact_org_updated"),
            models.Index(fields=["organization", "owner"], name="crm_contact_org_owner"),
            models.Index(fields=["organization", "email"], name="crm_contact_org_email"),
            models.Index(fields=["organization", "phone"], name="crm_contact_org_phone"),
            models.Index(fields=["organization", "account"], name="crm_contact_org_account"),
        ]

    def __str__(self):
        return self.full_name

    @property
    def full_name(self):
        return f"{self.first_name} {self.last_name}".strip()


class CustomFieldTarget(models.TextChoices):
    ACCOUNT = "account", _("Account")
    CONTACT = "contact", _("Contact")


class CustomFieldType(models.TextChoices):
    TEXT = "text", _("Text")
    NUMBER = "number", _("Number")
    DATE = "date", _("Date")
    CHOICE = "choice", _("Choice")
    MULTI_CHOICE = "multi_choice", _("Several choices")
    BOOLEAN = "boolean", _("Yes / no")
    URL = "url", _("Web address")


class CustomFieldDefinition(models.Model):
    """A field an org admin added to accounts or contacts; values live in `<record>.custom`."""

    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="+"
    )
    target = models.CharField(_("record"), max_length=20, choices=CustomFieldTarget.choices)
    key = models.SlugField(_("key"), max_length=50,
                           help_text=_("Lower-case letters, digits and underscores; "
                                       "used in the API and CSV files."))
    label = models.CharField(_("label"), max_length=100)
    type = models.CharField(_("type"), max_length=20, choices=CustomFieldType.choices)
    choices = models.JSONField(_("choices"), default=list, blank=True)
    required = models.BooleanField(_("required"), default=False)
    position = models.PositiveIntegerField(_("position"), default=0)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    tenant_owner = "organization"

    class Meta:
        ordering = ["target", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "target", "key"],
                                    name="crm_custom_field_unique_key")
        ]

    def __str__(self):
        return self.label


class HubBuyerLink(models.Model):
    """A buyer this supplier trades with on the hub, as the CRM learned it from the hub's
    `hub.relationship.*` events. The CRM never reads the hub's tables: this copy is what lets
    an account be linked to a buyer, and it catches up whenever the consumer runs again."""

    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="+"
    )
    buyer = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="+"
    )
    status = models.CharField(_("status"), max_length=16)
    updated_from_event_position = models.BigIntegerField()
    updated_at = models.DateTimeField(default=timezone.now)

    tenant_owner = "organization"

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "buyer"],
                                    name="crm_hub_buyer_link_unique")
        ]

    def __str__(self):
        return f"{self.organization_id} -> {self.buyer_id} ({self.status})"
