"""Business-hours arithmetic for SLA clocks: pure functions, no database.

A calendar spec (`CalendarSpec`) says when the clock runs:

- `time_zone`: an IANA zone ("Asia/Jakarta" has no daylight saving; zones with DST work too:
  working hours are wall-clock hours, so a window on a DST-change day is as long as the clock
  on the wall says it really is);
- `weekly_hours`: per ISO weekday (1 = Monday ... 7 = Sunday) a list of (start, end) windows
  in minutes after local midnight. Windows stay inside one day: "22:00"–"24:00" is allowed,
  an overnight window ("22:00"–"06:00") is not — write it as two windows on two days;
- `holidays`: local dates on which the clock does not run at all;
- `always_open`: 24 × 7, every second counts, holidays included.

Two functions answer everything the SLA engine needs:

- `business_seconds_between(spec, start, end)`: business seconds in [start, end) (whole seconds,
  rounded down; 0 when end <= start);
- `add_business_seconds(spec, start, seconds)`: the first instant at which `seconds` business
  seconds have elapsed after `start` (a start outside working hours counts from the next
  window). None when the calendar has no working hours at all.

They agree: `business_seconds_between(spec, s, add_business_seconds(spec, s, n)) == n`.
"""

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils.translation import gettext as _

DAY = 24 * 60
ONE_SECOND = timedelta(seconds=1)
_HHMM = re.compile(r"^(\d{1,2}):(\d{2})$")
# A calendar whose working days are all holidays for this long never gets due.
MAX_SCAN_DAYS = 366 * 3


class BusinessHoursError(ValueError):
    """Invalid working hours; `message` is for the user, `field` names the weekday key."""

    def __init__(self, message, *, field="weekly_hours"):
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class CalendarSpec:
    time_zone: str = "Asia/Jakarta"
    weekly_hours: dict = field(default_factory=dict)  # {iso weekday: ((start_min, end_min),)}
    holidays: frozenset = frozenset()
    always_open: bool = False

    @property
    def zone(self):
        return ZoneInfo(self.time_zone)

    @property
    def has_hours(self):
        return self.always_open or any(self.weekly_hours.values())


def _minutes(text, *, day, is_end):
    match = _HHMM.match(text.strip()) if isinstance(text, str) else None
    if not match:
        raise BusinessHoursError(
            _("Enter times as HH:MM, e.g. 08:00 (got “%(value)s”).") % {"value": text},
            field=str(day))
    hours, minutes = int(match[1]), int(match[2])
    value = hours * 60 + minutes
    if minutes > 59 or value > DAY or (value == DAY and not is_end) or hours > 24:
        raise BusinessHoursError(
            _("“%(value)s” is not a time of day (00:00–24:00).") % {"value": text},
            field=str(day))
    return value


def parse_weekly_hours(raw):
    """Check and normalize working hours as stored ({"1": [["08:00", "17:00"]], ...}) into
    {1: ((480, 1020),), ...}. Raises BusinessHoursError: an unknown weekday, a time that is
    not HH:MM within 00:00–24:00, an end not after its start, windows that overlap."""
    if not isinstance(raw, dict):
        raise BusinessHoursError(_("Working hours must map weekdays 1–7 to lists of windows."))
    parsed = {}
    for key, windows in raw.items():
        try:
            day = int(key)
        except (TypeError, ValueError):
            day = 0
        if not 1 <= day <= 7 or str(key).strip() != str(day):
            raise BusinessHoursError(
                _("Weekdays are numbered 1 (Monday) to 7 (Sunday), not “%(value)s”.")
                % {"value": key})
        if windows is None:
            windows = []
        if not isinstance(windows, list | tuple):
            raise BusinessHoursError(_("Give each weekday a list of [start, end] windows."),
                                     field=str(day))
        spans = []
        for window in windows:
            if not isinstance(window, list | tuple) or len(window) != 2:
                raise BusinessHoursError(_("Give each window as [start, end]."), field=str(day))
            start = _minutes(window[0], day=day, is_end=False)
            end = _minutes(window[1], day=day, is_end=True)
            if end <= start:
                raise BusinessHoursError(
                    _("A window must end after it starts (%(start)s–%(end)s); overnight "
                      "windows are not supported, split them at midnight.")
                    % {"start": window[0], "end": window[1]}, field=str(day))
            spans.append((start, end))
        spans.sort()
        for (_s1, e1), (s2, _e2) in zip(spans, spans[1:], strict=False):
            if s2 < e1:
                raise BusinessHoursError(_("Working windows on the same day overlap."),
                                         field=str(day))
        if spans:
            parsed[day] = tuple(spans)
    return parsed


def format_weekly_hours(parsed):
    """The stored form of parsed hours ({"1": [["08:00", "17:00"]]})."""
    def hhmm(minutes):
        return f"{minutes // 60:02d}:{minutes % 60:02d}"
    return {str(day): [[hhmm(s), hhmm(e)] for s, e in spans]
            for day, spans in sorted(parsed.items())}


def make_spec(*, time_zone, weekly_hours, holidays=(), always_open=False):
    """A CalendarSpec from stored values (weekly hours as stored or already parsed)."""
    try:
        ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise BusinessHoursError(_("Unknown time zone."), field="time_zone") from exc
    if weekly_hours and not all(isinstance(k, int) for k in weekly_hours):
        weekly_hours = parse_weekly_hours(weekly_hours)
    return CalendarSpec(time_zone=time_zone, weekly_hours=dict(weekly_hours or {}),
                        holidays=frozenset(holidays), always_open=always_open)


def _local_instant(day, minutes, zone):
    if minutes >= DAY:
        naive = datetime.combine(day + timedelta(days=1), time())
    else:
        naive = datetime.combine(day, time(minutes // 60, minutes % 60))
    return naive.replace(tzinfo=zone).astimezone(UTC)


def _intervals(spec, after):
    """Working intervals (start, end) in UTC, in order, not overlapping, that end after
    `after`. Stops after MAX_SCAN_DAYS days without any window."""
    zone = spec.zone
    day = after.astimezone(zone).date() - timedelta(days=1)
    last_end = None
    empty_days = 0
    while empty_days <= MAX_SCAN_DAYS:
        found = False
        if day not in spec.holidays:
            for start_min, end_min in spec.weekly_hours.get(day.isoweekday(), ()):
                start = _local_instant(day, start_min, zone)
                end = _local_instant(day, end_min, zone)
                if last_end is not None and start < last_end:
                    start = last_end  # a DST fold can make wall-clock windows touch
                if end <= start:
                    continue
                last_end = end
                found = True
                if end > after:
                    yield start, end
        empty_days = 0 if found else empty_days + 1
        day += timedelta(days=1)


def _utc(instant):
    if instant.tzinfo is None:
        raise ValueError("business hours need aware datetimes")
    return instant.astimezone(UTC)


def business_seconds_between(spec, start, end):
    """Business seconds in [start, end), rounded down to whole seconds."""
    start, end = _utc(start), _utc(end)
    if end <= start:
        return 0
    if spec.always_open:
        return (end - start) // ONE_SECOND
    total = timedelta()
    for window_start, window_end in _intervals(spec, start):
        if window_start >= end:
            break
        total += min(window_end, end) - max(window_start, start)
    return total // ONE_SECOND


def add_business_seconds(spec, start, seconds):
    """The first instant at which `seconds` business seconds have elapsed after `start`;
    None when the calendar never runs (no working hours)."""
    start = _utc(start)
    if seconds < 0:
        raise ValueError("seconds must not be negative")
    if spec.always_open or seconds == 0:
        return start + timedelta(seconds=seconds)
    remaining = timedelta(seconds=seconds)
    for window_start, window_end in _intervals(spec, start):
        begin = max(window_start, start)
        if begin + remaining <= window_end:
            return begin + remaining
        remaining -= window_end - begin
    return None


def is_business_time(spec, instant):
    """Whether the clock runs at `instant`."""
    instant = _utc(instant)
    if spec.always_open:
        return True
    for window_start, window_end in _intervals(spec, instant):
        return window_start <= instant < window_end
    return False


def holidays_between(spec, first: date, last: date):
    return sorted(d for d in spec.holidays if first <= d <= last)
