"""Anatomy of a response: real answers from the built-in server, fields explained."""

from __future__ import annotations

from decimal import Decimal

from lib.chat.anatomy import collect, explain, price_check
from lib.chat.errors import describe_error
from lib.chat.providers import ChatProvider, make_provider
from lib.chat.sampling import SamplingOptions
from lib.config import BUILTIN, Endpoint
from lib.inspector import Inspector
from tests.servers.fault_server import REASONING_USAGE

QUESTION = [{"role": "user", "content": "In one sentence: what is a token?"}]
OPTIONS = SamplingOptions(temperature=0.0, max_tokens=40)


def readable(provider):
    return lambda exc: str(describe_error(exc, provider.where, provider.inspector.redact))


def test_the_built_in_server_answers_all_four_ways():
    provider = make_provider(BUILTIN, Inspector())
    found = collect(provider, BUILTIN.suggested_models[0], QUESTION, OPTIONS, readable(provider))
    assert found.errors == {}
    whole = found.whole["response"]["json"]
    assert whole["object"] == "chat.completion"
    assert whole["choices"][0]["finish_reason"] in ("stop", "length")
    assert found.whole["request"]["json"]["messages"] == QUESTION
    stream = found.stream["response"]
    assert stream["headers"]["content-type"].startswith("text/event-stream")
    assert stream["sse_events"][-1] == "data: [DONE]"
    assert '"choices":[]' in stream["sse_events"][-2]  # the usage chunk has no choices
    legacy = found.legacy
    assert legacy["request"]["url"].endswith("/v1/completions")
    assert legacy["request"]["json"]["prompt"] == QUESTION[-1]["content"]
    assert legacy["response"]["json"]["object"] == "text_completion"
    assert isinstance(legacy["response"]["json"]["choices"][0]["text"], str)
    responses = found.responses
    assert responses["request"]["url"].endswith("/v1/responses")
    assert responses["request"]["json"]["input"] == QUESTION
    assert responses["request"]["json"]["max_output_tokens"] == OPTIONS.max_tokens
    answer = responses["response"]["json"]
    assert answer["object"] == "response" and answer["status"] in ("completed", "incomplete")
    assert answer["output"][0]["type"] == "message"
    assert answer["output"][0]["content"][0]["text"].strip()
    assert answer["usage"]["output_tokens"] > 0
    assert provider.endpoint.api_key not in str(found)  # the inspector redacted its key
    provider.close()


def test_the_responses_api_answer_is_explained_and_billed_like_a_chat_answer():
    provider = make_provider(BUILTIN, Inspector())
    recorded: list[dict] = []
    system = [{"role": "system", "content": "Be brief."}]
    found = collect(provider, BUILTIN.suggested_models[0], system + QUESTION, OPTIONS,
                    readable(provider), record=recorded.append)
    request = found.responses["request"]["json"]
    assert request["instructions"] == "Be brief." and request["input"] == QUESTION
    fields = {f.path: f for f in explain(found.responses["response"]["json"])}
    for path in ("object", "status", "output.0.type", "output.0.content.0.text",
                 "usage.input_tokens", "usage.output_tokens"):
        assert fields[path].meaning, path
    assert "prompt_tokens in Chat Completions" in fields["usage.input_tokens"].meaning
    # Four answered requests, each recorded in Chat Completions' words.
    assert len(recorded) == 4 and all(u["completion_tokens"] for u in recorded)
    provider.close()


def test_every_field_of_a_real_answer_is_listed_and_the_key_ones_explained():
    provider = make_provider(BUILTIN, Inspector())
    found = collect(provider, BUILTIN.suggested_models[0], QUESTION, OPTIONS, readable(provider))
    fields = {f.path: f for f in explain(found.whole["response"]["json"])}
    for path in ("id", "object", "model", "choices.0.message.content",
                 "choices.0.finish_reason", "usage.prompt_tokens", "usage.completion_tokens"):
        assert fields[path].meaning, path
    assert fields["choices.0.message.role"].value == "assistant"
    assert "timings" in fields  # llama.cpp's own measurements, shown as one field
    provider.close()


def test_reasoning_cached_tokens_and_openrouters_cost_are_explained(fault_server):
    endpoint = Endpoint(id="openrouter", label="OpenRouter (fault server)", kind="openai",
                        base_url=fault_server.base_url, api_key="sk-or-test-anatomy")
    provider = ChatProvider(endpoint, Inspector())
    recorded: list[dict] = []
    found = collect(provider, "reasoning", QUESTION, OPTIONS, readable(provider),
                    record=recorded.append)
    response = found.whole["response"]["json"]
    fields = {f.path: f for f in explain(response)}
    reasoning = fields["usage.completion_tokens_details.reasoning_tokens"]
    assert reasoning.value == REASONING_USAGE["reasoning_tokens"] and "1,408" in reasoning.meaning
    assert fields["usage.prompt_tokens_details.cached_tokens"].meaning
    assert "OpenRouter" in fields["usage.cost"].meaning
    assert price_check("reasoning", response).provider_usd == Decimal("0.0223")
    # The fault server, like OpenAI's chat models, has no /completions, and like most
    # providers no /responses: a clear message in that tab alone.
    assert found.legacy is None and "404" in found.errors["legacy"]
    assert found.responses is None and "404" in found.errors["responses"]
    # Two requests were answered (and are billed); the refused ones give back what they held.
    assert [u and u.get("completion_tokens") for u in recorded] == [2224, 5, None, None]


def test_each_request_is_admitted_on_its_own(fault_server):
    endpoint = Endpoint(id="openai", label="Fault server", kind="openai",
                        base_url=fault_server.base_url, api_key="sk-test-anatomy")
    provider = ChatProvider(endpoint, Inspector())
    left = [1]  # a cap with one request left

    def admit():
        if not left[0]:
            return "This session has used its requests."
        left[0] -= 1

    found = collect(provider, "ok", QUESTION, OPTIONS, readable(provider), admit=admit)
    assert found.whole is not None
    assert found.errors == {"stream": "This session has used its requests.",
                            "legacy": "This session has used its requests.",
                            "responses": "This session has used its requests."}
    assert len([r for r in fault_server.requests if r.method == "POST"]) == 1


def test_since_a_mark_is_the_view_of_the_request_just_sent_or_none(fault_server):
    endpoint = Endpoint(id="openai", label="Fault server", kind="openai",
                        base_url=fault_server.base_url, api_key="sk-test-anatomy")
    provider = ChatProvider(endpoint, Inspector())
    inspector = provider.inspector
    provider.complete(QUESTION, "ok", OPTIONS)  # an earlier exchange
    mark = inspector.mark()
    assert inspector.since(mark) is None  # nothing sent since: no view (not the earlier one)
    try:
        provider.complete(QUESTION, "ratelimit", OPTIONS)
    except Exception:
        pass
    view = inspector.since(mark)
    assert view["request"]["json"]["model"] == "ratelimit" and view["response"]["status"] == 429
    assert "sk-test-anatomy" not in str(view)  # redacted, as every view is
    provider.close()
