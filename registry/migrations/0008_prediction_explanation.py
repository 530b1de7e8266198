from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0007_prediction_share_key"),
    ]

    operations = [
        migrations.AddField(
            model_name="prediction",
            name="explanation",
            field=models.JSONField(blank=True, null=True),
        ),
    ]
