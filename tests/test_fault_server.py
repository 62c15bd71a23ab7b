"""The fault server's wire behaviour, as the real openai SDK sees it."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import openai
import pytest

from tests.servers.fault_server import PRICED_ALIASES, SCENARIOS
from tests.servers.processes import free_port

MESSAGES = [{"role": "user", "content": "Say hello"}]
CANARY_KEY = "sk-canary-0123456789abcdef"
REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def client(fault_server) -> openai.OpenAI:
    return openai.OpenAI(base_url=fault_server.base_url, api_key=CANARY_KEY, max_retries=0, timeout=10)


def stream(client: openai.OpenAI, model: str, **kwargs):
    return client.chat.completions.create(model=model, messages=MESSAGES, stream=True, **kwargs)


def collect(chunks) -> tuple[str, list]:
    """The streamed text, and the chunks that came with it."""
    chunks = list(chunks)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    return text, chunks


def test_models_lists_every_scenario_and_priced_alias(client):
    assert [model.id for model in client.models.list()] == [*SCENARIOS, *PRICED_ALIASES]


def test_ok_streams_the_reply_in_several_deltas(client):
    text, chunks = collect(stream(client, "ok"))

    assert text == "Hello from the fault server."
    content_chunks = [c for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(content_chunks) > 1
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(c.usage is None for c in chunks)


def test_ok_usage_chunk_has_no_choices(client):
    *_, finish, usage = stream(client, "ok", stream_options={"include_usage": True})

    assert finish.choices[0].finish_reason == "stop"
    assert usage.choices == []
    assert usage.usage.completion_tokens == 5
    assert usage.usage.total_tokens == usage.usage.prompt_tokens + usage.usage.completion_tokens


def test_ok_without_streaming_is_a_chat_completion(client):
    completion = client.chat.completions.create(model="ok", messages=MESSAGES)

    assert completion.choices[0].message.content == "Hello from the fault server."
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage.completion_tokens == 5


def test_comments_are_keepalives_the_sdk_ignores(client, fault_server):
    raw = _raw_stream(fault_server.base_url, "comments")
    assert raw.count(": OPENROUTER PROCESSING") >= 2
    assert raw.startswith(": OPENROUTER PROCESSING")

    assert collect(stream(client, "comments"))[0] == collect(stream(client, "ok"))[0]


def test_auth_error_echoes_the_key_it_received(client):
    with pytest.raises(openai.AuthenticationError) as caught:
        client.chat.completions.create(model="auth", messages=MESSAGES)

    assert caught.value.status_code == 401
    assert caught.value.code == "invalid_api_key"
    assert CANARY_KEY in caught.value.message


def test_ratelimit_says_when_to_retry(client):
    with pytest.raises(openai.RateLimitError) as caught:
        stream(client, "ratelimit")

    assert caught.value.status_code == 429
    assert caught.value.response.headers["retry-after"] == "7"
    assert caught.value.code == "rate_limit_exceeded"


def test_server_error_is_a_500(client):
    with pytest.raises(openai.InternalServerError) as caught:
        client.chat.completions.create(model="server_error", messages=MESSAGES)

    assert caught.value.status_code == 500


def test_cut_delivers_three_deltas_then_breaks(client):
    received = []
    with pytest.raises(openai.APIConnectionError):
        for chunk in stream(client, "cut"):
            received.append(chunk.choices[0].delta.content)

    assert received == ["The ", "answer ", "is "]


def test_error_event_raises_mid_stream(client):
    received = []
    with pytest.raises(openai.APIError) as caught:
        for chunk in stream(client, "error_event"):
            received.append(chunk.choices[0].delta.content)

    assert len(received) == 2
    assert caught.value.message == "Upstream provider failed"
    assert caught.value.body == {"message": "Upstream provider failed", "code": 502}


def test_long_streams_max_tokens_deltas(client):
    text, chunks = collect(stream(client, "long", max_tokens=300, stream_options={"include_usage": True}))

    assert text == " tok" * 300
    assert chunks[-2].choices[0].finish_reason == "length"
    assert chunks[-1].usage.completion_tokens == 300


def test_long_defaults_to_2000_deltas_quickly(client):
    started = time.perf_counter()
    text, chunks = collect(stream(client, "long"))

    assert text.count(" tok") == 2000
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert time.perf_counter() - started < 10


def test_slow_spaces_its_deltas(client, fault_server):
    fault_server.slow_delay = 0.03
    arrivals = [time.perf_counter() for chunk in stream(client, "slow") if chunk.choices[0].delta.content]

    # The server waits between deltas; a busy client may read two at once, so the whole
    # span is what is checked, not each gap.
    assert len(arrivals) > 5
    assert arrivals[-1] - arrivals[0] > 0.8 * 0.03 * (len(arrivals) - 1)


def test_unknown_model_is_a_404(client):
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="gpt-nonexistent", messages=MESSAGES)


def test_requests_are_recorded(client, fault_server):
    client.chat.completions.create(model="ok", messages=MESSAGES, temperature=0.2)

    (request,) = fault_server.requests
    assert (request.method, request.path) == ("POST", "/v1/chat/completions")
    assert request.headers["authorization"] == f"Bearer {CANARY_KEY}"
    assert request.body["messages"] == MESSAGES
    assert request.body["temperature"] == 0.2


def test_runs_as_a_module():
    port = free_port()
    command = [sys.executable, "-m", "tests.servers.fault_server", "--port", str(port)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=REPO_ROOT)
    try:
        assert f"http://127.0.0.1:{port}/v1" in process.stdout.readline()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=5) as response:
            assert [model["id"] for model in json.load(response)["data"]] == [*SCENARIOS, *PRICED_ALIASES]
    finally:
        process.terminate()
        process.wait(timeout=10)


def _raw_stream(base_url: str, model: str) -> str:
    """The response body exactly as sent (http.client undoes the chunked framing only)."""
    host_port = base_url.removeprefix("http://").split("/")[0]
    connection = http.client.HTTPConnection(host_port, timeout=10)
    body = json.dumps({"model": model, "messages": MESSAGES, "stream": True})
    connection.request("POST", "/v1/chat/completions", body, {"Content-Type": "application/json"})
    try:
        return connection.getresponse().read().decode()
    finally:
        connection.close()
