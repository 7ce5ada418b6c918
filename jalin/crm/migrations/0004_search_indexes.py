"""Search indexes: an FTS5 table with triggers on SQLite; full-text, trigram and name-prefix
indexes on PostgreSQL (needs the pg_trgm and unaccent extensions, see docs/operators.md).
Nothing here changes Django's model state."""

from django.db import migrations


def forwards(apps, schema_editor):
    from jalin.crm.search import backends

    backends.install(schema_editor.connection)


def backwards(apps, schema_editor):
    from jalin.crm.search import backends

    backends.uninstall(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0003_activities_documents_threads_timeline_search_imports"),
    ]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
