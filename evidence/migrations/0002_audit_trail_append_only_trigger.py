"""On PostgreSQL, refuse UPDATE and DELETE of audit entries in the database itself.

TRUNCATE (which only an administrator's maintenance would run, and the test runner's flush) is left alone.
"""

from django.db import migrations

CREATE = """
CREATE FUNCTION evidence_auditentry_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit entries are append-only: % refused on evidence_auditentry', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER evidence_auditentry_append_only
    BEFORE UPDATE OR DELETE ON evidence_auditentry
    FOR EACH ROW EXECUTE FUNCTION evidence_auditentry_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS evidence_auditentry_append_only ON evidence_auditentry;
DROP FUNCTION IF EXISTS evidence_auditentry_append_only();
"""


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("evidence", "0001_initial")]

    operations = [migrations.RunPython(create_trigger, drop_trigger)]
