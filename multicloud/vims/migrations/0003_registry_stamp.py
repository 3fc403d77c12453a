"""The registry stamp: a row that database triggers change with every cloud region change."""

from django.db import migrations, models

#: SQLite: one trigger per kind of change; UPSERT so a flushed table heals itself.
SQLITE = [
    "CREATE TRIGGER vims_cloudregion_stamp_insert AFTER INSERT ON vims_cloudregion "
    "BEGIN INSERT INTO vims_registrystamp (id, value) VALUES (1, random()) "
    "ON CONFLICT (id) DO UPDATE SET value = excluded.value; END",
    "CREATE TRIGGER vims_cloudregion_stamp_update AFTER UPDATE ON vims_cloudregion "
    "BEGIN INSERT INTO vims_registrystamp (id, value) VALUES (1, random()) "
    "ON CONFLICT (id) DO UPDATE SET value = excluded.value; END",
    "CREATE TRIGGER vims_cloudregion_stamp_delete AFTER DELETE ON vims_cloudregion "
    "BEGIN INSERT INTO vims_registrystamp (id, value) VALUES (1, random()) "
    "ON CONFLICT (id) DO UPDATE SET value = excluded.value; END",
]
SQLITE_UNDO = [
    "DROP TRIGGER IF EXISTS vims_cloudregion_stamp_insert",
    "DROP TRIGGER IF EXISTS vims_cloudregion_stamp_update",
    "DROP TRIGGER IF EXISTS vims_cloudregion_stamp_delete",
]
#: PostgreSQL: one statement-level trigger for all three.
POSTGRESQL = [
    """CREATE OR REPLACE FUNCTION vims_registry_stamp() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO vims_registrystamp (id, value)
        VALUES (1, floor((random() - 0.5) * 9.2e18)::bigint)
        ON CONFLICT (id) DO UPDATE SET value = excluded.value;
        RETURN NULL;
    END $$""",
    "CREATE TRIGGER vims_cloudregion_stamp AFTER INSERT OR UPDATE OR DELETE "
    "ON vims_cloudregion FOR EACH STATEMENT EXECUTE PROCEDURE vims_registry_stamp()",
]
POSTGRESQL_UNDO = [
    "DROP TRIGGER IF EXISTS vims_cloudregion_stamp ON vims_cloudregion",
    "DROP FUNCTION IF EXISTS vims_registry_stamp()",
]


def _run(statements: dict):
    def run(apps, schema_editor) -> None:
        for sql in statements.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("vims", "0002_aai_footprint")]

    operations = [
        migrations.CreateModel(
            name="RegistryStamp",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("value", models.BigIntegerField(default=0)),
            ],
        ),
        migrations.RunSQL(
            "INSERT INTO vims_registrystamp (id, value) VALUES (1, 1)", migrations.RunSQL.noop
        ),
        migrations.RunPython(
            _run({"sqlite": SQLITE, "postgresql": POSTGRESQL}),
            _run({"sqlite": SQLITE_UNDO, "postgresql": POSTGRESQL_UNDO}),
        ),
    ]
