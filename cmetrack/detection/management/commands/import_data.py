"""``cmetrack import_data KIND FILE``: import a file as the system (for long imports).

KIND is one of terms, closures, roll (with ``--taken-on``), attendance (CSV or Parquet),
deletions, additions, allocations. Prints the rows, the changes and every problem with
its line and column; exits non-zero if the file was refused (nothing is written then).
Shows the progress as it goes: a bar on a terminal, plain lines otherwise.
``--background`` queues the file for the background worker (``cmetrack worker``) instead.

A feed the detection rules read (attendance, a roll, deletion or addition returns,
allocations) is followed, in the same process, by detection as of ``--as-of`` (default
today): an increment from the stored state over what was imported since the last run,
alerts written, as the worker does after every feed
(:func:`cmetrack.detection.jobs.detection_after_import`). ``--no-detect`` leaves it to
the worker (queued) or to ``cmetrack detect``.
"""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cmetrack.audit.services import Actor
from cmetrack.detection import jobs
from cmetrack.detection.imports import RowProblem, detection_in_this_process
from cmetrack.detection.models import ImportStatus
from cmetrack.detection.progress import ProgressBar
from cmetrack.kit.words import plural


class Command(BaseCommand):
    help = "Import a calendar, roll, attendance, returns or allocations file."

    # A batch command, run every night and after every feed: Django's system checks
    # (a second of start-up) are run by the web server, the worker and `migrate`.
    requires_system_checks: list[str] = []

    KINDS = ("terms", "closures", "roll", "attendance", "deletions", "additions", "allocations")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=self.KINDS)
        parser.add_argument("file", type=Path)
        parser.add_argument("--taken-on", help="The date a roll snapshot was taken (YYYY-MM-DD).")
        parser.add_argument(
            "--background",
            action="store_true",
            help="Queue the import for the background worker (cmetrack worker); return at once.",
        )
        parser.add_argument(
            "--no-detect",
            action="store_true",
            help="Do not run detection after the import (it is queued for the worker).",
        )
        parser.add_argument(
            "--as-of", help="Detect as of this date after the import (YYYY-MM-DD; default today)."
        )
        parser.add_argument("--threads", type=int, default=None, help="Detection's DuckDB threads.")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"{path} is not a file")
        kind = options["kind"]
        actor = Actor.system("cmetrack import_data")
        started = time.perf_counter()
        params: dict[str, Any] = {}
        as_of = None
        if options["as_of"]:
            try:
                as_of = date.fromisoformat(options["as_of"])
            except ValueError as exc:
                raise CommandError(f"--as-of must be a date like 2025-10-02: {exc}") from exc
        if kind == "roll":
            if not options["taken_on"]:
                raise CommandError("a roll needs --taken-on YYYY-MM-DD")
            try:
                params["taken_on"] = date.fromisoformat(options["taken_on"]).isoformat()
            except ValueError as exc:
                raise CommandError(f"--taken-on must be a date like 2025-10-02: {exc}") from exc
        if options["background"]:
            queued = jobs.import_enqueue(
                actor=actor, kind=kind, file_name=path.name, content=path, params=params
            )
            self.stdout.write(
                f"Queued as import {queued.pk}: the background worker (`cmetrack worker`) "
                "imports it."
            )
            return
        self.stdout.write(f"Importing {kind} from {path.name}...")
        bar = ProgressBar(self.stdout._out)
        service = jobs.importer_for(kind)
        if options["no_detect"]:
            run = service(actor=actor, path=path, file_name=path.name, listener=bar, **params)
        else:
            with detection_in_this_process():
                run = service(actor=actor, path=path, file_name=path.name, listener=bar, **params)
        bar.finish()
        # "Line 3, column upn: ...", "The file: ..." (a problem of the whole file, line 0).
        for problem in run.errors:
            self.stderr.write(f"error: {RowProblem(**problem)}")
        for problem in run.warnings:
            self.stdout.write(f"warning: {RowProblem(**problem)}")
        self.stdout.write(
            f"{run.get_status_display()}: {plural(run.rows, 'row')} read, {run.created:,} changed, "
            f"{plural(len(run.warnings), 'warning')}, {plural(len(run.errors), 'error')} "
            f"({time.perf_counter() - started:.1f} s)"
        )
        if run.status == ImportStatus.FAILED:
            raise CommandError("nothing was imported: correct the errors and try again")
        if options["no_detect"]:
            return
        detecting = time.perf_counter()
        try:
            report = jobs.detection_after_import(
                run, by="cmetrack import_data", as_of=as_of, threads=options["threads"],
                fallback=False,
            )  # fmt: skip
        except Exception as exc:
            raise CommandError(
                f"the file was imported, but detection failed ({exc}): run `cmetrack detect`"
            ) from exc
        if report is not None:
            summary = jobs.detection_summary(report)
            self.stdout.write(
                f"{summary[0].upper()}{summary[1:]} ({time.perf_counter() - detecting:.1f} s)"
            )
