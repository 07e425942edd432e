"""Make a table append-only at the database level (PostgreSQL): UPDATE and DELETE are refused.
(TRUNCATE stays possible for an operator; the test runner's flush uses it.)

Use in a migration: ``operations = [append_only_table("core_auditentry")]``. On other databases
(the SQLite demo) it does nothing; the services never update these rows anyway.
"""

from django.db import migrations

FUNCTION_SQL = """
CREATE OR REPLACE FUNCTION jwo_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'table %% is append-only: %% refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""


def _create(table: str):
    def forwards(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        schema_editor.execute(FUNCTION_SQL)
        schema_editor.execute(
            f'CREATE TRIGGER "{table}_append_only" BEFORE UPDATE OR DELETE ON "{table}" '
            "FOR EACH ROW EXECUTE FUNCTION jwo_refuse_change()"
        )

    return forwards


def _drop(table: str):
    def backwards(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        schema_editor.execute(f'DROP TRIGGER IF EXISTS "{table}_append_only" ON "{table}"')

    return backwards


def append_only_table(table: str) -> migrations.RunPython:
    return migrations.RunPython(_create(table), _drop(table))
