"""The process's one session store, opened on first use and shared by every session.

Opening may fail (a damaged file, Redis down, a bad LAB_STORE_* setting): the failure is
remembered for ``RETRY_S`` so a class of thirty does not retry it on every click, then
tried again, so a store that comes back is used without restarting the app. Every failure,
here or in a session's load or save, goes to the operator's log once per distinct message
(``report``), with the details a student's screen leaves out.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable

from lib.persistence.store import SessionStore, StoreError, open_store

RETRY_S = 30.0
LOG = logging.getLogger("hosted_llm_lab.store")


class SharedStore:
    def __init__(self, opener: Callable[[], SessionStore | None] = open_store,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._opener = opener
        self._clock = clock
        self._lock = threading.Lock()
        self._store: SessionStore | None = None
        self._opened = False
        self._failure: tuple[StoreError, float] | None = None  # (why, when)
        self._reported: set[str] = set()
        self._report_lock = threading.Lock()  # sessions report from their own threads
        self.last_problem: str | None = None  # for the operator's view

    def get(self) -> tuple[SessionStore | None, StoreError | None]:
        """(the store, None), or (None, why there is none); (None, None) when saving is off."""
        with self._lock:
            if self._opened:
                return self._store, None
            if self._failure and self._clock() - self._failure[1] < RETRY_S:
                return None, self._failure[0]
            try:
                self._store = self._opener()
            except StoreError as exc:
                self._failure = (exc, self._clock())
                self.report(exc)
                return None, exc
            self._opened, self._failure = True, None
            return self._store, None

    def report(self, exc: StoreError) -> None:
        """Log a store failure for the operator, once per distinct message."""
        with self._report_lock:
            self.last_problem = str(exc)
            if str(exc) in self._reported:
                return
            self._reported.add(str(exc))
        LOG.warning("session store: %s", exc)

    @property
    def description(self) -> str:
        if self._store is not None:
            return self._store.description
        return "off (LAB_STORE_URL=off)" if self._opened else "not open"
