#!/usr/bin/env bash
# Restore drill (docs/operations.md, "Backup and restore"): prove that a backup restores.
#
#   1. Builds a source: a new PostgreSQL database, migrated, with a small demo authority,
#      and a var directory with an attendance Parquet file and a waiting upload.
#   2. Backs it up as the guide says: pg_dump -Fc, and a tar of var/ (without what is
#      rebuilt: staticfiles/, matching/index/, prometheus/).
#   3. Restores both into a fresh database and a fresh var directory.
#   4. Checks the copy: every table's row count equal, no migration missing, `cmetrack
#      check` passes, the audit trail's triggers present and refusing UPDATE, DELETE
#      and TRUNCATE,
#      every file of var/ back with the same SHA-256, the Parquet file readable.
#
# Usage: deploy/restore_drill.sh   (from the repository, after `python3 dev.py setup`)
# Environment: DRILL_PG_URL (default postgres://postgres@127.0.0.1:5432), the server and a
# role that may create databases; PYTHON (default .venv/bin/python). The two databases and
# the work directory are removed at the end, whatever happens. Exit status 0: restored.
set -euo pipefail
cd "$(dirname "$0")/.."

PG_URL="${DRILL_PG_URL:-postgres://postgres@127.0.0.1:5432}"
PYTHON="${PYTHON:-.venv/bin/python}"
CMETRACK=("$PYTHON" -m cmetrack.cli)
SOURCE_DB="cmetrack_drill_source_$$"
TARGET_DB="cmetrack_drill_restored_$$"
WORK="$(mktemp -d -t cmetrack-drill.XXXXXX)"
started=$SECONDS

say() { printf '=== %s (%ds)\n' "$*" $((SECONDS - started)); }

psql_admin() { psql "$PG_URL/postgres" -X -q -v ON_ERROR_STOP=1 "$@"; }

cleanup() {
    psql_admin -c "DROP DATABASE IF EXISTS \"$SOURCE_DB\"" -c "DROP DATABASE IF EXISTS \"$TARGET_DB\"" \
        >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

for tool in pg_dump pg_restore psql tar; do
    command -v "$tool" >/dev/null || { echo "restore drill: $tool is not installed" >&2; exit 2; }
done

export DJANGO_SETTINGS_MODULE=cmetrack.config.settings.dev
export CMETRACK_LOG_LEVEL=WARNING

# --- 1. The source -----------------------------------------------------------------------
say "Source: database $SOURCE_DB, var $WORK/var"
psql_admin -c "CREATE DATABASE \"$SOURCE_DB\""
mkdir -p "$WORK/var"
(
    export DATABASE_URL="$PG_URL/$SOURCE_DB" CMETRACK_VAR_DIR="$WORK/var"
    "${CMETRACK[@]}" migrate --no-input -v 0
    "${CMETRACK[@]}" demo_data --seed 7 --schools 4 --pupils 240 --cases 15 >/dev/null
)
"$PYTHON" - "$WORK/var" <<'PY'
# What var/ holds in service: attendance marks as Parquet by school and year, an upload
# waiting for the worker, a search index (rebuilt by the worker, so not backed up).
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

var = Path(sys.argv[1])
marks = var / "attendance" / "school=9992001" / "year=2025"
marks.mkdir(parents=True, exist_ok=True)
table = pa.table(
    {
        "upn": ["A123456789012"] * 4,
        "date": ["2025-10-06", "2025-10-06", "2025-10-07", "2025-10-07"],
        "session": ["AM", "PM", "AM", "PM"],
        "code": ["/", "\\", "O", "O"],
    }
)
pq.write_table(table, marks / "marks.parquet")
(var / "imports").mkdir(exist_ok=True)
(var / "imports" / "waiting-roll.csv").write_text("laestab,upn\n9992001,A123456789012\n")
(var / "matching" / "index").mkdir(parents=True, exist_ok=True)
if not any((var / "matching" / "index").iterdir()):
    (var / "matching" / "index" / "children.bin").write_bytes(b"rebuilt by the worker")
PY

# --- 2. Back up ----------------------------------------------------------------------------
say "Backup: pg_dump -Fc and a tar of var/"
mkdir -p "$WORK/backup"
pg_dump --format=custom --no-owner --file="$WORK/backup/cmetrack.dump" "$PG_URL/$SOURCE_DB"
tar --create --gzip --file="$WORK/backup/var.tar.gz" --directory="$WORK" \
    --exclude=var/staticfiles --exclude=var/matching/index --exclude=var/prometheus var

# --- 3. Restore into a fresh database and var directory --------------------------------------
say "Restore: database $TARGET_DB, var $WORK/restored/var"
psql_admin -c "CREATE DATABASE \"$TARGET_DB\""
pg_restore --no-owner --exit-on-error --dbname="$PG_URL/$TARGET_DB" "$WORK/backup/cmetrack.dump"
mkdir -p "$WORK/restored"
tar --extract --gzip --file="$WORK/backup/var.tar.gz" --directory="$WORK/restored"

# --- 4. Check the copy -----------------------------------------------------------------------
say "Checks"
(
    export DATABASE_URL="$PG_URL/$TARGET_DB" CMETRACK_VAR_DIR="$WORK/restored/var"
    # `cmetrack check` and `cmetrack migrate --check` (no migration missing), in one process.
    "$PYTHON" -c '
import django
django.setup()
from django.core.management import call_command
call_command("check")
try:
    call_command("migrate", check_unapplied=True, interactive=False, verbosity=0)
except SystemExit:
    raise SystemExit("restore drill: the restored database lacks migrations")
'
)
"$PYTHON" - "$PG_URL" "$SOURCE_DB" "$TARGET_DB" "$WORK/var" "$WORK/restored/var" <<'PY'
import hashlib
import sys
from pathlib import Path

import psycopg
import pyarrow.parquet as pq

pg_url, source_db, target_db, source_var, target_var = sys.argv[1:]
failures: list[str] = []


def counts(db: str) -> dict[str, int]:
    with psycopg.connect(f"{pg_url}/{db}") as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
            )
        ]
        return {
            t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]  # noqa: S608
            for t in tables
        }


source, target = counts(source_db), counts(target_db)
if source != target:
    differ = sorted(t for t in source.keys() | target.keys() if source.get(t) != target.get(t))
    failures.append(f"row counts differ in {differ}")
for key in ("people_child", "cases_case", "audit_auditevent", "registers_rollentry"):
    if not source.get(key):
        failures.append(f"the source has no rows in {key}: the drill proves nothing")
print(
    f"tables: {len(target)}; rows: {sum(target.values())}; children "
    f"{target.get('people_child')}, cases {target.get('cases_case')}, audit events "
    f"{target.get('audit_auditevent')}"
)

with psycopg.connect(f"{pg_url}/{target_db}") as conn:
    triggers = {
        row[0]
        for row in conn.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit_auditevent'::regclass "
            "AND NOT tgisinternal"
        )
    }
    expected_triggers = {
        "audit_auditevent_no_update",
        "audit_auditevent_no_delete",
        "audit_auditevent_no_truncate",
    }
    if triggers != expected_triggers:
        failures.append(f"the audit trail's triggers are {sorted(triggers)}")
    for statement in (
        "UPDATE audit_auditevent SET summary = 'changed' WHERE id = (SELECT min(id) FROM audit_auditevent)",
        "DELETE FROM audit_auditevent WHERE id = (SELECT min(id) FROM audit_auditevent)",
        "TRUNCATE audit_auditevent",
    ):
        try:
            with conn.transaction():
                conn.execute(statement)
        except psycopg.Error:
            continue
        failures.append(f"the restored audit trail allowed: {statement.split()[0]}")


def digests(root: str) -> dict[str, str]:
    base = Path(root)
    return {
        str(p.relative_to(base)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(base.rglob("*"))
        if p.is_file()
    }


expected = {
    k: v
    for k, v in digests(source_var).items()
    if not k.startswith(("staticfiles/", "matching/index/", "prometheus/"))
}
restored = digests(target_var)
if expected != restored:
    failures.append(f"var/ differs: {sorted(expected.keys() ^ restored.keys()) or 'contents'}")
marks = Path(target_var) / "attendance" / "school=9992001" / "year=2025" / "marks.parquet"
if not marks.exists() or pq.read_table(marks).num_rows != 4:
    failures.append("the attendance Parquet file did not come back whole")
print(f"var files restored: {len(restored)} ({', '.join(sorted(restored))})")

if failures:
    print("RESTORE DRILL FAILED:", *failures, sep="\n  ", file=sys.stderr)
    sys.exit(1)
PY
say "Restore drill passed"
