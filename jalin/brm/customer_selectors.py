"""Customer portfolio reads: the portfolio list (keyset, sortable, no N+1), the tier × health
matrix, a customer's revenue from the hub, its predicted value and its relationship signals.

Revenue is read from the hub through `jalin.hub.invoice_selectors.invoices_for` and
`jalin.hub.order_selectors.orders_for` (never the hub tables directly) and only when the CRM
account is linked to a hub buyer (`account.hub_organization`). Revenue of a month = net total
of the invoices issued to that buyer in that month − net total of its credit notes, in the
supplier's currency (documents in other currencies are listed apart and left out of the sums).

Predicted value (next 12 months), `predicted_value(...)`:

    trailing 12 months revenue (T12) × trend factor
    trend factor = revenue of the last 6 months ÷ revenue of the 6 months before,
                   limited to 0.5 … 1.5; 1 when the earlier half had no revenue

Staff may override it (`CustomerProfile.predicted_value`); the page shows both and says which
one counts.
"""

import base64
import binascii
import datetime
import json
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import (
    Case,
    Count,
    DateField,
    F,
    IntegerField,
    OuterRef,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone

from jalin.crm.models import Account, AccountTier
from jalin.hub import invoice_selectors, order_selectors
from jalin.service.models import (
    CASE_OPEN_STATUSES,
    CaseKind,
    SlaClock,
    SurveyKind,
    SurveyResponse,
)
from jalin.service.models import (
    Case as ServiceCase,
)
from jalin.tenancy.access import for_org, get_for_org_or_404

from .models import CustomerProfile, Health

NOT_ASSESSED = "not_assessed"
HEALTH_RANK = {Health.CRITICAL: 0, Health.AT_RISK: 1, Health.GOOD: 2}
FAR_FUTURE = datetime.date(9999, 12, 31)
SORTS = {
    "name": ("name",),
    "next_review": ("p_review_key", "name"),
    "health": ("p_health_rank", "name"),
    "tier": ("p_tier_rank", "name"),
}
TIER_RANK = {tier: index for index, tier in enumerate(AccountTier.values)}
TREND_MIN, TREND_MAX = Decimal("0.5"), Decimal("1.5")
INVOICE, CREDIT_NOTE = "invoice", "credit_note"


# --- Portfolio list ------------------------------------------------------------------------


def _profile(field_name):
    return Subquery(CustomerProfile.objects.filter(account=OuterRef("pk"))
                    .values(field_name)[:1])


def portfolio_queryset(*, organization, tier=None, health=None, manager_id=None, status=None,
                       search=""):
    queryset = for_org(Account, organization).filter(archived_at__isnull=True).annotate(
        p_health=_profile("health"),
        p_review=_profile("next_review_on"),
        p_manager=_profile("relationship_manager"),
    ).annotate(
        p_review_key=Coalesce(F("p_review"), Value(FAR_FUTURE), output_field=DateField()),
        p_health_rank=Case(*[When(p_health=value, then=Value(rank))
                             for value, rank in HEALTH_RANK.items()],
                           default=Value(3), output_field=IntegerField()),
        p_tier_rank=Case(*[When(tier=value, then=Value(rank))
                           for value, rank in TIER_RANK.items()],
                         default=Value(9), output_field=IntegerField()),
    )
    if tier:
        queryset = queryset.filter(tier=tier)
    if health == NOT_ASSESSED:
        queryset = queryset.filter(p_health__isnull=True)
    elif health:
        queryset = queryset.filter(p_health=health)
    if manager_id:
        queryset = queryset.filter(p_manager=manager_id)
    if status:
        queryset = queryset.filter(status=status)
    search = (search or "").strip()
    if search:
        queryset = queryset.filter(name__icontains=search)
    return queryset


def _encode(values):
    raw = json.dumps([v.isoformat() if isinstance(v, datetime.date) else v for v in values])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor, fields):
    """The typed cursor values, or None for a mangled cursor (which starts from the top)."""
    try:
        values = json.loads(base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4))
                                                    .encode("ascii")))
    except (binascii.Error, UnicodeError, ValueError):
        return None
    if not isinstance(values, list) or len(values) != len(fields) + 1:
        return None
    typed = []
    for name, value in zip((*fields, "id"), values, strict=True):
        if name == "p_review_key":
            try:
                value = datetime.date.fromisoformat(value)
            except (TypeError, ValueError):
                return None
        elif name in ("p_health_rank", "p_tier_rank", "id"):
            if not isinstance(value, int) or isinstance(value, bool) or abs(value) > 2**62:
                return None
        elif not isinstance(value, str):
            return None
        typed.append(value)
    return typed


@dataclass
class PortfolioPage:
    items: list = field(default_factory=list)
    next_cursor: str | None = None


def portfolio_page(queryset, *, sort="name", cursor=None, limit=50):
    """One page in `sort` order (ascending, id as tiebreaker), keyset by an opaque cursor."""
    fields = SORTS.get(sort, SORTS["name"])
    order = (*fields, "id")
    queryset = queryset.order_by(*order)
    values = _decode(cursor, fields) if cursor else None
    if values is not None:
        queryset = queryset.filter(TupleGreaterThan(Tuple(*(F(n) for n in order)), values))
    rows = list(queryset[: limit + 1])
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = _encode([getattr(rows[-1], name) for name in order])
    return PortfolioPage(items=rows, next_cursor=next_cursor)


def attach_portfolio_details(organization, accounts, *, today=None):
    """Give each account of a page `.profile` (or None) and `.revenue_12m` (or None when not
    linked to a hub buyer): two queries for the whole page."""
    today = today or timezone.localdate()
    profiles = {profile.account_id: profile for profile in CustomerProfile.objects.filter(
        organization=organization, account_id__in=[a.pk for a in accounts])
        .select_related("relationship_manager")}
    buyer_ids = {a.hub_organization_id for a in accounts if a.hub_organization_id}
    revenue = trailing_revenue_by_buyer(organization, buyer_ids, today=today)
    for account in accounts:
        account.profile = profiles.get(account.pk)
        account.revenue_12m = (revenue.get(account.hub_organization_id, Decimal("0.00"))
                               if account.hub_organization_id else None)
    return accounts


def tier_health_matrix(queryset):
    """[(tier label, tier value, [(health value, count)…], total)] over the filtered list."""
    counts = {}
    for row in queryset.order_by().values("tier", "p_health").annotate(n=Count("id")):
        counts[(row["tier"], row["p_health"] or NOT_ASSESSED)] = row["n"]
    columns = [*Health.values, NOT_ASSESSED]
    matrix = []
    for value, label in AccountTier.choices:
        cells = [(health, counts.get((value, health), 0)) for health in columns]
        matrix.append((label, value, cells, sum(n for _h, n in cells)))
    return columns, matrix


# --- Revenue from the hub ------------------------------------------------------------------


def _month_start(day):
    return day.replace(day=1)


def _months_back(day, months):
    year, month = day.year, day.month - months
    while month <= 0:
        month += 12
        year -= 1
    return datetime.date(year, month, 1)


def _sales(organization):
    """Invoices and credit notes the organization issued (the hub's own selector)."""
    return invoice_selectors.invoices_for(organization=organization, side="supplier")


def trailing_revenue_by_buyer(organization, buyer_ids, *, today=None, months=12):
    """{buyer id: net revenue of the last `months` whole months plus this one} (one query)."""
    if not buyer_ids:
        return {}
    today = today or timezone.localdate()
    start = _months_back(_month_start(today), months - 1)
    rows = (_sales(organization).filter(buyer_id__in=list(buyer_ids), issue_date__gte=start,
                                        issue_date__lte=today,
                                        currency=organization.currency)
            .order_by().values("buyer_id", "kind").annotate(total=Sum("total_net")))
    out = {}
    for row in rows:
        sign = -1 if row["kind"] == CREDIT_NOTE else 1
        out[row["buyer_id"]] = out.get(row["buyer_id"], Decimal(0)) + sign * Decimal(
            row["total"] or 0)
    return {key: value.quantize(Decimal("0.01")) for key, value in out.items()}


@dataclass
class Revenue:
    linked: bool
    currency: str
    months: list = field(default_factory=list)  # [(first day, invoiced, credited, net, orders)]
    other_currencies: list = field(default_factory=list)  # [(currency, net)]

    @property
    def total(self):
        return sum((row[3] for row in self.months), Decimal("0.00"))


def revenue_by_month(*, organization, account, months=24, today=None):
    """The customer's revenue per month for the last `months` months (this one included)."""
    currency = organization.currency
    if not account.hub_organization_id:
        return Revenue(linked=False, currency=currency)
    today = today or timezone.localdate()
    start = _months_back(_month_start(today), months - 1)
    invoices = (_sales(organization).filter(buyer_id=account.hub_organization_id,
                                            issue_date__gte=start, issue_date__lte=today))
    sums = {}
    other = {}
    for row in (invoices.order_by().annotate(month=TruncMonth("issue_date"))
                .values("month", "kind", "currency").annotate(total=Sum("total_net"))):
        month = row["month"]
        month = month.date() if isinstance(month, datetime.datetime) else month
        amount = Decimal(row["total"] or 0)
        if row["currency"] != currency:
            sign = -1 if row["kind"] == CREDIT_NOTE else 1
            other[row["currency"]] = other.get(row["currency"], Decimal(0)) + sign * amount
            continue
        sums[(month, row["kind"])] = sums.get((month, row["kind"]), Decimal(0)) + amount
    orders = {}
    order_rows = (order_selectors.orders_for(organization=organization, side="supplier")
                  .filter(buyer_id=account.hub_organization_id,
                          submitted_at__date__gte=start)
                  .exclude(status__in=("draft", "cancelled"))
                  .order_by().annotate(month=TruncMonth("submitted_at"))
                  .values("month").annotate(n=Count("id")))
    for row in order_rows:
        month = row["month"]
        month = timezone.localtime(month).date() if isinstance(month, datetime.datetime) \
            else month
        month = _month_start(month)
        orders[month] = orders.get(month, 0) + row["n"]
    result = Revenue(linked=True, currency=currency,
                     other_currencies=sorted((c, v.quantize(Decimal("0.01")))
                                             for c, v in other.items()))
    for index in range(months):
        month = _months_back(_month_start(today), months - 1 - index)
        invoiced = sums.get((month, INVOICE), Decimal(0)).quantize(Decimal("0.01"))
        credited = sums.get((month, CREDIT_NOTE), Decimal(0)).quantize(Decimal("0.01"))
        result.months.append((month, invoiced, credited, invoiced - credited,
                              orders.get(month, 0)))
    return result


@dataclass
class Prediction:
    computed: Decimal | None  # None when the customer is not on the hub
    trailing_12: Decimal
    last_6: Decimal
    previous_6: Decimal
    trend: Decimal
    override: Decimal | None

    @property
    def value(self):
        return self.override if self.override is not None else self.computed


def predicted_value(revenue, *, override=None):
    """See the module docstring. `revenue` must cover at least the last 12 months."""
    if not revenue.linked:
        return Prediction(computed=None, trailing_12=Decimal(0), last_6=Decimal(0),
                          previous_6=Decimal(0), trend=Decimal(1), override=override)
    nets = [row[3] for row in revenue.months[-12:]]
    nets = [Decimal(0)] * (12 - len(nets)) + nets
    previous_6, last_6 = sum(nets[:6], Decimal(0)), sum(nets[6:], Decimal(0))
    trailing = previous_6 + last_6
    trend = Decimal(1)
    if previous_6 > 0:
        trend = min(max(last_6 / previous_6, TREND_MIN), TREND_MAX)
    trend = trend.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    computed = max(trailing * trend, Decimal(0)).quantize(Decimal("0.01"))
    return Prediction(computed=computed, trailing_12=trailing, last_6=last_6,
                      previous_6=previous_6, trend=trend, override=override)


# --- Relationship signals (read from the service desk) -------------------------------------


@dataclass
class Signals:
    open_complaints: int
    sla_breaches_90d: int
    latest: dict  # {survey kind: SurveyResponse}


def signals_for(*, organization, account, now=None):
    now = now or timezone.now()
    since = now - datetime.timedelta(days=90)
    cases = ServiceCase.objects.filter(organization=organization, account=account)
    open_complaints = cases.filter(kind=CaseKind.COMPLAINT,
                                   status__in=CASE_OPEN_STATUSES).count()
    breaches = SlaClock.objects.filter(case__organization=organization, case__account=account,
                                       breached_at__gte=since).count()
    latest = {}
    responses = (SurveyResponse.objects.filter(organization=organization, account=account)
                 .select_related("survey").order_by("-created_at", "-id")[:50])
    for response in responses:
        kind = response.survey.kind
        if kind not in latest:
            latest[kind] = response
    return Signals(open_complaints=open_complaints, sla_breaches_90d=breaches,
                   latest={kind: latest[kind] for kind in SurveyKind.values if kind in latest})


def customer_account(*, organization, pk):
    return get_for_org_or_404(Account.objects.select_related("hub_organization", "owner"),
                              organization, pk=pk)

