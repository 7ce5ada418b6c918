"""Authentication with lockout, and API tokens. Used by the login view and the JSON API alike."""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import authenticate, login, logout
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from jalin.core.audit import audit_record, snapshot

from .models import ApiToken, LoginFailure, hash_token_secret

# Unix timestamps in the session: when the person signed in, and when we last saw them.
AUTHENTICATED_AT_SESSION_KEY = "jalin_authenticated_at"
LAST_ACTIVITY_SESSION_KEY = "jalin_last_activity"


class LockedOut(Exception):
    """Too many recent failures for this username from this address."""


class TokenError(Exception):
    def __init__(self, message, *, code="invalid"):
        super().__init__(message)
        self.message = message
        self.code = code


def _normalize(username):
    return (username or "").strip().lower()[:150]


def _recent_failures(*, username, ip_address):
    since = timezone.now() - timedelta(seconds=settings.JALIN_LOCKOUT_WINDOW_SECONDS)
    return LoginFailure.objects.filter(
        username=_normalize(username), ip_address=ip_address, created_at__gte=since
    )


def login_failures_purge(*, now=None):
    """Forget failures older than the lockout window: they no longer count. Returns how many."""
    cutoff = (now or timezone.now()) - timedelta(seconds=settings.JALIN_LOCKOUT_WINDOW_SECONDS)
    deleted, _details = LoginFailure.objects.filter(created_at__lt=cutoff).delete()
    return deleted


def is_locked_out(*, username, ip_address):
    return _recent_failures(username=username, ip_address=ip_address).count() >= (
        settings.JALIN_LOCKOUT_FAILURES
    )


def authenticate_with_lockout(*, request, username, password, ip_address):
    """Return the user for valid credentials, None for invalid ones; raise LockedOut.

    While locked out, even the right password is refused, so guessing gains nothing.
    A successful login clears the failures for that username and address.
    """
    if is_locked_out(username=username, ip_address=ip_address):
        raise LockedOut(_("Too many failed sign-in attempts. Try again later."))
    user = authenticate(request, username=username, password=password)
    if user is None:
        with transaction.atomic():
            LoginFailure.objects.create(username=_normalize(username), ip_address=ip_address)
            audit_record(actor=None, organization=None, action="auth.login_failed",
                         object_type="accounts.user", object_repr=_normalize(username),
                         ip_address=ip_address)
            # Record the moment the lock engages once, not every refused attempt after it:
            # an attacker hammering a locked account must not flood the audit log.
            if is_locked_out(username=username, ip_address=ip_address):
                audit_record(actor=None, organization=None, action="auth.locked_out",
                             object_type="accounts.user", object_repr=_normalize(username),
                             ip_address=ip_address)
        return None
    _recent_failures(username=username, ip_address=ip_address).delete()
    return user


def user_log_in(*, request, user):
    """Start a session for `user`. Django's login() rotates the session key (no fixation)."""
    with transaction.atomic():
        login(request, user)
        request.session[AUTHENTICATED_AT_SESSION_KEY] = int(timezone.now().timestamp())
        request.session[LAST_ACTIVITY_SESSION_KEY] = int(timezone.now().timestamp())
        audit_record(actor=user, organization=None, action="auth.login", obj=user,
                     ip_address=client_ip(request))


def user_log_out(*, request, reason="logout"):
    """End the session on the server: the session row is deleted, the old cookie is worthless."""
    user = request.user
    with transaction.atomic():
        if getattr(user, "is_authenticated", False):
            audit_record(actor=user, organization=None, action=f"auth.{reason}", obj=user,
                         ip_address=client_ip(request))
        logout(request)


def password_reset_requested(*, user, ip_address):
    audit_record(actor=None, organization=None, action="auth.password_reset_requested",
                 obj=user, ip_address=ip_address)


def password_reset_completed(*, user, ip_address):
    with transaction.atomic():
        audit_record(actor=user, organization=None, action="auth.password_reset_completed",
                     obj=user, ip_address=ip_address)


def password_changed(*, user, ip_address):
    audit_record(actor=user, organization=None, action="auth.password_changed", obj=user,
                 ip_address=ip_address)


PROFILE_FIELDS = ("email", "first_name", "last_name", "preferred_language")


def user_profile_update(*, user, actor, email, first_name, last_name, preferred_language):
    """Change a person's own details. Returns the user."""
    if preferred_language and preferred_language not in dict(settings.LANGUAGES):
        raise ValueError(f"Unknown language {preferred_language!r}")
    with transaction.atomic():
        before = snapshot(user, fields=PROFILE_FIELDS)
        user.email = email
        user.first_name = first_name
        user.last_name = last_name
        user.preferred_language = preferred_language
        user.full_clean(exclude=["password", "username"])
        user.save(update_fields=list(PROFILE_FIELDS))
        after = snapshot(user, fields=PROFILE_FIELDS)
        if before != after:
            audit_record(actor=actor, organization=None, action="accounts.profile_updated",
                         obj=user, before=before, after=after)
    return user


def client_ip(request):
    """The client address. Behind a proxy, set JALIN_TRUSTED_PROXY_HOPS in the environment."""
    hops = getattr(settings, "JALIN_TRUSTED_PROXY_HOPS", 0)
    if hops:
        forwarded = [p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [p for p in forwarded if p]
        if len(forwarded) >= hops:
            return forwarded[-hops]
    return request.META.get("REMOTE_ADDR") or None


def api_token_create(*, membership, name, actor, days=None):
    """Create a token for `membership`. Returns (token, raw); raw is shown once, never stored."""
    name = (name or "").strip()
    if not name:
        raise TokenError(_("Give the token a name."), code="required")
    if len(name) > 100:
        raise TokenError(_("The name is too long (100 characters at most)."), code="too_long")
    days = days or settings.JALIN_API_TOKEN_DAYS
    key_id, secret, raw = ApiToken.new_key()
    now = timezone.now()
    with transaction.atomic():
        token = ApiToken.objects.create(
            membership=membership, name=name, key_id=key_id, secret_hash=hash_token_secret(secret),
            created_at=now, expires_at=now + timedelta(days=days),
        )
        audit_record(actor=actor, organization=membership.organization,
                     action="api_token.created", obj=token, after={"name": name})
    return token, raw


def api_token_revoke(*, token, actor):
    with transaction.atomic():
        locked = ApiToken.objects.select_for_update().get(pk=token.pk)
        if locked.revoked_at is None:
            locked.revoked_at = timezone.now()
            locked.save(update_fields=["revoked_at"])
            audit_record(actor=actor, organization=locked.membership.organization,
                         action="api_token.revoked", obj=locked)
    return locked


def api_token_authenticate(raw):
    """The usable token for a raw bearer string, or None. Constant-time on the secret."""
    import hmac

    # maxsplit=2: the url-safe secret may itself contain "_".
    parts = (raw or "").split("_", 2)
    if len(parts) != 3 or parts[0] != ApiToken.PREFIX:
        return None
    _prefix, key_id, secret = parts
    token = (
        ApiToken.objects.usable()
        .select_related("membership__organization", "membership__user")
        .filter(key_id=key_id, membership__is_active=True, membership__user__is_active=True)
        .first()
    )
    if token is None or not hmac.compare_digest(token.secret_hash, hash_token_secret(secret)):
        return None
    now = timezone.now()
    # Write last_used_at at most once a minute: a busy integration must not turn every read
    # into a write.
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
