"""A memory-limited cgroup to run the app in, as Community Cloud's 690 MB does.

cgroup v1 (``/sys/fs/cgroup/memory``) or v2 (a ``/sys/fs/cgroup`` whose subtree enables
``memory``), made by root. ``MemoryCgroup.create`` raises CgroupUnavailable saying why on a
machine that does not allow it (not root, read-only cgroupfs, no memory controller), so a
test can skip with that reason. A process is started inside with ``with group.spawning():``
around the code that starts it: the calling thread (v1; the whole test process on v2) moves
in for that long and back out after, and a child forked meanwhile is born inside, so all it
ever holds is counted (moving a running process in would leave its memory charged outside:
this kernel refuses ``memory.move_charge_at_immigrate``).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
COMMUNITY_CLOUD_BYTES = 690 * 2**20


class CgroupUnavailable(RuntimeError):
    """No memory cgroup can be made here; the message says why."""


@dataclass
class MemoryCgroup:
    path: Path
    version: int  # 1 or 2

    @classmethod
    def create(cls, limit_bytes: int, name: str = "hosted-llm-lab") -> "MemoryCgroup":
        v1 = CGROUP_ROOT / "memory"
        if (v1 / "memory.limit_in_bytes").exists():
            parent, version, limit_file = _own(v1, 1), 1, "memory.limit_in_bytes"
        elif "memory" in _read(CGROUP_ROOT / "cgroup.subtree_control").split():
            parent, version, limit_file = _own(CGROUP_ROOT, 2), 2, "memory.max"
        else:
            raise CgroupUnavailable("no cgroup memory controller is mounted here (neither v1 "
                                    f"{v1} nor v2 with memory in cgroup.subtree_control)")
        path = parent / f"{name}-{os.getpid()}-{secrets.token_hex(3)}"
        try:
            path.mkdir()
        except OSError as exc:
            raise CgroupUnavailable(f"cannot make a cgroup at {path}: {exc}") from None
        group = cls(path, version)
        try:
            (path / limit_file).write_text(str(limit_bytes))
            if version == 1 and (path / "memory.memsw.limit_in_bytes").exists():
                (path / "memory.memsw.limit_in_bytes").write_text(str(limit_bytes))
            elif version == 2 and (path / "memory.swap.max").exists():
                (path / "memory.swap.max").write_text("0")
        except OSError as exc:
            group.remove()
            raise CgroupUnavailable(f"cannot set a memory limit on {path}: {exc}") from None
        return group

    @contextlib.contextmanager
    def spawning(self) -> Iterator[None]:
        """Processes started in this block are born inside (see the module's docstring)."""
        if self.version == 1:  # v1 moves single threads: only this one goes in
            member, me = "tasks", str(threading.get_native_id())
            home = _own(CGROUP_ROOT / "memory", 1)
        else:
            member, me, home = "cgroup.procs", str(os.getpid()), _own(CGROUP_ROOT, 2, True)
        try:
            (self.path / member).write_text(me)
        except OSError as exc:
            raise CgroupUnavailable(f"cannot move a process into {self.path}: {exc}") from None
        try:
            yield
        finally:
            (home / member).write_text(me)

    @property
    def pids(self) -> list[int]:
        return [int(pid) for pid in _read(self.path / "cgroup.procs").split()]

    def stats(self) -> dict[str, int | None]:
        """limit, peak usage (max_usage_in_bytes / memory.peak) in bytes; times the limit was
        hit (failcnt, v1) and processes the OOM killer took in here (oom_kill)."""
        if self.version == 1:
            oom = _keyed(self.path / "memory.oom_control")
            return {"limit": _int(self.path / "memory.limit_in_bytes"),
                    "peak": _int(self.path / "memory.max_usage_in_bytes"),
                    "failcnt": _int(self.path / "memory.failcnt"),
                    "oom_kill": oom.get("oom_kill")}
        events = _keyed(self.path / "memory.events")
        return {"limit": _int(self.path / "memory.max"), "peak": _int(self.path / "memory.peak"),
                "failcnt": events.get("max"), "oom_kill": events.get("oom_kill")}

    def remove(self, timeout_s: float = 10.0) -> None:
        """Move any process left to the parent cgroup, then remove this one."""
        deadline = time.monotonic() + timeout_s
        while self.path.exists():
            for pid in self.pids:
                try:
                    (self.path.parent / "cgroup.procs").write_text(str(pid))
                except OSError:
                    pass
            try:
                self.path.rmdir()
            except OSError:
                if time.monotonic() > deadline:
                    return
                time.sleep(0.1)


def _own(mount: Path, version: int, any_own: bool = False) -> Path:
    """This thread's own cgroup under ``mount`` (a new one nests inside it, so whatever
    accounts for this process keeps accounting for the app); the mount's root if unseen.
    (v2 lets a cgroup with processes have no children with controllers: then the root,
    unless ``any_own``: where to go back to.)"""
    for line in _read(Path("/proc/thread-self/cgroup")).splitlines():
        _, controllers, path = (line.split(":", 2) + ["", ""])[:3]
        if (version == 1 and "memory" in controllers.split(",")) or (version == 2 and not controllers):
            own = mount / path.strip().lstrip("/")
            if own.is_dir() and (version == 1 or any_own
                                 or "memory" in _read(own / "cgroup.subtree_control")):
                return own
    return mount


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _int(path: Path) -> int | None:
    text = _read(path).strip()
    return int(text) if text.isdigit() else None


def _keyed(path: Path) -> dict[str, int]:
    values = {}
    for line in _read(path).splitlines():
        name, _, value = line.partition(" ")
        if value.strip().isdigit():
            values[name] = int(value)
    return values
