"""Reads of cases for the desk (the supplier's staff) and the portal (the customer).

Staff read through `for_org` (the owning organization); a buyer reads only cases whose
`buyer` is its organization, and only their public messages. Lists are keyset-paginated and
carry the nearest running SLA clock's due time as an annotation (one query per page, no N+1).
"""

import base64
import binascii
import datetime
import difflib
import json
import re
from dataclasses import dataclass

from django.db.models import Case as CaseExpr
from django.db.models import (
    DateTimeField,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan, TupleLessThan
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from jalin.core.params import int_param
from jalin.crm.models import Account
from jalin.tenancy.access import for_org, get_for_org_or_404
from jalin.tenancy.models import Membership

from .models import (
    CASE_OPEN_STATUSES,
    CannedReply,
    Case,
    CaseKind,
    CaseMessage,
    CasePriority,
    CaseStatus,
    MessageVisibility,
    SlaClock,
    SlaClockState,
    Team,
)

DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 200
# Sorts offered on the desk list: name -> the keyset order (one direction, id last).
SORTS = {
    "newest": ("-id",),
    "oldest": ("id",),
    "updated": ("-updated_at", "-id"),
    "priority": ("priority_rank", "id"),
    "due": ("due_sort", "id"),
}
DATETIME_KEYS = {"updated_at", "due_sort"}
PRIORITY_RANK = {CasePriority.CRITICAL: 0, CasePriority.HIGH: 1, CasePriority.NORMAL: 2,
                 CasePriority.LOW: 3}
# Cases without a running clock sort after every real due time.
NO_DUE = datetime.datetime(9999, 1, 1, tzinfo=datetime.UTC)
STATUS_GROUPS = {"active": CASE_OPEN_STATUSES,
                 "done": (CaseStatus.RESOLVED, CaseStatus.CLOSED)}


# --- Annotations ---------------------------------------------------------------------------


def _running_clocks():
    return SlaClock.objects.filter(case=OuterRef("pk"), state=SlaClockState.RUNNING,
                                   due_at__isnull=False)


def with_sla(queryset):
    """Annotate `due_at` (the nearest running clock's due time) and `due_metric`."""
    nearest = _running_clocks().order_by("due_at", "id")
    return queryset.annotate(
        due_at=Subquery(nearest.values("due_at")[:1], output_field=DateTimeField()),
        due_metric=Subquery(nearest.values("metric")[:1]),
    )


def breached_q(now):
    """Cases with a clock that breached (recorded by the worker) or is running past due."""
    return Q(Exists(SlaClock.objects.filter(case=OuterRef("pk")).filter(
        Q(breached_at__isnull=False) | Q(state=SlaClockState.BREACHED)
        | Q(state=SlaClockState.RUNNING, due_at__lte=now))))


def at_risk_q(now):
    """Cases with a running clock past its warning time but not yet due."""
    return Q(Exists(SlaClock.objects.filter(
        case=OuterRef("pk"), state=SlaClockState.RUNNING, breached_at__isnull=True,
        warn_at__lte=now, due_at__gt=now)))


# --- Staff lists ---------------------------------------------------------------------------


def cases_for(*, organization):
    return (for_org(Case, organization)
            .select_related("account", "contact", "assignee", "team", "buyer"))


@dataclass
class CaseFilters:
    status: str = ""
    kind: str = ""
    priority: str = ""
    assignee: str = ""  # "", "mine", "unassigned" or a user id
    team: int | None = None
    account: int | None = None
    sla: str = ""  # "", "breached", "at_risk"
    q: str = ""
    sort: str = "newest"

    @property
    def active(self):
        return any((self.status, self.kind, self.priority, self.assignee, self.team,
                    self.account, self.sla, self.q))


def parse_filters(params):
    """CaseFilters from query parameters; anything unknown is ignored, never an error."""
    status = params.get("status", "") or ""
    if status not in CaseStatus.values and status not in STATUS_GROUPS and status != "all":
        status = ""
    kind = params.get("kind", "") or ""
    kind = kind if kind in CaseKind.values else ""
    priority = params.get("priority", "") or ""
    priority = priority if priority in CasePriority.values else ""
    assignee = (params.get("assignee", "") or "").strip()
    if assignee not in ("mine", "unassigned"):
        assignee = str(int_param(assignee, positive=True) or "")
    sla = params.get("sla", "") or ""
    sla = sla if sla in ("breached", "at_risk") else ""
    sort = params.get("sort", "") or "newest"
    sort = sort if sort in SORTS else "newest"
    return CaseFilters(status=status, kind=kind, priority=priority, assignee=assignee,
                       team=int_param(params.get("team"), positive=True),
                       account=int_param(params.get("account"), positive=True),
                       sla=sla, q=" ".join((params.get("q", "") or "").split())[:100],
                       sort=sort)


def filter_cases(queryset, filters, *, user, now=None):
    now = now or timezone.now()
    if filters.status in STATUS_GROUPS:
        queryset = queryset.filter(status__in=STATUS_GROUPS[filters.status])
    elif filters.status and filters.status != "all":
        queryset = queryset.filter(status=filters.status)
    elif not filters.status:
        queryset = queryset.filter(status__in=CASE_OPEN_STATUSES)
    if filters.kind:
        queryset = queryset.filter(kind=filters.kind)
    if filters.priority:
        queryset = queryset.filter(priority=filters.priority)
    if filters.assignee == "mine":
        queryset = queryset.filter(assignee=user)
    elif filters.assignee == "unassigned":
        queryset = queryset.filter(assignee__isnull=True)
    elif filters.assignee:
        queryset = queryset.filter(assignee_id=int(filters.assignee))
    if filters.team:
        queryset = queryset.filter(team_id=filters.team)
    if filters.account:
        queryset = queryset.filter(account_id=filters.account)
    if filters.sla == "breached":
        queryset = queryset.filter(breached_q(now))
    elif filters.sla == "at_risk":
        queryset = queryset.filter(at_risk_q(now)).exclude(breached_q(now))
    if filters.q:
        number = int_param(filters.q.lstrip("#"), positive=True)
        query = Q(subject__icontains=filters.q)
        if number and number < 10**9:
            query |= Q(number=number)
        queryset = queryset.filter(query)
    return queryset


def with_sort_keys(queryset):
    """Annotations the non-id sorts use."""
    return queryset.annotate(
        priority_rank=CaseExpr(*[When(priority=value, then=Value(rank))
                              for value, rank in PRIORITY_RANK.items()],
                            default=Value(9), output_field=IntegerField()),
        due_sort=Coalesce(F("due_at"), Value(NO_DUE), output_field=DateTimeField()),
    )


def desk_cases(*, organization, filters, user, now=None):
    queryset = with_sort_keys(with_sla(cases_for(organization=organization)))
    return filter_cases(queryset, filters, user=user, now=now)


# --- Keyset pagination over several sort keys ----------------------------------------------


class BadCursor(ValueError):
    pass


@dataclass
class SeekPage:
    items: list
    next_cursor: str | None
    is_first: bool


def _encode(sort, values):
    def plain(value):
        return value.isoformat() if isinstance(value, datetime.datetime) else value

    raw = json.dumps([sort, [plain(value) for value in values]], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor, sort, fields):
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        if not (isinstance(data, list) and len(data) == 2 and data[0] == sort
                and isinstance(data[1], list) and len(data[1]) == len(fields)):
            raise BadCursor
        values = []
        for name, value in zip(fields, data[1], strict=True):
            if name in DATETIME_KEYS:
                if not isinstance(value, str):
                    raise BadCursor
                parsed = datetime.datetime.fromisoformat(value)
                if parsed.tzinfo is None:
                    raise BadCursor
                values.append(parsed)
            else:
                if not isinstance(value, int) or isinstance(value, bool) or abs(value) > 2**62:
                    raise BadCursor
                values.append(value)
        return values
    except (binascii.Error, UnicodeError, ValueError, TypeError) as exc:
        raise BadCursor from exc


def seek(queryset, *, sort, cursor="", limit=DEFAULT_PER_PAGE):
    """One page in `SORTS[sort]` order after `cursor` (a bad cursor starts from the top)."""
    order = SORTS[sort]
    fields = [name.lstrip("-") for name in order]
    descending = order[0].startswith("-")
    queryset = queryset.order_by(*order)
    values = None
    if cursor:
        try:
            values = _decode(cursor[:600], sort, fields)
        except BadCursor:
            values = None
    if values is not None:
        lookup = TupleLessThan if descending else TupleGreaterThan
        queryset = queryset.filter(lookup(Tuple(*(F(name) for name in fields)), values))
    rows = list(queryset[: limit + 1])
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = _encode(sort, [getattr(last, name) for name in fields])
    return SeekPage(items=rows, next_cursor=next_cursor, is_first=values is None)


# --- One case ------------------------------------------------------------------------------


def case_detail(*, organization, pk):
    return get_for_org_or_404(cases_for(organization=organization).select_related(
        "order", "service", "agreement", "sla_policy", "merged_into", "follow_up_of",
        "requester", "created_by"), organization, pk=pk)


def conversation(case, *, public_only=False):
    messages = case.messages.select_related("author").order_by("created_at", "id")
    if public_only:
        messages = messages.filter(visibility=MessageVisibility.PUBLIC)
    return list(messages)


def history(case):
    return list(case.history.select_related("actor").order_by("created_at", "id"))


def sla_clocks(case):
    return list(case.sla_clocks.select_related("policy", "calendar", "agreement")
                .order_by("metric"))


def merge_candidates(case, *, limit=5):
    """Open (or resolved) cases of the same account, most similar subject first."""
    if case.account_id is None:
        return []
    rows = list(Case.objects.filter(organization_id=case.organization_id,
                                    account_id=case.account_id,
                                    status__in=(*CASE_OPEN_STATUSES, CaseStatus.RESOLVED))
                .exclude(pk=case.pk).order_by("-id")[:100])

    def words(text):
        return {word for word in re.findall(r"\w+", text.lower()) if len(word) > 2}

    mine = words(case.subject)

    def score(other):
        ratio = difflib.SequenceMatcher(None, case.subject.lower(),
                                        other.subject.lower()).ratio()
        overlap = len(mine & words(other.subject)) / max(len(mine), 1)
        return max(ratio, overlap)

    scored = sorted(((score(other), other) for other in rows), key=lambda pair: (-pair[0],
                                                                                -pair[1].pk))
    return [other for value, other in scored if value >= 0.3][:limit]


def merge_target(*, organization, case, number_or_id):
    """The case to merge `case` into, by number ("#12", "12") within the organization."""
    number = int_param(str(number_or_id or "").strip().lstrip("#"), positive=True)
    if not number or number >= 10**12:
        return None
    return (Case.objects.filter(organization=organization, number=number)
            .exclude(pk=case.pk).first())


# --- Pickers -------------------------------------------------------------------------------


def agents_for(*, organization):
    """Users who can be assigned cases: active members of the organization."""
    return [membership.user for membership in (
        Membership.objects.filter(organization=organization, is_active=True)
        .select_related("user").order_by("user__username"))]


def teams_for(*, organization, include_archived=False):
    queryset = for_org(Team, organization)
    if not include_archived:
        queryset = queryset.filter(archived_at__isnull=True)
    return queryset.order_by("name", "id")


def canned_replies_for(*, organization):
    return for_org(CannedReply, organization).order_by("title", "id")


def accounts_for(*, organization):
    return (for_org(Account, organization).filter(archived_at__isnull=True)
            .order_by("name", "id"))


def account_for_buyer(*, organization, buyer):
    """The supplier's CRM account linked to `buyer` on the hub (the oldest one)."""
    return (Account.objects.filter(organization=organization, hub_organization=buyer,
                                   archived_at__isnull=True).order_by("id").first())


# --- Dashboard -----------------------------------------------------------------------------


def desk_counts(*, organization, user, now=None):
    """{mine, unassigned, at_risk, breached, open} for the desk dashboard (4 cheap queries)."""
    now = now or timezone.now()
    active = for_org(Case, organization).filter(status__in=CASE_OPEN_STATUSES)
    breached = active.filter(breached_q(now))
    return {
        "open": active.count(),
        "mine": active.filter(assignee=user).count(),
        "unassigned": active.filter(assignee__isnull=True).count(),
        "breached": breached.count(),
        "at_risk": active.filter(at_risk_q(now)).exclude(breached_q(now)).count(),
    }


# --- Portal (the customer's side) ----------------------------------------------------------


def buyer_cases(*, buyer):
    """Cases the buyer organization may see: those whose `buyer` it is (merged ones hidden)."""
    if buyer is None:
        return Case.objects.none()
    return (Case.objects.filter(buyer=buyer).exclude(status=CaseStatus.MERGED)
            .select_related("organization", "service", "order"))


def buyer_case_detail(*, buyer, pk):
    try:
        return buyer_cases(buyer=buyer).get(pk=int(pk))
    except (Case.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404("No such case.") from exc


def public_messages(case):
    return conversation(case, public_only=True)


def message_count(case, *, public_only=False):
    queryset = CaseMessage.objects.filter(case=case)
    if public_only:
        queryset = queryset.filter(visibility=MessageVisibility.PUBLIC)
    return queryset.count()
