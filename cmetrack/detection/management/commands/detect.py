"""``cmetrack detect --data DIR --as-of DATE [--json]``: run every detection rule.

Marks come from the Parquet and CSV files under ``--data`` (long form
``laestab,upn,date,session,code``), or from the imported attendance when ``--data`` is not
given. The calendar comes from ``DIR/terms.csv`` and ``DIR/closures.csv`` when present
(the import formats), else from the school calendar in the database. Alerts are written
(never duplicated); ``--dry-run`` only reports.
"""

from __future__ import annotations

import json
import time
from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cmetrack.audit.services import Actor
from cmetrack.detection.services import (
    DetectionConfig,
    detection_find,
    detection_run,
    leaver_school_days_setting,
)


class Command(BaseCommand):
    help = "Run the detection rules over attendance and registers, and write alerts."

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
        parser.add_argument("--threads", type=int, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            as_of = date.fromisoformat(options["as_of"])
        except ValueError as exc:
            raise CommandError(f"--as-of must be a date like 2025-11-28: {exc}") from exc
        data: Path | None = options["data"]
        if data is not None and not data.is_dir():
            raise CommandError(f"--data {data} is not a folder")
        config = DetectionConfig(
            as_of=as_of,
            data_dir=data,
            leaver_school_days=options["leaver_school_days"] or leaver_school_days_setting(),
            threads=options["threads"],
        )
        started = time.perf_counter()
        if options["dry_run"]:
            report = detection_find(config)
        else:
            report = detection_run(actor=Actor.system("cmetrack detect"), config=config)
        elapsed = time.perf_counter() - started
        if options["json"]:
            self.stdout.write(json.dumps(_as_json(report), indent=1, default=str))
            return
        self.stdout.write(f"Detection as of {as_of:%d %B %Y}: {report.marks} marks read")
        for rule, count in sorted(report.counts().items()):
            self.stdout.write(f"  {rule}: {count}")
        self.stdout.write(
            f"{report.created} new alerts, {report.updated} updated, in {elapsed:.1f} s"
            + (" (dry run: nothing written)" if options["dry_run"] else "")
        )


def _as_json(report: Any) -> dict[str, Any]:
    runs = [
        {
            "upn": run.upn,
            "school": run.laestab,
            "rule": "absence_40" if run.sessions >= 40 else "absence_20",
            "start": {"date": run.first_date.isoformat(), "session": run.first_session},
            "end": {"date": run.last_date.isoformat(), "session": run.last_session},
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
