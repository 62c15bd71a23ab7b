"""A process and its children as /proc shows them: memory (VmRSS, VmHWM) and which of
them are engines (`lib.models.engine_host`). Shared by tests and bench/."""

from __future__ import annotations

from pathlib import Path

ENGINE_MARK = b"lib.models.engine_host"


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS, VmHWM, RssAnon, RssFile in kB (empty if the process is gone)."""
    fields = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
                fields[name] = int(value.split()[0])
    except (OSError, ValueError):
        pass
    return fields


def process_parents() -> dict[int, int]:
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    return parents


def descendants(root: int, parents: dict[int, int]) -> set[int]:
    found, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        children = [c for c, p in parents.items() if p == pid and c not in found]
        found.update(children)
        frontier += children
    return found


def engine_children(app_pid: int) -> list[int]:
    """The engine processes (lib.models.engine_host) anywhere below ``app_pid``."""
    engines = []
    for pid in sorted(descendants(app_pid, process_parents()) - {app_pid}):
        try:
            if ENGINE_MARK in Path(f"/proc/{pid}/cmdline").read_bytes():
                engines.append(pid)
        except OSError:
            continue
    return engines


def app_pid(url: str) -> int:
    """The pid of the `streamlit run` serving ``url`` (started by tests/servers/streamlit_app)."""
    port = url.rstrip("/").rsplit(":", 1)[1].encode()
    for entry in Path("/proc").iterdir():
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"streamlit" in argv and b"--server.port" in argv and port in argv:
            return int(entry.name)
    raise LookupError(f"no streamlit process serves {url}")
