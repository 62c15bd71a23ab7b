"""Anatomy of a response: each field of a real answer, and what it means.

The Anatomy view sends one short request four ways (a whole Chat Completions answer, a
stream, the old ``/completions`` API and the newer Responses API) and explains what came
back, field by field. The requests go through the provider's client, so the inspector has
the raw exchanges, secrets redacted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from lib.chat.history import Message
from lib.chat.providers import ChatProvider
from lib.chat.sampling import SamplingOptions, reasoning_model
from lib.cost.pricing import usage_cost
from lib.inspector import answered

ANATOMY_PROMPT = "In one sentence: what is a token?"

# Where a path matches several (choices.0, choices.1 …), it is written with N.
FIELD_MEANINGS: dict[str, str] = {
    "id": "This answer's id: quote it to the provider's support.",
    "object": "What this is: `chat.completion` (a whole answer), `chat.completion.chunk` "
              "(one piece of a stream), `text_completion` (the 2020 `/completions` API) or "
              "`response` (the Responses API).",
    "created": "When it was made, in seconds since 1970 (Unix time).",
    "model": "The model that actually answered: may be more exact than the one you asked for "
             "(a dated snapshot, or the route a router chose).",
    "system_fingerprint": "The provider's back-end configuration. Same seed and same "
                          "fingerprint: the best chance of the same answer.",
    "service_tier": "The processing tier the request ran on (OpenAI: default, flex, priority).",
    "provider": "OpenRouter: which upstream provider served the request.",
    "choices.N.index": "Which choice this is: one, unless you ask for `n` > 1.",
    "choices.N.message.role": "Always `assistant`: append this message to the history for the "
                              "next turn.",
    "choices.N.message.content": "The answer's text: what a chat window shows.",
    "choices.N.message.refusal": "Structured outputs: the model's refusal, when it declines.",
    "choices.N.message.reasoning": "OpenRouter: the reasoning text of a thinking model, when "
                                   "the provider returns it.",
    "choices.N.message.reasoning_content": "Some servers put the reasoning text of a "
                                           "thinking model here.",
    "choices.N.text": "The 2020 `/completions` API: the continuation of your prompt, plain text.",
    "choices.N.finish_reason": "Why it stopped: `stop` (finished, or hit a stop string), "
                               "`length` (max_tokens reached: the answer is cut), "
                               "`content_filter` (blocked), `tool_calls` (wants a tool run).",
    "choices.N.logprobs": "Per-token log probabilities, when asked for (`logprobs`).",
    "usage.prompt_tokens": "Tokens you sent: the whole conversation, templated. Billed at the "
                           "input price.",
    "usage.completion_tokens": "Tokens generated: billed at the output price, reasoning "
                               "tokens included.",
    "usage.total_tokens": "Prompt plus completion.",
    "usage.completion_tokens_details.reasoning_tokens":
        "Tokens a reasoning model thought but never showed you: billed as output anyway. "
        "In the lecture's GPT-5 example, 1,408 of 2,224 completion tokens were reasoning.",
    "usage.prompt_tokens_details.cached_tokens":
        "Prompt tokens the provider had cached from an earlier request with the same "
        "beginning: billed cheaper. A long, fixed system prompt first makes this work.",
    "usage.cost": "OpenRouter: what this request cost, in US dollars (credits), by "
                  "OpenRouter's own count.",
    "usage.is_byok": "OpenRouter: whether your own provider key paid (bring your own key).",
    "timings": "llama.cpp: its own measurements (prompt and generation speed, in ms and "
               "tokens per second).",
    # The Responses API (OpenAI, March 2025)
    "created_at": "When it was made, in seconds since 1970 (Unix time).",
    "completed_at": "When it finished, in seconds since 1970.",
    "status": "`completed`, or `incomplete` (see incomplete_details: max_output_tokens "
              "reached, say), `failed`, or `in_progress` for a background request.",
    "incomplete_details": "Why an incomplete response stopped early (`max_output_tokens`, "
                          "`content_filter`).",
    "error": "What went wrong, when status is `failed`.",
    "instructions": "The system prompt, sent on its own rather than as the first message.",
    "previous_response_id": "The answer this one continues. The server keeps the "
                            "conversation, so a follow-up sends only the new message: "
                            "Chat Completions has no such state, the client resends it all.",
    "output.N.type": "What this output item is: `message` (text for the user), `reasoning` "
                     "(a thinking model's summary), `function_call` (a tool the model wants "
                     "run). Chat Completions has one message per choice instead.",
    "output.N.id": "This output item's id.",
    "output.N.role": "Always `assistant` for a message item.",
    "output.N.status": "Whether this item is complete.",
    "output.N.content.N.type": "`output_text`: text (or `refusal`).",
    "output.N.content.N.text": "The answer's text: what `response.output_text` joins up in "
                               "the SDK.",
    "output.N.content.N.annotations": "Citations (file or web search results) in the text.",
    "output.N.content.N.logprobs": "Per-token log probabilities, when asked for.",
    "usage.input_tokens": "Tokens you sent (prompt_tokens in Chat Completions): billed at "
                          "the input price.",
    "usage.output_tokens": "Tokens generated (completion_tokens in Chat Completions), "
                           "reasoning included: billed at the output price.",
    "usage.input_tokens_details.cached_tokens":
        "Input tokens the provider had cached from an earlier request: billed cheaper.",
    "usage.output_tokens_details.reasoning_tokens":
        "Tokens a reasoning model thought but never showed you: billed as output anyway.",
}

# Lists whose items are explained one by one (choices.0, output.1.content.0 …).
LISTS = re.compile(r"^(choices|output|output\.\d+\.content)$")


@dataclass(frozen=True)
class Field:
    path: str
    value: Any
    meaning: str | None


def explain(response: dict[str, Any]) -> list[Field]:
    """Every leaf of the response (a few levels deep), with its meaning where we know it."""
    fields: list[Field] = []
    _walk(response, "", fields)
    return fields


def _walk(value: Any, path: str, out: list[Field]) -> None:
    key = re.sub(r"\.\d+(?=\.|$)", ".N", path)
    if key in FIELD_MEANINGS and not isinstance(value, dict) or key == "timings":
        out.append(Field(path, value, FIELD_MEANINGS.get(key)))
        return
    if isinstance(value, dict) and value:
        for name, inner in value.items():
            _walk(inner, f"{path}.{name}" if path else name, out)
    elif isinstance(value, list) and value and LISTS.match(path):
        for i, inner in enumerate(value):
            _walk(inner, f"{path}.{i}", out)
    else:
        out.append(Field(path, value, FIELD_MEANINGS.get(key)))


@dataclass(frozen=True)
class PriceCheck:
    """The provider's own figure (OpenRouter's usage.cost) beside ours (genai-prices)."""

    provider_usd: Decimal | None
    ours_usd: Decimal | None


def price_check(model: str, response: dict[str, Any]) -> PriceCheck:
    usage = chat_usage(response.get("usage") or {})
    reported = usage.get("cost")
    ours = usage_cost(model, usage.get("prompt_tokens") or 0, usage.get("completion_tokens") or 0)
    return PriceCheck(None if reported is None else Decimal(str(reported)), ours)


def chat_usage(usage: dict[str, Any]) -> dict[str, Any]:
    """Usage in Chat Completions' words, whichever API reported it (the Responses API says
    input_tokens and output_tokens)."""
    if "input_tokens" in usage and "prompt_tokens" not in usage:
        usage = {**usage, "prompt_tokens": usage.get("input_tokens"),
                 "completion_tokens": usage.get("output_tokens")}
    return usage


@dataclass
class Specimens:
    """One question sent four ways, each as the inspector saw it (redacted), or its error."""

    whole: dict[str, Any] | None = None
    stream: dict[str, Any] | None = None
    legacy: dict[str, Any] | None = None
    errors: dict[str, str] | None = None
    responses: dict[str, Any] | None = None  # the Responses API (POST /responses)


def collect(provider: ChatProvider, model: str, messages: list[Message],
            options: SamplingOptions, on_error: Callable[[Exception], str],
            admit: Callable[[], str | None] = lambda: None,
            record: Callable[[dict | None], None] = lambda usage: None) -> Specimens:
    """Send ``messages`` as a whole answer, as a stream, (the last one, as a prompt) to
    /completions, and to the Responses API, with the chat's own settings (a reasoning model
    refuses what it doesn't take, temperature 0 say: the page's settings are ones that work).

    Each request is admitted first (``admit`` returns why not, or None) and, once a
    provider answered 200, ``record``-ed with its usage ({} when none came): a cut stream is
    billed too; one that was refused or never reached a server is ``record(None)``. ``on_error(exc)`` words a failure; each way fails alone."""
    found = Specimens(errors={})
    inspector = provider.inspector

    def attempt(name: str, send: Callable[[], str | None]) -> None:
        if refusal := admit():
            found.errors[name] = refusal
            return
        mark = inspector.mark()
        try:
            failure = send()  # a stream reports its failure instead of raising
        except Exception as exc:
            failure = on_error(exc)
        view = inspector.since(mark)
        record((usage_of(view) or {}) if answered(view) else None)
        if failure:
            found.errors[name] = str(failure)
        else:
            setattr(found, name, view)

    def whole() -> None:
        provider.complete(messages, model, options)

    def legacy() -> None:
        extra = options.extra_fields()
        provider.client.completions.create(
            model=model, prompt=messages[-1]["content"], max_tokens=options.max_tokens,
            temperature=options.temperature, top_p=options.top_p, seed=options.seed,
            extra_body=extra or None)

    def responses() -> None:
        system = [m["content"] for m in messages if m["role"] == "system"]
        knobs = ({} if reasoning_model(provider.endpoint.id, model)
                 else {"temperature": options.temperature, "top_p": options.top_p})
        provider.client.responses.create(
            model=model, input=[m for m in messages if m["role"] != "system"],
            **({"instructions": system[0]} if system else {}),
            max_output_tokens=options.max_tokens, **knobs)

    attempt("whole", whole)
    attempt("stream", lambda: _drain(provider.stream_chat(messages, model, options)))
    attempt("legacy", legacy)
    attempt("responses", responses)
    return found


def usage_of(view: dict[str, Any]) -> dict[str, Any] | None:
    """The usage a response reported: in its JSON, or in a stream's last usage chunk."""
    response = view["response"]
    if isinstance(response.get("json"), dict):
        usage = response["json"].get("usage")
        return chat_usage(usage) if isinstance(usage, dict) else usage
    for event in reversed(response.get("sse_events", [])):
        data = event.removeprefix("data: ").strip()
        if data.startswith("{") and '"usage"' in data:
            try:
                return json.loads(data).get("usage")
            except json.JSONDecodeError:
                return None
    return None


def _drain(stream) -> str | None:
    for _ in stream:
        pass
    return str(stream.error) if stream.error else None
