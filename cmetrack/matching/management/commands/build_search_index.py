"""``cmetrack build_search_index``: build or update every register's search index now.

The worker does this every ten minutes and when a search asks; this command is for
operations (after a restore, or to build before opening the service) and for CI and the
demo. It waits for a build another process is running, then brings each index up to date.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from cmetrack.matching.adapters import ADAPTERS, adapter_for
from cmetrack.matching.jobs import refresh_register
from cmetrack.matching.store import current_store, index_dir


class Command(BaseCommand):
    help = (
        "Build or update the search index of every register (or of --register NAME) and "
        "save it where the web processes map it. Appends new rows where it can; --full "
        "rebuilds from scratch."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--register",
            action="append",
            choices=[a.name for a in ADAPTERS],
            help="Only this register (may be given more than once).",
        )
        parser.add_argument("--full", action="store_true", help="Rebuild from scratch.")

    def handle(self, *args: Any, **options: Any) -> None:
        names = options["register"] or [a.name for a in ADAPTERS]
        store = current_store()
        root = index_dir()
        self.stdout.write(f"Search indexes in {root if root else 'this process only (no folder)'}")
        started = time.perf_counter()
        try:
            for name in names:
                result = refresh_register(adapter_for(name), store=store, full=options["full"])
                self.stdout.write(result.line())
        except OSError as exc:
            raise CommandError(
                f"The search index could not be saved: {exc.strerror or exc}. Check that "
                f"{root} is writable and has free space; the previous index is still used."
            ) from exc
        finally:
            store.refresh_done()
        self.stdout.write(f"Done in {time.perf_counter() - started:.1f} s.")
