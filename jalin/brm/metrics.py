"""BRM metrics: how well the relationship with each customer is managed, per customer and
overall, for one period (a month or a quarter).

Customers are the accounts in the customer portfolio: those with a `CustomerProfile`
(unarchived). Records without a portfolio account (an opportunity for nobody in
particular, an improvement from an anonymous survey) count in the totals, not in a
customer's row.

Every figure comes from a fixed number of grouped queries (one per metric family, each
filtered by organization and period on indexed columns), whatever the number of customers.
`DEFINITIONS` says how each is computed; the page and the API both show them.
"""

import statistics
from collections import defaultdict

from django.db.models import BooleanField, Case, Count, F, Q, Value, When
from django.db.models.functions import Coalesce, TruncMonth, TruncQuarter
from django.utils.translation import gettext_lazy as _

from jalin.hub import order_selectors
from jalin.hub.models import OrderStatus
from jalin.service.models import SlaClock, SurveyKind, SurveyResponse

from . import formulas, measures
from .models import (
    BusinessObjective,
    CustomerChange,
    CustomerProfile,
    Improvement,
    ImprovementSource,
    ImprovementStatus,
    ObjectiveStatus,
    OpportunityRecord,
    Referral,
    Requirement,
    RequirementStatus,
    SignOff,
    SignOffDecision,
)
from .periods import QUARTER, org_zone

FEEDBACK_SOURCES = (ImprovementSource.COMPLAINT, ImprovementSource.FEEDBACK,
                    ImprovementSource.SURVEY)
NOT_ORDERS = (OrderStatus.DRAFT, OrderStatus.CANCELLED)

DEFINITIONS = {
    "customers": _("Customers: accounts in the customer portfolio (with a customer profile), "
                   "not archived."),
    "objectives_documented": _("Share of customers with at least one business objective "
                               "(not dropped) recorded by the end of the period."),
    "objectives_agreed": _("Share of customers with at least one objective agreed with the "
                           "customer (status agreed or achieved, agreed on or before the end of "
                           "the period)."),
    "requirements_signed_off": _("Requirements (each with its business case) approved by the "
                                 "customer's decision maker during the period (a customer "
                                 "sign-off row with decision approved)."),
    "signoff_share": _("Share of submitted requirements (any status but draft, created by the "
                       "end of the period) that carry a customer approval by then."),
    "business_cases_signed_off": _("Of the requirements signed off in the period, those "
                                   "whose signed version has a business case (costs or "
                                   "benefits)."),
    "changes_identified": _("Changes affecting customers identified during the period."),
    "changes_with_response": _("Of those, changes with a documented response (response text "
                               "and response time recorded); share = with response ÷ "
                               "identified."),
    "change_response_hours": _("Response time = responded − identified, in hours: mean and "
                               "median over the changes identified in the period that have "
                               "a response."),
    "opportunities": _("Opportunity register: identified, assessed with the customer and "
                       "recorded in the service portfolio during the period (by the date of "
                       "each step)."),
    "sla_attainment": _("SLA attainment % = targets met ÷ targets decided × 100. A case's "
                        "first-response or resolution target is decided in the period it "
                        "breached, or stopped in time."),
    "csat": _("CSAT % = answers at or above the survey's good threshold ÷ all CSAT answers "
              "× 100, answers given in the period."),
    "nps": _("NPS = % promoters (9–10) − % detractors (0–6) of the NPS answers given in the "
             "period."),
    "response_rate": _("Response rate = invitations sent in the period that were answered ÷ "
                       "invitations sent (cancelled ones excluded) × 100."),
    "repeat_business": _("Repeat business rate = customers who placed a hub order in the "
                         "period and had ordered before it ÷ customers who placed an order in "
                         "the period × 100 (orders of the customer's hub organization with "
                         "us; drafts and cancelled orders excluded)."),
    "referrals": _("Referrals recorded with a date in the period (a customer recommended us "
                   "to another company)."),
    "improvements_raised": _("Improvements raised in the CSI register during the period, by "
                             "source; from feedback = complaints, feedback and survey "
                             "comments."),
    "improvements_completed": _("Improvements closed during the period."),
}


def _in(field, start, end):
    return Q(**{f"{field}__gte": start, f"{field}__lt": end})


def _row():
    return {
        "objectives_documented": False, "objectives_agreed": False,
        "requirements_submitted": 0, "requirements_approved": 0,
        "requirements_signed_off": 0, "business_cases_signed_off": 0,
        "changes_identified": 0, "changes_with_response": 0, "_hours": [],
        "opportunities_identified": 0, "opportunities_assessed": 0,
        "opportunities_recorded": 0,
        "sla_total": 0, "sla_achieved": 0,
        "ordered": False, "repeat": False,
        "referrals": 0,
        "improvements_raised": 0, "improvements_from_feedback": 0,
        "improvements_completed": 0, "_by_source": defaultdict(int),
    }


def _finish(row, satisfaction):
    hours = row.pop("_hours")
    by_source = row.pop("_by_source")
    row["improvements_by_source"] = {source: by_source.get(source, 0)
                                     for source in ImprovementSource.values}
    row["changes_response_share"] = formulas.percent(row["changes_with_response"],
                                                     row["changes_identified"])
    row["change_response_mean_hours"] = (round(statistics.fmean(hours), 1) if hours else None)
    row["change_response_median_hours"] = (round(statistics.median(hours), 1) if hours
                                           else None)
    row["signoff_share"] = formulas.percent(row["requirements_approved"],
                                            row["requirements_submitted"])
    row["sla_breached"] = row["sla_total"] - row["sla_achieved"]
    row["sla_attainment_percent"] = formulas.attainment_percent(row["sla_achieved"],
                                                                row["sla_total"])
    row["csat_percent"] = satisfaction["csat"]["percent"]
    row["csat_answers"] = satisfaction["csat"]["answers"]
    row["nps"] = satisfaction["nps"]["score"]
    row["nps_answers"] = satisfaction["nps"]["answers"]
    row["ces"] = satisfaction["ces"]["mean"]
    row["response_rate"] = satisfaction["response_rate"]["percent"]
    row["invitations_sent"] = satisfaction["response_rate"]["sent"]
    row["invitations_answered"] = satisfaction["response_rate"]["answered"]
    return row


def brm_metrics(*, organization, period, account_id=None):
    """The metrics of `period` (a `periods.Period`) as a JSON-ready dict: "overall" and one
    row per customer in "customers" (only `account_id`'s when given)."""
    zone = org_zone(organization)
    start, end = period.bounds(zone)
    last_day = period.last

    profiles = (CustomerProfile.objects.filter(organization=organization,
                                               account__archived_at__isnull=True)
                .values_list("account_id", "account__name", "account__hub_organization_id")
                .order_by("account__name", "account_id"))
    if account_id is not None:
        profiles = profiles.filter(account_id=account_id)
    customers = {pk: {"account_id": pk, "name": name, **_row()}
                 for pk, name, _buyer in profiles}
    buyers = {buyer: pk for pk, _name, buyer in profiles if buyer}
    total = _row()

    def scoped(queryset, field="account_id"):
        if account_id is not None:
            return queryset.filter(**{field: account_id})
        return queryset

    def add(account, key, value):
        total[key] += value
        if account in customers:
            customers[account][key] += value

    # Objectives (a state at the end of the period; only portfolio customers count).
    agreed = (Q(status__in=(ObjectiveStatus.AGREED, ObjectiveStatus.ACHIEVED))
              & Q(agreed_on__isnull=False, agreed_on__lte=last_day))
    for row in scoped(BusinessObjective.objects.filter(
            organization=organization, created_at__lt=end)
            .exclude(status=ObjectiveStatus.DROPPED)).values("account_id").annotate(
            documented=Count("id"), agreed=Count("id", filter=agreed)).order_by():
        if row["account_id"] in customers:
            customers[row["account_id"]]["objectives_documented"] = row["documented"] > 0
            customers[row["account_id"]]["objectives_agreed"] = row["agreed"] > 0

    # Requirements and sign-offs.
    for row in scoped(Requirement.objects.filter(organization=organization, created_at__lt=end)
                      .exclude(status=RequirementStatus.DRAFT)).values("account_id").annotate(
            submitted=Count("id")).order_by():
        add(row["account_id"], "requirements_submitted", row["submitted"])
    approvals = SignOff.objects.filter(requirement__organization=organization,
                                       party="customer", decision=SignOffDecision.APPROVED,
                                       decided_at__lt=end)
    has_case = Q(requirement_version__costs__gt=0) | Q(requirement_version__benefits__gt=0)
    for row in scoped(approvals, "requirement__account_id").exclude(
            requirement__status=RequirementStatus.DRAFT).values(
            "requirement__account_id").annotate(
            approved=Count("requirement_id", distinct=True),
            in_period=Count("requirement_id", distinct=True,
                            filter=Q(decided_at__gte=start)),
            cases=Count("requirement_id", distinct=True,
                        filter=Q(decided_at__gte=start) & has_case)).order_by():
        account = row["requirement__account_id"]
        add(account, "requirements_approved", row["approved"])
        add(account, "requirements_signed_off", row["in_period"])
        add(account, "business_cases_signed_off", row["cases"])

    # Changes and our response to them.
    for account, identified, responded, documented in scoped(
            CustomerChange.objects.filter(organization=organization)
            .filter(_in("identified_at", start, end))).annotate(
            documented=Case(When(Q(responded_at__isnull=False) & ~Q(response=""),
                                 then=Value(True)), default=Value(False),
                            output_field=BooleanField())).values_list(
            "account_id", "identified_at", "responded_at", "documented").order_by():
        add(account, "changes_identified", 1)
        if documented:
            add(account, "changes_with_response", 1)
            hours = max(0.0, (responded - identified).total_seconds() / 3600)
            total["_hours"].append(hours)
            if account in customers:
                customers[account]["_hours"].append(hours)

    # Opportunity register.
    for row in scoped(OpportunityRecord.objects.filter(organization=organization).filter(
            _in("identified_at", start, end) | _in("assessed_at", start, end)
            | _in("recorded_at", start, end))).values("account_id").annotate(
            identified=Count("id", filter=_in("identified_at", start, end)),
            assessed=Count("id", filter=_in("assessed_at", start, end)),
            recorded=Count("id", filter=_in("recorded_at", start, end))).order_by():
        for step in ("identified", "assessed", "recorded"):
            add(row["account_id"], f"opportunities_{step}", row[step])

    # SLA attainment.
    for row in measures.sla_rows(organization=organization, start=start, end=end,
                                 account_id=account_id):
        add(row["case__account_id"], "sla_total", row["total"])
        add(row["case__account_id"], "sla_achieved", row["achieved"])

    # Satisfaction.
    satisfaction = measures.satisfaction_by_account(organization=organization, start=start,
                                                    end=end, account_id=account_id)

    # Repeat business (hub orders of the customers' hub organizations, read through the hub's
    # order selectors).
    if buyers:
        orders = order_selectors.orders_for(organization=organization, side="supplier").filter(
            buyer_id__in=list(buyers)).exclude(status__in=NOT_ORDERS)
        ordering = set(orders.filter(_in("submitted_at", start, end))
                       .values_list("buyer_id", flat=True).distinct().order_by())
        repeat = set(orders.filter(buyer_id__in=list(ordering), submitted_at__lt=start)
                     .values_list("buyer_id", flat=True).distinct().order_by()) if ordering \
            else set()
        for buyer in ordering:
            customers[buyers[buyer]]["ordered"] = True
            customers[buyers[buyer]]["repeat"] = buyer in repeat

    # Referrals.
    for row in scoped(Referral.objects.filter(organization=organization,
                                              referred_on__gte=period.first,
                                              referred_on__lte=last_day),
                      "referrer_id").values("referrer_id").annotate(n=Count("id")).order_by():
        add(row["referrer_id"], "referrals", row["n"])

    # Continual improvement.
    completed = Q(status=ImprovementStatus.CLOSED) & _in("closed_at", start, end)
    for row in scoped(Improvement.objects.filter(organization=organization).filter(
            _in("raised_at", start, end) | _in("closed_at", start, end))).values(
            "account_id", "source").annotate(
            raised=Count("id", filter=_in("raised_at", start, end)),
            completed=Count("id", filter=completed)).order_by():
        account, source = row["account_id"], row["source"]
        add(account, "improvements_raised", row["raised"])
        add(account, "improvements_completed", row["completed"])
        if source in FEEDBACK_SOURCES:
            add(account, "improvements_from_feedback", row["raised"])
        total["_by_source"][source] += row["raised"]
        if account in customers:
            customers[account]["_by_source"][source] += row["raised"]

    rows = [_finish(row, satisfaction.get(pk, measures.EMPTY_SATISFACTION))
            for pk, row in customers.items()]
    overall_satisfaction = (satisfaction.get(account_id, measures.EMPTY_SATISFACTION)
                            if account_id is not None
                            else satisfaction.get("overall", measures.EMPTY_SATISFACTION))
    overall = _finish(total, overall_satisfaction)
    count = len(rows)
    documented = sum(1 for row in rows if row["objectives_documented"])
    agreed_count = sum(1 for row in rows if row["objectives_agreed"])
    ordering_count = sum(1 for row in rows if row["ordered"])
    repeat_count = sum(1 for row in rows if row["repeat"])
    overall.update({
        "customers": count,
        "objectives_documented": documented,
        "objectives_documented_share": formulas.percent(documented, count),
        "objectives_agreed": agreed_count,
        "objectives_agreed_share": formulas.percent(agreed_count, count),
        "ordered": ordering_count,
        "repeat": repeat_count,
        "repeat_business_rate": formulas.percent(repeat_count, ordering_count),
    })
    return {
        "period": {"kind": period.kind, "key": period.key, "start": period.first.isoformat(),
                   "end": last_day.isoformat()},
        "account_id": account_id,
        "overall": overall,
        "customers": rows,
        "definitions": {key: str(text) for key, text in DEFINITIONS.items()},
    }


def trend(*, organization, periods, account_id=None):
    """SLA attainment, CSAT %, NPS and improvements raised/completed for each of `periods`
    (consecutive, same kind), from one grouped query per family."""
    zone = org_zone(organization)
    start, _ignored = periods[0].bounds(zone)
    _ignored, end = periods[-1].bounds(zone)
    trunc = TruncQuarter if periods[0].kind == QUARTER else TruncMonth
    buckets = {period.first: {"sla_total": 0, "sla_achieved": 0, "csat": 0, "csat_good": 0,
                              "nps": 0, "promoters": 0, "detractors": 0, "raised": 0,
                              "completed": 0} for period in periods}

    def bucket(moment):
        return buckets.get(moment.date() if hasattr(moment, "date") else moment)

    clocks = SlaClock.objects.filter(case__organization=organization).filter(
        measures.sla_decided(start, end))
    if account_id is not None:
        clocks = clocks.filter(case__account_id=account_id)
    for row in clocks.annotate(at=trunc(Coalesce("breached_at", "stopped_at"), tzinfo=zone)
                               ).values("at").annotate(
            total=Count("id"), achieved=Count("id", filter=Q(breached_at__isnull=True))
    ).order_by():
        target = bucket(row["at"])
        if target is not None:
            target["sla_total"] += row["total"]
            target["sla_achieved"] += row["achieved"]
    responses = SurveyResponse.objects.filter(organization=organization).filter(
        _in("created_at", start, end), survey__kind__in=(SurveyKind.CSAT, SurveyKind.NPS))
    if account_id is not None:
        responses = responses.filter(account_id=account_id)

    for row in responses.annotate(at=trunc("created_at", tzinfo=zone)).values(
            "at", "survey__kind").annotate(
            total=Count("id"), good=Count("id", filter=Q(score__gte=F("survey__good_threshold"))),
            promoters=Count("id", filter=Q(score__gte=9)),
            detractors=Count("id", filter=Q(score__lte=6))).order_by():
        target = bucket(row["at"])
        if target is None:
            continue
        if row["survey__kind"] == SurveyKind.CSAT:
            target["csat"] += row["total"]
            target["csat_good"] += row["good"]
        else:
            target["nps"] += row["total"]
            target["promoters"] += row["promoters"]
            target["detractors"] += row["detractors"]
    improvements = Improvement.objects.filter(organization=organization)
    if account_id is not None:
        improvements = improvements.filter(account_id=account_id)
    for field, key, extra in (("raised_at", "raised", Q()),
                              ("closed_at", "completed", Q(status=ImprovementStatus.CLOSED))):
        for row in improvements.filter(_in(field, start, end) & extra).annotate(
                at=trunc(field, tzinfo=zone)).values("at").annotate(n=Count("id")).order_by():
            target = bucket(row["at"])
            if target is not None:
                target[key] += row["n"]
    out = []
    for period in periods:
        values = buckets[period.first]
        out.append({
            "period": period.key, "label": str(period.label),
            "sla_attainment_percent": formulas.attainment_percent(values["sla_achieved"],
                                                                  values["sla_total"]),
            "csat_percent": formulas.csat_percent(values["csat_good"], values["csat"]),
            "nps": formulas.nps_score(values["promoters"], values["detractors"],
                                      values["nps"]),
            "improvements_raised": values["raised"],
            "improvements_completed": values["completed"],
        })
    return out
