"""``cmetrack import_worker``: the old name of ``cmetrack worker`` (kept so that an old
service file still starts the worker, and says so)."""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Old name of 'cmetrack worker' (queued imports and the scheduled jobs): use that."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stderr.write(
            "cmetrack import_worker is now `cmetrack worker` (imports and the scheduled "
            "jobs): starting that. Change your service file to run `cmetrack worker`."
        )
        call_command("worker", stdout=self.stdout._out, stderr=self.stderr._out)
