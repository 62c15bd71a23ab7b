"""One pane's request and its stream: a base model on /completions, an instruct model on
/chat/completions (or on /completions with a prompt formatted by hand).

Both go through the provider's openai client, so the inspector sees them and faults read as
on every page. Each token comes with its likeliest alternatives (logprobs), which the
next-token view shows.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Literal

from lib.base_vs_instruct.knobs import TOP_CANDIDATES, Knobs
from lib.base_vs_instruct.next_token import Step, step_from_logprob
from lib.chat.providers import ChatProvider
from lib.chat.streaming import ChatStream

Api = Literal["completions", "chat"]
# OpenAI's legacy /completions takes at most 5 alternatives per token; llama.cpp any number.
HOSTED_COMPLETION_CANDIDATES = 5


@dataclass(frozen=True)
class PaneRequest:
    """What one pane sends: the endpoint path and the exact JSON body."""

    api: Api
    body: dict[str, Any]
    extra: dict[str, Any]  # the body's non-standard fields (sent as the SDK's extra_body)

    @property
    def path(self) -> str:
        return "/v1/completions" if self.api == "completions" else "/v1/chat/completions"


def completion_request(model: str, prompt: str, knobs: Knobs, local_engine: bool,
                       send_top_k: bool = False) -> PaneRequest:
    standard, extra = knobs.request_fields(local_engine, send_top_k)
    candidates = TOP_CANDIDATES if local_engine else HOSTED_COMPLETION_CANDIDATES
    body = {"model": model, "prompt": prompt, **standard, "logprobs": candidates,
            "stream": True, "stream_options": {"include_usage": True}, **extra}
    return PaneRequest("completions", body, extra)


def chat_request(model: str, messages: list[dict[str, str]], knobs: Knobs,
                 local_engine: bool, send_top_k: bool = False) -> PaneRequest:
    standard, extra = knobs.request_fields(local_engine, send_top_k)
    body = {"model": model, "messages": messages, **standard, "logprobs": True,
            "top_logprobs": TOP_CANDIDATES, "stream": True,
            "stream_options": {"include_usage": True}, **extra}
    return PaneRequest("chat", body, extra)


class PaneStream(ChatStream):
    """A ChatStream that also reads completions chunks and keeps every token's candidates."""

    def __init__(self, provider: ChatProvider, request: PaneRequest, prompt_text: str) -> None:
        self.request = request
        self.steps: list[Step] = []
        super().__init__(lambda: _send(provider, request), provider.where,
                         prompt_text=prompt_text, redact=provider.inspector.redact)

    def _take(self, chunk) -> str:
        usage = chunk.usage
        if usage:
            self.usage = {"prompt_tokens": usage.prompt_tokens or 0,
                          "completion_tokens": usage.completion_tokens or 0}
        text = ""
        for choice in chunk.choices:
            delta = getattr(choice, "delta", None)  # chat chunks have a delta, completions text
            content = delta.content if delta is not None else getattr(choice, "text", None)
            if content:
                text += content
            if choice.finish_reason:
                self.finish_reason = choice.finish_reason
            self.steps.extend(_steps(choice.logprobs))
        if text:
            if self._first_token_at is None:
                self._first_token_at = time.perf_counter()
            self._parts.append(text)
        return text


def _send(provider: ChatProvider, request: PaneRequest):
    standard = {k: v for k, v in request.body.items() if k not in request.extra}
    extra = request.extra or None
    if request.api == "completions":
        return provider.client.completions.create(**standard, extra_body=extra)
    return provider.client.chat.completions.create(**standard, extra_body=extra)


def _steps(logprobs: Any) -> list[Step]:
    """Steps from a chunk's logprobs, in any of the shapes servers send."""
    if logprobs is None:
        return []
    data = logprobs.model_dump() if hasattr(logprobs, "model_dump") else dict(logprobs)
    if data.get("content"):  # chat chunks, and llama.cpp's completions chunks
        return [step_from_logprob(entry) for entry in data["content"]]
    tokens = data.get("tokens") or []  # OpenAI's legacy completions shape
    values = data.get("token_logprobs") or []
    tops = data.get("top_logprobs") or [{}] * len(tokens)
    return [step_from_logprob({
        "token": token, "logprob": value if value is not None else -math.inf,
        "top_logprobs": [{"token": t, "logprob": lp} for t, lp in (top or {}).items()],
    }) for token, value, top in zip(tokens, values, tops)]
