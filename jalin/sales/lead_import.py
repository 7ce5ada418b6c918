"""CSV import of leads: all or nothing.

The CRM's import machinery (`jalin.crm.imports`) maps columns onto accounts and contacts with
duplicate handling and background jobs; leads need less, so this is a straightforward import:

- a UTF-8 (BOM allowed) CSV with a header row; columns are lead field names
  (`first_name`, `last_name`, `company`, `job_title`, `email`, `phone`, `website`,
  `industry`, `company_size`, `country`, `region`, `city`, `message`, `email_opt_in`) or
  their labels; unknown columns are ignored and listed;
- at most `MAX_BYTES` and `MAX_ROWS` rows;
- every row is checked first with the same rules as any other lead. If any row is wrong,
  NOTHING is written and the errors are reported per row (line number, field, message);
  otherwise all rows are created in one transaction (source "import", scored and assigned
  like any lead).
"""

import csv
import io
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from jalin.tenancy.services import TenancyError

from . import leads
from .models import Lead, LeadSource

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 5000
MAX_REPORTED = 100
COLUMNS = ("first_name", "last_name", "company", "job_title", "email", "phone", "website",
           "industry", "company_size", "country", "region", "city", "message", "email_opt_in")
ALIASES = {"first name": "first_name", "last name": "last_name", "job title": "job_title",
           "company size": "company_size", "e-mail": "email", "opt in": "email_opt_in",
           "agrees to email": "email_opt_in"}
TRUE = {"1", "yes", "y", "true", "ya", "x"}


@dataclass
class ImportResult:
    created: int = 0
    rows: int = 0
    errors: list = field(default_factory=list)  # [{"line", "field", "message"}]
    ignored_columns: list = field(default_factory=list)


class ImportRefused(TenancyError):
    def __init__(self, message, result=None, code="invalid_import"):
        super().__init__(message, code=code, field="file")
        self.result = result or ImportResult()


def _read(upload):
    if upload is None:
        raise ImportRefused(_("Choose a CSV file."), code="required")
    if getattr(upload, "size", 0) > MAX_BYTES:
        raise ImportRefused(_("The file is larger than 2 MB."), code="too_large")
    raw = upload.read(MAX_BYTES + 1)
    if len(raw) > MAX_BYTES:
        raise ImportRefused(_("The file is larger than 2 MB."), code="too_large")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportRefused(_("Save the file as UTF-8 CSV."), code="encoding") from None


def parse(text):
    """(rows as dicts of lead fields with their line numbers, ignored column names)."""
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    header = next(reader, None)
    if not header:
        raise ImportRefused(_("The file is empty."), code="empty")
    names, ignored = [], []
    for column in header:
        key = column.strip().lower()
        key = ALIASES.get(key, key.replace(" ", "_"))
        names.append(key if key in COLUMNS else None)
        if key not in COLUMNS and column.strip():
            ignored.append(column.strip())
    if not any(names):
        raise ImportRefused(_("No known columns. Use e.g. first_name, last_name, company, "
                              "email, phone."), code="no_columns")
    rows = []
    for values in reader:
        if not any(value.strip() for value in values):
            continue
        if len(rows) >= MAX_ROWS:
            raise ImportRefused(_("At most %(max)d rows per file.") % {"max": MAX_ROWS},
                                code="too_many_rows")
        row = {}
        for name, value in zip(names, values, strict=False):
            if name:
                row[name] = value.strip()
        if "email_opt_in" in row:
            row["email_opt_in"] = row["email_opt_in"].lower() in TRUE
        rows.append((reader.line_num, row))
    return rows, ignored


def import_leads(*, organization, actor, upload):
    """Import every row or none; returns an ImportResult (raises ImportRefused with the
    per-row errors when any row is wrong)."""
    rows, ignored = parse(_read(upload))
    result = ImportResult(rows=len(rows), ignored_columns=ignored)
    if not rows:
        raise ImportRefused(_("The file has no rows."), result, code="empty")
    for line, row in rows:
        try:
            leads._clean_fields(organization, Lead(organization=organization), dict(row))
        except ValidationError as error:
            for name, messages in error.message_dict.items():
                result.errors.append({"line": line, "field": name,
                                      "message": " ".join(messages)})
        except TenancyError as error:
            result.errors.append({"line": line, "field": error.field or "",
                                  "message": error.message})
    if result.errors:
        result.errors = result.errors[:MAX_REPORTED]
        raise ImportRefused(_("Nothing was imported: fix the rows listed and try again."),
                            result, code="row_errors")
    with transaction.atomic():
        for _line, row in rows:
            leads.lead_create(organization=organization, actor=actor, source=LeadSource.IMPORT,
                              **row)
            result.created += 1
    return result
