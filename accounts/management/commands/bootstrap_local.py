"""First-start set-up for `make run`: demo admin, API key, demo data; prints where to go."""

from __future__ import annotations

import json
import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from accounts.models import ApiKey
from accounts.services import api_key_create

CREDENTIALS_FILE = "demo-credentials.json"


class Command(BaseCommand):
    help = "Create the demo admin user and API key on first start and load demo data."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--skip-demo-data", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        credentials = self._credentials()
        if not options["skip_demo_data"]:
            available = get_commands()
            for name, kwargs in settings.OPTIQ_BOOTSTRAP_COMMANDS:
                if name in available:
                    self.stdout.write(f"Running {name}…")
                    call_command(name, **kwargs)
        self.stdout.write(json.dumps(credentials))

    @transaction.atomic
    def _credentials(self) -> dict[str, Any]:
        """The demo login; its password and key only on the start that made them (then the file
        that keeps them), so that later starts print no secret into a terminal or a log."""
        path = settings.DATA_DIR / CREDENTIALS_FILE
        User = get_user_model()
        if path.exists():
            saved = json.loads(path.read_text())
            user = User.objects.filter(username=saved["username"]).first()
            if user is not None and ApiKey.objects.filter(user=user, prefix=saved["api_key"][:10]).exists():
                return {"username": saved["username"], "file": str(path), "created": False}
        username = "admin"
        password = secrets.token_urlsafe(12)
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User.objects.create_superuser(username=username, email="admin@example.com", password=password)
        else:
            user.set_password(password)
            user.save(update_fields=["password"])
        _, raw = api_key_create(user=user, name="demo")
        saved = {"username": username, "password": password, "api_key": raw}
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(saved, indent=2))
        path.chmod(0o600)
        return {**saved, "file": str(path), "created": True}
