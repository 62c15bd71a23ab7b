"""The default session store: one SQLite file, shared by every browser session of a process.

Why it is built this way:

- One connection and one lock per store. A shared deployment is one process, and Streamlit
  runs each browser session's script in a thread of its own: thirty students saving at once
  take turns on the lock (a save is about a millisecond), which is simpler and faster than a
  connection per thread fighting over SQLite's file lock.
- WAL journal, ``synchronous=NORMAL``: a save is one append to the log, readers never wait
  for writers, and a crash loses at most the last saves, never the file. ``busy_timeout``
  (5 s) lets several processes share the file (two apps, a test run beside the app).
- Every save and load is one ``BEGIN IMMEDIATE`` transaction, so a failed save (a full disk)
  leaves what was saved before as it was, and a load's "touch" never deadlocks a reader.
- ``LAB_STORE_MAX_MB`` is ``PRAGMA max_page_count``: past it SQLite itself refuses the write
  with SQLITE_FULL, exactly as a full disk would, and the same code handles both.
- The file holds students' work, so it is private: created 0o600 before SQLite opens it (no
  moment where it is readable by others; SQLite gives the -wal and -shm files the database
  file's mode), in a 0o700 folder. A file or folder another user owns or may write to is
  refused: whoever can write it could plant a -wal file and change what a session restores.
"""

from __future__ import annotations

import errno
import os
import random
import sqlite3
import stat
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from lib.cache_folder import make_private_dirs, unsafe_folder_reason
from lib.persistence.store import (
    DEFAULT_DAYS,
    DEFAULT_MAX_MB,
    MAX_MB_ENV,
    WORK_STAYS,
    StoreDamaged,
    StoreError,
    StoreFull,
    StoreRefused,
    StoreUnavailable,
    check_changes,
    check_session,
)

BUSY_TIMEOUT_MS = 2000  # the store lock is held meanwhile: every session of the process waits too
SWEEP_EVERY_S = 3600.0  # expired sessions are deleted at open, then after a save this often
WAL_LIMIT_BYTES = 16 << 20  # after a checkpoint the -wal file shrinks back to this
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS sessions(session TEXT PRIMARY KEY, touched REAL NOT NULL)",
    "CREATE TABLE IF NOT EXISTS saved(session TEXT, name TEXT, value TEXT,"
    " PRIMARY KEY(session, name)) WITHOUT ROWID",
)
COMPANIONS = ("-wal", "-shm")  # SQLite's files beside the database in WAL mode

# SQLite's primary result codes (the low byte of sqlite_errorcode)
SQLITE_PERM, SQLITE_BUSY, SQLITE_LOCKED, SQLITE_READONLY = 3, 5, 6, 8
SQLITE_CORRUPT, SQLITE_FULL, SQLITE_CANTOPEN, SQLITE_NOTADB = 11, 13, 14, 26


class SQLiteStore:
    """Sessions in the SQLite file at ``path`` (its folder is created private if missing),
    kept ``days`` after their last use, the file growing to ``max_mb`` at most. Opening
    checks the file (owner, mode, integrity) and raises StoreRefused, StoreDamaged or
    StoreFull; every operation after that raises StoreError subclasses only. Safe to use
    from any number of threads.

    Older sessions are deleted by ``sweep``, which the store also runs itself, at open and
    then after a save at most every ``sweep_every_s``: like Redis's TTLs, the days hold
    whether or not the app ever calls it."""

    def __init__(self, path: str | os.PathLike[str], days: float = DEFAULT_DAYS,
                 max_mb: float = DEFAULT_MAX_MB, sweep_every_s: float = SWEEP_EVERY_S) -> None:
        self.path = Path(os.path.abspath(path))
        self.days = days
        self.description = f"SQLite file {self.path}"
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._sweep_every_s = sweep_every_s
        self._next_sweep = 0.0  # time.monotonic() of the next sweep save() runs
        with self._lock, self._failures():
            _prepare_file(self.path)
            self._db = _connect(self.path, max_mb)
            _check_file(self.path)  # and the -wal/-shm files SQLite just made
        self._sweep_now_and_then()

    def load(self, session: str) -> dict[str, str]:
        check_session(session)
        with self._transaction() as db:
            rows = db.execute("SELECT name, value FROM saved WHERE session = ?",
                              (session,)).fetchall()
            db.execute("UPDATE sessions SET touched = ? WHERE session = ?", (time.time(), session))
        return dict(rows)

    def save(self, session: str, changed: Mapping[str, str], removed: Iterable[str] = ()) -> None:
        check_session(session)
        changed, removed = check_changes(changed, removed)
        with self._transaction() as db:
            db.execute("INSERT INTO sessions VALUES (?, ?) ON CONFLICT(session)"
                       " DO UPDATE SET touched = excluded.touched", (session, time.time()))
            db.executemany("INSERT INTO saved VALUES (?, ?, ?) ON CONFLICT(session, name)"
                           " DO UPDATE SET value = excluded.value",
                           [(session, name, value) for name, value in changed.items()])
            db.executemany("DELETE FROM saved WHERE session = ? AND name = ?",
                           [(session, name) for name in removed])
        self._sweep_now_and_then()

    def sweep(self, now: float | None = None) -> int:
        cutoff = (time.time() if now is None else now) - self.days * 86400
        with self._transaction() as db:
            db.execute("DELETE FROM saved WHERE session IN"
                       " (SELECT session FROM sessions WHERE touched < ?)", (cutoff,))
            return db.execute("DELETE FROM sessions WHERE touched < ?", (cutoff,)).rowcount

    def _sweep_now_and_then(self) -> None:
        now = time.monotonic()
        if now < self._next_sweep:
            return
        self._next_sweep = now + self._sweep_every_s  # two threads racing here: one more sweep
        try:
            self.sweep()
        except StoreError:
            pass  # the save itself went through; a failing store says so on the next call

    def close(self) -> None:
        with self._lock:
            db, self._db = self._db, None
            if db is not None:
                try:
                    db.close()  # the last connection also checkpoints and removes the -wal
                except sqlite3.Error:
                    pass  # nothing left to save: what failed stays in the -wal file

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction under the store's lock; rolled back if anything fails."""
        with self._lock, self._failures():
            if self._db is None:
                raise StoreUnavailable(f"The session store is closed: {WORK_STAYS}.", "closed")
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
                db.execute("COMMIT")
            except BaseException:
                _roll_back(db)
                raise

    @contextmanager
    def _failures(self) -> Iterator[None]:
        """Whatever fails inside becomes a StoreError with a message for the student."""
        try:
            yield
        except StoreError:
            raise
        except sqlite3.Error as exc:
            raise _sqlite_failure(exc, self.path) from exc
        except OSError as exc:
            raise _os_failure(exc) from exc
        except Exception as exc:  # noqa: BLE001 - nothing else may escape a store
            raise StoreError(f"The session store failed ({type(exc).__name__}): {WORK_STAYS}.",
                             type(exc).__name__) from exc


def _prepare_file(path: Path) -> None:
    """Make the folder (0o700) and the file (0o600) if missing, and check both are ours."""
    folder = path.parent
    try:
        make_private_dirs(folder)
    except OSError as exc:
        raise _refused(f"could not create {folder}: {exc.strerror or exc}") from exc
    if reason := unsafe_folder_reason(folder):
        raise _refused(f"the folder {folder} is not used: {reason}")
    # Created here with its final mode (the umask can only remove bits), so SQLite never
    # makes it with the umask's 0o644 and no other user ever has a moment to open it.
    os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600))
    _check_file(path)


def _check_file(path: Path) -> None:
    """Refuse the database, -wal or -shm file if another user owns it or may write to it;
    one of ours that others may only read is made private."""
    for file in (path, *(path.with_name(path.name + suffix) for suffix in COMPANIONS)):
        try:
            info = file.stat()
        except FileNotFoundError:
            continue  # -wal and -shm come and go with the connections
        if not stat.S_ISREG(info.st_mode):
            raise _refused(f"{file} is not a regular file")
        if info.st_uid != os.getuid():
            raise _refused(f"{file} belongs to another user (uid {info.st_uid})")
        if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            raise _refused(f"other users may write to {file} "
                           f"(mode {stat.S_IMODE(info.st_mode):o})")
        if info.st_mode & 0o077:
            os.chmod(file, 0o600)  # ours, but others could read the class's work


def _connect(path: Path, max_mb: float) -> sqlite3.Connection:
    # isolation_level=None: no transactions opened behind our back; each operation says
    # BEGIN IMMEDIATE itself. check_same_thread=False: the store's lock serialises use.
    db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                         check_same_thread=False)
    try:
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        # A damaged file fails here ("file is not a database", "malformed"); quick_check
        # finds damage further in. It reads every page, once per process: here ~30 ms per
        # 100 MB on an idle machine, ~150 ms under heavy load (bench/store_writes.py).
        problem = db.execute("PRAGMA quick_check").fetchone()[0]
        if problem != "ok":  # "*** in database main ***" and then what is wrong
            detail = next((line for line in problem.splitlines() if not line.startswith("***")),
                          problem)
            raise _damaged(f"its integrity check failed: {detail[:120]}", path)
        _switch_to_wal(db)
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute(f"PRAGMA journal_size_limit = {WAL_LIMIT_BYTES}")
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
        db.execute(f"PRAGMA max_page_count = {max(1, int(max_mb * (1 << 20)) // page_size)}")
        db.execute("BEGIN IMMEDIATE")
        for statement in SCHEMA:
            db.execute(statement)
        db.execute("COMMIT")
    except BaseException:
        _roll_back(db)
        db.close()
        raise
    return db


def _switch_to_wal(db: sqlite3.Connection) -> None:
    """``PRAGMA journal_mode = WAL``, retried while it is busy. Processes opening a new file
    together can deadlock on the switch (each holds the lock the other needs); SQLite then
    answers "database is locked" at once instead of waiting, which the busy timeout can't
    help (measured: 4 in 150 runs of 8 processes opening one new file at once)."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            db.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            busy = (getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF == SQLITE_BUSY
            if not busy or time.monotonic() > deadline:
                raise
            time.sleep(random.uniform(0.005, 0.05))  # apart, so one of them wins


def _roll_back(db: sqlite3.Connection) -> None:
    try:
        if db.in_transaction:  # SQLite may have rolled back already (after SQLITE_FULL)
            db.execute("ROLLBACK")
    except sqlite3.Error:
        pass  # the connection is unusable; the error that brought us here says why


def _sqlite_failure(exc: sqlite3.Error, path: Path) -> StoreError:
    code = getattr(exc, "sqlite_errorcode", None)
    primary = None if code is None else code & 0xFF
    text = str(exc)
    if primary == SQLITE_FULL or "disk is full" in text:
        return StoreFull(f"The session store is full ({text}): {WORK_STAYS}. The operator can "
                         f"free disk space or raise {MAX_MB_ENV}.", text)
    if primary in (SQLITE_CORRUPT, SQLITE_NOTADB) or "malformed" in text or "not a database" in text:
        return _damaged(text, path)
    if primary in (SQLITE_BUSY, SQLITE_LOCKED) or "locked" in text:
        return StoreUnavailable(f"The session store stayed busy too long ({text}): "
                                f"{WORK_STAYS}.", text)
    if primary in (SQLITE_PERM, SQLITE_READONLY, SQLITE_CANTOPEN):
        return _refused(text)
    if isinstance(exc, sqlite3.OperationalError):  # an I/O error, most likely passing
        return StoreUnavailable(f"The session store could not be read or written ({text}): "
                                f"{WORK_STAYS}.", text)
    return _damaged(text, path)


def _os_failure(exc: OSError) -> StoreError:
    text = f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else "")
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return StoreFull(f"The session store is full ({text}): {WORK_STAYS}.", text)
    return _refused(text)


def _refused(reason: str) -> StoreRefused:
    return StoreRefused(f"The session store can't be used ({reason}): {WORK_STAYS}.", reason)


def _damaged(reason: str, path: Path) -> StoreDamaged:
    return StoreDamaged(f"The session store is damaged ({reason}): {WORK_STAYS}. The operator "
                        f"can delete {path} to start a fresh store.", reason)
