"""Why long chats get expensive: the API is stateless, so every call resends the history.

For a conversation of N turns we count, turn by turn, the tokens each context strategy sends and
what they cost with a given ModelPrice:
- keep all: turn k resends all k-1 earlier exchanges, so the cumulative cost grows with N^2;
- sliding window: only the last W exchanges are resent, so each turn costs at most a constant;
- summarize: when W exchanges have piled up, one extra call folds them (and the previous summary)
  into a summary of S tokens, which replaces them in the history from then on.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

from lib.cost.pricing import MAX_TOKENS, ModelPrice

Strategy = Literal["keep all", "sliding window", "summarize"]
STRATEGIES: tuple[Strategy, ...] = ("keep all", "sliding window", "summarize")
MAX_TURNS = 1000


class Conversation(BaseModel):
    """The shape of a chat: how long it runs and how big each part is, in tokens."""

    turns: int = Field(30, ge=1, le=MAX_TURNS, title="Turns in the conversation")
    system_tokens: int = Field(200, ge=0, le=MAX_TOKENS, title="System prompt tokens")
    user_tokens: int = Field(100, ge=0, le=MAX_TOKENS, title="Tokens per user message")
    reply_tokens: int = Field(400, ge=0, le=MAX_TOKENS, title="Tokens per reply")
    window_turns: int = Field(6, ge=1, le=MAX_TURNS, title="Window (exchanges kept)")
    summary_tokens: int = Field(300, ge=0, le=MAX_TOKENS, title="Summary tokens")

    @property
    def exchange_tokens(self) -> int:
        """One user message plus its reply: what each past turn adds to the history."""
        return self.user_tokens + self.reply_tokens


@dataclass(frozen=True)
class Call:
    input_tokens: int
    output_tokens: int


@dataclass(frozen=True)
class TurnCost:
    turn: int
    strategy: Strategy
    input_tokens: int  # everything sent this turn, summarization call included
    output_tokens: int
    cost: Decimal
    cumulative_cost: Decimal


def calls_per_turn(chat: Conversation, strategy: Strategy) -> list[list[Call]]:
    """The API calls each turn makes under `strategy` (one, or two when it summarizes)."""
    turns: list[list[Call]] = []
    history = 0  # exchanges kept verbatim
    summary = 0  # tokens of the running summary, 0 before the first one
    for _ in range(chat.turns):
        calls = []
        if strategy == "summarize" and history >= chat.window_turns:
            calls.append(Call(summary + history * chat.exchange_tokens, chat.summary_tokens))
            history, summary = 0, chat.summary_tokens
        kept = min(history, chat.window_turns) if strategy == "sliding window" else history
        prompt = chat.system_tokens + summary + kept * chat.exchange_tokens + chat.user_tokens
        calls.append(Call(prompt, chat.reply_tokens))
        turns.append(calls)
        history += 1
    return turns


def conversation_costs(chat: Conversation, price: ModelPrice) -> list[TurnCost]:
    """Cost of every turn and the running total, for each strategy, with `price`."""
    rows: list[TurnCost] = []
    for strategy in STRATEGIES:
        total = Decimal(0)
        for turn, calls in enumerate(calls_per_turn(chat, strategy), start=1):
            cost = sum(
                (price.request_cost(c.input_tokens, c.output_tokens).total for c in calls),
                Decimal(0),
            )
            total += cost
            rows.append(
                TurnCost(
                    turn, strategy,
                    sum(c.input_tokens for c in calls), sum(c.output_tokens for c in calls),
                    cost, total,
                )
            )
    return rows


def totals(rows: list[TurnCost]) -> dict[Strategy, Decimal]:
    """Each strategy's cost for the whole conversation."""
    return {row.strategy: row.cumulative_cost for row in rows}  # the last turn's wins
