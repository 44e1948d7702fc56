"""``cmetrack detect --data DIR --as-of DATE [--json]``: run every detection rule.

Marks come from the Parquet and CSV files under ``--data`` (long form
``laestab,upn,date,session,code``), or from the imported attendance when ``--data`` is not
given. The calendar comes from ``DIR/terms.csv`` and ``DIR/closures.csv`` when present
(the import formats), else from the school calendar in the database. Alerts are written
(never duplicated); ``--dry-run`` only reports.

``--json`` prints ``runs`` (each run of unexplained absence at least ``--min-sessions``
long, default 20: UPN, school, rule, first and last session, sessions, school days, data
gaps, open) and ``alerts`` (every finding of every rule, with its evidence).
"""

from __future__ import annotations

import json
import time
from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cmetrack.audit.services import Actor
from cmetrack.detection import engine, lines
from cmetrack.detection.services import (
    DetectionConfig,
    detection_find,
    detection_run,
    leaver_school_days_setting,
)


class Command(BaseCommand):
    help = "Run the detection rules over attendance and registers, and write alerts."

    # A batch command, run every night and after every feed: Django's system checks
    # (a second of start-up) are run by the web server, the worker and `migrate`.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--data", type=Path, help="Folder of marks (Parquet and/or CSV).")
        parser.add_argument("--as-of", required=True, help="Detect as of this date (YYYY-MM-DD).")
        parser.add_argument("--json", action="store_true", help="Print the alerts as JSON.")
        parser.add_argument("--dry-run", action="store_true", help="Report; write nothing.")
        parser.add_argument(
            "--leaver-school-days",
            type=int,
            default=None,
            help="School days before a leaver with no destination is an alert.",
        )
        parser.add_argument(
            "--full",
            action="store_true",
            help="Read every imported mark (by default the open runs are carried on from "
            "the last run and only the marks imported since are read).",
        )
        parser.add_argument("--threads", type=int, default=None, help="DuckDB threads.")
        parser.add_argument(
            "--memory-limit", default=None, help="DuckDB memory limit, e.g. 4GB (it spills)."
        )
        parser.add_argument(
            "--min-sessions",
            type=int,
            default=20,
            help="List runs of unexplained absence at least this long in --json "
            "(default 20; alerts are raised at 20 and 40 sessions whatever this is).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            as_of = date.fromisoformat(options["as_of"])
        except ValueError as exc:
            raise CommandError(f"--as-of must be a date like 2025-11-28: {exc}") from exc
        data: Path | None = options["data"]
        parquet: list[str] = []
        if data is not None and not data.is_dir():
            raise CommandError(f"--data {data} is not a folder")
        if data is not None:
            for path in sorted(data.rglob("*")):
                problem = (
                    path.suffix.lower() == ".csv"
                    and path.is_file()
                    and lines.whole_file_problem(path)
                )
                if problem:  # (a workbook or UTF-16 text renamed .csv)
                    raise CommandError(f"{path} is not a file of marks: {problem}")
            try:
                parquet, csv = engine.marks_sources(data)
            except engine.MarksFileError as exc:
                raise CommandError(str(exc)) from exc
            if not parquet and not csv:
                raise CommandError(
                    f"--data {data} has no marks: expected .parquet or .csv files with the "
                    f"columns {','.join(engine.MARKS_COLUMNS)} (in any order)"
                )
        config = DetectionConfig(
            as_of=as_of,
            data_dir=data,
            leaver_school_days=options["leaver_school_days"] or leaver_school_days_setting(),
            threads=options["threads"],
            memory_limit=options["memory_limit"],
            min_run_sessions=options["min_sessions"],
            incremental=not options["full"],
        )
        started = time.perf_counter()
        try:
            if options["dry_run"]:
                report = detection_find(config)
            else:
                report = detection_run(actor=Actor.system("cmetrack detect"), config=config)
        except Exception as exc:
            # A Parquet file that is not marks fails deep in DuckDB: name the file and
            # what it lacks (looked for only then: a good folder pays nothing for it).
            problem = _parquet_problem(parquet) if data is not None else None
            if problem:
                raise CommandError(problem) from exc
            raise
        elapsed = time.perf_counter() - started
        if options["json"]:
            self.stdout.write(json.dumps(_as_json(report), indent=1, default=str))
            return
        self.stdout.write(
            f"Detection as of {as_of:%d %B %Y}: {report.marks} marks read"
            + (" (imported since the last run; open runs carried on)" if report.incremental else "")
        )
        for rule, count in sorted(report.counts().items()):
            self.stdout.write(f"  {rule}: {count}")
        self.stdout.write(
            f"{report.created} new alerts, {report.updated} updated, in {elapsed:.1f} s"
            + (" (dry run: nothing written)" if options["dry_run"] else "")
        )


def _parquet_problem(files: list[str]) -> str | None:
    """Why one of these Parquet files cannot be read as marks (a column missing, or not
    Parquet at all), or None."""
    con = engine.connect()
    for path in files:
        try:
            names = {
                str(row[0]).strip().lower()
                for row in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [path]).fetchall()
            }
        except Exception as exc:  # DuckDB's words for a broken file
            return f"{path} could not be read as Parquet: {exc}"
        missing = [c for c in engine.MARKS_COLUMNS if c not in names]
        if missing:
            return (
                f"{path} is not a file of marks: it has no column {', '.join(missing)} "
                f"(expected {','.join(engine.MARKS_COLUMNS)}, in any order)"
            )
    return None


def _run_rule(sessions: int) -> str:
    if sessions >= 40:
        return "absence_40"
    return "absence_20" if sessions >= 20 else "below_threshold"


def _as_json(report: Any) -> dict[str, Any]:
    runs = [
        {
            "upn": run.upn,
            "school": run.laestab,
            "rule": _run_rule(run.sessions),
            "start": {"date": run.first_date.isoformat(), "session": run.first_session},
            "end": {"date": run.last_date.isoformat(), "session": run.last_session},
            "first_date": run.first_date.isoformat(),
            "first_session": run.first_session,
            "last_date": run.last_date.isoformat(),
            "last_session": run.last_session,
            "sessions": run.sessions,
            "school_days": run.school_days,
            "data_gaps": run.data_gaps,
            "open": run.open,
        }
        for run in report.runs
    ]
    return {
        "as_of": report.as_of.isoformat(),
        "marks": report.marks,
        "summary": report.counts(),
        "created": report.created,
        "updated": report.updated,
        "runs": runs,
        "alerts": [finding.as_dict() for finding in report.findings],
    }
