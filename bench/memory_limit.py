"""Peak memory of the app with both lessons used, under Community Cloud's 690 MB and without a
limit, and with the built-in models on an external fleet (what one replica needs).

Each scenario starts a fresh `streamlit run` inside a memory cgroup of its own (the browser
stays outside; tests/servers/memory_cgroup.py), then in headless Chromium: two chat messages
on Streaming chat (built-in model, max_tokens 64), Base vs instruct with the offline pair
("Generate both", its default 75 new tokens), one more chat message. Scenarios:
- limit_690: the app alone in 690 MB. The base model must be refused with a message.
- no_limit: the same without a limit (both engines run): the figure the limit saves.
- fleet / fleet_690: LAB_BUILTIN_BASE_URL and LAB_BUILTIN_BASE_MODEL_URL at two external
  `python -m lib.serve` (SmolLM2, Gemma; outside the cgroup): the app's own memory alone.
Figures (MB): VmHWM of the app and of each engine child (the kernel's peak RSS per process),
peak_tree_mb (app + engines sampled together every 0.2 s), cgroup_peak_mb (the cgroup's
memory.max_usage_in_bytes / memory.peak: RSS plus page cache charged to it), oom_kill, and
what Base vs instruct did ("ran" or "refused"). Needs root and a memory cgroup (v1 or v2).
Last line JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lib.models.fleet import API_KEY_ENV, BASE_MODEL_URL_ENV, BASE_URL_ENV  # noqa: E402
from lib.models.shipped import GEMMA3_BASE  # noqa: E402
from tests.browser.test_builtin_robustness import (open_chat, send, set_max_tokens,  # noqa: E402
                                                   wait_for_complete_answer)
from tests.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.servers.memory_cgroup import (COMMUNITY_CLOUD_BYTES, CgroupUnavailable,  # noqa: E402
                                         MemoryCgroup)
from tests.servers.process_tree import app_pid, engine_children, proc_status  # noqa: E402
from tests.servers.processes import ServerProcess, free_port  # noqa: E402
from tests.servers.streamlit_app import start_app, wait_for_app_run  # noqa: E402

UNLIMITED = 64 * 2**30
FLEET_KEY = "sk-bench-fleet-key"
REFUSED = "is not started: this machine allows the app"


class TreeSampler(threading.Thread):
    """VmRSS of the app and every engine below it, summed, every `interval` s: the peak."""

    def __init__(self, app: int, interval: float = 0.2) -> None:
        super().__init__(daemon=True, name="tree-rss")
        self.app, self.interval, self.peak_kb = app, interval, 0
        self.engines: set[int] = set()
        self._halt = threading.Event()

    def sample(self) -> None:
        self.engines.update(engine_children(self.app))
        total = sum(proc_status(pid).get("VmRSS", 0) for pid in {self.app, *self.engines})
        self.peak_kb = max(self.peak_kb, total)

    def run(self) -> None:
        while not self._halt.wait(self.interval):
            self.sample()

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=2)


def start_fleet(folder: Path) -> tuple[list[ServerProcess], dict[str, str]]:
    """Two `python -m lib.serve` (SmolLM2, Gemma): the operator's fleet, outside any cgroup."""
    servers, urls = [], {}
    for name, model in ((BASE_URL_ENV, "SmolLM2-135M-Instruct"), (BASE_MODEL_URL_ENV, GEMMA3_BASE.id)):
        port = free_port()
        server = ServerProcess([sys.executable, "-m", "lib.serve", "--port", str(port), "--threads", "1",
                                "--model", model, "--api-key", FLEET_KEY],
                               folder / f"serve-{model}.log", env=dict(os.environ), cwd=ROOT)
        server.wait_until_ready(f"http://127.0.0.1:{port}/health", timeout=120)
        servers.append(server)
        urls[name] = f"http://127.0.0.1:{port}/v1"
    return servers, {**urls, API_KEY_ENV: FLEET_KEY}


def use_both_lessons(page, url: str) -> str:
    """Chat twice, Base vs instruct once, chat again; returns what Base vs instruct did."""
    open_chat(page, url)
    set_max_tokens(page, 64)
    for index, question in ((1, "Name three colours."), (3, "And three animals?")):
        send(page, question)
        wait_for_complete_answer(page, index, timeout=180_000)
    page.goto(f"{url}/Base_vs_Instruct")
    wait_for_app_run(page, timeout=180_000)
    page.get_by_role("button", name="Generate both").click()
    page.get_by_text("First token").nth(1).or_(page.get_by_text(REFUSED).first).wait_for(timeout=300_000)
    wait_for_app_run(page, timeout=180_000)
    outcome = "refused" if page.get_by_text(REFUSED).count() else "ran"
    open_chat(page, url)
    send(page, "Which one is the largest?")
    wait_for_complete_answer(page, 5, timeout=180_000)
    return outcome


def scenario(browser, name: str, limit: int, env: dict[str, str], folder: Path) -> dict:
    group = MemoryCgroup.create(limit, name=f"lab-bench-{name}")
    home = folder / f"home-{name}"
    home.mkdir()
    process = None
    try:
        with group.spawning():
            process, url = start_app(folder / f"app-{name}.log", home, env)
        app = app_pid(url)
        sampler = TreeSampler(app)
        sampler.start()
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.set_default_timeout(30_000)
        try:
            outcome = use_both_lessons(page, url)
        finally:
            context.close()
            sampler.stop()
        sampler.sample()
        mb = lambda kb: round(kb / 1024, 1)  # noqa: E731
        stats = group.stats()
        result = {
            "limit_mb": None if limit >= UNLIMITED else round(limit / 2**20),
            "base_vs_instruct": outcome,
            "hwm_app_mb": mb(proc_status(app).get("VmHWM", 0)),
            "hwm_engines_mb": [mb(proc_status(pid).get("VmHWM", 0)) for pid in sorted(sampler.engines)],
            "peak_tree_mb": mb(sampler.peak_kb),
            "cgroup_peak_mb": round((stats["peak"] or 0) / 2**20, 1),
            "oom_kill": stats["oom_kill"], "failcnt": stats["failcnt"],
            "app_alive": process.process.poll() is None,
        }
    finally:
        if process is not None:
            process.stop()
        group.remove()
    print(f"{name}: {result}", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenarios", default="limit_690,no_limit,fleet,fleet_690")
    args = parser.parse_args()
    try:
        MemoryCgroup.create(UNLIMITED, name="lab-bench-probe").remove()
    except CgroupUnavailable as exc:  # not a failure of the app: `make bench` goes on
        print(f"skipped: no memory cgroup can be made here ({exc})")
        print(json.dumps({"skipped": str(exc)}))
        return
    from playwright.sync_api import sync_playwright

    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp, sync_playwright() as playwright:
        folder = Path(tmp)
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        wanted = args.scenarios.split(",")
        fleet, fleet_env = start_fleet(folder) if any(s.startswith("fleet") for s in wanted) else ([], {})
        try:
            plans = {"limit_690": (COMMUNITY_CLOUD_BYTES, {}), "no_limit": (UNLIMITED, {}),
                     "fleet": (UNLIMITED, fleet_env), "fleet_690": (COMMUNITY_CLOUD_BYTES, fleet_env)}
            for name in wanted:
                limit, env = plans[name]
                results[name] = scenario(browser, name, limit, {"LAB_BASE_MODEL_MIN_MEMORY_MB": None, **env},
                                         folder)
        finally:
            for server in fleet:
                server.stop()
            browser.close()
    print(json.dumps(results))


if __name__ == "__main__":
    main()
