"""One browser's saved work, as one Streamlit session sees it: load once, save what changed.

Streamlit-free: the caller passes the session's values (``st.session_state`` is a mapping)
after each script run, and gets back the values to put in when a new session starts. Only
keys named in the app's ``SavedKeys`` are read; each is encoded to JSON and written only
when its text changed since it was last written, so a run that changed nothing writes
nothing, and streaming an answer costs no store writes at all (the answer is saved once,
after the run that streamed it).

Failures never stop the page: a store that is down, full or damaged leaves ``problem`` set
(a sentence for the screen), the work stays in the session, and saving is tried again after
``RETRY_S``. A value too big to keep is left out with its own sentence; the rest is saved.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any, Callable

from lib.persistence.codec import Codec, Unsaveable
from lib.persistence.keys import SavedKeys
from lib.persistence.store import SessionStore, StoreError

MAX_VALUE_BYTES = 2_000_000  # one value: a conversation of ~2,000 long messages
MAX_SESSION_BYTES = 8_000_000  # everything one browser keeps
RETRY_S = 30.0


class SavedSession:
    def __init__(self, store: SessionStore | None, session_key: str, keys: SavedKeys,
                 codec: Codec, clock: Callable[[], float] = time.monotonic) -> None:
        self._store = store
        self._session_key = session_key  # the store's name for this browser (a hash of its id)
        self._keys = keys
        self._codec = codec
        self._clock = clock
        self._lock = threading.Lock()  # an interrupted run and the next one may save at once
        self._written: dict[str, str] = {}  # key -> the JSON text the store holds
        self._settings: dict[str, Any] = {}  # settings to put back when Streamlit forgot them
        self._encoded_results: dict[str, tuple[Any, Any, str]] = {}  # key -> (object, version, text)
        self._retry_at = 0.0
        self.problem: str | None = None  # why saving fails now (the store), for the screen
        self.too_big: dict[str, str] = {}  # key -> why it is not kept (its size)

    @property
    def saving(self) -> bool:
        return self._store is not None

    def load(self) -> dict[str, Any]:
        """What this browser saved, checked value by value: the values for a new session.
        A value that no longer fits (an older version's, a damaged one) is left out."""
        if self._store is None:
            return {}
        try:
            stored = self._store.load(self._session_key)
        except StoreError as exc:
            self._failed(exc)
            return {}
        values: dict[str, Any] = {}
        with self._lock:
            for key, text in stored.items():
                spec = self._keys.find(key)
                if spec is None:
                    continue
                if len(text) > MAX_VALUE_BYTES:
                    self.too_big[key] = _too_big(spec.label or key, len(text))
                    continue
                try:
                    value = spec.restore(self._codec.loads(text))
                except Exception:  # noqa: BLE001 - whatever is wrong with it, it is left out
                    continue
                values[key] = value
                self._written[key] = text
                if spec.setting:
                    self._settings[key] = value
                if spec.version:
                    self._encoded_results[key] = (value, spec.version(value), text)
        return values

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
        if self._store is None:
            return
        with self._lock:
            texts = self._encoded(state)
            changed = {key: text for key, text in texts.items() if self._written.get(key) != text}
            removed = [key for key in self._written if key not in texts and not self._is_setting(key)]
            if not changed and not removed:
                return
            if self._clock() < self._retry_at:
                return
            if sum(map(len, texts.values())) > MAX_SESSION_BYTES:
                biggest = max(changed or texts, key=lambda key: len(texts[key]))
                self.too_big[biggest] = _too_big(self._label(biggest), len(texts[biggest]))
                changed.pop(biggest, None)
            try:
                self._store.save(self._session_key, changed, removed)
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
        what any of its tabs saved, not only what this session wrote."""
        with self._lock:
            self._written.clear()
            self._settings.clear()
            self._encoded_results.clear()
            self.too_big.clear()
            if self._store is None:
                return
            try:
                names = list(self._store.load(self._session_key))
                if names:
                    self._store.save(self._session_key, {}, names)
            except StoreError as exc:
                self._failed(exc)

    def _encoded(self, state: Mapping[str, Any]) -> dict[str, str]:
        texts: dict[str, str] = {}
        for key in list(state.keys()):
            spec = self._keys.find(key)
            if spec is None:
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
            if spec.version:  # the object itself is kept: its id is not reused meanwhile
                self._encoded_results[key] = (value, version, text)
            if len(text) > MAX_VALUE_BYTES:
                self.too_big[key] = _too_big(spec.label or key, len(text))
                if key in self._written:
                    texts[key] = self._written[key]  # keep the last copy that fitted
                continue
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
        self.problem = str(exc)
        self._retry_at = self._clock() + RETRY_S


def _too_big(label: str, size: int) -> str:
    return (f"{label[:1].upper()}{label[1:]} is too big to keep across a reload "
            f"({size / 1e6:.1f} MB; at most {MAX_VALUE_BYTES / 1e6:.0f} MB). It stays in this "
            "tab; a reload brings back the last copy that fitted, if any.")
