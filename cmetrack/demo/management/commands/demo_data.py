from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cmetrack.demo.services import DEMO_PASSWORD, build_demo_authority, demo_exists, demo_sign_ins


class Command(BaseCommand):
    help = "Build a synthetic demo authority (schools, pupils, staff, cases). Never real people."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--schools", type=int, default=40)
        parser.add_argument("--pupils", type=int, default=15_000)
        parser.add_argument("--cases", type=int, default=300)
        parser.add_argument(
            "--if-missing",
            action="store_true",
            help="Do nothing (but print the sign-ins) if the demo already exists.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
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
            )
            self.stdout.write(
                f"Built the demo authority: {summary.schools} schools, {summary.pupils} pupils "
                f"on rolls, {summary.children} children with "
                f"{sum(summary.cases_by_state.values())} cases."
            )
        self.stdout.write("\nDemo sign-ins (password for all: " + DEMO_PASSWORD + "):")
        for email, roles in demo_sign_ins():
            self.stdout.write(f"  {email:<40} {roles}")
