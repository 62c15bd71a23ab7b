"""The real Streamlit app as a subprocess, and how a browser test waits for it."""

from __future__ import annotations

import os
import sys
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


# Counts script runs that have ended on this document: every change of the app's script state
# away from "running", caught by a MutationObserver (so a run too short to be seen by polling
# still counts). Installed on first use; a reload gives a new document and a new count.
_RUNS_ENDED = """() => {
    if (window.__labRunsEnded === undefined) {
        window.__labRunsEnded = 0;
        new MutationObserver(records => {
            for (const r of records) if (r.oldValue === "running") window.__labRunsEnded += 1;
        }).observe(document.body, {subtree: true, attributes: true, attributeOldValue: true,
                                   attributeFilter: ["data-test-script-state"]});
    }
    return window.__labRunsEnded;
}"""


def rerun_after(page, action, timeout: float = 30_000) -> None:
    """Do `action` (a widget change), then wait for the script run it starts to end.

    wait_for_app_run alone returns at once after a widget change: the browser sends the new
    value without marking the app as running, and the page says "running" only when the
    server's answer arrives. Whatever comes next (a reload, another page) could then beat
    the run that keeps the value."""
    before = page.evaluate(_RUNS_ENDED)
    action()
    page.wait_for_function("n => window.__labRunsEnded > n", arg=before, timeout=timeout)
    wait_for_app_run(page, timeout=timeout)
