"""Fixtures for the session store's and the shared ledger's tests: a real redis-server, and
stores of both kinds.

- redis_server   URL of Debian's redis-server, started once per test run (fails, never skips,
                 when redis-server is missing: CI installs it with scripts/setup.sh dev)
- redis_url      the same URL, its data flushed before each test
- start_redis    factory: start_redis("--requirepass", "x", port=None) -> URL of a server of the
                 test's own
- store          a SQLiteStore in tmp_path, then a RedisStore on redis_url (parametrized)
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from lib.persistence.redis_store import RedisStore
from lib.persistence.sqlite_store import SQLiteStore
from lib.persistence.store import SessionStore
from tests.persistence import redis_server as redis_helper
from tests.servers.processes import ServerUrl


def session_id(name: str) -> str:
    """What the caller stores under: the sha256 of a browser's id."""
    return hashlib.sha256(name.encode()).hexdigest()


def _start(folder: Path, *options: str, port: int | None = None) -> tuple[object, ServerUrl]:
    try:
        return redis_helper.start_redis(folder, *options, port=port)
    except FileNotFoundError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerUrl]:
    server, url = _start(tmp_path_factory.mktemp("redis"))
    yield url
    server.stop()


@pytest.fixture
def redis_url(redis_server: ServerUrl) -> ServerUrl:
    client = redis.Redis.from_url(redis_server)
    try:
        client.flushall()
        client.config_set("maxmemory", 0)  # as a test that filled it may have left it
    finally:
        client.close()
    return redis_server


@pytest.fixture
def start_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., ServerUrl]]:
    servers = []

    def start(*options: str, port: int | None = None) -> ServerUrl:
        server, url = _start(tmp_path_factory.mktemp("redis-own"), *options, port=port)
        servers.append(server)
        return url

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(params=["sqlite", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SessionStore]:
    if request.param == "sqlite":
        opened: SessionStore = SQLiteStore(tmp_path / "sessions.sqlite3")
    else:
        opened = RedisStore(request.getfixturevalue("redis_url"))
        opened.ping()
    yield opened
    opened.close()
