"""Business-hours arithmetic (jalin/service/business_hours.py): pure functions, no database."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jalin.service.business_hours import (
    BusinessHoursError,
    add_business_seconds,
    business_seconds_between,
    format_weekly_hours,
    is_business_time,
    make_spec,
    parse_weekly_hours,
)

WIB = ZoneInfo("Asia/Jakarta")
OFFICE = {str(d): [["08:00", "17:00"]] for d in range(1, 6)}
CHRISTMAS_2026 = date(2026, 12, 25)  # a Friday; Indonesian public holiday (Hari Raya Natal)


def wib(*args):
    return datetime(*args, tzinfo=WIB)


def jakarta(holidays=()):
    return make_spec(time_zone="Asia/Jakarta", weekly_hours=OFFICE, holidays=holidays)


def test_four_business_hours_across_christmas_and_a_weekend():
    spec = jakarta(holidays=[CHRISTMAS_2026])
    start = wib(2026, 12, 24, 16, 0)  # Thursday, one working hour left
    due = add_business_seconds(spec, start, 4 * 3600)
    assert due == wib(2026, 12, 28, 11, 0)  # Monday: Friday is Christmas, then the weekend
    assert business_seconds_between(spec, start, due) == 4 * 3600
    # Without the holiday the same target is due on Friday.
    assert add_business_seconds(jakarta(), start, 4 * 3600) == wib(2026, 12, 25, 11, 0)


def test_start_outside_hours_counts_from_the_next_window():
    spec = jakarta()
    assert add_business_seconds(spec, wib(2026, 12, 5, 10, 0), 60) == wib(2026, 12, 7, 8, 1)
    assert add_business_seconds(spec, wib(2026, 12, 7, 6, 30), 3600) == wib(2026, 12, 7, 9, 0)
    assert add_business_seconds(spec, wib(2026, 12, 7, 19, 0), 3600) == wib(2026, 12, 8, 9, 0)
    assert business_seconds_between(spec, wib(2026, 12, 5, 0, 0), wib(2026, 12, 6, 23, 0)) == 0
    assert not is_business_time(spec, wib(2026, 12, 5, 10, 0))
    assert is_business_time(spec, wib(2026, 12, 7, 8, 0))
    assert not is_business_time(spec, wib(2026, 12, 7, 17, 0))


def test_a_full_week_counts_45_hours():
    spec = jakarta()
    assert business_seconds_between(spec, wib(2026, 11, 30), wib(2026, 12, 7)) == 45 * 3600


def test_split_windows_and_lunch_break():
    spec = make_spec(time_zone="Asia/Jakarta",
                     weekly_hours={"1": [["13:00", "17:00"], ["08:00", "12:00"]]})
    monday = wib(2026, 11, 30, 11, 0)
    assert add_business_seconds(spec, monday, 2 * 3600) == wib(2026, 11, 30, 14, 0)
    assert add_business_seconds(spec, monday, 5 * 3600) == wib(2026, 11, 30, 17, 0)
    assert add_business_seconds(spec, monday, 6 * 3600) == wib(2026, 12, 7, 9, 0)


def test_always_open_counts_every_second_including_holidays():
    spec = make_spec(time_zone="Asia/Jakarta", weekly_hours={}, always_open=True,
                     holidays=[CHRISTMAS_2026])
    start = wib(2026, 12, 24, 16, 0)
    assert add_business_seconds(spec, start, 86400) == wib(2026, 12, 25, 16, 0)


def test_no_hours_never_gets_due():
    spec = make_spec(time_zone="Asia/Jakarta", weekly_hours={})
    assert add_business_seconds(spec, wib(2026, 12, 1), 60) is None
    assert business_seconds_between(spec, wib(2026, 12, 1), wib(2026, 12, 9)) == 0


def test_dst_zone_counts_wall_clock_hours():
    # Europe/Berlin springs forward on 2026-03-29 (a Sunday): a 24-hour window that day is 23h.
    spec = make_spec(time_zone="Europe/Berlin", weekly_hours={"7": [["00:00", "24:00"]]})
    berlin = ZoneInfo("Europe/Berlin")
    day = datetime(2026, 3, 29, tzinfo=berlin)
    assert business_seconds_between(spec, day, day + timedelta(days=1)) == 23 * 3600
    office = make_spec(time_zone="Europe/Berlin", weekly_hours=OFFICE)
    friday = datetime(2026, 3, 27, 16, 0, tzinfo=berlin)
    due = add_business_seconds(office, friday, 2 * 3600)
    assert due == datetime(2026, 3, 30, 9, 0, tzinfo=berlin)
    assert due.astimezone(UTC).hour == 7  # CEST now


@pytest.mark.parametrize("raw, field", [
    ({"1": [["25:00", "26:00"]]}, "1"),
    ({"1": [["08:00", "07:00"]]}, "1"),
    ({"1": [["08:00", "08:00"]]}, "1"),
    ({"2": [["08:00", "12:00"], ["11:00", "13:00"]]}, "2"),
    ({"1": [["8am", "17:00"]]}, "1"),
    ({"1": [["08:60", "17:00"]]}, "1"),
    ({"1": [["24:00", "24:00"]]}, "1"),
    ({"8": [["08:00", "17:00"]]}, "weekly_hours"),
    ({"1": "08:00-17:00"}, "1"),
    ({"1": [["08:00"]]}, "1"),
    ([], "weekly_hours"),
])
def test_bad_hours_are_refused(raw, field):
    with pytest.raises(BusinessHoursError) as info:
        parse_weekly_hours(raw)
    assert info.value.field == field


def test_hours_round_trip():
    raw = {"1": [["13:00", "17:00"], ["08:00", "12:00"]], "6": [["22:00", "24:00"]], "7": []}
    parsed = parse_weekly_hours(raw)
    assert parsed == {1: ((480, 720), (780, 1020)), 6: ((1320, 1440),)}
    assert format_weekly_hours(parsed) == {"1": [["08:00", "12:00"], ["13:00", "17:00"]],
                                           "6": [["22:00", "24:00"]]}


def test_unknown_time_zone_is_refused():
    with pytest.raises(BusinessHoursError):
        make_spec(time_zone="Mars/Olympus", weekly_hours=OFFICE)


# --- Properties -------------------------------------------------------------------------

SPECS = [
    jakarta(holidays=[CHRISTMAS_2026, date(2027, 1, 1)]),
    make_spec(time_zone="America/New_York",
              weekly_hours={**OFFICE, "6": [["00:00", "03:00"], ["22:00", "24:00"]]}),
    make_spec(time_zone="Europe/Berlin", weekly_hours={"7": [["00:00", "24:00"]],
                                                       "3": [["01:30", "02:45"]]}),
    make_spec(time_zone="Asia/Jakarta", weekly_hours={}, always_open=True),
]
specs = st.sampled_from(SPECS)
# Whole seconds around two DST changes and Indonesian year-end holidays.
instants = st.integers(
    min_value=int(datetime(2026, 3, 1, tzinfo=UTC).timestamp()),
    max_value=int(datetime(2027, 1, 20, tzinfo=UTC).timestamp()),
).map(lambda ts: datetime.fromtimestamp(ts, UTC))
durations = st.integers(min_value=0, max_value=40 * 3600)


@given(specs, instants, durations)
def test_elapsed_of_add_is_the_amount_added(spec, start, seconds):
    due = add_business_seconds(spec, start, seconds)
    assert due >= start
    assert business_seconds_between(spec, start, due) == seconds


@given(specs, instants, instants)
def test_add_of_elapsed_is_the_first_instant_with_that_much(spec, start, end):
    elapsed = business_seconds_between(spec, start, end)
    reached = add_business_seconds(spec, start, elapsed)
    if end >= start:
        assert reached <= end
        assert business_seconds_between(spec, reached, end) == 0
    else:
        assert elapsed == 0 and reached == start


@given(specs, instants, instants, instants)
def test_elapsed_is_monotonic_and_additive(spec, a, b, c):
    a, b, c = sorted((a, b, c))
    ab = business_seconds_between(spec, a, b)
    assert ab <= business_seconds_between(spec, a, c)
    assert ab + business_seconds_between(spec, b, c) == business_seconds_between(spec, a, c)


@given(specs, instants, durations, durations)
def test_add_is_monotonic(spec, start, n1, n2):
    n1, n2 = sorted((n1, n2))
    assert add_business_seconds(spec, start, n1) <= add_business_seconds(spec, start, n2)
