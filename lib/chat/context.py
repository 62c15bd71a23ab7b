"""Context-window strategies: which part of a long conversation each request carries.

Models keep no state, so every request resends the conversation, and the model reads at most
its context window. When a chat grows, something has to give. The four strategies of the
lecture:

- keep all: everything is sent; cost grows every turn and the window fills up;
- sliding window: only the last N messages (the model forgets what came before);
- token budget: the oldest messages go until the prompt fits a number of tokens;
- summarize: the older messages are folded into a summary, written by the same model, that
  rides along in the system prompt (one system prompt, first: strict templates insist).

A plan keeps track of which messages of the history were left out or summarized, so the
screen can show it. Streamlit-free: counting and summarizing are passed in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from lib.chat.history import ContextWindow, Message, sendable
from lib.chat.providers import ChatProvider
from lib.chat.sampling import SamplingOptions
from lib.cost.pricing import usage_cost

if TYPE_CHECKING:
    from lib.chat.turn import Account

StrategyName = Literal["keep_all", "sliding_window", "token_budget", "summarize"]
STRATEGY_LABELS: dict[StrategyName, str] = {
    "keep_all": "Keep everything",
    "sliding_window": "Sliding window: the last N messages",
    "token_budget": "Token budget: drop the oldest until it fits",
    "summarize": "Summarize older messages",
}
SUMMARY_HEADING = "Summary of the earlier conversation:"
SUMMARY_INSTRUCTION = (
    "Summarize the conversation below in at most five sentences for the assistant to "
    "remember it. Keep every name, number, date and decision."
)


class ContextStrategy(BaseModel):
    """What of the conversation is sent; the sidebar's widgets are built from these fields."""

    model_config = ConfigDict(frozen=True)

    name: StrategyName = "keep_all"
    last_messages: int = Field(
        4, ge=1, le=200,
        description="Sliding window and summarize: how many of the newest messages are sent "
                    "word for word.",
    )
    token_budget: int = Field(
        1024, ge=64, le=1_000_000,
        description="Token budget: the most prompt tokens a request may carry.",
    )


@dataclass(frozen=True)
class ContextPlan:
    """One request's messages, and what of the history did not go in it as it is."""

    messages: list[Message]
    prompt_tokens: int  # of ``messages``, templated (or estimated: see counted_by)
    left_out: frozenset[int] = frozenset()  # history indices not sent at all
    summarized: frozenset[int] = frozenset()  # history indices sent only as the summary
    summary: str | None = None
    notes: list[str] = field(default_factory=list)


Counter = Callable[[list[Message]], int]
Summarizer = Callable[[list[Message]], str]


def plan_context(history: list[Message], system_prompt: str, strategy: ContextStrategy,
                 count: Counter, summarize: Summarizer | None = None) -> ContextPlan:
    """The messages to send for ``history`` under ``strategy``.

    The newest message always goes; a kept part never starts with an answer (chat templates
    want the user first). ``summarize`` is called only when the strategy needs a summary;
    without one, the plan marks what will be summarized and counts without the summary.
    """
    entries = sendable(history)
    system = [{"role": "system", "content": system_prompt.strip()}] if system_prompt.strip() else []
    if strategy.name == "sliding_window":
        kept = _starting_with_user(entries[-strategy.last_messages:])
    elif strategy.name == "token_budget":
        kept = _within_budget(entries, system, strategy.token_budget, count)
    elif strategy.name == "summarize":
        kept = _starting_with_user(entries[-strategy.last_messages:])
        older = entries[: len(entries) - len(kept)]
        if older:  # without a summarizer (just drawing the screen), the summary is to come
            summary = summarize([m for _, m in older]).strip() if summarize else None
            head = _with_summary(system_prompt, summary) if summary else system
            messages = head + [m for _, m in kept]
            return ContextPlan(messages, count(messages), summarized=_indices(older),
                               summary=summary)
    else:
        kept = entries
    messages = system + [message for _, message in kept]
    left_out = _indices(entries[: len(entries) - len(kept)])
    return ContextPlan(messages, count(messages), left_out=left_out)


def summary_request(messages: list[Message]) -> list[Message]:
    """The request that asks the model to summarize ``messages``: the transcript is one user
    message, so the model summarizes instead of carrying on the conversation."""
    transcript = "\n".join(f"{m['role'].upper()}: {m['content']}" for m in messages)
    return [{"role": "system", "content": SUMMARY_INSTRUCTION},
            {"role": "user", "content": transcript}]


def _with_summary(system_prompt: str, summary: str) -> list[Message]:
    content = "\n\n".join(p for p in (system_prompt.strip(), f"{SUMMARY_HEADING} {summary}") if p)
    return [{"role": "system", "content": content}]


def _starting_with_user(entries: list[tuple[int, Message]]) -> list[tuple[int, Message]]:
    kept = list(entries)
    while len(kept) > 1 and kept[0][1]["role"] != "user":
        kept.pop(0)
    return kept


def _within_budget(entries: list[tuple[int, Message]], system: list[Message], budget: int,
                   count: Counter) -> list[tuple[int, Message]]:
    kept = list(entries)
    while len(kept) > 1 and count(system + [m for _, m in kept]) > budget:
        kept = _starting_with_user(kept[1:])
    return kept


def _indices(entries: list[tuple[int, Message]]) -> frozenset[int]:
    return frozenset(index for index, _ in entries)


def estimated_prompt_tokens(messages: list[Message]) -> int:
    """Prompt tokens as OpenAI counts chat messages: o200k tokens of each content, plus about
    4 per message for its role and separators, plus 3 that prime the answer. An estimate for
    hosted models, whose own tokenizers and templates we can't run."""
    from lib.cost.tokens import count_tokens

    return sum(count_tokens(m["content"]) + 4 for m in messages) + 3 if messages else 0


class CachedSummarizer:
    """Summaries written by the chat's own model, each asked for once per set of messages.

    ``complete(messages) -> (text, usage_cost)`` sends one plain request. The cache lives
    with the session's conversation, so a rerun doesn't pay for the same summary twice.
    """

    def __init__(self, complete: Callable[[list[Message]], str],
                 cache: dict[tuple[tuple[str, str], ...], str]) -> None:
        self._complete = complete
        self._cache = cache
        self.requests = 0  # summaries actually asked for (not from the cache)

    def __call__(self, messages: list[Message]) -> str:
        key = tuple((m["role"], m["content"]) for m in messages)
        if key not in self._cache:
            self._cache[key] = self._complete(summary_request(messages))
            self.requests += 1
        return self._cache[key]


def prompt_counter(window: ContextWindow | None) -> tuple[Counter, bool]:
    """How to count a request's prompt tokens, and whether the count is exact: the built-in
    model's engine templates and tokenizes (exact); for hosted models, an estimate."""
    if window is not None:
        return window.count, True
    return estimated_prompt_tokens, False


SUMMARY_MAX_TOKENS = 200


def model_summary(provider: ChatProvider, model: str, account: Account | None = None
                  ) -> Callable[[list[Message]], str]:
    """Summaries by the chat's own model: one plain request at temperature 0, priced and
    recorded like any other request on a deployment's key."""
    options = SamplingOptions(temperature=0.0, max_tokens=SUMMARY_MAX_TOKENS)

    def complete(messages: list[Message]) -> str:
        completion = provider.complete(messages, model, options)
        usage = completion.usage
        if account is not None and provider.endpoint.key_from_deployment:
            cost = (usage_cost(model, usage.prompt_tokens, usage.completion_tokens)
                    if usage else None)
            account.record(model, cost if provider.endpoint.bills_usage else None)
        return completion.choices[0].message.content or ""

    return complete


@dataclass(frozen=True)
class ResendTotals:
    """What the answers so far were sent in all: the lecture's "you pay per token for the
    whole conversation every time"."""

    turns: int
    prompt_tokens: int
    cost: Decimal | None  # None when some turn's price was unknown


def resend_totals(history: list[Message]) -> ResendTotals:
    usages = [m["usage"] for m in history
              if m["role"] == "assistant" and (m.get("usage") or {}).get("prompt_tokens")]
    costs = [u.get("cost") for u in usages]
    cost = None if any(c is None for c in costs) else sum((Decimal(c) for c in costs), Decimal(0))
    return ResendTotals(len(usages), sum(u["prompt_tokens"] for u in usages), cost)
