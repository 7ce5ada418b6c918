"""Leads: capture (staff, API, web form, CSV import), explainable scoring, assignment rules and
conversion into a CRM account + contact + opportunity.

Every service is keyword-only, owns its transaction, writes the audit log and emits a
`sales.lead.*` event (`created`, `updated`, `assigned`, `converted`, `disqualified`).

- Input is checked before anything is written: field problems raise Django's
  `ValidationError` keyed by field; a reference outside the organization or a refused action
  raises `SalesError` (a `TenancyError`: API 422, or 404 for `not_found`); a stale `version`
  raises `StaleVersion` (409). Email is lower-cased, phone normalized to E.164 with the CRM's
  own helper.
- Scoring (`lead_score`) applies the organization's active `ScoringRule`s and stores the score
  with `score_explanation` = [{"rule", "label", "points"}...]: which fact added how much. It
  runs on create and on every update.
- Assignment (`lead_assign`) tries the active `AssignmentRule`s in position order; the first
  that yields an owner wins. Round robin (among the rule's users or a territory's members)
  locks the rule/territory row, so concurrent captures share leads out fairly.
- Conversion (`lead_convert`) creates or links the account and contact through the CRM's
  services, opens an opportunity in the default pipeline's first open stage (a default
  pipeline is created on first use), and keeps the lead (status converted, links to what it
  became). Converting twice is refused with 409. A `sales.lead.converted` event names the
  account and contact, so their CRM timelines say "converted from lead".
"""

import datetime
import re

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from jalin.core.audit import audit_record
from jalin.core.events import emit_event
from jalin.core.params import int_param
from jalin.crm import services as crm
from jalin.crm.models import Account, Contact
from jalin.tenancy.models import Membership
from jalin.tenancy.services import StaleVersion, TenancyError

from .models import (
    AssignmentMethod,
    AssignmentRule,
    Lead,
    LeadSource,
    LeadStatus,
    Pipeline,
    PipelineStage,
    ScoringRule,
    StageKind,
    Territory,
)

__all__ = ["SalesError", "StaleVersion"]

LEAD_FIELDS = (
    "first_name", "last_name", "company", "job_title", "email", "phone", "website",
    "industry", "company_size", "country", "region", "city", "message", "email_opt_in",
    "custom", "utm",
)
MAX_MESSAGE = 5000
MAX_UTM = 10
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
FREE_EMAIL_DOMAINS = frozenset({
    "gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.id", "ymail.com", "hotmail.com",
    "outlook.com", "live.com", "msn.com", "icloud.com", "me.com", "aol.com", "proton.me",
    "protonmail.com", "gmx.com", "mail.com", "yandex.com", "zoho.com",
})

# Scoring: fields a rule may test and the operators it may use.
SCORING_FIELDS = (
    "first_name", "last_name", "company", "job_title", "email", "email_domain", "phone",
    "website", "industry", "company_size", "country", "region", "city", "message", "source",
    "email_opt_in", "utm_source", "utm_medium", "utm_campaign",
)
OPERATORS = {
    "equals": gettext_lazy("equals"),
    "not_equals": gettext_lazy("does not equal"),
    "contains": gettext_lazy("contains"),
    "starts_with": gettext_lazy("starts with"),
    "in": gettext_lazy("is one of (comma separated)"),
    "is_set": gettext_lazy("is filled in"),
    "is_not_set": gettext_lazy("is empty"),
    "not_free_email_domain": gettext_lazy("is a company email (not a free mail provider)"),
}

# The pipeline created for an organization that has none when its first lead converts.
DEFAULT_STAGES = (
    (gettext_lazy("Qualification"), 10, StageKind.OPEN, "pipeline"),
    (gettext_lazy("Needs analysis"), 25, StageKind.OPEN, "pipeline"),
    (gettext_lazy("Proposal"), 50, StageKind.OPEN, "best_case"),
    (gettext_lazy("Negotiation"), 75, StageKind.OPEN, "commit"),
    (gettext_lazy("Won"), 100, StageKind.WON, "closed"),
    (gettext_lazy("Lost"), 0, StageKind.LOST, "omitted"),
)
DEFAULT_CLOSE_DAYS = 30


class SalesError(TenancyError):
    """A request that cannot be carried out; `field` names the input."""


def _user(actor):
    return actor if getattr(actor, "pk", None) else None


def _invalid(field, message, code="invalid"):
    return ValidationError({field: [ValidationError(message, code=code)]})


def member_user(organization, value, *, field="owner_id"):
    """The active member with this id (or object), None for empty; SalesError otherwise."""
    user_id = getattr(value, "pk", value)
    if user_id in (None, ""):
        return None
    user_id = int_param(user_id)
    if user_id is None:
        user_id = -1
    membership = (Membership.objects.filter(organization=organization, user_id=user_id,
                                            is_active=True).select_related("user").first())
    if membership is None:
        raise SalesError(_("The owner must be a member of this organization."),
                         code="not_found", field=field)
    return membership.user


def email_domain(email):
    return email.rsplit("@", 1)[1].lower() if email and "@" in email else ""


def _clean_fields(organization, lead, fields):
    unknown = set(fields) - set(LEAD_FIELDS)
    if unknown:
        raise SalesError(_("Unknown fields: %s") % ", ".join(sorted(unknown)), code="unknown")
    for name, value in fields.items():
        if name == "email":
            lead.email = crm._normalize_email(value)
        elif name == "phone":
            lead.phone = crm.normalize_phone(value, region=organization.country or "ID")
        elif name == "email_opt_in":
            lead.email_opt_in = bool(value)
        elif name == "country":
            lead.country = (value or "").strip().upper()
            if lead.country and not re.fullmatch(r"[A-Z]{2}", lead.country):
                raise _invalid("country", _("Use a two-letter country code, e.g. ID."))
        elif name == "website":
            value = (value or "").strip()
            if value and "://" not in value:
                value = "https://" + value
            if value:
                try:
                    URLValidator(schemes=["http", "https"])(value)
                except ValidationError:
                    raise _invalid("website", _("Enter a valid web address.")) from None
            lead.website = value
        elif name == "utm":
            value = value or {}
            if not isinstance(value, dict) or len(value) > MAX_UTM or not all(
                    isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
                raise _invalid("utm", _("Send at most 10 text values."))
            lead.utm = {k[:40]: v[:200] for k, v in value.items() if v}
        elif name == "custom":
            value = value or {}
            if not isinstance(value, dict) or len(value) > 30:
                raise _invalid("custom", _("Send at most 30 values."))
            lead.custom = value
        elif name == "message":
            lead.message = (value or "").strip()[:MAX_MESSAGE]
        else:
            setattr(lead, name, " ".join(str(value or "").split()))
    if not (lead.email or lead.phone or lead.last_name or lead.first_name or lead.company):
        raise _invalid("email", _("Give at least a name, a company, an email or a phone."),
                       code="required")
    try:
        lead.full_clean(exclude=["organization", "owner", "territory", "web_form", "campaign",
                                 "converted_account", "converted_contact",
                                 "converted_opportunity", "idempotency_key"])
    except ValidationError as error:
        raise ValidationError(error.message_dict) from None


def _state(lead):
    state = {name: getattr(lead, name) for name in LEAD_FIELDS}
    state.update(status=lead.status, owner_id=lead.owner_id, score=lead.score,
                 source=lead.source)
    return state


# --- Scoring -------------------------------------------------------------------------------


def lead_value(lead, field):
    if field == "email_domain":
        return email_domain(lead.email)
    if field.startswith("utm_"):
        return str((lead.utm or {}).get(field, ""))
    if field == "email_opt_in":
        return "yes" if lead.email_opt_in else ""
    return str(getattr(lead, field, "") or "")


def rule_matches(rule, lead):
    actual = lead_value(lead, rule.field).strip().lower()
    expected = (rule.value or "").strip().lower()
    operator = rule.operator
    if operator == "equals":
        return actual == expected
    if operator == "not_equals":
        return actual != expected
    if operator == "contains":
        return bool(expected) and expected in actual
    if operator == "starts_with":
        return bool(expected) and actual.startswith(expected)
    if operator == "in":
        return actual in {item.strip() for item in expected.split(",") if item.strip()}
    if operator == "is_set":
        return bool(actual)
    if operator == "is_not_set":
        return not actual
    if operator == "not_free_email_domain":
        domain = email_domain(lead.email) if rule.field in ("email", "email_domain") else actual
        return bool(domain) and domain not in FREE_EMAIL_DOMAINS
    return False


def compute_score(lead, rules):
    """(score, explanation) for `lead` under `rules` (ScoringRule rows)."""
    explanation = []
    for rule in rules:
        if rule.is_active and rule_matches(rule, lead):
            explanation.append({"rule": rule.pk, "label": rule.label, "points": rule.points})
    return sum(item["points"] for item in explanation), explanation


def _apply_score(lead):
    rules = list(ScoringRule.objects.filter(organization_id=lead.organization_id,
                                            is_active=True))
    lead.score, lead.score_explanation = compute_score(lead, rules)


def lead_score(*, lead, actor=None):
    """Recompute and store one lead's score (after the rules changed)."""
    with transaction.atomic():
        locked = Lead.objects.select_for_update().get(pk=lead.pk)
        before = locked.score
        _apply_score(locked)
        if locked.score != before:
            locked.save(update_fields=["score", "score_explanation"])
            emit_event(type="sales.lead.scored", organization=locked.organization,
                       aggregate=locked, actor=_user(actor),
                       payload={"score": locked.score, "before": before,
                                "title": str(locked)[:120]})
    return locked


def rescore_open_leads(*, organization, actor=None):
    """Apply the current rules to every open lead (after a rule changed); returns a count."""
    rules = list(ScoringRule.objects.filter(organization=organization, is_active=True))
    changed = []
    for lead in Lead.objects.filter(organization=organization).exclude(
            status__in=(LeadStatus.CONVERTED, LeadStatus.DISQUALIFIED)).iterator():
        score, explanation = compute_score(lead, rules)
        if score != lead.score or explanation != lead.score_explanation:
            lead.score, lead.score_explanation = score, explanation
            changed.append(lead)
    with transaction.atomic():
        Lead.objects.bulk_update(changed, ["score", "score_explanation"], batch_size=500)
    return len(changed)


def _check_rule(field, operator, value, points):
    if field not in SCORING_FIELDS:
        raise _invalid("field", _("Choose one of the lead fields."))
    if operator not in OPERATORS:
        raise _invalid("operator", _("Choose one of the operators."))
    if operator in ("equals", "contains", "starts_with", "in") and not (value or "").strip():
        raise _invalid("value", _("This operator needs a value."), code="required")
    if not isinstance(points, int) or isinstance(points, bool) or not -100 <= points <= 100:
        raise _invalid("points", _("Points are a whole number from -100 to 100."))


def scoring_rule_save(*, organization, actor, rule=None, label, field, operator, value="",
                      points, is_active=True):
    """Create (rule=None) or change a scoring rule, then rescore the open leads."""
    label = " ".join((label or "").split())
    if not label:
        raise _invalid("label", _("Give the rule a label."), code="required")
    _check_rule(field, operator, value, points)
    with transaction.atomic():
        rule = rule or ScoringRule(organization=organization)
        created = rule.pk is None
        rule.label, rule.field, rule.operator = label[:120], field, operator
        rule.value, rule.points, rule.is_active = (value or "").strip()[:200], points, is_active
        rule.save()
        audit_record(actor=actor, organization=organization,
                     action="sales.scoring_rule." + ("created" if created else "updated"),
                     obj=rule, after={"label": rule.label, "field": field,
                                      "operator": operator, "value": rule.value,
                                      "points": points, "is_active": is_active})
        emit_event(type="sales.scoring_rule." + ("created" if created else "updated"),
                   organization=organization, aggregate=rule, actor=_user(actor),
                   payload={"label": rule.label, "points": points})
    rescore_open_leads(organization=organization, actor=actor)
    return rule


def scoring_rule_delete(*, rule, actor):
    organization = rule.organization
    with transaction.atomic():
        audit_record(actor=actor, organization=organization, action="sales.scoring_rule.deleted",
                     obj=rule)
        emit_event(type="sales.scoring_rule.deleted", organization=organization,
                   aggregate=rule, actor=_user(actor), payload={"label": rule.label})
        rule.delete()
    rescore_open_leads(organization=organization, actor=actor)


# --- Assignment ----------------------------------------------------------------------------


def matching_account(organization, *, company="", email=""):
    """The live CRM account whose name equals the company, or whose website or contacts use
    the email's (non-free) domain; None when there is none."""
    accounts = Account.objects.filter(organization=organization, archived_at__isnull=True)
    company = (company or "").strip()
    if company:
        account = accounts.filter(name__iexact=company).order_by("id").first()
        if account is not None:
            return account
    domain = email_domain(email)
    if domain and domain not in FREE_EMAIL_DOMAINS:
        account = (accounts.filter(Q(website__iregex=r"^https?://(www\.)?" + re.escape(domain)
                                     + r"(/|:|$)"))
                   .order_by("id").first())
        if account is not None:
            return account
        account_id = (Contact.objects.filter(organization=organization,
                                             email__iendswith="@" + domain,
                                             account__archived_at__isnull=True,
                                             account__isnull=False, archived_at__isnull=True)
                      .order_by("id").values_list("account_id", flat=True).first())
        if account_id is not None:
            return accounts.filter(pk=account_id).first()
    return None


def account_suggestions(lead, limit=5):
    """Accounts a staff member may link the lead to when converting: the matching one first,
    then accounts whose name contains the company's first word."""
    found = []
    match = matching_account(lead.organization, company=lead.company, email=lead.email)
    if match is not None:
        found.append(match)
    word = (lead.company or "").split()[0] if (lead.company or "").split() else ""
    if len(word) >= 3:
        for account in (Account.objects.filter(organization_id=lead.organization_id,
                                               archived_at__isnull=True,
                                               name__icontains=word)
                        .exclude(pk__in=[a.pk for a in found]).order_by("name")[:limit]):
            found.append(account)
    return found[:limit]


def territory_matches(territory, lead):
    criteria = territory.criteria or {}
    if not criteria:
        return False
    for key, values in criteria.items():
        if key not in ("country", "region", "city", "industry"):
            return False
        if isinstance(values, str):
            values = [values]
        wanted = {str(value).strip().lower() for value in values or []}
        if wanted and str(getattr(lead, key, "") or "").strip().lower() not in wanted:
            return False
    return True


def _active_member_ids(organization, user_ids):
    return set(Membership.objects.filter(organization=organization, user_id__in=user_ids,
                                         is_active=True).values_list("user_id", flat=True))


def _next_in_turn(user_ids, last_id):
    """The user after `last_id` in id order (wrapping); the first when last is unknown."""
    ordered = sorted(user_ids)
    if not ordered:
        return None
    for user_id in ordered:
        if last_id is not None and user_id > last_id:
            return user_id
    return ordered[0]


def _round_robin_rule(rule, organization):
    locked = AssignmentRule.objects.select_for_update().get(pk=rule.pk)
    ids = _active_member_ids(organization, locked.users.values_list("pk", flat=True))
    chosen = _next_in_turn(ids, locked.last_assigned_id)
    if chosen is not None:
        locked.last_assigned_id = chosen
        locked.save(update_fields=["last_assigned"])
    return chosen


def _territory_turn(territory, organization):
    """Round robin among a territory's members; the last one is remembered in the
    territory's `last_assigned` (locked row)."""
    locked = Territory.objects.select_for_update().get(pk=territory.pk)
    ids = _active_member_ids(organization, locked.members.values_list("pk", flat=True))
    last = (Lead.objects.filter(organization=organization, territory=locked,
                                owner_id__in=ids).order_by("-id")
            .values_list("owner_id", flat=True).first())
    return _next_in_turn(ids, last)


def pick_owner(lead):
    """(user id, territory, rule) from the first active rule that yields an owner.

    Must run inside a transaction (round robin locks its rule or territory)."""
    organization = lead.organization
    for rule in AssignmentRule.objects.filter(organization=organization, is_active=True):
        if rule.method == AssignmentMethod.ACCOUNT_OWNER:
            account = matching_account(organization, company=lead.company, email=lead.email)
            if account is not None and account.owner_id and _active_member_ids(
                    organization, [account.owner_id]):
                return account.owner_id, None, rule
        elif rule.method == AssignmentMethod.TERRITORY:
            for territory in Territory.objects.filter(organization=organization):
                if territory_matches(territory, lead):
                    chosen = _territory_turn(territory, organization)
                    if chosen is not None:
                        return chosen, territory, rule
                    break
        elif rule.method == AssignmentMethod.ROUND_ROBIN:
            chosen = _round_robin_rule(rule, organization)
            if chosen is not None:
                return chosen, None, rule
    return None, None, None


def lead_assign(*, lead, actor=None, owner=None, version=None):
    """Give the lead an owner: `owner` when given (a member, or None to run the rules)."""
    organization = lead.organization
    user = member_user(organization, owner) if owner is not None else None
    with transaction.atomic():
        locked = Lead.objects.select_for_update().get(pk=lead.pk)
        if version is not None and locked.version != version:
            raise StaleVersion()
        if locked.status == LeadStatus.CONVERTED:
            raise SalesError(_("This lead is already converted."), code="converted",
                             field="owner_id")
        rule = territory = None
        if user is not None:
            owner_id = user.pk
        else:
            owner_id, territory, rule = pick_owner(locked)
        if owner_id is None:
            return locked
        before = locked.owner_id
        locked.owner_id = owner_id
        if territory is not None:
            locked.territory = territory
        locked.version += 1
        locked.updated_at = timezone.now()
        locked.save()
        _record_assignment(locked, actor, before, rule)
    return locked


def _record_assignment(lead, actor, before, rule):
    audit_record(actor=actor, organization=lead.organization, action="sales.lead.assigned",
                 obj=lead, before={"owner_id": before}, after={"owner_id": lead.owner_id})
    emit_event(type="sales.lead.assigned", organization=lead.organization, aggregate=lead,
               actor=_user(actor), payload={
                   "owner_id": lead.owner_id, "before": before,
                   "rule": rule.name if rule else "", "rule_id": rule.pk if rule else None,
                   "territory_id": lead.territory_id, "title": str(lead)[:120]})


def assignment_rule_save(*, organization, actor, rule=None, name, method, position=0,
                         user_ids=(), is_active=True):
    name = " ".join((name or "").split())
    if not name:
        raise _invalid("name", _("Give the rule a name."), code="required")
    if method not in AssignmentMethod.values:
        raise _invalid("method", _("Choose one of the methods."))
    users = [member_user(organization, user_id, field="user_ids") for user_id in user_ids]
    if method == AssignmentMethod.ROUND_ROBIN and not users:
        raise _invalid("user_ids", _("Round robin needs at least one seller."), code="required")
    with transaction.atomic():
        rule = rule or AssignmentRule(organization=organization)
        created = rule.pk is None
        rule.name, rule.method, rule.position, rule.is_active = (
            name[:100], method, max(0, min(int(position or 0), 32000)), is_active)
        rule.save()
        rule.users.set(users)
        audit_record(actor=actor, organization=organization,
                     action="sales.assignment_rule." + ("created" if created else "updated"),
                     obj=rule, after={"name": rule.name, "method": method,
                                      "user_ids": [u.pk for u in users]})
        emit_event(type="sales.assignment_rule." + ("created" if created else "updated"),
                   organization=organization, aggregate=rule, actor=_user(actor),
                   payload={"name": rule.name, "method": method})
    return rule


def territory_save(*, organization, actor, territory=None, name, criteria, member_ids=(),
                   position=0):
    name = " ".join((name or "").split())
    if not name:
        raise _invalid("name", _("Give the territory a name."), code="required")
    clean = {}
    for key, values in (criteria or {}).items():
        if key not in ("country", "region", "city", "industry"):
            raise _invalid("criteria", _("Match on country, region, city or industry."))
        if isinstance(values, str):
            values = values.split(",")
        values = [str(value).strip() for value in values if str(value).strip()][:50]
        if values:
            clean[key] = [value.upper() if key == "country" else value for value in values]
    if not clean:
        raise _invalid("criteria", _("Give at least one country, region, city or industry."),
                       code="required")
    members = [member_user(organization, user_id, field="member_ids") for user_id in member_ids]
    with transaction.atomic():
        territory = territory or Territory(organization=organization)
        territory.name, territory.criteria = name[:100], clean
        territory.position = max(0, min(int(position or 0), 32000))
        try:
            with transaction.atomic():
                territory.save()
        except IntegrityError:
            raise _invalid("name", _("A territory with this name exists already."),
                           code="duplicate") from None
        territory.members.set(members)
        audit_record(actor=actor, organization=organization, action="sales.territory.saved",
                     obj=territory, after={"name": territory.name, "criteria": clean})
        emit_event(type="sales.territory.saved", organization=organization,
                   aggregate=territory, actor=_user(actor), payload={"name": territory.name})
    return territory


# --- Create, update, disqualify ------------------------------------------------------------


def lead_create(*, organization, actor, source=LeadSource.STAFF, owner=None, web_form=None,
                campaign=None, idempotency_key=None, assign=True, **fields):
    """Create a lead, score it and (without an explicit owner) run the assignment rules.

    `idempotency_key`: a second create with the same key returns the first lead."""
    if source not in LeadSource.values:
        raise _invalid("source", _("Unknown source."))
    lead = Lead(organization=organization, source=source, web_form=web_form,
                campaign=campaign)
    _clean_fields(organization, lead, fields)
    user = member_user(organization, owner) if owner is not None else None
    if idempotency_key:
        existing = Lead.objects.filter(organization=organization,
                                       idempotency_key=idempotency_key[:255]).first()
        if existing is not None:
            return existing
        lead.idempotency_key = idempotency_key[:255]
    _apply_score(lead)
    now = timezone.now()
    lead.created_at = lead.updated_at = now
    try:
        with transaction.atomic():
            lead.owner = user
            lead.save()
            audit_record(actor=actor, organization=organization, action="sales.lead.created",
                         obj=lead, after=_jsonable(_state(lead)))
            emit_event(type="sales.lead.created", organization=organization, aggregate=lead,
                       actor=_user(actor), payload={
                           "source": source, "score": lead.score,
                           "web_form_id": lead.web_form_id, "campaign_id": lead.campaign_id,
                           "title": str(lead)[:120]})
            if user is None and assign:
                owner_id, territory, rule = pick_owner(lead)
                if owner_id is not None:
                    lead.owner_id, lead.territory = owner_id, territory
                    lead.save(update_fields=["owner", "territory"])
                    _record_assignment(lead, actor, None, rule)
    except IntegrityError:
        if idempotency_key:
            existing = Lead.objects.filter(organization=organization,
                                           idempotency_key=idempotency_key[:255]).first()
            if existing is not None:
                return existing
        raise
    return lead


def _jsonable(state):
    return {key: (value.isoformat() if isinstance(value, (datetime.date, datetime.datetime))
                  else value) for key, value in state.items()}


def lead_update(*, lead, actor, version, owner=None, status=None, **changes):
    """Change fields (rescored), optionally the owner or the working status."""
    organization = lead.organization
    with transaction.atomic():
        locked = Lead.objects.select_for_update().get(pk=lead.pk)
        if locked.version != version:
            raise StaleVersion()
        if locked.status in (LeadStatus.CONVERTED, LeadStatus.DISQUALIFIED) and (
                changes or status not in (None, LeadStatus.NEW, LeadStatus.WORKING)):
            raise SalesError(_("A converted or disqualified lead cannot be changed."),
                             code="closed", field="status")
        before = _state(locked)
        _clean_fields(organization, locked, changes)
        if owner is not None:
            locked.owner = member_user(organization, owner) if owner != "" else None
        if status is not None:
            if status not in (LeadStatus.NEW, LeadStatus.WORKING, LeadStatus.QUALIFIED):
                raise _invalid("status", _("Use convert or disqualify for that."))
            if locked.status == LeadStatus.CONVERTED:
                raise SalesError(_("This lead is already converted."), code="converted",
                                 field="status")
            locked.status = status
            if status != LeadStatus.DISQUALIFIED:
                locked.disqualified_reason = ""
        _apply_score(locked)
        after = _state(locked)
        changed = sorted(key for key in after if after[key] != before[key])
        if not changed:
            return locked
        locked.version += 1
        locked.updated_at = timezone.now()
        locked.save()
        audit_record(actor=actor, organization=organization, action="sales.lead.updated",
                     obj=locked, before=_jsonable({k: before[k] for k in changed}),
                     after=_jsonable({k: after[k] for k in changed}))
        emit_event(type="sales.lead.updated", organization=organization, aggregate=locked,
                   actor=_user(actor), payload={"changed": changed, "score": locked.score,
                                                "title": str(locked)[:120]})
    return locked


def lead_disqualify(*, lead, actor, reason, version=None):
    reason = " ".join((reason or "").split())
    if not reason:
        raise _invalid("reason", _("Say why the lead is disqualified."), code="required")
    with transaction.atomic():
        locked = Lead.objects.select_for_update().get(pk=lead.pk)
        if version is not None and locked.version != version:
            raise StaleVersion()
        if locked.status in (LeadStatus.CONVERTED, LeadStatus.DISQUALIFIED):
            raise SalesError(_("This lead is already closed."), code="closed", field="status")
        before = locked.status
        locked.status = LeadStatus.DISQUALIFIED
        locked.disqualified_reason = reason[:200]
        locked.version += 1
        locked.updated_at = timezone.now()
        locked.save()
        audit_record(actor=actor, organization=locked.organization,
                     action="sales.lead.disqualified", obj=locked,
                     before={"status": before}, after={"status": locked.status,
                                                       "reason": locked.disqualified_reason})
        emit_event(type="sales.lead.disqualified", organization=locked.organization,
                   aggregate=locked, actor=_user(actor),
                   payload={"reason": locked.disqualified_reason, "title": str(locked)[:120]})
    return locked


# --- Conversion ----------------------------------------------------------------------------


def default_pipeline(organization):
    """The organization's default pipeline, created with sensible stages on first use."""
    pipeline = Pipeline.objects.filter(organization=organization, is_default=True,
                                       archived_at__isnull=True).first()
    if pipeline is not None:
        return pipeline
    pipeline = (Pipeline.objects.filter(organization=organization, archived_at__isnull=True)
                .order_by("id").first())
    if pipeline is not None:
        return pipeline
    with transaction.atomic():
        Organization = type(organization)
        Organization.objects.select_for_update().filter(pk=organization.pk).first()
        pipeline = Pipeline.objects.filter(organization=organization).order_by("id").first()
        if pipeline is not None:
            return pipeline
        pipeline = Pipeline.objects.create(organization=organization, name=str(_("Sales")),
                                           is_default=True)
        PipelineStage.objects.bulk_create([
            PipelineStage(pipeline=pipeline, name=str(name), position=index,
                          probability=probability, kind=kind, forecast_category=category)
            for index, (name, probability, kind, category) in enumerate(DEFAULT_STAGES, 1)])
        from .opportunities import ensure_close_reasons

        ensure_close_reasons(organization)
        emit_event(type="sales.pipeline.created", organization=organization,
                   aggregate=pipeline, payload={"name": pipeline.name, "default": True})
    return pipeline


def first_open_stage(pipeline):
    stage = (PipelineStage.objects.filter(pipeline=pipeline, kind=StageKind.OPEN)
             .order_by("position").first())
    if stage is None:
        raise SalesError(_("The pipeline has no open stage."), code="no_stage",
                         field="pipeline_id")
    return stage


def lead_convert(*, lead, actor, account=None, contact=None, create_opportunity=True,
                 opportunity_name="", amount=None, currency=None, close_date=None,
                 pipeline=None, version=None):
    """Convert the lead: link `account`/`contact` (CRM rows of the organization) or create
    them from the lead; open an opportunity unless `create_opportunity` is false.

    Returns the lead (status converted, with its converted_* links)."""
    organization = lead.organization
    if account is not None and (account.organization_id != organization.pk
                                or account.archived_at is not None):
        raise SalesError(_("No such account in this organization."), code="not_found",
                         field="account_id")
    if contact is not None and contact.organization_id != organization.pk:
        raise SalesError(_("No such contact in this organization."), code="not_found",
                         field="contact_id")
    if pipeline is not None and pipeline.organization_id != organization.pk:
        raise SalesError(_("No such pipeline in this organization."), code="not_found",
                         field="pipeline_id")
    if amount is not None and amount < 0:
        raise _invalid("amount", _("The amount cannot be negative."))
    with transaction.atomic():
        locked = Lead.objects.select_for_update().get(pk=lead.pk)
        if version is not None and locked.version != version:
            raise StaleVersion()
        if locked.status == LeadStatus.CONVERTED:
            raise SalesError(_("This lead is already converted."), code="already_converted",
                             field="status")
        if locked.status == LeadStatus.DISQUALIFIED:
            raise SalesError(_("A disqualified lead cannot be converted."),
                             code="disqualified", field="status")
        owner = locked.owner_id or getattr(_user(actor), "pk", None)
        created_account = account is None
        if account is None:
            account = crm.account_create(
                organization=organization, actor=actor,
                name=(locked.company or str(locked) or locked.email)[:200],
                industry=locked.industry[:100], website=locked.website, owner=owner)
        if contact is None and (locked.first_name or locked.last_name or locked.email):
            existing = (Contact.objects.filter(organization=organization, email=locked.email,
                                               account=account, archived_at__isnull=True)
                        .first() if locked.email else None)
            contact = existing or crm.contact_create(
                organization=organization, actor=actor,
                first_name=locked.first_name if locked.last_name else "",
                last_name=(locked.last_name or locked.first_name
                           or locked.email.split("@")[0])[:100],
                job_title=locked.job_title, email=locked.email,
                phone=locked.phone, account=account, email_opt_in=locked.email_opt_in,
                owner=owner)
        opportunity = None
        if create_opportunity:
            from .opportunities import opportunity_create

            if owner is not None and not Membership.objects.filter(
                    organization=organization, user_id=owner, is_active=True).exists():
                owner = getattr(_user(actor), "pk", None)
            today = timezone.localdate()
            opportunity = opportunity_create(
                organization=organization, actor=actor, account=account, contact=contact,
                pipeline=pipeline or default_pipeline(organization),
                name=(opportunity_name or "").strip()[:200] or account.name[:200],
                amount=amount or 0, currency=currency or organization_currency(organization),
                close_date=close_date or today + datetime.timedelta(days=DEFAULT_CLOSE_DAYS),
                owner=owner, lead=locked, campaign=locked.campaign_id)
        locked.status = LeadStatus.CONVERTED
        locked.converted_at = timezone.now()
        locked.converted_account = account
        locked.converted_contact = contact
        locked.converted_opportunity = opportunity
        locked.version += 1
        locked.updated_at = locked.converted_at
        locked.save()
        audit_record(actor=actor, organization=organization, action="sales.lead.converted",
                     obj=locked, after={"account_id": account.pk,
                                        "contact_id": contact.pk if contact else None,
                                        "opportunity_id": opportunity.pk if opportunity else None,
                                        "created_account": created_account})
        emit_event(type="sales.lead.converted", organization=organization, aggregate=locked,
                   actor=_user(actor), payload={
                       "title": str(locked)[:120], "lead_id": locked.pk,
                       "account_id": account.pk, "contact_id": contact.pk if contact else None,
                       "opportunity_id": opportunity.pk if opportunity else None,
                       "created_account": created_account, "source": locked.source})
    return locked


def organization_currency(organization):
    return getattr(organization, "currency", "") or "IDR"
