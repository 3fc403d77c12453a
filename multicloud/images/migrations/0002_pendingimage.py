from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("images", "0001_initial")]

    operations = [
        migrations.CreateModel(
            name="PendingImage",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("vim_id", models.CharField(max_length=255)),
                ("tenant", models.CharField(max_length=255)),
                ("image_id", models.CharField(max_length=64)),
                ("path", models.CharField(blank=True, default="", max_length=1024)),
                ("host", models.CharField(max_length=255)),
                ("created", models.DateTimeField(auto_now_add=True, db_index=True)),
            ],
            options={
                "db_table": "image_pending",
                "indexes": [
                    models.Index(
                        fields=["vim_id", "image_id"], name="image_pendi_vim_id_3eab21_idx"
                    )
                ],
            },
        ),
    ]
