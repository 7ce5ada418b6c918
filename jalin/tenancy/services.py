"""Write paths for organizations, memberships and invitations.

Each service owns its transaction, writes the audit log and emits a domain event.
Errors a person can fix are raised as `TenancyError` with a user-facing message.
"""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from jalin.core.audit import audit_record, snapshot
from jalin.core.events import emit_event

from .models import Invitation, Membership, Organization, hash_invitation_token
from .roles import Role

ORG_EDITABLE_FIELDS = (
    "name", "legal_name", "tax_id", "address", "city", "country", "currency", "time_zone",
)


class TenancyError(Exception):
    """A request that cannot be carried out as asked; the message is shown to the user."""

    def __init__(self, message, *, code="invalid", field=None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field


class StaleVersion(TenancyError):
    def __init__(self):
        super().__init__(
            _("This record was changed by someone else. Reload and try again."), code="stale"
        )


def organization_update(*, organization, actor, version, **changes):
    """Update an organization's profile; `version` must match (optimistic concurrency)."""
    unknown = set(changes) - set(ORG_EDITABLE_FIELDS)
    if unknown:
        raise TenancyError(_("Unknown fields: %s") % ", ".join(sorted(unknown)), code="unknown")
    with transaction.atomic():
        locked = Organization.objects.select_for_update().get(pk=organization.pk)
        if locked.version != version:
            raise StaleVersion()
        before = snapshot(locked, fields=ORG_EDITABLE_FIELDS)
        for field, value in changes.items():
            setattr(locked, field, value)
        locked.full_clean(exclude=["slug"])
        locked.version += 1
        locked.save()
        after = snapshot(locked, fields=ORG_EDITABLE_FIELDS)
        audit_record(actor=actor, organization=locked, action="organization.updated",
                     obj=locked, before=before, after=after)
        emit_event(type="organization.updated", organization=locked, aggregate=locked,
                   actor=actor, payload={"changed": sorted(changes)})
    return locked


def _admin_count(organization):
    return Membership.objects.filter(
        organization=organization, role=Role.ORG_ADMIN, is_active=True
    ).count()


def membership_change_role(*, membership, role, actor):
    if role not in Role.values:
        raise TenancyError(_("Unknown role."), code="invalid_role", field="role")
    with transaction.atomic():
        locked = Membership.objects.select_for_update().get(pk=membership.pk)
        # Lock the org row too, so two admins demoting each other cannot both succeed.
        Organization.objects.select_for_update().get(pk=locked.organization_id)
        demoting_admin = locked.role == Role.ORG_ADMIN and role != Role.ORG_ADMIN
        if demoting_admin and locked.is_active and _admin_count(locked.organization) <= 1:
            raise TenancyError(
                _("An organization needs at least one admin."), code="last_admin", field="role"
            )
        before = {"role": locked.role}
        locked.role = role
        locked.save(update_fields=["role"])
        audit_record(actor=actor, organization=locked.organization,
                     action="membership.role_changed", obj=locked, before=before,
                     after={"role": role})
        emit_event(type="membership.role_changed", organization=locked.organization,
                   aggregate=locked, actor=actor, payload={"user_id": locked.user_id, "role": role})
    return locked


def membership_remove(*, membership, actor):
    with transaction.atomic():
        locked = Membership.objects.select_for_update().get(pk=membership.pk)
        Organization.objects.select_for_update().get(pk=locked.organization_id)
        if locked.role == Role.ORG_ADMIN and _admin_count(locked.organization) <= 1:
            raise TenancyError(_("An organization needs at least one admin."), code="last_admin")
        locked.is_active = False
        locked.save(update_fields=["is_active"])
        locked.api_tokens.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        audit_record(actor=actor, organization=locked.organization, action="membership.removed",
                     obj=locked, before={"is_active": True}, after={"is_active": False})
        emit_event(type="membership.removed", organization=locked.organization,
                   aggregate=locked, actor=actor, payload={"user_id": locked.user_id})
    return locked


def invitation_create(*, organization, email, role, actor, base_url=""):
    """Invite `email` to join with `role`. Returns (invitation, token); only the hash is kept."""
    email = (email or "").strip().lower()
    if role not in Role.values:
        raise TenancyError(_("Unknown role."), code="invalid_role", field="role")
    if not email or "@" not in email:
        raise TenancyError(_("Enter a valid email address."), code="invalid_email", field="email")
    if Membership.objects.filter(
        organization=organization, user__email__iexact=email, is_active=True
    ).exists():
        raise TenancyError(
            _("%(email)s is already a member.") % {"email": email}, code="already_member",
            field="email",
        )
    token = Invitation.new_token()
    with transaction.atomic():
        invitation = Invitation.objects.create(
            organization=organization, email=email, role=role,
            token_hash=hash_invitation_token(token), invited_by=actor,
            expires_at=timezone.now() + timedelta(days=settings.JALIN_INVITATION_DAYS),
        )
        audit_record(actor=actor, organization=organization, action="invitation.created",
                     obj=invitation, after={"email": email, "role": role})
        emit_event(type="invitation.created", organization=organization, aggregate=invitation,
                   actor=actor, payload={"email": email, "role": role})
        link = base_url + reverse("tenancy:invitation_accept", args=[token])
        transaction.on_commit(
            lambda: send_mail(
                _("You are invited to %(org)s on Jalin") % {"org": organization.name},
                _("Open this link to join %(org)s as %(role)s:\n\n%(link)s\n")
                % {"org": organization.name, "role": Role(role).label, "link": link},
                None,
                [email],
            )
        )
    return invitation, token


def invitation_revoke(*, invitation, actor):
    with transaction.atomic():
        locked = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if locked.status != "pending":
            raise TenancyError(_("This invitation is no longer pending."), code="not_pending")
        locked.revoked_at = timezone.now()
        locked.save(update_fields=["revoked_at"])
        audit_record(actor=actor, organization=locked.organization, action="invitation.revoked",
                     obj=locked)
    return locked


def invitation_lookup(*, token):
    """The pending invitation for a token, or None."""
    if not token:
        return None
    return (
        Invitation.objects.pending().select_related("organization")
        .filter(token_hash=hash_invitation_token(token)).first()
    )


def invitation_accept(*, token, user=None, username=None, password=None):
    """Accept an invitation as `user`, or create a new user with username/password."""
    with transaction.atomic():
        invitation = (
            Invitation.objects.select_for_update()
            .filter(token_hash=hash_invitation_token(token or "")).first()
        )
        if invitation is None or invitation.status != "pending":
            raise TenancyError(_("This invitation link is invalid or has expired."),
                               code="invalid_invitation")
        if user is None:
            User = get_user_model()
            if not username or not password:
                raise TenancyError(_("Choose a username and password."), code="required")
            if User.objects.filter(username__iexact=username).exists():
                raise TenancyError(_("That username is taken."), code="username_taken",
                                   field="username")
            user = User.objects.create_user(username=username, email=invitation.email,
                                            password=password)
        membership, created = Membership.objects.get_or_create(
            user=user, organization=invitation.organization,
            defaults={"role": invitation.role},
        )
        if not created:
            membership.role = invitation.role
            membership.is_active = True
            membership.save(update_fields=["role", "is_active"])
        invitation.accepted_at = timezone.now()
        invitation.accepted_by = user
        invitation.save(update_fields=["accepted_at", "accepted_by"])
        audit_record(actor=user, organization=invitation.organization,
                     action="invitation.accepted", obj=membership,
                     after={"role": membership.role})
        emit_event(type="membership.created", organization=invitation.organization,
                   aggregate=membership, actor=user,
                   payload={"user_id": user.pk, "role": membership.role})
    return membership


def membership_create(*, user, organization, role, actor=None):
    """Direct membership creation (demo data, admin tools)."""
    with transaction.atomic():
        membership = Membership.objects.create(user=user, organization=organization, role=role)
        audit_record(actor=actor, organization=organization, action="membership.created",
                     obj=membership, after={"role": role, "user": user.get_username()})
        emit_event(type="membership.created", organization=organization, aggregate=membership,
                   actor=actor, payload={"user_id": user.pk, "role": role})
    return membership


def organization_create(*, name, slug, actor=None, admin_user=None, **fields):
    with transaction.atomic():
        organization = Organization(name=name, slug=slug, **fields)
        organization.full_clean()
        organization.save()
        audit_record(actor=actor, organization=organization, action="organization.created",
                     obj=organization, after=snapshot(organization, fields=ORG_EDITABLE_FIELDS))
        emit_event(type="organization.created", organization=organization,
                   aggregate=organization, actor=actor, payload={"name": name})
        if admin_user is not None:
            membership_create(user=admin_user, organization=organization, role=Role.ORG_ADMIN,
                              actor=actor)
    return organization
