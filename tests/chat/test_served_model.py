"""The OpenAI-compatible path end to end against `python -m lib.serve` (llama.cpp) on 127.0.0.1."""

import pytest

from lib.config import resolve_endpoints
from lib.inspector import Inspector
from lib.chat.providers import make_provider
from lib.chat.sampling import SamplingOptions
from lib.models.catalog import available_models
from tests.conftest import SERVED_API_KEY

MODEL = "SmolLM2-135M-Instruct"
MESSAGES = [
    {"role": "system", "content": "You help travelers make plans for their trips."},
    {"role": "user", "content": "What should I do on my upcoming trip to Paris?"},
]


@pytest.fixture
def provider(served_model):
    environ = {"OPENAI_BASE_URL": served_model, "OPENAI_API_KEY": SERVED_API_KEY}
    endpoint = next(e for e in resolve_endpoints({}, environ, {}) if e.id == "openai")
    return make_provider(endpoint, Inspector())


def test_models_are_listed_from_the_server(provider):
    assert MODEL in available_models(provider).models


def test_streaming_reply_from_a_real_server(provider):
    stream = provider.stream_chat(MESSAGES, MODEL, SamplingOptions(max_tokens=32))
    deltas = list(stream)
    assert stream.error is None
    assert len(deltas) > 3 and stream.text.strip()
    assert stream.metrics.finish_reason in ("stop", "length")
    assert stream.metrics.completion_tokens > 0
    assert stream.metrics.ttft_s is not None
    view = provider.inspector.latest()
    assert view["request"]["json"]["stream"] is True
    assert view["response"]["status"] == 200
    assert len(view["response"]["sse_events"]) >= len(deltas)


def test_non_streaming_reply_from_a_real_server(provider):
    completion = provider.complete(MESSAGES, MODEL, SamplingOptions(max_tokens=16))
    assert completion.choices[0].message.content.strip()
    assert 0 < completion.usage.completion_tokens <= 16
    assert provider.inspector.latest()["response"]["json"]["usage"]["completion_tokens"] > 0


def test_sampling_options_reach_the_server(provider):
    greedy = SamplingOptions(max_tokens=12, temperature=0)
    first = "".join(provider.stream_chat(MESSAGES, MODEL, greedy))
    second = "".join(provider.stream_chat(MESSAGES, MODEL, greedy))
    assert first == second != ""
    body = provider.inspector.latest()["request"]["json"]
    assert body["temperature"] == 0 and body["max_tokens"] == 12


def test_a_wrong_key_is_refused_by_the_served_model(served_model):
    environ = {"OPENAI_BASE_URL": served_model, "OPENAI_API_KEY": "sk-wrong-key-000"}
    endpoint = next(e for e in resolve_endpoints({}, environ, {}) if e.id == "openai")
    stream = make_provider(endpoint, Inspector()).stream_chat(MESSAGES, MODEL, SamplingOptions())
    assert list(stream) == []
    assert stream.error.status == 401
    assert "sk-wrong-key-000" not in str(stream.error)


def test_the_lectures_notebook_code_runs_unchanged_against_lib_serve(served_model):
    """The lecture's loop, with the guard for the final usage chunk (its choices are empty)."""
    from openai import OpenAI

    client = OpenAI(base_url=served_model, api_key=SERVED_API_KEY)
    stream = client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True,
                                            max_tokens=24, stream_options={"include_usage": True})
    text, usage = "", None
    for chunk in stream:
        if chunk.choices:
            text += chunk.choices[0].delta.content or ""
        usage = chunk.usage or usage
    assert text.strip()
    assert usage is not None and 0 < usage.completion_tokens <= 24
