"""The request inspector: what actually went over the wire, with every secret redacted.

It plugs into httpx through event hooks, as the lecture's ``log_request`` does:
``httpx.Client(event_hooks=inspector.event_hooks())``. The request hook records the URL,
method, headers and JSON body; the response hook records status and headers and tees the
body as the client reads it, so a streamed answer shows up as the raw SSE lines it was
made of. Nothing is decoded or redacted until someone looks (``Exchange.as_dict``), which
keeps the hot path to a list append per network chunk.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

REDACTED = "••••redacted••••"
SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "api-key", "x-api-key", "cookie", "set-cookie",
     "x-goog-api-key", "openai-organization", "openai-project"}
)
# Key shapes of the common providers, caught even when we were never told the key
# (a provider echoing a key back in an error message, say).
KEY_PATTERN = re.compile(r"\b(sk-[A-Za-z0-9_\-]{6,}|sk_[A-Za-z0-9_\-]{6,}|AIza[0-9A-Za-z_\-]{20,})")
# A user name and password inside a URL (http://user:password@host/v1): a typed base URL may
# carry them, and every request line and error message would repeat them.
URL_CREDENTIALS = re.compile(r"(?<=://)[^/\s@]+@")
MAX_BODY_BYTES = 512_000


def without_credentials(url: str) -> str:
    """The URL without a user name, password or query string (a typed base URL may carry
    a key in either): what may be shown, logged or saved."""
    parts = urlsplit(url)
    if not parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


class Redactor:
    """Replaces known secret values and anything shaped like an API key."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | None) -> None:
        if secret and len(secret) >= 4:
            self._secrets.add(secret)

    def __call__(self, text: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            if secret in text:
                text = text.replace(secret, REDACTED)
        return URL_CREDENTIALS.sub(f"{REDACTED}@", KEY_PATTERN.sub(REDACTED, text))

    def headers(self, headers: Iterable[tuple[str, str]]) -> dict[str, str]:
        return {
            name: REDACTED if name.lower() in SECRET_HEADERS else self(value)
            for name, value in headers
        }


@dataclass
class Exchange:
    """One HTTP request and its response, as raw as they came."""

    method: str
    url: str
    request_headers: list[tuple[str, str]]
    request_body: bytes
    started: float = field(default_factory=time.time)
    status: int | None = None
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    response_chunks: list[bytes] = field(default_factory=list)
    truncated: bool = False

    @property
    def streamed(self) -> bool:
        return any(
            n.lower() == "content-type" and "text/event-stream" in v
            for n, v in self.response_headers
        )

    def _body_text(self) -> str:
        return b"".join(self.response_chunks).decode("utf-8", errors="replace")

    def _tail_text(self, tail_bytes: int) -> str:
        chunks = list(self.response_chunks)  # a copy: the reading thread appends
        tail: list[bytes] = []
        size = 0
        for chunk in reversed(chunks):
            tail.append(chunk)
            size += len(chunk)
            if size >= tail_bytes:
                break
        data = b"".join(reversed(tail))
        if len(tail) < len(chunks) and b"\n\n" in data:
            data = data[data.index(b"\n\n") + 2:]  # from the first whole event on
        return data.decode("utf-8", errors="replace")

    def as_dict(self, redact: Redactor, tail_bytes: int | None = None) -> dict[str, Any]:
        """A redacted, display-ready view: what the inspector panel shows.

        ``tail_bytes``: of a stream, decode and redact only about the last this many bytes
        (whole events), and count the rest: a live view redrawn several times a second
        must not redact half a megabyte each time (the regex holds the GIL for every
        session of the class)."""
        request_text = self.request_body.decode("utf-8", errors="replace")
        try:
            request_json: Any = json.loads(redact(request_text)) if request_text else None
        except json.JSONDecodeError:
            request_json = redact(request_text)
        body = redact(self._body_text() if tail_bytes is None or not self.streamed
                      else self._tail_text(tail_bytes))
        view: dict[str, Any] = {
            "request": {
                "method": self.method,
                "url": redact(self.url),
                "headers": redact.headers(self.request_headers),
                "json": request_json,
            },
            "response": {
                "status": self.status,
                "headers": redact.headers(self.response_headers),
            },
        }
        if self.streamed:
            view["response"]["sse_events"] = [e for e in body.split("\n\n") if e.strip()]
            if tail_bytes is not None:
                chunks = list(self.response_chunks)
                view["response"]["sse_event_count"] = sum(c.count(b"\n\n") for c in chunks)
        else:
            try:
                view["response"]["json"] = json.loads(body) if body else None
            except json.JSONDecodeError:
                view["response"]["text"] = body
        if self.truncated:
            view["response"]["truncated"] = True
        return view


class _TeeStream(httpx.SyncByteStream):
    """Passes the response body through to the client and keeps a copy."""

    def __init__(self, inner: httpx.SyncByteStream, exchange: Exchange) -> None:
        self._inner = inner
        self._exchange = exchange
        self._kept = 0

    def __iter__(self) -> Iterator[bytes]:
        chunks = self._exchange.response_chunks
        for chunk in self._inner:
            if self._kept < MAX_BODY_BYTES:
                chunks.append(chunk)
                self._kept += len(chunk)
            else:
                self._exchange.truncated = True
            yield chunk

    def close(self) -> None:
        self._inner.close()


class Inspector:
    """Keeps the last few exchanges of one browser session."""

    def __init__(self, keep: int = 20, secrets: Iterable[str] = ()) -> None:
        self.exchanges: deque[Exchange] = deque(maxlen=keep)
        self.redact = Redactor(secrets)
        self._lock = threading.Lock()

    def event_hooks(self) -> dict[str, list]:
        return {"request": [self._on_request], "response": [self._on_response]}

    def _on_request(self, request: httpx.Request) -> None:
        exchange = Exchange(
            method=request.method,
            url=str(request.url),
            request_headers=list(request.headers.items()),
            request_body=request.content if isinstance(request.stream, httpx.ByteStream) else b"",
        )
        request.extensions["lab_exchange"] = exchange
        with self._lock:
            self.exchanges.append(exchange)

    def _on_response(self, response: httpx.Response) -> None:
        exchange = response.request.extensions.get("lab_exchange")
        if exchange is None:
            return
        exchange.status = response.status_code
        exchange.response_headers = list(response.headers.items())
        if isinstance(response.stream, httpx.SyncByteStream):
            response.stream = _TeeStream(response.stream, exchange)

    def record(self, exchange: Exchange) -> None:
        """Add an exchange that did not go through httpx (the in-process model)."""
        with self._lock:
            self.exchanges.append(exchange)

    def mark(self) -> Exchange | None:
        """Where the record stands now: pass it to ``since`` after sending a request."""
        with self._lock:
            return self.exchanges[-1] if self.exchanges else None

    def since(self, mark: Exchange | None) -> dict[str, Any] | None:
        """The view of the exchange recorded after ``mark`` (the request just sent), or None
        when nothing was (refused before it was sent: no HTTP request was made)."""
        with self._lock:
            exchange = self.exchanges[-1] if self.exchanges else None
        return exchange.as_dict(self.redact) if exchange is not None and exchange is not mark else None

    def latest(self, tail_bytes: int | None = None) -> dict[str, Any] | None:
        with self._lock:
            exchange = self.exchanges[-1] if self.exchanges else None
        return exchange.as_dict(self.redact, tail_bytes) if exchange else None

    def history(self) -> list[dict[str, Any]]:
        with self._lock:
            exchanges = list(self.exchanges)
        return [e.as_dict(self.redact) for e in exchanges]


def answered(view: dict[str, Any] | None) -> bool:
    """Whether the exchange ``Inspector.since`` returned reached a provider that answered 200
    (what makes a request billable, even when its stream was cut afterwards)."""
    return view is not None and view["response"]["status"] == 200
