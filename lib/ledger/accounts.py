"""Where a request on the deployment's keys is admitted and counted: a ``KeyAccount``.

A page makes one account per request (or per run of requests it sends one after another,
like the Anatomy view's four), admits the request on it, and settles the request on the same
account. The account keeps the reservation its admission made, so the request that settles
gives back its own hold and nobody else's (two requests of one session in flight, a long
answer and a short summary, say, never swap holds). Plain Python, safe from any thread: a
turn may be settled by another script run's thread.

When the shared ledger can't be told (Redis down), the cost is not lost: it waits in the
process (``ProcessLedger.defer``) and is counted when the ledger answers again.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable

from lib.config import Endpoint
from lib.deployment import PAUSED, DeploymentPolicy, SessionUsage, prompt_tokens_of
from lib.ledger import LOG, PROCESS_LEDGER
from lib.ledger.core import Ledger, LedgerUnavailable, Reservation, UnreachableLedger

Unsettled = Callable[[Reservation | None, str, Decimal, LedgerUnavailable], None]


def _log_only(reservation: Reservation | None, model: str, cost: Decimal,
              exc: LedgerUnavailable) -> None:
    LOG.warning("shared ledger: %s; $%s for %s not counted", exc, cost, model)


@dataclass
class KeyAccount:
    session: SessionUsage
    ledger: Ledger
    unsettled: Unsettled = _log_only  # what to do with a cost the ledger could not take
    _holds: list[tuple[str, Reservation]] = field(default_factory=list, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def hold(self, model: str, reservation: Reservation) -> None:
        with self._lock:
            self._holds.append((model, reservation))

    def _take(self, model: str) -> Reservation | None:
        with self._lock:
            for index, (held_for, reservation) in enumerate(self._holds):
                if held_for == model:
                    return self._holds.pop(index)[1]
        return None

    def record(self, model: str, cost: Decimal | None) -> None:
        """One request reached the provider: its cost replaces what was held for it."""
        cost = cost or Decimal(0)  # an unpriced model counts as a request, not as spend
        self.session.record(cost)
        # An id even without a hold (no budget set), so a retry can't count it twice.
        reservation = self._take(model) or Reservation.new(Decimal(0))
        try:
            self.ledger.settle(reservation, model, cost)
        except LedgerUnavailable as exc:
            self.unsettled(reservation, model, cost, exc)

    def release(self, model: str) -> None:
        """A request that was admitted never reached the provider (refused, nothing
        listening, stopped before it was sent): what was held back for it is free again."""
        reservation = self._take(model)
        if reservation is not None:
            try:
                self.ledger.release(reservation)
            except LedgerUnavailable as exc:  # it lapses by itself after HOLD_S
                LOG.warning("shared ledger: %s", exc)


def key_account(session: SessionUsage, secrets: Mapping[str, Any],
                environ: Mapping[str, str]) -> KeyAccount:
    """A new account on the ledger the settings name, for one request (or one run)."""
    try:
        ledger = PROCESS_LEDGER.get(secrets, environ)
    except LedgerUnavailable as exc:  # admitting on it says PAUSED; recording defers
        ledger = UnreachableLedger(exc)
    return KeyAccount(session, ledger, PROCESS_LEDGER.defer)


def admit_request(rules: DeploymentPolicy, account: KeyAccount, endpoint: Endpoint,
                  model: str, pending: int = 0, messages: list | None = None,
                  max_tokens: int | None = None) -> str | None:
    """``rules.admit`` on ``account`` with the sizes estimated from ``messages``; a ledger
    that can't be asked pauses the shared key."""
    if not rules.guards(endpoint):
        return None
    prompt_tokens = None if messages is None else prompt_tokens_of(messages)
    try:
        return rules.admit(endpoint, model, account, pending, prompt_tokens, max_tokens)
    except LedgerUnavailable as exc:
        PROCESS_LEDGER.report(exc)
        return PAUSED
