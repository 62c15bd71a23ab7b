"""A class at once on one app process (issue 8): N browser sessions ask together.

Phase "a": 30 sessions (one Chromium, one browser context each) on ONE `streamlit run` of the
app, with OPENAI_BASE_URL at the tests' fault server (run in this process, so every request it
receives is recorded) and a throwaway OPENAI_API_KEY. Each session picks model "slow" (10
words, --slow-delay s apart: a lone answer needs 1 delay to its first word, 10 to its end) or
"long" (--a-max-tokens " tok" pieces, fast) in the sidebar; then all press Enter together,
each with its own question carrying a unique token ("session-17-3fa9c2").
Phase "b": 10 sessions on the built-in model (no keys), max_tokens --b-max-tokens; with the
engine's 4 slots the other 6 queue. Phase "b-f16": the same with LAB_LOCAL_KV_CACHE=f16 (a
fresh app, so a fresh engine), run only if the deadline leaves room.
Before each burst one session asks alone ("alone": the single-user baseline; it is also the
process's first request, which pays one-time costs).

Per session, times from the (trusted) Enter keydown in the chat input:
- ttft_s / total_s: on screen, from a MutationObserver in the page: first characters of the
  assistant's answer / the metrics row ("Finish reason"). echo_s: the question shown back.
- wire_ttft_s / wire_total_s: the same two events as websocket frames reaching Chromium's
  network stack (CDP; from the frame that sent the question), before the renderer draws.
- to_server_s (phase a): Enter -> the request at the fault server. app_ttft_s: the app's own
  TTFT (request -> first delta, from its metrics row).
The browsers share the 2 cores with the app (a class brings its own laptops), so the on-screen
times include the renderers' backlog; burst_cpu says who used the CPU (app incl. engine,
browser = Chromium + Playwright driver, bench = this process incl. the fault server, others =
the rest of the machine). To bring the harness closer to a class on its own laptops, CSS
animations are off in the pages (--animations keeps them) and Chromium runs at nice 19 during
the burst (--browser-nice 0: same priority as the app).
Correctness per session: messages are exactly [user, assistant]; the user message is its own
question; the answer is complete (a: exactly the scripted text / --a-max-tokens pieces; b: a
finish reason, no error, completion tokens <= max_tokens); the page's DOM holds no session
token but its own; the wire panel's request carries its own token and no other; no
stException, no alert. Phase a also: the fault server got exactly N chat POSTs, each with
exactly one token, each token once, all for the picked model. The app's log: no Traceback.
Memory: VmRSS of the app and of its engine child (`lib.models.engine_host`) every 0.2 s, and
VmHWM at the end; peak_sum (app + engine sampled together) is the Community Cloud figure
(goal < 1 GB; Cloud gives 690 MB-2.7 GB).

Only 127.0.0.1 is contacted. Bounded: each phase has a budget, and a watchdog kills the apps
and exits at --deadline + 30 s (default 450 s).

Usage: .venv/bin/python bench/classroom_load.py [--phases a,b,b-f16] [--sessions-a 30]
       [--sessions-b 10] [--slow-delay 0.2] [--a-model slow|long] [--b-max-tokens 64] [--keep]
Last line JSON: {"a": {...}, "b": {...}, "b_f16": {...}, "ok": bool, "wall_s", "loadavg"};
per phase: "ttft_s", "total_s", "wire_ttft_s" (a), "wire_total_s", "app_ttft_s", "echo_s",
"to_server_s" (a), each {p50, p95, max, n, all}; "alone", "burst_cpu", "rss_mb", "failures".
p95 is nearest-rank (with 10 sessions it is the slowest one).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import shutil
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.append(str(ROOT / "bench"))  # bench/classroom/ (as a script, bench/ is sys.path[0] already)

# The browser, page driving, /proc reading and statistics are in bench/classroom/
# (classroom_mode.py uses them too); one phase's run is classroom/load_phase.py.
from classroom.browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from classroom.load_phase import RUNNING_APPS, run_phase  # noqa: E402
from classroom.servers import TimedFaultServer, base_env  # noqa: E402
from tests.servers.fault_server import SLOW_PIECES  # noqa: E402

SLOW_TEXT = "".join(SLOW_PIECES)
# A frame carrying the answer's first words (and not the page's "Streaming chat" title, nor
# "max_tokens"): the fault server's pieces, only them (and write_stream's trailing space), at the
# end of a protobuf string.
SLOW_FRAME = re.compile(re.escape(SLOW_PIECES[0].encode()) + b"(?:"
                        + b"|".join(re.escape(p.encode()) for p in SLOW_PIECES[1:]) + rb")* ?(?![ A-Za-z_])")
LONG_FRAME = re.compile(rb"(?<![A-Za-z_])tok(?: tok)* ?(?![ A-Za-z_])")
FINISHED = re.compile(r"Finish reason\s+(stop|length)")
COMPLETION = re.compile(r"Completion tokens(?: \(est\.\))?\s+(\d+)")


def print_phase(name: str, r: dict) -> None:
    print(f"\n== {name}: {r.get('sessions')} sessions ==", flush=True)
    if "error" in r:
        print(f"  ERROR {r['error']}")
    if "alone" in r:
        print(f"  one session alone first (warm-up): {r['alone']}")
    for key in ("echo_s", "to_server_s", "ttft_s", "wire_ttft_s", "app_ttft_s", "total_s", "wire_total_s",
                "last_text_to_metrics_s"):
        if key in r:
            s = r[key]
            print(f"  {key:22s} p50 {s['p50']}  p95 {s['p95']}  max {s['max']}  (n={s['n']})")
            print(f"  {'':22s} sorted {sorted(v for v in s['all'] if v is not None)}")
    for key in ("app_start_s", "setup_s", "send_spread_s", "burst_wall_s", "burst_cpu", "app_cpu_s_burst",
                "engine_cpu_s_burst", "server_chat_requests", "ok_sessions", "log_tracebacks"):
        if key in r:
            print(f"  {key}: {r[key]}")
    rss = r.get("rss_mb", {})
    print("  rss MB: " + ", ".join(f"{k} {v}" for k, v in rss.items() if k != "marks"))
    for mark, values in rss.get("marks", {}).items():
        print(f"    at {mark}: " + ", ".join(f"{k} {v}" for k, v in values.items()))
    print(f"  failures: {len(r.get('failures', []))}")
    for failure in r.get("failures", [])[:15]:
        print(f"    - {failure}")


def expect_fault_answer(args):
    """Phase a's check of one answer: exactly what the fault server streamed."""
    def expect(answer: str, shown: str) -> list[str]:
        if args.a_model == "long":
            count = answer.split().count("tok")
            return [] if count == args.a_max_tokens else [f"{count} 'tok' of {args.a_max_tokens}"]
        complete = " ".join(answer.split()) == SLOW_TEXT and "Finish reason" in shown
        return [] if complete else [f"answer {answer[:120]!r}"]
    return expect


def expect_builtin_answer(cap: int):
    """Phase b's check of one answer: finished, not empty, within max_tokens."""
    def expect(answer: str, shown: str) -> list[str]:
        problems = []
        if not FINISHED.search(shown):
            problems.append(f"no finish reason: {shown[-200:]!r}")
        m = COMPLETION.search(shown)
        if not m or int(m.group(1)) > cap:
            problems.append(f"completion tokens {m and m.group(1)} > {cap}")
        if len(answer.strip()) < 5:
            problems.append(f"answer {answer!r}")
        return problems
    return expect


async def main_async(args) -> dict:
    from playwright.async_api import async_playwright

    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="classroom_load-"))
    results: dict = {}
    phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    if set(phases) - {"a", "b", "b-f16"}:
        raise SystemExit(f"unknown phase in {args.phases!r}: use a, b, b-f16")
    common = dict(warmup=not args.no_warmup, animations=args.animations, wire=not args.no_wire,
                  keep=args.keep, browser_nice=args.browser_nice)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                   args=CHROMIUM_ARGS)
        try:
            for phase in phases:
                key = phase.replace("-", "_")
                left = args.deadline - (time.monotonic() - started)
                needed, budget = (150, 240) if phase == "a" else (100, 200)
                if left < needed:
                    results[key] = {"skipped": f"{left:.0f} s left before the deadline"}
                    print(f"\n== {phase}: skipped, {left:.0f} s left before the deadline ==", flush=True)
                    continue
                timeout = min(left - 20, budget)
                if phase == "a":
                    n = args.sessions_a
                    with TimedFaultServer(slow_delay=args.slow_delay, history=2000) as fault:
                        env = base_env({"OPENAI_BASE_URL": fault.base_url,
                                        "OPENAI_API_KEY": f"sk-bench-{secrets.token_hex(8)}"})
                        coro = run_phase(
                            browser, key, n, env, workdir, model=args.a_model,
                            max_tokens=args.a_max_tokens if args.a_model == "long" else None,
                            fault=fault, expect=expect_fault_answer(args),
                            wire_marker=SLOW_FRAME if args.a_model == "slow" else LONG_FRAME, **common)
                        try:
                            results[key] = await asyncio.wait_for(coro, timeout=timeout)
                        except asyncio.TimeoutError:
                            results[key] = {"sessions": n, "error": f"phase over {timeout:.0f} s",
                                            "failures": ["timeout"]}
                    results[key].update(model=args.a_model, slow_delay=args.slow_delay)
                    print_phase("A: fault server", results[key])
                else:
                    n, cap = args.sessions_b, args.b_max_tokens
                    kv = "f16" if phase == "b-f16" else "q8_0"
                    env = base_env({"LAB_LOCAL_KV_CACHE": kv})
                    coro = run_phase(browser, key, n, env, workdir, model=None, max_tokens=cap,
                                     fault=None, expect=expect_builtin_answer(cap), **common)
                    try:
                        results[key] = await asyncio.wait_for(coro, timeout=timeout)
                    except asyncio.TimeoutError:
                        results[key] = {"sessions": n, "error": f"phase over {timeout:.0f} s",
                                        "failures": ["timeout"]}
                    results[key].update(kv_cache=kv, max_tokens=cap)
                    print_phase(f"{phase}: built-in model, KV cache {kv}", results[key])
        finally:
            await browser.close()
    ok = all(not r.get("failures") and "error" not in r for r in results.values() if "skipped" not in r)
    results.update(ok=ok, browser_nice=args.browser_nice, wall_s=round(time.monotonic() - started, 1), workdir=str(workdir),
                   loadavg=round(os.getloadavg()[0], 2), cpus=len(os.sched_getaffinity(0)))
    if ok and not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
        results["workdir"] = None
    else:
        print(f"\nlogs kept in {workdir}")
    return results


def compact(results: dict) -> dict:
    """The JSON line: per-session lists are kept, marks dropped."""
    out = {}
    for key, value in results.items():
        if isinstance(value, dict):
            value = {k: v for k, v in value.items()}
            if "rss_mb" in value:
                value["rss_mb"] = {k: v for k, v in value["rss_mb"].items() if k != "marks"}
        out[key] = value
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phases", default="a,b,b-f16")
    parser.add_argument("--sessions-a", type=int, default=30)
    parser.add_argument("--sessions-b", type=int, default=10)
    parser.add_argument("--a-model", choices=("slow", "long"), default="slow")
    parser.add_argument("--a-max-tokens", type=int, default=200, help='"long" pieces per answer')
    parser.add_argument("--slow-delay", type=float, default=0.2, help='seconds between "slow" deltas')
    parser.add_argument("--b-max-tokens", type=int, default=64)
    parser.add_argument("--deadline", type=float, default=450.0, help="hard stop, seconds")
    parser.add_argument("--no-warmup", action="store_true",
                        help="no single session before the burst (the burst then hits a cold process)")
    parser.add_argument("--animations", action="store_true",
                        help="leave CSS animations on (by default off: the browsers share the app's CPU)")
    parser.add_argument("--no-wire", action="store_true",
                        help="no CDP websocket timing (wire_ttft_s / wire_total_s)")
    parser.add_argument("--browser-nice", type=int, default=19,
                        help="niceness of Chromium during the burst (0: same priority as the app)")
    parser.add_argument("--keep", action="store_true", help="keep logs (and screenshots of failures)")
    args = parser.parse_args()
    if args.sessions_a > 98 or args.sessions_b > 98:
        raise SystemExit("at most 98 sessions (two-digit tokens; session-99 is the warm-up's)")

    def watchdog() -> None:  # last resort: stop the apps (their engines die with them), then exit
        for process in list(RUNNING_APPS):
            try:
                os.killpg(process.process.pid, signal.SIGKILL)
            except OSError:
                pass
        print(json.dumps({"ok": False, "error": f"watchdog: over {args.deadline + 30:.0f} s"}), flush=True)
        os._exit(3)
    timer = threading.Timer(args.deadline + 30, watchdog)
    timer.daemon = True
    timer.start()
    results = asyncio.run(main_async(args))
    timer.cancel()
    print(json.dumps(compact(results)))


if __name__ == "__main__":
    main()
