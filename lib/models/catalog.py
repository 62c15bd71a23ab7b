"""Which models an endpoint offers: GET /v1/models, briefly cached, never blocking long."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from lib.chat.providers import ChatProvider
from lib.chat.errors import describe_error

CACHE_SECONDS = 300.0


@dataclass(frozen=True)
class ModelList:
    models: tuple[str, ...]
    error: str | None = None  # why the list is empty: free-text entry is the fallback
    windows: dict[str, int] = field(default_factory=dict)  # context windows the listing gave


_cache: dict[str, tuple[float, ModelList]] = {}
_lock = threading.Lock()


def available_models(provider: ChatProvider, timeout_s: float = 3.0) -> ModelList:
    """The endpoint's model ids (cached for five minutes, failures for a few seconds)."""
    cache_key = provider.endpoint.fingerprint
    now = time.monotonic()
    with _lock:
        hit = _cache.get(cache_key)
    if hit and hit[0] > now:
        return hit[1]
    try:
        listed = provider.list_models(timeout_s=timeout_s)
        result = ModelList(tuple(listed), windows={m: w for m, w in listed.items() if w})
        ttl = CACHE_SECONDS
    except Exception as exc:
        result = ModelList((), str(describe_error(exc, provider.where, provider.inspector.redact)))
        ttl = 10.0
    with _lock:
        _cache[cache_key] = (now + ttl, result)
    return result
