"""A finished side-by-side run as plain data: what a reload brings back of the two panes.

A live ``Run`` holds two streams and their providers; what the page shows of it afterwards
is only data (the requests, the texts, the outcome, every token's candidates), so that is
what is saved. ``SavedRun`` answers the same attributes the page reads from a ``Run``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lib.base_vs_instruct.next_token import Candidate, Step
from lib.base_vs_instruct.panes import PaneRequest
from lib.chat.streaming import StreamMetrics


@dataclass
class SavedPane:
    request: PaneRequest
    text: str
    error: str | None
    metrics: StreamMetrics | None
    steps: list[Step] = field(default_factory=list)


@dataclass
class SavedRun:
    base: SavedPane
    instruct: SavedPane
    instruct_reads: str | None
    prompt_format: str
    prompt: str
    messages: list[dict[str, str]]

    def settle(self, account: Any = None) -> None:
        """A saved run has nothing left to end or to count."""


def saved_run(run) -> SavedRun:
    """The data of a Run (or a SavedRun, as it is)."""
    if isinstance(run, SavedRun):
        return run

    def pane(stream) -> SavedPane:
        return SavedPane(stream.request, stream.text,
                         str(stream.error) if stream.error else None, stream.metrics,
                         list(stream.steps))
    return SavedRun(pane(run.base), pane(run.instruct), run.instruct_reads, run.prompt_format,
                    run.prompt, [dict(m) for m in run.messages])


def restored_run(value: Any) -> SavedRun:
    if not isinstance(value, SavedRun):
        raise ValueError("not a saved run")
    return value


SAVED_TYPES = (SavedRun, SavedPane, PaneRequest, StreamMetrics, Step, Candidate)
