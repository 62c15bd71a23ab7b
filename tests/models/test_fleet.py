"""LAB_BUILTIN_BASE_URL: the built-in models on the operator's server fleet, never spawned.

Settings parsing, then against a real `python -m lib.serve` (llama.cpp's server with
SmolLM2, the `served_model` fixture) standing in for the fleet."""

from __future__ import annotations

import json
import os
import socket
import threading
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from lib.chat.providers import connect, starts_on_first_use
from lib.config import BUILTIN
from lib.models import engine, fleet
from lib.models.engine import EngineError, local_server, running_server
from lib.models.fleet import (API_KEY_ENV, BASE_MODEL_URL_ENV, BASE_URL_ENV, FleetServer,
                              fleet_address)
from lib.models.settings import EngineSettingsError
from lib.models.shipped import GEMMA3_BASE, SMOLLM2
from tests.conftest import SERVED_API_KEY
from tests.servers.process_tree import engine_children, process_parents
from tests.servers.processes import free_port

# --- the settings ----------------------------------------------------------------------------


def test_without_settings_the_app_starts_its_own_engines():
    assert fleet_address(SMOLLM2, {}, {}) is None
    assert fleet_address(GEMMA3_BASE, {}, {}) is None


def test_one_url_serves_both_models_and_gets_v1_added():
    environ = {BASE_URL_ENV: "http://llm-fleet:8080/", API_KEY_ENV: "sk-fleet"}
    chat, base = fleet_address(SMOLLM2, {}, environ), fleet_address(GEMMA3_BASE, {}, environ)
    assert chat.base_url == base.base_url == "http://llm-fleet:8080/v1"
    assert chat.api_key == "sk-fleet" and base.named_by == BASE_URL_ENV
    assert fleet_address(SMOLLM2, {}, {BASE_URL_ENV: "https://lb/llm/v1"}).base_url == "https://lb/llm/v1"


def test_the_base_model_may_have_a_server_of_its_own():
    environ = {BASE_URL_ENV: "http://smol:8080", BASE_MODEL_URL_ENV: "http://gemma:8080/v1"}
    assert fleet_address(GEMMA3_BASE, {}, environ).base_url == "http://gemma:8080/v1"
    assert fleet_address(SMOLLM2, {}, environ).base_url == "http://smol:8080/v1"
    # Only the base model moved out: the chat model stays in the replica.
    only_base = {BASE_MODEL_URL_ENV: "http://gemma:8080"}
    assert fleet_address(SMOLLM2, {}, only_base) is None
    assert fleet_address(GEMMA3_BASE, {}, only_base).named_by == BASE_MODEL_URL_ENV


def test_secrets_come_before_the_environment():
    secrets = {BASE_URL_ENV: "http://from-secrets:8080", API_KEY_ENV: "sk-secret"}
    environ = {BASE_URL_ENV: "http://from-env:8080", API_KEY_ENV: "sk-env"}
    address = fleet_address(SMOLLM2, secrets, environ)
    assert address.base_url == "http://from-secrets:8080/v1" and address.api_key == "sk-secret"
    assert "sk-secret" not in repr(address)


@pytest.mark.parametrize("bad", ["llm-fleet:8080", "ftp://llm-fleet", "http://", "not a url"])
def test_a_url_that_is_not_one_is_a_message_naming_the_setting(bad):
    with pytest.raises(EngineSettingsError, match=BASE_URL_ENV):
        fleet_address(SMOLLM2, {}, {BASE_URL_ENV: bad})


def test_the_host_shown_never_carries_a_password():
    address = fleet_address(SMOLLM2, {}, {BASE_URL_ENV: "http://ops:hunter2@fleet:8080/v1?k=z"})
    assert address.host == "fleet:8080"
    with pytest.raises(EngineSettingsError) as refused:
        fleet_address(SMOLLM2, {}, {BASE_URL_ENV: "ftp://ops:hunter2@fleet"})
    assert "hunter2" not in str(refused.value)


# --- against a real llama.cpp server ---------------------------------------------------------


def _engine_children() -> list[int]:
    """Engines this test process started itself (its direct children: the shared app of the
    browser tests, a child of this process too, has engines of its own below it)."""
    parents = process_parents()
    return [pid for pid in engine_children(os.getpid()) if parents.get(pid) == os.getpid()]


@pytest.fixture
def on_fleet(monkeypatch, served_model):
    engine.stop_local_servers()  # an engine another test started must not hide a spawn
    monkeypatch.setenv(BASE_URL_ENV, served_model.removesuffix("/v1"))
    monkeypatch.setenv(API_KEY_ENV, SERVED_API_KEY)
    monkeypatch.delenv(BASE_MODEL_URL_ENV, raising=False)
    return served_model


def test_the_chat_model_is_the_fleets_and_nothing_is_spawned(on_fleet):
    assert not starts_on_first_use(BUILTIN)
    server = local_server(SMOLLM2.id)
    assert isinstance(server, FleetServer) and server.base_url == on_fleet
    assert running_server(SMOLLM2.id) is server
    assert server.context_per_slot == 4096 and server.slots == 4  # from the fleet's /props
    endpoint, window = connect(BUILTIN)
    assert endpoint.base_url == on_fleet and endpoint.api_key == SERVED_API_KEY
    assert window.count([{"role": "user", "content": "Hello there"}]) > 3
    assert _engine_children() == [] and engine._servers == {}


def test_a_base_model_the_fleet_does_not_serve_is_refused_in_one_sentence(on_fleet):
    with pytest.raises(EngineError) as refused:
        local_server(GEMMA3_BASE.id)
    message = str(refused.value)
    assert "is not served by the built-in models' server at 127.0.0.1:" in message
    assert BASE_MODEL_URL_ENV in message and SERVED_API_KEY not in message
    assert _engine_children() == []


def test_a_wrong_key_is_named_without_showing_it(on_fleet, monkeypatch):
    monkeypatch.setenv(API_KEY_ENV, "sk-wrong-key-1234567890")
    with pytest.raises(EngineError, match=f"refused the key: check {API_KEY_ENV}") as refused:
        local_server(SMOLLM2.id)
    assert "sk-wrong-key" not in str(refused.value)


def test_a_fleet_that_is_down_is_said_and_asked_again_never_spawned(monkeypatch):
    engine.stop_local_servers()
    port = free_port()
    monkeypatch.setenv(BASE_URL_ENV, f"http://127.0.0.1:{port}")
    for _ in range(2):  # the second within FAILED_RETRY_S is the remembered answer
        with pytest.raises(EngineError, match=f"server at 127.0.0.1:{port} is not answering"):
            local_server(SMOLLM2.id)
    assert running_server(SMOLLM2.id) is None and not starts_on_first_use(BUILTIN)
    assert _engine_children() == [] and engine._servers == {}


def test_a_fleet_without_llama_cpps_extras_says_so_in_words(fault_server):
    """vLLM has no /apply-template or /tokenize: a 404 becomes a sentence, not a traceback."""
    import httpx

    from lib.models.fleet import FleetAddress

    address = FleetAddress(fault_server.base_url, "sk-fleet", BASE_URL_ENV)
    server = FleetServer(SMOLLM2, address, context_per_slot=None, slots=None)
    with pytest.raises(httpx.HTTPStatusError) as missing:
        server.count_chat_tokens([{"role": "user", "content": "Hi"}])
    assert str(missing.value).startswith(f"the built-in model's server at {address.host} has "
                                         "no /apply-template")


# --- a fleet that is slow or silent never slows every session --------------------------------


class SilentListener:
    """A loopback listener that accepts connections, holds them and never answers a byte."""

    def __init__(self) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self._peers: list[tuple] = []
        self._held: list[socket.socket] = []
        self._changed = threading.Condition()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, peer = self._sock.accept()
            except OSError:
                return  # closed
            with self._changed:
                self._held.append(conn)
                self._peers.append(peer)
                self._changed.notify_all()

    def accepted(self) -> int:
        """Connections accepted so far, counted after every earlier one has been: a marker
        connection of our own is accepted after them (the accept queue is first in, first
        out), then left out of the count."""
        with socket.create_connection(("127.0.0.1", self.port)) as marker:
            mine = marker.getsockname()
            with self._changed:
                assert self._changed.wait_for(lambda: mine in self._peers, timeout=60)
                self._peers.remove(mine)
                return len(self._peers)

    def close(self) -> None:
        self._sock.close()
        for conn in self._held:
            conn.close()


@pytest.fixture
def silent_fleet(monkeypatch):
    engine.stop_local_servers()
    listener = SilentListener()
    monkeypatch.setenv(BASE_URL_ENV, f"http://127.0.0.1:{listener.port}")
    monkeypatch.delenv(API_KEY_ENV, raising=False)
    monkeypatch.delenv(BASE_MODEL_URL_ENV, raising=False)
    # Read timeout shortened for the test's sake; the connection itself succeeds at once.
    monkeypatch.setattr(fleet, "PROBE_TIMEOUT", httpx.Timeout(0.5, connect=2.0))
    yield listener
    listener.close()


def _all_at_once(call, n: int = 6) -> list:
    """``call()`` from n threads released together; each one's result or exception."""
    start, outcomes = threading.Barrier(n), [None] * n

    def run(i: int) -> None:
        start.wait()
        try:
            outcomes[i] = call()
        except Exception as exc:  # noqa: BLE001 - the outcome is what is compared
            outcomes[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_a_fleet_that_accepts_and_never_answers_is_asked_once_per_window(silent_fleet):
    """Every page run connects to the built-in model: a hung fleet must cost one probe per
    FAILED_RETRY_S for the whole process, not a timeout for every session on every rerun."""
    silent = f"The built-in model's server at 127.0.0.1:{silent_fleet.port} is not answering"
    # Sessions arriving together with nothing known yet: one asks, the others take its answer.
    outcomes = _all_at_once(lambda: local_server(SMOLLM2.id))
    assert all(isinstance(o, EngineError) and str(o).startswith(silent) for o in outcomes)
    assert silent_fleet.accepted() == 1
    assert any(f"{silent} (ReadTimeout)." in str(o) for o in outcomes)  # connected, then silence
    # Reruns within the window: the same message at once, the fleet not asked again.
    for _ in range(3):
        with pytest.raises(EngineError, match=f"^{silent} \\(ReadTimeout\\)"):
            connect(BUILTIN)
    assert silent_fleet.accepted() == 1
    # After the window the next use asks again (once).
    fleet.FAILED_RETRY_S, window = 0.0, fleet.FAILED_RETRY_S
    try:
        with pytest.raises(EngineError, match=f"^{silent} \\(ReadTimeout\\)"):
            local_server(SMOLLM2.id)
    finally:
        fleet.FAILED_RETRY_S = window
    assert silent_fleet.accepted() == 2
    assert running_server(SMOLLM2.id) is None and _engine_children() == []


class _ListingHandler(BaseHTTPRequestHandler):
    """A vLLM-like server: /v1/models lists SmolLM2 with its window, no /props."""

    asked: list[str]

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.asked.append(self.path)
        body = json.dumps({"data": [{"id": SMOLLM2.id, "max_model_len": 2048}]}).encode()
        if self.path != "/v1/models":
            self.send_response(404)
            body = b"{}"
        else:
            self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


def test_sessions_arriving_as_the_check_expires_cause_one_check(monkeypatch):
    engine.stop_local_servers()
    handler = type("Handler", (_ListingHandler,), {"asked": []})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv(BASE_URL_ENV, f"http://127.0.0.1:{httpd.server_port}")
        monkeypatch.delenv(API_KEY_ENV, raising=False)
        server = local_server(SMOLLM2.id)
        assert isinstance(server, FleetServer) and server.context_per_slot == 2048
        assert handler.asked == ["/v1/models", "/props"]
        for _ in range(3):  # within CHECK_EVERY_S: not asked
            assert local_server(SMOLLM2.id) is server
        assert handler.asked.count("/v1/models") == 1
        key = fleet._address_key(server.address)  # the check expires …
        fleet._answers[key] = replace(fleet._answers[key], at=fleet._answers[key].at - 3600)
        outcomes = _all_at_once(lambda: local_server(SMOLLM2.id))  # … as sessions arrive
        assert all(o is server for o in outcomes)
        assert handler.asked == ["/v1/models", "/props", "/v1/models"]  # once; /props kept
    finally:
        httpd.shutdown()
        httpd.server_close()
