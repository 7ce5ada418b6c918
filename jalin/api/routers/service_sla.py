"""SLA settings and reports: business-hours calendars with holidays, SLA policies with their
targets (business minutes per priority × metric), escalation rules, SLA results and the
attainment report.

Members with `service.view` read; organization admins (`org.manage`) write. Another
organization's record is 404. PATCH needs the `version` you read (409 if it moved on).
"""

import datetime
from decimal import Decimal

from ninja import Field, Query, Router, Schema, Status

from jalin.crm.models import Account
from jalin.service import calendars, sla_results
from jalin.service.models import (
    BusinessCalendar,
    EscalationRule,
    Holiday,
    Service,
    SlaPolicy,
    SlaResult,
    Team,
)
from jalin.tenancy.access import for_org, get_for_org_or_404
from jalin.tenancy.roles import ORG_MANAGE, SERVICE_VIEW

from ..auth import require
from ..idempotency import idempotent
from ..pagination import Page, PageParams, paginate
from ..schemas import MAX_INT, Input

router = Router(tags=["service SLA"])

WeeklyHours = dict[str, list[list[str]]]
HOURS_HELP = ('ISO weekday ("1" = Monday … "7" = Sunday) → list of ["HH:MM", "HH:MM"] '
              'windows in the calendar\'s time zone; "24:00" may end a window; no overnight '
              "windows, no overlaps")


# --- Calendars -----------------------------------------------------------------------------


class CalendarOut(Schema):
    id: int
    name: str
    time_zone: str
    country: str
    weekly_hours: dict
    always_open: bool
    is_default: bool
    created_at: datetime.datetime
    version: int


class CalendarIn(Input):
    name: str = Field(min_length=1, max_length=100)
    time_zone: str | None = Field(None, max_length=64,
                                  description="IANA zone; default: your organization's")
    country: str | None = Field(None, max_length=2,
                                description="Public holidays of this country (ISO 3166); "
                                            "default: your organization's; empty for none")
    weekly_hours: WeeklyHours | None = Field(None, description=HOURS_HELP +
                                             "; default Monday–Friday 08:00–17:00")
    always_open: bool = False
    is_default: bool = False
    load_holidays: bool = Field(True, description="Preload this year's and next year's "
                                                  "public holidays")


class CalendarPatchIn(Input):
    version: int = Field(ge=1, le=MAX_INT)
    name: str | None = Field(None, max_length=100)
    time_zone: str | None = Field(None, max_length=64)
    country: str | None = Field(None, max_length=2)
    weekly_hours: WeeklyHours | None = Field(None, description=HOURS_HELP)
    always_open: bool | None = None
    is_default: bool | None = None


class HolidayOut(Schema):
    id: int
    date: datetime.date
    name: str
    preloaded: bool


class HolidayIn(Input):
    date: datetime.date
    name: str = Field(min_length=1, max_length=120)


class HolidayFilters(PageParams):
    year: int | None = Field(None, ge=1900, le=2200)


class LoadHolidaysIn(Input):
    years: list[int] = Field(min_length=1, max_length=5)


class LoadedOut(Schema):
    added: int


def _patch(payload):
    changes = payload.model_dump(exclude_unset=True)
    return changes.pop("version"), {k: v for k, v in changes.items() if v is not None}


@router.get("/service/calendars", response=Page[CalendarOut])
def calendar_list(request, filters: Query[PageParams]):
    membership = require(request, SERVICE_VIEW)
    return paginate(for_org(BusinessCalendar, membership.organization),
                    cursor=filters.cursor, limit=filters.limit, order=("id",))


@router.post("/service/calendars", response={201: CalendarOut})
@idempotent
def calendar_create(request, payload: CalendarIn):
    membership = require(request, ORG_MANAGE)
    calendar = calendars.calendar_create(organization=membership.organization,
                                         actor=request.user, **payload.model_dump())
    return Status(201, calendar)


@router.get("/service/calendars/{calendar_id}", response=CalendarOut)
def calendar_get(request, calendar_id: int):
    membership = require(request, SERVICE_VIEW)
    return get_for_org_or_404(BusinessCalendar, membership.organization, pk=calendar_id)


@router.patch("/service/calendars/{calendar_id}", response=CalendarOut)
@idempotent
def calendar_patch(request, calendar_id: int, payload: CalendarPatchIn):
    """Change a calendar; running clocks in it keep the time counted so far and get new due
    times."""
    membership = require(request, ORG_MANAGE)
    calendar = get_for_org_or_404(BusinessCalendar, membership.organization, pk=calendar_id)
    version, changes = _patch(payload)
    return calendars.calendar_update(calendar=calendar, actor=request.user, version=version,
                                     **changes)


@router.delete("/service/calendars/{calendar_id}", response={204: None})
def calendar_delete(request, calendar_id: int):
    """Delete a calendar that no policy and no case clock uses (422 otherwise)."""
    membership = require(request, ORG_MANAGE)
    calendar = get_for_org_or_404(BusinessCalendar, membership.organization, pk=calendar_id)
    calendars.calendar_delete(calendar=calendar, actor=request.user)
    return Status(204, None)


@router.get("/service/calendars/{calendar_id}/holidays", response=Page[HolidayOut])
def holiday_list(request, calendar_id: int, filters: Query[HolidayFilters]):
    membership = require(request, SERVICE_VIEW)
    calendar = get_for_org_or_404(BusinessCalendar, membership.organization, pk=calendar_id)
    queryset = Holiday.objects.filter(calendar=calendar)
    if filters.year:
        queryset = queryset.filter(date__year=filters.year)
    return paginate(queryset, cursor=filters.cursor, limit=filters.limit, order=("date", "id"))


@router.post("/service/calendars/{calendar_id}/holidays", response={201: HolidayOut})
@idempotent
def holiday_add(request, calendar_id: int, payload: HolidayIn):
    membership = require(request, ORG_MANAGE)
    calendar = get_for_org_or_404(BusinessCalendar, membership.organization, pk=calendar_id)
    holiday = calendars.holiday_add(calendar=calendar, actor=request.user, date=payload.date,
                                    name=payload.name)
    return Status(201, holiday)


@router.delete("/service/calendars/{calendar_id}/holidays/{holiday_id}", response={204: None})
def holiday_remove(request, calendar_id: int, holiday_id: int):
    membership = require(request, ORG_MANAGE)
    calendar = get_for_org_or_404(BusinessCalendar, membership.organization, pk=calendar_id)
    holiday = get_for_org_or_404(Holiday.objects.filter(calendar=calendar),
                                 membership.organization, pk=holiday_id)
    calendars.holiday_remove(holiday=holiday, actor=request.user)
    return Status(204, None)


@router.post("/service/calendars/{calendar_id}/public-holidays", response=LoadedOut)
@idempotent
def holiday_load(request, calendar_id: int, payload: LoadHolidaysIn):
    """Add the public holidays of the calendar's country for `years` (idempotent)."""
    membership = require(request, ORG_MANAGE)
    calendar = get_for_org_or_404(BusinessCalendar, membership.organization, pk=calendar_id)
    this_year = datetime.date.today().year
    if any(not this_year - 1 <= year <= this_year + 5 for year in payload.years):
        raise calendars.SlaError("Choose years from last year to five years ahead.",
                                 field="years")
    if not calendar.country:
        raise calendars.SlaError("Set the calendar's country first.", field="country")
    return {"added": calendars.calendar_load_public_holidays(calendar=calendar,
                                                             years=payload.years)}


# --- Policies ------------------------------------------------------------------------------


class TargetIO(Schema):
    priority: str = Field(description="critical, high, normal or low")
    metric: str = Field(description="first_response or resolution")
    minutes: int | None = Field(None, description="Business minutes; null removes the target")


class PolicyOut(Schema):
    id: int
    name: str
    calendar_id: int
    is_default: bool
    warn_at_percent: int
    required_attainment_percent: Decimal
    archived_at: datetime.datetime | None
    targets: list[TargetIO]
    version: int

    @staticmethod
    def resolve_targets(obj):
        return [{"priority": t.priority, "metric": t.metric, "minutes": t.minutes}
                for t in obj.targets.all()]


class PolicyIn(Input):
    name: str = Field(min_length=1, max_length=100)
    calendar_id: int = Field(ge=1, le=2**63 - 1)
    is_default: bool = False
    warn_at_percent: int = Field(75, ge=1, le=99)
    required_attainment_percent: Decimal = Field(Decimal("95"), ge=0, le=100, decimal_places=2)
    targets: list[TargetIO] = Field(default_factory=list, max_length=8)


class PolicyPatchIn(Input):
    version: int = Field(ge=1, le=MAX_INT)
    name: str | None = Field(None, max_length=100)
    calendar_id: int | None = Field(None, ge=1, le=2**63 - 1)
    is_default: bool | None = None
    warn_at_percent: int | None = Field(None, ge=1, le=99)
    required_attainment_percent: Decimal | None = Field(None, ge=0, le=100, decimal_places=2)
    targets: list[TargetIO] | None = Field(None, max_length=8,
                                           description="Targets to set (others unchanged)")


def _policies(organization):
    return (for_org(SlaPolicy, organization).prefetch_related("targets"))


@router.get("/service/sla-policies", response=Page[PolicyOut])
def policy_list(request, filters: Query[PageParams]):
    membership = require(request, SERVICE_VIEW)
    return paginate(_policies(membership.organization), cursor=filters.cursor,
                    limit=filters.limit, order=("id",))


@router.post("/service/sla-policies", response={201: PolicyOut})
@idempotent
def policy_create(request, payload: PolicyIn):
    membership = require(request, ORG_MANAGE)
    fields = payload.model_dump()
    fields["calendar"] = fields.pop("calendar_id")
    policy = calendars.policy_create(organization=membership.organization, actor=request.user,
                                     **fields)
    return Status(201, _policies(membership.organization).get(pk=policy.pk))


@router.get("/service/sla-policies/{policy_id}", response=PolicyOut)
def policy_get(request, policy_id: int):
    membership = require(request, SERVICE_VIEW)
    return get_for_org_or_404(_policies(membership.organization), membership.organization,
                              pk=policy_id)


@router.patch("/service/sla-policies/{policy_id}", response=PolicyOut)
@idempotent
def policy_patch(request, policy_id: int, payload: PolicyPatchIn):
    """Change a policy; running clocks keep the targets they were started with."""
    membership = require(request, ORG_MANAGE)
    policy = get_for_org_or_404(SlaPolicy, membership.organization, pk=policy_id)
    changes = payload.model_dump(exclude_unset=True)
    version = changes.pop("version")
    targets = changes.pop("targets", None)
    changes = {k: v for k, v in changes.items() if v is not None}
    if "calendar_id" in changes:
        changes["calendar"] = changes.pop("calendar_id")
    calendars.policy_update(policy=policy, actor=request.user, version=version,
                            targets=targets, **changes)
    return _policies(membership.organization).get(pk=policy.pk)


@router.delete("/service/sla-policies/{policy_id}", response={204: None})
def policy_archive(request, policy_id: int):
    """Archive the policy (no new clocks use it; running clocks keep it)."""
    membership = require(request, ORG_MANAGE)
    policy = get_for_org_or_404(SlaPolicy, membership.organization, pk=policy_id)
    calendars.policy_archive(policy=policy, actor=request.user)
    return Status(204, None)


# --- Escalation rules ----------------------------------------------------------------------


class RuleOut(Schema):
    id: int
    name: str
    trigger: str
    metric: str
    priority: str
    action: str
    user_id: int | None
    team_id: int | None
    is_active: bool
    version: int


class RuleIn(Input):
    name: str = Field(min_length=1, max_length=100)
    trigger: str = Field(description="warning or breach")
    metric: str = Field("", description="first_response, resolution or empty for any")
    priority: str = Field("", description="critical, high, normal, low or empty for any")
    action: str = Field(description="notify_user, notify_team, reassign_team, raise_priority")
    user_id: int | None = Field(None, ge=1, le=2**63 - 1)
    team_id: int | None = Field(None, ge=1, le=2**63 - 1)
    is_active: bool = True


class RulePatchIn(Input):
    version: int = Field(ge=1, le=MAX_INT)
    name: str | None = Field(None, max_length=100)
    trigger: str | None = None
    metric: str | None = None
    priority: str | None = None
    action: str | None = None
    user_id: int | None = Field(None, ge=1, le=2**63 - 1)
    team_id: int | None = Field(None, ge=1, le=2**63 - 1)
    is_active: bool | None = None


def _rule_fields(fields):
    for name in ("user", "team"):
        if f"{name}_id" in fields:
            fields[name] = fields.pop(f"{name}_id")
    return fields


@router.get("/service/escalation-rules", response=Page[RuleOut])
def rule_list(request, filters: Query[PageParams]):
    membership = require(request, SERVICE_VIEW)
    return paginate(for_org(EscalationRule, membership.organization), cursor=filters.cursor,
                    limit=filters.limit, order=("id",))


@router.post("/service/escalation-rules", response={201: RuleOut})
@idempotent
def rule_create(request, payload: RuleIn):
    membership = require(request, ORG_MANAGE)
    rule = calendars.rule_create(organization=membership.organization, actor=request.user,
                                 **_rule_fields(payload.model_dump()))
    return Status(201, rule)


@router.get("/service/escalation-rules/{rule_id}", response=RuleOut)
def rule_get(request, rule_id: int):
    membership = require(request, SERVICE_VIEW)
    return get_for_org_or_404(EscalationRule, membership.organization, pk=rule_id)


@router.patch("/service/escalation-rules/{rule_id}", response=RuleOut)
@idempotent
def rule_patch(request, rule_id: int, payload: RulePatchIn):
    """Change a rule; `user_id`/`team_id` null clears them."""
    membership = require(request, ORG_MANAGE)
    rule = get_for_org_or_404(EscalationRule, membership.organization, pk=rule_id)
    changes = payload.model_dump(exclude_unset=True)
    version = changes.pop("version")
    changes = {k: v for k, v in changes.items() if v is not None or k in ("user_id", "team_id")}
    return calendars.rule_update(rule=rule, actor=request.user, version=version,
                                 **_rule_fields(changes))


@router.delete("/service/escalation-rules/{rule_id}", response={204: None})
def rule_delete(request, rule_id: int):
    """Delete a rule; one that has fired is deactivated instead."""
    membership = require(request, ORG_MANAGE)
    rule = get_for_org_or_404(EscalationRule, membership.organization, pk=rule_id)
    calendars.rule_delete(rule=rule, actor=request.user)
    return Status(204, None)


# --- Results and report --------------------------------------------------------------------


class ResultOut(Schema):
    id: int
    agreement_id: int | None
    account_id: int | None
    metric: str
    priority: str
    period: datetime.date
    total: int
    achieved: int
    breached: int
    attainment_percent: Decimal | None
    required_percent: Decimal
    met: bool | None
    frozen_at: datetime.datetime


class ResultFilters(PageParams):
    period: str | None = Field(None, pattern=r"^\d{4}-\d{2}$", description="YYYY-MM")


class RecordIn(Input):
    period: str = Field(pattern=r"^\d{4}-\d{2}$", description="A month that is over, YYYY-MM")


class ReportFilters(Schema):
    group_by: str = Field("account", description="account, service, team, agreement or period")
    first: str | None = Field(None, pattern=r"^\d{4}-\d{2}$", description="YYYY-MM")
    last: str | None = Field(None, pattern=r"^\d{4}-\d{2}$", description="YYYY-MM")
    metric: str = Field("", description="first_response, resolution or empty")
    priority: str = Field("", description="critical, high, normal, low or empty")
    account: int | None = Field(None, ge=1, le=2**63 - 1)
    service: int | None = Field(None, ge=1, le=2**63 - 1)
    team: int | None = Field(None, ge=1, le=2**63 - 1)


class ReportRowOut(Schema):
    key: int | None
    label: str
    period: datetime.date
    frozen: bool
    total: int
    achieved: int
    breached: int
    attainment_percent: Decimal | None
    required_percent: Decimal
    met: bool | None


class ReportOut(Schema):
    group_by: str
    first: datetime.date
    last: datetime.date
    rows: list[ReportRowOut]


@router.get("/service/sla-results", response=Page[ResultOut])
def result_list(request, filters: Query[ResultFilters]):
    """Recorded (frozen) SLA results per agreement × metric × priority × month."""
    membership = require(request, SERVICE_VIEW)
    queryset = for_org(SlaResult, membership.organization)
    if filters.period:
        queryset = queryset.filter(period=sla_results.month_start(filters.period))
    return paginate(queryset, cursor=filters.cursor, limit=filters.limit, order=("id",))


@router.post("/service/sla-results/record", response=list[ResultOut])
@idempotent
def result_record(request, payload: RecordIn):
    """Freeze a closed month (idempotent: rows already recorded are kept as they are)."""
    membership = require(request, ORG_MANAGE)
    return sla_results.sla_results_record(organization=membership.organization,
                                          period=payload.period)


@router.get("/service/sla-report", response=ReportOut)
def report(request, filters: Query[ReportFilters]):
    """Attainment % (= achieved ÷ total × 100; met when ≥ required %) per customer, service,
    team, agreement or month."""
    membership = require(request, SERVICE_VIEW)
    organization = membership.organization
    fields = filters.model_dump()
    for name, model in (("account", Account), ("service", Service), ("team", Team)):
        if fields[name] is not None:
            fields[name] = get_for_org_or_404(model, organization, pk=fields[name]).pk
    if fields["metric"] not in ("", "first_response", "resolution"):
        raise calendars.SlaError("Unknown metric.", field="metric")
    if fields["priority"] not in ("", "critical", "high", "normal", "low"):
        raise calendars.SlaError("Unknown priority.", field="priority")
    return sla_results.sla_report(organization=organization, **fields)
