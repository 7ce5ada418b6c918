"""Requirements and business cases: a customer's requirement for a new or changed service,
with versioned content (the requirement text and its business case: costs, benefits, risks)
and the customer's sign-off in the portal.

Versions. `RequirementVersion` rows are never changed. Editing the content makes version
n+1 and moves `Requirement.current_version`; title, owner and service are plain fields of the
requirement (no new version). A rejected requirement cannot be edited.

Lifecycle (`ACTIONS`; staff with brm.edit)::

    draft      → submitted (submit) | rejected (reject)
    submitted  → screening (screen) | rejected
    screening  → qualified (qualify) | deferred (defer) | rejected
    qualified  → screening (rework)  | deferred | rejected
                 → approved: ONLY by the customer's sign-off (below)
    deferred   → screening (resume)  | rejected
    approved, rejected: final (an approved requirement whose content is edited goes back to
                 qualified: the new version needs a new sign-off)

Sign-off (`requirement_sign_off`). A requirement in `qualified` waits for the customer's
decision on its CURRENT version. Who may sign, in the portal, acting for the buyer
organization the requirement names (`Requirement.buyer` = the account's hub organization):

1. the buyer users linked as `Stakeholder.portal_user` with role decision maker on that
   account; when the account has at least one such decision maker, only they may sign;
2. fallback, when the account has no decision maker with a portal login: members of the
   buyer organization with role buyer approver or organization admin.

Any other user of the buyer organization may read it but gets 403; a user of another
organization gets 404. The signer names the version number they read: if a newer version
exists meanwhile, 409 and nothing is recorded. Each decision is a `SignOff` row (who, name,
decision, when, comment, the version). Approval moves the requirement to `approved`
(a status-change row by the signer); a rejection (comment required) records the row and
leaves it `qualified`, no longer awaiting: staff revise it (a new version awaits a new
sign-off), defer it or reject it. One customer decision per version (a constraint).

Events: `brm.requirement.created`, `.updated`, `.status_changed`, `.signed_off`
(organization = the supplier; payload ids, number, status, version, decision).
"""

import difflib
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from jalin.core.audit import audit_record
from jalin.core.events import emit_event
from jalin.crm.models import Account
from jalin.service.models import Service
from jalin.tenancy.access import for_org
from jalin.tenancy.models import Membership
from jalin.tenancy.roles import Role

from .models import (
    Requirement,
    RequirementKind,
    RequirementStatus,
    RequirementStatusChange,
    RequirementVersion,
    SignOff,
    SignOffDecision,
    Stakeholder,
    StakeholderRole,
)
from .register_base import (
    MAX_TITLE,
    RegisterError,
    StaleVersion,
    check_version,
    clean_text,
    next_number,
    user_or_none,
)

S = RequirementStatus
CONTENT_FIELDS = ("description", "costs", "benefits", "cost_notes", "benefit_notes", "risks")
TEXT_FIELDS = ("description", "cost_notes", "benefit_notes", "risks")
MONEY_FIELDS = ("costs", "benefits")
MAX_MONEY = Decimal("9999999999999999.99")
FALLBACK_SIGNER_ROLES = (Role.BUYER_APPROVER, Role.ORG_ADMIN)
CUSTOMER = "customer"


@dataclass(frozen=True)
class Action:
    sources: tuple
    target: str
    label: object


ACTIONS = {
    "submit": Action((S.DRAFT,), S.SUBMITTED, gettext_lazy("Submit")),
    "screen": Action((S.SUBMITTED,), S.SCREENING, gettext_lazy("Start screening")),
    "qualify": Action((S.SCREENING,), S.QUALIFIED,
                      gettext_lazy("Qualify (ask the customer to sign off)")),
    "rework": Action((S.QUALIFIED,), S.SCREENING, gettext_lazy("Back to screening")),
    "defer": Action((S.SCREENING, S.QUALIFIED), S.DEFERRED, gettext_lazy("Defer")),
    "resume": Action((S.DEFERRED,), S.SCREENING, gettext_lazy("Resume screening")),
    "reject": Action((S.DRAFT, S.SUBMITTED, S.SCREENING, S.QUALIFIED, S.DEFERRED), S.REJECTED,
                     gettext_lazy("Reject")),
}

# Every move the lifecycle knows (the actions above plus the customer's approval and the
# return to qualified when an approved requirement gets a new version).
TRANSITIONS = {
    S.DRAFT: {S.SUBMITTED, S.REJECTED},
    S.SUBMITTED: {S.SCREENING, S.REJECTED},
    S.SCREENING: {S.QUALIFIED, S.DEFERRED, S.REJECTED},
    S.QUALIFIED: {S.SCREENING, S.DEFERRED, S.REJECTED, S.APPROVED},
    S.DEFERRED: {S.SCREENING, S.REJECTED},
    S.APPROVED: {S.QUALIFIED},
    S.REJECTED: set(),
}


def actions_for(requirement):
    return [name for name, action in ACTIONS.items() if requirement.status in action.sources]


def action_label(name):
    return str(ACTIONS[name].label)


# --- Business case arithmetic ------------------------------------------------------------


def net_benefit(version):
    """Benefits − costs of one version."""
    return (version.benefits or Decimal(0)) - (version.costs or Decimal(0))


def roi_percent(version):
    """Simple ROI: (benefits − costs) ÷ costs × 100, one decimal; None when costs are 0."""
    costs = version.costs or Decimal(0)
    if costs <= 0:
        return None
    return (net_benefit(version) / costs * 100).quantize(Decimal("0.1"))


def version_diff(old, new):
    """[{field, label, rows: [(tag, line)], changed}] between two versions: text fields line
    by line ("+" added, "-" removed, " " unchanged), money fields as old/new."""
    fields = []
    for name in CONTENT_FIELDS:
        label = RequirementVersion._meta.get_field(name).verbose_name
        before = getattr(old, name) if old is not None else ("" if name in TEXT_FIELDS else None)
        after = getattr(new, name)
        if name in MONEY_FIELDS:
            fields.append({"field": name, "label": label, "old": before, "new": after,
                           "changed": before != after, "rows": []})
            continue
        rows = [(line[0], line[2:]) for line in difflib.ndiff(
            (before or "").splitlines(), (after or "").splitlines()) if line[:1] in "+- "]
        fields.append({"field": name, "label": label, "rows": rows,
                       "changed": (before or "") != (after or "")})
    return fields


# --- Validation ----------------------------------------------------------------------------


def _money(value, *, field):
    if value in (None, ""):
        return Decimal(0)
    try:
        amount = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        raise RegisterError(_("Enter an amount."), code="invalid", field=field) from None
    if not amount.is_finite() or amount < 0 or amount > MAX_MONEY:
        raise RegisterError(_("Enter an amount from 0 to 9,999,999,999,999,999.99."),
                            code="invalid", field=field)
    return amount.quantize(Decimal("0.01"))


def _content(values):
    cleaned = {}
    for name in TEXT_FIELDS:
        if name in values:
            cleaned[name] = clean_text(values[name], field=name,
                                       required=name == "description",
                                       label=_("The requirement"))
    for name in MONEY_FIELDS:
        if name in values:
            cleaned[name] = _money(values[name], field=name)
    return cleaned


def _account(organization, account):
    if account is None or isinstance(account, int):
        account = for_org(Account, organization).filter(pk=account).first() if account else None
    if account is None or account.organization_id != organization.pk:
        raise RegisterError(_("Choose one of your customers."), code="not_found",
                            field="account")
    return account


def _service(organization, service):
    if service in (None, ""):
        return None
    if isinstance(service, int):
        service = for_org(Service, organization).filter(pk=service).first()
    if service is None or service.organization_id != organization.pk:
        raise RegisterError(_("Choose one of your services."), code="not_found",
                            field="service_id")
    return service


def _owner(organization, owner):
    if owner in (None, ""):
        return None
    user_id = owner if isinstance(owner, int) else owner.pk
    membership = (Membership.objects.filter(organization=organization, user_id=user_id,
                                            is_active=True).select_related("user").first())
    if membership is None:
        raise RegisterError(_("Choose a member of your organization."), code="not_found",
                            field="owner_id")
    return membership.user


def _kind(kind):
    if kind not in RequirementKind.values:
        raise RegisterError(_("Choose new service or change to a service."), code="invalid",
                            field="kind")
    return kind


# --- Events --------------------------------------------------------------------------------


def payload(requirement, **extra):
    return {"requirement_id": requirement.pk, "number": requirement.number,
            "account_id": requirement.account_id, "buyer_id": requirement.buyer_id,
            "status": requirement.status, "current_version": requirement.current_version,
            **extra}


def _status_change(requirement, *, from_status, actor, comment, now):
    RequirementStatusChange.objects.create(
        requirement=requirement, from_status=from_status, to_status=requirement.status,
        changed_by=user_or_none(actor), comment=(comment or "")[:2000], changed_at=now)


# --- Writes --------------------------------------------------------------------------------


def requirement_create(*, organization, account, title, actor, kind=RequirementKind.NEW_SERVICE,
                       service=None, owner=None, now=None, **content):
    """A new requirement in draft, REQ-n numbered per organization, with version 1."""
    now = now or timezone.now()
    unknown = set(content) - set(CONTENT_FIELDS)
    if unknown:
        raise RegisterError(_("Unknown fields: %s") % ", ".join(sorted(unknown)),
                            code="unknown")
    account = _account(organization, account)
    title = clean_text(title, field="title", max_length=MAX_TITLE, required=True,
                       label=_("Title"))
    kind = _kind(kind)
    service = _service(organization, service)
    owner = _owner(organization, owner) if owner is not None else user_or_none(actor)
    values = _content({"description": "", **content})
    with transaction.atomic():
        requirement = Requirement.objects.create(
            organization=organization, number=next_number(organization=organization,
                                                          register="requirement",
                                                          model=Requirement),
            account=account, buyer_id=account.hub_organization_id, kind=kind,
            service=service, title=title, owner=owner, created_at=now, updated_at=now)
        RequirementVersion.objects.create(requirement=requirement, number=1,
                                          created_by=user_or_none(actor), created_at=now,
                                          **values)
        _status_change(requirement, from_status="", actor=actor, comment="", now=now)
        audit_record(actor=actor, organization=organization, action="brm.requirement.created",
                     obj=requirement, after={"number": requirement.number, "title": title})
        emit_event(type="brm.requirement.created", organization=organization,
                   aggregate=requirement, actor=actor, payload=payload(requirement))
    return requirement


def requirement_update(*, requirement, actor, version, now=None, **changes):
    """Change title/kind/service/owner and/or the content. Content that differs from the
    current version makes a new version; an approved requirement then goes back to
    qualified (the new version needs a new sign-off). `version` must match (409)."""
    now = now or timezone.now()
    allowed = {"title", "kind", "service", "owner", *CONTENT_FIELDS}
    unknown = set(changes) - allowed
    if unknown:
        raise RegisterError(_("Unknown fields: %s") % ", ".join(sorted(unknown)),
                            code="unknown")
    organization = requirement.organization
    fields = {}
    if "title" in changes:
        fields["title"] = clean_text(changes["title"], field="title", max_length=MAX_TITLE,
                                     required=True, label=_("Title"))
    if "kind" in changes:
        fields["kind"] = _kind(changes["kind"])
    if "service" in changes:
        fields["service"] = _service(organization, changes["service"])
    if "owner" in changes:
        fields["owner"] = _owner(organization, changes["owner"])
    content = _content({name: changes[name] for name in CONTENT_FIELDS if name in changes})
    with transaction.atomic():
        locked = Requirement.objects.select_for_update().get(pk=requirement.pk)
        check_version(locked, version)
        if locked.status == S.REJECTED:
            raise RegisterError(_("A rejected requirement cannot be changed."),
                                code="invalid_status", field="status")
        current = locked.versions.get(number=locked.current_version)
        new_content = {name: content.get(name, getattr(current, name))
                       for name in CONTENT_FIELDS}
        content_changed = any(new_content[name] != getattr(current, name)
                              for name in CONTENT_FIELDS)
        before = {"title": locked.title, "current_version": locked.current_version,
                  "status": locked.status}
        for name, value in fields.items():
            setattr(locked, name, value)
        new_version = None
        if content_changed:
            locked.current_version += 1
            new_version = RequirementVersion.objects.create(
                requirement=locked, number=locked.current_version,
                created_by=user_or_none(actor), created_at=now, **new_content)
            if locked.status == S.APPROVED:
                locked.status = S.QUALIFIED
                _status_change(locked, from_status=S.APPROVED, actor=actor, now=now,
                               comment=_("Version %(number)d needs a new sign-off.") % {
                                   "number": locked.current_version})
        locked.version += 1
        locked.updated_at = now
        locked.save()
        audit_record(actor=actor, organization=organization, action="brm.requirement.updated",
                     obj=locked, before=before,
                     after={"title": locked.title, "current_version": locked.current_version,
                            "status": locked.status})
        emit_event(type="brm.requirement.updated", organization=organization, aggregate=locked,
                   actor=actor, payload=payload(locked, new_version=bool(new_version)))
        if new_version is not None and before["status"] == S.APPROVED:
            emit_event(type="brm.requirement.status_changed", organization=organization,
                       aggregate=locked, actor=actor,
                       payload=payload(locked, from_status=S.APPROVED))
    return locked


def requirement_transition(*, requirement, action, actor, version, comment="", now=None):
    """Move a requirement along the staff lifecycle (ACTIONS). 422 for a move the lifecycle
    does not allow from the current status; 409 for a stale `version`."""
    now = now or timezone.now()
    spec = ACTIONS.get(action)
    if spec is None:
        raise RegisterError(_("Unknown action."), code="invalid_action", field="action")
    comment = clean_text(comment, field="comment", max_length=2000)
    with transaction.atomic():
        locked = Requirement.objects.select_for_update().get(pk=requirement.pk)
        check_version(locked, version)
        if locked.status not in spec.sources:
            raise RegisterError(
                _("A requirement that is %(status)s cannot be moved this way.") % {
                    "status": locked.get_status_display().lower()},
                code="invalid_transition", field="action")
        from_status = locked.status
        locked.status = spec.target
        locked.version += 1
        locked.updated_at = now
        locked.save(update_fields=["status", "version", "updated_at"])
        _status_change(locked, from_status=from_status, actor=actor, comment=comment, now=now)
        audit_record(actor=actor, organization=locked.organization,
                     action="brm.requirement.status_changed", obj=locked,
                     before={"status": from_status},
                     after={"status": locked.status, "comment": comment[:200]})
        emit_event(type="brm.requirement.status_changed", organization=locked.organization,
                   aggregate=locked, actor=actor, payload=payload(locked,
                                                                  from_status=from_status))
    return locked


# --- Sign-off ------------------------------------------------------------------------------


def decision_maker_user_ids(requirement):
    """Portal logins linked as decision makers on the requirement's account."""
    return set(Stakeholder.objects.filter(
        organization_id=requirement.organization_id, account_id=requirement.account_id,
        role=StakeholderRole.DECISION_MAKER, portal_user__isnull=False,
    ).values_list("portal_user_id", flat=True))


def may_sign(requirement, membership):
    """Whether this buyer membership may sign the requirement off (rules in the module doc).
    Says nothing about whether it is awaiting a decision now."""
    if (membership is None or not membership.is_active or requirement.buyer_id is None
            or membership.organization_id != requirement.buyer_id):
        return False
    decision_makers = decision_maker_user_ids(requirement)
    if decision_makers:
        return membership.user_id in decision_makers
    return membership.role in FALLBACK_SIGNER_ROLES


def customer_decision(requirement, version_number=None):
    """The customer's SignOff on a version (default: the current one), or None."""
    number = version_number or requirement.current_version
    return (SignOff.objects.filter(requirement=requirement, party=CUSTOMER,
                                   requirement_version__number=number)
            .select_related("requirement_version").first())


def is_awaiting_sign_off(requirement):
    return (requirement.status == S.QUALIFIED and requirement.buyer_id is not None
            and customer_decision(requirement) is None)


def requirement_sign_off(*, requirement, membership, decision, version_number, comment="",
                         now=None):
    """The customer's decision on the current version (portal). See the module doc."""
    now = now or timezone.now()
    if requirement.buyer_id is None or membership.organization_id != requirement.buyer_id:
        raise RegisterError(_("Not found."), code="not_found")
    if decision not in SignOffDecision.values:
        raise RegisterError(_("Choose approve or reject."), code="invalid", field="decision")
    comment = clean_text(comment, field="comment", max_length=5000)
    if decision == SignOffDecision.REJECTED and not comment:
        raise RegisterError(_("Say why you reject it."), code="required", field="comment")
    user = membership.user
    with transaction.atomic():
        locked = Requirement.objects.select_for_update().get(pk=requirement.pk)
        if not may_sign(locked, membership):
            raise RegisterError(
                _("Only the customer's decision makers may sign this requirement off."),
                code="forbidden")
        if locked.current_version != version_number:
            raise StaleVersion()
        if locked.status != S.QUALIFIED:
            raise RegisterError(_("This requirement is not awaiting a sign-off."),
                                code="invalid_status", field="decision")
        current = locked.versions.get(number=locked.current_version)
        if SignOff.objects.filter(requirement_version=current, party=CUSTOMER).exists():
            raise RegisterError(_("This version has already been signed off."),
                                code="already_decided", field="decision")
        name = (user.get_full_name() or user.get_username())[:200]
        try:
            with transaction.atomic():
                sign_off = SignOff.objects.create(
                    requirement=locked, requirement_version=current, user=user,
                    signer_name=name, party=CUSTOMER, decision=decision, comment=comment,
                    decided_at=now)
        except IntegrityError:
            raise RegisterError(_("This version has already been signed off."),
                                code="already_decided", field="decision") from None
        from_status = locked.status
        if decision == SignOffDecision.APPROVED:
            locked.status = S.APPROVED
            _status_change(locked, from_status=from_status, actor=user, now=now,
                           comment=_("Signed off by %(name)s (version %(number)d).") % {
                               "name": name, "number": current.number})
        locked.version += 1
        locked.updated_at = now
        locked.save(update_fields=["status", "version", "updated_at"])
        audit_record(actor=user, organization=locked.organization,
                     action="brm.requirement.signed_off", obj=locked,
                     before={"status": from_status},
                     after={"status": locked.status, "decision": decision,
                            "version": current.number, "signer": name})
        emit_event(type="brm.requirement.signed_off", organization=locked.organization,
                   aggregate=locked, actor=user,
                   payload=payload(locked, decision=decision, version=current.number,
                                   sign_off_id=sign_off.pk, signer_id=user.pk))
        if locked.status != from_status:
            emit_event(type="brm.requirement.status_changed", organization=locked.organization,
                       aggregate=locked, actor=user,
                       payload=payload(locked, from_status=from_status))
    return sign_off
