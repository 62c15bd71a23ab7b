"""Does a model take ``json_schema``? Ask the provider where it says (OpenRouter lists
``supported_parameters`` per model in GET /models); elsewhere the answer is "unknown", and
the request itself tells (a 400 leads to JSON mode, see modes.run_mode)."""

from __future__ import annotations

import threading
import time

import openai

from lib.config import Endpoint
from lib.models.engine import LocalServer, running_server

CACHE_SECONDS = 300.0
_cache: dict[str, tuple[float, dict[str, tuple[str, ...]]]] = {}
_lock = threading.Lock()


def _parameters_by_model(base_url: str, api_key: str | None,
                         timeout_s: float) -> dict[str, tuple[str, ...]]:
    with openai.OpenAI(base_url=base_url, api_key=api_key or "no-key-needed", max_retries=0,
                       timeout=timeout_s) as client:
        listed = client.models.list().data
    found = {}
    for model in listed:
        params = (model.model_extra or {}).get("supported_parameters")
        if isinstance(params, list):
            found[model.id] = tuple(str(p) for p in params)
    return found


def json_schema_support(base_url: str, api_key: str | None, model: str,
                        timeout_s: float = 3.0) -> bool | None:
    """True or False when the provider lists the model's parameters, None when it does not
    (or could not be asked). Cached per base URL for five minutes, shared by sessions: the
    list is the same for everyone, and it never holds a key."""
    now = time.monotonic()
    with _lock:
        hit = _cache.get(base_url)
    if hit is None or hit[0] < now:
        try:
            table = _parameters_by_model(base_url, api_key, timeout_s)
            ttl = CACHE_SECONDS
        except Exception:  # unknown, not an error: the request will tell
            table, ttl = {}, 10.0
        with _lock:
            _cache[base_url] = (now + ttl, table)
        hit = (now + ttl, table)
    params = hit[1].get(model)
    if params is None:
        return None
    return "structured_outputs" in params or "json_schema" in params


def local_engine(endpoint: Endpoint) -> LocalServer | None:
    """The built-in llama.cpp engine this (connected) endpoint talks to, or None when it
    is some other server. llama.cpp turns any JSON Schema into a grammar, and its own
    endpoints show the model's candidates for the next token."""
    for model_id in endpoint.suggested_models:
        server = running_server(model_id)
        if server is not None and server.base_url == endpoint.base_url:
            return server
    return None
