"""Customer portfolio writes: the customer profile (BRM effort, business, health, predicted
value override), business objectives and stakeholders.

Rules:

- a profile is created on first save for an account (`profile_update` upserts under a lock of
  the account row, so two first saves never make two profiles);
- health is set by a person and needs a reason when it is "at risk" or "critical";
- `next_review_on` defaults to today + `review_every_days` when not given;
- an objective that is "agreed" (or achieved) carries the date and the customer contact who
  agreed it; the contact must belong to the same account;
- a stakeholder names a contact of the account; its optional portal login must be a user of the
  account's hub organization (that login signs off requirements for the customer).

Writes need `brm.edit`; every write has an audit row and a `brm.*` event.
"""

import datetime
from decimal import Decimal, InvalidOperation

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from jalin.core.audit import audit_record
from jalin.core.events import emit_event
from jalin.crm.models import Account, Contact
from jalin.tenancy.services import StaleVersion, TenancyError

from .models import (
    BusinessObjective,
    CustomerProfile,
    Health,
    ObjectiveStatus,
    Stakeholder,
    StakeholderRole,
)

PROFILE_FIELDS = ("relationship_manager", "review_every_days", "next_review_on",
                  "business_summary", "activity_patterns", "health", "health_note",
                  "predicted_value")
OBJECTIVE_FIELDS = ("title", "desired_outcome", "measure", "status", "agreed_on", "agreed_by",
                    "target_date")
NEEDS_AGREEMENT = (ObjectiveStatus.AGREED, ObjectiveStatus.ACHIEVED)


class BrmError(TenancyError):
    """A BRM request that cannot be carried out; the message is for the user."""


def _text(value, *, field, max_length, required=False):
    value = (value or "").strip()
    if required and not value:
        raise BrmError(_("This field is required."), code="required", field=field)
    if len(value) > max_length:
        raise BrmError(_("At most %(n)d characters.") % {"n": max_length}, code="too_long",
                       field=field)
    return value


def _date(value, *, field):
    if value in (None, ""):
        return None
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value).strip())
    except ValueError as exc:
        raise BrmError(_("Enter a date (YYYY-MM-DD)."), code="invalid", field=field) from exc


def _check_account(organization, account):
    if account is None or account.organization_id != organization.pk:
        raise BrmError(_("No such customer."), code="not_found", field="account")


def _staff(organization, user, field):
    if user is not None and not user.memberships.filter(
            organization=organization, is_active=True,
            role__in=("org_admin", "sales", "service_agent", "finance", "viewer")).exists():
        raise BrmError(_("Choose a member of your organization."), code="not_found",
                       field=field)
    return user


def _clean_profile(organization, changes):
    unknown = set(changes) - set(PROFILE_FIELDS)
    if unknown:
        raise BrmError(_("Unknown fields: %s") % ", ".join(sorted(unknown)), code="unknown")
    out = {}
    if "relationship_manager" in changes:
        out["relationship_manager"] = _staff(organization, changes["relationship_manager"],
                                             "relationship_manager")
    if "review_every_days" in changes:
        try:
            days = int(changes["review_every_days"])
        except (TypeError, ValueError) as exc:
            raise BrmError(_("Enter a whole number of days."), code="invalid",
                           field="review_every_days") from exc
        if not 7 <= days <= 3650:
            raise BrmError(_("Between 7 and 3650 days."), code="out_of_range",
                           field="review_every_days")
        out["review_every_days"] = days
    if "next_review_on" in changes:
        out["next_review_on"] = _date(changes["next_review_on"], field="next_review_on")
    for name, limit in (("business_summary", 20_000), ("activity_patterns", 20_000),
                        ("health_note", 300)):
        if name in changes:
            out[name] = _text(changes[name], field=name, max_length=limit)
    if "health" in changes:
        if changes["health"] not in Health.values:
            raise BrmError(_("Choose a health."), code="invalid", field="health")
        out["health"] = changes["health"]
    if "predicted_value" in changes:
        value = changes["predicted_value"]
        if value in (None, ""):
            out["predicted_value"] = None
        else:
            try:
                number = Decimal(str(value).strip().replace(",", ""))
            except (InvalidOperation, ValueError) as exc:
                raise BrmError(_("Enter an amount."), code="invalid",
                               field="predicted_value") from exc
            if not number.is_finite() or number < 0 or number >= Decimal(10) ** 16:
                raise BrmError(_("Enter an amount of zero or more."), code="out_of_range",
                               field="predicted_value")
            out["predicted_value"] = number.quantize(Decimal("0.01"))
    return out


def profile_for(account):
    """The account's profile, or an unsaved one with the defaults."""
    return (CustomerProfile.objects.filter(account=account).select_related(
        "relationship_manager").first()
        or CustomerProfile(organization_id=account.organization_id, account=account))


def profile_update(*, account, actor, version=None, now=None, **changes):
    """Create or change the account's profile. `version` is checked when a profile exists
    (send 0 or None for the first save)."""
    organization = account.organization
    fields = _clean_profile(organization, changes)
    now = now or timezone.now()
    with transaction.atomic():
        Account.objects.select_for_update().get(pk=account.pk)
        profile = CustomerProfile.objects.select_for_update().filter(account=account).first()
        created = profile is None
        if created:
            profile = CustomerProfile(organization=organization, account=account,
                                      created_at=now)
        elif version is not None and profile.version != version:
            raise StaleVersion()
        before = {name: str(getattr(profile, name)) for name in fields}
        for name, value in fields.items():
            setattr(profile, name, value)
        if profile.health != Health.GOOD and not profile.health_note:
            raise BrmError(_("Say why the relationship is at risk or critical."),
                           code="required", field="health_note")
        if profile.health == Health.GOOD and "health" in fields and "health_note" not in fields:
            profile.health_note = ""
        if profile.next_review_on is None:
            profile.next_review_on = timezone.localdate(now) + datetime.timedelta(
                days=profile.review_every_days)
        profile.updated_at = now
        if not created:
            profile.version += 1
        profile.save()
        audit_record(actor=actor, organization=organization,
                     action="brm.customer_profile.saved", obj=profile,
                     before=None if created else before,
                     after={name: str(getattr(profile, name)) for name in fields})
        emit_event(type="brm.customer_profile.saved", organization=organization,
                   aggregate=profile, actor=actor,
                   payload={"profile_id": profile.pk, "account_id": account.pk,
                            "health": profile.health, "created": created})
    return profile


# --- Objectives ----------------------------------------------------------------------------


def _clean_objective(organization, account, changes, *, creating):
    unknown = set(changes) - set(OBJECTIVE_FIELDS)
    if unknown:
        raise BrmError(_("Unknown fields: %s") % ", ".join(sorted(unknown)), code="unknown")
    out = {}
    if "title" in changes or creating:
        out["title"] = _text(changes.get("title"), field="title", max_length=200,
                             required=True)
    if "desired_outcome" in changes:
        out["desired_outcome"] = _text(changes["desired_outcome"], field="desired_outcome",
                                       max_length=20_000)
    if "measure" in changes:
        out["measure"] = _text(changes["measure"], field="measure", max_length=200)
    if "status" in changes:
        if changes["status"] not in ObjectiveStatus.values:
            raise BrmError(_("Choose a status."), code="invalid", field="status")
        out["status"] = changes["status"]
    for name in ("agreed_on", "target_date"):
        if name in changes:
            out[name] = _date(changes[name], field=name)
    if "agreed_by" in changes:
        contact = changes["agreed_by"]
        if contact is not None and (contact.organization_id != organization.pk
                                    or contact.account_id != account.pk):
            raise BrmError(_("Choose a contact of this customer."), code="not_found",
                           field="agreed_by")
        out["agreed_by"] = contact
    return out


def _check_objective(objective):
    if objective.status in NEEDS_AGREEMENT:
        if objective.agreed_on is None:
            raise BrmError(_("An agreed objective needs the date it was agreed."),
                           code="required", field="agreed_on")
        if objective.agreed_by_id is None:
            raise BrmError(_("An agreed objective needs the customer contact who agreed it."),
                           code="required", field="agreed_by")


def objective_create(*, account, actor, now=None, **data):
    organization = account.organization
    fields = _clean_objective(organization, account, data, creating=True)
    now = now or timezone.now()
    objective = BusinessObjective(organization=organization, account=account, created_at=now,
                                  updated_at=now, **fields)
    _check_objective(objective)
    with transaction.atomic():
        objective.save()
        audit_record(actor=actor, organization=organization, action="brm.objective.created",
                     obj=objective, after={"title": objective.title,
                                           "status": objective.status})
        emit_event(type="brm.objective.created", organization=organization,
                   aggregate=objective, actor=actor,
                   payload={"objective_id": objective.pk, "account_id": account.pk,
                            "status": objective.status})
    return objective


def objective_update(*, objective, actor, version, now=None, **changes):
    fields = _clean_objective(objective.organization, objective.account, changes,
                              creating=False)
    with transaction.atomic():
        locked = BusinessObjective.objects.select_for_update().get(pk=objective.pk)
        if locked.version != version:
            raise StaleVersion()
        before = {"status": locked.status, "agreed_on": str(locked.agreed_on)}
        for name, value in fields.items():
            setattr(locked, name, value)
        _check_objective(locked)
        locked.updated_at = now or timezone.now()
        locked.version += 1
        locked.save()
        audit_record(actor=actor, organization=locked.organization,
                     action="brm.objective.updated", obj=locked, before=before,
                     after={"status": locked.status, "agreed_on": str(locked.agreed_on)})
        emit_event(type="brm.objective.updated", organization=locked.organization,
                   aggregate=locked, actor=actor,
                   payload={"objective_id": locked.pk, "account_id": locked.account_id,
                            "status": locked.status})
    return locked


# --- Stakeholders --------------------------------------------------------------------------


def stakeholder_create(*, account, actor, contact, role, influence=3, portal_user=None,
                       notes=""):
    organization = account.organization
    if contact is None or contact.organization_id != organization.pk or (
            contact.account_id != account.pk):
        raise BrmError(_("Choose a contact of this customer."), code="not_found",
                       field="contact")
    if role not in StakeholderRole.values:
        raise BrmError(_("Choose a role."), code="invalid", field="role")
    try:
        influence = int(influence)
    except (TypeError, ValueError) as exc:
        raise BrmError(_("Influence is 1 to 5."), code="invalid", field="influence") from exc
    if not 1 <= influence <= 5:
        raise BrmError(_("Influence is 1 to 5."), code="out_of_range", field="influence")
    if portal_user is not None:
        buyer_id = account.hub_organization_id
        if not buyer_id or not portal_user.memberships.filter(organization_id=buyer_id,
                                                              is_active=True).exists():
            raise BrmError(_("The portal login must be a user of the customer's hub "
                             "organization."), code="not_found", field="portal_user")
    notes = _text(notes, field="notes", max_length=5000)
    with transaction.atomic():
        if Stakeholder.objects.filter(account=account, contact=contact, role=role).exists():
            raise BrmError(_("This contact already has this role."), code="duplicate",
                           field="role")
        try:
            with transaction.atomic():
                stakeholder = Stakeholder.objects.create(
                    organization=organization, account=account, contact=contact, role=role,
                    influence=influence, portal_user=portal_user, notes=notes)
        except IntegrityError as exc:
            raise BrmError(_("This contact already has this role."), code="duplicate",
                           field="role") from exc
        audit_record(actor=actor, organization=organization, action="brm.stakeholder.added",
                     obj=stakeholder, after={"contact_id": contact.pk, "role": role})
        emit_event(type="brm.stakeholder.added", organization=organization,
                   aggregate=stakeholder, actor=actor,
                   payload={"stakeholder_id": stakeholder.pk, "account_id": account.pk,
                            "role": role})
    return stakeholder


def stakeholder_remove(*, stakeholder, actor):
    with transaction.atomic():
        audit_record(actor=actor, organization=stakeholder.organization,
                     action="brm.stakeholder.removed", obj=stakeholder,
                     before={"contact_id": stakeholder.contact_id, "role": stakeholder.role})
        emit_event(type="brm.stakeholder.removed", organization=stakeholder.organization,
                   aggregate=stakeholder, actor=actor,
                   payload={"stakeholder_id": stakeholder.pk,
                            "account_id": stakeholder.account_id})
        stakeholder.delete()


def portal_users_of(account):
    """Users of the account's hub organization (candidates for a stakeholder's login)."""
    if not account.hub_organization_id:
        return []
    return list(get_user_model().objects.filter(
        memberships__organization_id=account.hub_organization_id,
        memberships__is_active=True).order_by("username").distinct())


def contacts_of(account):
    return list(Contact.objects.filter(organization_id=account.organization_id,
                                       account=account).order_by("last_name", "first_name"))
