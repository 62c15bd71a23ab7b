"""The process's one session store, opened on first use and shared by every session.

Opening may fail (a damaged file, Redis down, a bad LAB_STORE_* setting): the failure is
remembered for ``RETRY_S`` so a class of thirty does not retry it on every click, then
tried again, so a store that comes back is used without restarting the app.
"""

from __future__ import annotations

import threading
import time
from typing import Callable

from lib.persistence.store import SessionStore, StoreError, open_store

RETRY_S = 30.0


class SharedStore:
    def __init__(self, opener: Callable[[], SessionStore | None] = open_store,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._opener = opener
        self._clock = clock
        self._lock = threading.Lock()
        self._store: SessionStore | None = None
        self._opened = False
        self._failure: tuple[str, float] | None = None  # (message, when)

    def get(self) -> tuple[SessionStore | None, str | None]:
        """(the store, None), or (None, why there is none); (None, None) when saving is off."""
        with self._lock:
            if self._opened:
                return self._store, None
            if self._failure and self._clock() - self._failure[1] < RETRY_S:
                return None, self._failure[0]
            try:
                self._store = self._opener()
            except StoreError as exc:
                self._failure = (str(exc), self._clock())
                return None, self._failure[0]
            self._opened, self._failure = True, None
            return self._store, None
