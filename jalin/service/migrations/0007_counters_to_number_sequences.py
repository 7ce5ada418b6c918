"""Move the agreement and case counters into the shared `core.NumberSequence` table
(`jalin.core.numbering`), then drop them: AgreementCounter → scope "service.agreement"
(AGR-n), CaseCounter → scope "service.case" (#n); no period. Reversible."""

from django.db import migrations

SCOPES = {"AgreementCounter": "service.agreement", "CaseCounter": "service.case"}
BATCH = 1000


def _db(schema_editor):
    return schema_editor.connection.alias if schema_editor is not None else "default"


def copy_counters(apps, schema_editor):
    db = _db(schema_editor)
    NumberSequence = apps.get_model("core", "NumberSequence")
    rows = []
    for model_name, scope in SCOPES.items():
        Counter = apps.get_model("service", model_name)
        rows += [NumberSequence(organization_id=counter.organization_id, scope=scope,
                                period="", last=counter.last_number)
                 for counter in Counter.objects.using(db).order_by("pk").iterator()]
    NumberSequence.objects.using(db).bulk_create(rows, batch_size=BATCH)


def restore_counters(apps, schema_editor):
    db = _db(schema_editor)
    NumberSequence = apps.get_model("core", "NumberSequence")
    for model_name, scope in SCOPES.items():
        Counter = apps.get_model("service", model_name)
        rows = NumberSequence.objects.using(db).filter(scope=scope, period="")
        Counter.objects.using(db).bulk_create(
            [Counter(organization_id=row.organization_id, last_number=row.last)
             for row in rows.order_by("pk").iterator()], batch_size=BATCH)
        rows.delete()


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0004_number_sequences"),
        ("service", "0006_survey_periods_good_answers"),
    ]

    operations = [
        migrations.RunPython(copy_counters, restore_counters, elidable=True),
        migrations.DeleteModel(name="AgreementCounter"),
        migrations.DeleteModel(name="CaseCounter"),
    ]
