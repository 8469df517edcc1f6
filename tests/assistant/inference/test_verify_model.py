"""`manage.py verify_model` tells the truth with and without the model file and a worker."""

from __future__ import annotations

import shutil

import pytest
from django.core.management import call_command

from assistant.registry.services import model_version_register


def _verify(*args: str) -> tuple[int, str]:
    from io import StringIO

    out = StringIO()
    try:
        call_command("verify_model", *args, stdout=out)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, out.getvalue()


@pytest.mark.django_db
def test_a_missing_model_file_fails_with_a_fix(default_gguf, tmp_path):
    copy = tmp_path / "model.gguf"
    shutil.copyfile(default_gguf, copy)
    model_version_register(name="local-copy", path=copy, chat_format="gemma", activate=True)
    copy.unlink()
    code, output = _verify("--skip-inference")
    assert code == 1
    assert f"❌ model file: local-copy: {copy} is missing" in output
    assert "fix: put the GGUF back" in output
    assert "training dependencies" in output and "compute" in output


@pytest.mark.django_db
def test_no_registered_model_fails_and_says_how_to_register_one():
    code, output = _verify("--skip-inference")
    assert code == 1 and "register_default_model" in output


def test_with_the_model_file_and_a_worker_every_required_check_passes(inference_worker, default_version):
    inference_worker()
    code, output = _verify()
    assert code == 0, output
    assert "✅ model file: gemma-3-270m-q4_k_m" in output and "SHA-256" in output
    assert "✅ inference backend: gemma-3-270m-q4_k_m answered a test prompt" in output
    assert "training examples" in output
    assert output.strip().endswith("Ready.")


@pytest.mark.django_db(transaction=True)
def test_without_a_worker_the_backend_check_fails_with_how_to_start_one(default_version):
    code, output = _verify("--timeout", "1")
    assert code == 1
    assert "❌ inference backend" in output and "celery -A optiq_site worker -Q inference" in output
