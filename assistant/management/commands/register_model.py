from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from assistant.registry.selectors import model_by_name
from assistant.registry.services import model_version_register


class Command(BaseCommand):
    help = (
        "Register a GGUF model (or an external OpenAI-compatible server) as a model version, e.g. "
        "`register_model ~/.cache/llama-models/Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf --activate`."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", nargs="?", help="the GGUF file (for --backend external: the server's model id)")
        parser.add_argument("--name", help="the name clients pass as `model` (default: the file name without .gguf)")
        parser.add_argument("--role", default="chat", choices=["chat", "embedding", "router"])
        parser.add_argument("--chat-format", help="for GGUFs without a chat template: gemma, chatml or llama-3")
        parser.add_argument("--lora", dest="lora_path", help="a LoRA adapter GGUF applied on load")
        parser.add_argument("--lora-scale", type=float, default=1.0)
        parser.add_argument("--base", help="name of the version this one derives from")
        parser.add_argument("--backend", default="local", choices=["local", "external"])
        parser.add_argument(
            "--base-url", help="external backend: the server's OpenAI base URL, e.g. http://host:8080/v1"
        )
        parser.add_argument("--n-ctx", type=int, default=2048)
        parser.add_argument("--n-gpu-layers", type=int, default=0)
        parser.add_argument("--n-threads", type=int)
        parser.add_argument("--activate", action="store_true", help="make it the active model now")

    def handle(self, *args: Any, **options: Any) -> None:
        path = options["path"]
        name = options["name"] or (Path(path).name.removesuffix(".gguf") if path else None)
        if not name:
            raise CommandError("--name: required when no path is given")
        base = None
        if options["base"]:
            base = model_by_name(options["base"])
            if base is None:
                raise CommandError(f"--base: no model version named {options['base']!r}")
        try:
            version = model_version_register(
                name=name,
                path=path,
                role=options["role"],
                chat_format=options["chat_format"],
                lora_path=options["lora_path"],
                lora_scale=options["lora_scale"],
                base=base,
                backend=options["backend"],
                base_url=options["base_url"],
                n_ctx=options["n_ctx"],
                n_gpu_layers=options["n_gpu_layers"],
                n_threads=options["n_threads"],
                activate=options["activate"],
            )
        except ValidationError as exc:
            raise CommandError(
                "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
            ) from exc
        detail = (
            f"{version.size_bytes / 1e6:.1f} MB, sha256 {version.sha256[:12]}…" if version.sha256 else version.base_url
        )
        self.stdout.write(self.style.SUCCESS(f"Registered {version.name} ({detail}), status {version.status}"))
