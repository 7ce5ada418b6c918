"""Move the hub's order and document counters into the shared `core.NumberSequence` table
(`jalin.core.numbering`), then drop them. OrderCounter → scope "hub.order"; a DocumentCounter
of sequence S → scope "hub.S" (a sequence another app kept here is moved to its own scope by
that app's migration). No period: hub numbers never restart. Reversible."""

from django.db import migrations

ORDER_SCOPE = "hub.order"
PREFIX = "hub."
BATCH = 1000


def _db(schema_editor):
    return schema_editor.connection.alias if schema_editor is not None else "default"


def copy_counters(apps, schema_editor):
    db = _db(schema_editor)
    OrderCounter = apps.get_model("hub", "OrderCounter")
    DocumentCounter = apps.get_model("hub", "DocumentCounter")
    NumberSequence = apps.get_model("core", "NumberSequence")
    rows = [NumberSequence(organization_id=counter.supplier_id, scope=ORDER_SCOPE, period="",
                           last=counter.last_number)
            for counter in OrderCounter.objects.using(db).order_by("pk").iterator()]
    rows += [NumberSequence(organization_id=counter.supplier_id,
                            scope=PREFIX + counter.sequence, period="",
                            last=counter.last_number)
             for counter in DocumentCounter.objects.using(db).order_by("pk").iterator()]
    NumberSequence.objects.using(db).bulk_create(rows, batch_size=BATCH)


def restore_counters(apps, schema_editor):
    db = _db(schema_editor)
    OrderCounter = apps.get_model("hub", "OrderCounter")
    DocumentCounter = apps.get_model("hub", "DocumentCounter")
    NumberSequence = apps.get_model("core", "NumberSequence")
    hub_rows = (NumberSequence.objects.using(db)
                .filter(scope__startswith=PREFIX, period="").order_by("pk"))
    orders, documents = [], []
    for row in hub_rows.iterator():
        if row.scope == ORDER_SCOPE:
            orders.append(OrderCounter(supplier_id=row.organization_id, last_number=row.last))
        else:
            documents.append(DocumentCounter(supplier_id=row.organization_id,
                                             sequence=row.scope[len(PREFIX):],
                                             last_number=row.last))
    OrderCounter.objects.using(db).bulk_create(orders, batch_size=BATCH)
    DocumentCounter.objects.using(db).bulk_create(documents, batch_size=BATCH)
    hub_rows.delete()


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0004_number_sequences"),
        ("hub", "0016_promotion_pricing_unit_cost"),
    ]

    operations = [
        migrations.RunPython(copy_counters, restore_counters, elidable=True),
        migrations.DeleteModel(name="OrderCounter"),
        migrations.DeleteModel(name="DocumentCounter"),
    ]
