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
