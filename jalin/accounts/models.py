import hashlib
import secrets

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    """A person. What they may do depends on their memberships, not on this row."""

    email = models.EmailField(_("email address"), blank=True, db_index=True)
    preferred_language = models.CharField(
        max_length=8, choices=settings.LANGUAGES, blank=True, default=""
    )

    tenant_exempt = "A person may belong to several organizations; memberships carry the scope."

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"


class LoginFailure(models.Model):
    """One failed login attempt; the lockout counts recent rows per username and IP."""

    username = models.CharField(max_length=150)
    ip_address = models.GenericIPAddressField(null=True)
    created_at = models.DateTimeField(default=timezone.now)

    tenant_exempt = "Failed logins happen before anyone is known to belong to an organization."

    class Meta:
        indexes = [models.Index(fields=["username", "ip_address", "created_at"])]

    def __str__(self):
        return f"{self.username} from {self.ip_address} at {self.created_at:%Y-%m-%d %H:%M}"


def hash_token_secret(secret: str) -> str:
    # API tokens are long random strings, so a fast hash is enough (no dictionary to attack);
    # this keeps token authentication cheap on every request.
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiTokenQuerySet(models.QuerySet):
    def for_org(self, organization):
        return self.filter(membership__organization=organization)

    def usable(self):
        now = timezone.now()
        return self.filter(revoked_at__isnull=True, expires_at__gt=now)


class ApiToken(models.Model):
    """A bearer token bound to one membership: it acts for one person in one organization."""

    PREFIX = "jln"

    membership = models.ForeignKey(
        "tenancy.Membership", on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(_("name"), max_length=100)
    key_id = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()
    tenant_owner = "membership__organization"

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.name} ({self.key_id})"

    @property
    def is_active(self):
        return self.revoked_at is None and self.expires_at > timezone.now()

    @property
    def status(self):
        """"active", "revoked" or "expired" (revoked wins: it was a deliberate act)."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= timezone.now():
            return "expired"
        return "active"

    @property
    def display_prefix(self):
        """What a person can match against the token they hold, without the secret."""
        return f"{self.PREFIX}_{self.key_id}_…"

    @classmethod
    def new_key(cls):
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        return key_id, secret, f"{cls.PREFIX}_{key_id}_{secret}"
