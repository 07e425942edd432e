"""PostgreSQL refuses any change to a published price version or to its rules.

A trip is priced with the version in force at its endTime; if published rules could change,
a replay or a bad-cart resolution could price the same cart differently. Drafts stay editable.
On other databases (the SQLite demo) this does nothing; the services enforce the same rule.
"""

from django.db import migrations

RULE_TABLES = ("catalog_productprice", "catalog_taxrate", "catalog_promotion")

# %% is a literal % (the SQL goes through the driver's parameter parser).
FUNCTIONS = """
CREATE OR REPLACE FUNCTION catalog_refuse_published_rule_change() RETURNS trigger AS $$
DECLARE
    version_status varchar;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        SELECT status INTO version_status FROM catalog_priceversion WHERE id = OLD.version_id;
        IF version_status = 'PUBLISHED' THEN
            RAISE EXCEPTION 'price version %% is published: %% on %% refused',
                OLD.version_id, TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
        END IF;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        SELECT status INTO version_status FROM catalog_priceversion WHERE id = NEW.version_id;
        IF version_status = 'PUBLISHED' THEN
            RAISE EXCEPTION 'price version %% is published: %% on %% refused',
                NEW.version_id, TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
        END IF;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION catalog_refuse_published_version_change() RETURNS trigger AS $$
BEGIN
    IF OLD.status = 'PUBLISHED' THEN
        RAISE EXCEPTION 'price version %% is published: %% refused', OLD.id, TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTIONS)
    for table in RULE_TABLES:
        schema_editor.execute(
            f'CREATE TRIGGER "{table}_frozen" BEFORE INSERT OR UPDATE OR DELETE ON "{table}" '
            "FOR EACH ROW EXECUTE FUNCTION catalog_refuse_published_rule_change()"
        )
    schema_editor.execute(
        'CREATE TRIGGER "catalog_priceversion_frozen" BEFORE UPDATE OR DELETE '
        'ON "catalog_priceversion" FOR EACH ROW '
        "EXECUTE FUNCTION catalog_refuse_published_version_change()"
    )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in (*RULE_TABLES, "catalog_priceversion"):
        schema_editor.execute(f'DROP TRIGGER IF EXISTS "{table}_frozen" ON "{table}"')


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
