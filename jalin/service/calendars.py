"""SLA configuration: business-hours calendars with holidays, SLA policies with their targets,
and escalation rules. Writes only; the clock engine is `jalin.service.sla`.

- A calendar's public holidays are preloaded from the `holidays` package for its country
  (`calendar_load_public_holidays`, idempotent; the worker loads next year's once a year).
  Own holidays can be added and any holiday removed; a removed public holiday is not
  reloaded by the worker (it only loads a year that has no preloaded holiday yet).
- Changing a calendar (hours, zone, 24 × 7, holidays) moves the due times of the running
  clocks that count in it: time elapsed so far is kept as counted by the old calendar.
- Changing a policy's targets applies to clocks started (or retargeted) afterwards; running
  clocks keep the target they were started with.
- Defaults: an organization that has never set up SLAs gets the calendar "Office hours"
  (Monday–Friday 08:00–17:00 in its time zone, its country's public holidays) and the default
  policy "Standard" (DEFAULT_TARGETS) the first time a case opens or an admin opens the SLA
  settings (`ensure_default_policy`). Once it has any policy nothing is created for it again.
"""

from decimal import Decimal, InvalidOperation

import holidays as holidays_package
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _

from jalin.core.audit import audit_record
from jalin.tenancy.services import StaleVersion, TenancyError

from . import business_hours
from .models import (
    BusinessCalendar,
    CasePriority,
    EscalationAction,
    EscalationRule,
    EscalationTrigger,
    Holiday,
    SlaClock,
    SlaClockState,
    SlaMetric,
    SlaPolicy,
    SlaTarget,
    Team,
    default_weekly_hours,
)

# Business minutes: (first response, resolution) per priority of the default policy.
DEFAULT_TARGETS = {
    CasePriority.CRITICAL: (30, 4 * 60),
    CasePriority.HIGH: (60, 9 * 60),
    CasePriority.NORMAL: (4 * 60, 3 * 9 * 60),
    CasePriority.LOW: (9 * 60, 5 * 9 * 60),
}
DEFAULT_CALENDAR_NAME = "Office hours"
DEFAULT_POLICY_NAME = "Standard"
MAX_TARGET_MINUTES = 366 * 24 * 60


class SlaError(TenancyError):
    """An SLA setting that cannot be saved as asked; the message is for the user."""


# --- Calendars -----------------------------------------------------------------------------


def calendar_spec(calendar, *, cache=None):
    """The business-hours spec of a calendar (holidays read once; `cache` keyed by id)."""
    if cache is not None and calendar.pk in cache:
        return cache[calendar.pk]
    spec = business_hours.make_spec(
        time_zone=calendar.time_zone, weekly_hours=calendar.weekly_hours,
        holidays=Holiday.objects.filter(calendar=calendar).values_list("date", flat=True),
        always_open=calendar.always_open)
    if cache is not None:
        cache[calendar.pk] = spec
    return spec


def _clean_text(value, *, field, limit, required=True):
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise SlaError(_("Enter text."), field=field)
    value = " ".join(value.split())
    if required and not value:
        raise SlaError(_("This field is required."), code="required", field=field)
    if len(value) > limit:
        raise SlaError(_("Enter at most %(max)s characters.") % {"max": limit},
                       code="too_long", field=field)
    return value


def _clean_calendar(changes):
    cleaned = {}
    for name, value in changes.items():
        if name == "name":
            cleaned[name] = _clean_text(value, field=name, limit=100)
        elif name == "time_zone":
            try:
                business_hours.make_spec(time_zone=value or "", weekly_hours={})
            except business_hours.BusinessHoursError as exc:
                raise SlaError(exc.message, field="time_zone") from exc
            cleaned[name] = value
        elif name == "country":
            value = (value or "").strip().upper()
            if value and value not in holidays_package.list_supported_countries():
                raise SlaError(_("No public holidays are known for country “%(c)s”.")
                               % {"c": value}, field=name)
            cleaned[name] = value
        elif name == "weekly_hours":
            try:
                parsed = business_hours.parse_weekly_hours(value)
            except business_hours.BusinessHoursError as exc:
                raise SlaError(exc.message, field=f"weekly_hours.{exc.field}"
                               if exc.field != "weekly_hours" else "weekly_hours") from exc
            cleaned[name] = business_hours.format_weekly_hours(parsed)
        elif name in ("always_open", "is_default"):
            if not isinstance(value, bool):
                raise SlaError(_("Enter true or false."), field=name)
            cleaned[name] = value
        else:
            raise SlaError(_("Unknown fields: %s") % name, code="unknown")
    return cleaned


def _snapshot(obj, names):
    return {name: getattr(obj, name) for name in names}


CALENDAR_FIELDS = ("name", "time_zone", "country", "weekly_hours", "always_open", "is_default")


def _take_default(model, obj):
    model.objects.select_for_update().filter(
        organization_id=obj.organization_id, is_default=True).exclude(pk=obj.pk).update(
        is_default=False)


def _save(obj, *, message):
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError as exc:
        raise SlaError(message, code="duplicate", field="name") from exc


def calendar_create(*, organization, actor, name, time_zone=None, country=None,
                    weekly_hours=None, always_open=False, is_default=False, load_holidays=True,
                    now=None):
    now = now or timezone.now()
    cleaned = _clean_calendar({
        "name": name, "time_zone": time_zone or organization.time_zone,
        "country": organization.country if country is None else country,
        "weekly_hours": default_weekly_hours() if weekly_hours is None else weekly_hours,
        "always_open": always_open, "is_default": is_default})
    with transaction.atomic():
        calendar = BusinessCalendar(organization=organization, created_at=now, **cleaned)
        if calendar.is_default:
            _take_default(BusinessCalendar, calendar)
        _save(calendar, message=_("A calendar with this name already exists."))
        if load_holidays and calendar.country:
            year = timezone.localdate(now).year
            calendar_load_public_holidays(calendar=calendar, years=[year, year + 1])
        audit_record(actor=actor, organization=organization, action="service.calendar.created",
                     obj=calendar, after=_snapshot(calendar, CALENDAR_FIELDS))
    return calendar


def _lock(model, obj, version=None):
    locked = model.objects.select_for_update().get(pk=obj.pk)
    if version is not None and locked.version != version:
        raise StaleVersion()
    return locked


def calendar_update(*, calendar, actor, version=None, now=None, **changes):
    """Change a calendar; running clocks in it keep their elapsed time and get new due times."""
    cleaned = _clean_calendar(changes)
    with transaction.atomic():
        locked = _lock(BusinessCalendar, calendar, version)
        before = _snapshot(locked, CALENDAR_FIELDS)
        old_spec = calendar_spec(locked)
        for name, value in cleaned.items():
            setattr(locked, name, value)
        if cleaned.get("is_default"):
            _take_default(BusinessCalendar, locked)
        locked.version += 1
        _save(locked, message=_("A calendar with this name already exists."))
        _reschedule_clocks(locked, old_spec, now=now)
        audit_record(actor=actor, organization=locked.organization,
                     action="service.calendar.updated", obj=locked, before=before,
                     after=_snapshot(locked, CALENDAR_FIELDS))
    return locked


def calendar_delete(*, calendar, actor):
    """Delete a calendar no policy and no clock uses."""
    with transaction.atomic():
        locked = _lock(BusinessCalendar, calendar)
        if (SlaPolicy.objects.filter(calendar=locked).exists()
                or SlaClock.objects.filter(calendar=locked).exists()):
            raise SlaError(_("This calendar is in use by an SLA policy or by case clocks."),
                           code="in_use")
        audit_record(actor=actor, organization=locked.organization,
                     action="service.calendar.deleted", obj=locked,
                     before=_snapshot(locked, CALENDAR_FIELDS))
        locked.delete()


def _reschedule_clocks(calendar, old_spec, *, now=None):
    """Running and paused clocks in `calendar`: close the current segment as counted by the
    old spec, then compute due/warn times with the new one."""
    from . import sla

    now = now or timezone.now()
    new_spec = calendar_spec(calendar)
    clocks = SlaClock.objects.select_for_update(of=("self",)).filter(
        calendar=calendar, state__in=(SlaClockState.RUNNING, SlaClockState.PAUSED),
    ).select_related("policy")
    for clock in clocks:
        sla.close_segment(clock, old_spec, now)
        sla.schedule(clock, new_spec)
        clock.save()


def calendar_load_public_holidays(*, calendar, years, now=None):
    """Add the public holidays of the calendar's country for `years` (idempotent: dates
    already present, own or preloaded, are left alone). Returns how many were added."""
    if not calendar.country:
        return 0
    found = holidays_package.country_holidays(calendar.country, years=list(years))
    rows = [Holiday(calendar=calendar, date=day, name=str(name)[:120], preloaded=True)
            for day, name in sorted(found.items())]
    with transaction.atomic():
        old_spec = calendar_spec(calendar)
        existing = set(Holiday.objects.filter(calendar=calendar, date__in=[r.date for r in rows])
                       .values_list("date", flat=True))
        new = [row for row in rows if row.date not in existing]
        Holiday.objects.bulk_create(new, ignore_conflicts=True)
        if new:
            _reschedule_clocks(calendar, old_spec, now=now)
    return len(new)


def _clean_date(value):
    if isinstance(value, str):
        value = parse_date(value.strip()) if value.strip() else None
    if value is None or not hasattr(value, "isoweekday"):
        raise SlaError(_("Enter a date as YYYY-MM-DD."), code="invalid", field="date")
    return value


def holiday_add(*, calendar, actor, date, name, now=None):
    try:
        date = _clean_date(date)
    except (ValueError, TypeError) as exc:
        raise SlaError(_("Enter a date as YYYY-MM-DD."), field="date") from exc
    name = _clean_text(name, field="name", limit=120)
    with transaction.atomic():
        locked = _lock(BusinessCalendar, calendar)
        old_spec = calendar_spec(locked)
        if Holiday.objects.filter(calendar=locked, date=date).exists():
            raise SlaError(_("This date is already a holiday."), code="duplicate", field="date")
        holiday = Holiday.objects.create(calendar=locked, date=date, name=name)
        _reschedule_clocks(locked, old_spec, now=now)
        audit_record(actor=actor, organization=locked.organization,
                     action="service.holiday.added", obj=holiday,
                     after={"date": str(date), "name": name})
    return holiday


def holiday_remove(*, holiday, actor, now=None):
    with transaction.atomic():
        calendar = _lock(BusinessCalendar, holiday.calendar)
        old_spec = calendar_spec(calendar)
        audit_record(actor=actor, organization=calendar.organization,
                     action="service.holiday.removed", obj=holiday,
                     before={"date": str(holiday.date), "name": holiday.name})
        Holiday.objects.filter(pk=holiday.pk).delete()
        _reschedule_clocks(calendar, old_spec, now=now)


def calendars_load_next_year(*, now=None):
    """Worker job: give every calendar with a country the public holidays of this year and
    the next, once (a year that has a preloaded holiday is left alone, so holidays removed by
    hand stay removed). Returns how many holidays were added."""
    now = now or timezone.now()
    year = timezone.localdate(now).year
    added = 0
    for calendar in BusinessCalendar.objects.exclude(country="").iterator():
        for wanted in (year, year + 1):
            if not Holiday.objects.filter(calendar=calendar, preloaded=True,
                                          date__year=wanted).exists():
                added += calendar_load_public_holidays(calendar=calendar, years=[wanted],
                                                       now=now)
    return {"holidays_added": added} if added else None


# --- Policies ------------------------------------------------------------------------------

POLICY_FIELDS = ("name", "calendar_id", "is_default", "warn_at_percent",
                 "required_attainment_percent")


def _clean_percent(value, *, field, low, high, integer=False):
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        number = None
    if (number is None or not number.is_finite() or number < low or number > high
            or (integer and number != number.to_integral_value())
            or isinstance(value, bool)):
        raise SlaError(_("Enter a number from %(low)s to %(high)s.") % {"low": low, "high": high},
                       field=field)
    return int(number) if integer else number.quantize(Decimal("0.01"))


def _clean_policy(organization, changes):
    cleaned = {}
    for name, value in changes.items():
        if name == "name":
            cleaned[name] = _clean_text(value, field=name, limit=100)
        elif name == "calendar":
            pk = getattr(value, "pk", value)
            calendar = None
            if isinstance(pk, int) and not isinstance(pk, bool):
                calendar = BusinessCalendar.objects.filter(pk=pk,
                                                           organization=organization).first()
            if calendar is None:
                raise SlaError(_("No such calendar."), code="not_found", field="calendar")
            cleaned[name] = calendar
        elif name == "warn_at_percent":
            cleaned[name] = _clean_percent(value, field=name, low=1, high=99, integer=True)
        elif name == "required_attainment_percent":
            cleaned[name] = _clean_percent(value, field=name, low=0, high=100)
        elif name == "is_default":
            if not isinstance(value, bool):
                raise SlaError(_("Enter true or false."), field=name)
            cleaned[name] = value
        else:
            raise SlaError(_("Unknown fields: %s") % name, code="unknown")
    return cleaned


def _clean_targets(targets):
    """{(priority, metric): minutes or None} from a list of dicts or a mapping."""
    if isinstance(targets, dict):
        items = [{"priority": p, "metric": m, "minutes": v} for (p, m), v in targets.items()]
    else:
        items = list(targets or [])
    cleaned = {}
    for item in items:
        priority, metric = item.get("priority"), item.get("metric")
        if priority not in CasePriority.values:
            raise SlaError(_("Unknown priority."), field="targets.priority")
        if metric not in SlaMetric.values:
            raise SlaError(_("Unknown metric."), field="targets.metric")
        minutes = item.get("minutes")
        if minutes in (None, ""):
            cleaned[(priority, metric)] = None
            continue
        try:
            minutes = int(str(minutes).strip())
        except ValueError:
            minutes = 0
        if isinstance(item.get("minutes"), bool) or not 1 <= minutes <= MAX_TARGET_MINUTES:
            raise SlaError(_("Enter a target of 1 to %(max)s business minutes.")
                           % {"max": MAX_TARGET_MINUTES}, field=f"targets.{priority}.{metric}")
        cleaned[(priority, metric)] = minutes
    return cleaned


def _apply_targets(policy, targets):
    for (priority, metric), minutes in targets.items():
        if minutes is None:
            SlaTarget.objects.filter(policy=policy, priority=priority, metric=metric).delete()
        else:
            SlaTarget.objects.update_or_create(policy=policy, priority=priority, metric=metric,
                                               defaults={"minutes": minutes})


def targets_of(policy):
    return {(t.priority, t.metric): t.minutes for t in policy.targets.all()}


def policy_create(*, organization, actor, name, calendar, warn_at_percent=75,
                  required_attainment_percent=Decimal("95"), is_default=False, targets=None,
                  now=None):
    cleaned = _clean_policy(organization, {
        "name": name, "calendar": calendar, "warn_at_percent": warn_at_percent,
        "required_attainment_percent": required_attainment_percent, "is_default": is_default})
    clean_targets = _clean_targets(targets)
    with transaction.atomic():
        policy = SlaPolicy(organization=organization, created_at=now or timezone.now(),
                           **cleaned)
        if policy.is_default:
            _take_default(SlaPolicy, policy)
        _save(policy, message=_("An SLA policy with this name already exists."))
        _apply_targets(policy, clean_targets)
        audit_record(actor=actor, organization=organization, action="service.sla_policy.created",
                     obj=policy, after={**_snapshot(policy, POLICY_FIELDS),
                                        "targets": _targets_json(policy)})
    return policy


def _targets_json(policy):
    return {f"{p}.{m}": v for (p, m), v in sorted(targets_of(policy).items())}


def policy_update(*, policy, actor, version=None, targets=None, **changes):
    """Change a policy and (optionally) its targets; a target of None removes it. Running
    clocks keep the targets they were started with."""
    cleaned = _clean_policy(policy.organization, changes)
    clean_targets = _clean_targets(targets) if targets is not None else {}
    with transaction.atomic():
        locked = _lock(SlaPolicy, policy, version)
        before = {**_snapshot(locked, POLICY_FIELDS), "targets": _targets_json(locked)}
        for name, value in cleaned.items():
            setattr(locked, name, value)
        if cleaned.get("is_default"):
            if locked.archived_at:
                raise SlaError(_("An archived policy cannot be the default."), field="is_default")
            _take_default(SlaPolicy, locked)
        locked.version += 1
        _save(locked, message=_("An SLA policy with this name already exists."))
        _apply_targets(locked, clean_targets)
        audit_record(actor=actor, organization=locked.organization,
                     action="service.sla_policy.updated", obj=locked, before=before,
                     after={**_snapshot(locked, POLICY_FIELDS), "targets": _targets_json(locked)})
    return locked


def policy_archive(*, policy, actor, now=None):
    """Archive a policy: no new clocks use it (its agreements fall back to the default);
    running clocks keep it."""
    with transaction.atomic():
        locked = _lock(SlaPolicy, policy)
        if locked.archived_at:
            return locked
        locked.archived_at = now or timezone.now()
        locked.is_default = False
        locked.version += 1
        locked.save()
        audit_record(actor=actor, organization=locked.organization,
                     action="service.sla_policy.archived", obj=locked, after={"name": locked.name})
    return locked


def ensure_default_policy(*, organization, now=None):
    """The organization's default policy, created with a default calendar when the
    organization has no SLA policy at all (see the module docstring). None when it has
    policies but none is the default."""
    policy = SlaPolicy.objects.filter(organization=organization, is_default=True,
                                      archived_at__isnull=True).first()
    if policy is not None or SlaPolicy.objects.filter(organization=organization).exists():
        return policy
    try:
        with transaction.atomic():
            calendar = (BusinessCalendar.objects.filter(organization=organization,
                                                        is_default=True).first()
                        or BusinessCalendar.objects.filter(organization=organization,
                                                           name=DEFAULT_CALENDAR_NAME).first())
            if calendar is None:
                calendar = calendar_create(
                    organization=organization, actor=None, name=DEFAULT_CALENDAR_NAME,
                    is_default=True, now=now)
            targets = {}
            for priority, (first, resolution) in DEFAULT_TARGETS.items():
                targets[(priority, SlaMetric.FIRST_RESPONSE)] = first
                targets[(priority, SlaMetric.RESOLUTION)] = resolution
            return policy_create(organization=organization, actor=None,
                                 name=DEFAULT_POLICY_NAME, calendar=calendar, is_default=True,
                                 targets=targets, now=now)
    except (IntegrityError, SlaError):  # created at the same time by another request
        return SlaPolicy.objects.filter(organization=organization, is_default=True).first()


# --- Escalation rules ----------------------------------------------------------------------

RULE_FIELDS = ("name", "trigger", "metric", "priority", "action", "user", "team", "is_active")


def _clean_rule(organization, changes):
    cleaned = {}
    for name, value in changes.items():
        if name == "name":
            cleaned[name] = _clean_text(value, field=name, limit=100)
        elif name == "trigger":
            if value not in EscalationTrigger.values:
                raise SlaError(_("Choose warning or breach."), field=name)
            cleaned[name] = value
        elif name == "metric":
            if (value or "") not in ("", *SlaMetric.values):
                raise SlaError(_("Unknown metric."), field=name)
            cleaned[name] = value or ""
        elif name == "priority":
            if (value or "") not in ("", *CasePriority.values):
                raise SlaError(_("Unknown priority."), field=name)
            cleaned[name] = value or ""
        elif name == "action":
            if value not in EscalationAction.values:
                raise SlaError(_("Unknown action."), field=name)
            cleaned[name] = value
        elif name == "user":
            pk = getattr(value, "pk", value)
            user = None
            if pk not in (None, ""):
                from django.contrib.auth import get_user_model

                user = (get_user_model().objects.filter(
                    pk=pk, memberships__organization=organization,
                    memberships__is_active=True).first()
                    if isinstance(pk, int) and not isinstance(pk, bool) else None)
                if user is None:
                    raise SlaError(_("No such member."), code="not_found", field=name)
            cleaned[name] = user
        elif name == "team":
            pk = getattr(value, "pk", value)
            team = None
            if pk not in (None, ""):
                team = (Team.objects.filter(pk=pk, organization=organization,
                                            archived_at__isnull=True).first()
                        if isinstance(pk, int) and not isinstance(pk, bool) else None)
                if team is None:
                    raise SlaError(_("No such team."), code="not_found", field=name)
            cleaned[name] = team
        elif name == "is_active":
            if not isinstance(value, bool):
                raise SlaError(_("Enter true or false."), field=name)
            cleaned[name] = value
        else:
            raise SlaError(_("Unknown fields: %s") % name, code="unknown")
    return cleaned


def _check_rule(rule):
    if rule.action == EscalationAction.NOTIFY_USER and rule.user_id is None:
        raise SlaError(_("Choose the user to notify."), code="required", field="user")
    if rule.action in (EscalationAction.NOTIFY_TEAM, EscalationAction.REASSIGN_TEAM) \
            and rule.team_id is None:
        raise SlaError(_("Choose the team."), code="required", field="team")


def _rule_snapshot(rule):
    return {"name": rule.name, "trigger": rule.trigger, "metric": rule.metric,
            "priority": rule.priority, "action": rule.action, "user_id": rule.user_id,
            "team_id": rule.team_id, "is_active": rule.is_active}


def rule_create(*, organization, actor, now=None, **fields):
    for required in ("name", "trigger", "action"):
        fields.setdefault(required, "")
    cleaned = _clean_rule(organization, fields)
    rule = EscalationRule(organization=organization, created_at=now or timezone.now(), **cleaned)
    _check_rule(rule)
    with transaction.atomic():
        _save(rule, message=_("An escalation rule with this name already exists."))
        audit_record(actor=actor, organization=organization,
                     action="service.escalation_rule.created", obj=rule,
                     after=_rule_snapshot(rule))
    return rule


def rule_update(*, rule, actor, version=None, **changes):
    cleaned = _clean_rule(rule.organization, changes)
    with transaction.atomic():
        locked = _lock(EscalationRule, rule, version)
        before = _rule_snapshot(locked)
        for name, value in cleaned.items():
            setattr(locked, name, value)
        _check_rule(locked)
        locked.version += 1
        _save(locked, message=_("An escalation rule with this name already exists."))
        audit_record(actor=actor, organization=locked.organization,
                     action="service.escalation_rule.updated", obj=locked, before=before,
                     after=_rule_snapshot(locked))
    return locked


def rule_delete(*, rule, actor):
    """Delete a rule that never fired; one that fired is deactivated instead (its firings are
    history)."""
    with transaction.atomic():
        locked = _lock(EscalationRule, rule)
        audit_record(actor=actor, organization=locked.organization,
                     action="service.escalation_rule.deleted", obj=locked,
                     before=_rule_snapshot(locked))
        if locked.firings.exists():
            locked.is_active = False
            locked.version += 1
            locked.save()
            return locked
        locked.delete()
    return None
