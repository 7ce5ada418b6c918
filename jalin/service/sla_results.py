"""SLA results and attainment reports.

A clock counts in the month (in the organization's time zone) in which it was decided:

- achieved: stopped (response sent, case resolved/closed) without passing its target — in the
  month it stopped;
- breached: passed its target — in the month it breached (`breached_at`), whether the case is
  still open or not.

Running clocks that have not breached yet and cancelled clocks (merged duplicates, a target
removed) count nowhere. Attainment % = achieved ÷ total × 100; met when ≥ the required %
(the agreement's `required_attainment_percent`, for cases under no agreement the default
policy's, 95 % when there is none).

`sla_results_record` freezes a closed month into `SlaResult` rows per agreement × metric ×
priority: recording again never changes them, so later reports show what was recorded.
The open month (and any month not frozen) is computed the same way, live.
"""

import datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.db.models import Case as Conditional
from django.db.models import Count, Q, When
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _

from jalin.tenancy.models import Organization

from .calendars import SlaError
from .models import (
    Agreement,
    SlaClock,
    SlaClockState,
    SlaPolicy,
    SlaResult,
)

DEFAULT_REQUIRED = Decimal("95")
HUNDRED = Decimal("100")
GROUPS = ("agreement", "account", "service", "team", "period")


def month_start(value):
    """The first day of the month of `value` (a date or "YYYY-MM")."""
    if isinstance(value, str):
        try:
            year, month = value.strip().split("-")[:2]
            return datetime.date(int(year), int(month), 1)
        except (ValueError, TypeError) as exc:
            raise SlaError(_("Enter a month as YYYY-MM."), field="period") from exc
    if isinstance(value, datetime.datetime):
        value = value.date()
    return value.replace(day=1)


def next_month(period):
    return (period.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)


def month_bounds(period, zone):
    start = datetime.datetime.combine(period, datetime.time(), tzinfo=zone)
    end = datetime.datetime.combine(next_month(period), datetime.time(), tzinfo=zone)
    return start, end


def _zone(organization):
    return ZoneInfo(organization.time_zone or "Asia/Jakarta")


def attainment(achieved, total):
    if not total:
        return None
    return (Decimal(achieved) * HUNDRED / Decimal(total)).quantize(Decimal("0.01"),
                                                                   ROUND_HALF_UP)


def is_met(percent, required):
    return None if percent is None else percent >= required


def default_required(organization):
    policy = SlaPolicy.objects.filter(organization=organization, is_default=True).first()
    return policy.required_attainment_percent if policy else DEFAULT_REQUIRED


def decided_clocks(organization, start, end):
    """Clocks of `organization` decided in [start, end)."""
    return (SlaClock.objects.filter(case__organization=organization)
            .exclude(state=SlaClockState.CANCELLED)
            .filter(Q(breached_at__gte=start, breached_at__lt=end)
                    | Q(breached_at__isnull=True, state=SlaClockState.ACHIEVED,
                        stopped_at__gte=start, stopped_at__lt=end)))


def _required_by_agreement(organization, agreement_ids):
    found = dict(Agreement.objects.filter(organization=organization, pk__in=agreement_ids)
                 .values_list("pk", "required_attainment_percent"))
    return found


def sla_results_compute(*, organization, period):
    """Result rows (dicts) of one month, computed from the clocks now."""
    period = month_start(period)
    start, end = month_bounds(period, _zone(organization))
    groups = (decided_clocks(organization, start, end)
              .values("agreement_id", "metric", "priority", "case__priority")
              .annotate(total=Count("id"), breached=Count("id", filter=Q(
                  breached_at__isnull=False))))
    merged = {}
    for row in groups:
        key = (row["agreement_id"], row["metric"], row["priority"] or row["case__priority"])
        total, breached = merged.get(key, (0, 0))
        merged[key] = (total + row["total"], breached + row["breached"])
    required = _required_by_agreement(organization, {k[0] for k in merged if k[0]})
    fallback = default_required(organization)
    rows = []
    for (agreement_id, metric, priority), (total, breached) in sorted(
            merged.items(), key=lambda item: (item[0][0] or 0, item[0][1], item[0][2])):
        needed = required.get(agreement_id, fallback) if agreement_id else fallback
        percent = attainment(total - breached, total)
        rows.append({"agreement_id": agreement_id, "agreement_key": agreement_id or 0,
                     "metric": metric, "priority": priority, "period": period,
                     "total": total, "achieved": total - breached, "breached": breached,
                     "attainment_percent": percent, "required_percent": needed,
                     "met": is_met(percent, needed)})
    return rows


def period_is_closed(organization, period, now=None):
    _start, end = month_bounds(month_start(period), _zone(organization))
    return end <= (now or timezone.now())


def sla_results_record(*, organization, period, now=None):
    """Freeze the results of a closed month. Idempotent: rows already recorded are kept as
    they are (even if clocks changed since). Returns the month's rows."""
    now = now or timezone.now()
    period = month_start(period)
    if not period_is_closed(organization, period, now):
        raise SlaError(_("Only a month that is over can be recorded."), code="open_period",
                       field="period")
    accounts = {}
    rows = sla_results_compute(organization=organization, period=period)
    agreement_ids = {row["agreement_id"] for row in rows if row["agreement_id"]}
    if agreement_ids:
        accounts = dict(Agreement.objects.filter(pk__in=agreement_ids)
                        .values_list("pk", "account_id"))
    for row in rows:
        fields = {name: row[name] for name in ("total", "achieved", "breached",
                                               "attainment_percent", "required_percent", "met")}
        try:
            with transaction.atomic():
                SlaResult.objects.get_or_create(
                    organization=organization, agreement_key=row["agreement_key"],
                    metric=row["metric"], priority=row["priority"], period=period,
                    defaults={**fields, "agreement_id": row["agreement_id"],
                              "account_id": accounts.get(row["agreement_id"]),
                              "frozen_at": now})
        except IntegrityError:  # recorded at the same time by another worker
            pass
    return list(SlaResult.objects.filter(organization=organization, period=period))


def sla_results_freeze_due(*, now=None):
    """Worker job: record last month for every organization with decided clocks in it and no
    recorded results yet."""
    now = now or timezone.now()
    recorded = 0
    # Clocks decided in the last 62 days (the rule of decided_clocks, so the two partial
    # indexes of service.0007 find them without reading every clock).
    since = now - datetime.timedelta(days=62)
    org_ids = set(SlaClock.objects.filter(
        Q(breached_at__gte=since)
        | Q(breached_at__isnull=True, state=SlaClockState.ACHIEVED, stopped_at__gte=since),
    ).values_list("case__organization_id", flat=True).distinct())
    for organization in Organization.objects.filter(pk__in=org_ids):
        period = month_start(timezone.localtime(now, _zone(organization)).date())
        previous = month_start(period - datetime.timedelta(days=1))
        if SlaResult.objects.filter(organization=organization, period=previous).exists():
            continue
        if sla_results_record(organization=organization, period=previous, now=now):
            recorded += 1
    return {"organizations_recorded": recorded} if recorded else None


# --- Reports ------------------------------------------------------------------------------


def _months(first, last):
    months = []
    current = first
    while current <= last and len(months) < 120:
        months.append(current)
        current = next_month(current)
    return months


DIMENSION = {"agreement": "agreement_id", "account": "case__account_id",
             "service": "case__service_id", "team": "case__team_id"}


def _labels(organization, group_by, keys):
    from jalin.crm.models import Account

    from .models import Service, Team

    keys = [k for k in keys if k]
    if group_by == "agreement":
        return {a.pk: str(a) for a in Agreement.objects.filter(organization=organization,
                                                               pk__in=keys)}
    model = {"account": Account, "service": Service, "team": Team}.get(group_by)
    if model is None:
        return {}
    return dict(model.objects.filter(organization=organization, pk__in=keys)
                .values_list("pk", "name"))


def sla_report(*, organization, group_by="account", first=None, last=None, metric="",
               priority="", account=None, service=None, team=None, now=None):
    """Attainment rows per group (agreement, account, service, team; "period" totals per
    month) and month between `first` and `last` (months, default: this one).

    Months that were recorded are read from `SlaResult` when grouping by agreement or period
    without account/service/team filters (those are what the frozen rows are keyed by); every
    other view is computed from the clocks the same way the results are."""
    if group_by not in GROUPS:
        raise SlaError(_("Unknown grouping."), field="group_by")
    now = now or timezone.now()
    zone = _zone(organization)
    this_month = month_start(timezone.localtime(now, zone).date())
    first = month_start(first) if first else this_month
    last = month_start(last) if last else first
    if last < first:
        raise SlaError(_("The last month must not be before the first."), field="last")
    months = _months(first, last)
    start, _ignored = month_bounds(months[0], zone)
    _ignored, end = month_bounds(months[-1], zone)
    frozen_ok = group_by in ("agreement", "period") and not (account or service or team)
    frozen_periods = set()
    cells = {}  # (key, period) -> [total, breached, required or None]
    if frozen_ok:
        results = SlaResult.objects.filter(organization=organization, period__in=months)
        if metric:
            results = results.filter(metric=metric)
        if priority:
            results = results.filter(priority=priority)
        frozen_periods = set(SlaResult.objects.filter(organization=organization,
                                                      period__in=months)
                             .values_list("period", flat=True))
        for result in results:
            key = result.agreement_id if group_by == "agreement" else None
            cell = cells.setdefault((key, result.period), [0, 0, None])
            cell[0] += result.total
            cell[1] += result.breached
            if group_by == "agreement":
                cell[2] = result.required_percent
    clocks = decided_clocks(organization, start, end)
    if metric:
        clocks = clocks.filter(metric=metric)
    if priority:
        clocks = clocks.filter(Q(priority=priority) | Q(priority="", case__priority=priority))
    for name, value in (("case__account", account), ("case__service", service),
                        ("case__team", team)):
        if value is not None:
            clocks = clocks.filter(**{name: value})
    decided = Conditional(When(breached_at__isnull=False, then="breached_at"), default="stopped_at")
    field = DIMENSION.get(group_by)
    values = ["month"] + ([field] if field else [])
    grouped = (clocks.annotate(month=TruncMonth(decided, tzinfo=zone)).values(*values)
               .annotate(total=Count("id"),
                         breached=Count("id", filter=Q(breached_at__isnull=False)))
               .order_by(*values))
    for row in grouped:
        month = row["month"]
        period = month_start(month.astimezone(zone).date() if isinstance(
            month, datetime.datetime) else month)
        if period in frozen_periods:
            continue
        key = row[field] if field else None
        cell = cells.setdefault((key, period), [0, 0, None])
        cell[0] += row["total"]
        cell[1] += row["breached"]
    labels = _labels(organization, group_by, {key for key, _p in cells})
    required = _required_by_agreement(organization, {k for k, _p in cells if k}) \
        if group_by == "agreement" else {}
    fallback = default_required(organization)
    rows = []
    for (key, period), (total, breached, frozen_required) in cells.items():
        needed = frozen_required or required.get(key) or fallback
        percent = attainment(total - breached, total)
        if group_by == "period":
            label = period.strftime("%Y-%m")
        elif key is None:
            label = _("Default policy") if group_by == "agreement" else _("(none)")
        else:
            label = labels.get(key, str(key))
        rows.append({"key": key, "label": label, "period": period,
                     "frozen": period in frozen_periods, "total": total,
                     "achieved": total - breached, "breached": breached,
                     "attainment_percent": percent, "required_percent": needed,
                     "met": is_met(percent, needed)})
    rows.sort(key=lambda r: (r["period"], str(r["label"]).lower()))
    return {"group_by": group_by, "first": first, "last": last, "months": months,
            "rows": rows}
