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
from dataclasses import dataclass
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
    prompt_tokens: int | None  # of ``messages``, templated; None if they could not be counted
    left_out: frozenset[int] = frozenset()  # history indices not sent at all
    summarized: frozenset[int] = frozenset()  # history indices sent only as the summary
    summary: str | None = None


class SummaryFailed(RuntimeError):
    """No summary: the request was refused or failed, or the model wrote nothing."""


Counter = Callable[[list[Message]], int]
Summarizer = Callable[[list[Message]], str]


def plan_context(history: list[Message], system_prompt: str, strategy: ContextStrategy,
                 count: Counter, summarize: Summarizer | None = None) -> ContextPlan:
    """The messages to send for ``history`` under ``strategy``.

    The newest message always goes; a kept part never starts with an answer (chat templates
    want the user first). ``summarize`` is called only when the strategy needs a summary;
    without one, the plan marks what will be summarized and counts without the summary.
    Only the token budget needs counting to choose: elsewhere a count that fails (the engine
    restarting) leaves ``prompt_tokens`` None. Raises SummaryFailed, and, for the token
    budget, whatever counting raised.
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
            summary = summarize([m for _, m in older]) if summarize else None
            head = _with_summary(system_prompt, summary) if summary else system
            messages = head + [m for _, m in kept]
            return ContextPlan(messages, _count_or_none(count, messages),
                               summarized=_indices(older), summary=summary)
    else:
        kept = entries
    messages = system + [message for _, message in kept]
    left_out = _indices(entries[: len(entries) - len(kept)])
    return ContextPlan(messages, _count_or_none(count, messages), left_out=left_out)


def summary_request(messages: list[Message], previous: str | None = None) -> list[Message]:
    """The request that asks the model to summarize ``messages`` (after an earlier summary,
    when there is one): the transcript is one user message, so the model summarizes instead
    of carrying on the conversation."""
    lines = [f"EARLIER SUMMARY: {previous}"] if previous else []
    lines += [f"{m['role'].upper()}: {m['content']}" for m in messages]
    return [{"role": "system", "content": SUMMARY_INSTRUCTION},
            {"role": "user", "content": "\n".join(lines)}]


def _count_or_none(count: Counter, messages: list[Message]) -> int | None:
    try:
        return count(messages)
    except Exception:  # the screen shows no count; what is sent does not depend on it
        return None


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
    """The longest tail that starts with the user and fits ``budget`` (the newest message
    alone if none does). Fewer messages never count more, so a binary search over the
    places a tail may start needs a handful of counts, not one per message."""
    if not entries:
        return []
    starts = [i for i, (_, m) in enumerate(entries) if m["role"] == "user"]
    if not starts or starts[-1] != len(entries) - 1:
        starts.append(len(entries) - 1)

    def fits(start: int) -> bool:
        return count(system + [m for _, m in entries[start:]]) <= budget

    low, high = 0, len(starts) - 1  # the answer is the first start that fits, or the last
    while low < high:
        middle = (low + high) // 2
        if fits(starts[middle]):
            high = middle
        else:
            low = middle + 1
    return entries[starts[low]:]


def _indices(entries: list[tuple[int, Message]]) -> frozenset[int]:
    return frozenset(index for index, _ in entries)


def estimated_prompt_tokens(messages: list[Message]) -> int:
    """Prompt tokens as OpenAI counts chat messages: o200k tokens of each content, plus about
    4 per message for its role and separators, plus 3 that prime the answer. An estimate for
    hosted models, whose own tokenizers and templates we can't run."""
    from lib.cost.tokens import count_tokens

    return sum(count_tokens(m["content"]) + 4 for m in messages) + 3 if messages else 0


def prompt_counter(window: ContextWindow | None) -> tuple[Counter, bool]:
    """How to count a request's prompt tokens, and whether the count is exact: the built-in
    model's engine templates and tokenizes (exact); for hosted models, an estimate."""
    if window is not None:
        return window.count, True
    return estimated_prompt_tokens, False


def remembered(count: Counter, memory: dict, keep: int = 256) -> Counter:
    """``count`` with a memory of what it counted: a page plans several times a run and
    every run again, and each exact count is two requests to the shared engine."""
    def counted(messages: list[Message]) -> int:
        key = tuple((m["role"], m["content"]) for m in messages)
        if key not in memory:
            if len(memory) >= keep:
                del memory[next(iter(memory))]  # the oldest
            memory[key] = count(messages)
        return memory[key]
    return counted


@dataclass(frozen=True)
class SummaryCost:
    """The summary request a turn made: shown with the turn, since it is paid for too."""

    prompt_tokens: int
    completion_tokens: int
    cost: Decimal | None


class CachedSummarizer:
    """Summaries written by the chat's own model, built up as messages leave the window.

    ``complete(request) -> (text, SummaryCost)`` sends one plain request. ``memory`` (the
    session's) keeps only the latest summary and the messages it covers: when more messages
    fall out of the window, the model is sent that summary and the new messages only, so a
    turn never pays to summarize the whole conversation again.
    """

    def __init__(self, complete: Callable[[list[Message]], tuple[str, SummaryCost]],
                 memory: dict) -> None:
        self._complete = complete
        self._memory = memory
        self.spent: list[SummaryCost] = []  # summary requests made by this summarizer

    def __call__(self, messages: list[Message]) -> str:
        key = tuple((m["role"], m["content"]) for m in messages)
        known, summary = self._memory.get("covers", ()), self._memory.get("summary")
        if key == known and summary:
            return summary
        if known and summary and key[: len(known)] == known:
            request = summary_request(messages[len(known):], previous=summary)
        else:
            request = summary_request(messages)
        text, cost = self._complete(request)
        self.spent.append(cost)
        text = text.strip()
        if not text:
            raise SummaryFailed("the model wrote an empty summary")
        self._memory.clear()
        self._memory.update(covers=key, summary=text)
        return text


SUMMARY_MAX_TOKENS = 200


def model_summary(provider: ChatProvider, model: str, account: Account | None = None,
                  admit: Callable[[list[Message], int], str | None] = lambda *_: None
                  ) -> Callable[[list[Message]], tuple[str, SummaryCost]]:
    """Summaries by the chat's own model: one plain request at temperature 0, admitted
    (``admit(messages, max_tokens)``), priced and recorded like any other request on a
    deployment's key."""
    options = SamplingOptions(temperature=0.0, max_tokens=SUMMARY_MAX_TOKENS)
    counted = account is not None and provider.endpoint.key_from_deployment

    def complete(messages: list[Message]) -> tuple[str, SummaryCost]:
        if refusal := admit(messages, SUMMARY_MAX_TOKENS):
            raise SummaryFailed(refusal)
        try:
            completion = provider.complete(messages, model, options)
        except Exception:
            if counted:
                account.release(model)  # refused or unreachable: what was held is free
            raise
        usage = completion.usage
        prompt, written = (usage.prompt_tokens, usage.completion_tokens) if usage else (0, 0)
        cost = usage_cost(model, prompt, written) if provider.endpoint.bills_usage else Decimal(0)
        if counted:
            account.record(model, cost)
        return completion.choices[0].message.content or "", SummaryCost(prompt, written, cost)

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
