"""Reading numbers out of request input (query strings, form fields)."""

# The widest integer any database column compares against (signed 64-bit). SQLite's driver
# raises OverflowError for a larger Python int, so "?owner=99999999999999999999" was a 500.
DB_INT_MAX = 2**63 - 1


def int_param(value):
    """`value` as an int, or None when it is not a whole number. Numbers beyond the 64-bit
    range are clamped to its edge: as an id or a version they then match nothing (404, an
    empty list, a stale-version 409) instead of overflowing the database driver."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return max(-DB_INT_MAX, min(number, DB_INT_MAX))
