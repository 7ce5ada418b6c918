"""Sales quote numbers were kept in the hub's document counters (sequence "sales_quote"),
which the hub moved to the shared number sequences as scope "hub.sales_quote". They belong
to sales: rename the scope to "sales.quote" (`jalin.sales.quotes.SEQUENCE`). Reversible."""

from django.db import migrations

OLD, NEW = "hub.sales_quote", "sales.quote"


def _db(schema_editor):
    return schema_editor.connection.alias if schema_editor is not None else "default"


def rename_scope(apps, schema_editor):
    NumberSequence = apps.get_model("core", "NumberSequence")
    NumberSequence.objects.using(_db(schema_editor)).filter(scope=OLD).update(scope=NEW)


def restore_scope(apps, schema_editor):
    NumberSequence = apps.get_model("core", "NumberSequence")
    NumberSequence.objects.using(_db(schema_editor)).filter(scope=NEW).update(scope=OLD)


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0004_number_sequences"),
        ("hub", "0017_counters_to_number_sequences"),
        ("sales", "0009_campaign_background_launch_and_schedule"),
    ]

    operations = [
        migrations.RunPython(rename_scope, restore_scope, elidable=True),
    ]
