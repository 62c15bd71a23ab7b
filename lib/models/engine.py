"""The shipped models as OpenAI-compatible endpoints: one llama.cpp server per model.

Each model is served by llama.cpp's own HTTP server (xllamacpp, prebuilt wheels, no
compiler) in a child process of the app, on 127.0.0.1 with a free port and a random API
key. It starts on first use, is shared by every browser session of the process, and
answers several sessions side by side (``slots``). Chat pages reach it exactly as they
reach a hosted provider: same client, same streaming, same inspector.

Why a child process and not a thread of the app: llama.cpp in the app's own process takes
the whole class down when it crashes (the old in-process engine did, with a segfault), and
an xllamacpp server cannot be destroyed while a request runs (measured: the process hangs
or segfaults at exit). The child dies with its stdin, so it never outlives the app, and a
crashed child is started again on the next request.

With LAB_BUILTIN_BASE_URL (lib/models/fleet.py) the models are the operator's server fleet's
instead: ``local_server`` hands out a FleetServer with the same surface, and no child is ever
started, not even when the fleet is down.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import secrets
import selectors
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from lib.models.fleet import (FleetServer, FleetUnavailable, fleet_address, fleet_server,
                              known_fleet_server)
from lib.models.server_calls import ServerCalls, server_client
from lib.models.settings import (EngineSettings, EngineSettingsError, base_model_idle_s,
                                 base_model_memory_refusal)
from lib.models.shipped import SHIPPED_MODELS, SMOLLM2, ModelNotInstalled, ShippedModel

START_TIMEOUT_S = 120.0
REPO_ROOT = Path(__file__).resolve().parents[2]


class EngineError(RuntimeError):
    """The local server could not start; the message says why."""


@dataclass
class LocalServer(ServerCalls):
    """A running llama.cpp server for one shipped model."""

    model: ShippedModel
    base_url: str  # http://127.0.0.1:PORT/v1
    api_key: str = field(repr=False)
    context_per_slot: int  # what one request may use, as the engine reports it (/props)
    slots: int
    settings: EngineSettings
    load_seconds: float
    process: subprocess.Popen = field(repr=False)
    started_at: float = field(default_factory=time.monotonic)
    last_used: float = field(default_factory=time.monotonic)  # last local_server() handing it out
    _client: httpx.Client = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # One keep-alive client for llama.cpp's own endpoints, shared by every session.
        self._client = server_client(self.base_url, self.api_key)

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def busy(self) -> bool:
        """A request is being answered (or the engine cannot say): not a time to stop it."""
        try:  # a short timeout: the caller holds the model's start lock meanwhile
            return any(slot.get("is_processing") for slot in self.get("/slots", timeout_s=5.0))
        except (httpx.HTTPError, ValueError, AttributeError):
            return True

    def stop(self) -> None:
        _kill(self.process)


_servers: dict[str, LocalServer] = {}
# model id -> (until when, why) of a failed start: ANY start error (a missing package, a full
# disk, a crash) is kept, so a broken engine is not retried by every rerun of every session.
_failures: dict[str, tuple[float, Exception]] = {}
_young_deaths: dict[str, int] = {}  # model id -> deaths in a row shortly after starting
_lock = threading.Lock()  # guards _start_locks
_start_locks: dict[str, threading.Lock] = {}  # one per model: starting Gemma never delays SmolLM2
RETRY_AFTER_FAILURE_S = 30.0
DIED_YOUNG_S = 120.0  # an engine that dies this soon after starting was probably OOM-killed
MAX_BACKOFF_S = 600.0
_reaper: threading.Thread | None = None
# Settings and secrets stay with the app: the engine needs none of them.
PRIVATE_ENV = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|^OPENAI_|^OPENROUTER_|^LAB_")


def running_server(model_id: str = SMOLLM2.id) -> LocalServer | FleetServer | None:
    """The model's server if it is up, without starting it (or asking the fleet). None
    for a model that is not one of ours (any id a provider lists)."""
    if model_id not in SHIPPED_MODELS:
        return None
    try:
        address = fleet_address(SHIPPED_MODELS[model_id])
    except EngineSettingsError:
        return None
    if address is not None:
        return known_fleet_server(SHIPPED_MODELS[model_id], address)
    server = _servers.get(model_id)
    return server if server is not None and server.alive else None


def builtin_on_fleet(model_id: str = SMOLLM2.id) -> bool:
    """The operator's fleet serves this model (LAB_BUILTIN_BASE_URL …): nothing to start."""
    try:
        return fleet_address(SHIPPED_MODELS[model_id]) is not None
    except EngineSettingsError:
        return True  # a bad URL is still a fleet setting: local_server says what is wrong


def local_server(model_id: str = SMOLLM2.id) -> LocalServer | FleetServer:
    """The model's server, started on first use (about a second) and shared by all sessions;
    on the operator's fleet (LAB_BUILTIN_BASE_URL) instead when one is set, never started.

    Raises ModelNotInstalled, EngineSettingsError or EngineError with a readable message.
    """
    address = fleet_address(SHIPPED_MODELS[model_id])
    if address is not None:
        try:
            return fleet_server(SHIPPED_MODELS[model_id], address)
        except FleetUnavailable as exc:
            raise EngineError(str(exc)) from None
    with _lock:
        start_lock = _start_locks.setdefault(model_id, threading.Lock())
    # Handed out under the model's lock (held for microseconds unless it is starting): the
    # idle reaper decides under it too, so it never stops a server just handed out.
    with start_lock:  # two sessions arriving together must not start it twice
        server = running_server(model_id)
        if server is not None:
            server.last_used = time.monotonic()
            return server
        _note_death(model_id)
        # Read first and never remembered: a bad LAB_* value is the operator's to fix, and
        # the message must name the value set now, not one from 30 s ago.
        settings = EngineSettings.from_environ()
        if model_id != SMOLLM2.id:  # the default chat model always runs; others may not
            if refusal := base_model_memory_refusal(SHIPPED_MODELS[model_id].label):
                raise EngineError(refusal)
        failed = _failures.get(model_id)
        if failed and time.monotonic() < failed[0]:
            raise _fresh(failed[1])
        try:
            server = _start(SHIPPED_MODELS[model_id], settings)
        except (EngineError, ModelNotInstalled) as exc:
            _failures[model_id] = (time.monotonic() + RETRY_AFTER_FAILURE_S, exc)
            raise
        except Exception as exc:  # anything else, in words the pages show
            failure = EngineError(f"The local llama.cpp server for "
                                  f"{SHIPPED_MODELS[model_id].label} did not start: {exc}")
            _failures[model_id] = (time.monotonic() + RETRY_AFTER_FAILURE_S, failure)
            raise _fresh(failure) from exc
        _failures.pop(model_id, None)
        _servers[model_id] = server
        if model_id != SMOLLM2.id:
            _start_reaper()
        return server


def _fresh(exc: Exception) -> Exception:
    """A copy of a remembered failure to raise: raising the one object again and again
    would pile every session's frames onto its traceback."""
    return type(exc)(*exc.args)


def _note_death(model_id: str) -> None:
    """A server found dead (the OOM killer, a crash): restarting it at once on every rerun
    could loop, so deaths in a row soon after starting back off, longer each time."""
    dead = _servers.pop(model_id, None)
    if dead is None:
        return
    reason = _exit_reason(dead.process)
    if time.monotonic() - dead.started_at > DIED_YOUNG_S:
        _young_deaths[model_id] = 0
        return
    deaths = _young_deaths[model_id] = _young_deaths.get(model_id, 0) + 1
    if deaths < 2:
        return
    wait_s = min(MAX_BACKOFF_S, RETRY_AFTER_FAILURE_S * 2 ** (deaths - 2))
    memory = " (probably out of memory)" if "SIGKILL" in reason else ""
    _failures[model_id] = (time.monotonic() + wait_s, EngineError(
        f"The local llama.cpp server for {dead.model.label} stopped {deaths} times in a row "
        f"soon after starting: {reason}{memory}. It is tried again in {wait_s:.0f} s."))


def _start_reaper() -> None:
    global _reaper
    with _lock:
        if _reaper is None or not _reaper.is_alive():
            _reaper = threading.Thread(target=_stop_idle_servers, name="engine-idle-reaper",
                                       daemon=True)
            _reaper.start()


def _stop_idle_servers() -> None:
    """Stop the engines other than the default chat model once unused for
    LAB_BASE_MODEL_IDLE_MINUTES (Gemma's ~400 MB go back to a small machine); the next
    use starts it again. Only a child that answers nothing is killed."""
    while True:
        try:
            idle_s = base_model_idle_s()
        except ValueError:
            idle_s = 0.0  # a bad value is reported where settings are shown; never stop
        time.sleep(min(30.0, idle_s / 4) if idle_s else 30.0)
        if not idle_s:
            continue
        try:
            _stop_idle(idle_s)
        except Exception as exc:  # the reaper must outlive any one bad pass
            print(f"engine idle check failed: {exc!r}", file=sys.stderr)


def _stop_idle(idle_s: float) -> None:
    for model_id, server in list(_servers.items()):
        used = server.last_used
        if model_id == SMOLLM2.id or time.monotonic() - used < idle_s:
            continue
        if server.busy():  # asked outside the lock: it may take a few seconds
            continue
        with _start_locks[model_id]:  # nobody was handed it since we looked: stop it
            if _servers.get(model_id) is server and server.last_used == used:
                del _servers[model_id]
                server.stop()


def _start(model: ShippedModel, settings: EngineSettings) -> LocalServer:
    # A missing package is ModelNotInstalled here, not a child's traceback; a split model is
    # assembled here, once, and the child is told where (it does not see LAB_CACHE_DIR).
    model_path = model.gguf_path()
    api_key = secrets.token_urlsafe(24)
    process = subprocess.Popen(
        [sys.executable, "-m", "lib.models.engine_host"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=REPO_ROOT, text=True,
        env={name: value for name, value in os.environ.items() if not PRIVATE_ENV.search(name)},
        # stderr is inherited: the engine logs errors only, and they belong in the app's log
    )
    request = {"model": model.id, "api_key": api_key, "settings": settings.model_dump(),
               "model_path": str(model_path)}
    try:
        process.stdin.write(json.dumps(request) + "\n")
        process.stdin.flush()
        line = _read_line(process, START_TIMEOUT_S)
    except (OSError, EngineError) as exc:
        _kill(process)
        raise EngineError(f"The local llama.cpp server for {model.label} did not start: {exc}")
    try:
        info = json.loads(line) if line else {"error": _exit_reason(process)}
    except json.JSONDecodeError:
        info = {"error": f"unexpected output {line[:200]!r}"}
    if "error" in info:
        _kill(process)
        raise EngineError(f"The local llama.cpp server for {model.label} did not start: "
                          f"{info['error']}")
    return LocalServer(model=model, api_key=api_key, settings=settings, process=process, **info)


def _read_line(process: subprocess.Popen, timeout_s: float) -> str:
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout_s):
            raise EngineError(f"it gave no sign of life within {timeout_s:.0f} s")
    return process.stdout.readline()


def _exit_reason(process: subprocess.Popen) -> str:
    code = process.wait(timeout=10)
    if code < 0:
        name = signal.Signals(-code).name
        hint = " (this CPU lacks an instruction the engine needs)" if name == "SIGILL" else ""
        return f"it was killed by {name}{hint}"
    return f"it exited with code {code}"


def _kill(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.kill()
    process.wait(timeout=10)


@atexit.register
def stop_local_servers() -> None:
    """Stop every server this process started (they would also end with our stdin)."""
    for server in list(_servers.values()):
        server.stop()
    _servers.clear()

