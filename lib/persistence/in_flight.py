"""Script runs that may still save a browser's work, so a reload waits for them.

A reload (or a dropped connection) ends the old Streamlit session while its script may
still be streaming an answer: Streamlit asks that script to stop, it settles the answer
(the partial text goes into the conversation) and saves it, a few milliseconds later. The
new session's first run starts at the same moment, so it waits for those runs, briefly,
before it loads, or the answer would be missing until the next reload.

Only runs of sessions that are no longer connected are waited for: a second tab of the
same browser streaming a long answer does not hold up this one.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from contextlib import contextmanager
from typing import Callable, Iterator

WAIT_S = 3.0


class RunsInFlight:
    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._runs: dict[str, Counter[str]] = {}  # browser's store key -> session id -> runs

    @contextmanager
    def running(self, key: str, session_id: str) -> Iterator[None]:
        with self._changed:
            self._runs.setdefault(key, Counter())[session_id] += 1
        try:
            yield
        finally:
            with self._changed:
                runs = self._runs[key]
                runs[session_id] -= 1
                if runs[session_id] <= 0:
                    del runs[session_id]
                if not runs:
                    del self._runs[key]
                self._changed.notify_all()

    def wait_for_ended_sessions(self, key: str, session_id: str,
                                connected: Callable[[str], bool], timeout: float = WAIT_S) -> bool:
        """Wait until no session of this browser but ours that is no longer ``connected``
        has a run going; False if some still had one after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout

        def ending() -> list[str]:
            return [other for other in self._runs.get(key, ())
                    if other != session_id and not connected(other)]
        with self._changed:
            while ending():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(min(left, 0.1))  # connected() may change without a notify
        return True
