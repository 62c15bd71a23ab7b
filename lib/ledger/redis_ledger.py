"""The shared ledger on Redis (``LAB_LEDGER_URL=redis://…``): one budget for every replica.

Keys (``hll:ledger:``): ``spent`` (whole nano-dollars), ``holds`` (a sorted set: reservation
id -> when it lapses) with ``held`` (id -> nano-dollars), ``requests`` (model -> count) and
``sessions`` (a sorted set: hashed session id -> last seen). Reserving and settling are Lua
scripts, so each is one atomic step on the server: expired holds are dropped, spent + held +
the new amount is compared with the budget and the hold is written, with nothing from
another replica in between. Time is the Redis server's (``TIME``), so replicas' clocks don't
matter. Totals outlive app restarts (that is the point); ``redis-cli del hll:ledger:spent``
starts a new budget.

Any Redis failure becomes ``LedgerUnavailable`` in our words (never the URL's password).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from lib.ledger.core import (
    ACTIVE_SESSION_SECONDS, HOLD_S, LedgerFigures, LedgerUnavailable, Reservation, to_units,
    to_usd,
)
from lib.persistence.redis_store import masked_url

PREFIX = "hll:ledger:"
KEYS = [PREFIX + name for name in ("spent", "holds", "held", "requests", "sessions")]
TIMEOUT_S = 2

_NOW = "local t = redis.call('TIME') local now = tonumber(t[1]) + tonumber(t[2]) / 1e6 "
_DROP_LAPSED = ("local lapsed = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now) "
                "for _, id in ipairs(lapsed) do redis.call('HDEL', KEYS[3], id) end "
                "redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now) ")
_HELD = ("local held = 0 "
         "for _, v in ipairs(redis.call('HVALS', KEYS[3])) do held = held + tonumber(v) end ")
# ARGV: id, units, budget units, hold seconds -> 1 (held) or 0 (over the budget)
RESERVE = _NOW + _DROP_LAPSED + _HELD + """
local spent = tonumber(redis.call('GET', KEYS[1]) or '0')
if spent + held + tonumber(ARGV[2]) > tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[4]), ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
return 1
"""
# KEYS[6]: this settle's marker; ARGV: hold id, cost units, model, marker seconds. Once per
# id: a retry after a dropped connection (or a replayed deferred cost) never counts twice.
SETTLE = """
if not redis.call('SET', KEYS[6], '1', 'NX', 'EX', tonumber(ARGV[4])) then return 0 end
redis.call('ZREM', KEYS[2], ARGV[1]) redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('INCRBY', KEYS[1], ARGV[2])
redis.call('HINCRBY', KEYS[4], ARGV[3], 1)
return 1
"""
SETTLED_S = 86_400  # how long a settled id is remembered
# ARGV: hashed session id, seconds a session counts as active
SEEN = _NOW + """
redis.call('ZADD', KEYS[5], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', now - tonumber(ARGV[2]))
return 1
"""
FIGURES = _NOW + _DROP_LAPSED + _HELD + """
return {redis.call('GET', KEYS[1]) or '0', tostring(held), redis.call('HGETALL', KEYS[4]),
        redis.call('ZCOUNT', KEYS[5], now - tonumber(ARGV[1]), '+inf')}
"""


class RedisLedger:
    def __init__(self, url: str, hold_s: float = HOLD_S) -> None:
        self.hold_s = hold_s
        self._where = masked_url(url)
        self.description = f"Redis at {self._where} (shared by every replica)"
        try:
            self._client = redis.Redis.from_url(
                url, socket_timeout=TIMEOUT_S, socket_connect_timeout=TIMEOUT_S,
                decode_responses=True,
                retry=Retry(NoBackoff(), 1, supported_errors=(redis.exceptions.ConnectionError,)))
        except ValueError as exc:
            raise LedgerUnavailable(f"LAB_LEDGER_URL is not a Redis URL that can be read "
                                    f"({self._where})") from exc
        self._scripts = {name: self._client.register_script(source) for name, source in
                         [("reserve", RESERVE), ("settle", SETTLE), ("seen", SEEN),
                          ("figures", FIGURES)]}

    @contextmanager
    def _answering(self) -> Iterator[None]:
        try:
            yield
        except redis.exceptions.RedisError as exc:
            raise LedgerUnavailable(f"the shared ledger ({self._where}) did not answer: "
                                    f"{type(exc).__name__}") from None

    def _run(self, name: str, *args: object, more_keys: tuple[str, ...] = ()):
        with self._answering():
            return self._scripts[name](keys=[*KEYS, *more_keys], args=list(args))

    def close(self) -> None:
        self._client.close()

    def ping(self) -> None:
        with self._answering():
            self._client.ping()

    def reserve(self, amount: Decimal, budget: Decimal) -> Reservation | None:
        reservation = Reservation.new(amount)
        held = self._run("reserve", reservation.id, reservation.units, to_units(budget),
                         self.hold_s)
        return reservation if int(held) == 1 else None

    def settle(self, reservation: Reservation | None, model: str, cost: Decimal) -> None:
        reservation = reservation or Reservation.new(Decimal(0))  # an id to count it once
        self._run("settle", reservation.id, to_units(cost), model, SETTLED_S,
                  more_keys=(f"{PREFIX}settled:{reservation.id}",))

    def release(self, reservation: Reservation) -> None:
        with self._answering():
            self._client.pipeline().zrem(KEYS[1], reservation.id).hdel(
                KEYS[2], reservation.id).execute()

    def spent_usd(self) -> Decimal:
        with self._answering():
            return to_usd(int(self._client.get(KEYS[0]) or 0))

    def seen(self, session_id: str) -> None:
        hashed = hashlib.sha256(session_id.encode()).hexdigest()[:32]
        self._run("seen", hashed, ACTIVE_SESSION_SECONDS)

    def figures(self) -> LedgerFigures:
        spent, held, requests, active = self._run("figures", ACTIVE_SESSION_SECONDS)
        pairs = dict(zip(requests[::2], requests[1::2]))
        by_model = dict(sorted(((m, int(n)) for m, n in pairs.items()), key=lambda p: -p[1]))
        return LedgerFigures(to_usd(int(spent)), to_usd(int(float(held))), by_model, int(active))
