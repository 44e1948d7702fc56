"""``cmetrack followup_prompts``: a follow-up task for every open case with no contact for
a month (``CMETRACK_NO_CONTACT_DAYS``), for its assigned officer. Run it daily; running it
again creates nothing new for the same gap in contact."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cmetrack.audit.services import Actor
from cmetrack.casework.selectors import no_contact_days
from cmetrack.casework.services import follow_up_prompts_create


class Command(BaseCommand):
    help = "Create follow-up tasks for open cases with no contact for a month."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help="Days without contact (default: the CMETRACK_NO_CONTACT_DAYS setting, 30).",
        )

    def handle(self, *args: Any, days: int | None = None, **options: Any) -> None:
        days = no_contact_days() if days is None else days
        if days < 1:
            raise CommandError("--days must be 1 or more.")
        run = follow_up_prompts_create(actor=Actor.system("followup_prompts"), days=days)
        self.stdout.write(
            f"No contact for {days} days or more: created {len(run.created)} follow-up "
            f"task(s); {run.already_prompted} case(s) already had one for the same gap."
        )
        if run.no_owner:
            refs = ", ".join(c.reference for c in run.no_owner[:20])
            more = f" and {len(run.no_owner) - 20} more" if len(run.no_owner) > 20 else ""
            self.stdout.write(
                f"{len(run.no_owner)} case(s) have no assigned officer who can take the "
                f"task: {refs}{more}."
            )
