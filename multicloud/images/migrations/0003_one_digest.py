"""Staged copies keep the one digest computed while they were received (was sha512, sha256, md5)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("images", "0002_pendingimage")]

    operations = [
        migrations.RenameField("stagedimage", "sha512", "hash_value"),
        migrations.AlterField("stagedimage", "hash_value", models.CharField(max_length=128)),
        migrations.AddField(
            "stagedimage", "hash_algo", models.CharField(default="sha512", max_length=32)
        ),
        migrations.RemoveField("stagedimage", "sha256"),
        migrations.RemoveField("stagedimage", "md5"),
    ]
