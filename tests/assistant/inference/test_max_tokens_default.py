"""max_tokens left out of a request runs to the room the prompt leaves in the model's context (as
OpenAI's default does); asked for explicitly, it must fit, or the request is refused up front.
Against the default GGUF through the worker's own generate(), in this process."""

from __future__ import annotations

import pytest

from assistant.llm.errors import RequestRejected
from assistant.llm.runtime import generate, model_for
from assistant.llm.sampling import Generation, Sampling
from assistant.openai_api.requests import ChatCompletionRequest, parse

pytestmark = pytest.mark.django_db

CONTEXT = 256  # the default max_tokens (256) alone fills it
QUESTION = b'{"messages": [{"role": "user", "content": "What is a varifocal lens?"}], "seed": 1, "temperature": 0}'


@pytest.fixture
def small_context_model(default_gguf):  # type: ignore[no-untyped-def]
    from assistant.registry.services import model_version_register

    version = model_version_register(
        name="gemma-3-270m-small-context", path=default_gguf, chat_format="gemma", n_ctx=CONTEXT
    )
    model = model_for(version)
    assert model.llm.n_ctx() == CONTEXT
    return model


def test_without_max_tokens_the_answer_fits_the_context_left_by_the_prompt(small_context_model):
    generation = parse(ChatCompletionRequest, QUESTION).generation()
    assert generation.sampling.max_tokens + 10 > CONTEXT  # the default alone would not fit with any prompt
    events = list(generate(small_context_model, generation))
    finished = events[-1]
    assert finished["finish_reason"] in {"stop", "length"}
    assert finished["usage"]["prompt_tokens"] + finished["usage"]["completion_tokens"] <= CONTEXT


def test_an_explicit_max_tokens_beyond_the_context_is_refused_naming_it(small_context_model):
    asked = parse(ChatCompletionRequest, QUESTION[:-1] + b', "max_tokens": 256}').generation()
    with pytest.raises(RequestRejected) as refused:
        next(generate(small_context_model, asked))
    assert refused.value.param == "max_tokens" and refused.value.code == "context_length_exceeded"
    fitting = Generation.chat(asked.messages, Sampling(max_tokens=8, seed=1, temperature=0))
    assert list(generate(small_context_model, fitting))[-1]["usage"]["completion_tokens"] <= 8
