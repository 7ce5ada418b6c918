"""Bulk loading for the data generators (`crm_generate`, `hub_generate`): stream rows into a
table with COPY on PostgreSQL (bulk_create elsewhere), reserve primary keys up front, and drop
and rebuild a table's plain secondary indexes around a big load."""

import json
import time
from contextlib import contextmanager
from datetime import date, datetime

from django.db import connection, transaction


def copy_text(value):
    """One value in COPY's text format."""
    if value is None:
        return "\\N"
    kind = type(value)
    if kind is str:
        text = value
    elif kind is bool:
        return "t" if value else "f"
    elif kind is int:
        return str(value)
    elif kind is datetime or kind is date:
        return value.isoformat()
    elif kind in (dict, list):
        text = json.dumps(value, ensure_ascii=False)
    else:
        text = str(value)
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        text = (text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
                .replace("\r", "\\r"))
    return text


class TableWriter:
    """Streams rows (dicts keyed by attname) into one model's table: COPY on PostgreSQL,
    bulk_create on other databases. Columns not given get the field's default."""

    def __init__(self, model, *, batch, out, label=None):
        self.model = model
        self.batch = batch
        self.out = out
        self.label = label or model._meta.verbose_name_plural
        self.fields = [f for f in model._meta.concrete_fields]
        self.defaults = {f.attname: (f.get_default() if f.has_default() or f.null else None)
                         for f in self.fields}
        self.rows = []
        self.followers = []  # writers of rows that point at ours: flushed right after us
        self.written = 0
        self.started = time.monotonic()
        self.postgres = connection.vendor == "postgresql"

    def reserve_ids(self, count):
        """First of `count` consecutive primary keys nobody else will be given."""
        table = self.model._meta.db_table
        with connection.cursor() as cursor:
            if self.postgres:
                cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
                sequence = cursor.fetchone()[0]
                cursor.execute("SELECT nextval(%s)", [sequence])
                first = cursor.fetchone()[0]
                if count > 1:
                    cursor.execute("SELECT setval(%s, %s)", [sequence, first + count - 1])
                return first
            cursor.execute(f'SELECT COALESCE(MAX(id), 0) FROM "{table}"')  # noqa: S608
            return cursor.fetchone()[0] + 1

    def add(self, row):
        self.rows.append(row)
        if len(self.rows) >= self.batch:
            self.flush()

    def flush(self):
        if not self.rows:
            for follower in self.followers:
                follower.flush()
            return
        if self.postgres:
            self._copy()
        else:
            self._bulk_create()
        self.written += len(self.rows)
        self.rows = []
        for follower in self.followers:
            follower.flush()
        elapsed = time.monotonic() - self.started
        self.out.write(f"  {self.label}: {self.written:,} rows, "
                       f"{self.written / max(elapsed, 1e-6):,.0f} rows/s\n")
        self.out.flush()

    def _copy(self):
        # The primary key is sent only when the rows carry it (reserved ids); otherwise the
        # table's identity column numbers them.
        fields = [f for f in self.fields if not f.primary_key or f.attname in self.rows[0]]
        columns = ", ".join(f'"{f.column}"' for f in fields)
        attnames = [f.attname for f in fields]
        defaults = self.defaults
        lines = []
        for row in self.rows:
            lines.append("\t".join(
                copy_text(row[name] if name in row else defaults[name]) for name in attnames))
        data = ("\n".join(lines) + "\n").encode()
        sql = f'COPY "{self.model._meta.db_table}" ({columns}) FROM STDIN'
        with transaction.atomic(), connection.cursor() as cursor, cursor.copy(sql) as copy:
            for start in range(0, len(data), 1 << 20):
                copy.write(data[start:start + (1 << 20)])

    def _bulk_create(self):
        objects = []
        for row in self.rows:
            values = {name: row.get(name, default) for name, default in self.defaults.items()
                      if name in row or name != self.model._meta.pk.attname}
            objects.append(self.model(**values))
        with transaction.atomic():
            self.model.objects.bulk_create(objects, batch_size=500)


@contextmanager
def secondary_indexes_dropped(models, *, out, enabled=True):
    """On PostgreSQL, drop the tables' plain secondary indexes during a bulk load and build
    them again afterwards (one sort per index instead of millions of B-tree inserts: about
    3x faster for 5M activities). Indexes that back a constraint (primary key, unique) stay.
    The definitions are printed first, so an index lost to a killed process can be rebuilt
    by hand; an exception or Ctrl-C still rebuilds them."""
    if not enabled or connection.vendor != "postgresql":
        yield
        return
    saved = []
    with connection.cursor() as cursor:
        for model in models:
            cursor.execute(
                """SELECT i.indexname, i.indexdef FROM pg_indexes i
                   WHERE i.schemaname = current_schema() AND i.tablename = %s
                     AND NOT EXISTS (SELECT 1 FROM pg_constraint c
                                     WHERE c.conname = i.indexname)""",
                [model._meta.db_table])
            saved += cursor.fetchall()
        for name, definition in saved:
            out.write(f"  dropping index {name} for the load; rebuild: {definition};\n")
            cursor.execute(f'DROP INDEX IF EXISTS "{name}"')
    try:
        yield
    finally:
        started = time.monotonic()
        with connection.cursor() as cursor:
            cursor.execute("SET maintenance_work_mem = '256MB'")
            for _name, definition in saved:
                cursor.execute(definition.replace("CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ", 1)
                               .replace("CREATE UNIQUE INDEX ",
                                        "CREATE UNIQUE INDEX IF NOT EXISTS ", 1))
            cursor.execute("RESET maintenance_work_mem")
        if saved:
            out.write(f"  rebuilt {len(saved)} indexes in {time.monotonic() - started:,.1f} s\n")
