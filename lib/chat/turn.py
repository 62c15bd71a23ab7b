"""One assistant answer, from the request to what it cost: start, stop, settle, count.

Streamlit-free. A chat page starts a turn, streams ``turn.stream`` to the screen, and
settles it when the stream ends. A rerun (Stop, a new message) starts the next script run
while the interrupted one is still blocked on its next chunk, so the next run may settle the
turn from another thread first: settling is thread-safe and happens once.

The answer is put in the history before streaming starts and filled in when it settles, so a
partial answer survives a provider failure, Stop, and a rerun mid-stream.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from lib.chat.history import Message, to_api_messages
from lib.chat.providers import ChatProvider
from lib.chat.sampling import SamplingOptions
from lib.chat.streaming import ChatStream
from lib.cost.pricing import usage_cost



class Account(Protocol):
    """Where requests on a deployment's key are recorded (lib/ledger/accounts.KeyAccount)."""

    def record(self, model: str, cost: Decimal | None) -> None: ...

    def release(self, model: str) -> None: ...


@dataclass
class ChatTurn:
    """An answer being streamed into ``reply`` (a message of the history)."""

    provider: ChatProvider
    model: str
    stream: ChatStream
    reply: Message
    account: Account | None = None  # records requests on a deployment's key
    cost: Decimal | None = None
    settled: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def start(cls, provider: ChatProvider, model: str, options: SamplingOptions,
              history: list[Message], system_prompt: str = "",
              account: Account | None = None, stream: bool = True,
              messages: list[Message] | None = None, reply: Message | None = None) -> ChatTurn:
        """Prepare the request for the conversation and add the (empty) answer to it.

        ``messages`` is what to send when a context strategy chose (lib/chat/context.py);
        by default the whole conversation. ``reply``: the answer's message when the caller
        already put it in the history (after ``history``). Nothing is sent until
        ``turn.stream`` is iterated."""
        if messages is None:
            messages = to_api_messages(history, system_prompt)
        answer = provider.stream_chat(messages, model, options, stream=stream)
        if reply is None:
            reply = {"role": "assistant", "content": ""}
            history.append(reply)
        for earlier in history:  # only the newest answer keeps the request it came from
            earlier.pop("request", None)
        reply["request"] = answer.messages
        return cls(provider, model, answer, reply, account)

    def settle(self) -> Decimal | None:
        """End the turn where it is: close the stream if it is still open, keep its text
        and error in the history, price it, and count the spend. Only the first call does
        anything; later ones return the same cost."""
        with self._lock:
            if self.settled:
                return self.cost
            try:
                self.stream.close()  # a no-op when it had finished
                self.reply["content"] = self.stream.text
                if self.stream.error:
                    self.reply["error"] = str(self.stream.error)
                self.cost = request_cost(self.provider, self.model, self.stream)
                self.reply["usage"] = turn_usage(self.stream, self.cost)
                if self.account is not None and self.provider.endpoint.key_from_deployment:
                    settle_request(self.account, self.model, self.stream.billable, self.cost)
            finally:
                self.settled = True  # whatever happened, never counted twice
            return self.cost


def settle_request(account: Account, model: str, billable: bool, cost: Decimal | None) -> None:
    """Count a request on a deployment's key that the provider answered (or that was sent
    and then given up on); give back what was held for one it refused."""
    if billable:
        account.record(model, cost)
    else:
        account.release(model)


def turn_usage(stream: ChatStream, cost: Decimal | None) -> dict:
    """What one answer used, kept on the answer for the screen (never sent to a model): the
    prompt grows every turn because the whole conversation is sent again."""
    metrics = stream.metrics
    return {"prompt_tokens": metrics.prompt_tokens, "completion_tokens": metrics.completion_tokens,
            "estimate": metrics.usage_is_estimate, "cost": None if cost is None else str(cost)}


def request_cost(provider: ChatProvider, model: str, stream: ChatStream) -> Decimal | None:
    """What the request cost. Free on the built-in model and keyless servers, and when the
    provider refused it (401, 429, 5xx, nothing listening). A request that was sent is
    billed even if it was stopped or cut, on estimated tokens if the provider's usage never
    came (stopped before the first token: the prompt alone). None when no price is known."""
    if not provider.endpoint.bills_usage or not stream.billable:
        return Decimal(0)
    metrics = stream.metrics
    return usage_cost(model, metrics.prompt_tokens or 0, metrics.completion_tokens)
