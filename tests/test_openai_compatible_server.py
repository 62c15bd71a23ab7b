"""The OpenAI-compatible path end to end against a real llama.cpp server on 127.0.0.1."""

import pytest

from lib.config import resolve_endpoints
from lib.inspector import Inspector
from lib.providers import SamplingOptions, make_provider
from lib.providers.catalog import available_models

MESSAGES = [
    {"role": "system", "content": "You help travelers make plans for their trips."},
    {"role": "user", "content": "What should I do on my upcoming trip to Paris?"},
]


@pytest.fixture
def provider(llama_server):
    endpoint = next(e for e in resolve_endpoints({}, {"OPENAI_BASE_URL": llama_server}, {})
                    if e.id == "openai")
    return make_provider(endpoint, Inspector())


def test_models_are_listed_from_the_server(provider):
    assert "smollm2" in available_models(provider).models


def test_streaming_reply_from_a_real_server(provider):
    stream = provider.stream_chat(MESSAGES, "smollm2", SamplingOptions(max_tokens=32))
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
    completion = provider.complete(MESSAGES, "smollm2", SamplingOptions(max_tokens=16))
    assert completion.choices[0].message.content.strip()
    assert 0 < completion.usage.completion_tokens <= 16
    assert provider.inspector.latest()["response"]["json"]["usage"]["completion_tokens"] > 0


def test_sampling_options_reach_the_server(provider):
    greedy = SamplingOptions(max_tokens=12, temperature=0)
    first = "".join(provider.stream_chat(MESSAGES, "smollm2", greedy))
    second = "".join(provider.stream_chat(MESSAGES, "smollm2", greedy))
    assert first == second != ""
    body = provider.inspector.latest()["request"]["json"]
    assert body["temperature"] == 0 and body["max_tokens"] == 12
