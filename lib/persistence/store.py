"""Where each browser session's work is kept between reloads, and what can go wrong with it.

A store maps a session (the sha256 of the browser's id, computed by the caller: the raw id
never reaches the store, nor its files or logs) to named JSON texts (session_state keys and
their values; the store does not parse them). Two kinds, one small surface:

- SQLite, the default: one file in the app's private cache folder. A shared deployment is one
  process (Community Cloud), so that is all it needs, with nothing to run or configure.
- Redis (``LAB_STORE_URL=redis://…``), when several replicas serve one class.

Saving is a convenience: when the store fails, the app carries on with the work in the tab.
So every failure is a StoreError whose text can go straight onto a student's screen (what
happened, and that the work stays in this tab only), and no other exception escapes a store
(except ValueError/TypeError for arguments the caller got wrong: a bug, not a failure).

Settings (environment): ``LAB_STORE_URL`` (empty: SQLite in the cache folder; ``sqlite:///path``;
``redis://`` or ``rediss://``; ``off``: no store), ``LAB_STORE_DAYS`` (a session is kept this
long after its last use, default 7), ``LAB_STORE_MAX_MB`` (SQLite: the most the file may grow
to, default 512).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Protocol

from lib.cache_folder import app_cache_root

URL_ENV = "LAB_STORE_URL"
DAYS_ENV = "LAB_STORE_DAYS"
MAX_MB_ENV = "LAB_STORE_MAX_MB"
DEFAULT_DAYS = 7.0
MAX_DAYS = 3650.0  # ten years: beyond that a typo, and Redis TTLs stay far from overflowing
DEFAULT_MAX_MB = 512.0
FILE_NAME = "sessions.sqlite3"
MAX_NAME_LENGTH = 200

# The end of every message a student may see: the app carries on, only the reload is lost.
WORK_STAYS = "your work stays in this tab but won't survive a reload"

_SESSION = re.compile(r"[0-9a-f]{64}")


class StoreError(RuntimeError):
    """The store can't be used right now. ``str(exc)`` is one or two plain sentences for the
    operator (the log, the operator's view): what happened, where, and what to do; it never
    contains a password (a Redis URL's is masked). ``for_students`` is the sentence for a
    student's screen, without paths or hosts. ``reason`` is the short cause alone."""

    state = "failed"  # what happened to the store, in the student's sentence

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason

    def for_students(self) -> str:
        return (f"Your work is not being saved on the server right now (the session store "
                f"{self.state}): it stays in this tab, but a reload would lose it.")


class StoreFull(StoreError):
    """The disk, the file's size limit (LAB_STORE_MAX_MB) or Redis's memory is full."""

    state = "is full"


class StoreDamaged(StoreError):
    """The store's file is corrupt (not a database, malformed)."""

    state = "is damaged"


class StoreRefused(StoreError):
    """The store was not used: a file or folder another user owns or may write to, or a
    setting that can't be read."""

    state = "can't be used"


class StoreUnavailable(StoreError):
    """The server is down or slow, or the file stayed locked too long; may pass."""

    state = "can't be reached"


class SessionStore(Protocol):
    description: str  # for the operator, e.g. "SQLite file /x/sessions.sqlite3" (no password)

    def load(self, session: str) -> dict[str, str]:
        """Everything saved for ``session`` (name -> JSON text), {} if nothing is; restarts
        the session's expiry."""
        ...

    def save(self, session: str, changed: Mapping[str, str], removed: Iterable[str] = ()) -> None:
        """Write ``changed`` and delete ``removed`` in one atomic step; restarts the expiry."""
        ...

    def sweep(self, now: float | None = None) -> int:
        """Delete sessions untouched for more than the store's days; how many went."""
        ...

    def close(self) -> None: ...


def check_session(session: str) -> str:
    """``session`` if it is a sha256 in lowercase hex, else ValueError: anything else means
    the caller passed the browser's raw id (which must never be stored) or garbage."""
    if not isinstance(session, str) or not _SESSION.fullmatch(session):
        raise ValueError("a session is the sha256 (64 lowercase hex digits) of the browser's id")
    return session


def check_changes(changed: Mapping[str, str],
                  removed: Iterable[str]) -> tuple[dict[str, str], list[str]]:
    """The arguments of ``save`` as a dict and a list, checked (ValueError/TypeError)."""
    changed, removed = dict(changed), list(removed)
    for name in [*changed, *removed]:
        if not (isinstance(name, str) and 0 < len(name) <= MAX_NAME_LENGTH
                and name.isascii() and name.isprintable()):
            raise ValueError(f"a saved name is printable ASCII, 1 to {MAX_NAME_LENGTH} "
                             f"characters: {name!r:.80}")
    for name, value in changed.items():
        if not isinstance(value, str):
            raise TypeError(f"{name!r} must be saved as JSON text, not {type(value).__name__}")
    if both := set(changed) & set(removed):
        raise ValueError(f"saved and removed at once: {', '.join(sorted(both))}")
    return changed, removed


def open_store(environ: Mapping[str, str] | None = None) -> SessionStore | None:
    """The store the settings ask for, opened and checked. None when ``LAB_STORE_URL=off``
    (the caller keeps work in memory and says nothing). Raises a StoreError subclass whose
    message says what is wrong (a refused folder, a damaged file, a server that is down);
    with Redis it fails within about 2 s when the server can't be reached."""
    environ = os.environ if environ is None else environ
    url = environ.get(URL_ENV, "").strip()
    if url.lower() == "off":
        return None
    days = _number_setting(environ, DAYS_ENV, DEFAULT_DAYS, MAX_DAYS)
    if url.startswith(("redis://", "rediss://")):
        from lib.persistence.redis_store import RedisStore

        store = RedisStore(url, days)
        store.ping()
        return store
    if url and not url.startswith("sqlite:"):
        raise _bad_setting(URL_ENV, "empty, off, sqlite:///file, redis://… or rediss://…",
                           _scheme_only(url))
    max_mb = _number_setting(environ, MAX_MB_ENV, DEFAULT_MAX_MB, math.inf)
    if not url:
        return _open_default_sqlite(environ, days, max_mb)
    from lib.persistence.sqlite_store import SQLiteStore

    return SQLiteStore(_sqlite_path(url), days, max_mb)


def _open_default_sqlite(environ: Mapping[str, str], days: float, max_mb: float) -> SessionStore:
    """The SQLite file in the first of the app's cache folders that we may use. A refused
    folder (another user's, a read-only home) is skipped; a damaged or full file is not
    (the work would silently split across two files)."""
    from lib.persistence.sqlite_store import SQLiteStore

    reasons = []
    for folder in app_cache_root(environ):
        try:
            return SQLiteStore(folder / FILE_NAME, days, max_mb)
        except StoreRefused as exc:  # the reason names the folder or file, or SQLite's words
            reasons.append(exc.reason if str(folder) in exc.reason else f"{folder}: {exc.reason}")
    reason = "; ".join(reasons)
    raise StoreRefused(f"The session store could not be opened ({reason}): {WORK_STAYS}. "
                       f"The operator can set LAB_CACHE_DIR or {URL_ENV} to a folder of their own.",
                       reason)


def _sqlite_path(url: str) -> Path:
    """``sqlite:////abs/file`` -> /abs/file, ``sqlite:///relative`` -> relative (to the current
    folder), as SQLAlchemy spells them."""
    path = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else ""
    if not path.strip() or "?" in path:
        raise _bad_setting(URL_ENV, "sqlite:///relative/file or sqlite:////absolute/file",
                           repr(url[:80]))  # no password in a SQLite URL: quoted whole
    return Path(os.path.abspath(Path(path).expanduser()))


def _number_setting(environ: Mapping[str, str], name: str, default: float, most: float) -> float:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and 0 < value <= most):
        upper = "" if math.isinf(most) else f" up to {most:g}"
        raise _bad_setting(name, f"a positive number{upper}", repr(raw[:40]))
    return value


def _bad_setting(name: str, expected: str, got: str) -> StoreRefused:
    reason = f"{name} must be {expected}, not {got}"
    return StoreRefused(f"Saving is off because a setting can't be read ({reason}): "
                        f"{WORK_STAYS}.", reason)


def _scheme_only(url: str) -> str:
    """How a refused URL is quoted: its scheme only (the rest may hold a password)."""
    scheme, sep, _ = url.partition("://")
    if sep:
        return f"a URL starting {scheme[:20] + '://'!r}"
    return "a value without a scheme (a file needs sqlite:/// in front)"
