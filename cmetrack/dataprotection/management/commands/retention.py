"""``cmetrack retention --list`` / ``cmetrack retention --anonymise --confirm``."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from cmetrack.audit.services import Actor
from cmetrack.dataprotection.retention import (
    birthday,
    children_past_retention,
    retention_age_years,
    retention_anonymise,
)


class Command(BaseCommand):
    help = (
        "List children whose records are past retention (no open case and past the "
        "retention age), or anonymise them with --anonymise --confirm."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        action = parser.add_mutually_exclusive_group(required=True)
        action.add_argument("--list", action="store_true", help="list, change nothing")
        action.add_argument("--anonymise", action="store_true", help="anonymise them")
        parser.add_argument("--confirm", action="store_true", help="needed with --anonymise")

    def handle(self, *args: Any, **options: Any) -> None:
        today = timezone.localdate()
        years = retention_age_years()
        if options["list"]:
            children = children_past_retention(today)
            count = 0
            for child in children.iterator():
                assert child.dob is not None
                self.stdout.write(
                    f"child {child.pk}: reached {years} on {birthday(child.dob, years)}"
                )
                count += 1
            self.stdout.write(f"{count} children are past retention (age {years}).")
            return
        if not options["confirm"]:
            raise CommandError(
                "Anonymising cannot be undone. Run with --list first, then add --confirm."
            )
        result = retention_anonymise(actor=Actor.system("retention"), today=today)
        self.stdout.write(
            f"Anonymised {result.children} children: {result.rows_deleted} rows deleted, "
            f"{result.rows_redacted} rows redacted."
        )
