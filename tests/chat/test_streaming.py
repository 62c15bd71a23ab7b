"""ChatStream and coalesce on their own (no network)."""

from lib.chat.streaming import ChatStream, coalesce


def test_coalesce_merges_fast_deltas_and_keeps_every_character():
    merged = list(coalesce(iter(["tok"] * 100), interval_s=60))
    assert "".join(merged) == "tok" * 100
    assert merged == ["tok", "tok" * 99]  # the first at once, the rest when the stream ends
    assert list(coalesce(["a", "b"], interval_s=0)) == ["a", "b"]


def test_a_stream_that_ends_without_finish_reason_is_reported():
    from openai.types.chat import ChatCompletionChunk

    chunk = ChatCompletionChunk.model_validate({
        "id": "x", "object": "chat.completion.chunk", "created": 0, "model": "m",
        "choices": [{"index": 0, "delta": {"content": "half an ans"}, "finish_reason": None}],
    })
    stream = ChatStream([chunk], "a test server")
    assert list(stream) == ["half an ans"]
    assert stream.error.title == "The stream ended early."
    assert stream.metrics.usage_source == "estimate"  # no usage chunk: counted locally
    assert stream.metrics.completion_tokens > 0


def test_a_failure_before_the_first_chunk_is_kept_as_an_error():
    def request():
        raise ConnectionRefusedError("nothing listening")

    stream = ChatStream(request, "a test server")
    assert list(stream) == [] and stream.text == ""
    assert "ConnectionRefusedError" in stream.error.detail


def test_closing_midway_keeps_the_text_counts_it_and_closes_the_connection(fault_server):
    from lib.config import resolve_endpoints
    from lib.inspector import Inspector
    from lib.chat.providers import make_provider
    from lib.chat.sampling import SamplingOptions

    endpoint = next(e for e in resolve_endpoints(
        {}, {"OPENAI_BASE_URL": fault_server.base_url, "OPENAI_API_KEY": "sk-test-1234"}, {})
        if e.id == "openai")
    stream = make_provider(endpoint, Inspector()).stream_chat(
        [{"role": "user", "content": "Hi"}], "slow", SamplingOptions())
    deltas = iter(stream)
    assert next(deltas) == "Streaming"
    stream.close()
    assert stream.text == "Streaming"
    assert stream.error.title == "Stopped."
    assert stream.metrics.completion_tokens >= 1 and stream.metrics.usage_is_estimate
    assert stream._source.response.is_closed  # the HTTP response was closed, not abandoned
