"""`python manage.py verify_model`: is this machine ready to answer and to fine-tune?

One line per check, ✅ or ❌, and for each failure what to do about it. Exits non-zero when a
required check fails (the model file and the inference backend); the training checks are
reported but only required with --training.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

TRAINING_PACKAGES = ("torch", "transformers", "peft", "accelerate", "gguf")


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True


def _model_file(name: str | None) -> tuple[Check, Any]:
    from assistant.llm.default_model import DEFAULT_MODEL_NAME, default_model_path, file_sha256
    from assistant.registry.selectors import active_model, model_by_name

    version = model_by_name(name) if name else active_model(role="chat")
    if version is None:
        path = default_model_path()
        what = f"no model version named {name!r}" if name else "no active chat model is registered"
        present = f"; {path} is present" if path.is_file() else ""
        return Check(
            "model file",
            False,
            what + present,
            f"run `python manage.py register_default_model` (Gemma 3 270M, {DEFAULT_MODEL_NAME}) or "
            "`python manage.py register_model PATH.gguf --activate`",
        ), None
    if version.backend == "external":
        return Check("model file", True, f"{version.name} is served by {version.base_url} (no local file)"), version
    path = Path(version.path)
    if not path.is_file():
        return Check(
            "model file",
            False,
            f"{version.name}: {path} is missing",
            "put the GGUF back at that path, or register the file where it now is "
            "(`python manage.py register_model PATH --activate`)",
        ), version
    size = path.stat().st_size
    if size != version.size_bytes:
        return Check(
            "model file",
            False,
            f"{path}: {size} bytes, registered with {version.size_bytes}",
            "the file changed since registration: restore it or register it again",
        ), version
    digest = file_sha256(path)
    if digest != version.sha256:
        return Check(
            "model file",
            False,
            f"{path}: SHA-256 {digest[:16]}… differs from the registered {version.sha256[:16]}…",
            "the file is corrupt or was replaced: restore it or register it again",
        ), version
    detail = f"{version.name}: {path} ({size / 1e6:.1f} MB, SHA-256 {digest[:12]}… matches)"
    if version.lora_path:
        lora = Path(version.lora_path)
        if not lora.is_file():
            return Check(
                "model file",
                False,
                f"{version.name}: LoRA adapter {lora} is missing",
                'restore the adapter or roll back: `python manage.py shell -c "from assistant.registry.'
                'services import model_version_rollback; model_version_rollback()"`',
            ), version
        detail += f" + LoRA {lora.name}"
    return Check("model file", True, detail), version


def _backend(version: Any, timeout: float) -> Check:
    from assistant.llm.client import chat_complete
    from assistant.llm.errors import InferenceError

    if version is None:
        return Check("inference backend", False, "skipped: no model to ask", "fix the model file first")
    settings.OPTIQ_INFERENCE_QUEUE_TIMEOUT = timeout
    try:
        result = chat_complete(
            messages=[{"role": "user", "content": "What are progressive lenses?"}],
            model=version.name,
            max_tokens=8,
            temperature=0.0,
            seed=1,
        )
    except InferenceError as exc:
        where = (
            f"check the server at {version.base_url}"
            if version.backend == "external"
            else "start a worker: `celery -A optiq_site worker -Q inference` (or `make run`)"
        )
        return Check("inference backend", False, str(exc), where)
    except Exception as exc:  # a broker that is down, a model that fails to load
        return Check(
            "inference backend", False, f"{type(exc).__name__}: {exc}", "check REDIS_URL and the inference worker's log"
        )
    usage = result.usage or {}
    return Check(
        "inference backend",
        True,
        f"{result.model} answered a test prompt ({usage.get('completion_tokens', '?')} tokens): {result.text.strip()[:60]!r}",
    )


def _training_examples(required: bool) -> Check:
    from django.apps import apps

    try:
        model = apps.get_model("training_jobs", "TrainingExample")
    except LookupError:
        return Check(
            "training examples",
            False,
            "not available (the training_jobs app has no TrainingExample)",
            "update OptiQ",
            required=required,
        )
    approved = model.objects.filter(status="approved").count()
    total = model.objects.count()
    if approved == 0:
        return Check(
            "training examples",
            False,
            f"0 approved of {total}",
            "add and approve examples in the admin (Training examples) or via /api/v1/training/",
            required=required,
        )
    return Check("training examples", True, f"{approved} approved of {total} ready for training", required=required)


def _base_weights(base: str | None, version: Any, required: bool) -> Check:
    if not base:
        if version is not None and version.backend == "local":
            return Check(
                "base weights",
                True,
                f"training from the registered GGUF {Path(version.path).name} (no hub access needed)",
                required=required,
            )
        return Check(
            "base weights",
            False,
            "no local base model to train from",
            "register a GGUF or pass --base HUB_ID_OR_DIRECTORY",
            required=required,
        )
    candidate = Path(base).expanduser()
    if candidate.exists():
        return Check("base weights", True, f"local copy at {candidate}", required=required)
    cache = Path(os.environ.get("HF_HOME", Path.home() / ".cache" / "huggingface")) / "hub"
    snapshot = cache / ("models--" + base.replace("/", "--")) / "snapshots"
    if snapshot.is_dir() and any(snapshot.iterdir()):
        return Check(
            "base weights", True, f"{base} is in the local Hugging Face cache ({snapshot.parent})", required=required
        )
    if settings.OPTIQ_HF_TOKEN:
        return Check(
            "base weights",
            True,
            f"HF_TOKEN is set: {base} can be downloaded on a node with internet",
            required=required,
        )
    return Check(
        "base weights",
        False,
        f"{base} is neither a local directory nor cached, and HF_TOKEN is unset",
        "set HF_TOKEN (accept the model's licence on huggingface.co first) or copy the weights and pass the directory",
        required=required,
    )


def _training_packages(required: bool) -> Check:
    missing, found = [], []
    for package in TRAINING_PACKAGES:
        try:
            module = importlib.import_module(package)
            found.append(f"{package} {getattr(module, '__version__', '')}".strip())
        except Exception as exc:
            missing.append(f"{package} ({type(exc).__name__})")
    if missing:
        return Check(
            "training dependencies",
            False,
            "cannot import " + ", ".join(missing),
            "pip install -r requirements/base.txt (or requirements/gpu.txt on a GPU node)",
            required=required,
        )
    return Check("training dependencies", True, ", ".join(found), required=required)


def _device() -> Check:
    try:
        import torch

        if torch.cuda.is_available():
            name = torch.cuda.get_device_name(0)
            memory = torch.cuda.get_device_properties(0).total_memory / 2**30
            return Check("compute", True, f"GPU: {name} ({memory:.0f} GiB)", required=False)
    except Exception:
        pass
    cores = os.cpu_count() or 1
    return Check(
        "compute",
        True,
        f"CPU-only ({cores} cores): inference works; fine-tuning is slow, "
        "add a GPU node for it (README: Adding a GPU node)",
        required=False,
    )


class Command(BaseCommand):
    help = "Check the model file, the inference backend and what fine-tuning needs; exit 1 if something required fails."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--model", help="check this model version (default: the active chat model)")
        parser.add_argument("--base", help="base weights for training: a Hugging Face id or a local directory")
        parser.add_argument("--training", action="store_true", help="also require what fine-tuning needs")
        parser.add_argument("--timeout", type=float, default=15.0, help="seconds to wait for a free worker")
        parser.add_argument("--skip-inference", action="store_true", help="do not send the test prompt")

    def handle(self, *args: Any, **options: Any) -> None:
        training = options["training"]
        model_check, version = _model_file(options["model"])
        checks = [model_check]
        if not options["skip_inference"]:
            checks.append(_backend(version if model_check.ok else None, options["timeout"]))
        checks += [
            _training_examples(training),
            _base_weights(options["base"], version, training),
            _training_packages(training),
            _device(),
        ]
        for check in checks:
            mark = "✅" if check.ok else "❌"
            optional = "" if check.required or check.ok else " (optional)"
            self.stdout.write(f"{mark} {check.name}{optional}: {check.detail}")
            if not check.ok and check.fix:
                self.stdout.write(f"   fix: {check.fix}")
        failed = [c for c in checks if c.required and not c.ok]
        if failed:
            self.stdout.write(f"{len(failed)} required check(s) failed.")
            raise SystemExit(1)
        self.stdout.write("Ready.")
