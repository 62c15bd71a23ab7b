"""Which browser this is: an unguessable id in a cookie, and the store's name for it.

The id is 128 random bits (``secrets.token_urlsafe(16)``: 22 characters). It lives in a
cookie, not in the URL, so a link copied from the address bar (or a shared setup) never
carries it: whoever opens the link gets a session of their own. The store never sees the
id itself, only its sha256, so neither the store file nor Redis lists an id that would
open somebody's work, and a cookie made up or edited by hand finds nothing but an empty
session.
"""

from __future__ import annotations

import hashlib
import re
import secrets

COOKIE = "hll_browser"
_SHAPE = re.compile(r"[A-Za-z0-9_-]{22}")


def new_browser_id() -> str:
    return secrets.token_urlsafe(16)


def parse_browser_id(raw: object) -> str | None:
    """The id if ``raw`` has the shape of one we make, else None (absent or tampered)."""
    return raw if isinstance(raw, str) and _SHAPE.fullmatch(raw) else None


def session_key(browser_id: str) -> str:
    """The store's name for this browser's work: 64 hex characters."""
    return hashlib.sha256(f"hosted-llm-lab/{browser_id}".encode()).hexdigest()


def cookie_script(browser_id: str, days: float) -> str:
    """JavaScript that sets the cookie in the page (Streamlit reads cookies, never sets
    them). Lax: sent when a student follows a link to the app; Secure on https."""
    if parse_browser_id(browser_id) is None:  # nothing but the id's own characters in a script
        raise ValueError("not a browser id")
    max_age = int(days * 86400)
    return ("<script>document.cookie = "
            f"'{COOKIE}={browser_id}; Max-Age={max_age}; Path=/; SameSite=Lax' + "
            "(location.protocol === 'https:' ? '; Secure' : '');</script>")
