"""CSV files that people open in spreadsheets.

Spreadsheets run a cell that starts with = + - @ (or a tab or carriage return) as a formula,
so such cells are quoted with a leading apostrophe (CSV injection). `Echo` lets `csv.writer`
hand each formatted line back, so exports stream row by row instead of building the file in
memory.
"""

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """`value` as text a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    if text[:1] in FORMULA_STARTS:
        return "'" + text
    return text


class Echo:
    """A file-like object whose `write` returns what it is given (for streaming csv.writer)."""

    def write(self, value):
        return value
