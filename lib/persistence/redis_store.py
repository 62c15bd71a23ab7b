"""The session store on Redis, for a class served by several replicas of the app.

One hash per session (``hll:session:<sha256>``: field = saved name, value = JSON text), and
Redis's own expiry instead of a sweep: every save and load sets the key's TTL to the store's
days again, in the same MULTI/EXEC as the data, so a session lives exactly as long after its
last use as the setting says, and a save is one atomic round trip.

Failing fast matters more than retrying here: a page waits for its save. Sockets time out
after 2 s, and a failed connection is retried once, at once (a server restart or a dropped
idle connection), never with the client's default backoff, which would hold a page for
seconds while the server is down. Nothing connects until the first use; ``ping`` is how
``open_store`` finds out in time that the server is unreachable.

The URL may hold a password: it is masked in ``description`` and never put into a message
(messages use our own words; the server's text can also echo the saved data).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from lib.persistence.store import (
    DEFAULT_DAYS,
    URL_ENV,
    WORK_STAYS,
    StoreError,
    StoreFull,
    StoreRefused,
    StoreUnavailable,
    check_changes,
    check_session,
)

KEY_PREFIX = "hll:session:"
TIMEOUT_S = 2
HEALTH_CHECK_S = 30  # a connection idle this long is pinged before use
_QUERY_PASSWORD = re.compile(r"(?i)(password=)[^&]*")


def masked_url(url: str) -> str:
    """``url`` with the password (and a lone user part, which may be one) replaced by ***."""
    try:
        parts = urlsplit(url)
        userinfo, at, hostport = parts.netloc.rpartition("@")
    except ValueError:
        return f"{url.partition('://')[0]}://***"
    if at:
        user, colon, _ = userinfo.partition(":")
        hostport = f"{user}:***@{hostport}" if colon else f"***@{hostport}"
    query = _QUERY_PASSWORD.sub(r"\1***", parts.query)
    return urlunsplit((parts.scheme, hostport, parts.path, query, parts.fragment))


class RedisStore:
    """Sessions as Redis hashes that expire ``days`` after their last use. Construction
    does not connect (call ``ping``); every operation raises StoreError subclasses only.
    Safe to use from any number of threads (the client keeps a pool of connections)."""

    def __init__(self, url: str, days: float = DEFAULT_DAYS) -> None:
        self.description = f"Redis at {masked_url(url)}"
        self.days = days
        self.ttl_s = max(1, round(days * 86400))
        self._where = masked_url(url)
        self._closed = False  # the client itself would reconnect after close()
        try:
            self._client = redis.Redis.from_url(
                url, socket_timeout=TIMEOUT_S, socket_connect_timeout=TIMEOUT_S,
                health_check_interval=HEALTH_CHECK_S, decode_responses=True,
                retry=Retry(NoBackoff(), 1, supported_errors=(redis.exceptions.ConnectionError,)))
        except ValueError as exc:  # an unreadable port, database number or option
            reason = f"{URL_ENV} is not a Redis URL that can be read ({self._where})"
            raise StoreRefused(f"Saving is off because a setting can't be read ({reason}): "
                               f"{WORK_STAYS}.", reason) from exc

    def ping(self) -> None:
        """Raise StoreUnavailable (within about 2 s) if the server can't be reached,
        StoreRefused if it refuses the URL's credentials."""
        with self._failures():
            self._client.ping()

    def load(self, session: str) -> dict[str, str]:
        key = KEY_PREFIX + check_session(session)
        with self._failures():
            # One round trip, but no MULTI: Redis refuses every command queued in a MULTI
            # once its memory is full, and what was saved must stay readable then.
            pipe = self._client.pipeline(transaction=False)
            pipe.hgetall(key)
            pipe.expire(key, self.ttl_s)
            values, _ = pipe.execute()
        return dict(values)

    def save(self, session: str, changed: Mapping[str, str], removed: Iterable[str] = ()) -> None:
        key = KEY_PREFIX + check_session(session)
        changed, removed = check_changes(changed, removed)
        with self._failures():
            pipe = self._client.pipeline(transaction=True)
            if changed:  # HSET and HDEL refuse an empty list
                pipe.hset(key, mapping=changed)
            if removed:
                pipe.hdel(key, *removed)
            pipe.expire(key, self.ttl_s)
            pipe.execute()

    def sweep(self, now: float | None = None) -> int:
        return 0  # the keys' TTL does it

    def close(self) -> None:
        self._closed = True
        try:
            self._client.close()
        except Exception:  # noqa: BLE001 - closing must not fail the caller
            pass

    @contextmanager
    def _failures(self) -> Iterator[None]:
        """Whatever fails inside becomes a StoreError in our words (see the module's note)."""
        errors = redis.exceptions
        if self._closed:
            raise _error(StoreUnavailable, "it is closed")
        try:
            yield
        except StoreError:
            raise
        except (errors.AuthenticationError, errors.AuthorizationError,
                errors.NoPermissionError) as exc:
            raise _error(StoreRefused, "the Redis server refused the app's credentials",
                         f"The operator can check the password in {URL_ENV}.") from exc
        except errors.OutOfMemoryError as exc:
            raise _error(StoreFull, "the Redis server is out of memory") from exc
        except errors.TimeoutError as exc:
            raise _error(StoreUnavailable,
                         f"no answer from {self._where} within {TIMEOUT_S} s") from exc
        except errors.InvalidResponse as exc:  # the URL points at another kind of server
            raise _error(StoreRefused, f"what answers at {self._where} is not a Redis server",
                         f"The operator can check {URL_ENV}.") from exc
        except (errors.ConnectionError, errors.ReadOnlyError, OSError) as exc:
            raise _error(StoreUnavailable, f"{self._where} can't be reached") from exc
        except errors.ResponseError as exc:
            if str(exc).startswith("OOM"):
                raise _error(StoreFull, "the Redis server is out of memory") from exc
            raise _error(StoreError, f"the Redis server answered {type(exc).__name__}") from exc
        except Exception as exc:  # noqa: BLE001 - nothing else may escape a store
            raise _error(StoreError, f"the Redis client raised {type(exc).__name__}") from exc


def _error(kind: type[StoreError], reason: str, advice: str = "") -> StoreError:
    state = _STATES.get(kind, "failed")
    message = f"The session store {state} ({reason}): {WORK_STAYS}."
    return kind(f"{message} {advice}".rstrip(), reason)


_STATES = {StoreFull: "is full", StoreRefused: "can't be used", StoreUnavailable: "is not available"}
