"""A statement trigger that refuses ``TRUNCATE`` of the audit table on PostgreSQL (issue 17).

The row triggers of 0002 refuse UPDATE and DELETE, but TRUNCATE fires no row trigger. The
deployed application's role has no TRUNCATE privilege at all (``cmetrack db_app_role``,
docs/operations.md); this trigger also stops the owner role doing it by mistake. The one
exception is a session that sets ``cmetrack.audit_truncate = 'allow'``: the test settings do,
because Django empties every table with TRUNCATE between transactional tests on PostgreSQL.
SQLite has no TRUNCATE.
"""

from django.db import migrations

POSTGRES_UP = """
CREATE OR REPLACE FUNCTION audit_auditevent_no_truncate() RETURNS trigger AS $$
BEGIN
    IF coalesce(current_setting('cmetrack.audit_truncate', true), '') = 'allow' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'audit events cannot be truncated';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_auditevent_no_truncate BEFORE TRUNCATE ON audit_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION audit_auditevent_no_truncate();
"""
POSTGRES_DOWN = """
DROP TRIGGER IF EXISTS audit_auditevent_no_truncate ON audit_auditevent;
DROP FUNCTION IF EXISTS audit_auditevent_no_truncate();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_UP)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_DOWN)


class Migration(migrations.Migration):
    dependencies = [("audit", "0005_search_indexes_with_id")]
    operations = [migrations.RunPython(forwards, backwards)]
