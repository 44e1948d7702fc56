"""``cmetrack feed_token LAESTAB [--name NAME]``: a school's token for the feeds API.

Makes the school's feed service account the first time (a school user of that school only,
who never signs in with a password) and prints a new API token for it, once. The school's
MIS or integrator sends it as ``Authorization: Bearer <token>`` to ``/api/v1/feeds/...``;
it can send only that school's rows. Revoke it in the administration site (API tokens).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cmetrack.accounts.services import api_token_create
from cmetrack.audit.services import Actor
from cmetrack.detection.feeds import FeedError, school_feed_account
from cmetrack.organisations.models import Organisation, OrganisationKind


class Command(BaseCommand):
    help = "Issue a school's API token for the data feeds (printed once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("laestab", help="The school's 7-digit LAESTAB")
        parser.add_argument("--name", default="MIS feed", help="What the token is for")

    def handle(self, *args: Any, **options: Any) -> None:
        laestab = options["laestab"].strip()
        school = next(
            (
                s
                for s in Organisation.objects.filter(kind=OrganisationKind.SCHOOL).select_related(
                    "local_authority"
                )
                if s.laestab == laestab
            ),
            None,
        )
        if school is None:
            raise CommandError(f"{laestab} is not the LAESTAB of a school we know")
        actor = Actor.system("feed_token")
        try:
            account = school_feed_account(actor=actor, school=school)
        except FeedError as exc:
            raise CommandError(str(exc)) from exc
        _, raw = api_token_create(actor=actor, user=account, name=options["name"][:100])
        self.stderr.write(f"Token for {school.name} ({account.email}); it is shown only once:")
        self.stdout.write(raw)
