"""The changes, opportunity and continual-improvement (CSI) registers: their writes.

Changes affecting customers (`CustomerChange`): ours or in the customer's business, with
the impact on the customer and our documented response. `responded_at`/`responded_by` are
set when a response is FIRST recorded (later edits of the text keep them); response time =
responded_at − identified_at.

Opportunity register (`OpportunityRecord`)::

    identified → assessed (assessment text with the customer; sets assessed_at) | declined
    assessed   → recorded (linked to a service of the service portfolio; sets recorded_at)
               | declined
    recorded, declined: final

CSI register (`Improvement`, numbered CSI-n per organization)::

    new → accepted → approved → in progress → monitor → closed
    any open status → cancelled;  monitor → in progress (back to work)

Closing needs the realized benefit (text or value): what did it bring? Every move is an
`ImprovementStatusChange` row. Automatic entries come from events (jalin.brm.consumers).

Events: `brm.change.created/updated/responded`, `brm.opportunity.created/updated/<status>`,
`brm.improvement.created/updated/status_changed`.
"""

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from jalin.core.audit import audit_record
from jalin.core.events import emit_event

from .models import (
    ChangeOrigin,
    CustomerChange,
    ImpactLevel,
    Improvement,
    ImprovementSource,
    ImprovementStatus,
    ImprovementStatusChange,
    OpportunityKind,
    OpportunityRecord,
    OpportunityStatus,
)
from .register_base import (
    MAX_TITLE,
    RegisterError,
    check_version,
    clean_text,
    next_number,
    user_or_none,
)
from .requirements import _account, _owner, _service

MAX_VALUE = Decimal("9999999999999999.99")


def _choice(value, choices, *, field):
    if value not in choices.values:
        raise RegisterError(_("Choose one of the listed values."), code="invalid", field=field)
    return value


def _value(value, *, field):
    if value in (None, ""):
        return None
    try:
        amount = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        raise RegisterError(_("Enter an amount."), code="invalid", field=field) from None
    if not amount.is_finite() or abs(amount) > MAX_VALUE:
        raise RegisterError(_("Enter a smaller amount."), code="invalid", field=field)
    return amount.quantize(Decimal("0.01"))


def _optional_account(organization, account):
    return None if account in (None, "") else _account(organization, account)


def _apply(row, organization, changes, spec):
    """Validate `changes` by `spec` {field: kind} and set them on `row`."""
    unknown = set(changes) - set(spec)
    if unknown:
        raise RegisterError(_("Unknown fields: %s") % ", ".join(sorted(unknown)),
                            code="unknown")
    for name, kind in spec.items():
        if name not in changes:
            continue
        value = changes[name]
        if kind == "title":
            value = clean_text(value, field=name, max_length=MAX_TITLE, required=True,
                               label=_("Title"))
        elif kind == "text":
            value = clean_text(value, field=name)
        elif kind == "account":
            value = _optional_account(organization, value)
        elif kind == "required_account":
            value = _account(organization, value)
        elif kind == "service":
            value = _service(organization, value)
        elif kind == "owner":
            value = _owner(organization, value)
        elif kind == "value":
            value = _value(value, field=name)
        elif isinstance(kind, type):
            value = _choice(value, kind, field=name)
        setattr(row, name, value)


# --- Changes affecting customers ---------------------------------------------------------

CHANGE_FIELDS = {"account": "required_account", "origin": ChangeOrigin, "title": "title",
                 "description": "text", "service": "service", "impact": "text",
                 "impact_level": ImpactLevel, "response": "text"}


def response_time(change):
    """responded_at − identified_at, or None while there is no response."""
    if change.responded_at is None:
        return None
    return change.responded_at - change.identified_at


def _change_payload(change):
    return {"change_id": change.pk, "account_id": change.account_id, "origin": change.origin,
            "impact_level": change.impact_level, "responded": change.responded_at is not None}


def _first_response(change, *, actor, now):
    if change.response and change.responded_at is None:
        change.responded_at = now
        change.responded_by = user_or_none(actor)
        return True
    return False


def change_create(*, organization, actor, now=None, identified_at=None, **fields):
    now = now or timezone.now()
    change = CustomerChange(organization=organization, created_by=user_or_none(actor),
                            identified_at=identified_at or now)
    for required in ("account", "origin", "title"):
        fields.setdefault(required, None if required == "account" else "")
    _apply(change, organization, fields, CHANGE_FIELDS)
    if change.identified_at > now:
        raise RegisterError(_("A change cannot be identified in the future."),
                            code="invalid", field="identified_at")
    responded = _first_response(change, actor=actor, now=now)
    with transaction.atomic():
        change.save()
        audit_record(actor=actor, organization=organization, action="brm.change.created",
                     obj=change, after={"title": change.title, "origin": change.origin})
        emit_event(type="brm.change.created", organization=organization, aggregate=change,
                   actor=actor, payload=_change_payload(change))
        if responded:
            emit_event(type="brm.change.responded", organization=organization,
                       aggregate=change, actor=actor, payload=_change_payload(change))
    return change


def change_update(*, change, actor, version, now=None, **fields):
    now = now or timezone.now()
    with transaction.atomic():
        locked = CustomerChange.objects.select_for_update().get(pk=change.pk)
        check_version(locked, version)
        _apply(locked, locked.organization, fields, CHANGE_FIELDS)
        responded = _first_response(locked, actor=actor, now=now)
        locked.version += 1
        locked.save()
        audit_record(actor=actor, organization=locked.organization,
                     action="brm.change.updated", obj=locked,
                     after={"title": locked.title, "responded": locked.responded_at is not None})
        emit_event(type="brm.change.updated", organization=locked.organization,
                   aggregate=locked, actor=actor, payload=_change_payload(locked))
        if responded:
            emit_event(type="brm.change.responded", organization=locked.organization,
                       aggregate=locked, actor=actor, payload=_change_payload(locked))
    return locked


# --- Opportunity register ----------------------------------------------------------------

O = OpportunityStatus  # noqa: E741
OPPORTUNITY_FIELDS = {"title": "title", "kind": OpportunityKind, "description": "text",
                      "account": "account", "service": "service", "owner": "owner",
                      "estimated_value": "value", "assessment": "text"}


@dataclass(frozen=True)
class Move:
    sources: tuple
    target: str
    label: object


OPPORTUNITY_ACTIONS = {
    "assess": Move((O.IDENTIFIED,), O.ASSESSED, gettext_lazy("Assessed with the customer")),
    "record": Move((O.ASSESSED,), O.RECORDED, gettext_lazy("Record in the service portfolio")),
    "decline": Move((O.IDENTIFIED, O.ASSESSED), O.DECLINED, gettext_lazy("Decline")),
}


def opportunity_actions_for(opportunity):
    return [name for name, move in OPPORTUNITY_ACTIONS.items()
            if opportunity.status in move.sources]


def _opportunity_payload(opportunity):
    return {"opportunity_id": opportunity.pk, "status": opportunity.status,
            "account_id": opportunity.account_id, "service_id": opportunity.service_id}


def opportunity_create(*, organization, actor, now=None, **fields):
    now = now or timezone.now()
    opportunity = OpportunityRecord(organization=organization, identified_at=now,
                                    owner=user_or_none(actor))
    fields.setdefault("title", "")
    _apply(opportunity, organization, fields, OPPORTUNITY_FIELDS)
    with transaction.atomic():
        opportunity.save()
        audit_record(actor=actor, organization=organization, action="brm.opportunity.created",
                     obj=opportunity, after={"title": opportunity.title})
        emit_event(type="brm.opportunity.created", organization=organization,
                   aggregate=opportunity, actor=actor, payload=_opportunity_payload(opportunity))
    return opportunity


def opportunity_update(*, opportunity, actor, version, **fields):
    with transaction.atomic():
        locked = OpportunityRecord.objects.select_for_update().get(pk=opportunity.pk)
        check_version(locked, version)
        _apply(locked, locked.organization, fields, OPPORTUNITY_FIELDS)
        locked.version += 1
        locked.save()
        audit_record(actor=actor, organization=locked.organization,
                     action="brm.opportunity.updated", obj=locked,
                     after={"title": locked.title})
        emit_event(type="brm.opportunity.updated", organization=locked.organization,
                   aggregate=locked, actor=actor, payload=_opportunity_payload(locked))
    return locked


def opportunity_transition(*, opportunity, action, actor, version, assessment=None,
                           service=None, now=None):
    """assess (needs the assessment text) / record (needs a service of the portfolio) /
    decline."""
    now = now or timezone.now()
    move = OPPORTUNITY_ACTIONS.get(action)
    if move is None:
        raise RegisterError(_("Unknown action."), code="invalid_action", field="action")
    with transaction.atomic():
        locked = OpportunityRecord.objects.select_for_update().get(pk=opportunity.pk)
        check_version(locked, version)
        if locked.status not in move.sources:
            raise RegisterError(
                _("An opportunity that is %(status)s cannot be moved this way.") % {
                    "status": locked.get_status_display().lower()},
                code="invalid_transition", field="action")
        if action == "assess":
            text = clean_text(assessment if assessment is not None else locked.assessment,
                              field="assessment", required=True,
                              label=_("The assessment with the customer"))
            locked.assessment = text
            locked.assessed_at = now
        elif action == "record":
            chosen = _service(locked.organization, service if service is not None
                              else locked.service)
            if chosen is None:
                raise RegisterError(_("Choose the service it is recorded under."),
                                    code="required", field="service_id")
            locked.service = chosen
            locked.recorded_at = now
        from_status = locked.status
        locked.status = move.target
        locked.version += 1
        locked.save()
        audit_record(actor=actor, organization=locked.organization,
                     action=f"brm.opportunity.{locked.status}", obj=locked,
                     before={"status": from_status}, after={"status": locked.status})
        emit_event(type=f"brm.opportunity.{locked.status}", organization=locked.organization,
                   aggregate=locked, actor=actor, payload=_opportunity_payload(locked))
    return locked


# --- CSI register ------------------------------------------------------------------------

I = ImprovementStatus  # noqa: E741 - the lifecycle's letter, like S and O above
IMPROVEMENT_FIELDS = {"title": "title", "description": "text", "source": ImprovementSource,
                      "account": "account", "service": "service", "owner": "owner",
                      "expected_benefit": "text", "realized_benefit": "text",
                      "expected_value": "value", "realized_value": "value"}
IMPROVEMENT_OPEN = (I.NEW, I.ACCEPTED, I.APPROVED, I.IN_PROGRESS, I.MONITOR)

IMPROVEMENT_ACTIONS = {
    "accept": Move((I.NEW,), I.ACCEPTED, gettext_lazy("Accept")),
    "approve": Move((I.ACCEPTED,), I.APPROVED, gettext_lazy("Approve")),
    "start": Move((I.APPROVED,), I.IN_PROGRESS, gettext_lazy("Start work")),
    "monitor": Move((I.IN_PROGRESS,), I.MONITOR, gettext_lazy("Monitor the effect")),
    "reopen": Move((I.MONITOR,), I.IN_PROGRESS, gettext_lazy("Back to work")),
    "close": Move((I.MONITOR,), I.CLOSED, gettext_lazy("Close (benefit realized)")),
    "cancel": Move(IMPROVEMENT_OPEN, I.CANCELLED, gettext_lazy("Cancel")),
}


def improvement_actions_for(improvement):
    return [name for name, move in IMPROVEMENT_ACTIONS.items()
            if improvement.status in move.sources]


def improvement_payload(improvement):
    return {"improvement_id": improvement.pk, "number": improvement.number,
            "status": improvement.status, "source": improvement.source,
            "account_id": improvement.account_id, "source_case_id": improvement.source_case_id,
            "source_response_id": improvement.source_response_id}


def improvement_create(*, organization, actor, now=None, source_case=None,
                       source_response=None, **fields):
    """A new CSI entry (status new), numbered CSI-n. `source_case`/`source_response` link
    the case or survey answer it came from (the consumers set them)."""
    now = now or timezone.now()
    improvement = Improvement(organization=organization, raised_at=now,
                              created_by=user_or_none(actor), source_case=source_case,
                              source_response=source_response)
    fields.setdefault("title", "")
    fields.setdefault("source", ImprovementSource.OTHER)
    _apply(improvement, organization, fields, IMPROVEMENT_FIELDS)
    with transaction.atomic():
        improvement.number = next_number(organization=organization, register="improvement",
                                         model=Improvement)
        improvement.save()
        ImprovementStatusChange.objects.create(improvement=improvement, from_status="",
                                               to_status=improvement.status,
                                               changed_by=user_or_none(actor), changed_at=now)
        audit_record(actor=actor, organization=organization, action="brm.improvement.created",
                     obj=improvement, after={"number": improvement.number,
                                             "source": improvement.source})
        emit_event(type="brm.improvement.created", organization=organization,
                   aggregate=improvement, actor=actor, payload=improvement_payload(improvement))
    return improvement


def improvement_update(*, improvement, actor, version, **fields):
    with transaction.atomic():
        locked = Improvement.objects.select_for_update().get(pk=improvement.pk)
        check_version(locked, version)
        if locked.status in (I.CLOSED, I.CANCELLED):
            raise RegisterError(_("A closed or cancelled improvement cannot be changed."),
                                code="invalid_status", field="status")
        _apply(locked, locked.organization, fields, IMPROVEMENT_FIELDS)
        locked.version += 1
        locked.save()
        audit_record(actor=actor, organization=locked.organization,
                     action="brm.improvement.updated", obj=locked,
                     after={"title": locked.title})
        emit_event(type="brm.improvement.updated", organization=locked.organization,
                   aggregate=locked, actor=actor, payload=improvement_payload(locked))
    return locked


def improvement_transition(*, improvement, action, actor, version, comment="",
                           realized_benefit=None, realized_value=None, now=None):
    """Move along the CSI lifecycle. `close` needs the realized benefit (text or value,
    given here or already on the entry)."""
    now = now or timezone.now()
    move = IMPROVEMENT_ACTIONS.get(action)
    if move is None:
        raise RegisterError(_("Unknown action."), code="invalid_action", field="action")
    comment = clean_text(comment, field="comment", max_length=2000)
    with transaction.atomic():
        locked = Improvement.objects.select_for_update().get(pk=improvement.pk)
        check_version(locked, version)
        if locked.status not in move.sources:
            raise RegisterError(
                _("An improvement that is %(status)s cannot be moved this way.") % {
                    "status": locked.get_status_display().lower()},
                code="invalid_transition", field="action")
        if realized_benefit is not None:
            locked.realized_benefit = clean_text(realized_benefit, field="realized_benefit")
        if realized_value not in (None, ""):
            locked.realized_value = _value(realized_value, field="realized_value")
        if action == "close" and not locked.realized_benefit and locked.realized_value is None:
            raise RegisterError(_("Describe the realized benefit before closing."),
                                code="required", field="realized_benefit")
        from_status = locked.status
        locked.status = move.target
        if locked.status in (I.CLOSED, I.CANCELLED):
            locked.closed_at = now
        locked.version += 1
        locked.save()
        ImprovementStatusChange.objects.create(improvement=locked, from_status=from_status,
                                               to_status=locked.status,
                                               changed_by=user_or_none(actor),
                                               comment=comment, changed_at=now)
        audit_record(actor=actor, organization=locked.organization,
                     action="brm.improvement.status_changed", obj=locked,
                     before={"status": from_status},
                     after={"status": locked.status, "comment": comment[:200]})
        emit_event(type="brm.improvement.status_changed", organization=locked.organization,
                   aggregate=locked, actor=actor,
                   payload={**improvement_payload(locked), "from_status": from_status})
    return locked
