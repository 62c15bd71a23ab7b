"""Start real servers as subprocesses, wait until they answer, and stop them cleanly."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable


class ServerUrl(str):
    """A running server's base URL that also knows where its stdout/stderr log is."""

    log_path: Path

    def __new__(cls, url: str, log_path: Path) -> "ServerUrl":
        instance = super().__new__(cls, url)
        instance.log_path = log_path
        return instance

    @property
    def url(self) -> str:
        return str(self)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


class ServerStartError(RuntimeError):
    """A server did not come up; the message ends with the tail of its log."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class ServerProcess:
    """A subprocess whose stdout and stderr go to `log_path`; stopped with its whole process group."""

    def __init__(self, command: list[str], log_path: Path, *, env: dict[str, str], cwd: Path) -> None:
        self.command = command
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            start_new_session=True,  # its own process group, so stop() reaches any children
        )

    def wait_until_ready(self, url: str, *, timeout: float, ready: Callable[[str], bool] = lambda body: True) -> None:
        """Poll GET `url` until it answers 200 with a body `ready` accepts; fail fast if the process dies."""
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise ServerStartError(f"{self._describe()} exited with code {self.process.returncode}.{self._log_tail()}")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200 and ready(response.read().decode(errors="replace")):
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise ServerStartError(f"{self._describe()} did not answer {url} within {timeout:.0f} s.{self._log_tail()}")
            time.sleep(0.1)

    def stop(self, grace: float = 10.0) -> None:
        if self.process.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                self.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self.process.wait(timeout=grace)
        self._log.close()

    def _signal_group(self, sig: signal.Signals) -> None:
        try:
            os.killpg(self.process.pid, sig)
        except ProcessLookupError:
            pass

    def _describe(self) -> str:
        return " ".join(self.command[:4])

    def _log_tail(self, lines: int = 30) -> str:
        self._log.flush()
        tail = self.log_path.read_text(errors="replace").splitlines()[-lines:]
        return f"\n--- last lines of {self.log_path} ---\n" + "\n".join(tail)
