"""``cmetrack lost_pupils_match``: check new roll snapshots' joiners against the lost pupils.

Run after roll imports (CSV rolls through ``cmetrack import_data roll`` or the upload
page; CTF rolls are checked as they are imported). Only snapshots not checked before, or
changed since, are read, so running it often costs little.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from cmetrack.audit.services import Actor
from cmetrack.transfers.services import lost_pupils_check_rolls


class Command(BaseCommand):
    help = "Match joiners on new roll snapshots against the lost-pupil area."

    def handle(self, *args: Any, **options: Any) -> None:
        found = lost_pupils_check_rolls(actor=Actor.system("cmetrack lost_pupils_match"))
        self.stdout.write(f"{found} new possible match{'es' if found != 1 else ''} found")
