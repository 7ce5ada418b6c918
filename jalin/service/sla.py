"""SLA clocks of cases: the hooks the service desk calls inside its own transactions, and the
worker job that raises warnings, breaches and escalations exactly once.

The hooks (`sla_start`, `sla_on_first_response`, `sla_on_status_change`, `sla_retarget`) run
inside the caller's transaction with the case row locked, take `now` (tests freeze time) and
never commit on their own.

Rules of a clock (one per case and metric: first response, resolution):

- Time counts in the business seconds of the policy's calendar (`business_hours`).
  `elapsed_seconds` is what had elapsed when the current segment began
  (`segment_started_at`); while running, the business time since then is added.
- While the case waits on the customer the clock is paused: that business time goes to
  `paused_seconds` and never counts. Leaving "waiting" resumes it.
- Resolve or close stops both clocks (met, or breached when the target was passed); a merge
  cancels them (a duplicate counts in no result). Reopening a resolved case restarts the
  resolution clock with the time already elapsed.
- A new priority, service or agreement (`sla_retarget`) takes the new target and keeps the
  elapsed and paused time; a clock that was already breached stays breached.
- Warning at the policy's `warn_at_percent` (75 % by default), breach at 100 %. The worker
  (`sla_clocks_check`) sets `warned_at` / `breached_at` by a conditional UPDATE
  (... WHERE warned_at IS NULL) in the transaction that also writes the event, the case
  history, the notifications and the escalations: it happens once, with any number of
  workers, and a worker that dies midway leaves it to the next run.
"""

import logging
import math

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from jalin.core.events import emit_event
from jalin.core.notifications import notify

from . import business_hours
from .models import (
    Agreement,
    AgreementStatus,
    Case,
    CaseEvent,
    CasePriority,
    CaseStatus,
    EscalationAction,
    EscalationRule,
    EscalationTrigger,
    SlaClock,
    SlaClockState,
    SlaEscalation,
    SlaMetric,
    SlaPolicy,
)

logger = logging.getLogger("jalin.service.sla")

STOPPED = (SlaClockState.ACHIEVED, SlaClockState.BREACHED, SlaClockState.CANCELLED)
ACTIVE = (SlaClockState.RUNNING, SlaClockState.PAUSED)
PRIORITY_UP = {CasePriority.LOW: CasePriority.NORMAL, CasePriority.NORMAL: CasePriority.HIGH,
               CasePriority.HIGH: CasePriority.CRITICAL}
BATCH = 500


def _now(now):
    return now or timezone.now()


def _spec(calendar, cache=None):
    from .calendars import calendar_spec

    return calendar_spec(calendar, cache=cache)


# --- Which policy applies ------------------------------------------------------------------


def _usable_agreements(case, today):
    if not case.account_id:
        return Agreement.objects.none()
    return (Agreement.objects.filter(
        organization_id=case.organization_id, account_id=case.account_id,
        status=AgreementStatus.ACTIVE, sla_policy__isnull=False,
        sla_policy__archived_at__isnull=True)
        .filter(Q(starts_on__isnull=True) | Q(starts_on__lte=today))
        .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=today))
        .select_related("sla_policy__calendar"))


def _covers(agreement, service_ids, service_id):
    """An agreement covers a service it names, and every service when it names none."""
    return not service_ids or service_id in service_ids


def sla_policy_for(*, case, now=None):
    """(policy, agreement) that applies to `case`: the customer's active agreement covering
    the case (its service, if any) with an SLA policy, else the organization's default policy
    and no agreement. (None, None) when the organization has no policy at all.

    An agreement the case already names is kept while it still applies; otherwise an
    agreement naming the case's service wins over one covering all services (for a case
    without a service, one covering all services wins), then the newest."""
    today = timezone.localdate(now) if now else timezone.localdate()
    candidates = []
    for agreement in _usable_agreements(case, today).prefetch_related("services"):
        service_ids = {s.pk for s in agreement.services.all()}
        if case.service_id is None or _covers(agreement, service_ids, case.service_id):
            # With a service: the agreement naming it first; without: one covering all.
            specific = (case.service_id in service_ids if case.service_id is not None
                        else not service_ids)
            candidates.append((agreement.pk == case.agreement_id, specific, agreement.number,
                               agreement))
    if candidates:
        candidates.sort(key=lambda c: c[:3], reverse=True)
        agreement = candidates[0][3]
        return agreement.sla_policy, agreement
    policy = (SlaPolicy.objects.filter(organization_id=case.organization_id, is_default=True,
                                       archived_at__isnull=True)
              .select_related("calendar").first())
    return policy, None


# --- Clock arithmetic ----------------------------------------------------------------------


def close_segment(clock, spec, now):
    """Fold the business time since `segment_started_at` into elapsed (running) or paused
    (paused) time and start a new segment at `now`."""
    if clock.segment_started_at is None:
        return
    counted = business_hours.business_seconds_between(spec, clock.segment_started_at, now)
    if clock.state == SlaClockState.RUNNING:
        clock.elapsed_seconds += counted
    elif clock.state == SlaClockState.PAUSED:
        clock.paused_seconds += counted
    clock.segment_started_at = max(now, clock.segment_started_at)


def warn_seconds(clock, policy=None):
    percent = (policy or clock.policy).warn_at_percent if (policy or clock.policy) else 75
    return math.ceil(clock.target_seconds * percent / 100)


def schedule(clock, spec, policy=None):
    """Due and warning times of a running clock from its segment start; none while paused
    or stopped (the countdown stands still)."""
    if clock.state != SlaClockState.RUNNING or clock.segment_started_at is None:
        if clock.state == SlaClockState.PAUSED:
            clock.due_at = clock.warn_at = None
        return

    def at(seconds):
        left = seconds - clock.elapsed_seconds
        if left <= 0:
            return clock.segment_started_at
        return business_hours.add_business_seconds(spec, clock.segment_started_at, left)

    clock.due_at = at(clock.target_seconds)
    clock.warn_at = at(warn_seconds(clock, policy))


def clock_elapsed(clock, *, now=None, spec=None):
    """Business seconds counted so far (including the running segment)."""
    elapsed = clock.elapsed_seconds
    if clock.state == SlaClockState.RUNNING and clock.segment_started_at:
        spec = spec or _spec(clock.calendar)
        elapsed += business_hours.business_seconds_between(spec, clock.segment_started_at,
                                                           _now(now))
    return elapsed


def clock_percent(clock, *, now=None, spec=None):
    if not clock.target_seconds:
        return 0
    return round(clock_elapsed(clock, now=now, spec=spec) * 100 / clock.target_seconds)


def _record(case, action, *, note="", from_value="", to_value="", now=None, actor=None):
    CaseEvent.objects.create(case=case, action=action, note=note, from_value=from_value[:200],
                             to_value=to_value[:200], created_at=_now(now), actor=actor)


def _clock_payload(clock, case):
    return {"case_id": case.pk, "case_number": case.number, "clock_id": clock.pk,
            "metric": clock.metric, "priority": clock.priority or case.priority,
            "agreement_id": clock.agreement_id, "policy_id": clock.policy_id,
            "target_seconds": clock.target_seconds,
            "due_at": clock.due_at.isoformat() if clock.due_at else None}


def _stop(clock, case, now, *, cancel=False, spec=None):
    spec = spec or _spec(clock.calendar)
    close_segment(clock, spec, now)
    clock.segment_started_at = None
    clock.stopped_at = now
    if cancel:
        clock.state = SlaClockState.CANCELLED
        clock.save()
        return
    newly_breached = clock.breached_at is None and clock.elapsed_seconds > clock.target_seconds
    if newly_breached:
        # Passed the target before the worker noticed: breached when it fell due.
        clock.breached_at = min(clock.due_at or now, now)
    clock.state = SlaClockState.BREACHED if clock.breached_at else SlaClockState.ACHIEVED
    clock.save()
    if newly_breached:
        _record(case, "sla_breached", to_value=clock.metric, now=now)
        emit_event(type="service.sla.breached", organization=case.organization,
                   aggregate=case, payload=_clock_payload(clock, case))


def _start_clock(case, metric, policy, agreement, minutes, now, *, started_at=None,
                 spec_cache=None):
    spec = _spec(policy.calendar, spec_cache)
    started_at = started_at or now
    clock = SlaClock(case=case, metric=metric, policy=policy, agreement=agreement,
                     calendar=policy.calendar, target_seconds=minutes * 60,
                     priority=case.priority, state=SlaClockState.RUNNING,
                     started_at=started_at, segment_started_at=started_at)
    if started_at < now:  # counted from when the case opened (see sla_retarget)
        close_segment(clock, spec, now)
    schedule(clock, spec, policy)
    clock.save()
    return clock


def _targets(policy):
    if policy is None:
        return {}
    return {(t.priority, t.metric): t.minutes for t in policy.targets.all()}


def _set_case_sla(case, policy, agreement):
    if case.sla_policy_id != getattr(policy, "pk", None) or \
            case.agreement_id != getattr(agreement, "pk", None):
        case.sla_policy = policy
        case.agreement = agreement
        Case.objects.filter(pk=case.pk).update(sla_policy=policy, agreement=agreement)


# --- Hooks ---------------------------------------------------------------------------------


def sla_start(*, case, now=None):
    """Create the case's clocks (first response, resolution) from the policy that applies.
    An organization without any policy gets the default one first (calendars module)."""
    from .calendars import ensure_default_policy

    now = _now(now)
    policy, agreement = sla_policy_for(case=case, now=now)
    if policy is None:
        policy = ensure_default_policy(organization=case.organization, now=now)
    _set_case_sla(case, policy, agreement)
    targets = _targets(policy)
    cache = {}
    for metric in SlaMetric.values:
        if SlaClock.objects.filter(case=case, metric=metric).exists():
            continue
        minutes = targets.get((case.priority, metric))
        if minutes:
            _start_clock(case, metric, policy, agreement, minutes, now, spec_cache=cache)


def _clocks(case, **filters):
    return list(SlaClock.objects.select_for_update(of=("self",)).filter(case=case, **filters)
                .select_related("calendar", "policy"))


def sla_on_first_response(*, case, now=None):
    """The first public staff reply: stop the first-response clock (met or breached)."""
    now = _now(now)
    for clock in _clocks(case, metric=SlaMetric.FIRST_RESPONSE, state__in=ACTIVE):
        _stop(clock, case, now)


def sla_on_status_change(*, case, old_status, now=None):
    """Pause clocks when the case waits on the customer, resume when it leaves waiting, stop
    both clocks on resolve/close, cancel them on merge, restart the resolution clock when a
    resolved case reopens."""
    now = _now(now)
    new_status = case.status
    if new_status == old_status:
        return
    cache = {}
    if new_status == CaseStatus.MERGED:
        for clock in _clocks(case, state__in=ACTIVE):
            _stop(clock, case, now, cancel=True)
    elif new_status in (CaseStatus.RESOLVED, CaseStatus.CLOSED):
        for clock in _clocks(case, state__in=ACTIVE):
            _stop(clock, case, now, spec=_spec(clock.calendar, cache))
    elif new_status == CaseStatus.WAITING:
        for clock in _clocks(case, state=SlaClockState.RUNNING):
            close_segment(clock, _spec(clock.calendar, cache), now)
            clock.state = SlaClockState.PAUSED
            schedule(clock, None)
            clock.save()
    elif new_status in (CaseStatus.NEW, CaseStatus.OPEN):
        for clock in _clocks(case, state=SlaClockState.PAUSED):
            close_segment(clock, _spec(clock.calendar, cache), now)
            clock.state = SlaClockState.RUNNING
            schedule(clock, _spec(clock.calendar, cache))
            clock.save()
        if old_status in (CaseStatus.RESOLVED, CaseStatus.CLOSED):
            for clock in _clocks(case, metric=SlaMetric.RESOLUTION,
                                 state__in=(SlaClockState.ACHIEVED, SlaClockState.BREACHED)):
                clock.state = SlaClockState.RUNNING
                clock.stopped_at = None
                clock.segment_started_at = now
                schedule(clock, _spec(clock.calendar, cache))
                clock.save()
                _record(case, "sla_restarted", to_value=clock.metric, now=now)


def sla_retarget(*, case, now=None):
    """The case's priority, service or agreement changed: apply the new targets, keeping the
    business time already elapsed and already paused (and a breach already recorded).

    A metric the new policy has no target for is cancelled; a metric that had no clock and
    now has a target (the case had no SLA) starts counting from when the case was opened."""
    now = _now(now)
    policy, agreement = sla_policy_for(case=case, now=now)
    _set_case_sla(case, policy, agreement)
    targets = _targets(policy)
    existing = {clock.metric: clock for clock in _clocks(case)}
    cache = {}
    for metric in SlaMetric.values:
        clock = existing.get(metric)
        minutes = targets.get((case.priority, metric))
        if clock is None:
            still_due = (case.is_open and (metric == SlaMetric.RESOLUTION
                                           or case.first_responded_at is None))
            if minutes and still_due:
                started = min(case.created_at or now, now)
                new = _start_clock(case, metric, policy, agreement, minutes, now,
                                   started_at=started, spec_cache=cache)
                if case.status == CaseStatus.WAITING:
                    new.state = SlaClockState.PAUSED
                    schedule(new, None)
                    new.save()
            continue
        if clock.state in STOPPED:
            continue
        if not minutes:
            _stop(clock, case, now, cancel=True, spec=_spec(clock.calendar, cache))
            continue
        before = (clock.target_seconds, clock.calendar_id)
        close_segment(clock, _spec(clock.calendar, cache), now)
        clock.policy, clock.agreement = policy, agreement
        clock.calendar = policy.calendar
        clock.target_seconds = minutes * 60
        clock.priority = case.priority
        schedule(clock, _spec(clock.calendar, cache), policy)
        clock.save()
        if before != (clock.target_seconds, clock.calendar_id):
            _record(case, "sla_retargeted", from_value=str(before[0] // 60),
                    to_value=str(minutes), note=clock.metric, now=now)


# --- The worker job ------------------------------------------------------------------------


def _case_url(case):
    try:
        return reverse("service:case_detail", args=[case.pk])
    except NoReverseMatch:
        return ""


def _notify_many(case, users, *, kind, title, key, body=""):
    sent = 0
    seen = set()
    for user in users:
        if user is None or user.pk in seen:
            continue
        seen.add(user.pk)
        if notify(organization=case.organization, user=user, kind=kind, title=title,
                  key=key, body=body, url=_case_url(case)):
            sent += 1
    return sent


def _people_responsible(case):
    if case.assignee_id:
        return [case.assignee]
    if case.team_id:
        return list(case.team.members.filter(is_active=True))
    return []


def _change_case(case, now, **changes):
    """Apply an escalation's change through the desk's service (history, audit, event, and
    the SLA retarget a priority change needs), as the system (no actor)."""
    from .cases import case_update  # cases imports this module

    return case_update(case=case, actor=None, now=now, **changes)


def _escalate(clock, case, trigger, now):
    rules = EscalationRule.objects.filter(
        organization_id=case.organization_id, trigger=trigger, is_active=True,
    ).filter(Q(metric="") | Q(metric=clock.metric)).filter(
        Q(priority="") | Q(priority=clock.priority or case.priority),
    ).select_related("user", "team").order_by("id")
    fired = 0
    for rule in rules:
        try:
            with transaction.atomic():
                firing = SlaEscalation.objects.create(clock=clock, rule=rule, fired_at=now)
        except IntegrityError:
            continue  # this rule already fired on this clock
        outcome = ""
        title = _("Case #%(number)s escalated: %(subject)s") % {
            "number": case.number, "subject": case.subject}
        key = f"sla:escalation:{rule.pk}:{clock.pk}"
        if rule.action == EscalationAction.NOTIFY_USER and rule.user:
            _notify_many(case, [rule.user], kind="sla_escalation", title=title, key=key)
            outcome = f"notified user {rule.user_id}"
        elif rule.action == EscalationAction.NOTIFY_TEAM and rule.team:
            count = _notify_many(case, rule.team.members.filter(is_active=True),
                                 kind="sla_escalation", title=title, key=key)
            outcome = f"notified {count} of team {rule.team_id}"
        elif rule.action == EscalationAction.REASSIGN_TEAM and rule.team:
            if case.team_id != rule.team_id:
                case = _change_case(case, now, team=rule.team, assignee=None)
            outcome = f"reassigned to team {rule.team_id}"
        elif rule.action == EscalationAction.RAISE_PRIORITY:
            higher = PRIORITY_UP.get(case.priority)
            if higher and case.is_open:
                old = case.priority
                case = _change_case(case, now, priority=higher)
                outcome = f"priority {old} → {higher}"
            else:
                outcome = "priority already highest"
        firing.outcome = outcome[:200]
        firing.save(update_fields=["outcome"])
        _record(case, "escalated", note=f"{rule.name}: {outcome}", to_value=rule.action,
                now=now)
        emit_event(type="service.sla.escalated", organization=case.organization,
                   aggregate=case, payload={**_clock_payload(clock, case), "rule_id": rule.pk,
                                            "trigger": trigger, "action": rule.action,
                                            "outcome": outcome})
        fired += 1
    return fired


def _fire(clock_id, case_id, *, kind, now):
    """Mark one clock warned/breached exactly once and do what follows; True when this call
    did it. The case row is locked first (the order the case services lock in), then the
    conditional UPDATE decides who fires."""
    with transaction.atomic():
        case = (Case.objects.select_for_update(of=("self",))
                .select_related("organization", "assignee", "team")
                .filter(pk=case_id).first())
        if case is None:
            return False
        running = SlaClock.objects.filter(pk=clock_id, state=SlaClockState.RUNNING)
        if kind == "warning":
            done = running.filter(warned_at__isnull=True, warn_at__lte=now).update(warned_at=now)
        else:
            done = running.filter(breached_at__isnull=True, due_at__lte=now).update(
                breached_at=F("due_at"))
        if done != 1:
            return False
        clock = SlaClock.objects.select_related("policy").get(pk=clock_id)
        metric_label = SlaMetric(clock.metric).label
        if kind == "warning":
            _record(case, "sla_warning", to_value=clock.metric, now=now)
            emit_event(type="service.sla.warning", organization=case.organization,
                       aggregate=case, payload=_clock_payload(clock, case))
            title = _("Case #%(number)s: %(metric)s due soon") % {
                "number": case.number, "metric": metric_label}
            trigger = EscalationTrigger.WARNING
        else:
            _record(case, "sla_breached", to_value=clock.metric, now=now)
            emit_event(type="service.sla.breached", organization=case.organization,
                       aggregate=case, payload=_clock_payload(clock, case))
            title = _("Case #%(number)s: %(metric)s target breached") % {
                "number": case.number, "metric": metric_label}
            trigger = EscalationTrigger.BREACH
        _notify_many(case, _people_responsible(case), kind=f"sla_{kind}", title=title,
                     key=f"sla:{kind}:{clock.pk}", body=case.subject)
        _escalate(clock, case, trigger, now)
    return True


def sla_clocks_check(*, now=None):
    """Worker job: warn running clocks whose warning time has come and breach those whose due
    time has passed, each exactly once. Returns counts (None when there was nothing to do)."""
    now = _now(now)
    counts = {"warned": 0, "breached": 0}
    for kind, filters in (
        ("warning", {"warned_at__isnull": True, "warn_at__lte": now}),
        ("breach", {"breached_at__isnull": True, "due_at__lte": now}),
    ):
        due = list(SlaClock.objects.filter(state=SlaClockState.RUNNING, **filters)
                   .order_by("due_at" if kind == "breach" else "warn_at", "pk")
                   .values_list("pk", "case_id")[:BATCH])
        for clock_id, case_id in due:
            try:
                if _fire(clock_id, case_id, kind=kind, now=now):
                    counts["warned" if kind == "warning" else "breached"] += 1
            except Exception:  # one broken case must not stop the others
                logger.exception("SLA %s of clock %s failed", kind, clock_id)
    return counts if any(counts.values()) else None
