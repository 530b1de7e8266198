"""Drop the three indexes of Prediction that others already cover: every stored call updates
each index of the table, and these three answered no query the others do not.

- ``version_id`` alone and ``(version_id, created_at DESC)``: ``prediction_monitor_idx``
  starts with ``(version_id, created_at)`` and is scanned either way;
- ``user_id`` alone: ``(user_id, created_at DESC)`` starts with it.

The foreign keys' own indexes are dropped with ``DROP INDEX`` (found by their columns), not
by altering the fields: on SQLite an altered field rebuilds the whole table.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def _single_column_indexes(schema_editor, model, column):
    connection = schema_editor.connection
    table = model._meta.db_table
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    return [
        name
        for name, c in constraints.items()
        if c["index"] and not c["unique"] and not c["primary_key"] and c["columns"] == [column]
    ]


def drop_foreign_key_indexes(apps, schema_editor):
    model = apps.get_model("registry", "Prediction")
    for column in ("version_id", "user_id"):
        for name in _single_column_indexes(schema_editor, model, column):
            schema_editor.execute(schema_editor._delete_index_sql(model, name))


def create_foreign_key_indexes(apps, schema_editor):
    model = apps.get_model("registry", "Prediction")
    for field_name in ("version", "user"):
        field = model._meta.get_field(field_name)
        if not _single_column_indexes(schema_editor, model, field.column):
            schema_editor.execute(schema_editor._create_index_sql(model, fields=[field]))


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0008_prediction_explanation"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(model_name="prediction", name="registry_pr_version_7e91d3_idx"),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="prediction",
                    name="user",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="predictions",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                migrations.AlterField(
                    model_name="prediction",
                    name="version",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="predictions",
                        to="registry.modelversion",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunPython(drop_foreign_key_indexes, create_foreign_key_indexes)
            ],
        ),
    ]
