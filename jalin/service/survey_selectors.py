"""Reads for satisfaction surveys: lists through the access layer, and the dashboard
aggregates (computed in the database as score histograms, then run through the pure formulas
of `survey_stats`, so every number can be traced back to the answers it counts)."""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count
from django.db.models.functions import TruncMonth
from django.http import Http404
from django.utils import timezone

from jalin.tenancy.access import for_org, get_for_org_or_404

from . import survey_stats
from .models import InvitationStatus, Survey, SurveyInvitation, SurveyKind, SurveyResponse

MAX_MONTHS = 36
MAX_ACCOUNTS = 200


def surveys_for(*, organization):
    return for_org(Survey, organization).order_by("name", "pk")


def survey_detail(*, organization, pk):
    return get_for_org_or_404(Survey, organization, pk=pk)


def sendable_accounts(*, organization):
    """Accounts a survey can be sent to by hand: not archived, a customer or a hub buyer."""
    from django.db.models import Q

    from jalin.crm.models import Account, AccountStatus

    return (for_org(Account, organization).filter(archived_at__isnull=True)
            .filter(Q(status=AccountStatus.CUSTOMER) | Q(hub_organization__isnull=False))
            .order_by("name", "pk"))


def invitations_for(*, organization, survey_id=None, status=None, account_id=None):
    queryset = for_org(SurveyInvitation, organization).select_related(
        "survey", "account", "contact", "case", "recipient_user")
    if survey_id is not None:
        queryset = queryset.filter(survey_id=survey_id)
    if status:
        queryset = queryset.filter(status=status)
    if account_id is not None:
        queryset = queryset.filter(account_id=account_id)
    return queryset


def portal_invitations(*, buyer):
    """The invitations a buyer organization's portal shows: exactly those addressed to it."""
    if buyer is None:
        return SurveyInvitation.objects.none()
    return (SurveyInvitation.objects.filter(buyer=buyer)
            .select_related("survey", "survey__organization", "case"))


def portal_invitation(*, buyer, pk):
    """One of the buyer's invitations; 404 for a missing one and for anyone else's."""
    try:
        return portal_invitations(buyer=buyer).get(pk=pk)
    except (SurveyInvitation.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404("No survey invitation matches the given query.") from exc


# --- Answers -------------------------------------------------------------------------------


@dataclass
class AnswerFilters:
    survey_id: int | None = None
    kind: str | None = None
    account_id: int | None = None
    date_from: datetime.date | None = None  # inclusive, local dates
    date_to: datetime.date | None = None  # inclusive
    score_min: int | None = None
    score_max: int | None = None
    good: bool | None = None
    follow_up: bool | None = None

    def as_query(self):
        """The filters as query-string pairs (for links from aggregates)."""
        pairs = {}
        for name in ("survey_id", "kind", "account_id", "score_min", "score_max"):
            value = getattr(self, name)
            if value is not None and value != "":
                pairs[name.replace("_id", "")] = value
        if self.date_from:
            pairs["from"] = self.date_from.isoformat()
        if self.date_to:
            pairs["to"] = self.date_to.isoformat()
        if self.good is not None:
            pairs["good"] = "1" if self.good else "0"
        if self.follow_up is not None:
            pairs["follow_up"] = "1" if self.follow_up else "0"
        return pairs


def _start_of(day):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def responses_for(*, organization, filters=None):
    filters = filters or AnswerFilters()
    queryset = for_org(SurveyResponse, organization).select_related(
        "survey", "account", "case", "follow_up_case", "invitation")
    if filters.survey_id is not None:
        queryset = queryset.filter(survey_id=filters.survey_id)
    if filters.kind:
        queryset = queryset.filter(survey__kind=filters.kind)
    if filters.account_id is not None:
        queryset = queryset.filter(account_id=filters.account_id)
    if filters.date_from:
        queryset = queryset.filter(created_at__gte=_start_of(filters.date_from))
    if filters.date_to:
        queryset = queryset.filter(
            created_at__lt=_start_of(filters.date_to + datetime.timedelta(days=1)))
    if filters.score_min is not None:
        queryset = queryset.filter(score__gte=filters.score_min)
    if filters.score_max is not None:
        queryset = queryset.filter(score__lte=filters.score_max)
    if filters.good is not None:
        queryset = queryset.filter(good=filters.good)
    if filters.follow_up is not None:
        queryset = queryset.filter(follow_up_case__isnull=not filters.follow_up)
    return queryset


# --- Dashboard -----------------------------------------------------------------------------


def month_starts(*, months, today=None):
    """The first days of the last `months` months, oldest first (local time)."""
    today = today or timezone.localdate()
    months = max(1, min(int(months), MAX_MONTHS))
    year, month = today.year, today.month
    result = []
    for _ in range(months):
        result.append(datetime.date(year, month, 1))
        month -= 1
        if month == 0:
            year, month = year - 1, 12
    return list(reversed(result))


def _next_month(day):
    return datetime.date(day.year + (day.month == 12), day.month % 12 + 1, 1)


@dataclass
class Bucket:
    """The answers and invitations of one row of a dashboard (a month, an account, all)."""

    label: str = ""
    key: object = None
    filters: AnswerFilters = field(default_factory=AnswerFilters)
    # {kind: {score: count}} and {kind: good count}
    scores: dict = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    good: dict = field(default_factory=lambda: defaultdict(int))
    sent: int = 0
    answered: int = 0
    expired: int = 0

    def answers(self, kind=None):
        if kind is None:
            return sum(sum(hist.values()) for hist in self.scores.values())
        return sum(self.scores.get(kind, {}).values())

    @property
    def csat(self):
        return survey_stats.csat_from_counts(good=self.good.get(SurveyKind.CSAT, 0),
                                             answers=self.answers(SurveyKind.CSAT))

    @property
    def nps(self):
        return survey_stats.nps(self.scores.get(SurveyKind.NPS, {}))

    @property
    def ces(self):
        return survey_stats.mean(self.scores.get(SurveyKind.CES, {}))

    @property
    def response_rate(self):
        return survey_stats.response_rate(answered=self.answered, sent=self.sent)

    def link(self, **extra):
        """Query pairs for the answers list behind this row (plus `extra`)."""
        pairs = self.filters.as_query()
        pairs.update({key: value for key, value in extra.items() if value is not None})
        return pairs


@dataclass
class Dashboard:
    months: list
    total: Bucket
    by_month: list
    by_account: list
    accounts_truncated: bool
    kinds: list


def _response_rows(organization, filters, start, end):
    queryset = responses_for(organization=organization, filters=filters).filter(
        created_at__gte=_start_of(start), created_at__lt=_start_of(end))
    return (queryset.order_by().annotate(month=TruncMonth("created_at"))
            .values_list("month", "account_id", "account__name", "survey__kind", "score",
                         "good").annotate(n=Count("id")))


def _invitation_rows(organization, filters, start, end):
    queryset = for_org(SurveyInvitation, organization).exclude(
        status=InvitationStatus.CANCELLED).filter(sent_at__gte=_start_of(start),
                                                  sent_at__lt=_start_of(end))
    if filters.survey_id is not None:
        queryset = queryset.filter(survey_id=filters.survey_id)
    if filters.kind:
        queryset = queryset.filter(survey__kind=filters.kind)
    if filters.account_id is not None:
        queryset = queryset.filter(account_id=filters.account_id)
    return (queryset.order_by().annotate(month=TruncMonth("sent_at"))
            .values_list("month", "account_id", "account__name", "status")
            .annotate(n=Count("id")))


def _month_key(value):
    if isinstance(value, datetime.datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return value.date().replace(day=1)
    return value.replace(day=1)


def dashboard(*, organization, survey=None, account_id=None, months=12, today=None):
    """Trend by month, totals and breakdown by account over the last `months` months.

    Scores count by the month they were given; sent/answered/expired count the invitations
    sent in that month (so the response rate of a month is the share of that month's
    invitations answered so far). Four grouped queries, whatever the number of answers."""
    starts = month_starts(months=months, today=today)
    start, end = starts[0], _next_month(starts[-1])
    base = AnswerFilters(survey_id=survey.pk if survey else None, account_id=account_id)
    total = Bucket(label="total", filters=AnswerFilters(
        survey_id=base.survey_id, account_id=account_id, date_from=start,
        date_to=end - datetime.timedelta(days=1)))
    by_month = {}
    for day in starts:
        by_month[day] = Bucket(label=day.strftime("%Y-%m"), key=day, filters=AnswerFilters(
            survey_id=base.survey_id, account_id=account_id, date_from=day,
            date_to=_next_month(day) - datetime.timedelta(days=1)))
    by_account = {}

    def account_bucket(account_id_, name):
        if account_id_ not in by_account:
            by_account[account_id_] = Bucket(label=name or "", key=account_id_,
                                             filters=AnswerFilters(
                                                 survey_id=base.survey_id,
                                                 account_id=account_id_, date_from=start,
                                                 date_to=end - datetime.timedelta(days=1)))
        return by_account[account_id_]

    kinds = set()
    for month, acc_id, acc_name, kind, score, good, count in _response_rows(
            organization, base, start, end):
        kinds.add(kind)
        buckets = [total, account_bucket(acc_id, acc_name)]
        month_bucket = by_month.get(_month_key(month))
        if month_bucket is not None:
            buckets.append(month_bucket)
        for bucket in buckets:
            bucket.scores[kind][score] += count
            if good:
                bucket.good[kind] += count
    for month, acc_id, acc_name, status, count in _invitation_rows(organization, base, start,
                                                                  end):
        buckets = [total, account_bucket(acc_id, acc_name)]
        month_bucket = by_month.get(_month_key(month))
        if month_bucket is not None:
            buckets.append(month_bucket)
        for bucket in buckets:
            bucket.sent += count
            if status == InvitationStatus.ANSWERED:
                bucket.answered += count
            elif status == InvitationStatus.EXPIRED:
                bucket.expired += count
    if survey is not None:
        kinds.add(survey.kind)
    accounts = sorted(by_account.values(), key=lambda b: (b.key is None, b.label.lower()))
    return Dashboard(
        months=starts, total=total, by_month=[by_month[day] for day in starts],
        by_account=accounts[:MAX_ACCOUNTS], accounts_truncated=len(accounts) > MAX_ACCOUNTS,
        kinds=[kind for kind in SurveyKind.values if kind in kinds],
    )
