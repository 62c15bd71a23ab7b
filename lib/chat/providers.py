"""Every model is an OpenAI-compatible endpoint, reached through the openai SDK.

Hosted providers are endpoints as they are. The built-in model becomes one through
``connect``: its local llama.cpp server (lib/models/engine.py) is started on first use and
the endpoint gets that server's base URL and per-process key. From there on, chat, metrics,
usage and the inspector take one code path for all of them.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import httpx
import openai
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from lib.chat.errors import PromptTooLong
from lib.chat.history import ContextWindow, Messages, fit_to_window
from lib.chat.sampling import SamplingOptions, chat_request_body, reasoning_model
from lib.chat.streaming import ChatStream
from lib.config import Endpoint
from lib.inspector import Inspector
from lib.models.engine import builtin_on_fleet, local_server, running_server

APP_TITLE = "Hosted LLM Lab"


def starts_on_first_use(endpoint: Endpoint) -> bool:
    """Reaching this endpoint will first start a local server (about a second): worth a
    visible indicator."""
    if endpoint.kind != "builtin" or builtin_on_fleet(endpoint.suggested_models[0]):
        return False  # a fleet the operator runs is asked, never started
    return running_server(endpoint.suggested_models[0]) is None


def connect(endpoint: Endpoint) -> tuple[Endpoint, ContextWindow | None]:
    """The endpoint with a base URL that answers, and its context window when known.

    For the built-in model this starts its local server the first time (about a second;
    raises ModelNotInstalled, EngineSettingsError or EngineError with a readable message).
    """
    if endpoint.kind != "builtin":
        return endpoint, None
    server = local_server(endpoint.suggested_models[0])
    window = (ContextWindow(server.context_per_slot, server.count_chat_tokens)
              if server.context_per_slot else None)  # a fleet may not say (then it refuses)
    return replace(endpoint, base_url=server.base_url, api_key=server.api_key), window


class ChatProvider:
    """Chat with an OpenAI-compatible endpoint; every exchange lands in the inspector."""

    def __init__(self, endpoint: Endpoint, inspector: Inspector, timeout_s: float = 120.0,
                 context_window: ContextWindow | None = None) -> None:
        self.endpoint = endpoint
        self.inspector = inspector
        self.context_window = context_window
        inspector.redact.add(endpoint.api_key)
        if endpoint.url_private:  # the address itself is a secret: never in the inspector
            address = httpx.URL(endpoint.base_url)
            inspector.redact.add(address.netloc.decode())  # host:port
            inspector.redact.add(address.host)
        headers = {"X-Title": APP_TITLE} if endpoint.id == "openrouter" else None
        self.client = openai.OpenAI(
            base_url=endpoint.base_url,
            # The SDK insists on a key; local servers ignore it.
            api_key=endpoint.api_key or "no-key-needed",
            max_retries=0,  # a classroom wants to see a 429, not wait through retries
            default_headers=headers,
            http_client=httpx.Client(
                event_hooks=inspector.event_hooks(),
                timeout=httpx.Timeout(timeout_s, connect=5.0),
            ),
        )

    @property
    def where(self) -> str:
        if self.endpoint.kind == "builtin":
            model_id = self.endpoint.suggested_models[0]
            server = running_server(model_id) if builtin_on_fleet(model_id) else None
            if server is not None:  # "the built-in model's server at host:port"
                return f"{self.endpoint.label} ({server.where})"
            return f"{self.endpoint.label} (its local llama.cpp server)"
        return f"{self.endpoint.label} ({self.endpoint.shown_url})"

    def request_body(self, messages: Messages, model: str, options: SamplingOptions,
                     stream: bool = True) -> dict[str, Any]:
        """The JSON body this provider sends: shown on screen and in "view code"."""
        return chat_request_body(model, messages, options, stream, include_usage=True,
                                 reasoning=reasoning_model(self.endpoint.id, model))

    def _send(self, messages: Messages, model: str, options: SamplingOptions, stream: bool):
        """POST /chat/completions with exactly the body request_body shows."""
        body = self.request_body(messages, model, options, stream)
        extras = options.extra_fields()  # not in the SDK's signature: sent as extra_body
        standard = {name: value for name, value in body.items() if name not in extras}
        return self.client.chat.completions.create(**standard, extra_body=extras or None)

    def stream_chat(self, messages: Messages, model: str, options: SamplingOptions,
                    stream: bool = True) -> ChatStream:
        """Stream an answer (nothing is sent until the stream is iterated). When the context
        window is known, the oldest messages that would not fit beside ``max_tokens`` are
        left out first, and the stream says so.

        ``stream=False`` sends a plain request and yields the whole answer at once when it
        is complete: the wait a class feels without streaming, through the same metrics."""
        notice = None
        if self.context_window is not None:
            try:
                fitted = fit_to_window(messages, self.context_window, options.max_tokens)
            except Exception:  # the engine could not count: send as is, it refuses if too long
                fitted = None
            if fitted is not None and not fitted.fits:
                refused = ChatStream(_raiser(PromptTooLong(
                    f"The newest message needs {fitted.prompt_tokens:,} tokens and the answer "
                    f"{options.max_tokens:,} more, but the model reads at most "
                    f"{self.context_window.tokens:,}. Shorten the message or lower max_tokens."
                )), self.where)
                refused.messages = messages
                return refused
            if fitted is not None and fitted.dropped:
                messages = fitted.messages
                notice = (f"The {fitted.dropped} oldest message(s) were left out so the "
                          f"conversation fits the model's {self.context_window.tokens:,}-token "
                          "context window.")
        prompt_text = "\n".join(m.get("content", "") for m in messages)
        if stream:
            def request():
                return self._send(messages, model, options, stream=True)
        else:
            def request():
                return [as_chunk(self._send(messages, model, options, stream=False))]
        answer = ChatStream(request, self.where, prompt_text=prompt_text,
                            redact=self.inspector.redact)
        answer.notice = notice
        answer.messages = messages
        answer.request_body = self.request_body(messages, model, options, stream)
        return answer

    def complete(self, messages: Messages, model: str, options: SamplingOptions):
        """One non-streaming completion (the SDK's ChatCompletion object)."""
        return self._send(messages, model, options, stream=False)

    def list_models(self, timeout_s: float = 3.0) -> dict[str, int | None]:
        """Model ids from GET /models, each with its context window when the listing gives
        one (OpenRouter: ``context_length``; vLLM: ``max_model_len``); raises if the server
        doesn't answer quickly.

        A client of its own, without the inspector's hooks: the inspector shows the chat.
        """
        with openai.OpenAI(base_url=self.endpoint.base_url, max_retries=0, timeout=timeout_s,
                           api_key=self.endpoint.api_key or "no-key-needed") as client:
            listed = client.models.list().data
        return {model.id: _window(model.model_extra or {}) for model in sorted(listed, key=lambda m: m.id)}

    def close(self) -> None:
        self.client.close()


def as_chunk(completion: ChatCompletion) -> ChatCompletionChunk:
    """A whole (non-streamed) answer as the one chunk it would have been."""
    choice = completion.choices[0]
    return ChatCompletionChunk.model_validate({
        "id": completion.id, "object": "chat.completion.chunk", "created": completion.created,
        "model": completion.model,
        "choices": [{"index": 0, "finish_reason": choice.finish_reason,
                     "delta": {"role": "assistant", "content": choice.message.content}}],
        "usage": completion.usage.model_dump() if completion.usage else None,
    })


def _window(extra: dict) -> int | None:
    for name in ("context_length", "max_model_len"):
        value = extra.get(name)
        if isinstance(value, int) and value > 0:
            return value
    return None


def _raiser(exc: Exception):
    def request():
        raise exc
    return request


def make_provider(endpoint: Endpoint, inspector: Inspector) -> ChatProvider:
    """A provider for the endpoint, its local server started first if it is the built-in."""
    endpoint, window = connect(endpoint)
    return ChatProvider(endpoint, inspector, context_window=window)
