"""What a deployment's shared keys have spent, and what is held back for requests in flight.

The ledger is the class's total: every session of every replica draws on one budget. A
request is let through only after the most it can cost is *reserved* atomically against
that budget (``reserve``), so two sessions (or two replicas) racing for the last dollar
cannot both pass; when it is answered, its real cost replaces the reservation (``settle``),
and a request that never reached the provider gives its reservation back (``release``). A
reservation nobody settles (a crashed run) expires after ``HOLD_S``.

Money is kept as whole nano-dollars (``units``), rounded up, so Redis can add it atomically
and nothing is lost to floating point. Two implementations: ``InProcessLedger`` here (one
process) and ``lib.ledger.redis_ledger.RedisLedger`` (``LAB_LEDGER_URL``, several replicas).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal
from typing import Callable, Protocol

UNITS_PER_USD = 10**9
HOLD_S = 600.0  # a reservation outlives any answer; one never settled is then let go
ACTIVE_SESSION_SECONDS = 600.0


class LedgerUnavailable(RuntimeError):
    """The shared ledger can't be reached. The message is for the operator's log."""


def to_units(usd: Decimal) -> int:
    return int((usd * UNITS_PER_USD).to_integral_value(rounding=ROUND_CEILING))


def to_usd(units: int) -> Decimal:
    return Decimal(units) / UNITS_PER_USD


@dataclass(frozen=True)
class Reservation:
    """Money held back for one request until it is settled or released."""

    id: str
    units: int

    @classmethod
    def new(cls, amount: Decimal) -> Reservation:
        return cls(secrets.token_hex(8), to_units(amount))


@dataclass(frozen=True)
class LedgerFigures:
    """The operator's view: spent, held for requests in flight, requests, sessions."""

    spent_usd: Decimal
    held_usd: Decimal
    requests_by_model: dict[str, int]
    active_sessions: int


class Ledger(Protocol):
    description: str

    def reserve(self, amount: Decimal, budget: Decimal) -> Reservation | None:
        """Hold ``amount`` if spent + held + amount stays within ``budget``, atomically;
        None when it would not (the request must not be sent)."""

    def settle(self, reservation: Reservation | None, model: str, cost: Decimal) -> None:
        """One request reached the provider and cost ``cost``: count it, drop its hold."""

    def release(self, reservation: Reservation) -> None:
        """An admitted request was never sent or was refused: drop its hold."""

    def spent_usd(self) -> Decimal: ...

    def seen(self, session_id: str) -> None:
        """A browser session was active (for the operator's view)."""

    def figures(self) -> LedgerFigures: ...


@dataclass
class InProcessLedger:
    """The ledger of one app process, shared by all its sessions, under a lock. Nothing a
    browser does resets it; a restart of the app does."""

    clock: Callable[[], float] = time.monotonic
    hold_s: float = HOLD_S
    description: str = "this app process (a restart resets it)"
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _spent: int = 0
    _holds: dict[str, tuple[int, float]] = field(default_factory=dict)  # id -> (units, until)
    _requests: Counter = field(default_factory=Counter)
    _last_seen: dict[str, float] = field(default_factory=dict)

    def reserve(self, amount: Decimal, budget: Decimal) -> Reservation | None:
        reservation = Reservation.new(amount)
        now = self.clock()
        with self._lock:
            for stale in [i for i, (_, until) in self._holds.items() if until <= now]:
                del self._holds[stale]
            held = sum(units for units, _ in self._holds.values())
            if self._spent + held + reservation.units > to_units(budget):
                return None
            self._holds[reservation.id] = (reservation.units, now + self.hold_s)
        return reservation

    def settle(self, reservation: Reservation | None, model: str, cost: Decimal) -> None:
        with self._lock:
            if reservation is not None:
                self._holds.pop(reservation.id, None)
            self._spent += to_units(cost)
            self._requests[model] += 1

    def release(self, reservation: Reservation) -> None:
        with self._lock:
            self._holds.pop(reservation.id, None)

    def spent_usd(self) -> Decimal:
        with self._lock:
            return to_usd(self._spent)

    def seen(self, session_id: str) -> None:
        now = self.clock()
        with self._lock:
            self._last_seen[session_id] = now
            for old in [s for s, t in self._last_seen.items() if now - t > ACTIVE_SESSION_SECONDS]:
                del self._last_seen[old]

    def figures(self) -> LedgerFigures:
        now = self.clock()
        with self._lock:
            return LedgerFigures(
                spent_usd=to_usd(self._spent),
                held_usd=to_usd(sum(u for u, until in self._holds.values() if until > now)),
                requests_by_model=dict(self._requests.most_common()),
                active_sessions=sum(1 for t in self._last_seen.values()
                                    if now - t <= ACTIVE_SESSION_SECONDS))


@dataclass
class UnreachableLedger:
    """Stands in for a ledger that could not be opened: every use raises why."""

    why: LedgerUnavailable
    description: str = "unreachable"

    def reserve(self, amount: Decimal, budget: Decimal) -> Reservation | None:
        raise self.why

    def settle(self, reservation: Reservation | None, model: str, cost: Decimal) -> None:
        raise self.why

    def release(self, reservation: Reservation) -> None:
        raise self.why

    def spent_usd(self) -> Decimal:
        raise self.why

    def seen(self, session_id: str) -> None:
        raise self.why

    def figures(self) -> LedgerFigures:
        raise self.why
