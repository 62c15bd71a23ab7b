"""The built-in model as a provider: same interface as a server, no network at all."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

from openai.types.chat import ChatCompletionChunk

from lib.config import Endpoint
from lib.inspector import Exchange, Inspector
from lib.history import Messages, fit_to_budget
from lib.local_models import CONTEXT_TOKENS, LocalChatModel, load_builtin_chat_model
from lib.sampling import SamplingOptions, chat_request_body
from lib.streaming import ChatStream

CHUNK_FIELDS = {"id": "chatcmpl-builtin", "object": "chat.completion.chunk"}


class BuiltinProvider:
    """SmolLM2-135M-Instruct running in this process (llama.cpp or transformers)."""

    def __init__(self, endpoint: Endpoint, inspector: Inspector,
                 model: LocalChatModel | None = None) -> None:
        self.endpoint = endpoint
        self.inspector = inspector
        self._model = model

    @property
    def model(self) -> LocalChatModel:
        if self._model is None:
            self._model = load_builtin_chat_model()
        return self._model

    @property
    def where(self) -> str:
        return "the built-in model"

    def request_body(self, messages: Messages, model: str, options: SamplingOptions,
                     stream: bool = True) -> dict[str, Any]:
        return chat_request_body(model, messages, options, stream)

    def stream_chat(self, messages: Messages, model: str, options: SamplingOptions) -> ChatStream:
        local = self.model
        budget = CONTEXT_TOKENS - options.max_tokens
        messages, dropped = fit_to_budget(
            messages, lambda kept: local.count_tokens(local.render(kept)), budget
        )
        prompt = local.render(messages)
        exchange = Exchange(
            method="CALL",
            url=f"in-process://{local.name} ({local.engine}, no HTTP)",
            request_headers=[],
            request_body=json.dumps(
                {**self.request_body(messages, model, options), "rendered_prompt": prompt}
            ).encode(),
            status=200,
            response_headers=[("content-type", "text/event-stream")],
        )
        self.inspector.record(exchange)

        def chunks() -> Iterator[ChatCompletionChunk]:
            for chunk in local.stream(prompt, options):
                chunk = {**CHUNK_FIELDS, "created": int(time.time()), "model": model, **chunk}
                exchange.response_chunks.append(f"data: {json.dumps(chunk)}\n\n".encode())
                yield ChatCompletionChunk.model_validate(chunk)
            exchange.response_chunks.append(b"data: [DONE]\n\n")

        stream = ChatStream(
            chunks, self.where, prompt_text=prompt, count_tokens=local.count_tokens,
            usage_source_when_counted="local model",
        )
        if dropped:
            stream.notice = (f"The {dropped} oldest message(s) were left out so the conversation "
                             f"fits the model's {CONTEXT_TOKENS:,}-token context window.")
        return stream

    def list_models(self, timeout_s: float = 0.0) -> list[str]:  # same signature as servers'
        return list(self.endpoint.suggested_models)
