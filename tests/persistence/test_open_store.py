"""open_store reads LAB_STORE_URL, LAB_STORE_DAYS and LAB_STORE_MAX_MB: where the default
file goes, the URLs it takes, and settings it can't read."""

from __future__ import annotations

import stat
import tempfile
from pathlib import Path

import pytest

from lib.persistence.redis_store import RedisStore
from lib.persistence.sqlite_store import SQLiteStore
from lib.persistence.store import StoreDamaged, StoreFull, StoreRefused, open_store
from tests.persistence.conftest import session_id

ALICE = session_id("alice's browser")
CANARY = "s3cr3t-canary"


def test_by_default_a_file_in_lab_cache_dir(tmp_path: Path) -> None:
    store = open_store({"LAB_CACHE_DIR": str(tmp_path / "cache")})
    assert isinstance(store, SQLiteStore)
    assert store.path == tmp_path / "cache" / "sessions.sqlite3"  # beside the models there
    assert store.description == f"SQLite file {tmp_path / 'cache' / 'sessions.sqlite3'}"
    assert store.days == 7
    store.close()


def test_else_in_the_user_cache_folder(tmp_path: Path) -> None:
    store = open_store({"XDG_CACHE_HOME": str(tmp_path / "xdg")})
    assert store.path == tmp_path / "xdg" / "hosted-llm-lab" / "sessions.sqlite3"
    assert stat.S_IMODE(store.path.parent.stat().st_mode) == 0o700
    store.close()


def test_a_refused_folder_is_skipped_and_if_all_are_each_is_named(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))  # the system's temp folder
    user_folder = tmp_path / "xdg" / "hosted-llm-lab"
    user_folder.mkdir(parents=True)
    user_folder.chmod(0o775)
    environ = {"XDG_CACHE_HOME": str(tmp_path / "xdg")}
    store = open_store(environ)
    assert store.path == tmp_path / "tmp" / "hosted-llm-lab" / "sessions.sqlite3"
    store.close()
    store.path.parent.chmod(0o777)
    with pytest.raises(StoreRefused) as refused:
        open_store(environ)
    message = str(refused.value)
    assert message.startswith(
        f"The session store could not be opened (the folder {user_folder} is not used: other "
        f"users may write in it; the folder {tmp_path / 'tmp' / 'hosted-llm-lab'} is not used: ")
    assert "LAB_STORE_URL" in message and "won't survive a reload" in message


def test_a_damaged_default_file_is_not_skipped(tmp_path: Path) -> None:
    # Falling back to the next folder would quietly split the class's work over two files.
    (tmp_path / "sessions.sqlite3").write_bytes(b"not a database" * 1000)
    with pytest.raises(StoreDamaged, match="damaged"):
        open_store({"LAB_CACHE_DIR": str(tmp_path)})


def test_sqlite_urls_absolute_and_relative(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = open_store({"LAB_STORE_URL": f"sqlite:///{tmp_path}/store/lab.sqlite3"})
    assert store.path == tmp_path / "store" / "lab.sqlite3"
    store.close()
    monkeypatch.chdir(tmp_path)
    store = open_store({"LAB_STORE_URL": "sqlite:///relative/lab.sqlite3"})
    assert store.path == tmp_path / "relative" / "lab.sqlite3"
    store.save(ALICE, {"a": "1"})
    store.close()


def test_redis_url(redis_url: str) -> None:
    store = open_store({"LAB_STORE_URL": redis_url, "LAB_STORE_DAYS": "2",
                        "LAB_STORE_MAX_MB": "not read for Redis"})
    assert isinstance(store, RedisStore) and store.description == f"Redis at {redis_url}"
    assert store.ttl_s == 2 * 86400
    store.close()


@pytest.mark.parametrize("off", ["off", "OFF", " off "])
def test_off_means_no_store(off: str) -> None:
    assert open_store({"LAB_STORE_URL": off}) is None


def test_the_settings_are_used(tmp_path: Path) -> None:
    store = open_store({"LAB_CACHE_DIR": str(tmp_path), "LAB_STORE_DAYS": "0.5",
                        "LAB_STORE_MAX_MB": "0.25"})
    assert store.days == 0.5
    with pytest.raises(StoreFull):
        store.save(ALICE, {"messages": "x" * 400_000})
    store.close()


@pytest.mark.parametrize(("setting", "value"), [
    ("LAB_STORE_URL", f"postgres://lab:{CANARY}@db/lab"),
    ("LAB_STORE_URL", "sqlite://lab.sqlite3"),
    ("LAB_STORE_URL", "sqlite:///"),
    ("LAB_STORE_URL", "/var/lib/lab/sessions.sqlite3"),
    ("LAB_STORE_URL", f"redis://:{CANARY}@host:port/0"),
    ("LAB_STORE_DAYS", "a week"),
    ("LAB_STORE_DAYS", "0"),
    ("LAB_STORE_DAYS", "-3"),
    ("LAB_STORE_DAYS", "nan"),
    ("LAB_STORE_DAYS", "inf"),
    ("LAB_STORE_DAYS", "99999"),
    ("LAB_STORE_MAX_MB", "512MB"),
    ("LAB_STORE_MAX_MB", "0"),
    ("LAB_STORE_MAX_MB", "inf"),
])
def test_a_setting_that_cant_be_read_is_named(tmp_path: Path, setting: str, value: str) -> None:
    with pytest.raises(StoreRefused) as refused:
        open_store({"LAB_CACHE_DIR": str(tmp_path), setting: value})
    message = str(refused.value)
    assert setting in message and "won't survive a reload" in message
    assert CANARY not in message
    if setting != "LAB_STORE_URL":
        assert repr(value) in message
    assert not list(tmp_path.iterdir())  # nothing was created
