"""Running totals kept in rows (monthly sales per product, deals per pipeline stage): add to
a row, inserting it the first time, in one statement. `INSERT … ON CONFLICT (key) DO UPDATE
SET total = total + excluded.total` is atomic on PostgreSQL and SQLite alike, so concurrent
writers never lose an addition and never race on the insert."""

from django.db import connection


def add_to_rows(model, *, columns, key, added, rows, chunk=500):
    """Add `rows` (tuples in `columns` order) to `model`'s table: where a row with the same
    `key` columns exists, its `added` columns grow by the given values; otherwise the row is
    inserted. Pass rows sorted by key, so that two transactions take the rows in the same
    order and cannot deadlock."""
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    placeholder = "(" + ", ".join(["%s"] * len(columns)) + ")"
    updates = ", ".join(f"{quote(name)} = {table}.{quote(name)} + excluded.{quote(name)}"
                        for name in added)
    head = (f"INSERT INTO {table} ({', '.join(quote(name) for name in columns)}) VALUES ")  # noqa: S608 (our table and column names; values are parameters)
    tail = f" ON CONFLICT ({', '.join(quote(name) for name in key)}) DO UPDATE SET {updates}"
    with connection.cursor() as cursor:
        for offset in range(0, len(rows), chunk):
            part = rows[offset:offset + chunk]
            cursor.execute(head + ", ".join([placeholder] * len(part)) + tail,
                           [value for row in part for value in row])
