"""``cmetrack termly_report --term autumn --year 2026``: issue and keep the termly report
(HTML, figures and PDF), as a scheduled job would. Suitable for cron: prints one line,
exits non-zero with a message when the term is not valid."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from cmetrack.audit.services import Actor
from cmetrack.reports.periods import Season
from cmetrack.reports.services import termly_report_issue


class Command(BaseCommand):
    help = "Issue the termly report for a term and keep it in the report history."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--term", required=True, choices=[s.value for s in Season])
        parser.add_argument("--year", required=True, type=int, help="Calendar year of the term.")
        parser.add_argument("--notes", default="", help="Notes printed in the report.")

    def handle(self, *args: Any, term: str, year: int, notes: str = "", **options: Any) -> None:
        try:
            report = termly_report_issue(
                actor=Actor.system("termly_report"), season=term, year=year, notes=notes
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        self.stdout.write(
            f"Issued {report.title} (report {report.pk}, {len(bytes(report.pdf))} bytes of PDF)."
        )
