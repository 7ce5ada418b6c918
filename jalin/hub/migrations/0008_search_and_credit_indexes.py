"""PostgreSQL indexes for two hot paths (nothing here changes Django's model state; SQLite
keeps using the plain indexes).

1. The credit check of every order placement: `orders.exposure` sums the amounts of a
   relationship's open orders. The plain (relationship, status) index finds them, but each
   one is then read from the table: a buyer with 1 600 open orders spread over two years of
   history cost ~1 200 page reads (15 ms cold). `hub_order_rel_open_amounts` holds only open
   orders and carries both amounts, so the sum is an index-only scan (0.4 ms). Its status
   list is the credit-counted one (`orders._CREDIT_COUNTED`); a status added there needs the
   index rebuilt (tests/test_hub_perf.py checks that the predicate covers the ORM's query).
2. The shop's text search is "SKU starts with OR name contains": the name side has the
   trigram index (hub.0006), the SKU side had none usable for UPPER(sku) LIKE 'X%', so the
   OR could not be answered from indexes and a search matching nothing read the whole
   catalog. `hub_product_sku_prefix` is that index, per supplier.
"""

from django.db import migrations

INDEXES = {
    "hub_order_rel_open_amounts": """CREATE INDEX IF NOT EXISTS hub_order_rel_open_amounts
        ON hub_order (relationship_id) INCLUDE (total_gross, invoiced_gross)
        WHERE status IN ('submitted', 'confirmed', 'partially_shipped', 'shipped',
                         'delivered')""",
    "hub_product_sku_prefix": """CREATE INDEX IF NOT EXISTS hub_product_sku_prefix
        ON hub_product (supplier_id, upper(sku::text) text_pattern_ops)""",
}


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in INDEXES.values():
            schema_editor.execute(statement)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name in INDEXES:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("hub", "0007_invoicing_mode_invoiced_quantities")]
    operations = [migrations.RunPython(forwards, backwards)]
