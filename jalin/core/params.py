"""Reading numbers and dates out of request input (query strings, form fields)."""

import datetime

# The widest integer any database column compares against (signed 64-bit). SQLite's driver
# raises OverflowError for a larger Python int, so "?owner=99999999999999999999" was a 500.
DB_INT_MAX = 2**63 - 1


def int_param(value, *, default=None, positive=False):
    """`value` as an int, or `default` when it is not a whole number (or, with
    `positive=True`, when it is not above zero: an id). Numbers beyond the 64-bit range are
    clamped to its edge: as an id or a version they then match nothing (404, an empty list, a
    stale-version 409) instead of overflowing the database driver."""
    if isinstance(value, bool):
        return default
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return default
    if positive and number < 1:
        return default
    return max(-DB_INT_MAX, min(number, DB_INT_MAX))


def iso_date(value):
    """A YYYY-MM-DD date; None when `value` is empty, False when it is not a date (the
    caller tells the person so)."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        return False
