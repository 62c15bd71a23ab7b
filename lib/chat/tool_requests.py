"""One request of a tools round trip (lib/chat/tools.py): sent whole through the provider's
client (the inspector records it), admitted first on the deployment's caps, and then billed
or given back by the rule every page uses: a request the provider answered, or one sent and
then given up on, is billable (on estimated tokens where no usage came); one refused or never
sent is not.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx
import openai

from lib.chat.history import Message
from lib.chat.sampling import chat_request_body, reasoning_model
from lib.chat.streaming import estimate_tokens
from lib.chat.turn import settle_request
from lib.cost.pricing import usage_cost
from lib.deployment import prompt_tokens_of
from lib.inspector import answered

REJECTED_TOOLS = ("This model or server does not take `tools`. Try the grammar way "
                  "(`response_format`), which works with any server that takes a JSON "
                  "schema, or pick a model that supports function calling.")


def prompt_basis(messages: list[Message], extra: dict[str, Any]) -> list[dict[str, Any]]:
    """What a request's prompt is made of, for sizing it: the messages, and the tool
    definitions (a tool-trained model's template writes them into the prompt) or the
    ``response_format`` (its schema is sent too), which can outweigh a short question."""
    schema = [extra["response_format"]] if "response_format" in extra else []
    return [*messages, *extra.get("tools", ()), *schema]


class ToolRequests:
    """POST /chat/completions (not streamed) with the chat's settings plus ``extra``."""

    def __init__(self, provider, model, options, on_error, admit, account) -> None:
        self.provider, self.model, self.options = provider, model, options
        self.on_error, self.admit = on_error, admit
        self.account = account if provider.endpoint.key_from_deployment else None
        self.refused_tools = False

    def __call__(self, messages: list[Message], extra: dict[str, Any]):
        """(the response's JSON, the inspector's view of the exchange, why it failed)."""
        basis = prompt_basis(messages, extra)
        if refusal := self.admit(basis, self.options.max_tokens):
            return None, None, refusal
        reasoning = reasoning_model(self.provider.endpoint.id, self.model)
        body = {**chat_request_body(self.model, messages, self.options, reasoning=reasoning),
                **extra}
        extras = self.options.extra_fields()  # not in the SDK's signature (top_k)
        standard = {name: value for name, value in body.items() if name not in extras}
        inspector = self.provider.inspector
        mark = inspector.mark()
        try:
            completion = self.provider.client.chat.completions.create(
                **standard, extra_body=extras or None)
        except Exception as exc:
            view = inspector.since(mark)
            self._settle(answered(view) or _given_up_on(exc), {}, basis)
            self.refused_tools = (isinstance(exc, openai.APIStatusError) and "tools" in extra
                                  and _about_tools(exc))
            failure = self.on_error(exc)
            return None, view, (f"{failure} {REJECTED_TOOLS}" if self.refused_tools else failure)
        usage = completion.usage
        self._settle(True, usage.model_dump() if usage else {}, basis, _reply_text(completion))
        return completion.to_dict(), inspector.since(mark), None

    def _settle(self, billable: bool, usage: dict[str, Any], basis: list[dict[str, Any]],
                reply: str = "") -> None:
        """Record a billable request at its cost, on estimated tokens where the provider
        reported none (the prompt from what was sent, the completion from what came back:
        nothing, for one given up on); release one that is not billable."""
        if self.account is None:
            return
        cost: Decimal | None = Decimal(0)
        if billable and self.provider.endpoint.bills_usage:
            prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
            if prompt is None:
                prompt = prompt_tokens_of(basis)
            if completion is None:
                completion = estimate_tokens(reply) if reply else 0
            cost = usage_cost(self.model, prompt, completion)
        settle_request(self.account, self.model, billable, cost)


def _given_up_on(exc: Exception) -> bool:
    """Sent, then given up on while the provider worked on it (the read timed out): billable,
    like a stopped chat answer or a timed-out Structured Outputs request. A timeout before
    anything was sent (connecting, waiting for a pooled connection) is not."""
    return (isinstance(exc, openai.APITimeoutError)
            and not isinstance(exc.__cause__, (httpx.ConnectTimeout, httpx.PoolTimeout)))


def _reply_text(completion: Any) -> str:
    """What the model wrote: its text and its calls (to estimate a completion with no usage)."""
    message = completion.choices[0].message if completion.choices else None
    if message is None:
        return ""
    calls = [call.model_dump() for call in message.tool_calls or []]
    return (message.content or "") + (json.dumps(calls, ensure_ascii=False) if calls else "")


def _about_tools(exc: openai.APIStatusError) -> bool:
    """A refusal of the ``tools`` field itself (OpenAI: "'tools' is not supported with this
    model"; OpenRouter: 404 "No endpoints found that support tool use"; Ollama: "does not
    support tools"; vLLM: "auto" tool choice needs --enable-auto-tool-choice)."""
    said = str(exc.message or "").lower() + json.dumps(exc.body or "").lower()
    return exc.status_code in (400, 404, 422) and ("tool" in said or "function" in said)
