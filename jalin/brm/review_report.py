"""The report of a customer service review: what happened for one customer in the review's
period, built from the records directly. A held review keeps this report frozen (JSON in
`ServiceReview.report`), so it reads the same however the records change later.

The report is plain JSON: codes (not translated labels), ISO dates, numbers rounded to one
decimal. `REPORT_VERSION` changes when its shape does.
"""

import datetime

from django.db.models import Count, Q
from django.utils import timezone

from jalin.service.models import (
    Agreement,
    AgreementStatus,
    Case,
    CaseKind,
    CaseStatus,
    SlaClock,
    SlaResult,
)

from . import formulas, measures
from .models import (
    CustomerChange,
    Improvement,
    ImprovementStatus,
    Requirement,
    RequirementStatus,
)
from .periods import day_start, org_zone

REPORT_VERSION = 1
# Agreements whose renewal (end) or review date falls this many days after the review.
AGREEMENTS_AHEAD_DAYS = 90
AWAITING_DECISION = (RequirementStatus.SUBMITTED, RequirementStatus.SCREENING,
                     RequirementStatus.QUALIFIED)
OPEN_IMPROVEMENT_EXCLUDED = (ImprovementStatus.CLOSED, ImprovementStatus.CANCELLED)
LIST_LIMIT = 100


def _iso(value):
    return value.isoformat() if value else None


def _window(review):
    zone = org_zone(review.organization)
    return (day_start(review.period_start, zone),
            day_start(review.period_end + datetime.timedelta(days=1), zone))


def sla_section(review, start, end):
    rows = measures.sla_rows(organization=review.organization, start=start, end=end,
                             account_id=review.account_id, split=("metric", "case__priority"))
    out = []
    for row in rows:
        out.append({"metric": row["metric"], "priority": row["case__priority"],
                    "total": row["total"], "achieved": row["achieved"],
                    "breached": row["breached"],
                    "attainment_percent": formulas.attainment_percent(row["achieved"],
                                                                      row["total"])})
    return {"rows": out, **measures.sla_summary(rows), "results": sla_results(review)}


def sla_results(review):
    """Frozen SLA results (agreement × target × month) of the customer's agreements for the
    months that lie wholly within the review's period, as the SLA engine recorded them."""
    queryset = (SlaResult.objects.filter(organization=review.organization,
                                         agreement__account_id=review.account_id,
                                         period__gte=review.period_start,
                                         period__lte=review.period_end)
                .select_related("agreement")
                .order_by("period", "agreement_id", "metric", "priority", "pk"))
    out = []
    for result in queryset[:LIST_LIMIT]:
        if result.period_end > review.period_end:
            continue
        out.append({
            "agreement_id": result.agreement_id, "agreement_number": result.agreement.number,
            "agreement_title": result.agreement.title,
            "period_start": _iso(result.period_start), "period_end": _iso(result.period_end),
            "metric": result.metric, "priority": result.priority, "total": result.total,
            "achieved": result.achieved, "breached": result.breached, "met": result.met,
            "attainment_percent": (float(result.attainment_percent)
                                   if result.attainment_percent is not None else None),
            "required_percent": float(result.required_percent),
        })
    return out


def cases_section(review, start, end):
    cases = Case.objects.filter(organization=review.organization, account_id=review.account_id)
    by_kind = {row["kind"]: row for row in cases.filter(
        Q(created_at__gte=start, created_at__lt=end)
        | Q(resolved_at__gte=start, resolved_at__lt=end)).values("kind").annotate(
            opened=Count("id", filter=Q(created_at__gte=start, created_at__lt=end)),
            resolved=Count("id", filter=Q(resolved_at__gte=start, resolved_at__lt=end)),
    ).order_by()}
    kinds = [{"kind": kind, "opened": by_kind.get(kind, {}).get("opened", 0),
              "resolved": by_kind.get(kind, {}).get("resolved", 0)}
             for kind in CaseKind.values]
    open_at_end = (cases.filter(created_at__lt=end).exclude(status=CaseStatus.MERGED)
                   .filter(Q(resolved_at__isnull=True, closed_at__isnull=True)
                           | Q(resolved_at__gte=end)).count())
    breached = (SlaClock.objects.filter(case__organization=review.organization,
                                        case__account_id=review.account_id,
                                        breached_at__gte=start, breached_at__lt=end)
                .values("case_id").distinct().count())
    return {
        "by_kind": kinds,
        "opened": sum(kind["opened"] for kind in kinds),
        "resolved": sum(kind["resolved"] for kind in kinds),
        "complaints": by_kind.get(CaseKind.COMPLAINT, {}).get("opened", 0),
        "open_at_end": open_at_end,
        "breached": breached,
    }


def satisfaction_section(review, start, end):
    numbers = measures.satisfaction_by_account(organization=review.organization, start=start,
                                               end=end, account_id=review.account_id)
    return numbers.get(review.account_id, measures.EMPTY_SATISFACTION)


def improvements_section(review):
    queryset = (Improvement.objects.filter(organization=review.organization,
                                           account_id=review.account_id)
                .exclude(status__in=OPEN_IMPROVEMENT_EXCLUDED)
                .select_related("owner").order_by("number"))
    return [{"id": item.pk, "number": item.number, "title": item.title,
             "status": item.status, "source": item.source,
             "owner": item.owner.get_full_name() or item.owner.get_username()
             if item.owner else "",
             "raised_at": _iso(item.raised_at)} for item in queryset[:LIST_LIMIT]]


def agreements_section(review):
    first = review.scheduled_for
    last = first + datetime.timedelta(days=AGREEMENTS_AHEAD_DAYS)
    queryset = (Agreement.objects.filter(organization=review.organization,
                                         account_id=review.account_id)
                .exclude(status__in=(AgreementStatus.EXPIRED, AgreementStatus.TERMINATED))
                .filter(Q(ends_on__gte=first, ends_on__lte=last)
                        | Q(review_on__gte=first, review_on__lte=last))
                .order_by("number"))
    out = []
    for agreement in queryset[:LIST_LIMIT]:
        base = {"id": agreement.pk, "number": agreement.number, "title": agreement.title,
                "kind": agreement.kind, "status": agreement.status}
        if agreement.ends_on and first <= agreement.ends_on <= last:
            out.append({**base, "due": "renewal", "date": _iso(agreement.ends_on)})
        if agreement.review_on and first <= agreement.review_on <= last:
            out.append({**base, "due": "review", "date": _iso(agreement.review_on)})
    return sorted(out, key=lambda row: (row["date"], row["number"]))


def requirements_section(review):
    queryset = (Requirement.objects.filter(organization=review.organization,
                                           account_id=review.account_id,
                                           status__in=AWAITING_DECISION).order_by("number"))
    return [{"id": item.pk, "number": item.number, "title": item.title,
             "status": item.status, "version": item.current_version}
            for item in queryset[:LIST_LIMIT]]


def changes_section(review, start, end):
    changes = CustomerChange.objects.filter(organization=review.organization,
                                            account_id=review.account_id)
    documented = Q(responded_at__isnull=False) & ~Q(response="")
    counts = changes.filter(identified_at__gte=start, identified_at__lt=end).aggregate(
        identified=Count("id"), with_response=Count("id", filter=documented))
    pending = changes.filter(identified_at__lt=end).exclude(documented).order_by(
        "identified_at", "id")
    return {
        "identified": counts["identified"],
        "with_response": counts["with_response"],
        "without_response": counts["identified"] - counts["with_response"],
        "awaiting_response": [{"id": item.pk, "title": item.title, "origin": item.origin,
                               "impact_level": item.impact_level,
                               "identified_at": _iso(item.identified_at)}
                              for item in pending[:LIST_LIMIT]],
    }


def build_report(review, *, now=None):
    """The review's report as of now (a dict ready for JSON)."""
    start, end = _window(review)
    return {
        "report_version": REPORT_VERSION,
        "generated_at": _iso(now or timezone.now()),
        "account": {"id": review.account_id, "name": review.account.name},
        "period": {"start": _iso(review.period_start), "end": _iso(review.period_end)},
        "scheduled_for": _iso(review.scheduled_for),
        "sla": sla_section(review, start, end),
        "cases": cases_section(review, start, end),
        "satisfaction": satisfaction_section(review, start, end),
        "improvements": improvements_section(review),
        "agreements_due": agreements_section(review),
        "agreements_ahead_days": AGREEMENTS_AHEAD_DAYS,
        "requirements_awaiting": requirements_section(review),
        "changes": changes_section(review, start, end),
    }


def report_of(review, *, now=None):
    """The frozen report of a held review, else a fresh one."""
    if review.report:
        return review.report
    return build_report(review, now=now)
