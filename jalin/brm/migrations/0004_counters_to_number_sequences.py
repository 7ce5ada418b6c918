"""Move the register counters into the shared `core.NumberSequence` table
(`jalin.core.numbering`), then drop them: register R → scope "brm.R" ("brm.requirement" for
REQ-n, "brm.improvement" for CSI-n); no period. Reversible."""

from django.db import migrations

PREFIX = "brm."
BATCH = 1000


def _db(schema_editor):
    return schema_editor.connection.alias if schema_editor is not None else "default"


def copy_counters(apps, schema_editor):
    db = _db(schema_editor)
    RegisterCounter = apps.get_model("brm", "RegisterCounter")
    NumberSequence = apps.get_model("core", "NumberSequence")
    NumberSequence.objects.using(db).bulk_create(
        [NumberSequence(organization_id=counter.organization_id,
                        scope=PREFIX + counter.register, period="", last=counter.last_number)
         for counter in RegisterCounter.objects.using(db).order_by("pk").iterator()],
        batch_size=BATCH)


def restore_counters(apps, schema_editor):
    db = _db(schema_editor)
    RegisterCounter = apps.get_model("brm", "RegisterCounter")
    NumberSequence = apps.get_model("core", "NumberSequence")
    rows = NumberSequence.objects.using(db).filter(scope__startswith=PREFIX, period="")
    RegisterCounter.objects.using(db).bulk_create(
        [RegisterCounter(organization_id=row.organization_id,
                         register=row.scope[len(PREFIX):], last_number=row.last)
         for row in rows.order_by("pk").iterator()], batch_size=BATCH)
    rows.delete()


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0004_number_sequences"),
        ("brm", "0003_requirement_history_and_counters"),
    ]

    operations = [
        migrations.RunPython(copy_counters, restore_counters, elidable=True),
        migrations.DeleteModel(name="RegisterCounter"),
    ]
