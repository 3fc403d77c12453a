import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("vims", "0001_cloud_region")]

    operations = [
        migrations.CreateModel(
            name="AaiFootprint",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("default_tenant", models.CharField(blank=True, default="", max_length=255)),
                ("identity_url", models.CharField(blank=True, default="", max_length=1024)),
                (
                    "previous_identity_url",
                    models.CharField(blank=True, default="", max_length=1024),
                ),
                ("wrote_identity_url", models.BooleanField(default=False)),
                ("written", models.JSONField(blank=True, default=dict)),
                ("kept", models.JSONField(blank=True, default=list)),
                (
                    "region",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="aai",
                        to="vims.cloudregion",
                    ),
                ),
            ],
        ),
    ]
