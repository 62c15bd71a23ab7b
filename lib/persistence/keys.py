"""Which session values are saved, how each is checked on the way back, and which are shared.

A value comes back from the store (or from a link somebody sent) into ``st.session_state``,
where a widget then reads it. Streamlit resets an option widget given a value that is not
one of its options, but a slider given a string, or a number beyond its bounds, raises, so
every saved value has a ``restore`` check that either returns what may go into the session
or raises ValueError (the value is then left out, and the widget shows its default).

Two kinds of value:
- a **setting** is a widget's value. Streamlit forgets a widget's value when the page
  without that widget runs, so a setting stays in the store while the student is on another
  page and is put back when it is missing from the session;
- **work** (a conversation, results) is the page's own data: restored when the session
  starts, and removed from the store when the page removes it (Clear conversation).

``shared`` marks what "Share this setup" puts in a link: settings and prompts, never a key,
a conversation or results.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Iterable

Check = Callable[[Any], Any]


@dataclass(frozen=True)
class SavedKey:
    name: str  # the session-state key, or the start of several (prefix=True)
    restore: Check  # checks (and may rebuild) a value coming back; raises ValueError
    save: Callable[[Any], Any] = lambda value: value  # the session value as the codec takes it
    prefix: bool = False
    setting: bool = True  # a widget's value (else work: the page's own data)
    shared: bool = False
    page: str | None = None  # the lesson it belongs to (None: every page's sidebar)
    label: str = ""  # what it is, for a message ("the conversation")
    # For a result the page replaces with a new object for each click, and that only grows
    # while its run goes on (an interrupted run's thread may still add to it): a cheap
    # summary of how far it got. The value is encoded again only when its object or its
    # version changes, not on every run (a base vs instruct run with every token's
    # candidates is ~1 MB of JSON, ~100 ms to encode).
    version: Callable[[Any], Any] | None = None

    def matches(self, key: str) -> bool:
        return key.startswith(self.name) if self.prefix else key == self.name


class SavedKeys:
    """The app's saved keys; an exact name wins over a prefix, a longer prefix over a shorter."""

    def __init__(self, keys: Iterable[SavedKey]) -> None:
        self._exact = {k.name: k for k in keys if not k.prefix}
        self._prefixes = sorted((k for k in keys if k.prefix), key=lambda k: -len(k.name))

    def find(self, key: str) -> SavedKey | None:
        if key in self._exact:
            return self._exact[key]
        return next((k for k in self._prefixes if k.matches(key)), None)

    def shared_on(self, page: str) -> Callable[[str], bool]:
        """Whether a key goes into a link shared from ``page``."""
        def shared(key: str) -> bool:
            spec = self.find(key)
            return spec is not None and spec.shared and spec.page in (None, page)
        return shared


# --- checks for widget values -----------------------------------------------------------------

def text(max_chars: int = 200_000) -> Check:
    def check(value: Any) -> str:
        if not isinstance(value, str) or len(value) > max_chars:
            raise ValueError("not a text of the right size")
        return value
    return check


def flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("not true or false")
    return value


def number(low: float, high: float, whole: bool = False, optional: bool = False) -> Check:
    """A number inside [low, high] (a whole one if ``whole``; None too if ``optional``)."""
    def check(value: Any) -> int | float | None:
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError("not a number")
        if whole and (not float(value).is_integer()):
            raise ValueError("not a whole number")
        if not (math.isfinite(value) and low <= value <= high):
            raise ValueError("out of range")
        return int(value) if whole else value
    return check


def choice(value: Any) -> Any:
    """An option widget's value: a plain scalar (an unknown option resets the widget)."""
    if value is not None and not isinstance(value, (str, int, float, bool)):
        raise ValueError("not an option")
    return value


def choices(value: Any) -> list:
    """A multiselect's or multi-pills' values."""
    if not isinstance(value, list) or len(value) > 1000:
        raise ValueError("not a list of options")
    return [choice(item) for item in value]

