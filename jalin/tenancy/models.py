import hashlib
import secrets
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .roles import Role, has_perm


def validate_time_zone(value):
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("Unknown time zone: %(tz)s"), params={"tz": value})


def validate_currency(value):
    if len(value) != 3 or not value.isalpha() or not value.isupper():
        raise ValidationError(_("Use a three-letter ISO 4217 code such as IDR."))


class Organization(models.Model):
    """A company on the hub: a supplier, a buyer, both, or the hub operator."""

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("short name"), max_length=60, unique=True)
    legal_name = models.CharField(_("legal name"), max_length=200, blank=True)
    tax_id = models.CharField(_("tax id (NPWP)"), max_length=40, blank=True)
    address = models.TextField(_("address"), blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    country = models.CharField(_("country"), max_length=2, default="ID")
    currency = models.CharField(
        _("currency"), max_length=3, default="IDR", validators=[validate_currency]
    )
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="Asia/Jakarta", validators=[validate_time_zone]
    )
    is_supplier = models.BooleanField(_("supplier"), default=False)
    is_buyer = models.BooleanField(_("buyer"), default=False)
    is_operator = models.BooleanField(_("hub operator"), default=False)
    created_at = models.DateTimeField(default=timezone.now)
    # Optimistic concurrency for edits through the API and forms.
    version = models.PositiveIntegerField(default=1)

    tenant_exempt = "The organization is the tenant itself; access is by membership."

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_operator"],
                condition=models.Q(is_operator=True),
                name="tenancy_single_operator",
            )
        ]

    def __str__(self):
        return self.name

    @property
    def kinds(self):
        kinds = []
        if self.is_operator:
            kinds.append("operator")
        if self.is_supplier:
            kinds.append("supplier")
        if self.is_buyer:
            kinds.append("buyer")
        return kinds


class MembershipQuerySet(models.QuerySet):
    def for_org(self, organization):
        return self.filter(organization=organization)

    def active(self):
        return self.filter(is_active=True)


class Membership(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = MembershipQuerySet.as_manager()
    tenant_owner = "organization"

    class Meta:
        ordering = ["organization__name"]
        constraints = [
            models.UniqueConstraint(fields=["user", "organization"], name="tenancy_one_membership")
        ]

    def __str__(self):
        return f"{self.user} @ {self.organization} ({self.role})"

    def has_perm(self, perm):
        return has_perm(self, perm)


class InvitationQuerySet(models.QuerySet):
    def for_org(self, organization):
        return self.filter(organization=organization)

    def pending(self):
        return self.filter(accepted_at__isnull=True, revoked_at__isnull=True,
                           expires_at__gt=timezone.now())


def hash_invitation_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Invitation(models.Model):
    """An emailed link that lets one person join an organization with a given role."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="invitations"
    )
    email = models.EmailField(_("email"))
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = InvitationQuerySet.as_manager()
    tenant_owner = "organization"

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.email} → {self.organization}"

    @staticmethod
    def new_token():
        return secrets.token_urlsafe(32)

    @property
    def status(self):
        if self.accepted_at:
            return "accepted"
        if self.revoked_at:
            return "revoked"
        if self.expires_at <= timezone.now():
            return "expired"
        return "pending"
