"""Lines of "SKU, quantity" from a buyer — typed into quick order, entered by a supplier for a
customer, or uploaded as a CSV or .xlsx file — checked once, in one place.

`check_rows` is the one validator: every row becomes either a good line (an entitled, active
product of the relationship's supplier, a whole quantity ≥ the minimum order) or a problem
with its row number, its content and a reason (`format`, `bad_quantity`, `unknown_sku`,
`not_entitled`, `below_minimum`). A product that appears on several good rows is added up
(each later row gets a `duplicate` notice naming the first). Another supplier's SKU is simply
unknown. Two queries, whatever the number of rows.

`rows_from_text` reads a textarea; `rows_from_upload` reads a file: UTF-8 CSV (with or
without BOM; comma, semicolon or tab; an optional header row naming the SKU, quantity and
note columns) or the first sheet of an .xlsx workbook (openpyxl, read-only). A file over
`MAX_UPLOAD_BYTES`, with more than `MAX_UPLOAD_LINES` lines, or of another kind is refused as
a whole (`HubError` codes `too_large`, `too_many_lines`, `unsupported_file`, `empty_file`).
The note column is read and shown in the report; cart lines hold quantities only, so it is
not stored.
"""

import csv
import datetime
import io
import re
from dataclasses import dataclass

from django.utils.translation import gettext as _

from . import selectors
from .models import Product
from .services import HubError

MAX_QUANTITY = 1_000_000
MAX_UPLOAD_BYTES = 2 * 1024 * 1024
MAX_UPLOAD_LINES = 2000
MAX_SHEET_ROWS = 100_000  # empty spreadsheet rows are skipped, but not without end
CONTENT_LENGTH = 120

SKU_HEADERS = {"sku", "kode", "kode barang", "kode produk", "item", "item code", "item no",
               "product", "product code", "produk", "code", "article", "part number"}
QUANTITY_HEADERS = {"qty", "qty.", "quantity", "jumlah", "kuantitas", "banyaknya", "units",
                    "order quantity"}
NOTE_HEADERS = {"note", "notes", "catatan", "keterangan", "comment", "remark"}

TEXT_LINE = re.compile(r"^\s*([^,;\t]+?)\s*[,;\t]\s*(.*?)\s*$")
WHOLE = re.compile(r"^\+?\d{1,9}$")


@dataclass
class Row:
    number: int
    content: str
    sku: str
    quantity: object  # text, a number from a spreadsheet, or None
    note: str = ""


@dataclass
class Problem:
    number: int
    content: str
    message: str
    code: str

    def as_tuple(self):
        return (self.number, self.content, self.message)


@dataclass
class Good:
    number: int
    content: str
    product: Product
    quantity: int
    note: str = ""


@dataclass
class Checked:
    good: list
    problems: list
    notices: list

    @property
    def quantities(self):
        """{product_id: quantity}, duplicates added up, in first-seen order."""
        totals = {}
        for line in self.good:
            totals[line.product.pk] = totals.get(line.product.pk, 0) + line.quantity
        return totals


def _quantity(value):
    """A whole quantity from text or a spreadsheet number, or None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    text = str(value).strip().replace("\u00a0", "")
    if WHOLE.match(text):
        return int(text)
    return None


def check_rows(*, relationship, rows, problems=()):
    """Validate `rows` (`Row`s) against the relationship's catalog; `problems` already found
    while reading (format) join the result. See the module docstring."""
    problems = list(problems)
    notices, parsed = [], []
    for row in rows:
        sku = (row.sku or "").strip()[:64]
        if not sku:
            problems.append(Problem(row.number, row.content, _("Write “SKU, quantity”."),
                                    "format"))
            continue
        quantity = _quantity(row.quantity)
        if quantity is None or quantity > MAX_QUANTITY:
            problems.append(Problem(row.number, row.content, _(
                "The quantity must be a whole number from 1 to %(max)s.") % {
                "max": MAX_QUANTITY}, "bad_quantity"))
            continue
        if quantity < 1:
            problems.append(Problem(row.number, row.content,
                                    _("The quantity must be at least 1."), "bad_quantity"))
            continue
        parsed.append((row, sku, quantity))
    skus = {sku for _row, sku, _q in parsed}
    products = {p.sku: p for p in selectors.entitled_products(relationship=relationship)
                .filter(sku__in=skus)}
    hidden = set()
    if skus - set(products):
        # Active products of this supplier the buyer is not entitled to: say so, rather than
        # "unknown", since the buyer may ask the supplier for them.
        hidden = set(Product.objects.filter(supplier_id=relationship.supplier_id,
                                            is_active=True, sku__in=skus - set(products))
                     .values_list("sku", flat=True))
    good, first_row = [], {}
    for row, sku, quantity in parsed:
        product = products.get(sku)
        if product is None:
            if sku in hidden:
                problems.append(Problem(row.number, row.content, _(
                    "%(sku)s is not available to you.") % {"sku": sku}, "not_entitled"))
            else:
                problems.append(Problem(row.number, row.content,
                                        _("Unknown SKU %(sku)s.") % {"sku": sku},
                                        "unknown_sku"))
        elif quantity < product.min_order_quantity:
            problems.append(Problem(row.number, row.content, _(
                "The minimum order is %(moq)s.") % {"moq": product.min_order_quantity},
                "below_minimum"))
        else:
            if product.pk in first_row:
                notices.append(Problem(row.number, row.content, _(
                    "Same product as line %(first)s: the quantities are added.") % {
                    "first": first_row[product.pk]}, "duplicate"))
            else:
                first_row[product.pk] = row.number
            good.append(Good(row.number, row.content, product, quantity, row.note))
    problems.sort(key=lambda problem: problem.number)
    return Checked(good=good, problems=problems, notices=notices)


# --- Reading text --------------------------------------------------------------------------


def rows_from_text(text, *, max_lines):
    """Textarea lines → (rows, problems). Blank lines are skipped; past `max_lines` one
    "too many lines" problem ends the reading."""
    rows, problems = [], []
    for number, raw in enumerate((text or "").splitlines()[: max_lines + 1], start=1):
        if not raw.strip():
            continue
        content = raw[:80]
        if number > max_lines:
            problems.append(Problem(number, content, _("Too many lines."), "too_many_lines"))
            break
        match = TEXT_LINE.match(raw)
        if not match:
            problems.append(Problem(number, content, _("Write “SKU, quantity”."), "format"))
            continue
        rows.append(Row(number, content, match.group(1), match.group(2)))
    return rows, problems


# --- Reading files -------------------------------------------------------------------------


def too_large_message():
    return _("The file is larger than %(mb)s MB.") % {"mb": MAX_UPLOAD_BYTES // (1024 * 1024)}


def _unsupported():
    return HubError(_("Upload a CSV file (UTF-8) or an Excel workbook (.xlsx)."),
                    code="unsupported_file", field="file")


def _too_many():
    return HubError(_("A file may have at most %(max)s lines.") % {"max": MAX_UPLOAD_LINES},
                    code="too_many_lines", field="file")


def _cell_text(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    return str(value).strip()[:200]


def _xlsx_table(data):
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - any failure to open untrusted input
        raise HubError(_("This spreadsheet cannot be read. Save it again as .xlsx or CSV."),
                       code="unsupported_file", field="file") from exc
    try:
        if not workbook.worksheets:
            return []
        table, filled = [], 0
        for index, values in enumerate(workbook.worksheets[0].iter_rows(values_only=True),
                                       start=1):
            if index > MAX_SHEET_ROWS:
                raise _too_many()
            cells = [value if isinstance(value, int | float) and not isinstance(value, bool)
                     else _cell_text(value) for value in (values or ())[:20]]
            if any(cell not in ("", None) for cell in cells):
                filled += 1
                table.append((index, cells))
                if filled > MAX_UPLOAD_LINES + 1:  # + 1: the header
                    raise _too_many()
        return table
    except HubError:
        raise
    except Exception as exc:  # noqa: BLE001 - a broken sheet inside a valid zip
        raise HubError(_("This spreadsheet cannot be read. Save it again as .xlsx or CSV."),
                       code="unsupported_file", field="file") from exc
    finally:
        workbook.close()


def _csv_table(data):
    if b"\x00" in data:
        raise _unsupported()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise HubError(_("The file is not UTF-8 text. Save it as “CSV UTF-8” or as .xlsx."),
                       code="unsupported_file", field="file") from exc
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = "\t" if "\t" in first else (";" if ";" in first else ",")
    table = []
    try:
        for index, cells in enumerate(csv.reader(io.StringIO(text), delimiter=delimiter),
                                      start=1):
            table.append((index, [cell.strip()[:200] for cell in cells[:20]]))
            if len(table) > MAX_UPLOAD_LINES * 5 + 1:
                raise _too_many()
    except csv.Error as exc:
        raise HubError(_("This CSV file cannot be read: %(error)s") % {"error": exc},
                       code="unsupported_file", field="file") from exc
    return table


def _is_header(cells):
    names = [str(cell).strip().lower() for cell in cells]
    return any(name in SKU_HEADERS for name in names) and (
        any(name in QUANTITY_HEADERS for name in names) or _quantity(
            cells[1] if len(cells) > 1 else None) is None)


def _columns(cells):
    names = [str(cell).strip().lower() for cell in cells]

    def find(known, default):
        return next((index for index, name in enumerate(names) if name in known), default)

    return find(SKU_HEADERS, 0), find(QUANTITY_HEADERS, 1), find(NOTE_HEADERS, 2)


def _content(cells, delimiter):
    return delimiter.join(_cell_text(cell) for cell in cells).rstrip(delimiter)[
        :CONTENT_LENGTH]


def rows_from_upload(uploaded):
    """An uploaded file (anything with `.size` and `.read()`) → [Row]. Refuses the whole
    file (HubError) when it is too large, too long, empty or not a CSV/.xlsx file."""
    size = getattr(uploaded, "size", None)
    if size is not None and size > MAX_UPLOAD_BYTES:
        raise HubError(too_large_message(), code="too_large", field="file")
    data = uploaded.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise HubError(too_large_message(), code="too_large", field="file")
    if not data.strip():
        raise HubError(_("The file is empty."), code="empty_file", field="file")
    if data[:4] == b"PK\x03\x04":
        table, delimiter = _xlsx_table(data), " | "
    elif data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise HubError(_("Old Excel files (.xls) cannot be read: save it as .xlsx or CSV."),
                       code="unsupported_file", field="file")
    else:
        table, delimiter = _csv_table(data), ", "
    table = [(number, cells) for number, cells in table
             if any(cell not in ("", None) for cell in cells)]
    if not table:
        raise HubError(_("The file is empty."), code="empty_file", field="file")
    sku_col, qty_col, note_col = 0, 1, 2
    if _is_header(table[0][1]):
        sku_col, qty_col, note_col = _columns(table[0][1])
        table = table[1:]
    if len(table) > MAX_UPLOAD_LINES:
        raise _too_many()
    if not table:
        raise HubError(_("The file has a header but no lines."), code="empty_file",
                       field="file")

    def cell(cells, index):
        return cells[index] if index < len(cells) else None

    return [Row(number, _content(cells, delimiter), _cell_text(cell(cells, sku_col)),
                cell(cells, qty_col), _cell_text(cell(cells, note_col))[:200])
            for number, cells in table]


# --- The report as CSV ---------------------------------------------------------------------
