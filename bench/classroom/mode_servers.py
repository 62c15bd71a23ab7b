"""The servers classroom_mode.py starts, each listed for its watchdog: the apps (one
`streamlit run` each, its own HOME and log) and the paced fault server in its own process."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from classroom.servers import base_env
from tests.servers.processes import free_port
from tests.servers.streamlit_app import start_app

ROOT = Path(__file__).resolve().parents[2]
TOKENS, PACE = 2000, 200.0
RUNNING: list = []  # ServerProcess / Popen objects the watchdog must not leave behind
GC_ENV: dict[str, str] = {}  # --no-post-script-gc: the apps skip Streamlit's gc.collect(2) per run


def new_fault_process() -> tuple[subprocess.Popen, str]:
    """The fault server in its own process (as browser_stream.py runs it): pacing is not
    disturbed by this process's Playwright client."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.servers.fault_server", "--port", str(port), "--pace", str(PACE)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        start_new_session=True)
    RUNNING.append(proc)
    proc.stdout.readline()  # "Fault server on ..." once it listens
    return proc, f"http://127.0.0.1:{port}/v1"


class App:
    """One `streamlit run` of the app (its own HOME and log), stopped by close()."""

    def __init__(self, name: str, workdir: Path, env: dict) -> None:
        self.name, self.log_path = name, workdir / f"app-{name}.log"
        home = workdir / f"home-{name}"
        home.mkdir()
        started = time.monotonic()
        self.process, self.url = start_app(self.log_path, home, base_env(env))
        self.start_s = round(time.monotonic() - started, 2)
        RUNNING.append(self.process)

    def close(self) -> None:
        self.process.stop()
        if self.process in RUNNING:
            RUNNING.remove(self.process)

    def tracebacks(self) -> tuple[int, str]:
        log = self.log_path.read_text(errors="replace")
        count = log.count("Traceback")
        first = log[log.index("Traceback"):][:600].replace("\n", " | ") if count else ""
        return count, first
