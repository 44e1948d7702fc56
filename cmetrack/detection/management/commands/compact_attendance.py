"""``cmetrack compact_attendance``: fold the attendance deltas into each partition's file.

Each attendance import appends a small delta file per school and year; the worker folds
the ones detection has read into ``marks.parquet`` every night (``attendance-compact``).
This runs the same step now (for example after a large back-fill).
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from cmetrack.detection.services import attendance_compact


class Command(BaseCommand):
    help = "Fold the attendance deltas detection has read into each partition's marks file."

    # A batch command, run every night and after every feed: Django's system checks
    # (a second of start-up) are run by the web server, the worker and `migrate`.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--threads", type=int, default=None, help="DuckDB threads.")

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        done = attendance_compact(threads=options["threads"])
        self.stdout.write(
            f"Folded {sum(p.deltas for p in done)} delta file(s) into {len(done)} "
            f"partition(s) in {time.perf_counter() - started:.1f} s"
        )
