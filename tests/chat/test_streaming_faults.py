"""The streaming layer against real faults on 127.0.0.1: each gives a clear message and keeps
the partial answer; the canary key never leaks."""


from lib.config import resolve_endpoints
from lib.inspector import REDACTED, Inspector
from lib.chat.providers import make_provider
from lib.chat.sampling import SamplingOptions

CANARY = "sk-canary-7f3a9c1e5b2d4086"
OPTIONS = SamplingOptions(max_tokens=50)


def provider_for(base_url, inspector=None):
    endpoint = next(
        e for e in resolve_endpoints(
            {}, {"OPENAI_BASE_URL": base_url, "OPENAI_API_KEY": CANARY}, {})
        if e.id == "openai"
    )
    return make_provider(endpoint, inspector or Inspector())


def run(provider, scenario):
    stream = provider.stream_chat([{"role": "user", "content": "Hi"}], scenario, OPTIONS)
    deltas = list(stream)
    return stream, deltas


def test_a_normal_stream_yields_deltas_then_provider_usage(fault_server):
    stream, deltas = run(provider_for(fault_server.base_url), "ok")
    assert "".join(deltas) == "Hello from the fault server."
    assert len(deltas) > 1, "the reply must arrive in pieces"
    assert stream.error is None
    assert stream.metrics.finish_reason == "stop"
    assert stream.metrics.usage_source == "provider"  # from the final usage chunk
    assert stream.metrics.completion_tokens > 0 and stream.metrics.prompt_tokens > 0
    assert stream.metrics.ttft_s is not None and stream.metrics.ttft_s >= 0
    assert fault_server.requests[-1].body["stream_options"] == {"include_usage": True}


def test_openrouter_keepalive_comments_are_ignored(fault_server):
    stream, deltas = run(provider_for(fault_server.base_url), "comments")
    assert "".join(deltas) == "Hello from the fault server."
    assert stream.error is None


def test_wrong_key_gives_a_401_message_without_the_key(fault_server):
    stream, deltas = run(provider_for(fault_server.base_url), "auth")
    assert deltas == [] and stream.text == ""
    assert stream.error.status == 401
    assert "rejected" in stream.error.title
    assert CANARY not in str(stream.error)
    assert REDACTED in stream.error.detail  # the server echoed the key; we hid it


def test_rate_limit_says_when_to_retry(fault_server):
    stream, _ = run(provider_for(fault_server.base_url), "ratelimit")
    assert stream.error.status == 429
    assert stream.error.retry_after == "7"
    assert "7 s" in str(stream.error)


def test_server_error_is_reported(fault_server):
    stream, _ = run(provider_for(fault_server.base_url), "server_error")
    assert stream.error.status == 500
    assert "500" in stream.error.title


def test_stream_cut_midway_keeps_the_partial_answer(fault_server):
    stream, deltas = run(provider_for(fault_server.base_url), "cut")
    assert stream.text == "The answer is "
    assert "".join(deltas) == stream.text
    assert "cut off" in stream.error.title
    assert stream.metrics.finish_reason is None


def test_error_event_after_http_200_keeps_the_partial_answer(fault_server):
    stream, _ = run(provider_for(fault_server.base_url), "error_event")
    assert stream.text == "Partial answer "
    assert "Upstream provider failed" in str(stream.error)
    assert "mid-stream" in stream.error.title


def test_server_down_says_nothing_answered():
    stream, _ = run(provider_for("http://127.0.0.1:9/v1"), "ok")
    assert stream.text == ""
    assert "Could not reach" in stream.error.title
    assert "127.0.0.1:9" in stream.error.detail


def test_inspector_records_the_exchange_with_secrets_redacted(fault_server):
    inspector = Inspector()
    run(provider_for(fault_server.base_url, inspector), "ok")
    view = inspector.latest()
    assert view["request"]["method"] == "POST"
    assert view["request"]["url"].endswith("/chat/completions")
    assert view["request"]["json"]["messages"] == [{"role": "user", "content": "Hi"}]
    assert view["request"]["headers"]["authorization"] == REDACTED
    assert view["response"]["status"] == 200
    events = view["response"]["sse_events"]
    assert events[-1] == "data: [DONE]"
    assert any('"usage"' in e for e in events)
    # What the server received did carry the real key: redaction is display-only.
    assert fault_server.requests[-1].headers["authorization"] == f"Bearer {CANARY}"
    assert CANARY not in repr(inspector.history())


def test_inspector_redacts_a_key_echoed_in_a_response_body(fault_server):
    inspector = Inspector()
    run(provider_for(fault_server.base_url, inspector), "auth")
    view = inspector.latest()
    assert view["response"]["status"] == 401
    assert CANARY not in repr(view)
    assert REDACTED in view["response"]["json"]["error"]["message"]


def test_non_streaming_completion(fault_server):
    completion = provider_for(fault_server.base_url).complete(
        [{"role": "user", "content": "Hi"}], "ok", OPTIONS)
    assert completion.choices[0].message.content == "Hello from the fault server."


def test_model_list_comes_from_get_models(fault_server):
    from lib.models.catalog import available_models

    listed = available_models(provider_for(fault_server.base_url))
    assert {"ok", "cut", "auth"} <= set(listed.models)
    assert listed.error is None


def test_model_list_failure_is_a_message_not_an_exception():
    from lib.models.catalog import available_models

    listed = available_models(provider_for("http://127.0.0.1:9/v1"), timeout_s=1)
    assert listed.models == ()
    assert "Could not reach" in listed.error


def test_the_body_we_show_is_the_body_that_was_sent(fault_server):
    provider = provider_for(fault_server.base_url)
    messages = [{"role": "user", "content": "Hi"}]
    options = SamplingOptions(max_tokens=20, temperature=0.3, top_k=5, seed=7)
    list(provider.stream_chat(messages, "ok", options))
    assert provider.request_body(messages, "ok", options) == fault_server.requests[-1].body


def test_the_live_view_of_a_long_stream_is_its_redacted_tail(fault_server):
    inspector = Inspector()
    stream, _ = run(provider_for(fault_server.base_url, inspector), "long")
    exchange = inspector.exchanges[-1]
    exchange.response_chunks.append(f'data: {{"echo": "{CANARY}"}}\n\n'.encode())
    full = inspector.latest()["response"]["sse_events"]
    tail = inspector.latest(tail_bytes=2_000)["response"]
    assert len(full) > 40 and 0 < len(tail["sse_events"]) < len(full) / 2  # ~2 kB of 12
    assert tail["sse_events"] == full[-len(tail["sse_events"]):]  # whole events, the newest
    assert tail["sse_event_count"] == len(full)
    assert CANARY not in repr(tail) and REDACTED in tail["sse_events"][-1]
