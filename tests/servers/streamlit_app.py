"""The real Streamlit app as a subprocess, and how a browser test waits for it."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Mapping

from tests.servers.processes import ServerProcess, ServerUrl, free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
APP_SCRIPT = "Home.py"
STARTUP_TIMEOUT = 60.0

# Variables the app must not inherit from whoever runs the tests: tests opt in through overrides.
# (LAB_STORE_*: the apps find their session store where a deployment would, under their HOME.)
STRIPPED_ENV_PREFIXES = ("OPENAI_", "OPENROUTER_", "STREAMLIT_", "LAB_STORE_", "LAB_LEDGER_")

APP_READY = '[data-testid="stApp"][data-test-connection-state="CONNECTED"][data-test-script-state="notRunning"]'
EXCEPTION = '[data-testid="stException"]'


def app_environment(home: Path, overrides: Mapping[str, str | None] | None = None) -> dict[str, str]:
    """os.environ without provider keys or Streamlit settings, HOME at `home`, then `overrides`
    (a value of None removes the variable)."""
    env = {name: value for name, value in os.environ.items() if not name.startswith(STRIPPED_ENV_PREFIXES)}
    env.update(HOME=str(home), PYTHONUNBUFFERED="1")
    for name, value in (overrides or {}).items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def start_app(
    log_path: Path, home: Path, env_overrides: Mapping[str, str | None] | None = None, script: str = APP_SCRIPT
) -> tuple[ServerProcess, ServerUrl]:
    """Run `streamlit run <script>` from the repo root on a free port; return once it is healthy."""
    port = free_port()
    command = [
        sys.executable, "-m", "streamlit", "run", script,
        "--server.headless", "true",
        "--server.port", str(port),
        "--server.address", "127.0.0.1",
        "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none",  # files edited during a test run must not rerun the app
    ]  # fmt: skip
    process = ServerProcess(command, log_path, env=app_environment(home, env_overrides), cwd=REPO_ROOT)
    url = f"http://127.0.0.1:{port}"
    process.wait_until_ready(f"{url}/_stcore/health", timeout=STARTUP_TIMEOUT, ready=lambda body: body.strip() == "ok")
    return process, ServerUrl(url, log_path)


def wait_for_app_run(page, timeout: float = 30_000) -> None:
    """Wait until the page is connected and its script run has finished (Playwright `page`, ms)."""
    page.locator(APP_READY).wait_for(state="attached", timeout=timeout)


class RunWatcher:
    """What the app's server says about its script runs, read off the page's websocket.

    The page's own "running" mark is the browser's drawing of the state, not the state: nothing
    promises it is drawn for every run, and a wait on it can't say what went wrong. The
    websocket can: every rerun the browser asks for is a `rerun_script` BackMsg, every run the server starts
    begins with a `new_session` ForwardMsg and ends with a `script_finished` one, tagged with
    the run's id. new_watched_page installs it before the page opens the app."""

    def __init__(self, page) -> None:
        self.events: list[tuple[str, str, str]] = []  # (what, run id, script_finished status)
        self.frames = 0  # frames the page's newest websocket has received
        page.on("websocket", self._watch)

    def _watch(self, websocket) -> None:
        if not websocket.url.endswith(STREAM_PATH):
            return
        self.frames = 0  # a reload: a new document, a new socket, and the page counts afresh
        websocket.on("framesent", self._sent)
        websocket.on("framereceived", self._received)

    def _sent(self, payload) -> None:
        from streamlit.proto.BackMsg_pb2 import BackMsg  # here, not on top: tests/gradio has no Streamlit

        message = _parsed(BackMsg, payload)
        if message is not None and message.WhichOneof("type") == "rerun_script":
            self.events.append(("rerun asked", "", ""))

    def _received(self, payload) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        self.frames += 1
        message = _parsed(ForwardMsg, payload)
        if message is None:
            return
        kind = message.WhichOneof("type")
        if kind == "new_session":
            self.events.append(("run started", message.metadata.run.script_run_id, ""))
        elif kind == "script_finished":
            status = ForwardMsg.ScriptFinishedStatus.Name(message.script_finished)
            self.events.append(("run ended", message.metadata.run.script_run_id, status))

    def ended_since(self, mark: int) -> bool:
        """After event `mark`: a rerun was asked, a run started after it, and that chain of
        runs is over (its last run ended other than by being cut short for another rerun)."""
        since = self.events[mark:]
        asked = next((i for i, event in enumerate(since) if event[0] == "rerun asked"), None)
        if asked is None:
            return False
        started = [event for event in since[asked:] if event[0] == "run started"]
        if not started:
            return False
        last = since[-1]
        return (last[0] == "run ended" and last[1] in (started[-1][1], "")
                and last[2] != "FINISHED_EARLY_FOR_RERUN")


def _parsed(kind, payload):
    """A frame's protobuf message, or None for a frame that is not one (text, garbage): an
    exception here would escape into Playwright's event dispatch."""
    from google.protobuf.message import DecodeError

    if not isinstance(payload, bytes):
        return None
    message = kind()
    try:
        message.ParseFromString(payload)
    except DecodeError:
        return None
    return message


# Counts, in the page, the websocket frames its own code has been handed (installed before
# the app's script loads), so a test can wait until the page has what Playwright saw.
STREAM_PATH = "/_stcore/stream"  # the app's own websocket
_COUNT_PAGE_FRAMES = """(() => {
    const Native = window.WebSocket;
    window.__labFrames = 0;
    window.WebSocket = class extends Native {
        constructor(...args) {
            super(...args);
            if (!String(args[0]).endsWith("%s")) return;
            window.__labFrames = 0;
            this.addEventListener("message", () => { window.__labFrames += 1; });
        }
    };
})()""" % STREAM_PATH
_PAGE_STATE = """() => { const app = document.querySelector('[data-testid="stApp"]');
    return app && [app.dataset.testConnectionState, app.dataset.testScriptState]; }"""
_TWO_FRAMES_DRAWN = "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"


def rerun_after(page, action, timeout: float = 30_000) -> None:
    """Do `action` (a widget change), then wait for the script run it asks for to end.

    wait_for_app_run alone returns at once after a widget change: the browser sends the new
    value without marking the app as running, and the page says "running" only when the
    server's answer arrives. Whatever comes next (a reload,
    another page) could then beat the run that keeps the value. So this watches the server's
    own messages (RunWatcher), then waits for the page to be handed every frame Playwright
    saw and to draw twice, and for the page to be idle.

    One run it cannot tell apart: if the action lands while a chain of runs is going, a run
    that chain starts before the server reads the action's rerun also counts. With Streamlit's
    fast reruns that is a window of milliseconds; an idle page has none."""
    watcher = getattr(page, "lab_runs", None)
    assert watcher is not None, "rerun_after needs a page made by new_watched_page"
    mark = len(watcher.events)
    action()
    deadline = time.monotonic() + timeout / 1000
    while not watcher.ended_since(mark):
        if time.monotonic() > deadline:
            raise AssertionError(f"the run {action!r} asked for did not end in {timeout / 1000:.0f} s; "
                                 f"the websocket said: {watcher.events[mark:][-12:]}; "
                                 f"the page says: {page.evaluate(_PAGE_STATE)}")
        page.wait_for_timeout(50)  # lets Playwright deliver the websocket's frames
    page.wait_for_function("n => window.__labFrames >= n", arg=watcher.frames, timeout=timeout)
    page.evaluate(_TWO_FRAMES_DRAWN)
    wait_for_app_run(page, timeout=timeout)


def new_watched_page(browser, timeout: float = 15_000, width: int = 1280, height: int = 900):
    """A page in a browser context of its own (a student's own browser), its runs watched
    (RunWatcher, and the page's own frame count), `timeout` ms by default. Close it with
    page.context.close()."""
    context = browser.new_context(viewport={"width": width, "height": height})
    context.add_init_script(_COUNT_PAGE_FRAMES)
    page = context.new_page()
    page.set_default_timeout(timeout)
    page.lab_runs = RunWatcher(page)
    return page


# True once nothing on the page is moving but what never stops (a spinner): Streamlit animates
# an expander's height for 500 ms, a select box's list slides in; both are Web Animations or
# CSS transitions, so document.getAnimations() sees them.
_STILL = """() => document.getAnimations().every(animation =>
    animation.playState !== "running" || animation.effect?.getComputedTiming().endTime === Infinity)"""


def wait_until_still(page) -> None:
    """Wait for what the last action set moving to stop. While something slides, a click can
    press on one element and release on another, and so do nothing: the forgetting demo's
    button, clicked as its expander opened, did nothing 3 times in 40 (0 in 40 after this)."""
    page.evaluate(_TWO_FRAMES_DRAWN)  # the action's render has started what it animates
    page.wait_for_function(_STILL)


def open_expander(scope, label: str) -> None:
    """Click the expander called `label` inside `scope` (a page or a locator), then wait until
    it has finished opening."""
    scope.get_by_text(label).click()
    wait_until_still(getattr(scope, "page", scope))
