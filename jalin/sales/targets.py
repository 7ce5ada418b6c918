"""Sales targets (quotas): a revenue amount for a seller, a team or the whole organization
over a period. Attainment (won in the period ÷ target) is read by
`jalin.sales.forecast_selectors.attainment`.

Services are keyword-only, own their transaction, write the audit log and emit
`sales.target.created` / `updated` / `deleted`. Bad input raises `ValidationError` keyed by
field (nothing written); a seller or team of another organization raises `SalesError` with
code `not_found`; a stale `version` raises `StaleVersion`. The same subject may not have two
targets for exactly the same period (`code="duplicate"`).
"""

import datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from jalin.core.audit import audit_record
from jalin.core.events import emit_event
from jalin.tenancy.models import validate_currency
from jalin.tenancy.services import StaleVersion

from .leads import SalesError, member_user
from .models import SalesTarget, SalesTeam

MAX_AMOUNT = Decimal("9999999999999999.99")


def _invalid(field, message, code="invalid"):
    return ValidationError({field: [ValidationError(message, code=code)]})


def _user(actor):
    return actor if getattr(actor, "pk", None) else None


def _date(value, field):
    if isinstance(value, datetime.datetime):
        value = value.date()
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value or "").strip())
    except ValueError:
        raise _invalid(field, _("Enter a date (YYYY-MM-DD).")) from None


def _amount(value):
    try:
        amount = Decimal(str(value).strip().replace(",", "")) if value not in (None, "") \
            else None
    except (InvalidOperation, ValueError):
        amount = None
    if amount is None or not amount.is_finite():
        raise _invalid("amount", _("Enter the target amount."), code="required")
    if amount < 0 or amount > MAX_AMOUNT:
        raise _invalid("amount", _("The target must be between 0 and %(max)s.") % {
            "max": f"{MAX_AMOUNT:,}"})
    return amount.quantize(Decimal("0.01"))


def _team(organization, value):
    team_id = getattr(value, "pk", value)
    if team_id in (None, ""):
        return None
    try:
        team_id = int(team_id)
    except (TypeError, ValueError):
        team_id = -1
    team = SalesTeam.objects.filter(organization=organization, pk=team_id).first()
    if team is None:
        raise SalesError(_("No such team in this organization."), code="not_found",
                         field="team_id")
    return team


def _clean(organization, *, user, team, period_start, period_end, amount, currency):
    start = _date(period_start, "period_start")
    end = _date(period_end, "period_end")
    if end < start:
        raise _invalid("period_end", _("The period ends before it starts."))
    if (end - start).days > 366 * 2:
        raise _invalid("period_end", _("A target covers at most two years."))
    amount = _amount(amount)
    currency = (currency or organization.currency or "IDR").strip().upper()
    try:
        validate_currency(currency)
    except ValidationError:
        raise _invalid("currency", _("Use a three-letter currency code (e.g. IDR).")) from None
    user = member_user(organization, user, field="user_id")
    team = _team(organization, team)
    if user is not None and team is not None:
        raise _invalid("team_id", _("A target is for a seller or a team, not both."))
    return {"user": user, "team": team, "period_start": start, "period_end": end,
            "amount": amount, "currency": currency}


def _check_duplicate(organization, values, exclude=None):
    duplicate = SalesTarget.objects.filter(
        organization=organization, user=values["user"], team=values["team"],
        period_start=values["period_start"], period_end=values["period_end"])
    if exclude is not None:
        duplicate = duplicate.exclude(pk=exclude.pk)
    if duplicate.exists():
        raise SalesError(_("This seller or team already has a target for this period."),
                         code="duplicate", field="period_start")


def _state(target):
    return {"user_id": target.user_id, "team_id": target.team_id,
            "period_start": target.period_start.isoformat(),
            "period_end": target.period_end.isoformat(), "amount": str(target.amount),
            "currency": target.currency}


def target_create(*, organization, actor, period_start, period_end, amount, user=None,
                  team=None, currency=None):
    """A target for `user` (a member), `team`, or — with neither — the whole organization."""
    values = _clean(organization, user=user, team=team, period_start=period_start,
                    period_end=period_end, amount=amount, currency=currency)
    with transaction.atomic():
        _check_duplicate(organization, values)
        target = SalesTarget.objects.create(organization=organization, **values)
        audit_record(actor=actor, organization=organization, action="sales.target.created",
                     obj=target, after=_state(target))
        emit_event(type="sales.target.created", organization=organization, aggregate=target,
                   actor=_user(actor), payload=_state(target))
    return target


def target_update(*, target, actor, version, **changes):
    """Change the subject, period, amount or currency; `version` must match."""
    organization = target.organization
    unknown = set(changes) - {"user", "team", "period_start", "period_end", "amount",
                              "currency"}
    if unknown:
        raise _invalid(sorted(unknown)[0], _("Unknown field."))
    with transaction.atomic():
        locked = SalesTarget.objects.select_for_update().get(pk=target.pk)
        if locked.version != version:
            raise StaleVersion()
        current = {"user": locked.user_id, "team": locked.team_id,
                   "period_start": locked.period_start, "period_end": locked.period_end,
                   "amount": locked.amount, "currency": locked.currency}
        current.update(changes)
        values = _clean(organization, **current)
        _check_duplicate(organization, values, exclude=locked)
        before = _state(locked)
        for name, value in values.items():
            setattr(locked, name, value)
        after = _state(locked)
        if after == before:
            return locked
        locked.version += 1
        locked.save()
        changed = sorted(key for key in after if after[key] != before[key])
        audit_record(actor=actor, organization=organization, action="sales.target.updated",
                     obj=locked, before={k: before[k] for k in changed},
                     after={k: after[k] for k in changed})
        emit_event(type="sales.target.updated", organization=organization, aggregate=locked,
                   actor=_user(actor), payload={"changed": changed, **after})
    return locked


def target_delete(*, target, actor, version=None):
    organization = target.organization
    with transaction.atomic():
        locked = SalesTarget.objects.select_for_update().get(pk=target.pk)
        if version is not None and locked.version != version:
            raise StaleVersion()
        state = _state(locked)
        audit_record(actor=actor, organization=organization, action="sales.target.deleted",
                     obj=locked, before=state)
        emit_event(type="sales.target.deleted", organization=organization, aggregate=locked,
                   actor=_user(actor), payload=state)
        locked.delete()
