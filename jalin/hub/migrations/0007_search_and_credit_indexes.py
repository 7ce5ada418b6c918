"""PostgreSQL: a partial covering index for the credit check of every order placement.

`orders.exposure` sums `total_gross - invoiced_gross` over a relationship's open orders. The
plain (relationship, status) index finds them, but each one is then fetched from the table:
a buyer with 1 600 open orders spread over two years of history cost ~1 200 page reads
(15 ms cold). This index holds only open orders and carries both amounts, so the sum is an
index-only scan. The status list is `models.OPEN_STATUSES` minus awaiting approval (the
statuses the credit check counts); a status added there needs this index rebuilt. SQLite
keeps using the plain index. Nothing here changes Django's model state."""

from django.db import migrations

INDEX = """CREATE INDEX IF NOT EXISTS hub_order_rel_open_amounts ON hub_order (relationship_id)
    INCLUDE (total_gross, invoiced_gross)
    WHERE status IN ('submitted', 'confirmed', 'partially_shipped', 'shipped', 'delivered')"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(INDEX)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS hub_order_rel_open_amounts")


class Migration(migrations.Migration):
    dependencies = [("hub", "0006_catalog_variants_images_groups_imports")]
    operations = [migrations.RunPython(forwards, backwards)]
