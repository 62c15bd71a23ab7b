"""Debian's real redis-server on a free port of 127.0.0.1, for the tests and the benchmark.

Nothing is written to disk (``--save ""``, no append-only file): each run starts empty.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

from tests.servers.processes import ServerProcess, ServerStartError, ServerUrl, free_port

REDIS_SERVER = Path("/usr/bin/redis-server")
MISSING = (f"{REDIS_SERVER} is missing: the session store's tests run a real Redis. "
           "Install it with `bash scripts/setup.sh dev` (apt-get install redis-server).")


def start_redis(folder: Path, *options: str, timeout: float = 10.0,
                port: int | None = None) -> tuple[ServerProcess, ServerUrl]:
    """A redis-server running in ``folder`` (its log there too) and its URL (database 0).
    ``options``: more command-line settings, e.g. ``"--requirepass", "secret"``; ``port``:
    a given one (a server coming back where it was), else a free one. Raises
    FileNotFoundError if redis-server is not installed, ServerStartError if it won't start."""
    if not REDIS_SERVER.is_file():
        raise FileNotFoundError(MISSING)
    port = port or free_port()
    command = [str(REDIS_SERVER), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", "--dir", str(folder), *options]
    log_path = folder / "redis-server.log"
    server = ServerProcess(command, log_path, env=dict(os.environ), cwd=folder)
    deadline = time.monotonic() + timeout
    while not _answers(port):
        if server.process.poll() is not None or time.monotonic() > deadline:
            server.stop()
            raise ServerStartError(f"redis-server did not start on port {port}:\n"
                                   f"{log_path.read_text(errors='replace')[-2000:]}")
        time.sleep(0.02)
    return server, ServerUrl(f"redis://127.0.0.1:{port}/0", log_path)


def _answers(port: int) -> bool:
    """Redis answers PING (+PONG, or -NOAUTH when it wants a password: up either way)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith((b"+PONG", b"-NOAUTH"))
    except OSError:
        return False
