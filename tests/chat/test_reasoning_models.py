"""Reasoning models (o-series, GPT-5) take max_completion_tokens and none of the sampling
knobs: every request path sends them that way, against a server that refuses anything
else in OpenAI's own words."""

from __future__ import annotations

import pytest

from lib.chat.codegen import python_snippet
from lib.chat.providers import ChatProvider
from lib.chat.sampling import SamplingOptions, chat_request_body, reasoning_model
from lib.config import Endpoint
from lib.inspector import Inspector
from lib.structured.modes import Ask, Mode, run_mode
from lib.structured.schemas import LOCATION

KNOBS = SamplingOptions(temperature=0.7, top_p=0.9, max_tokens=300, presence_penalty=0.5, seed=7)
QUESTION = [{"role": "user", "content": "Hi"}]


@pytest.mark.parametrize("model, expected", [
    ("o1", True), ("o3-mini", True), ("o4-mini", True), ("gpt-5", True), ("gpt-5-mini", True),
    ("openai/gpt-5", True), ("gpt-4o", False), ("gpt-4.1-mini", False), ("omni-moderation", False),
    ("SmolLM2-135M-Instruct", False), ("", False),
])
def test_which_models_are_reasoning_models(model, expected):
    assert reasoning_model("openai", model) is expected
    assert reasoning_model("openrouter", model) is False  # OpenRouter translates max_tokens


def test_the_body_of_a_reasoning_request():
    body = chat_request_body("o4-mini", QUESTION, KNOBS, reasoning=True)
    assert body["max_completion_tokens"] == 300 and body["seed"] == 7
    assert not {"max_tokens", "temperature", "top_p", "presence_penalty"} & set(body)
    assert chat_request_body("gpt-4o", QUESTION, KNOBS)["max_tokens"] == 300


def provider(fault_server, endpoint_id: str) -> ChatProvider:
    return ChatProvider(Endpoint(id=endpoint_id, label="Fault server", kind="openai_compatible",
                                 base_url=fault_server.base_url, api_key="sk-test"), Inspector())


def test_a_reasoning_model_answers_where_max_tokens_is_refused(fault_server):
    stream = provider(fault_server, "openai").stream_chat(QUESTION, "o4-mini", KNOBS)
    text = "".join(stream)
    assert stream.error is None and text == "Hello from the fault server."
    sent = fault_server.requests[-1].body
    assert sent["max_completion_tokens"] == 300 and "temperature" not in sent
    # The same request the old way is refused, in OpenAI's words: the rule is what works.
    refused = provider(fault_server, "openrouter").stream_chat(QUESTION, "o4-mini", KNOBS)
    "".join(refused)
    assert "max_completion_tokens" in str(refused.error)


def test_view_code_and_structured_outputs_send_it_the_same_way(fault_server):
    endpoint = provider(fault_server, "openai").endpoint
    snippet = python_snippet(endpoint, "o4-mini", QUESTION, KNOBS)
    assert "max_completion_tokens=300," in snippet and "temperature" not in snippet
    client = provider(fault_server, "openai").client
    result = run_mode(client, "o4-mini", Mode.JSON_MODE, LOCATION,
                      Ask("Paris?", 300, 0.7, None, reasoning=True), "the fault server")
    assert result.error is None, result.error
    assert result.request_body["max_completion_tokens"] == 300
    assert "temperature" not in result.request_body
