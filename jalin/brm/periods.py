"""Reporting periods of the BRM pages: calendar months and quarters in the organization's
time zone, as inclusive dates and as the half-open [start, end) datetimes queries use."""

import datetime
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.utils import formats, timezone

MONTH, QUARTER = "month", "quarter"
PERIOD_KINDS = (MONTH, QUARTER)


def org_zone(organization):
    try:
        return ZoneInfo(organization.time_zone or "Asia/Jakarta")
    except (KeyError, ValueError):
        return ZoneInfo("Asia/Jakarta")


def day_start(day, zone):
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=zone)


@dataclass(frozen=True)
class Period:
    kind: str
    first: datetime.date   # first day, inclusive
    last: datetime.date    # last day, inclusive

    def bounds(self, zone):
        """[start, end) as aware datetimes in `zone`."""
        return day_start(self.first, zone), day_start(self.last + datetime.timedelta(days=1),
                                                      zone)

    @property
    def key(self):
        if self.kind == QUARTER:
            return f"{self.first.year}-Q{(self.first.month - 1) // 3 + 1}"
        if self.kind == MONTH:
            return self.first.strftime("%Y-%m")
        return f"{self.first.isoformat()}..{self.last.isoformat()}"

    @property
    def label(self):
        if self.kind == QUARTER:
            return self.key.replace("-", " ")
        if self.kind == MONTH:
            return formats.date_format(self.first, "YEAR_MONTH_FORMAT")
        return f"{formats.date_format(self.first, 'SHORT_DATE_FORMAT')} – " \
               f"{formats.date_format(self.last, 'SHORT_DATE_FORMAT')}"

    def previous(self):
        return period_containing(self.kind, self.first - datetime.timedelta(days=1))

    def next(self):
        return period_containing(self.kind, self.last + datetime.timedelta(days=1))


def period_containing(kind, day):
    if kind == QUARTER:
        month = (day.month - 1) // 3 * 3 + 1
        first = datetime.date(day.year, month, 1)
        months = 3
    else:
        kind = MONTH
        first = day.replace(day=1)
        months = 1
    year, month = divmod(first.month - 1 + months, 12)
    after = datetime.date(first.year + year, month + 1, 1)
    return Period(kind, first, after - datetime.timedelta(days=1))


def parse_period(kind, value, *, organization, now=None):
    """The period of `kind` ("month"/"quarter") containing the date `value` ("2026-11",
    "2026-Q4" or an ISO date); the current one when `value` is empty. Raises ValueError on
    anything else."""
    if kind not in PERIOD_KINDS:
        raise ValueError("period must be month or quarter")
    value = (value or "").strip()
    if not value:
        today = timezone.localtime(now or timezone.now(), org_zone(organization)).date()
        return period_containing(kind, today)
    if len(value) == 7 and value[4] == "-" and value[5] in "Qq":
        quarter = int(value[6])
        if not 1 <= quarter <= 4:
            raise ValueError("quarter must be 1-4")
        return period_containing(QUARTER if kind == QUARTER else MONTH,
                                 datetime.date(int(value[:4]), quarter * 3 - 2, 1))
    if len(value) == 7:
        return period_containing(kind, datetime.date(int(value[:4]), int(value[5:7]), 1))
    return period_containing(kind, datetime.date.fromisoformat(value))


def last_periods(period, count):
    """`count` periods ending with `period`, oldest first."""
    periods = [period]
    while len(periods) < count:
        periods.insert(0, periods[0].previous())
    return periods
