"""Catalog CSV files: export and import of products and of price list items.

Columns are fixed and named in English or Bahasa Indonesia (either is read back; exports use
the language of the page). Products: SKU, name, description, category (slug path from the
root, `building/paint`), unit, pack size, minimum order quantity, tax class, active, parent SKU
(the family a variant belongs to), attributes (`Colour=White; Size=5 L`) and the base price
(the 1-unit break of the base price list). Price list items: list (name), SKU, from quantity,
unit price.

The life of a `CatalogImportJob` follows the CRM's import (jalin/crm/imports): `import_create`
stores the file privately and queues the check (a background task) → the task checks EVERY
row with the services' own validation (`services.validate_product`, `clean_attributes`,
`check_variant`, the price rules) and records the errors per row, moving `processed_rows`
every 500 rows → `import_start` queues the real run, which writes nothing while any row is
bad (unless "only the valid rows" was chosen) and otherwise writes every row through the
services in ONE transaction (upsert by SKU; a failure rolls everything back). Blank cells of
an existing product leave its values alone.
"""

import csv
import io
import logging
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from jalin.core.audit import audit_record
from jalin.core.csv_cells import Echo, safe_cell
from jalin.core.events import emit_event

from . import services
from .models import (
    CatalogImportJob,
    CatalogImportStatus,
    Category,
    PriceList,
    PriceListItem,
    Product,
    TaxClass,
)

logger = logging.getLogger("jalin.hub.catalog_csv")

KINDS = ("products", "prices")
MAX_ROWS = 200_000
PROGRESS_EVERY = 500
MAX_STORED_ERRORS = 5_000
ACTIVE = (CatalogImportStatus.QUEUED, CatalogImportStatus.RUNNING)
TRUE = {"true", "1", "yes", "y", "ya", "aktif", "active", "x"}
FALSE = {"false", "0", "no", "n", "tidak", "nonaktif", "inactive"}

# field: (English header, Indonesian header)
PRODUCT_COLUMNS = {
    "sku": ("SKU", "SKU"),
    "name": ("Name", "Nama"),
    "description": ("Description", "Deskripsi"),
    "category": ("Category", "Kategori"),
    "unit": ("Unit", "Satuan"),
    "pack_size": ("Pack size", "Isi kemasan"),
    "min_order_quantity": ("Minimum order quantity", "Pesanan minimum"),
    "tax_class": ("Tax class", "Kelas pajak"),
    "is_active": ("Active", "Aktif"),
    "parent_sku": ("Parent SKU", "SKU induk"),
    "attributes": ("Attributes", "Atribut"),
    "base_price": ("Base price", "Harga dasar"),
}
PRICE_COLUMNS = {
    "price_list": ("Price list", "Daftar harga"),
    "sku": ("SKU", "SKU"),
    "min_quantity": ("From quantity", "Mulai jumlah"),
    "unit_price": ("Unit price", "Harga satuan"),
}
COLUMNS = {"products": PRODUCT_COLUMNS, "prices": PRICE_COLUMNS}
REQUIRED = {"products": ("sku",), "prices": ("price_list", "sku", "unit_price")}


class ImportProblem(services.HubError):
    """An import request that cannot be carried out (422, or 413 for `too_large`)."""


class _Rollback(Exception):
    def __init__(self, row, message):
        super().__init__(message)
        self.row, self.message = row, message


# --- Cells ---------------------------------------------------------------------------------


def _unsafe(text):
    """Undo `safe_cell` on import: a leading ' before a formula character is ours."""
    if len(text) > 1 and text[0] == "'" and text[1] in "=+-@\t\r":
        return text[1:]
    return text


def headers(kind, language=None):
    language = language or translation.get_language() or "en"
    index = 1 if language.startswith("id") else 0
    return [names[index] for names in COLUMNS[kind].values()]


def category_paths(supplier):
    """{category id: "root/child/..."} of the supplier's tree; one query."""
    rows = {pk: (parent_id, slug) for pk, parent_id, slug in
            Category.objects.filter(supplier=supplier).values_list("id", "parent_id", "slug")}
    paths = {}

    def path(pk, depth=0):
        if pk in paths:
            return paths[pk]
        parent_id, slug = rows[pk]
        result = slug if parent_id is None or depth > 50 or parent_id not in rows else \
            f"{path(parent_id, depth + 1)}/{slug}"
        paths[pk] = result
        return result

    for pk in rows:
        path(pk)
    return paths


def attributes_text(attributes):
    return "; ".join(f"{name}={value}" for name, value in (attributes or {}).items())


def parse_attributes(text):
    pairs = []
    for part in (text or "").split(";"):
        if not part.strip():
            continue
        name, found, value = part.partition("=")
        if not found:
            raise services.HubError(_("Write attributes as “name=value; name=value”."),
                                    code="invalid_attributes", field="attributes")
        pairs.append((name.strip(), value.strip()))
    return pairs


# --- Export --------------------------------------------------------------------------------


def _lines(header, rows):
    writer = csv.writer(Echo())
    yield "\ufeff"  # BOM, so spreadsheet programs read UTF-8
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow([safe_cell(value) for value in row])


def export_products(*, supplier, products, language=None):
    """CSV lines for `products` (a queryset of the supplier's products), streamed in chunks:
    a constant number of queries per 2,000 rows."""
    paths = category_paths(supplier)
    base = PriceList.objects.filter(supplier=supplier, is_base=True).first()

    def rows():
        chunk = []
        queryset = products.select_related("variant_of").order_by("sku", "id")
        for product in queryset.iterator(chunk_size=2000):
            chunk.append(product)
            if len(chunk) >= 2000:
                yield from _product_rows(chunk, paths, base)
                chunk = []
        if chunk:
            yield from _product_rows(chunk, paths, base)

    return _lines(headers("products", language), rows())


def _product_rows(products, paths, base):
    prices = {}
    if base is not None:
        prices = dict(PriceListItem.objects.filter(
            price_list=base, min_quantity=1, product_id__in=[p.pk for p in products])
            .values_list("product_id", "unit_price"))
    for product in products:
        price = prices.get(product.pk)
        yield [product.sku, product.name, product.description,
               paths.get(product.category_id, ""), product.unit, product.pack_size,
               product.min_order_quantity, product.tax_class,
               "yes" if product.is_active else "no",
               product.variant_of.sku if product.variant_of_id else "",
               attributes_text(product.attributes),
               "" if price is None else f"{price.normalize():f}"]


def export_prices(*, supplier, price_list=None, language=None):
    items = (PriceListItem.objects.filter(price_list__supplier=supplier)
             .select_related("price_list", "product")
             .order_by("price_list__name", "price_list_id", "product__sku", "min_quantity"))
    if price_list is not None:
        items = items.filter(price_list=price_list)

    def rows():
        for item in items.iterator(chunk_size=2000):
            yield [item.price_list.name, item.product.sku, item.min_quantity,
                   f"{item.unit_price.normalize():f}"]

    return _lines(headers("prices", language), rows())


# --- Reading files -------------------------------------------------------------------------


def _decode(data):
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    for encoding in ("utf-8", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def _delimiter(text):
    first = text.split("\n", 1)[0]
    counts = {delimiter: first.count(delimiter) for delimiter in (",", ";", "\t")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def _normal(header):
    return " ".join((header or "").replace("\ufeff", "").split()).casefold()


def inspect(kind, data):
    """(delimiter, {field: column index}, total rows) or ImportProblem."""
    if b"\x00" in data[:4096]:
        raise ImportProblem(_("This does not look like a CSV file."), code="invalid_file",
                            field="file")
    text = _decode(data)
    delimiter = _delimiter(text)
    known = {}
    for field, names in COLUMNS[kind].items():
        for name in names:
            known[_normal(name)] = field
    columns, total = None, 0
    try:
        for cells in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
            if not any(cell.strip() for cell in cells):
                continue
            if columns is None:
                columns, unknown = {}, []
                for index, cell in enumerate(cells):
                    field = known.get(_normal(cell))
                    if field is None:
                        if cell.strip():
                            unknown.append(cell.strip())
                    elif field in columns:
                        raise ImportProblem(_("The column %(column)s is there twice.")
                                            % {"column": cell.strip()}, code="invalid_file",
                                            field="file")
                    else:
                        columns[field] = index
                if unknown:
                    raise ImportProblem(
                        _("Unknown columns: %(columns)s. Use the columns of an export.")
                        % {"columns": ", ".join(unknown[:5])}, code="invalid_columns",
                        field="file")
                continue
            total += 1
            if total > MAX_ROWS:
                raise ImportProblem(_("The file has more than %(max)d rows.")
                                    % {"max": MAX_ROWS}, code="too_many_rows", field="file")
    except csv.Error as error:
        raise ImportProblem(_("The file cannot be read as CSV: %(error)s") % {"error": error},
                            code="invalid_file", field="file") from None
    if columns is None:
        raise ImportProblem(_("The file is empty: the first line must name the columns."),
                            code="empty", field="file")
    missing = [COLUMNS[kind][field][0] for field in REQUIRED[kind] if field not in columns]
    if missing:
        raise ImportProblem(_("The file needs the columns: %(columns)s.")
                            % {"columns": ", ".join(missing)}, code="invalid_columns",
                            field="file")
    return delimiter, columns, total


def rows_of(job, data=None):
    """(row number, {field: text}) of every non-blank data row; the header is row 1."""
    if data is None:
        job.file.open("rb")
        try:
            data = job.file.read()
        finally:
            job.file.close()
    reader = csv.reader(io.StringIO(_decode(data), newline=""), delimiter=job.delimiter)
    header_seen = False
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue
        if not header_seen:
            header_seen = True
            continue
        yield reader.line_num, {
            field: _unsafe(cells[index].strip()) if index < len(cells) else ""
            for field, index in job.columns.items()}


# --- Jobs ----------------------------------------------------------------------------------


def max_bytes():
    return settings.JALIN_IMPORT_MAX_BYTES


def too_large_message():
    return _("The file is larger than %(limit)d MB.") % {"limit": max_bytes() // (1024 * 1024)}


def import_create(*, supplier, actor, kind, uploaded):
    """Store the file, read its header and queue the check of every row."""
    if not supplier.is_supplier:
        raise ImportProblem(_("Only supplier organizations have a catalog."),
                            code="not_supplier")
    if kind not in KINDS:
        raise ImportProblem(_("Import products or price list items."), code="invalid_kind",
                            field="kind")
    if uploaded is None:
        raise ImportProblem(_("Choose a file."), code="required", field="file")
    if uploaded.size > max_bytes():
        raise ImportProblem(too_large_message(), code="too_large", field="file")
    data = uploaded.read()
    if not data.strip():
        raise ImportProblem(_("The file is empty."), code="empty", field="file")
    delimiter, columns, total = inspect(kind, data)
    name = (getattr(uploaded, "name", "") or "catalog.csv").rsplit("/", 1)[-1][:200]
    job = CatalogImportJob(supplier=supplier, kind=kind, original_name=name,
                           delimiter=delimiter, columns=columns, total_rows=total,
                           created_by=actor if actor.is_authenticated else None)
    with transaction.atomic():
        job.file.save(f"hub/{supplier.pk}/imports/{timezone.now():%Y%m%d%H%M%S}.csv",
                      ContentFile(data), save=False)
        job.save()
        audit_record(actor=actor, organization=supplier, action="hub.catalog_import.uploaded",
                     obj=job, after={"kind": kind, "file": name, "rows": total})
    return _queue(job=job, actor=actor, mode="check")


def _queue(*, job, actor, mode, valid_only=False):
    with transaction.atomic():
        locked = CatalogImportJob.objects.select_for_update().get(pk=job.pk)
        if locked.status in ACTIVE:
            raise ImportProblem(_("This import is already running."), code="running",
                                field="status")
        if locked.status in (CatalogImportStatus.DONE, CatalogImportStatus.FAILED) \
                or not locked.file:
            raise ImportProblem(_("This import has already run."), code="done",
                                field="status")
        locked.mode, locked.valid_only = mode, bool(valid_only)
        locked.status = CatalogImportStatus.QUEUED
        locked.processed_rows = 0
        locked.save(update_fields=["mode", "valid_only", "status", "processed_rows"])
        if mode == "import":
            audit_record(actor=actor, organization=locked.supplier,
                         action="hub.catalog_import.started", obj=locked,
                         after={"valid_only": locked.valid_only})
    from .tasks import catalog_import_process

    catalog_import_process.enqueue(job_id=locked.pk)
    locked.refresh_from_db()
    return locked


def import_start(*, job, actor, valid_only=False):
    """Queue the real run of a checked job."""
    if job.status != CatalogImportStatus.PREVIEWED:
        raise ImportProblem(_("Check the file before importing it."), code="not_checked",
                            field="status")
    return _queue(job=job, actor=actor, mode="import", valid_only=valid_only)


# --- Checking rows -------------------------------------------------------------------------


def _messages(error):
    if isinstance(error, services.TenancyError):
        return [(error.field or "", error.message)]
    if isinstance(error, ValidationError) and hasattr(error, "error_dict"):
        return [("" if field == "__all__" else field, " ".join(item.messages))
                for field, items in error.error_dict.items() for item in items]
    return [("", " ".join(getattr(error, "messages", [str(error)])))]


def _int(text, field):
    try:
        value = int(text)
    except ValueError:
        raise services.HubError(_("Enter a whole number."), code="invalid", field=field) \
            from None
    if value < 1 or value > 2**31 - 1:
        raise services.HubError(_("Enter a whole number of at least 1."), code="invalid",
                                field=field)
    return value


def _decimal(text, field):
    try:
        value = Decimal(text.replace(" ", ""))
    except InvalidOperation:
        raise services.HubError(_("Enter a price."), code="invalid_price", field=field) \
            from None
    if not value.is_finite() or value < 0 or value >= Decimal("1e14") \
            or -value.as_tuple().exponent > 4:
        raise services.HubError(_("Enter a price of at least 0 with at most 4 decimals."),
                                code="invalid_price", field=field)
    return value


def _tax_class(text):
    for value, label in TaxClass.choices:
        if text.casefold() in (value, str(label).casefold()):
            return value
    aliases = {"standar": "standard", "dikurangi": "reduced", "bebas": "exempt"}
    if text.casefold() in aliases:
        return aliases[text.casefold()]
    raise services.HubError(_("Tax class is standard, reduced or exempt."), code="invalid",
                            field="tax_class")


def _bool(text, field):
    if text.casefold() in TRUE:
        return True
    if text.casefold() in FALSE:
        return False
    raise services.HubError(_("Enter yes or no."), code="invalid", field=field)


class ProductRows:
    """Checks product rows against the catalog and the rest of the file."""

    def __init__(self, job):
        self.supplier = job.supplier
        self.products = {sku: (pk, variant_of_id) for pk, sku, variant_of_id in
                         Product.objects.filter(supplier=self.supplier)
                         .values_list("id", "sku", "variant_of_id").iterator(chunk_size=5000)}
        categories = Category.objects.filter(supplier=self.supplier)
        paths = category_paths(self.supplier)
        self.categories = {paths[c.pk]: c for c in categories}
        self.categories_by_slug = {c.slug: c for c in categories}
        self.base = PriceList.objects.filter(supplier=self.supplier, is_base=True).first()
        self.seen = {}
        self.file_skus = set()
        self.heads_in_file = set()  # SKUs that rows name as a parent
        self.variants_in_file = {}  # sku -> parent sku

    def prepare(self, rows):
        """First pass over the file: which SKUs head families, which are variants."""
        for _number, values in rows:
            sku, parent = values.get("sku", "").strip(), values.get("parent_sku", "").strip()
            self.file_skus.add(sku)
            if parent:
                self.heads_in_file.add(parent)
                if sku:
                    self.variants_in_file[sku] = parent

    def _category(self, text):
        text = text.strip().strip("/")
        category = self.categories.get(text) or (
            self.categories_by_slug.get(text) if "/" not in text else None)
        if category is None:
            raise services.HubError(_("No category has the path %(path)s.") % {"path": text},
                                    code="not_found", field="category")
        return category

    def check(self, number, values, existing):
        """[(field, message)] for one row; `existing` is the Product or None."""
        errors = []
        sku = values.get("sku", "").strip()
        if not sku:
            return [("sku", _("Every row needs a SKU."))]
        first = self.seen.setdefault(sku.casefold(), number)
        if first != number:
            errors.append(("sku", _("Same SKU as row %(row)d.") % {"row": first}))
        try:
            self.build(values, existing, check=True)
        except (services.HubError, ValidationError) as error:
            errors += _messages(error)
        return errors

    def build(self, values, existing, *, check=False):
        """(product with the row's values, base price or None) — validated like the form."""
        product = existing or Product(supplier=self.supplier)
        filled = {field: value for field, value in values.items() if value != ""}
        if existing is None:
            product.sku = values["sku"].strip()
        for field in ("name", "description", "unit"):
            if field in filled:
                setattr(product, field, filled[field])
        if "category" in filled:
            product.category = self._category(filled["category"])
        for field in ("pack_size", "min_order_quantity"):
            if field in filled:
                setattr(product, field, _int(filled[field], field))
        if "tax_class" in filled:
            product.tax_class = _tax_class(filled["tax_class"])
        if "is_active" in filled:
            product.is_active = _bool(filled["is_active"], "is_active")
        if "attributes" in filled:
            product.attributes = parse_attributes(filled["attributes"])
        parent_sku = filled.get("parent_sku", "").strip()
        if parent_sku:
            product.variant_of = self._parent(product, parent_sku, check=check)
        price = None
        if "base_price" in filled:
            price = _decimal(filled["base_price"], "base_price")
            if self.base is None:
                raise services.HubError(_("There is no base price list to put the price in."),
                                        code="no_base_list", field="base_price")
        if not product.name:
            raise services.HubError(_("A new product needs a name."), code="required",
                                    field="name")
        services.validate_product(product, supplier=self.supplier)
        return product, price

    def _parent(self, product, parent_sku, *, check):
        sku = product.sku
        if parent_sku.casefold() == sku.casefold():
            raise services.HubError(_("A product cannot be a variant of itself."),
                                    code="variant_self", field="parent_sku")
        if sku in self.heads_in_file:
            raise services.HubError(_("Other rows name this product as their family, so it "
                                      "cannot be a variant itself."),
                                    code="variant_nesting", field="parent_sku")
        if parent_sku in self.variants_in_file:
            raise services.HubError(_("%(sku)s is itself a variant; variants are one level "
                                      "deep.") % {"sku": parent_sku},
                                    code="variant_nesting", field="parent_sku")
        if not check:  # writing: the parent may have been created by an earlier row
            parent = Product.objects.filter(supplier=self.supplier, sku=parent_sku).first()
            if parent is None:
                raise services.HubError(_("No product has the SKU %(sku)s.")
                                        % {"sku": parent_sku}, code="not_found",
                                        field="parent_sku")
            return parent
        known = self.products.get(parent_sku)
        if known is not None:
            return Product(pk=known[0], supplier=self.supplier, sku=parent_sku,
                           variant_of_id=known[1])
        if parent_sku in self.file_skus:
            return Product(supplier=self.supplier, sku=parent_sku)
        raise services.HubError(_("No product has the SKU %(sku)s.") % {"sku": parent_sku},
                                code="not_found", field="parent_sku")


class PriceRows:
    def __init__(self, job):
        self.supplier = job.supplier
        self.lists = {}
        for price_list in PriceList.objects.filter(supplier=self.supplier):
            self.lists.setdefault(price_list.name.casefold(), []).append(price_list)
        self.products = dict(Product.objects.filter(supplier=self.supplier)
                             .values_list("sku", "id").iterator(chunk_size=5000))
        self.seen = {}

    def build(self, values):
        name = values.get("price_list", "").strip()
        lists = self.lists.get(name.casefold(), [])
        if not lists:
            raise services.HubError(_("No price list is called %(name)s.") % {"name": name},
                                    code="not_found", field="price_list")
        if len(lists) > 1:
            raise services.HubError(_("Several price lists are called %(name)s.")
                                    % {"name": name}, code="ambiguous", field="price_list")
        sku = values.get("sku", "").strip()
        if sku not in self.products:
            raise services.HubError(_("No product has the SKU %(sku)s.") % {"sku": sku},
                                    code="not_found", field="sku")
        quantity = _int(values.get("min_quantity") or "1", "min_quantity")
        price = _decimal(values.get("unit_price", ""), "unit_price")
        return lists[0], self.products[sku], quantity, price

    def check(self, number, values):
        try:
            price_list, product_id, quantity, _price = self.build(values)
        except services.HubError as error:
            return _messages(error)
        key = (price_list.pk, product_id, quantity)
        first = self.seen.setdefault(key, number)
        if first != number:
            return [("sku", _("Same list, SKU and quantity as row %(row)d.") % {"row": first})]
        return []


# --- Running -------------------------------------------------------------------------------


def _save(job, **fields):
    for name, value in fields.items():
        setattr(job, name, value)
    CatalogImportJob.objects.filter(pk=job.pk).update(**fields)


def _column(job, field):
    """The header of the column an error is about ("" for the whole row)."""
    aliases = {"variant_of": "parent_sku", "product": "sku"}
    names = COLUMNS[job.kind].get(aliases.get(field, field))
    return names[0] if names else ""


def import_process(*, job_id):
    """The task body: check every row; in mode "import" with no blocking errors, write."""
    claimed = CatalogImportJob.objects.filter(
        pk=job_id, status=CatalogImportStatus.QUEUED).update(
        status=CatalogImportStatus.RUNNING, processed_rows=0)
    if not claimed:
        return {"skipped": True}
    job = CatalogImportJob.objects.select_related("supplier", "created_by").get(pk=job_id)
    try:
        return _process(job)
    except Exception:
        logger.exception("Catalog import %s failed", job.pk)
        _save(job, status=CatalogImportStatus.FAILED, finished_at=timezone.now(),
              errors=[{"row": 0, "column": "", "message": _(
                  "The import stopped on an unexpected error. Nothing was written.")}],
              error_count=1)
        raise


def _process(job):
    job.file.open("rb")
    try:
        data = job.file.read()
    finally:
        job.file.close()
    rows = list(rows_of(job, data))
    checker = ProductRows(job) if job.kind == "products" else PriceRows(job)
    if job.kind == "products":
        checker.prepare(rows)
    errors, error_count, good = [], 0, []
    created = updated = 0
    existing = {}
    for start in range(0, len(rows), PROGRESS_EVERY):
        chunk = rows[start:start + PROGRESS_EVERY]
        if job.kind == "products":
            skus = [values.get("sku", "").strip() for _n, values in chunk]
            existing = {p.sku: p for p in Product.objects.filter(
                supplier=job.supplier, sku__in=[s for s in skus if s])}
        for number, values in chunk:
            if job.kind == "products":
                product = existing.get(values.get("sku", "").strip())
                row_errors = checker.check(number, values, product)
                action = "update" if product is not None else "create"
            else:
                row_errors = checker.check(number, values)
                action = "set"
            if row_errors:
                error_count += 1
                if len(errors) < MAX_STORED_ERRORS:
                    errors.extend({"row": number, "column": _column(job, field),
                                   "message": message} for field, message in row_errors)
                continue
            good.append((number, values))
            if action == "create":
                created += 1
            elif action == "update":
                updated += 1
        _save(job, processed_rows=min(len(rows), start + len(chunk)))
    if job.mode != "import" or (error_count and not job.valid_only):
        _save(job, status=(CatalogImportStatus.PREVIEWED if job.mode != "import"
                           else CatalogImportStatus.FAILED),
              errors=errors, error_count=error_count, total_rows=len(rows),
              created_count=created, updated_count=updated,
              finished_at=timezone.now() if job.mode == "import" else None)
        return {"created": created, "updated": updated, "invalid": error_count}
    try:
        result = _write(job, checker, good)
    except _Rollback as problem:
        _save(job, status=CatalogImportStatus.FAILED, finished_at=timezone.now(),
              errors=[{"row": problem.row, "column": "", "message": problem.message}]
              + errors[:MAX_STORED_ERRORS - 1], error_count=max(error_count, 1))
        return {"failed": True}
    _save(job, errors=errors, error_count=error_count)
    return result


def _write(job, checker, rows):
    """Every good row through the services, in one transaction (parents before variants)."""
    actor = job.created_by
    created = updated = 0
    storage, file_name = job.file.storage, job.file.name
    with transaction.atomic():
        if job.kind == "products":
            ordered = sorted(rows, key=lambda row: bool(row[1].get("parent_sku", "").strip()))
            for number, values in ordered:
                sku = values["sku"].strip()
                try:
                    existing = Product.objects.filter(supplier=job.supplier, sku=sku).first()
                    product, price = checker.build(values, None if existing is None else
                                                   Product.objects.get(pk=existing.pk))
                    fields = {name: getattr(product, name) for name in services.PRODUCT_FIELDS
                              if name not in ("sku",)}
                    fields["category"] = product.category
                    fields["variant_of"] = product.variant_of
                    if existing is None:
                        fields.pop("name")
                        saved = services.product_create(supplier=job.supplier, actor=actor,
                                                        sku=sku, name=product.name, **fields)
                        created += 1
                    else:
                        saved = services.product_update(product=existing, actor=actor,
                                                        version=existing.version, **fields)
                        updated += 1
                    if price is not None:
                        services.price_list_item_upsert(price_list=checker.base,
                                                        product=saved, min_quantity=1,
                                                        unit_price=price, actor=actor)
                except (services.TenancyError, ValidationError) as error:
                    # A product changed by someone else since the check (StaleVersion), or a
                    # row that no longer passes: nothing of this import is written.
                    raise _Rollback(number, " ".join(m for _f, m in _messages(error))) \
                        from None
        else:
            products = {}
            for number, values in rows:
                try:
                    price_list, product_id, quantity, price = checker.build(values)
                    product = products.get(product_id) or Product.objects.get(pk=product_id)
                    products[product_id] = product
                    _item, was_new = _upsert_price(price_list, product, quantity, price, actor)
                except services.HubError as error:
                    raise _Rollback(number, error.message) from None
                created += was_new
                updated += not was_new
        job.status = CatalogImportStatus.DONE
        job.created_count, job.updated_count = created, updated
        job.processed_rows = len(rows)
        job.finished_at = timezone.now()
        job.file.name = ""
        job.save(update_fields=["status", "created_count", "updated_count", "processed_rows",
                                "finished_at", "file"])
        result = {"created": created, "updated": updated, "invalid": job.error_count}
        audit_record(actor=actor, organization=job.supplier,
                     action="hub.catalog_import.finished", obj=job, after=result)
        emit_event(type="hub.catalog_import.finished", organization=job.supplier,
                   aggregate=job, actor=actor,
                   payload={"import_id": job.pk, "kind": job.kind, **result})
        if file_name:
            transaction.on_commit(lambda: storage.delete(file_name))
    return result


def _upsert_price(price_list, product, quantity, price, actor):
    was_new = not PriceListItem.objects.filter(price_list=price_list, product=product,
                                               min_quantity=quantity).exists()
    item = services.price_list_item_upsert(price_list=price_list, product=product,
                                           min_quantity=quantity, unit_price=price,
                                           actor=actor)
    return item, was_new
