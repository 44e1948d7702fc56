"""``cmetrack db_app_role ROLE``: give the application's PostgreSQL role what it needs and no
more (issue 17, docs/operations.md "The database roles").

Run by the owner role (the one that runs ``migrate``) after every ``migrate``, since new
tables need their grants. The application role may read and write every table, except the
audit table, where it may only INSERT and SELECT: it cannot change, delete or truncate an
audit row whatever the application does. It owns nothing and cannot change the schema.

``--create`` makes the role first (LOGIN, password from ``CMETRACK_APP_DB_PASSWORD`` if set)
when it does not exist; the owner needs CREATEROLE for that (CI uses it).
"""

from __future__ import annotations

import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction

from cmetrack.audit.models import AuditEvent

AUDIT_ONLY = ("SELECT", "INSERT")


class Command(BaseCommand):
    help = (
        "Grant the application's database role read and write on every table, and on the "
        "audit table INSERT and SELECT only (PostgreSQL). Run after every migrate."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("role", help="The role the application connects as.")
        parser.add_argument(
            "--create", action="store_true", help="Create the role (LOGIN) if it is missing."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("db_app_role is for PostgreSQL (SQLite has no roles).")
        role = str(options["role"])
        if not role.replace("_", "").isalnum():
            raise CommandError(f"{role!r} is not a plain role name (letters, digits and _).")
        audit = AuditEvent._meta.db_table
        q = connection.ops.quote_name
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
            if cursor.fetchone() is None:
                if not options["create"]:
                    raise CommandError(
                        f"There is no database role {role!r}: create it (or pass --create)."
                    )
                password = os.environ.get("CMETRACK_APP_DB_PASSWORD", "")
                if password:
                    cursor.execute(f"CREATE ROLE {q(role)} LOGIN PASSWORD %s", [password])
                else:
                    cursor.execute(f"CREATE ROLE {q(role)} LOGIN")
            cursor.execute("SELECT current_database(), current_schema()")
            database, schema = cursor.fetchone()
            for statement in (
                f"GRANT CONNECT, TEMPORARY ON DATABASE {q(database)} TO {q(role)}",
                f"GRANT USAGE ON SCHEMA {q(schema)} TO {q(role)}",
                f"REVOKE ALL ON ALL TABLES IN SCHEMA {q(schema)} FROM {q(role)}",
                f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {q(schema)} "
                f"TO {q(role)}",
                f"REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON {q(audit)} "
                f"FROM {q(role)}",
                f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {q(schema)} TO {q(role)}",
            ):
                cursor.execute(statement)
            cursor.execute(
                "SELECT privilege_type FROM information_schema.role_table_grants "
                "WHERE grantee = %s AND table_name = %s ORDER BY 1",
                [role, audit],
            )
            audit_grants = sorted(r[0] for r in cursor.fetchall())
        if audit_grants != sorted(AUDIT_ONLY):
            raise CommandError(f"{role} holds {audit_grants} on {audit}; expected INSERT, SELECT.")
        self.stdout.write(
            f"{role}: read and write on every table of {database}.{schema}; "
            f"{', '.join(AUDIT_ONLY)} only on {audit}."
        )
