"""One browser's saved work, as one Streamlit session sees it: load once, save what changed.

Streamlit-free: the caller passes the session's values (``st.session_state.to_dict()``)
after each script run, and gets back the values to put in when a new session starts. Only
keys named in the app's ``SavedKeys`` are read; each is encoded to JSON and written only
when its text changed since it was last written, so a run that changed nothing writes
nothing, and streaming an answer costs no store writes at all (the answer is saved once,
after the run that streamed it).

Failures never stop the page: a store that is down, full or damaged leaves ``problem`` set
(a sentence for the screen), the work stays in the session, and the store is tried again
after ``RETRY_S``. A value too big to keep is left out with its own sentence; the rest is
saved.

A session that could not read the store when it started never writes to it blindly: that
would put its fresh, empty page over the work a reload was meant to bring back. It keeps
trying to read it (``catch_up``); once it can, what the store holds comes back for every
key the student has not changed since, and what they did change in the meantime is saved.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any, Callable
from urllib.parse import quote, unquote

from lib.persistence.codec import Codec, Unsaveable
from lib.persistence.keys import SavedKeys
from lib.persistence.store import MAX_NAME_LENGTH, SessionStore, StoreError

MAX_VALUE_BYTES = 2_000_000  # one value (in characters): a conversation of ~2,000 long messages
MAX_SESSION_BYTES = 8_000_000  # everything one browser keeps
RETRY_S = 30.0

Stores = Callable[[], "tuple[SessionStore | None, StoreError | None]"]


class SavedSession:
    def __init__(self, stores: Stores, session_key: str, keys: SavedKeys, codec: Codec,
                 clock: Callable[[], float] = time.monotonic, new_browser: bool = False,
                 report: Callable[[StoreError], None] = lambda exc: None) -> None:
        """``stores()`` gives the process's store: (store, None), (None, why not), or
        (None, None) when saving is off. ``new_browser``: an id just made, with nothing
        saved under it (Start afresh), so there is nothing to read first."""
        self._stores = stores
        self._session_key = session_key  # the store's name for this browser (a hash of its id)
        self._keys = keys
        self._codec = codec
        self._clock = clock
        self._report = report
        self._lock = threading.Lock()  # an interrupted run and the next one may save at once
        self._loaded = new_browser  # this session knows what the store holds
        self._baseline: dict[str, str] | None = None  # the page as it started, while not loaded
        self._written: dict[str, str] = {}  # key -> the JSON text the store holds
        self._settings: dict[str, Any] = {}  # settings to put back when Streamlit forgot them
        self._encoded_results: dict[str, tuple[Any, Any, str]] = {}  # key -> (object, version, text)
        self._retry_at = 0.0
        self.problem: str | None = None  # why saving fails now (the store), for the screen
        self.too_big: dict[str, str] = {}  # key -> why it is not kept (its size)

    def load(self) -> dict[str, Any]:
        """What this browser saved, checked value by value: the values for a new session.
        A value that no longer fits (an older version's, a damaged one) is left out."""
        store, failure = self._stores()
        if failure is not None:
            self._failed(failure)
            return {}
        if store is None:  # saving is off: nothing to read, nothing will be written
            self._loaded = True
            return {}
        try:
            stored = store.load(self._session_key)
        except StoreError as exc:
            self._failed(exc)
            return {}
        values: dict[str, Any] = {}
        with self._lock:
            self._loaded, self.problem = True, None
            for name, text in stored.items():
                key = _from_store_name(name)
                spec = self._keys.find(key)
                if spec is None:
                    continue
                if len(text) > MAX_VALUE_BYTES:
                    self.too_big[key] = _too_big(spec.label or key, len(text))
                    continue
                try:
                    value = spec.restore(self._codec.loads(text))
                    version = spec.version(value) if spec.version else None
                except Exception:  # noqa: BLE001 - whatever is wrong with it, it is left out
                    continue
                values[key] = value
                self._written[key] = text
                if spec.setting:
                    self._settings[key] = value
                if spec.version:
                    self._encoded_results[key] = (value, version, text)
        return values

    def catch_up(self, state: Mapping[str, Any]) -> dict[str, Any]:
        """For a session that could not read the store when it started: try again (once per
        ``RETRY_S``). The values to put in: what the store holds, for the keys the student
        has not changed since the session started."""
        if self._loaded or self._clock() < self._retry_at:
            return {}
        values = self.load()
        if not self._loaded:
            return {}
        with self._lock:
            baseline, self._baseline = self._baseline or {}, None
            now = self._encoded(state)
            return {key: value for key, value in values.items()
                    if key not in now or now[key] == baseline.get(key)}

    def adopt(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Values from a shared link (as ``current`` gave them): each decoded and checked
        like a saved one; what passes is returned (and saved after this run, like anything
        the student set)."""
        adopted = {}
        for key, value in values.items():
            spec = self._keys.find(key) if isinstance(key, str) else None
            if spec is None or not spec.shared:
                continue
            try:
                adopted[key] = spec.restore(self._codec.decode(value))
            except Exception:  # noqa: BLE001 - a link is untrusted: a bad value is left out
                continue
        return adopted

    def forgotten_settings(self, state: Mapping[str, Any]) -> dict[str, Any]:
        """Saved settings the session no longer holds (their widget was on another page)."""
        with self._lock:
            return {key: value for key, value in self._settings.items() if key not in state}

    def current(self, state: Mapping[str, Any], wanted: Callable[[str], bool]) -> dict[str, Any]:
        """The JSON-ready values of the keys ``wanted`` picks, from the session or, for a
        setting whose widget is on another page, as last saved (for a shared link)."""
        found: dict[str, Any] = {}
        for key in [*self.forgotten_settings(state), *list(state.keys())]:
            spec = self._keys.find(key)
            if spec is None or not wanted(key):
                continue
            value = state[key] if key in state else self._settings[key]
            try:
                found[key] = self._codec.encode(spec.save(value))
            except (Unsaveable, TypeError, ValueError):
                continue
        return found

    def save(self, state: Mapping[str, Any]) -> None:
        """Write what changed since the last write (and remove work the page removed)."""
        with self._lock:
            if not self._loaded:
                if self._baseline is None:  # the page as the session started, to merge later
                    self._baseline = self._encoded(state)
                return
            texts = self._encoded(state)
            changed = {key: text for key, text in texts.items() if self._written.get(key) != text}
            removed = [key for key in self._written if key not in texts and not self._is_setting(key)]
            if not changed and not removed:
                return
            if self._clock() < self._retry_at:
                return
            store = self._store()
            if store is None:
                return
            total = sum(map(len, texts.values()))
            for key in sorted(changed, key=lambda k: len(changed[k]), reverse=True):
                if total <= MAX_SESSION_BYTES:
                    break
                self.too_big[key] = _too_big(self._label(key), len(texts[key]))
                total -= len(changed.pop(key)) - len(self._written.get(key, ""))
            try:
                store.save(self._session_key, {_to_store_name(k): v for k, v in changed.items()},
                           [_to_store_name(k) for k in removed])
            except StoreError as exc:
                self._failed(exc)
                return
            self.problem = None
            for key in removed:
                self._written.pop(key, None)
            for key, text in changed.items():
                self._written[key] = text
                if self._is_setting(key):
                    self._settings[key] = self._keys.find(key).restore(self._codec.loads(text))

    def forget(self) -> None:
        """Remove everything this browser saved (a student leaving a shared lab computer):
        what any of its tabs saved, not only what this session wrote. Best effort: the
        caller also moves the browser to a new id, so nothing left behind can come back."""
        with self._lock:
            self._written.clear()
            self._settings.clear()
            self._encoded_results.clear()
            self.too_big.clear()
            self._loaded = False  # never writes again under this id
            store = self._store()
            if store is None:
                return
            try:
                names = list(store.load(self._session_key))
                if names:
                    store.save(self._session_key, {}, names)
            except StoreError as exc:
                self._failed(exc)

    def _store(self) -> SessionStore | None:
        store, problem = self._stores()
        if problem is not None:
            self._failed(problem)
        return store

    def _encoded(self, state: Mapping[str, Any]) -> dict[str, str]:
        texts: dict[str, str] = {}
        for key in list(state.keys()):
            spec = self._keys.find(key)
            if spec is None or _to_store_name(key) is None:
                continue
            value = state[key]
            try:
                version = spec.version(value) if spec.version else None
                known = self._encoded_results.get(key)
                if known is not None and known[0] is value and known[1] == version:
                    texts[key] = known[2]
                    continue
                text = self._codec.dumps(spec.save(value))
            except (Unsaveable, AttributeError, KeyError, TypeError, ValueError):
                continue  # not (or no longer) a saveable value: the page keeps it in memory
            if len(text) > MAX_VALUE_BYTES:
                self.too_big[key] = _too_big(spec.label or key, len(text))
                if key in self._written:
                    texts[key] = self._written[key]  # keep the last copy that fitted
                continue
            if spec.version:  # the object itself is kept: its id is not reused meanwhile
                self._encoded_results[key] = (value, version, text)
            self.too_big.pop(key, None)
            texts[key] = text
        return texts

    def _is_setting(self, key: str) -> bool:
        spec = self._keys.find(key)
        return spec is not None and spec.setting

    def _label(self, key: str) -> str:
        spec = self._keys.find(key)
        return (spec.label if spec else "") or key

    def _failed(self, exc: StoreError) -> None:
        self.problem = exc.for_students()
        self._retry_at = self._clock() + RETRY_S
        self._report(exc)


# Session keys are Python strings; the store takes printable ASCII names. A key made from
# what a student typed (a pasted schema titled "Météo" gives so_question_Météo) is stored
# percent-encoded behind a "~", which no key of the app starts with.
def _to_store_name(key: str) -> str | None:
    name = key if key.isascii() and key.isprintable() and not key.startswith("~") else (
        "~" + quote(key, safe=""))
    return name if len(name) <= MAX_NAME_LENGTH else None


def _from_store_name(name: str) -> str:
    return unquote(name[1:]) if name.startswith("~") else name


def _too_big(label: str, size: int) -> str:
    return (f"{label[:1].upper()}{label[1:]} is too big to keep across a reload "
            f"({size / 1e6:.1f} MB; at most {MAX_VALUE_BYTES / 1e6:.0f} MB). It stays in this "
            "tab; a reload brings back the last copy that fitted, if any.")
