"""The Redis store against Debian's real redis-server: expiry by TTL, a server that is
down, a full server, and passwords that never show."""

from __future__ import annotations

import time

import pytest
import redis

from lib.persistence.redis_store import KEY_PREFIX, RedisStore, masked_url
from lib.persistence.store import StoreFull, StoreRefused, StoreUnavailable, open_store
from tests.persistence.conftest import session_id
from tests.servers.processes import free_port

ALICE = session_id("alice's browser")
CANARY = "s3cr3t-canary"
DAY = 86400


def test_each_session_is_one_hash_that_expires_days_after_its_last_use(redis_url: str) -> None:
    store = RedisStore(redis_url, days=7)
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    key = KEY_PREFIX + ALICE
    store.save(ALICE, {"messages": "[]", "model": '"smol"'})
    assert client.hgetall(key) == {"messages": "[]", "model": '"smol"'}
    assert 7 * DAY - 2 <= client.ttl(key) <= 7 * DAY
    client.expire(key, 100)  # as if the week had nearly passed
    assert store.load(ALICE) == {"messages": "[]", "model": '"smol"'}
    assert client.ttl(key) >= 7 * DAY - 2  # the visit restarted it
    client.expire(key, 100)
    store.save(ALICE, {}, removed=["model"])
    assert client.ttl(key) >= 7 * DAY - 2  # and so does a save
    assert store.sweep() == 0  # Redis expires keys itself
    store.close()
    client.close()


def test_fractional_days_become_seconds(redis_url: str) -> None:
    store = RedisStore(redis_url, days=0.5)
    store.save(ALICE, {"a": "1"})
    assert 0.5 * DAY - 2 <= redis.Redis.from_url(redis_url).ttl(KEY_PREFIX + ALICE) <= 0.5 * DAY
    store.close()


def test_a_server_that_is_down_is_reported_within_seconds() -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"  # nobody listens there
    started = time.monotonic()
    with pytest.raises(StoreUnavailable) as down:
        open_store({"LAB_STORE_URL": url})
    assert time.monotonic() - started < 3
    assert str(down.value) == (f"The session store is not available ({url} can't be reached): "
                               "your work stays in this tab but won't survive a reload.")


def test_a_server_out_of_memory_refuses_saves_and_still_loads(redis_url: str) -> None:
    store = RedisStore(redis_url)
    store.save(ALICE, {"messages": "[1]"})
    client = redis.Redis.from_url(redis_url)
    client.config_set("maxmemory-policy", "noeviction")
    client.config_set("maxmemory", 1)  # below what it already uses: every write is refused
    try:
        with pytest.raises(StoreFull) as full:
            store.save(ALICE, {"messages": "[1, 2]" * 100_000})
        assert str(full.value) == ("The session store is full (the Redis server is out of memory): "
                                   "your work stays in this tab but won't survive a reload.")
        assert store.load(ALICE) == {"messages": "[1]"}  # what was saved can still be read
    finally:
        client.config_set("maxmemory", 0)
        client.close()
    store.close()


def test_the_password_never_shows(start_redis) -> None:
    url = start_redis("--requirepass", CANARY)
    port = url.rsplit(":", 1)[1].split("/")[0]
    right = f"redis://:{CANARY}@127.0.0.1:{port}/0"
    store = open_store({"LAB_STORE_URL": right})
    assert store.description == f"Redis at redis://:***@127.0.0.1:{port}/0"
    store.save(ALICE, {"a": "1"})
    assert store.load(ALICE) == {"a": "1"}
    store.close()

    failures = []
    for wrong in (f"redis://:{CANARY}-wrong@127.0.0.1:{port}/0",
                  f"redis://default:{CANARY}-wrong@127.0.0.1:{port}/0"):
        with pytest.raises(StoreRefused, match="refused the app's credentials") as refused:
            open_store({"LAB_STORE_URL": wrong})
        failures.append(refused.value)
    with pytest.raises(StoreRefused):  # no password at all
        open_store({"LAB_STORE_URL": f"redis://127.0.0.1:{port}/0"})
    down = f"redis://:{CANARY}@127.0.0.1:{free_port()}/0"
    with pytest.raises(StoreUnavailable) as unavailable:
        open_store({"LAB_STORE_URL": down})
    failures.append(unavailable.value)
    with pytest.raises(StoreRefused) as unreadable:
        open_store({"LAB_STORE_URL": f"redis://:{CANARY}@127.0.0.1:port/0"})
    failures.append(unreadable.value)
    for failure in failures:
        assert CANARY not in str(failure) and CANARY not in failure.reason
        assert CANARY not in repr(failure)
        assert "won't survive a reload" in str(failure)


@pytest.mark.parametrize(("url", "shown"), [
    ("redis://:pw@host:6379/0", "redis://:***@host:6379/0"),
    ("rediss://user:pw@host/1", "rediss://user:***@host/1"),
    ("redis://pw@host", "redis://***@host"),  # a lone user part may well be a password
    ("redis://host/0?password=pw&socket_timeout=1", "redis://host/0?password=***&socket_timeout=1"),
    ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
])
def test_masked_urls(url: str, shown: str) -> None:
    assert masked_url(url) == shown
