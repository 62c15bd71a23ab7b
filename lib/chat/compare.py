"""The same question to several models at once, each answer streamed as it comes.

Streamlit draws from one thread, so each answer is read by a thread of its own and the page
polls what has arrived (``ChatStream.text`` grows as chunks land). Streamlit-free: the
threads only read HTTP; ``settle`` ends whatever is still running (a Stop, a rerun) and
counts every answer once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

from lib.chat.turn import ChatTurn


@dataclass(frozen=True)
class PaneTiming:
    """When an answer's first token and its end came, in seconds after the start."""

    first_token_s: float | None
    done_s: float | None


class SideBySide:
    """Several turns streamed at once."""

    def __init__(self, turns: list[ChatTurn], panes: list[int] | None = None,
                 deadline_s: float = 300.0) -> None:
        self.turns = turns
        self.panes = panes if panes is not None else list(range(len(turns)))  # where each shows
        self.deadline_s = deadline_s  # a stream kept alive by keep-alive comments ends here
        self.started_at = time.perf_counter()
        self._threads = [threading.Thread(target=_drain, args=(turn,), daemon=True,
                                          name=f"compare-pane-{i + 1}")
                         for i, turn in enumerate(turns)]

    def start(self) -> SideBySide:
        self.started_at = time.perf_counter()
        for thread in self._threads:
            thread.start()
        return self

    @property
    def running(self) -> bool:
        return any(not turn.stream.done for turn in self.turns)

    def progress(self, interval_s: float = 0.05) -> Iterator[list[str]]:
        """Every pane's text so far, again and again until all are done (or the deadline
        passes: then what still runs is stopped)."""
        while self.running:
            if time.perf_counter() - self.started_at > self.deadline_s:
                self.settle()
                break
            yield [turn.stream.text for turn in self.turns]
            time.sleep(interval_s)
        yield [turn.stream.text for turn in self.turns]

    def settle(self) -> None:
        """Stop what still runs, keep what arrived, count each request once."""
        for turn in self.turns:
            turn.settle()

    def timing(self, index: int) -> PaneTiming:
        stream = self.turns[index].stream
        since = (lambda t: None if t is None else t - self.started_at)
        return PaneTiming(since(stream.first_token_at), since(stream.finished_at))


def _drain(turn: ChatTurn) -> None:
    for _ in turn.stream:  # ChatStream never raises: failures end up in stream.error
        pass
