"""The reliability experiment: the same request N times per mode, one at a time.

Rounds go prompt → JSON mode → Structured Outputs → prompt …, so a load change on a shared
machine touches every mode alike. Requests are sequential: one session never holds more
than one of the built-in engine's slots, which the class shares.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from decimal import Decimal
from typing import Callable, Iterator, Sequence

from lib.structured.modes import Mode, ModeResult


@dataclass(frozen=True)
class Trial:
    mode: Mode
    run: int  # 1-based
    valid_json: bool
    schema_valid: bool
    latency_s: float | None
    completion_tokens: int | None
    ms_per_token: float | None  # wall time per token
    engine_ms_per_token: float | None  # the engine's decode time per token, when reported
    failed: bool  # the request itself failed (no answer to judge)
    finish_reason: str | None = None

    @classmethod
    def of(cls, result: ModeResult, run: int) -> Trial:
        return cls(result.mode, run, result.valid_json, result.schema_valid, result.latency_s,
                   result.completion_tokens, result.ms_per_token, result.engine_ms_per_token,
                   result.error is not None, result.finish_reason)


@dataclass(frozen=True)
class ModeSummary:
    mode: Mode
    runs: int
    failed: int
    valid_json_rate: float  # of the runs that got an answer
    schema_valid_rate: float
    median_latency_s: float | None
    median_ms_per_token: float | None
    median_engine_ms_per_token: float | None
    cut_at_max_tokens: int = 0  # answers that ended with finish_reason "length"
    schema_valid_when_finished: float | None = None  # among answers that ended on their own


def trials(run_once: Callable[[Mode], ModeResult], modes: Sequence[Mode], n: int) -> Iterator[Trial]:
    """Run the experiment lazily: each next() sends one request. Stop iterating to cancel."""
    for run in range(1, n + 1):
        for mode in modes:
            yield Trial.of(run_once(mode), run)


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def summarize(done: Sequence[Trial]) -> list[ModeSummary]:
    summaries = []
    for mode in dict.fromkeys(t.mode for t in done):
        mine = [t for t in done if t.mode is mode]
        answered = [t for t in mine if not t.failed]
        count = len(answered) or 1
        finished = [t for t in answered if t.finish_reason != "length"]
        summaries.append(ModeSummary(
            mode, len(mine), len(mine) - len(answered),
            sum(t.valid_json for t in answered) / count,
            sum(t.schema_valid for t in answered) / count,
            _median([t.latency_s for t in answered]),
            _median([t.ms_per_token for t in answered]),
            _median([t.engine_ms_per_token for t in answered]),
            len(answered) - len(finished),
            sum(t.schema_valid for t in finished) / len(finished) if finished else None,
        ))
    return summaries


@dataclass(frozen=True)
class Estimate:
    requests: int
    max_tokens: int  # prompt + answer tokens at most
    cost_usd: Decimal | None  # None: no price known (the built-in model is free: 0)


def estimate(n: int, modes: Sequence[Mode], prompt_tokens: int, max_tokens: int,
             price: Callable[[int, int], Decimal | None]) -> Estimate:
    """The most the experiment can take: every answer running to max_tokens."""
    requests = n * len(modes)
    cost = price(prompt_tokens * requests, max_tokens * requests)
    return Estimate(requests, (prompt_tokens + max_tokens) * requests, cost)
