"""The README's first command on a fresh machine: `make run` (= scripts/setup.sh app, then
`streamlit run Home.py`) from nothing to an app a browser can use.

For each case, the committed HEAD of this repository is cloned (`git clone`) into a temp dir;
``bash scripts/setup.sh app`` is timed there (uv creates .venv and installs uv.lock's app
packages); then ``streamlit run Home.py`` with that .venv is timed until /_stcore/health
answers "ok" and until the home page has rendered in Chromium (connected, script run done).

Cases:
- cold: a fresh, empty UV_CACHE_DIR, so every package is downloaded from PyPI;
- warm: a new clone with the cache the cold case filled (a second checkout on this machine);
- rerun: setup.sh again in the warm clone, already set up (every later `make run`).

The Python interpreter is whatever uv finds on this machine (reported); it is not part of
the download. Temp dirs (clones, .venvs, the cache) are removed at the end.

Usage: python bench/setup_time.py [--runs 2]
Last line JSON: {"cold": {"setup_s", "health_s", "app_ready_s", "total_s"}, "warm": {...},
"rerun_setup_s", "download_mb" (received over the network during the cold setup),
"uv_cache_mb", "python", "runs"}
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.servers.processes import ServerProcess, free_port  # noqa: E402
from tests.servers.streamlit_app import APP_READY  # noqa: E402

# Nothing from this shell may point uv or the app elsewhere.
DROPPED_ENV = ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT", "UV_CACHE_DIR", "LAB_VENV", "PYTHONPATH",
               "UV_NO_CACHE", "UV_OFFLINE")
DROPPED_PREFIXES = ("OPENAI_", "OPENROUTER_", "STREAMLIT_", "LAB_LOCAL_")


def clean_env(cache: Path, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in DROPPED_ENV and not k.startswith(DROPPED_PREFIXES)}
    env.update(UV_CACHE_DIR=str(cache), PYTHONUNBUFFERED="1", HOME=str(home))
    return env


def dir_mb(path: Path) -> float:
    out = subprocess.run(["du", "-sm", str(path)], capture_output=True, text=True)
    return float(out.stdout.split()[0]) if out.returncode == 0 and out.stdout else 0.0


def received_bytes() -> int:
    """Bytes received by every network interface but loopback (the machine's, not only ours)."""
    total = 0
    for line in Path("/proc/net/dev").read_text().splitlines()[2:]:
        name, _, fields = line.partition(":")
        if name.strip() != "lo":
            total += int(fields.split()[0])
    return total


def setup(repo: Path, env: dict[str, str], log: Path) -> float:
    started = time.perf_counter()
    with open(log, "ab") as out:
        done = subprocess.run(["bash", "scripts/setup.sh", "app"], cwd=repo, env=env,
                              stdout=out, stderr=subprocess.STDOUT, timeout=900)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"setup.sh failed ({done.returncode}):\n{log.read_text()[-3000:]}")
    return seconds


def app_ready(repo: Path, env: dict[str, str], browser, log: Path) -> tuple[float, float]:
    """(seconds to /_stcore/health "ok", seconds to the home page rendered in Chromium)."""
    port = free_port()
    command = [str(repo / ".venv" / "bin" / "python"), "-m", "streamlit", "run", "Home.py",
               "--server.headless", "true", "--server.port", str(port),
               "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"]
    url = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    process = ServerProcess(command, log, env=env, cwd=repo)
    try:
        process.wait_until_ready(f"{url}/_stcore/health", timeout=120,
                                 ready=lambda body: body.strip() == "ok")
        health = time.perf_counter() - started
        page = browser.new_page()
        try:
            page.goto(url)
            page.locator(APP_READY).wait_for(state="attached", timeout=120_000)
            rendered = time.perf_counter() - started
            if page.locator('[data-testid="stException"]').count():
                print("warning: the home page shows an exception")
        finally:
            page.close()
    finally:
        process.stop()
    return health, rendered


def one_case(name: str, tmp: Path, cache: Path, browser) -> tuple[dict, Path]:
    repo = tmp / f"repo-{name}"
    home = tmp / f"home-{name}"
    home.mkdir()
    env = clean_env(cache, home)
    subprocess.run(["git", "clone", "-q", str(ROOT), str(repo)], check=True, env=env)
    log = tmp / f"{name}.log"
    received = received_bytes()
    setup_s = setup(repo, env, log)
    received_mb = (received_bytes() - received) / 1e6
    health_s, ready_s = app_ready(repo, env, browser, tmp / f"{name}-app.log")
    python = subprocess.run([str(repo / ".venv" / "bin" / "python"), "-c",
                             "import sys; print(sys.version.split()[0], sys.base_prefix)"],
                            capture_output=True, text=True).stdout.strip()
    result = {"setup_s": round(setup_s, 1), "health_s": round(health_s, 2),
              "app_ready_s": round(ready_s, 2), "total_s": round(setup_s + ready_s, 1),
              "python": python, "received_mb": round(received_mb)}
    print(f"{name}: setup.sh app {setup_s:.1f} s; streamlit run -> health {health_s:.2f} s, "
          f"page rendered {ready_s:.2f} s; total {setup_s + ready_s:.1f} s; "
          f"{received_mb:.0f} MB received during setup "
          f"(venv {dir_mb(repo / '.venv'):.0f} MB, uv cache {dir_mb(cache):.0f} MB)", flush=True)
    return result, repo


def med_range(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} [{min(values):.1f}–{max(values):.1f}]"


def pypi_address() -> str:
    import socket

    try:
        return socket.gethostbyname("files.pythonhosted.org")
    except OSError:
        return "?"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=2, help="cold + warm pairs")
    args = parser.parse_args()
    git_head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                              capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                           capture_output=True, text=True).stdout.strip()
    print(f"cloning committed HEAD {git_head}"
          + (" (the working tree has uncommitted changes: they are not measured)" if dirty else ""))
    results: dict[str, list[dict]] = {"cold": [], "warm": [], "rerun": []}
    download_mb = []
    tmp = Path(tempfile.mkdtemp(prefix="lab-setup-"))
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                for run in range(args.runs):
                    cache = tmp / f"uv-cache-{run}"
                    cache.mkdir()
                    cold, _ = one_case(f"cold{run}", tmp, cache, browser)
                    download_mb.append(dir_mb(cache))
                    results["cold"].append(cold)
                    warm, repo = one_case(f"warm{run}", tmp, cache, browser)
                    results["warm"].append(warm)
                    rerun = setup(repo, clean_env(cache, tmp / f"home-warm{run}"),
                                  tmp / f"rerun{run}.log")
                    results["rerun"].append({"setup_s": round(rerun, 2)})
                    print(f"rerun: setup.sh app in the set-up clone {rerun:.2f} s", flush=True)
                    for name in (f"repo-cold{run}", f"repo-warm{run}", f"uv-cache-{run}"):
                        shutil.rmtree(tmp / name, ignore_errors=True)
            finally:
                browser.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    summary = {}
    for case in ("cold", "warm"):
        rows = results[case]
        summary[case] = {key: round(statistics.median(r[key] for r in rows), 2)
                         for key in ("setup_s", "health_s", "app_ready_s", "total_s")}
        print(f"{case} cache, median [range] of {len(rows)}: setup "
              f"{med_range([r['setup_s'] for r in rows])} s + app ready "
              f"{med_range([r['app_ready_s'] for r in rows])} s = total "
              f"{med_range([r['total_s'] for r in rows])} s")
    summary["rerun_setup_s"] = round(statistics.median(r["setup_s"] for r in results["rerun"]), 2)
    summary["download_mb"] = round(statistics.median(r["received_mb"] for r in results["cold"]))
    summary["uv_cache_mb"] = round(statistics.median(download_mb))
    summary["python"] = results["cold"][0]["python"]
    summary["runs"] = args.runs
    print(f"cold setup received {summary['download_mb']} MB over the network (uv cache after it: "
          f"{summary['uv_cache_mb']} MB unpacked); python: {summary['python']}")
    print(f"note: files.pythonhosted.org resolves to {pypi_address()} here; at 10 MB/s the "
          f"download alone would take ~{summary['download_mb'] / 10:.0f} s")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
