"""CPU and memory from /proc, for both classroom benchmarks: a process's CPU seconds and the
machine's, who used the CPU over an interval (app, browser, bench, others), the browser's threads
reniced below the app, and the VmRSS of the app and of its engine sampled every 0.2 s."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from tests.servers.process_tree import descendants, engine_children, proc_status, process_parents


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return float("nan")


def engine_child(app_pid: int) -> int | None:
    return next(iter(engine_children(app_pid)), None)


def machine_busy_s() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(fields[:8]) - idle) / tick, sum(fields[:8]) / tick


def renice_browser(app_pid: int, niceness: int) -> int:
    """Lower the priority of every thread of the harness's browser (Chromium and the
    Playwright driver: this process's descendants outside the app's tree), so that the app
    gets the CPU first, as it would if the class's browsers ran on their own laptops.
    Niceness is per thread on Linux; threads started later inherit it. Returns threads set."""
    parents = process_parents()
    browser = descendants(os.getpid(), parents) - descendants(app_pid, parents) - {os.getpid()}
    count = 0
    for pid in browser:
        try:
            tids = [int(t.name) for t in Path(f"/proc/{pid}/task").iterdir()]
        except OSError:
            continue
        for tid in tids:
            try:
                os.setpriority(os.PRIO_PROCESS, tid, niceness)
                count += 1
            except OSError:
                pass
    return count


class CpuAccount:
    """CPU seconds over an interval: the app (and its engine), the browser (Chromium and the
    Playwright driver), this process (fault server, client), and everything else on the machine."""

    def __init__(self, app_pid: int) -> None:
        self.app_pid = app_pid
        self.start = self._snapshot()
        self.t0 = time.monotonic()

    def _snapshot(self) -> tuple[dict[int, float], tuple[float, float]]:
        parents = process_parents()
        pids = descendants(os.getpid(), parents)
        return {pid: cpu_seconds(pid) for pid in pids}, machine_busy_s()

    def finish(self) -> dict[str, float]:
        wall = time.monotonic() - self.t0
        (before, busy0), (after, busy1) = self.start, self._snapshot()
        app_tree = descendants(self.app_pid, process_parents()) | {self.app_pid}
        delta = {pid: cpu - before.get(pid, 0.0) for pid, cpu in after.items() if cpu == cpu}
        app = sum(v for pid, v in delta.items() if pid in app_tree)
        me = delta.get(os.getpid(), 0.0)
        browser = sum(v for pid, v in delta.items() if pid not in app_tree and pid != os.getpid())
        busy = busy1[0] - busy0[0]
        return {"wall_s": round(wall, 2), "machine_busy_s": round(busy, 1),
                "machine_util": round(busy / max(busy1[1] - busy0[1], 1e-9), 2),
                "app_s": round(app, 1), "browser_s": round(browser, 1), "bench_s": round(me, 1),
                "others_s": round(busy - app - browser - me, 1)}


class RssSampler(threading.Thread):
    """VmRSS of the app and of its engine child every `interval` s; peaks and the peak sum."""

    def __init__(self, app_pid: int, interval: float = 0.2) -> None:
        super().__init__(daemon=True, name="rss-sampler")
        self.app_pid, self.interval = app_pid, interval
        self.engine_pid: int | None = None
        self.peak = {"app": 0, "engine": 0, "sum": 0, "app_anon": 0, "engine_anon": 0}
        self.marks: dict[str, dict[str, float]] = {}
        self._halt = threading.Event()

    def sample(self) -> dict[str, int]:
        if self.engine_pid is None:
            self.engine_pid = engine_child(self.app_pid)
        app = proc_status(self.app_pid)
        engine = proc_status(self.engine_pid) if self.engine_pid else {}
        now = {"app": app.get("VmRSS", 0), "engine": engine.get("VmRSS", 0),
               "app_anon": app.get("RssAnon", 0), "engine_anon": engine.get("RssAnon", 0)}
        now["sum"] = now["app"] + now["engine"]
        for key, value in now.items():
            self.peak[key] = max(self.peak[key], value)
        return now

    def mark(self, name: str) -> None:
        self.marks[name] = {k: round(v / 1024, 1) for k, v in self.sample().items()}

    def run(self) -> None:
        while not self._halt.wait(self.interval):
            self.sample()

    def finish(self) -> dict:
        self._halt.set()
        self.join(timeout=2)
        self.sample()
        app, engine = proc_status(self.app_pid), proc_status(self.engine_pid) if self.engine_pid else {}
        mb = lambda kb: round(kb / 1024, 1)  # noqa: E731
        report = {f"peak_{k}": mb(v) for k, v in self.peak.items()}
        report["hwm_app"] = mb(app.get("VmHWM", 0))
        if self.engine_pid:
            report["hwm_engine"] = mb(engine.get("VmHWM", 0))
            report["hwm_sum"] = round(report["hwm_app"] + report["hwm_engine"], 1)
        report["marks"] = self.marks
        return report
