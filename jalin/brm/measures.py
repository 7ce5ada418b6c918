"""Aggregates the service review report and the BRM metrics dashboard share: each is ONE
query grouped by customer account (and whatever else it splits by), filtered by the owning
organization and a period on indexed columns, never a query per customer.

Windows are half-open [start, end) aware datetimes (see `periods.Period.bounds`).
"""

from collections import defaultdict

from django.db.models import Count, F, Q, Sum

from jalin.service.models import (
    InvitationStatus,
    SlaClock,
    SlaClockState,
    SurveyInvitation,
    SurveyKind,
    SurveyResponse,
)

from . import formulas


def _in(field, start, end):
    return Q(**{f"{field}__gte": start, f"{field}__lt": end})


def sla_decided(start, end):
    """An SLA clock counts in the period it was decided: missed when it breached then
    (`breached_at`), met when it stopped then without having breached (state achieved).
    Running and paused clocks that have not breached yet, and cancelled ones, are not
    counted — the rule of the SLA engine's results (`sla_results.decided_clocks`)."""
    return ((_in("breached_at", start, end)
             | (Q(breached_at__isnull=True, state=SlaClockState.ACHIEVED)
                & _in("stopped_at", start, end)))
            & ~Q(state=SlaClockState.CANCELLED))


def sla_rows(*, organization, start, end, account_id=None, split=("case__account_id",)):
    """[{split fields..., total, achieved, breached}] of the clocks decided in the window."""
    queryset = SlaClock.objects.filter(case__organization=organization).filter(
        sla_decided(start, end))
    if account_id is not None:
        queryset = queryset.filter(case__account_id=account_id)
    return list(queryset.values(*split).annotate(
        total=Count("id"),
        breached=Count("id", filter=Q(breached_at__isnull=False)),
        achieved=Count("id", filter=Q(breached_at__isnull=True)),
    ).order_by(*split))


def sla_summary(rows):
    total = sum(row["total"] for row in rows)
    achieved = sum(row["achieved"] for row in rows)
    return {"total": total, "achieved": achieved, "breached": total - achieved,
            "attainment_percent": formulas.attainment_percent(achieved, total)}


def satisfaction_by_account(*, organization, start, end, account_id=None):
    """{account_id: {"csat": {...}, "nps": {...}, "ces": {...}, "response_rate": {...}}} over
    answers given and invitations sent in the window; "overall" sums every account (answers
    without an account included)."""
    responses = SurveyResponse.objects.filter(organization=organization).filter(
        _in("created_at", start, end))
    invitations = (SurveyInvitation.objects.filter(organization=organization)
                   .filter(_in("sent_at", start, end))
                   .exclude(status=InvitationStatus.CANCELLED))
    if account_id is not None:
        responses = responses.filter(account_id=account_id)
        invitations = invitations.filter(account_id=account_id)
    counts = defaultdict(lambda: defaultdict(lambda: defaultdict(int)))
    for row in responses.values("account_id", "survey__kind").annotate(
            total=Count("id"),
            good=Count("id", filter=Q(score__gte=F("survey__good_threshold"))),
            promoters=Count("id", filter=Q(score__gte=9)),
            detractors=Count("id", filter=Q(score__lte=6)),
            score_sum=Sum("score")).order_by():
        for key in (row["account_id"], "overall"):
            bucket = counts[key][row["survey__kind"]]
            for field in ("total", "good", "promoters", "detractors", "score_sum"):
                bucket[field] += row[field] or 0
    for row in invitations.values("account_id").annotate(
            sent=Count("id"),
            answered=Count("id", filter=Q(status=InvitationStatus.ANSWERED))).order_by():
        for key in (row["account_id"], "overall"):
            counts[key]["invitations"]["sent"] += row["sent"]
            counts[key]["invitations"]["answered"] += row["answered"]
    return {key: satisfaction_numbers(value) for key, value in counts.items()}


def satisfaction_numbers(counts):
    csat = counts.get(SurveyKind.CSAT, {})
    nps = counts.get(SurveyKind.NPS, {})
    ces = counts.get(SurveyKind.CES, {})
    invitations = counts.get("invitations", {})
    nps_total = nps.get("total", 0)
    return {
        "csat": {"answers": csat.get("total", 0), "good": csat.get("good", 0),
                 "percent": formulas.csat_percent(csat.get("good", 0), csat.get("total", 0))},
        "nps": {"answers": nps_total, "promoters": nps.get("promoters", 0),
                "detractors": nps.get("detractors", 0),
                "passives": nps_total - nps.get("promoters", 0) - nps.get("detractors", 0),
                "score": formulas.nps_score(nps.get("promoters", 0), nps.get("detractors", 0),
                                            nps_total)},
        "ces": {"answers": ces.get("total", 0),
                "mean": formulas.ces_mean(ces.get("score_sum", 0), ces.get("total", 0))},
        "response_rate": {"sent": invitations.get("sent", 0),
                          "answered": invitations.get("answered", 0),
                          "percent": formulas.response_rate(invitations.get("answered", 0),
                                                            invitations.get("sent", 0))},
    }


EMPTY_SATISFACTION = satisfaction_numbers({})
