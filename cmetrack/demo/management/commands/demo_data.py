import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cmetrack.demo.services import (
    DEMO_PASSWORD,
    build_demo_authority,
    demo_email,
    demo_exists,
    demo_sign_ins,
)


class Command(BaseCommand):
    help = "Build a synthetic demo authority (schools, pupils, staff, cases). Never real people."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--schools", type=int, default=40)
        parser.add_argument("--pupils", type=int, default=15_000)
        parser.add_argument(
            "--cases",
            type=int,
            default=300,
            help="Cases to open (the first 300 through the services, the rest in bulk).",
        )
        parser.add_argument(
            "--officers",
            type=int,
            default=3,
            help="CME officers (more than 3 adds officer4@... for load tests).",
        )
        parser.add_argument(
            "--managers",
            type=int,
            default=1,
            help="CME managers (more than 1 adds manager2@... for load tests).",
        )
        parser.add_argument(
            "--if-missing",
            action="store_true",
            help="Do nothing (but print the sign-ins) if the demo already exists.",
        )

    def _progress(self, message: str) -> None:
        if self.verbosity >= 2:
            self.stdout.write(f"  {time.monotonic() - self.started:6.0f} s  {message}")

    def handle(self, *args: Any, **options: Any) -> None:
        self.verbosity = int(options.get("verbosity", 1))
        self.started = time.monotonic()
        if demo_exists():
            if not options["if_missing"]:
                raise CommandError("The demo authority already exists in this database.")
            self.stdout.write("The demo authority is already in the database.")
        else:
            summary = build_demo_authority(
                seed=options["seed"],
                schools=options["schools"],
                pupils=options["pupils"],
                cases=options["cases"],
                officers=options["officers"],
                managers=options["managers"],
                progress=self._progress,
            )
            self.stdout.write(
                f"Built the demo authority: {summary.schools} schools, {summary.pupils} pupils "
                f"on rolls, {summary.children} children with "
                f"{sum(summary.cases_by_state.values())} cases."
            )
        self.stdout.write("\nDemo sign-ins (password for all: " + DEMO_PASSWORD + "):")
        for email, roles in demo_sign_ins():
            self.stdout.write(f"  {email:<40} {roles}")
        for kind, first, count in (
            ("officer", 4, options["officers"]),
            ("manager", 2, options["managers"]),
        ):
            if count >= first:
                self.stdout.write(
                    f"  {demo_email(f'{kind}{first}')} to {demo_email(f'{kind}{count}')} "
                    "(load-test accounts)"
                )
