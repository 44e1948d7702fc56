"""The application's database role (issue 17): on PostgreSQL it reads and writes every table
but may only INSERT and SELECT audit rows, and nobody may TRUNCATE the audit table."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="database roles and TRUNCATE are PostgreSQL's"
)

ROLE = f"cm_app_test_{os.getpid()}"


def _connect(role: str | None = None, **kwargs: Any) -> psycopg.Connection[Any]:
    s = connection.settings_dict
    return psycopg.connect(
        host=s["HOST"] or "127.0.0.1",
        port=s["PORT"] or 5432,
        dbname=s["NAME"],
        user=role or s["USER"],
        password=s["PASSWORD"] if role is None else "",
        **kwargs,
    )


@pytest.fixture
def app_role(transactional_db: None) -> Iterator[str]:
    call_command("db_app_role", ROLE, "--create", stdout=open(os.devnull, "w"))  # noqa: SIM115
    yield ROLE
    with _connect(autocommit=True) as conn:
        conn.execute(f'DROP OWNED BY "{ROLE}"')
        conn.execute(f'DROP ROLE IF EXISTS "{ROLE}"')


INSERT = (
    "INSERT INTO audit_auditevent (at, actor_label, action, object_type, object_id, summary, "
    "changes) VALUES (now(), 'test', 'view', '', '', 'role test', '{}') RETURNING id"
)


def test_the_app_role_inserts_and_reads_audit_rows_only(app_role: str) -> None:
    with _connect(app_role) as conn:
        inserted = conn.execute(INSERT).fetchone()
        assert inserted is not None
        found = conn.execute(
            "SELECT count(*) FROM audit_auditevent WHERE id = %s", [inserted[0]]
        ).fetchone()
        assert found == (1,)
        for statement in (
            "UPDATE audit_auditevent SET summary = 'changed'",
            "DELETE FROM audit_auditevent",
            "TRUNCATE audit_auditevent",
        ):
            conn.execute("SAVEPOINT s")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
            conn.execute("ROLLBACK TO SAVEPOINT s")
        # Other tables: read and write.
        conn.execute("SELECT count(*) FROM cases_case")
        conn.execute("UPDATE cases_case SET version = version WHERE false")
        conn.rollback()  # nothing this test wrote stays


def test_no_session_truncates_the_audit_table_unless_it_allows_it(transactional_db: None) -> None:
    with _connect() as conn:
        # The owner (no grant matters to it): refused by the statement trigger.
        with pytest.raises(psycopg.errors.RaiseException, match="cannot be truncated"):
            conn.execute("TRUNCATE audit_auditevent")
        conn.rollback()


def test_the_command_refuses_sqlite_like_names(db: None) -> None:
    with pytest.raises(CommandError, match="plain role name"):
        call_command("db_app_role", "x; DROP TABLE y")
