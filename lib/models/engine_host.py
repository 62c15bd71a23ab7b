"""Runs one shipped model on llama.cpp's own HTTP server (xllamacpp), in this process.

Two callers:
- lib/models/engine.py starts ``python -m lib.models.engine_host`` as a child of the app and
  writes its settings as one JSON line on stdin; the child answers with one JSON line on
  stdout (``base_url``, per-slot context, load time) and serves until its stdin closes,
  which happens when the app exits or dies, however it dies.
- ``python -m lib.serve`` runs it in the foreground for any OpenAI client.

The process always ends with ``os._exit``: destroying an xllamacpp server while a request is
running hangs or crashes (measured here: both, depending on the request), and a process that
holds nothing but a read-only model file has nothing to clean up.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from typing import Any

from lib.models.settings import EngineSettings
from lib.models.shipped import SHIPPED_MODELS, ShippedModel

DEFAULT_MAX_TOKENS = 512


def server_params(model: ShippedModel, settings: EngineSettings, api_key: str,
                  host: str = "127.0.0.1", port: int = 0, model_path: str | None = None) -> Any:
    import xllamacpp as xlc

    params = xlc.CommonParams()
    params.model.path = model_path or str(model.gguf_path())
    params.model_alias = {model.id}  # GET /v1/models and every response name it so
    params.hostnames = [host]
    params.port = port  # 0: the OS picks a free one; listening_address says which
    params.n_parallel = settings.slots  # sessions answered side by side, not queued
    params.n_ctx = settings.slots * settings.context_per_slot  # llama.cpp splits it per slot
    kv_type = type(params.cache_type_k)[settings.kv_cache_type]
    params.cache_type_k = kv_type
    params.cache_type_v = kv_type
    params.cpuparams.n_threads = settings.threads
    params.cpuparams_batch.n_threads = settings.threads
    # A request that sets no max_tokens (the lecture's code doesn't) stops here, instead of
    # running to the end of the context window: minutes of a shared CPU on a small model.
    params.n_predict = DEFAULT_MAX_TOKENS
    if model.builtin_template:
        # Named templates are llama.cpp's C++ renderers, used when Jinja is off; the GGUF
        # has none of its own, and /apply-template then shows the family's real format.
        params.use_jinja = False
        params.chat_template = model.builtin_template
    params.ui = False  # no web UI at /
    params.api_keys = [api_key]  # CORS is "*": without a key any web page could call it
    params.verbosity = 1  # errors only
    return params


def start_server(model: ShippedModel, settings: EngineSettings, api_key: str,
                 host: str = "127.0.0.1", port: int = 0,
                 model_path: str | None = None) -> tuple[Any, dict[str, Any]]:
    """Load the model and start serving; returns the server and what a client needs."""
    import httpx
    import xllamacpp as xlc

    started = time.perf_counter()
    server = xlc.Server(server_params(model, settings, api_key, host, port, model_path))
    address = server.listening_address.rstrip("/")
    props = httpx.get(f"{address}/props", headers={"Authorization": f"Bearer {api_key}"},
                      timeout=10).json()
    info = {
        "base_url": f"{address}/v1",
        "context_per_slot": props["default_generation_settings"]["n_ctx"],
        "slots": props["total_slots"],
        "load_seconds": round(time.perf_counter() - started, 3),
    }
    return server, info


def _serve_child() -> None:
    # Ctrl-C in the terminal reaches the whole process group: the app decides when we stop
    # (it kills us at exit, or its death closes our stdin). SIGTERM ends us at once.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    request = json.loads(sys.stdin.readline())
    try:
        model = SHIPPED_MODELS[request["model"]]
        settings = EngineSettings(**request["settings"])
        server, info = start_server(model, settings, request["api_key"],
                                    model_path=request.get("model_path"))
    except Exception as exc:  # the parent shows this message; nothing else to do here
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}), flush=True)
        os._exit(1)
    print(json.dumps(info), flush=True)
    os.dup2(2, 1)  # anything printed from now on goes to stderr: nobody reads our stdout
    sys.stdin.read()  # returns when the app closes our stdin: at its exit or death
    os._exit(0)


if __name__ == "__main__":
    _serve_child()
