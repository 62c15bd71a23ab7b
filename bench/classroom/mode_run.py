"""classroom_mode.py's run: its servers, its parts in order (each within its budget and the
deadline), what it prints about each, and the results its JSON line is made from."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from classroom.browser import CHROMIUM, CHROMIUM_ARGS, short
from classroom.burst import part_class
from classroom.conversation import MESSAGES, conversation
from classroom.mode_servers import GC_ENV, PACE, RUNNING, TOKENS, App, new_fault_process
from classroom.mode_stats import loadavg, summary
from classroom.reload import ReloadSubject, part_reload
from classroom.saves import save_cost
from classroom.stream import Streamer
from lib.persistence.redis_store import RedisStore
from lib.persistence.sqlite_store import SQLiteStore
from tests.persistence.redis_server import start_redis


def print_summary(label: str, s: dict, unit: str = "s") -> None:
    print(f"  {label:34s} p50 {s['p50']} {unit}  p90 {s['p90']}  p95 {s['p95']}  max {s['max']}  (n={s['n']})")


async def main_async(args) -> dict:
    from playwright.async_api import async_playwright

    started = time.monotonic()
    parts = {p.strip() for p in args.parts.split(",") if p.strip()}
    workdir = Path(tempfile.mkdtemp(prefix="classroom_mode-"))
    failures: list[str] = []
    results: dict = {"loadavg": {"start": loadavg()}, "cpus": len(os.sched_getaffinity(0)),
                     "post_script_gc": not GC_ENV}
    print(f"load average at start {results['loadavg']['start']} on {results['cpus']} CPUs", flush=True)
    fault_proc, fault_url = new_fault_process()
    env = {"OPENAI_BASE_URL": fault_url, "OPENAI_API_KEY": "sk-bench-classroom-mode", **GC_ENV}
    apps: list[App] = []
    redis_proc = None

    def stop_servers() -> None:
        """Redis and the fault server's process, which only parts 1 and 2 use (again: a no-op)."""
        if redis_proc is not None:
            redis_proc.stop()
        fault_proc.terminate()
        fault_proc.wait(timeout=10)
        RUNNING[:] = [p for p in RUNNING if p not in (redis_proc, fault_proc)]

    walls: dict[str, float] = {}
    results["part_wall_s"] = walls
    current: list = [None, time.monotonic()]

    def mark(part: str | None) -> None:
        """Start timing `part` (None: the end); the load average as each part starts."""
        if current[0] is not None:
            walls[current[0]] = round(time.monotonic() - current[1], 1)
        current[:] = [part, time.monotonic()]
        if part is not None:
            results["loadavg"][f"part_{part}"] = loadavg()

    def left() -> float:
        return args.deadline - (time.monotonic() - started)

    async def bounded(name: str, coro, budget: float):
        timeout = min(budget, left() - 15)
        if timeout < 20:
            coro.close()
            failures.append(f"{name}: skipped, {left():.0f} s left before the deadline")
            return None
        try:
            return await asyncio.wait_for(coro, timeout=timeout)
        except asyncio.TimeoutError:
            failures.append(f"{name}: over its {timeout:.0f} s budget")
        except Exception as exc:  # noqa: BLE001 - reported, the next part still runs
            failures.append(f"{name}: {short(exc)}")
        return None

    sqlite_path = workdir / "sessions.sqlite3"
    try:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                       args=CHROMIUM_ARGS)
            try:
                sqlite_app = App("sqlite", workdir, {**env, "LAB_STORE_URL": f"sqlite:///{sqlite_path}"})
                apps.append(sqlite_app)
                sqlite_store = SQLiteStore(sqlite_path)
                if "1" in parts:
                    mark("1")
                    print("\n== 1. reload -> 50 messages restored ==", flush=True)
                    redis_dir = workdir / "redis"
                    redis_dir.mkdir()
                    redis_proc, redis_url = start_redis(redis_dir)
                    RUNNING.append(redis_proc)
                    redis_app = App("redis", workdir, {**env, "LAB_STORE_URL": redis_url})
                    apps.append(redis_app)
                    subjects = [ReloadSubject("sqlite", sqlite_app, sqlite_store),
                                ReloadSubject("redis", redis_app, RedisStore(redis_url))]
                    results["reload"] = await bounded("reload", part_reload(
                        browser, subjects, args.reloads, failures), 60 + 25 * args.reloads) or {}
                    results["reload"]["loadavg"] = loadavg()
                    redis_app.close()
                    for kind in ("sqlite", "redis"):
                        if kind not in results["reload"]:
                            continue
                        r = results["reload"][kind]
                        print(f" {kind} ({r['saved_json_bytes']:,} bytes of conversation JSON), "
                              f"from the reload's navigation start:")
                        print_summary("50 messages: lesson heading drawn", r["heading_s"])
                        print_summary("50 messages: all 50 drawn", r["restored_s"])
                        print_summary("  (from the page.reload() call)", r["restored_from_call_s"])
                        print_summary("50 messages: run over", r["ready_s"])
                        print_summary("empty: lesson heading drawn", r["empty_heading_s"])
                        print_summary("empty: run over", r["empty_ready_s"])
                        print_summary("app CPU per reload, 50 messages", r["app_cpu_ms_per_reload"], "ms")
                        print_summary("app CPU per reload, empty", r["empty_app_cpu_ms_per_reload"], "ms")
                    print(f"  loadavg {results['reload']['loadavg']}")

                settings: dict = {}
                if "2" in parts:
                    mark("2")
                    print(f"\n== 2. streaming {TOKENS} tokens at {PACE:.0f} tok/s after "
                          f"{MESSAGES} messages: store on (SQLite) vs off ==", flush=True)
                    off_app = App("off", workdir, {**env, "LAB_STORE_URL": "off"})
                    apps.append(off_app)
                    uploads = [workdir / "conversation-a.json", workdir / "conversation-b.json"]
                    for seed, upload in enumerate(uploads, 5):  # two files: each import is a change
                        upload.write_text(json.dumps([{"role": m["role"], "content": m["content"]}
                                                      for m in conversation(seed=seed)]))
                    rows: dict[str, list] = {"on": [], "off": []}
                    streamers = {"on": Streamer("on", sqlite_app, sqlite_path, sqlite_store),
                                 "off": Streamer("off", off_app, None, None)}

                    async def rounds():
                        try:
                            for streamer in streamers.values():
                                await streamer.open(browser)
                            for i in range(args.rounds):
                                order = ("on", "off") if i % 2 == 0 else ("off", "on")
                                for label in order:
                                    row = await streamers[label].round(uploads[i % 2], failures,
                                                                       f"{label} {i + 1}")
                                    if "saved" in row:
                                        settings.update(row.pop("saved"))
                                    rows[label].append(row)
                                    after = row.get("save_after_last_token_ms")
                                    extra = (f", store commits in the turn {row['commits']} (before the answer"
                                             f" was complete {row['commits_before_answer_complete']}), save "
                                             f"{after if after is None else round(after)} ms after the last"
                                             " token on screen" if label == "on" else "")
                                    print(f"  round {i + 1} store {label:3s}: {row['tok_s']:.1f} tok/s in the page, "
                                          f"Enter -> last token {row['enter_to_last_s']:.2f} s{extra}; "
                                          f"loadavg {loadavg()}", flush=True)
                        finally:
                            for streamer in streamers.values():
                                await streamer.close()
                    await bounded("stream", rounds(), 60 + 40 * args.rounds)
                    off_app.close()
                    if rows["on"] and rows["off"]:
                        on = statistics.median(r["tok_s"] for r in rows["on"])
                        off = statistics.median(r["tok_s"] for r in rows["off"])
                        results["stream"] = {
                            "tok_s_on": round(on, 1), "tok_s_off": round(off, 1),
                            "ratio": round(on / off, 3),
                            "enter_to_last_s_on": summary([r["enter_to_last_s"] for r in rows["on"]]),
                            "enter_to_last_s_off": summary([r["enter_to_last_s"] for r in rows["off"]]),
                            "tok_s_all": {k: [round(r["tok_s"], 1) for r in v] for k, v in rows.items()},
                            "commits_in_the_turn": [r["commits"] for r in rows["on"]],
                            "commits_before_answer_complete": [r["commits_before_answer_complete"]
                                                               for r in rows["on"]],
                            "save_after_last_token_ms": summary(
                                [r["save_after_last_token_ms"] for r in rows["on"]], 1),
                            "loadavg": loadavg()}
                        s = results["stream"]
                        if s["ratio"] < 0.95:
                            failures.append(f"stream: with the store {s['ratio']} x the tok/s without (goal >= 0.95)")
                        print(f"  tok/s in the page: store on {s['tok_s_on']}, off {s['tok_s_off']}: "
                              f"ratio {s['ratio']} (goal >= 0.95)")

                    mark("2b")
                    print(f"\n== 2b. one save in this process ({args.saves} turns, {MESSAGES} messages) ==",
                          flush=True)
                    results["save"] = {"sqlite": save_cost(SQLiteStore(workdir / "save-cost.sqlite3"),
                                                           args.saves, settings)}
                    if redis_proc is None:
                        redis_dir = workdir / "redis"
                        redis_dir.mkdir(exist_ok=True)
                        redis_proc, redis_url = start_redis(redis_dir)
                        RUNNING.append(redis_proc)
                    results["save"]["redis"] = save_cost(RedisStore(redis_url), args.saves, settings)
                    results["save"]["settings_from_the_app"] = bool(settings)
                    for kind in ("sqlite", "redis"):
                        r = results["save"][kind]
                        print(f"  {kind}: after a turn {r['turn_save']}, nothing changed {r['unchanged_save']}, "
                              f"load {r['load']}; encoding the conversation alone {r['encode_conversation']} "
                              f"({r['conversation_json_bytes']:,} bytes, {r['without_last_request_bytes']:,} "
                              f"without the last answer's `request`; {r['saved_names']} saved names); "
                              f"nothing changed, 500 messages ({r['conversation_500_json_bytes']:,} bytes): "
                              f"{r['unchanged_save_500_messages']}")
                sqlite_app.close()
                sqlite_store.close()
                stop_servers()  # part 3's app is then the only server: renice_browser spares it alone

                if "3" in parts:
                    mark("3")
                    print(f"\n== 3. {args.sessions} sessions send at once, then reload (one app, SQLite) ==",
                          flush=True)
                    budget = left() - 15
                    r = await bounded("class", part_class(browser, workdir, args.sessions, failures,
                                                          time.monotonic() + budget - 20, args.browser_nice),
                                      budget)
                    if r:
                        results["class"] = r
                        print("  answers on screen (from the common Enter):")
                        print_summary("", r["answer_on_screen_s"])
                        print_summary("saves landed (from Enter)", r["saves_landed_s"])
                        print_summary("request at the fault server", r["request_at_server_s"])
                        print_summary("save landed - answer on screen", r["save_landed_minus_answer_on_screen_s"])
                        print_summary("answer on the wire (CDP)", r["answer_on_the_wire_s"])
                        print_summary("reload -> restored (2 msgs)", r["reload_restored_s"])
                        print_summary("reload -> restored on the wire", r["reload_restored_on_the_wire_s"])
                        print(f"  all saves landed {r['all_saves_landed_s']} s after the common Enter; "
                              f"send spread {r['send_spread_s']} s; ok sessions {r['ok_sessions']}/{r['sessions']}; "
                              f"server requests {r['server_chat_requests']}; tracebacks {r['log_tracebacks']}; "
                              f"app CPU {r['app_cpu_s_burst']} s in the {r['burst_wall_s']} s burst "
                              f"({r.get('app_cpu_s_until_all_saved')} s of it until all saves landed); "
                              f"loadavg after {r['loadavg_after_burst']}")
            finally:
                await browser.close()
    finally:
        for app in apps:
            app.close()
            count, first = app.tracebacks()
            if count:
                failures.append(f"app {app.name}: {count} Traceback(s) in its log; first: {first}")
        stop_servers()
    mark(None)
    results["loadavg"]["end"] = loadavg()
    results.update(failures=failures, ok=not failures, wall_s=round(time.monotonic() - started, 1))
    if failures or args.keep:
        results["workdir"] = str(workdir)
        print(f"\nlogs kept in {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return results
