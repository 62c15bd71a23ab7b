"""Any server that speaks the OpenAI Chat Completions API, through the openai SDK."""

from __future__ import annotations

from typing import Any

import httpx
import openai

from lib.config import Endpoint
from lib.inspector import Inspector
from lib.sampling import SamplingOptions, chat_request_body
from lib.streaming import ChatStream

Messages = list[dict[str, str]]
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

    def stream_chat(self, messages: Messages, model: str, options: SamplingOptions) -> ChatStream:
        def chunks():
            return self.client.chat.completions.create(
                model=model,
                messages=messages,
                stream=True,
                stream_options={"include_usage": True},
                **options.request_fields(),
                extra_body=options.extra_fields() or None,
            )

        prompt_text = "\n".join(m.get("content", "") for m in messages)
        return ChatStream(chunks, self.where, prompt_text=prompt_text,
                          redact=self.inspector.redact)

    def complete(self, messages: Messages, model: str, options: SamplingOptions):
        """One non-streaming completion (the SDK's ChatCompletion object)."""
        return self.client.chat.completions.create(
            model=model, messages=messages, **options.request_fields(),
            extra_body=options.extra_fields() or None,
        )

    def list_models(self, timeout_s: float = 3.0) -> list[str]:
        """Model ids from GET /models; raises if the server doesn't answer quickly."""
        page = self.client.with_options(timeout=timeout_s).models.list()
        return sorted(model.id for model in page.data)

    def close(self) -> None:
        self.client.close()
