# VersionReport keeps recourse only: the dossier is made in its request (under 2 s).

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0017_fairness_reports"),
    ]

    operations = [
        migrations.RemoveField(model_name="versionreport", name="file"),
        migrations.AlterField(
            model_name="versionreport",
            name="kind",
            field=models.CharField(choices=[("recourse", "Recourse per group")], max_length=20),
        ),
    ]
