"""Any server that speaks the OpenAI Chat Completions API, through the openai SDK."""

from __future__ import annotations

from typing import Any

import httpx
import openai

from lib.config import Endpoint
from lib.history import Messages
from lib.inspector import Inspector
from lib.sampling import SamplingOptions, chat_request_body
from lib.streaming import ChatStream

APP_TITLE = "Hosted LLM Lab"


class OpenAICompatibleProvider:
    """Chat with an OpenAI-compatible endpoint; every exchange lands in the inspector."""

    def __init__(self, endpoint: Endpoint, inspector: Inspector, timeout_s: float = 120.0):
        self.endpoint = endpoint
        self.inspector = inspector
        inspector.redact.add(endpoint.api_key)
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
        return f"{self.endpoint.label} ({self.endpoint.base_url})"

    def request_body(self, messages: Messages, model: str, options: SamplingOptions,
                     stream: bool = True) -> dict[str, Any]:
        """The JSON body this provider sends: shown on screen and in "view code"."""
        return chat_request_body(model, messages, options, stream, include_usage=True)

    def _send(self, messages: Messages, model: str, options: SamplingOptions, stream: bool):
        """POST /chat/completions with exactly the body request_body shows."""
        body = self.request_body(messages, model, options, stream)
        extras = options.extra_fields()  # not in the SDK's signature: sent as extra_body
        standard = {name: value for name, value in body.items() if name not in extras}
        return self.client.chat.completions.create(**standard, extra_body=extras or None)

    def stream_chat(self, messages: Messages, model: str, options: SamplingOptions) -> ChatStream:
        prompt_text = "\n".join(m.get("content", "") for m in messages)
        return ChatStream(lambda: self._send(messages, model, options, stream=True), self.where,
                          prompt_text=prompt_text, redact=self.inspector.redact)

    def complete(self, messages: Messages, model: str, options: SamplingOptions):
        """One non-streaming completion (the SDK's ChatCompletion object)."""
        return self._send(messages, model, options, stream=False)

    def list_models(self, timeout_s: float = 3.0) -> list[str]:
        """Model ids from GET /models; raises if the server doesn't answer quickly.

        A client of its own, without the inspector's hooks: the inspector shows the chat.
        """
        with openai.OpenAI(base_url=self.endpoint.base_url, max_retries=0, timeout=timeout_s,
                           api_key=self.endpoint.api_key or "no-key-needed") as client:
            return sorted(model.id for model in client.models.list().data)
