"""A shared setup as a link: the page's settings and prompts packed into ``?setup=``.

An instructor clicks "Share this setup" and the class opens the same page, prompt, model,
knobs and schema. The link holds only what lib/what_is_saved.py marks as shared: never a
key, a conversation or results. Compact (JSON, zlib, base64url) so the QR code of a long
prompt still scans. A link is untrusted input: it is size-checked before and after
unpacking, and every value in it is checked like a saved one before it reaches a widget.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import zlib
from typing import Any
from urllib.parse import urlencode

PARAM = "setup"
MAX_TOKEN_CHARS = 16_000  # browsers take far longer URLs; a QR code stops scanning before
MAX_UNPACKED_BYTES = 256_000


class SetupLinkError(ValueError):
    """A link that is not a setup (cut short, edited, from elsewhere); says so in one line."""


class SetupTooLong(ValueError):
    """A setup too long to share as a link (a very long prompt or schema)."""


def pack(values: dict[str, Any]) -> str:
    data = json.dumps(values, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(zlib.compress(data.encode(), 9)).decode().rstrip("=")


def unpack(token: str) -> dict[str, Any]:
    if not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS:
        raise SetupLinkError("This setup link is too long to be one of ours.")
    try:
        packed = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        inflater = zlib.decompressobj()
        data = inflater.decompress(packed, MAX_UNPACKED_BYTES)
        if inflater.unconsumed_tail or not inflater.eof:
            raise SetupLinkError("This setup link is damaged or too big to open.")
        values = json.loads(data)
    except (binascii.Error, ValueError, zlib.error, RecursionError) as exc:
        if isinstance(exc, SetupLinkError):
            raise
        raise SetupLinkError("This setup link is damaged (cut short or edited?): "
                             "the page opened with its usual settings.") from None
    if not isinstance(values, dict):
        raise SetupLinkError("This setup link holds no settings.")
    return values


def setup_url(page_url: str, values: dict[str, Any]) -> str:
    """The link; SetupTooLong if it would be longer than a link opens (``unpack``'s limit)."""
    token = pack(values)
    if len(token) > MAX_TOKEN_CHARS:
        raise SetupTooLong(f"This setup is too long to share as a link ({len(token):,} "
                           f"characters packed; at most {MAX_TOKEN_CHARS:,}): shorten the "
                           "longest prompt or schema, or share it as a file.")
    return f"{page_url}?{urlencode({PARAM: token})}"


def qr_png(url: str) -> bytes:
    """The link as a QR code (PNG), big enough to scan from the back of a room; ValueError
    (segno's DataOverflowError) when it holds more than a QR code can (~2.9 kB)."""
    import segno

    out = io.BytesIO()
    segno.make(url, error="l").save(out, kind="png", scale=6, border=2)
    return out.getvalue()
