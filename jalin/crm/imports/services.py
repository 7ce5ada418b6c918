"""Importing accounts and contacts from CSV and vCard files.

The life of an `ImportJob`: `import_create` stores the file privately, reads its columns and
guesses the mapping (status uploaded) → `import_configure` changes mapping and options →
`import_check` (dry run) and `import_start` (the real run) queue the `import_process` task.

The task checks EVERY row with the same rules as the forms and the API (the services'
normalizers and `full_clean`, custom field rules, references limited to the organization),
moving `processed_rows` every 500 rows in its own short transaction. A job with any error
writes nothing unless the user asked for "only the valid rows". The write is one transaction:
bulk inserts/updates in batches of 1000, search rows, one audit row per record and one
`crm.import.finished` event with the counts.

`ImportJob.mapping` holds {"columns": {column: field}, "headers": [...], "encoding",
"delimiter", "options": {"on_existing": "update"|"skip", "valid_only": bool},
"mode": "check"|"import", "result": {"created", "updated", "skipped"}}.
"""

import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from jalin.core.audit import audit_record
from jalin.core.events import emit_event
from jalin.core.models import AuditLog
from jalin.core.params import int_param
from jalin.core.request_context import current_request_id
from jalin.tenancy.models import Membership

from .. import services as crm_services
from ..custom_fields import clean_custom_values, definitions_for
from ..models import (
    Account,
    AccountSize,
    AccountStatus,
    AccountTier,
    Contact,
    ImportJob,
    ImportStatus,
    RelationshipRole,
    SearchDocument,
    Tag,
)
from ..search import index as search_index
from . import reading
from .fields import ACCOUNT_FIELDS, CONTACT_FIELDS, field_choices, guess_mapping

logger = logging.getLogger("jalin.crm.imports")

TARGETS = ("contact", "account")
FORMATS = ("csv", "vcard")
PROGRESS_EVERY = 500
BATCH_SIZE = 1000
IN_MEMORY_ROWS = 100_000
MAX_STORED_ERRORS = 10_000
ACTIVE = (ImportStatus.QUEUED, ImportStatus.RUNNING)
_TRUE = {"true", "1", "yes", "y", "ya", "on", "x"}
_FALSE = {"false", "0", "no", "n", "tidak", "off", ""}


class ImportProblem(crm_services.CrmError):
    """An import request that cannot be carried out."""


class FileTooLarge(ImportProblem):
    pass


class _RowsChanged(Exception):
    """A row that passed the check failed while writing: roll back."""


# --- Jobs -----------------------------------------------------------------------------------


def import_create(*, organization, actor, target, format, uploaded):
    """Store the uploaded file and read its shape; `uploaded` is a Django UploadedFile."""
    if target not in TARGETS:
        raise ImportProblem(_("Import into accounts or contacts."), code="invalid_target",
                           field="target")
    if format not in FORMATS:
        raise ImportProblem(_("Import a CSV or vCard file."), code="invalid_format",
                           field="format")
    if format == "vcard" and target != "contact":
        raise ImportProblem(_("vCard files hold contacts."), code="invalid_target",
                           field="target")
    if uploaded is None:
        raise ImportProblem(_("Choose a file."), code="required", field="file")
    if uploaded.size > settings.JALIN_IMPORT_MAX_BYTES:
        raise FileTooLarge(_("The file is larger than %(limit)d MB.")
                           % {"limit": settings.JALIN_IMPORT_MAX_BYTES // (1024 * 1024)},
                           code="too_large", field="file")
    data = uploaded.read()
    if not data.strip():
        raise ImportProblem(_("The file is empty."), code="empty", field="file")
    try:
        shape = (reading.inspect_vcard(data) if format == "vcard"
                 else reading.inspect_csv(data))
    except reading.FileProblem as problem:
        raise ImportProblem(str(problem), code="invalid_file", field="file") from None
    columns = (guess_mapping(organization=organization, target=target,
                             headers=shape["headers"]) if format == "csv" else {})
    name = (getattr(uploaded, "name", "") or "import").rsplit("/", 1)[-1][:200]
    job = ImportJob(
        organization=organization, created_by=actor if actor.is_authenticated else None,
        target=target, format=format, original_name=name, total_rows=shape["total_rows"],
        mapping={"columns": columns, "headers": shape["headers"],
                 "encoding": shape["encoding"], "delimiter": shape["delimiter"],
                 "options": {"on_existing": "update", "valid_only": False},
                 "mode": "", "result": {}},
    )
    with transaction.atomic():
        job.file.save(f"imports/{organization.pk}/{timezone.now():%Y%m%d%H%M%S}.dat",
                      ContentFile(data), save=False)
        job.save()
        audit_record(actor=actor, organization=organization, action="crm.import.uploaded",
                     obj=job, after={"target": target, "format": format, "file": name,
                                     "rows": job.total_rows})
    return job


def import_configure(*, job, actor, columns=None, on_existing=None, valid_only=None):
    """Change the column mapping and options. Only while the job is not running or done."""
    with transaction.atomic():
        locked = ImportJob.objects.select_for_update().get(pk=job.pk)
        if locked.status in ACTIVE or locked.status == ImportStatus.DONE:
            raise ImportProblem(_("This import has already run."), code="not_editable",
                               field="status")
        mapping = dict(locked.mapping)
        if columns is not None:
            if not isinstance(columns, dict):
                raise ImportProblem(_("Send the mapping as column: field."),
                                   code="invalid_mapping", field="mapping")
            valid = {name for name, _label in field_choices(
                organization=locked.organization, target=locked.target)}
            headers = mapping.get("headers", [])
            cleaned = {}
            used = set()
            for column in headers:
                field = columns.get(column, mapping["columns"].get(column, "")) or ""
                if field and field not in valid:
                    raise ImportProblem(_("Unknown field %(field)s for column %(column)s.")
                                       % {"field": field, "column": column},
                                       code="invalid_mapping", field=f"mapping.{column}")
                if field and field in used:
                    raise ImportProblem(_("Two columns are mapped to %(field)s.")
                                       % {"field": field}, code="invalid_mapping",
                                       field=f"mapping.{column}")
                used.add(field)
                cleaned[column] = field
            unknown = set(columns) - set(headers)
            if unknown:
                raise ImportProblem(_("The file has no column %(column)s.")
                                   % {"column": sorted(unknown)[0]}, code="invalid_mapping",
                                   field="mapping")
            mapping["columns"] = cleaned
        options = dict(mapping.get("options", {}))
        if on_existing is not None:
            if on_existing not in ("update", "skip"):
                raise ImportProblem(_("Choose update or skip."), code="invalid_option",
                                   field="on_existing")
            options["on_existing"] = on_existing
        if valid_only is not None:
            options["valid_only"] = bool(valid_only)
        mapping["options"] = options
        if mapping != locked.mapping:
            locked.mapping = mapping
            if locked.status != ImportStatus.UPLOADED:
                locked.status = ImportStatus.UPLOADED  # the check must run again
            locked.save(update_fields=["mapping", "status"])
    return locked


def _matching_ready(job):
    if job.format != "csv":
        return
    fields = set(job.mapping.get("columns", {}).values())
    needed = {"last_name"} if job.target == "contact" else {"name"}
    if not (needed & fields or "id" in fields or (job.target == "contact"
                                                   and "email" in fields)):
        raise ImportProblem(
            _("Map a column to %(field)s (or to the Jalin id to update records).")
            % {"field": "last_name" if job.target == "contact" else "name"},
            code="mapping_incomplete", field="mapping")


def _queue(*, job, actor, mode, valid_only=None):
    with transaction.atomic():
        locked = ImportJob.objects.select_for_update().get(pk=job.pk)
        if locked.status in ACTIVE:
            raise ImportProblem(_("This import is already running."), code="running",
                               field="status")
        if locked.status == ImportStatus.DONE:
            raise ImportProblem(_("This import has already run."), code="done", field="status")
        _matching_ready(locked)
        mapping = dict(locked.mapping)
        if valid_only is not None:
            mapping["options"] = {**mapping.get("options", {}), "valid_only": bool(valid_only)}
        mapping["mode"] = mode
        mapping["phase"] = "check"
        locked.mapping = mapping
        locked.status = ImportStatus.QUEUED
        locked.processed_rows = 0
        locked.save(update_fields=["mapping", "status", "processed_rows"])
        audit_record(actor=actor, organization=locked.organization,
                     action=f"crm.import.{'checked' if mode == 'check' else 'started'}",
                     obj=locked, after={"options": mapping["options"]})
    from .tasks import import_process

    import_process.enqueue(job_id=locked.pk)
    locked.refresh_from_db()
    return locked


def import_check(*, job, actor):
    """Queue the dry run: every row is checked, nothing is written."""
    return _queue(job=job, actor=actor, mode="check")


def import_start(*, job, actor, valid_only=None):
    """Queue the real import."""
    return _queue(job=job, actor=actor, mode="import", valid_only=valid_only)


# --- Checking rows --------------------------------------------------------------------------


def _choice(value, choices):
    text = (value or "").strip()
    if not text:
        return ""
    for choice_value, label in choices:
        if text.lower() in (choice_value.lower(), str(label).lower()):
            return choice_value
    return text  # full_clean reports it as an invalid choice


def _split(value):
    if isinstance(value, list):
        return [str(item).strip() for item in value if str(item).strip()]
    return [part.strip() for part in str(value or "").replace(";", ",").split(",")
            if part.strip()]


def _messages(error):
    """[(field, message)] of a ValidationError or CrmError."""
    if isinstance(error, crm_services.CrmError):
        field = (error.field or "").removesuffix("_id")
        return [(field, error.message)]
    if hasattr(error, "error_dict"):
        result = []
        for field, errors in error.error_dict.items():
            for item in errors:
                result.append(("" if field == "__all__" else field, " ".join(item.messages)))
        return result
    return [("", " ".join(error.messages))]


class Importer:
    """Checks and builds the records of one job, a chunk of rows at a time."""

    def __init__(self, job):
        self.job = job
        self.organization = job.organization
        self.target = job.target
        self.model = Contact if job.target == "contact" else Account
        self.options = job.mapping.get("options", {})
        self.columns = {column: field for column, field in
                        job.mapping.get("columns", {}).items() if field}
        self.column_of = {field: column for column, field in self.columns.items()}
        self.definitions = definitions_for(organization=self.organization, target=job.target)
        self.seen = {}
        members = (Membership.objects.filter(organization=self.organization, is_active=True)
                   .values_list("user_id", "user__username", "user__email"))
        self.owners = {}
        for user_id, username, email in members:
            self.owners[username.lower()] = user_id
            if email:
                self.owners.setdefault(email.lower(), user_id)
        self.accounts_by_name = {}
        self.account_names = {}
        self.accounts_by_tax = {}
        needs_accounts = (job.target == "account" or job.format == "vcard"
                          or "account" in self.column_of)
        if needs_accounts:
            rows = (Account.objects.filter(organization=self.organization,
                                           archived_at__isnull=True)
                    .order_by("id").values_list("id", "name", "tax_id"))
            for account_id, name, tax_id in rows.iterator(chunk_size=5000):
                self.accounts_by_name.setdefault(" ".join(name.lower().split()),
                                                 []).append(account_id)
                self.account_names[account_id] = name
                if tax_id:
                    self.accounts_by_tax.setdefault(tax_id.strip().lower(), account_id)

    # rows -> field values
    def rows(self):
        self.job.file.open("rb")
        try:
            data = self.job.file.read()
        finally:
            self.job.file.close()
        if self.job.format == "vcard":
            yield from reading.vcard_rows(data)
            return
        headers = self.job.mapping.get("headers", [])
        for number, cells in reading.csv_rows(data, delimiter=self.job.mapping["delimiter"],
                                              headers=headers):
            yield number, {field: cells.get(column, "")
                           for column, field in self.columns.items()}

    def column(self, field):
        if self.job.format == "vcard":
            return field
        return self.column_of.get(field, field)

    # matching existing records, a chunk at a time
    def existing_for(self, chunk):
        ids, emails = set(), set()
        for _number, values in chunk:
            if values is None:
                continue
            raw_id = int_param(values.get("id"), positive=True)
            if raw_id:
                ids.add(raw_id)
            if self.target == "contact":
                email = str(values.get("email", "") or "").strip().lower()
                if email:
                    emails.add(email)
        if self.target == "account":
            for _number, values in chunk:
                if values is None or str(values.get("id", "") or "").strip():
                    continue
                account_id = self._account_match_id(values)
                if account_id:
                    ids.add(account_id)
        found = {"id": {}, "email": {}}
        base = self.model.objects.filter(organization=self.organization,
                                         archived_at__isnull=True)
        if ids:
            for record in base.filter(pk__in=ids):
                found["id"][record.pk] = record
        if emails:
            for record in base.filter(email__in=emails).order_by("id"):
                found["email"].setdefault(record.email, record)
        return found

    def match(self, values, found):
        """(existing record or None, [errors])"""
        raw_id = str(values.get("id", "") or "").strip()
        if raw_id:
            record = found["id"].get(int_param(raw_id, positive=True))
            if record is None:
                return None, [("id", _("No record with this id in this organization."))]
            return record, []
        if self.target == "contact":
            email = str(values.get("email", "") or "").strip().lower()
            return found["email"].get(email), []
        account_id = self._account_match_id(values)
        return (found["id"].get(account_id) if account_id else None), []

    def _account_match_id(self, values):
        """An existing account with the row's tax id, else with its name."""
        tax_id = str(values.get("tax_id", "") or "").strip().lower()
        account_id = self.accounts_by_tax.get(tax_id) if tax_id else None
        if account_id is None:
            name = " ".join(str(values.get("name", "") or "").lower().split())
            ids = self.accounts_by_name.get(name, []) if name else []
            account_id = ids[0] if ids else None
        return account_id

    def _duplicate_in_file(self, number, values):
        keys = []
        if self.target == "contact":
            email = str(values.get("email", "") or "").strip().lower()
            if email:
                keys.append(("email", email))
        else:
            name = " ".join(str(values.get("name", "") or "").lower().split())
            if name:
                keys.append(("name", name))
            tax_id = str(values.get("tax_id", "") or "").strip().lower()
            if tax_id:
                keys.append(("tax_id", tax_id))
        raw_id = str(values.get("id", "") or "").strip()
        if raw_id:
            keys.append(("id", raw_id))
        errors = []
        for field, key in keys:
            first = self.seen.setdefault((field, key), number)
            if first != number:
                errors.append((field, _("Same value as row %(row)d.") % {"row": first}))
        return errors

    def build(self, number, values, found):
        """(action, record, errors): action is "create", "update" or "skip"."""
        if values is None:
            return "error", None, [("", _("This card cannot be read."))]
        errors = self._duplicate_in_file(number, values)
        existing, match_errors = self.match(values, found)
        errors += match_errors
        if existing is not None and self.options.get("on_existing") == "skip":
            return "skip", existing, errors
        record = existing if existing is not None else self.model(
            organization=self.organization)
        action = "update" if existing is not None else "create"
        if existing is not None:
            # Blank cells leave existing values alone; they never erase data.
            values = {key: value for key, value in values.items() if value not in ("", [])}
        fields, custom = {}, {}
        for field, value in values.items():
            if field == "id":
                continue
            if field.startswith("custom."):
                custom[field.removeprefix("custom.")] = value
            else:
                fields[field] = value
        errors += (self._contact_fields(record, fields) if self.target == "contact"
                   else self._account_fields(record, fields))
        try:
            record.custom = clean_custom_values(
                definitions=self.definitions, values=custom,
                existing=record.custom if existing is not None else None,
                partial=existing is not None)
        except ValidationError as error:
            errors += _messages(error)
        return action, record, errors

    def _reference_errors(self, record, fields):
        errors = []
        owner = fields.pop("owner", None)
        if owner not in (None, ""):
            user_id = self.owners.get(str(owner).strip().lower())
            if user_id is None:
                errors.append(("owner", _("No member of this organization is called %(v)s.")
                               % {"v": owner}))
            else:
                record.owner_id = user_id
        return errors

    def _account_by_name(self, field, value):
        name = " ".join(str(value).lower().split())
        ids = self.accounts_by_name.get(name, [])
        if not ids:
            return None, [(field, _("No account named %(name)s in this organization.")
                           % {"name": value})]
        if len(ids) > 1:
            return None, [(field, _("Several accounts are named %(name)s.") % {"name": value})]
        return ids[0], []

    def _contact_fields(self, contact, fields):
        errors = self._reference_errors(contact, fields)
        account = fields.pop("account", None)
        if account not in (None, ""):
            account_id, account_errors = self._account_by_name("account", account)
            if self.job.format == "vcard":
                account_errors = []  # a card's company that is not an account is left out
            errors += account_errors
            if account_id:
                contact.account_id = account_id
        clean = {}
        for name, value in fields.items():
            try:
                if name == "email":
                    clean[name] = crm_services._normalize_email(value)
                elif name == "extra_emails":
                    clean[name] = [crm_services._normalize_email(item, name)
                                   for item in _split(value)]
                elif name == "phone":
                    clean[name] = crm_services.normalize_phone(
                        value, region=self.organization.country)
                elif name == "extra_phones":
                    items = value if isinstance(value, list) else \
                        [part.strip() for part in str(value).split(";") if part.strip()]
                    clean[name] = [crm_services.normalize_phone(
                        item, region=self.organization.country, field=name) for item in items]
                elif name in ("email_opt_in", "phone_opt_in"):
                    text = str(value).strip().lower()
                    if text not in _TRUE | _FALSE:
                        errors.append((name, _("Enter yes or no.")))
                        continue
                    clean[name] = text in _TRUE
                elif name == "relationship_role":
                    clean[name] = _choice(value, RelationshipRole.choices)
                else:
                    clean[name] = value
            except ValidationError as error:
                errors += _messages(error)
        try:
            crm_services._apply_contact_fields(contact, self.organization, clean)
        except (ValidationError, crm_services.CrmError) as error:
            errors += _messages(error)
        return errors

    def _account_fields(self, account, fields):
        errors = self._reference_errors(account, fields)
        tags = fields.pop("tags", None)
        account._import_tags = []
        if tags not in (None, ""):
            names = []
            for name in _split(tags):
                name = " ".join(name.split())
                if len(name) > 60:
                    errors.append(("tags", _("A tag has at most 60 characters.")))
                elif name.lower() not in {known.lower() for known in names}:
                    names.append(name)
            if len(names) > crm_services.MAX_TAGS:
                errors.append(("tags", _("At most %(max)d tags.")
                               % {"max": crm_services.MAX_TAGS}))
            account._import_tags = names
        parent = fields.pop("parent", None)
        if parent not in (None, ""):
            parent_id, parent_errors = self._account_by_name("parent", parent)
            errors += parent_errors
            if parent_id and parent_id == account.pk:
                errors.append(("parent", _("An account cannot be its own parent or ancestor.")))
            elif parent_id:
                account.parent_id = parent_id
        clean = {}
        for name, value in fields.items():
            if name == "size":
                clean[name] = _choice(value, AccountSize.choices)
            elif name == "tier":
                clean[name] = _choice(value, AccountTier.choices) or AccountTier.STANDARD
            elif name == "status":
                clean[name] = _choice(value, AccountStatus.choices) or AccountStatus.PROSPECT
            elif name == "phone":
                try:
                    clean[name] = crm_services.normalize_phone(
                        value, region=self.organization.country)
                except ValidationError as error:
                    errors += _messages(error)
            else:
                clean[name] = value
        try:
            crm_services._apply_account_fields(account, self.organization, clean)
        except (ValidationError, crm_services.CrmError) as error:
            errors += _messages(error)
        return errors

    def error_rows(self, number, errors):
        return [{"row": number, "column": self.column(field) if field else "",
                 "field": field, "message": message} for field, message in errors]


def _chunks(iterable, size):
    chunk = []
    for item in iterable:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# --- Running --------------------------------------------------------------------------------


def _save_progress(job, **fields):
    for name, value in fields.items():
        setattr(job, name, value)
    ImportJob.objects.filter(pk=job.pk).update(**fields)


def import_process(*, job_id):
    """The task body: check every row; with mode "import" and no blocking errors, write."""
    # Claim the job: of two workers handed the same job, one runs it.
    claimed = ImportJob.objects.filter(pk=job_id, status=ImportStatus.QUEUED).update(
        status=ImportStatus.RUNNING, processed_rows=0)
    if not claimed:
        return {"skipped": True}
    job = ImportJob.objects.select_related("organization", "created_by").get(pk=job_id)
    try:
        return _process(job)
    except Exception:
        logger.exception("Import %s failed", job.pk)
        _save_progress(job, status=ImportStatus.FAILED, finished_at=timezone.now(),
                       errors=[{"row": 0, "column": "", "field": "",
                                "message": _("The import stopped on an unexpected error. "
                                             "Nothing was written.")}],
                       error_count=1)
        raise


def _process(job):
    mode = job.mapping.get("mode", "check")
    valid_only = bool(job.mapping.get("options", {}).get("valid_only"))
    importer = Importer(job)
    errors, error_count, processed = [], 0, 0
    counts = {"create": 0, "update": 0, "skip": 0}
    # Small enough files keep the checked records for the write instead of building them again.
    prepared = [] if mode == "import" and job.total_rows <= IN_MEMORY_ROWS else None
    for chunk in _chunks(importer.rows(), PROGRESS_EVERY):
        found = importer.existing_for(chunk)
        for number, values in chunk:
            action, record, row_errors = importer.build(number, values, found)
            if row_errors:
                error_count += 1
                if len(errors) < MAX_STORED_ERRORS:
                    errors.extend(importer.error_rows(number, row_errors))
            else:
                counts[action] += 1
                if prepared is not None:
                    prepared.append((action, record))
        processed += len(chunk)
        _save_progress(job, processed_rows=processed)  # its own short transaction
    result = {"created": counts["create"], "updated": counts["update"],
              "skipped": counts["skip"], "invalid": error_count}
    mapping = {**job.mapping, "result": result}
    if mode == "check" or (error_count and not valid_only):
        status = ImportStatus.PREVIEWED if mode == "check" else ImportStatus.FAILED
        _save_progress(job, status=status, errors=errors[:MAX_STORED_ERRORS],
                       error_count=error_count, mapping=mapping, created_count=0,
                       updated_count=0, total_rows=processed,
                       finished_at=timezone.now() if mode == "import" else None)
        return result
    _save_progress(job, mapping={**job.mapping, "phase": "write"})
    try:
        written = _write(job, importer=importer, prepared=prepared, errors=errors,
                         error_count=error_count, processed=processed)
    except _RowsChanged:
        _save_progress(job, status=ImportStatus.FAILED, finished_at=timezone.now(),
                       errors=[{"row": 0, "column": "", "field": "", "message": _(
                           "Records changed while importing. Nothing was written; "
                           "check the file again.")}] + errors[:MAX_STORED_ERRORS - 1],
                       error_count=max(error_count, 1))
        return {"failed": True}
    return written


def _add_tags(organization, accounts):
    """Add each account's `_import_tags` (names; new tags are created), in three queries."""
    wanted = {name.lower(): name for account in accounts
              for name in getattr(account, "_import_tags", [])}
    if not wanted:
        return

    def existing():
        return {tag.name.lower(): tag for tag in Tag.objects.filter(organization=organization)
                .filter(name__in=list(wanted.values()))}
    tags = existing()
    missing = [Tag(organization=organization, name=name) for key, name in wanted.items()
               if key not in tags]
    if missing:
        Tag.objects.bulk_create(missing, ignore_conflicts=True)
        tags = existing()
    through = Account.tags.through
    through.objects.bulk_create(
        [through(account_id=account.pk, tag_id=tags[name.lower()].pk)
         for account in accounts for name in getattr(account, "_import_tags", [])
         if name.lower() in tags],
        ignore_conflicts=True, batch_size=BATCH_SIZE)


def _audit_rows(job, records, action):
    actor = job.created_by
    label = actor.get_username() if actor else "system"
    request_id = current_request_id()
    return [AuditLog(organization=job.organization, actor=actor, actor_label=label[:200],
                     action=action, object_type=record._meta.label_lower,
                     object_id=str(record.pk), object_repr=str(record)[:200],
                     after={"import_id": job.pk}, request_id=request_id)
            for record in records]


def _search_rows(importer, records):
    if importer.target == "contact":
        return [search_index.document_for_contact(
            record, account_name=importer.account_names.get(record.account_id, ""))
            for record in records]
    return [search_index.document_for_account(record) for record in records]


def _rebuilt(job, valid_only):
    """Chunks of (action, record) built again from the file (for files too big to keep)."""
    importer = Importer(job)
    for chunk in _chunks(importer.rows(), BATCH_SIZE):
        found = importer.existing_for(chunk)
        built = []
        for number, values in chunk:
            action, record, row_errors = importer.build(number, values, found)
            if row_errors:
                if not valid_only:
                    raise _RowsChanged()
                continue
            built.append((action, record))
        yield built


def _write(job, *, importer, prepared, errors, error_count, processed):
    """One transaction: the valid rows are written in bulk, with search and audit rows."""
    valid_only = bool(job.mapping.get("options", {}).get("valid_only"))
    model = importer.model
    kind = search_index.CONTACT if importer.target == "contact" else search_index.ACCOUNT
    update_fields = [name for name in (CONTACT_FIELDS if importer.target == "contact"
                                       else ACCOUNT_FIELDS) if name not in ("id", "tags")]
    if importer.target == "contact":
        update_fields += ["email_opt_in_at", "phone_opt_in_at"]
    update_fields += ["custom", "version", "updated_at"]
    created = updated = skipped = 0
    now = timezone.now()
    with transaction.atomic():
        chunks = (_chunks(prepared, BATCH_SIZE) if prepared is not None
                  else _rebuilt(job, valid_only))
        for chunk in chunks:
            new, changed = [], []
            for action, record in chunk:
                if action == "create":
                    record.created_at = record.updated_at = now
                    new.append(record)
                elif action == "update":
                    record.version += 1
                    record.updated_at = now
                    changed.append(record)
                else:
                    skipped += 1
            if changed:
                # Optimistic concurrency, as for forms: a record edited (or archived) since
                # it was read for this import stops the whole import; nothing is written.
                current = dict(model.objects.select_for_update()
                               .filter(pk__in=[record.pk for record in changed],
                                       archived_at__isnull=True)
                               .values_list("pk", "version"))
                if any(current.get(record.pk) != record.version - 1 for record in changed):
                    raise _RowsChanged()
            if new:
                model.objects.bulk_create(new, batch_size=BATCH_SIZE)
            if changed:
                model.objects.bulk_update(changed, update_fields, batch_size=BATCH_SIZE)
                SearchDocument.objects.filter(
                    organization=job.organization, kind=kind,
                    object_id__in=[record.pk for record in changed]).delete()
            SearchDocument.objects.bulk_create(_search_rows(importer, new + changed),
                                               batch_size=BATCH_SIZE)
            if importer.target == "account":
                _add_tags(job.organization, new + changed)
            AuditLog.objects.bulk_create(
                _audit_rows(job, new, f"crm.{importer.target}.created")
                + _audit_rows(job, changed, f"crm.{importer.target}.updated"),
                batch_size=BATCH_SIZE)
            created += len(new)
            updated += len(changed)
        result = {"created": created, "updated": updated, "skipped": skipped,
                  "invalid": error_count}
        job.mapping = {**job.mapping, "result": result}
        job.status = ImportStatus.DONE
        job.created_count = created
        job.updated_count = updated
        job.error_count = error_count
        job.errors = errors[:MAX_STORED_ERRORS]
        job.processed_rows = processed
        job.total_rows = processed
        job.finished_at = timezone.now()
        file_name, storage = job.file.name, job.file.storage
        job.file.name = ""  # the file is deleted once the import is committed
        job.save(update_fields=["mapping", "status", "created_count", "updated_count",
                                "error_count", "errors", "processed_rows", "total_rows",
                                "finished_at", "file"])
        audit_record(actor=job.created_by, organization=job.organization,
                     action="crm.import.finished", obj=job, after=result)
        emit_event(type="crm.import.finished", organization=job.organization, aggregate=job,
                   actor=job.created_by,
                   payload={"import_id": job.pk, "target": job.target, "format": job.format,
                            **result, "account_id": None, "contact_id": None,
                            "title": job.original_name[:120]})
        if file_name:
            transaction.on_commit(lambda: storage.delete(file_name))
    return result


# --- Reading a job for pages and the API ----------------------------------------------------


def preview_rows(job, limit=20):
    """The first `limit` rows as {field: value}, for the check page."""
    importer = Importer.__new__(Importer)
    importer.job = job
    importer.columns = {column: field for column, field in
                        job.mapping.get("columns", {}).items() if field}
    rows = []
    try:
        for number, values in importer.rows():
            rows.append((number, values or {}))
            if len(rows) >= limit:
                break
    except (OSError, ValueError):
        return []
    return rows


def sample_row(job):
    """The first data row of a CSV job as {column: value}, for the mapping page."""
    if job.format != "csv" or not job.file:
        return {}
    try:
        job.file.open("rb")
        try:
            data = job.file.read()
        finally:
            job.file.close()
    except (OSError, ValueError):
        return {}
    for _number, cells in reading.csv_rows(data, delimiter=job.mapping.get("delimiter", ","),
                                           headers=job.mapping.get("headers", [])):
        return cells
    return {}
