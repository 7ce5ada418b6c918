"""Uploading an order file (CSV or .xlsx) into a buyer's cart for one supplier.

Modes, when some lines are bad:
- `check` (the page's default): nothing is added; the report comes back so the person can
  choose (add the good lines, or fix the file). A file without bad lines is added at once.
- `valid_only`: the good lines are added, the bad ones reported.
- `all_or_nothing`: nothing is added while any line is bad.
The cart changes in one transaction (`orders.cart_add_lines`): never a part of the file.
"""

from dataclasses import dataclass

from . import orders, sku_lines

CHECK, VALID_ONLY, ALL_OR_NOTHING = "check", "valid_only", "all_or_nothing"
MODES = (CHECK, VALID_ONLY, ALL_OR_NOTHING)


@dataclass
class UploadResult:
    rows: int
    checked: sku_lines.Checked
    added: int = 0  # products added to the cart
    applied: bool = False

    @property
    def report(self):
        """Problems and notices, in row order."""
        return sorted(self.checked.problems + self.checked.notices,
                      key=lambda problem: problem.number)


def cart_upload(*, relationship, user, uploaded, mode=CHECK):
    """Read, check and (depending on `mode`) add an uploaded file to the cart. Raises
    HubError for a file refused as a whole (too large, too long, not CSV/.xlsx, empty)."""
    rows = sku_lines.rows_from_upload(uploaded)
    checked = sku_lines.check_rows(relationship=relationship, rows=rows)
    result = UploadResult(rows=len(rows), checked=checked)
    if checked.problems and mode != VALID_ONLY:
        return result
    add_quantities(relationship=relationship, user=user, result=result,
                   quantities=checked.quantities)
    return result


def add_quantities(*, relationship, user, result, quantities):
    if quantities:
        orders.cart_add_lines(relationship=relationship, user=user, quantities=quantities)
    result.added, result.applied = len(quantities), True
    return result
