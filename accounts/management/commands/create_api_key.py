from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.services import api_key_create


class Command(BaseCommand):
    help = "Create an API key for a user and print it (and nothing else)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True, help="username of the key's owner")
        parser.add_argument("--name", default="default", help="a label for the key")

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(f"--user: no user named {options['user']!r}.")
        _, raw = api_key_create(user=user, name=options["name"])
        self.stdout.write(raw)
