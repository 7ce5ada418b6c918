"""Reading import files: CSV (encoding and delimiter detection) and vCard (3.0 and 4.0).

Both produce rows as `(row_number, {field or column: value})`. CSV rows are keyed by column
name (the mapping turns them into fields); vCard rows are keyed by field name already.
Row numbers are what a person sees: the CSV header is row 1, so the first data row is 2;
vCards are numbered from 1 in file order.
"""

import csv
import io
import re

import vobject
from django.utils.translation import gettext as _

MAX_ROWS = 1_000_000
DELIMITERS = (",", ";", "\t")
MAX_EXTRA = 10


class FileProblem(Exception):
    """The file as a whole cannot be imported; the message says why."""


def decode(data):
    """(text, encoding): UTF-8 with or without BOM, else Windows-1252, else Latin-1."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    for encoding in ("utf-8", "cp1252"):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1"), "latin-1"


def sniff_delimiter(text):
    """The delimiter used most on the header line (outside quotes): `,`, `;` or tab."""
    first = text.split("\n", 1)[0]
    first = re.sub(r'"[^"]*"', "", first)
    counts = {delimiter: first.count(delimiter) for delimiter in DELIMITERS}
    best = max(DELIMITERS, key=lambda delimiter: counts[delimiter])
    return best if counts[best] else ","


def _unique_headers(headers):
    seen = {}
    result = []
    for header in headers:
        name = " ".join((header or "").split()) or _("Column %(n)d") % {"n": len(result) + 1}
        if name in seen:
            seen[name] += 1
            name = f"{name} ({seen[name]})"
        else:
            seen[name] = 1
        result.append(name)
    return result


def _reader(text, delimiter):
    return csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)


def inspect_csv(data):
    """{"encoding", "delimiter", "headers", "total_rows"} or FileProblem."""
    if b"\x00" in data[:4096]:
        raise FileProblem(_("This does not look like a CSV file."))
    text, encoding = decode(data)
    delimiter = sniff_delimiter(text)
    total = 0
    headers = None
    try:
        for cells in _reader(text, delimiter):
            if headers is None:
                if any(cell.strip() for cell in cells):
                    headers = _unique_headers(cells)
                continue
            if any(cell.strip() for cell in cells):
                total += 1
                if total > MAX_ROWS:
                    raise FileProblem(_("The file has more than %(max)d rows.")
                                      % {"max": MAX_ROWS})
    except csv.Error as error:
        raise FileProblem(_("The file cannot be read as CSV: %(error)s")
                          % {"error": error}) from None
    if not headers:
        raise FileProblem(_("The file is empty: the first line must name the columns."))
    return {"encoding": encoding, "delimiter": delimiter, "headers": headers,
            "total_rows": total}


def csv_rows(data, *, delimiter, headers):
    """(row_number, {column: value}) for every non-blank data row."""
    text, _encoding = decode(data)
    reader = _reader(text, delimiter)
    header_seen = False
    for cells in reader:
        number = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        if not header_seen:
            header_seen = True
            continue
        yield number, {header: (cells[index].strip() if index < len(cells) else "")
                       for index, header in enumerate(headers)}


# --- vCard ----------------------------------------------------------------------------------


def _texts(card, name):
    return [item for item in card.contents.get(name, [])]


def _is_pref(item):
    params = {key.upper(): [str(v).lower() for v in values]
              for key, values in item.params.items()}
    return "pref" in params.get("TYPE", []) or "PREF" in params


def _ordered_values(items):
    items = sorted(items, key=lambda item: not _is_pref(item))
    values = []
    for item in items:
        value = str(item.value or "").strip()
        if value.lower().startswith("tel:"):
            value = value[4:]
        if value.lower().startswith("mailto:"):
            value = value[7:]
        if value and value not in values:
            values.append(value)
    return values


def _as_text(value):
    if isinstance(value, (list, tuple)):
        return " ".join(str(part) for part in value if part).strip()
    return str(value or "").strip()


def card_to_row(card):
    """The contact fields of one vCard."""
    row = {}
    n = card.contents.get("n")
    if n:
        name = n[0].value
        row["first_name"] = " ".join(
            part for part in (_as_text(name.given), _as_text(name.additional)) if part)
        row["last_name"] = _as_text(name.family)
    fn = card.contents.get("fn")
    if fn and not row.get("last_name"):
        parts = _as_text(fn[0].value).rsplit(" ", 1)
        row["first_name"], row["last_name"] = (parts if len(parts) == 2 else ["", parts[0]])
    if not row.get("last_name") and row.get("first_name"):
        row["last_name"], row["first_name"] = row["first_name"], ""
    org = card.contents.get("org")
    if org:
        row["account"] = _as_text(org[0].value[:1] if isinstance(org[0].value, list)
                                  else org[0].value)
    title = card.contents.get("title")
    if title:
        row["job_title"] = _as_text(title[0].value)
    emails = _ordered_values(_texts(card, "email"))
    if emails:
        row["email"] = emails[0]
        row["extra_emails"] = emails[1:MAX_EXTRA + 1]
    phones = _ordered_values(_texts(card, "tel"))
    if phones:
        row["phone"] = phones[0]
        row["extra_phones"] = phones[1:MAX_EXTRA + 1]
    return row


def _unfold_text(data):
    text, _encoding = decode(data)
    return text


def vcard_rows(data):
    """(card_number, fields) for each card; a card that cannot be read gives
    (card_number, None)."""
    text = _unfold_text(data)
    blocks = re.findall(r"BEGIN:VCARD.*?END:VCARD", text, flags=re.S | re.I)
    for number, block in enumerate(blocks, start=1):
        try:
            card = vobject.readOne(block, ignoreUnreadable=True)
        except Exception:  # noqa: BLE001 - vobject raises many kinds; the card is reported
            yield number, None
            continue
        yield number, card_to_row(card)


def inspect_vcard(data):
    text = _unfold_text(data)
    count = len(re.findall(r"^BEGIN:VCARD", text, flags=re.M | re.I))
    if not count:
        raise FileProblem(_("The file has no vCards (BEGIN:VCARD)."))
    if count > MAX_ROWS:
        raise FileProblem(_("The file has more than %(max)d rows.") % {"max": MAX_ROWS})
    return {"encoding": "utf-8", "delimiter": "", "headers": [], "total_rows": count}
