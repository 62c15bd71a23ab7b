"""The built-in model on its engine (llama.cpp's server via xllamacpp, in a child process):
load time, tokens/s with 1 thread and with every thread, peak memory of the engine, several
streams side by side, and the first token from a cold process.

Each engine setting runs in a worker process of its own (``--worker``): the settings are read
from LAB_LOCAL_* when the server starts, once per process. A worker starts the server with
``local_server()`` (the app's path), then streams greedy 200-token answers through
``make_provider`` / ``ChatProvider.stream_chat`` (one provider per thread when streams run side
by side) and reads the engine child's /proc/<pid>/status (VmHWM: peak RSS).

Figures per answer: the client's tok/s (``ChatStream.metrics``: tokens after the first one over
the time since it) and the engine's own (llama.cpp's ``timings.predicted_per_second`` from the
final SSE event, read from the provider's inspector). With n streams side by side: per-stream
tok/s and total tok/s (all completion tokens over the wall time of the round).

A busy machine can slow the engine to a crawl (two threads on two shared cores do): an answer
still running after 20 s is cut and its rate taken from the tokens that arrived, and a setting
repeats its measurements only within a time budget, so the script stays within ~5 minutes.

Usage: python bench/builtin_model.py [--runs 3] [--rounds 2] [--cold 3] [--max-tokens 200]
Last line JSON: {"load_s", "local_server_s", "rss_mb" (each by setting: t1_q8_0 = the defaults
here, t2_q8_0, t1_f16), "tokens_per_s": {"<threads>": ..}, "engine_tokens_per_s",
"tokens_per_s_f16", "concurrent": {"<threads>": {"<n>": {"per_stream", "total"}}},
"cold_start_first_token_s", "cold_start_script_s", "loadavg"}.
Goals (issue 2): >= 40 tok/s on a 200-token answer; first reply within 15 s of a cold start.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PROMPT = [
    {"role": "system", "content": "You help travelers make plans for their trips."},
    {"role": "user", "content": "Write a detailed seven-day plan for a first trip to Paris, "
                                "with museums, food, walks and day trips for every day."},
]
SETTINGS_ENV = ("LAB_LOCAL_THREADS", "LAB_LOCAL_SLOTS", "LAB_LOCAL_CONTEXT", "LAB_LOCAL_KV_CACHE")


# --- worker: one engine setting, in its own process ------------------------------------------

def engine_timings(inspector) -> dict:
    """llama.cpp's own `timings` from the last streamed answer this inspector saw."""
    latest = inspector.latest() or {}
    for event in reversed(latest.get("response", {}).get("sse_events", [])):
        data = event.removeprefix("data:").strip()
        if '"timings"' in data:
            return json.loads(data).get("timings", {})
    return {}


def memory_mb(pid: int) -> dict[str, float]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmHWM", "VmRSS"):
            fields[name] = round(int(value.split()[0]) / 1024, 1)
    return fields


def one_answer(provider, options, barrier=None, limit_s: float = 20.0) -> dict:
    """One streamed answer. A stream still running after ``limit_s`` is closed (a busy
    machine can slow it to a crawl) and marked cut; its rate is then taken from the deltas
    that arrived (llama.cpp streams one token per delta)."""
    from lib.config import BUILTIN

    if barrier is not None:
        barrier.wait()
    started = time.perf_counter()
    stream = provider.stream_chat(PROMPT, BUILTIN.suggested_models[0], options)
    fired = threading.Event()
    watchdog = threading.Timer(limit_s, lambda: (fired.set(), stream.close()))
    watchdog.start()
    arrivals = []
    for _ in stream:
        arrivals.append(time.perf_counter())
    watchdog.cancel()
    ended = time.perf_counter()
    cut = fired.is_set()
    if stream.error and not cut:
        raise RuntimeError(str(stream.error))
    m = stream.metrics
    timings = {} if cut else engine_timings(provider.inspector)
    delta_tps = ((len(arrivals) - 1) / (arrivals[-1] - arrivals[0])
                 if len(arrivals) > 2 else None)
    return {"started": started, "ended": ended, "tokens": m.completion_tokens if not cut
            else len(arrivals), "ttft_s": m.ttft_s, "finish": m.finish_reason, "cut": cut,
            "client_tps": delta_tps if cut else m.tokens_per_s,
            "engine_tps": timings.get("predicted_per_second")}


def worker(spec: dict) -> dict:
    from lib.chat.providers import make_provider
    from lib.chat.sampling import SamplingOptions
    from lib.config import BUILTIN
    from lib.inspector import Inspector
    from lib.models.engine import local_server

    started = time.perf_counter()
    server = local_server()
    wall = time.perf_counter() - started
    out = {"settings": server.settings.model_dump(), "slots": server.slots,
           "context_per_slot": server.context_per_slot, "load_s": server.load_seconds,
           "local_server_s": round(wall, 3), "mem_after_load": memory_mb(server.process.pid)}

    greedy = SamplingOptions(temperature=0.0, max_tokens=spec["max_tokens"])
    provider = make_provider(BUILTIN, Inspector())
    warm = one_answer(provider, SamplingOptions(temperature=0.0, max_tokens=16))
    out["first_request_ttft_s"] = round(warm["ttft_s"], 3)
    deadline = started + spec["budget_s"]  # a crawling engine must not hold the run hostage
    out["single"] = []
    for _ in range(spec["runs"]):
        if out["single"] and time.perf_counter() > deadline:
            out["skipped"] = True
            break
        out["single"].append(one_answer(provider, greedy))

    out["concurrent"] = {}
    for n in spec["streams"]:
        rounds = []
        for _ in range(spec["rounds"]):
            if rounds and time.perf_counter() > deadline:  # one round always
                out["skipped"] = True
                break
            providers = [make_provider(BUILTIN, Inspector()) for _ in range(n)]
            barrier = threading.Barrier(n)
            results: list[dict | Exception] = [None] * n

            def run(i: int) -> None:
                try:
                    results[i] = one_answer(providers[i], greedy, barrier)
                except Exception as exc:  # reported, not hidden in a thread
                    results[i] = exc

            threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            for p in providers:
                p.close()
            errors = [r for r in results if isinstance(r, Exception)]
            if errors:
                raise errors[0]
            span = max(r["ended"] for r in results) - min(r["started"] for r in results)
            rounds.append({"streams": results,
                           "total_tps": sum(r["tokens"] for r in results) / span})
        out["concurrent"][str(n)] = rounds
    out["mem_after_work"] = memory_mb(server.process.pid)
    return out


# --- cold start: a new Python process to its first token -------------------------------------

COLD_START = """
import time
started = time.perf_counter()
import json, sys
sys.path.insert(0, {root!r})
from lib.chat.providers import make_provider
from lib.chat.sampling import SamplingOptions
from lib.config import BUILTIN
from lib.inspector import Inspector
imported = time.perf_counter()
provider = make_provider(BUILTIN, Inspector())
connected = time.perf_counter()
stream = provider.stream_chat([{{"role": "user", "content": "Hello"}}],
                              BUILTIN.suggested_models[0], SamplingOptions(max_tokens=8))
first = None
for _ in stream:  # read to the end (8 tokens): a stream left open warns at interpreter exit
    if first is None:
        first, first_wall = time.perf_counter(), time.time()
print(json.dumps({{"import_s": imported - started, "server_s": connected - imported,
                  "first_token_s": first - connected, "script_s": first - started,
                  "first_wall": first_wall}}), flush=True)
"""


def clean_env(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS_ENV}
    env.update(settings)
    return env


def cold_start() -> dict:
    """Seconds from spawning the interpreter to the first token (wall clocks of both)."""
    spawned = time.time()
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", COLD_START.format(root=str(ROOT))],
                         capture_output=True, text=True, cwd=ROOT, env=clean_env(), timeout=120)
    exited = time.perf_counter() - started
    if out.returncode != 0 or not out.stdout.strip():
        raise SystemExit(f"cold start failed:\n{out.stderr[-3000:]}")
    if out.stderr.strip():
        print(f"cold start stderr: {out.stderr.strip()[-500:]}")
    info = json.loads(out.stdout.strip().splitlines()[-1])
    return {**info, "spawn_to_first_token_s": info["first_wall"] - spawned, "process_s": exited}


def run_worker(spec: dict, **settings: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--worker", json.dumps(spec)],
                         capture_output=True, text=True, cwd=ROOT, env=clean_env(**settings))
    if out.returncode != 0:
        raise SystemExit(f"worker {settings} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- report ----------------------------------------------------------------------------------

def med(values) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def rounded(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def rng(values, fmt: str = ".1f") -> str:
    """median [min–max]"""
    values = [v for v in values if v is not None]
    if not values:
        return "—"
    return f"{med(values):{fmt}} [{min(values):{fmt}}–{max(values):{fmt}}]"


def cut_note(answers: list[dict]) -> str:
    cut = sum(a["cut"] for a in answers)
    return f", {cut} of {len(answers)} cut at the time limit" if cut else ""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3, help="single-stream answers per setting")
    parser.add_argument("--rounds", type=int, default=2, help="rounds per concurrency level")
    parser.add_argument("--cold", type=int, default=3, help="cold-start processes")
    parser.add_argument("--max-tokens", type=int, default=200)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return

    load_before = os.getloadavg()[0]
    spec = {"runs": args.runs, "rounds": args.rounds, "max_tokens": args.max_tokens,
            "streams": [1, 2, 4], "budget_s": 60}
    workers = {
        "t1_q8_0": run_worker(spec, LAB_LOCAL_THREADS="1"),
        "t2_q8_0": run_worker(spec, LAB_LOCAL_THREADS="2"),
        "t1_f16": run_worker({**spec, "streams": [], "budget_s": 30},
                             LAB_LOCAL_THREADS="1",
                             LAB_LOCAL_KV_CACHE="f16"),
    }
    colds = [cold_start() for _ in range(args.cold)]
    load_after = os.getloadavg()[0]

    result: dict = {"load_s": {}, "local_server_s": {}, "tokens_per_s": {},
                    "engine_tokens_per_s": {}, "rss_mb": {}, "concurrent": {}}
    print(f"machine: {os.cpu_count()} CPUs, load average {load_before:.2f} -> {load_after:.2f}")
    print("setting        load_s  local_server_s  1st-req TTFT  peak RSS MB (after load / after work)")
    for name, w in workers.items():
        s = w["settings"]
        print(f"{name:<13} {w['load_s']:6.2f}  {w['local_server_s']:14.2f}  "
              f"{w['first_request_ttft_s']:12.3f}  {w['mem_after_load']['VmHWM']:.0f} / "
              f"{w['mem_after_work']['VmHWM']:.0f}   "
              f"(threads {s['threads']}, {w['slots']} slots x {w['context_per_slot']} ctx, "
              f"KV {s['kv_cache_type'].removeprefix('GGML_TYPE_')})")
    print(f"\nsingle stream, greedy {args.max_tokens}-token answers, median [range] of {args.runs}:")
    for name, w in workers.items():
        single = w["single"]
        print(f"{name:<13} client {rng(r['client_tps'] for r in single)} tok/s, "
              f"engine {rng(r['engine_tps'] for r in single)} tok/s, "
              f"TTFT {rng((r['ttft_s'] * 1000 for r in single if r['ttft_s']), '.0f')} ms, "
              f"tokens {[r['tokens'] for r in single]}{cut_note(single)}")
    print(f"\nstreams side by side (separate providers, threads), median [range] of {args.rounds} "
          "rounds; per-stream = client tok/s of each stream")
    for name in ("t1_q8_0", "t2_q8_0"):
        threads = str(workers[name]["settings"]["threads"])
        result["concurrent"][threads] = {}
        for n, rounds in workers[name]["concurrent"].items():
            per_stream = [s["client_tps"] for r in rounds for s in r["streams"]]
            engine = [s["engine_tps"] for r in rounds for s in r["streams"]]
            totals = [r["total_tps"] for r in rounds]
            answers = [s for r in rounds for s in r["streams"]]
            tokens = sorted({s["tokens"] for s in answers})
            print(f"threads {threads}, {n} stream(s): per-stream {rng(per_stream)} tok/s "
                  f"(engine {rng(engine)}), total {rng(totals)} tok/s, {len(rounds)} round(s), "
                  f"tokens {tokens}{cut_note(answers)}")
            result["concurrent"][threads][n] = {"per_stream": rounded(med(per_stream)),
                                                "total": rounded(med(totals))}
    print(f"\ncold start, new Python process -> imports -> make_provider (server start) -> first "
          f"token, default settings, median [range] of {args.cold}:")
    print(f"spawn to first token {rng((c['spawn_to_first_token_s'] for c in colds), '.2f')} s = "
          f"interpreter start "
          f"{rng((c['spawn_to_first_token_s'] - c['script_s'] for c in colds), '.2f')} s + "
          f"imports {rng((c['import_s'] for c in colds), '.2f')} s + server start "
          f"{rng((c['server_s'] for c in colds), '.2f')} s + first token "
          f"{rng((c['first_token_s'] for c in colds), '.2f')} s; whole process incl. exit "
          f"{rng((c['process_s'] for c in colds), '.2f')} s")

    for name, w in workers.items():
        threads = str(w["settings"]["threads"])
        kv = w["settings"]["kv_cache_type"].removeprefix("GGML_TYPE_").lower()
        if kv == "q8_0":
            result["tokens_per_s"][threads] = rounded(med(r["client_tps"] for r in w["single"]))
            result["engine_tokens_per_s"][threads] = rounded(
                med(r["engine_tps"] for r in w["single"]))
        result["load_s"][name] = w["load_s"]
        result["local_server_s"][name] = w["local_server_s"]
        result["rss_mb"][name] = w["mem_after_work"]["VmHWM"]
        if kv == "f16":
            result["tokens_per_s_f16"] = rounded(med(r["client_tps"] for r in w["single"]))
    result["cold_start_first_token_s"] = round(med(c["spawn_to_first_token_s"] for c in colds), 2)
    result["cold_start_script_s"] = round(med(c["script_s"] for c in colds), 2)
    result["loadavg"] = [round(load_before, 2), round(load_after, 2)]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
