from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cmetrack.accounts.models import User
from cmetrack.accounts.services import api_token_create
from cmetrack.audit.services import Actor


class Command(BaseCommand):
    help = "Issue an API token for a service account; the token is printed once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")
        parser.add_argument("--name", default="service token")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            user = User.objects.get(email=options["email"].lower())
        except User.DoesNotExist as exc:
            raise CommandError(f"No user with email {options['email']}") from exc
        _, raw = api_token_create(
            actor=Actor.system("issue_api_token"), user=user, name=options["name"]
        )
        self.stdout.write(raw)
