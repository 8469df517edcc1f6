"""The external backend: a version served by llama-cpp-python's own OpenAI server, by base URL."""

from __future__ import annotations

import subprocess
import sys
import time

import httpx
import pytest
from asgiref.sync import async_to_sync

from assistant.llm.client import achat_stream, chat_complete
from assistant.llm.errors import BackendError
from assistant.registry.services import model_version_register
from tests.conftest import free_port


@pytest.fixture
def llama_cpp_server(default_gguf):  # type: ignore[no-untyped-def]
    port = free_port()
    # n_ubatch 1: llama.cpp's batched decode crashes on this CPU's extra buffers (see llm_runtime.llama_loader).
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(default_gguf),
            "--model_alias",
            "gemma-remote",
            "--chat_format",
            "gemma",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "1024",
            "--n_batch",
            "1",
            "--n_ubatch",
            "1",
            "--verbose",
            "False",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read().decode(errors="replace")[-2000:]
        try:
            if httpx.get(f"{base}/models", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.2)
    yield base
    process.terminate()
    process.wait(timeout=15)


@pytest.mark.django_db
def test_a_version_on_an_external_server_streams_through_the_same_client(llama_cpp_server):
    model_version_register(name="remote-gemma", path="gemma-remote", backend="external", base_url=llama_cpp_server)

    async def read_all() -> list:
        stream = await achat_stream(model="remote-gemma", messages=[{"role": "user", "content": "Hi"}], max_tokens=6)
        return [delta async for delta in stream]

    deltas = async_to_sync(read_all)()
    assert "".join(d.text for d in deltas)
    assert deltas[-1].finish_reason in ("length", "stop")
    result = chat_complete(model="remote-gemma", messages=[{"role": "user", "content": "Hi"}], max_tokens=4)
    assert result.model == "remote-gemma" and result.text


@pytest.mark.django_db
def test_an_unreachable_external_server_is_a_backend_error_naming_the_url():
    model_version_register(name="gone", path="x", backend="external", base_url=f"http://127.0.0.1:{free_port()}/v1")
    with pytest.raises(BackendError, match="cannot reach the external server for gone"):
        chat_complete(model="gone", messages=[{"role": "user", "content": "Hi"}], max_tokens=4)
