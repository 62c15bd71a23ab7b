"""The deployment's shared ledger: chosen by ``LAB_LEDGER_URL`` (secrets or environment).

Empty: this process's own ledger (one replica). ``redis://…`` or ``rediss://…``: one ledger
on Redis for every replica behind a load balancer, so ``LAB_MAX_SPEND_USD_TOTAL`` is the
class's budget, not each replica's. Anything else is refused, and the shared key stays off
until it is fixed (failing closed, like the other limits).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Callable

from lib.config import setting
from lib.ledger.core import InProcessLedger, Ledger, LedgerUnavailable, Reservation

LEDGER_URL_ENV = "LAB_LEDGER_URL"
LOG = logging.getLogger("hosted_llm_lab.ledger")
RETRY_S = 30.0  # after a failure the ledger is not asked again for this long
MAX_DEFERRED = 100_000  # costs waiting for the ledger to answer again


def open_ledger(url: str) -> Ledger:
    if url.startswith(("redis://", "rediss://")):
        from lib.ledger.redis_ledger import RedisLedger

        return RedisLedger(url)
    raise LedgerUnavailable(f"{LEDGER_URL_ENV} must be empty, redis://… or rediss://… "
                            f"(it starts with {url.partition(':')[0][:20]!r})")


class ProcessLedger:
    """The one ledger of this process, opened on first use and reopened if the setting
    changes.

    For ``RETRY_S`` after the shared ledger failed it counts as down without being asked (a
    Redis that does not answer must not hold every request for its timeout); a changed
    setting is asked at once. Noting visits has a window of its own, and never pauses the
    shared key. A cost the ledger could not take waits here and is counted the next time the
    ledger answers. Problems go to the log, each distinct one once per ``RETRY_S``.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._local = InProcessLedger()
        self._url: str | None = None
        self._shared: Ledger | None = None
        self._asked: str | None = None  # the URL of the latest get()
        self._failed: dict[str, float] = {}  # URL -> when it last failed
        self._seen_failed_at: float | None = None
        self._deferred: list[tuple[Reservation | None, str, Decimal]] = []
        self._logged: dict[str, float] = {}
        self.last_problem: str | None = None

    def get(self, secrets: Mapping[str, Any], environ: Mapping[str, str]) -> Ledger:
        """The ledger the settings ask for; raises LedgerUnavailable for a bad setting or
        one that failed a moment ago."""
        url = str(setting(secrets, environ, LEDGER_URL_ENV) or "").strip()
        if not url:
            return self._local
        with self._lock:
            self._asked = url
            failed_at = self._failed.get(url)
            if failed_at is not None and self._clock() - failed_at < RETRY_S:
                raise LedgerUnavailable(self.last_problem or "the shared ledger failed")
            if url != self._url or self._shared is None:
                try:
                    opened = open_ledger(url)
                except LedgerUnavailable:
                    self._failed[url] = self._clock()
                    raise
                if self._shared is not None and hasattr(self._shared, "close"):
                    self._shared.close()
                self._url, self._shared = url, opened
            ledger, deferred, self._deferred = self._shared, self._deferred, []
        self._replay(ledger, deferred)
        return ledger

    def _replay(self, ledger: Ledger, deferred: list) -> None:
        for index, (reservation, model, cost) in enumerate(deferred):
            try:
                ledger.settle(reservation, model, cost)
            except LedgerUnavailable as exc:
                with self._lock:
                    self._deferred[:0] = deferred[index:]
                self.report(exc)
                return

    def defer(self, reservation: Reservation | None, model: str, cost: Decimal,
              exc: LedgerUnavailable) -> None:
        """A cost the ledger could not take now: counted when it answers again."""
        with self._lock:
            if len(self._deferred) < MAX_DEFERRED:
                self._deferred.append((reservation, model, cost))
        self.report(LedgerUnavailable(f"{exc}; ${cost} for {model} will be counted when "
                                      "it answers"))

    def seen(self, secrets: Mapping[str, Any], environ: Mapping[str, str],
             session_id: str) -> None:
        """Note a session's visit (the operator's view), unless that failed a moment ago."""
        with self._lock:
            if self._seen_failed_at is not None and self._clock() - self._seen_failed_at < RETRY_S:
                return
        try:
            self.get(secrets, environ).seen(session_id)
        except LedgerUnavailable as exc:
            with self._lock:
                self._seen_failed_at = self._clock()
            self._log(f"noting visits: {exc}")

    def report(self, exc: LedgerUnavailable) -> None:
        """The shared ledger failed: not asked again for RETRY_S, and logged."""
        with self._lock:
            self.last_problem = str(exc)
            if self._asked:
                self._failed[self._asked] = self._clock()
        self._log(str(exc))

    def _log(self, message: str) -> None:
        now = self._clock()
        with self._lock:
            last = self._logged.get(message)
            if last is not None and now - last < RETRY_S:
                return
            self._logged = {m: t for m, t in self._logged.items() if now - t < RETRY_S}
            self._logged[message] = now
        LOG.warning("shared ledger: %s", message)


PROCESS_LEDGER = ProcessLedger()
