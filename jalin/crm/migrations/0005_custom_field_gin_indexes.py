"""GIN indexes on the custom field values of accounts and contacts (PostgreSQL only): list
filters on custom fields are jsonb containment (`custom @> '{"key": value}'`), which these
indexes serve, so a filter on one custom field does not read every row of a large
organization. SQLite has no such index; its filters read the organization's rows."""

from django.db import migrations

TABLES = ("crm_account", "crm_contact")


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {table}_custom_gin ON {table} "
            "USING gin (custom jsonb_path_ops)"
        )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {table}_custom_gin")


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0004_search_indexes"),
    ]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
