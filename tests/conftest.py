"""Fixtures that run real servers on 127.0.0.1 and a real Chromium.

- fault_server         the scripted fault server (tests/servers/fault_server.py), requests cleared per test
- served_model         base URL ".../v1" of `python -m lib.serve` (llama.cpp's server, SmolLM2)
- streamlit_url        base URL of the app, started once per session with no provider keys
- start_streamlit      factory: start_streamlit({"OPENAI_API_KEY": ...}) -> URL of a fresh app
- browser, page        Playwright (sync API) on Debian's /usr/bin/chromium

URLs are `ServerUrl`s: plain strings that also carry `.log_path` / `.log()` (the server's stdout+stderr).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Callable, Iterator, Mapping

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.servers.fault_server import DEFAULT_SLOW_DELAY, FaultServer  # noqa: E402
from tests.servers.processes import ServerProcess, ServerUrl, free_port  # noqa: E402
from tests.servers.streamlit_app import new_watched_page, start_app  # noqa: E402

SERVE_STARTUP_TIMEOUT = 60.0
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
BROWSER_FIXTURES = {"browser", "page"}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives the real app in Chromium (needs /usr/bin/chromium)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if BROWSER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(autouse=True, scope="session")
def _session_store_in_a_temporary_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """AppTest runs of Home.py save sessions like the app does: into a store of the test
    run's own, never the user's ~/.cache (app subprocesses get a HOME of their own)."""
    before = os.environ.get("LAB_STORE_URL")
    os.environ["LAB_STORE_URL"] = f"sqlite:///{tmp_path_factory.mktemp('store') / 'sessions.sqlite3'}"
    yield
    if before is None:
        os.environ.pop("LAB_STORE_URL", None)
    else:
        os.environ["LAB_STORE_URL"] = before


@pytest.fixture(autouse=True)
def _run_from_repo_root(monkeypatch: pytest.MonkeyPatch) -> None:
    """AppTest and the app's relative paths (data/, app_pages/) resolve against the repo root."""
    monkeypatch.chdir(REPO_ROOT)


# --- the fault server ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def fault_server_session() -> Iterator[FaultServer]:
    """One fault server for the session (for session-scoped fixtures); prefer `fault_server`."""
    with FaultServer() as server:
        yield server


@pytest.fixture
def fault_server(fault_server_session: FaultServer) -> FaultServer:
    """The fault server with an empty request log. `.base_url` ends in /v1; `.requests[-1].body`
    is the last JSON body; `.slow_delay` sets the pause between "slow" deltas."""
    fault_server_session.clear()
    fault_server_session.slow_delay = DEFAULT_SLOW_DELAY
    return fault_server_session


# --- the built-in model served for any client (python -m lib.serve) ---------------------------

SERVED_API_KEY = "sk-lab-serve-test-key"


@pytest.fixture(scope="session")
def served_model(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerUrl]:
    """Base URL (".../v1") of `python -m lib.serve` on a free port: llama.cpp's server with
    SmolLM2-135M-Instruct, API key SERVED_API_KEY. The same engine the app starts for itself."""
    port = free_port()
    command = [sys.executable, "-m", "lib.serve", "--port", str(port), "--threads", "1",
               "--api-key", SERVED_API_KEY]
    log_path = tmp_path_factory.mktemp("serve") / "lib_serve.log"
    process = ServerProcess(command, log_path, env=dict(os.environ), cwd=REPO_ROOT)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        process.wait_until_ready(f"{base_url.removesuffix('/v1')}/health", timeout=SERVE_STARTUP_TIMEOUT)
        yield ServerUrl(base_url, log_path)
    finally:
        process.stop()


# --- the Streamlit app -----------------------------------------------------------------------

StartStreamlit = Callable[[Mapping[str, "str | None"] | None], ServerUrl]


class _AppLauncher:
    """Starts app processes with a fresh HOME and stops every one it started."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        self._dir = tmp_path_factory.mktemp("streamlit")
        self._home = self._dir / "home"
        self._home.mkdir()
        self._processes: list[ServerProcess] = []

    def start(self, env_overrides: Mapping[str, str | None] | None = None) -> ServerUrl:
        log_path = self._dir / f"app-{len(self._processes) + 1}.log"
        process, url = start_app(log_path, self._home, env_overrides)
        self._processes.append(process)
        return url

    def stop_all(self) -> None:
        for process in self._processes:
            process.stop()
        self._processes.clear()


@pytest.fixture(scope="session")
def streamlit_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerUrl]:
    """Base URL ("http://127.0.0.1:PORT") of the app, shared by the session, with no provider keys."""
    launcher = _AppLauncher(tmp_path_factory)
    try:
        yield launcher.start()
    finally:
        launcher.stop_all()


@pytest.fixture
def start_streamlit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StartStreamlit]:
    """Factory for apps configured by environment, stopped at the end of the test:

        url = start_streamlit({"OPENAI_BASE_URL": fault_server.base_url, "OPENAI_API_KEY": CANARY})
        page.goto(url); ...; assert CANARY not in url.log()

    The environment starts without OPENAI_*/OPENROUTER_*/STREAMLIT_* variables; None removes one.
    """
    launcher = _AppLauncher(tmp_path_factory)
    try:
        yield launcher.start
    finally:
        launcher.stop_all()


# --- Chromium --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium via Playwright. Missing Chromium fails the test: CI installs it."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} not found: browser tests need Debian's chromium (apt-get install chromium). "
            "Playwright's own browser download does not work here.",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A fresh browser context and page per test (15 s default timeout)."""
    page = new_watched_page(browser)
    yield page
    page.context.close()
