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
from typing import Any

from lib.config import setting
from lib.ledger.core import InProcessLedger, Ledger, LedgerUnavailable

LEDGER_URL_ENV = "LAB_LEDGER_URL"
LOG = logging.getLogger("hosted_llm_lab.ledger")
RETRY_S = 30.0  # after a failure the ledger is not asked again for this long


def open_ledger(url: str) -> Ledger:
    if url.startswith(("redis://", "rediss://")):
        from lib.ledger.redis_ledger import RedisLedger

        return RedisLedger(url)
    raise LedgerUnavailable(f"{LEDGER_URL_ENV} must be empty, redis://… or rediss://… "
                            f"(it starts with {url.partition(':')[0][:20]!r})")


class ProcessLedger:
    """The one ledger of this process, opened on first use and reopened if the setting
    changes. Failures are logged once per distinct message, for the operator, and for
    ``RETRY_S`` after one the shared ledger counts as down without being asked: every page
    run notes its visit, and a Redis that does not answer must not hold each of them for
    its timeout."""

    def __init__(self, clock=time.monotonic) -> None:
        self._clock = clock
        self._failed_at: float | None = None
        self._lock = threading.Lock()
        self._local = InProcessLedger()
        self._url: str | None = None
        self._shared: Ledger | None = None
        self._reported: set[str] = set()
        self.last_problem: str | None = None

    def get(self, secrets: Mapping[str, Any], environ: Mapping[str, str]) -> Ledger:
        """The ledger the settings ask for; raises LedgerUnavailable for a bad setting."""
        url = str(setting(secrets, environ, LEDGER_URL_ENV) or "").strip()
        if not url:
            return self._local
        with self._lock:
            if (self._failed_at is not None and self.last_problem
                    and self._clock() - self._failed_at < RETRY_S):
                raise LedgerUnavailable(self.last_problem)
            if url != self._url or self._shared is None:
                self._shared = open_ledger(url)
                self._url = url
            return self._shared

    def report(self, exc: LedgerUnavailable) -> None:
        with self._lock:
            self.last_problem = str(exc)
            self._failed_at = self._clock()
            if str(exc) in self._reported:
                return
            self._reported.add(str(exc))
        LOG.warning("shared ledger: %s", exc)


PROCESS_LEDGER = ProcessLedger()
