"""Writes to the model registry: register a GGUF (or an external server), activate, roll back."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from assistant.llm.default_model import file_sha256
from assistant.models import ModelActivation, ModelVersion
from assistant.registry.selectors import ACTIVE_ALIASES
from llm_runtime.chat_formats import FORMATS
from llm_runtime.gguf_metadata import NotAGGUF, chat_template, is_gguf

NAME_RULE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,119}$")


def _gguf_file(field: str, path: str | Path) -> Path:
    resolved = Path(path).expanduser()
    if not resolved.is_absolute():
        resolved = resolved.resolve()
    if not resolved.is_file():
        raise ValidationError({field: f"no file at {resolved}"})
    try:
        if not is_gguf(resolved):
            raise ValidationError({field: f"{resolved} is not a GGUF file (it does not start with the bytes 'GGUF')"})
    except OSError as exc:
        raise ValidationError({field: f"cannot read {resolved}: {exc}"}) from exc
    return resolved


def model_path_roots() -> list[Path]:
    """The directories a model registered by a user may come from: the models and artifacts
    directories, and any in OPTIQ_MODEL_PATH_ROOTS."""
    return [Path(settings.MODELS_DIR), Path(settings.ARTIFACTS_DIR), *map(Path, settings.OPTIQ_MODEL_PATH_ROOTS)]


def _confine(field: str, path: str | Path, roots: Sequence[Path]) -> None:
    """Refuse a path outside `roots` before touching it, so that registration cannot read, or
    tell the existence of, any other file on the server (symlinks are followed first)."""
    resolved = Path(path).expanduser().resolve()
    if not any(resolved.is_relative_to(Path(root).expanduser().resolve()) for root in roots):
        raise ValidationError(
            {
                field: f"must be a file under {' or '.join(str(r) for r in roots)}: put the GGUF there "
                "(or add its directory to OPTIQ_MODEL_PATH_ROOTS)"
            }
        )


def validate_external_url(base_url: str | None) -> str:
    """An external server's base URL: http(s), a host, no credentials, query or fragment, not a
    link-local, multicast or unspecified address (cloud metadata lives on link-local), and on
    OPTIQ_EXTERNAL_MODEL_HOSTS when that is set."""
    example = "e.g. http://host:8080/v1"
    if not base_url:
        raise ValidationError({"base_url": f"an external model needs the server's http(s) base URL, {example}"})
    try:
        parts = urlsplit(base_url.strip())
        port = parts.port
    except ValueError as exc:
        raise ValidationError({"base_url": f"not a valid URL ({exc}), {example}"}) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError({"base_url": f"must be an http:// or https:// URL with a host, {example}"})
    if parts.username or parts.password:
        raise ValidationError({"base_url": "must not carry a user name or password"})
    if parts.query or parts.fragment:
        raise ValidationError({"base_url": "must not have a query string or fragment"})
    if port == 0:
        raise ValidationError({"base_url": "port 0 is not a port"})
    host = parts.hostname
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None and (address.is_link_local or address.is_multicast or address.is_unspecified):
        raise ValidationError({"base_url": f"{host} is a link-local, multicast or unspecified address"})
    allowed = [h.lower() for h in settings.OPTIQ_EXTERNAL_MODEL_HOSTS]
    if allowed and host.lower() not in allowed:
        raise ValidationError({"base_url": f"{host} is not on OPTIQ_EXTERNAL_MODEL_HOSTS ({', '.join(allowed)})"})
    return base_url.strip().rstrip("/")


def _validate_name(name: str) -> None:
    if not name or not NAME_RULE.match(name):
        raise ValidationError(
            {"name": "must be 1-120 characters of letters, digits and . _ : / -, starting with a letter or digit"}
        )
    if name in ACTIVE_ALIASES:
        raise ValidationError({"name": f"{name!r} is reserved: it always means the active model"})
    if ModelVersion.objects.filter(name=name).exists():
        raise ValidationError({"name": f"a model version named {name!r} already exists"})


def model_version_register(
    *,
    name: str,
    path: str | Path | None,
    role: str = "chat",
    chat_format: str | None = None,
    lora_path: str | None = None,
    lora_scale: float = 1.0,
    base: ModelVersion | None = None,
    backend: str = "local",
    base_url: str | None = None,
    n_ctx: int = 2048,
    n_gpu_layers: int = 0,
    n_threads: int | None = None,
    created_by: Any = None,
    activate: bool = False,
    confine_to: Sequence[Path] | None = None,
) -> ModelVersion:
    """Register a model version after checking its files.

    `confine_to` (the API and the admin pass model_path_roots()): the directories the GGUF and
    the LoRA must be in; None for the operator's own commands and in-process registrations.

    A local version needs a GGUF (checked by its magic bytes; size and SHA-256 recorded);
    a GGUF without `tokenizer.chat_template` needs a chat format (given, or inherited from
    `base`). An external version needs the OpenAI base URL of a server that serves it.
    """
    _validate_name(name)
    if role not in ModelVersion.Role.values:
        raise ValidationError({"role": f"must be one of {', '.join(ModelVersion.Role.values)}"})
    if backend not in ModelVersion.Backend.values:
        raise ValidationError({"backend": f"must be one of {', '.join(ModelVersion.Backend.values)}"})
    if not 64 <= n_ctx <= 1_048_576:
        raise ValidationError({"n_ctx": "must be between 64 and 1048576 tokens"})
    if n_threads is not None and not 1 <= n_threads <= 512:
        raise ValidationError({"n_threads": "must be between 1 and 512, or empty for llama.cpp's default"})
    if not 0.0 < lora_scale <= 4.0:
        raise ValidationError({"lora_scale": "must be greater than 0 and at most 4"})
    if chat_format and chat_format not in FORMATS:
        raise ValidationError({"chat_format": f"unknown format {chat_format!r}; known: {', '.join(sorted(FORMATS))}"})

    fields: dict[str, Any] = {}
    if backend == ModelVersion.Backend.EXTERNAL:
        fields["base_url"] = validate_external_url(base_url)
        fields["path"] = str(path or "")
        fields["chat_format"] = chat_format or ""
    else:
        if not path:
            raise ValidationError({"path": "a local model needs the path of its GGUF file"})
        if confine_to is not None:
            _confine("path", path, confine_to)
            if lora_path:
                _confine("lora_path", lora_path, confine_to)
        gguf = _gguf_file("path", path)
        try:
            has_template = chat_template(gguf) is not None
        except (NotAGGUF, ValueError, OSError) as exc:
            raise ValidationError({"path": f"cannot read the GGUF metadata: {exc}"}) from exc
        inherited = base.chat_format if base is not None else ""
        fields.update(
            path=str(gguf),
            size_bytes=gguf.stat().st_size,
            sha256=file_sha256(gguf),
            has_chat_template=has_template,
            chat_format=chat_format or ("" if has_template else inherited),
        )
        if not has_template and not fields["chat_format"]:
            raise ValidationError(
                {"chat_format": f"{gguf.name} has no chat template: give a chat format ({', '.join(sorted(FORMATS))})"}
            )
        if lora_path:
            adapter = _gguf_file("lora_path", lora_path)
            fields.update(lora_path=str(adapter), lora_sha256=file_sha256(adapter))

    with transaction.atomic():
        version = ModelVersion.objects.create(
            name=name,
            role=role,
            backend=backend,
            base=base,
            lora_scale=lora_scale,
            n_ctx=n_ctx,
            n_gpu_layers=n_gpu_layers,
            n_threads=n_threads,
            created_by=created_by,
            **fields,
        )
        if activate:
            version = model_version_activate(model_version=version, user=created_by)
    return version


@transaction.atomic
def model_version_activate(*, model_version: ModelVersion, user: Any = None) -> ModelVersion:
    """Make `model_version` the active one of its role; the inference workers swap to it
    before their next request (requests in flight finish on the old one)."""
    # Lock every version of the role: two concurrent activations serialise here.
    versions = list(ModelVersion.objects.select_for_update().filter(role=model_version.role).order_by("pk"))
    target = next(v for v in versions if v.pk == model_version.pk)
    previous = next((v for v in versions if v.status == ModelVersion.Status.ACTIVE), None)
    if previous is not None and previous.pk == target.pk:
        return target
    if previous is not None:
        ModelVersion.objects.filter(pk=previous.pk).update(status=ModelVersion.Status.READY)
    now = timezone.now()
    ModelVersion.objects.filter(pk=target.pk).update(status=ModelVersion.Status.ACTIVE, activated_at=now)
    ModelActivation.objects.create(role=target.role, model_version=target, previous=previous, user=user)
    target.refresh_from_db()
    return target


# Roles that may have no active version: without a router the parser reads every question.
OPTIONAL_ROLES = frozenset({ModelVersion.Role.ROUTER})


@transaction.atomic
def model_version_rollback(*, role: str = "chat", user: Any = None) -> ModelVersion | None:
    """Return to the version that was active before the current one (repeatable, like a stack).

    Rolling back the first router ever activated switches the router off: None is returned and
    the question parser reads data questions again."""
    if role not in ModelVersion.Role.values:
        raise ValidationError({"role": f"must be one of {', '.join(ModelVersion.Role.values)}"})
    ModelVersion.objects.select_for_update().filter(role=role).order_by("pk").exists()
    last = (
        ModelActivation.objects.select_for_update(of=("self",))
        .filter(role=role, action=ModelActivation.Action.ACTIVATE, rolled_back_at__isnull=True)
        .select_related("previous")
        .first()
    )
    current = ModelVersion.objects.filter(role=role, status=ModelVersion.Status.ACTIVE).first()
    if last is not None and last.previous is None and role in OPTIONAL_ROLES and current is not None:
        ModelVersion.objects.filter(pk=current.pk).update(status=ModelVersion.Status.READY)
        ModelActivation.objects.filter(pk=last.pk).update(rolled_back_at=timezone.now())
        ModelActivation.objects.create(
            role=role, model_version=current, previous=current, user=user, action=ModelActivation.Action.DEACTIVATE
        )
        return None
    if last is None or last.previous is None:
        raise ValidationError({"role": f"there is no earlier {role} model to roll back to"})
    target = last.previous
    if current is not None:
        ModelVersion.objects.filter(pk=current.pk).update(status=ModelVersion.Status.READY)
    ModelVersion.objects.filter(pk=target.pk).update(status=ModelVersion.Status.ACTIVE, activated_at=timezone.now())
    ModelActivation.objects.filter(pk=last.pk).update(rolled_back_at=timezone.now())
    ModelActivation.objects.create(
        role=role, model_version=target, previous=current, user=user, action=ModelActivation.Action.ROLLBACK
    )
    target.refresh_from_db()
    return target


@transaction.atomic
def default_model_register(*, created_by: Any = None) -> tuple[ModelVersion, bool]:
    """Assemble the default Gemma 3 270M GGUF, verify its SHA-256 and register it (idempotent).

    It is activated when no chat model is active yet. Returns (version, created)."""
    from assistant.llm.default_model import (
        DEFAULT_CHAT_FORMAT,
        DEFAULT_MODEL_NAME,
        ensure_default_model,
        expected_sha256,
    )
    from assistant.registry.selectors import active_model, model_by_name

    path = ensure_default_model()
    existing = model_by_name(DEFAULT_MODEL_NAME)
    if existing is not None:
        if active_model(role="chat") is None:
            existing = model_version_activate(model_version=existing, user=created_by)
        return existing, False
    version = model_version_register(
        name=DEFAULT_MODEL_NAME,
        path=path,
        chat_format=DEFAULT_CHAT_FORMAT,
        created_by=created_by,
        activate=active_model(role="chat") is None,
    )
    if version.sha256 != expected_sha256():
        raise ValidationError({"path": f"{path} has SHA-256 {version.sha256}, expected {expected_sha256()}"})
    return version, True
