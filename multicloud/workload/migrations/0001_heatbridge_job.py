import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("vims", "0003_registry_stamp"),
    ]

    operations = [
        migrations.CreateModel(
            name="HeatbridgeJob",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("stack_id", models.CharField(max_length=64)),
                ("stack_name", models.CharField(max_length=255)),
                ("project_id", models.CharField(max_length=64)),
                ("generic_vnf_id", models.CharField(blank=True, default="", max_length=255)),
                ("vf_module_id", models.CharField(blank=True, default="", max_length=255)),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("pending", "Pending"),
                            ("running", "Running"),
                            ("done", "Done"),
                            ("failed", "Failed"),
                        ],
                        default="pending",
                        max_length=16,
                    ),
                ),
                ("error", models.TextField(blank=True, default="")),
                ("result", models.JSONField(blank=True, default=dict)),
                ("written", models.JSONField(blank=True, default=dict)),
                ("generation", models.PositiveIntegerField(default=1)),
                ("lease_until", models.DateTimeField(blank=True, null=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "region",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="heatbridge_jobs",
                        to="vims.cloudregion",
                    ),
                ),
            ],
            options={
                "db_table": "workload_heatbridge_job",
                "constraints": [
                    models.UniqueConstraint(
                        fields=("region", "stack_id"), name="unique_heatbridge_stack"
                    )
                ],
            },
        ),
    ]
