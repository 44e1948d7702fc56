"""``cmetrack import_worker``: run queued imports (uploads sent from the web pages).

Runs until stopped, polling the queue (``--poll`` seconds) and saying it is alive so the
upload page only queues. ``--once`` empties the queue and exits; ``--run ID`` runs one
queued import (what the upload page starts when no worker is running). Progress is shown
as the import goes: a bar on a terminal, plain lines otherwise.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections

from cmetrack.detection import jobs
from cmetrack.detection.progress import ProgressBar


class Command(BaseCommand):
    help = "Run queued imports in the background, with progress."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="Empty the queue, then stop.")
        parser.add_argument("--run", type=int, help="Run only this queued import.")
        parser.add_argument("--poll", type=float, default=2.0, help="Seconds between polls.")

    def handle(self, *args: Any, **options: Any) -> None:
        name = jobs.worker_name()
        once = options["once"] or options["run"] is not None
        try:
            while True:
                if not once:
                    jobs.worker_beat(name)
                stale = jobs.imports_fail_stale()
                if stale:
                    self.stderr.write(f"{stale} import(s) had stopped: marked failed")
                run = jobs.import_claim(worker=name, run_id=options["run"])
                if run is None:
                    if once:
                        return
                    close_old_connections()
                    time.sleep(options["poll"])
                    continue
                self.stdout.write(f"Import {run.pk}: {run.get_kind_display()} {run.file_name}")
                bar = ProgressBar(self.stdout._out)
                done = jobs.import_process(run, listener=bar)
                bar.finish()
                self.stdout.write(
                    f"Import {done.pk}: {done.get_status_display()}: {done.rows} rows, "
                    f"{done.created} changed, {len(done.warnings)} warnings, "
                    f"{len(done.errors)} errors"
                )
                if options["run"] is not None:
                    return
        except KeyboardInterrupt:
            self.stdout.write("Stopped.")
        finally:
            if not once:
                jobs.worker_gone(name)
