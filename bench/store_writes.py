"""What saving a browser session's work costs, on the SQLite store and on a real Redis.

A save is what classroom mode does after each answer: the whole conversation (50 messages,
~25 KB of JSON) under one name, plus two small settings. Measured per store:

- one session alone: --saves saves in a row, each a different conversation of the same
  size (median and p95 ms), and as many loads;
- a class at once: 30 threads (Streamlit runs each browser session's script in a thread of
  its own), each saving its own session 20 times, all started together behind a barrier:
  the total time, p95 per save, and whether every save landed (each session then loads its
  last conversation).

SQLite also: opening a ~100 MB store (the open runs PRAGMA quick_check once, which reads
every page). Redis is Debian's redis-server on a free port of 127.0.0.1 (started as the tests
do: no persistence), on the same 2 cores as this process: a real deployment adds a network
round trip per save.

Usage: python bench/store_writes.py [--saves 300]
Last line JSON: {"conversation_bytes", "sqlite_save_median_ms", "sqlite_save_p95_ms",
"sqlite_load_median_ms", "sqlite_class_total_s", "sqlite_class_p95_ms",
"sqlite_class_all_landed", "sqlite_open_100mb_ms", and the same "redis_…" (no open)}.
Goals: a save well under 10 ms (a page waits for it); the class's 600 saves all land.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lib.persistence.redis_store import RedisStore  # noqa: E402
from lib.persistence.sqlite_store import SQLiteStore  # noqa: E402
from lib.persistence.store import SessionStore  # noqa: E402
from tests.persistence.redis_server import start_redis  # noqa: E402

SESSIONS, SAVES_EACH = 30, 20


def session_id(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


def conversation(variant: int, messages: int = 50) -> str:
    """~25 KB: 50 turns of ~480 characters, different for every variant."""
    return json.dumps([{"role": "user" if i % 2 == 0 else "assistant",
                        "content": f"turn {variant}-{i}: " + "lorem ipsum dolor sit amet " * 17}
                       for i in range(messages)])


def saved(variant: int) -> dict[str, str]:
    return {"messages": conversation(variant), "model": json.dumps("SmolLM2-135M-Instruct"),
            "temperature": "0.7"}


def ms(seconds: list[float]) -> tuple[float, float]:
    """Median and p95, in milliseconds."""
    return (statistics.median(seconds) * 1000, statistics.quantiles(seconds, n=20)[18] * 1000)


def one_session(store: SessionStore, saves: int) -> dict[str, float]:
    session, payloads = session_id("alone"), [saved(i) for i in range(saves)]
    store.save(session, payloads[0])  # warm up (first write creates the rows)
    save_times, load_times = [], []
    for payload in payloads:
        started = time.perf_counter()
        store.save(session, payload)
        save_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        store.load(session)
        load_times.append(time.perf_counter() - started)
    (save_median, save_p95), (load_median, _) = ms(save_times), ms(load_times)
    return {"save_median_ms": save_median, "save_p95_ms": save_p95, "load_median_ms": load_median}


def a_class_at_once(store: SessionStore) -> dict[str, float | bool]:
    payloads = [saved(i) for i in range(SAVES_EACH)]
    barrier, times, failures = threading.Barrier(SESSIONS + 1), [], []

    def student(n: int) -> None:
        session = session_id(f"student {n}")
        barrier.wait()
        for payload in payloads:
            started = time.perf_counter()
            try:
                store.save(session, payload)
            except Exception as exc:  # noqa: BLE001 - counted, reported below
                failures.append(exc)
            times.append(time.perf_counter() - started)

    threads = [threading.Thread(target=student, args=(n,)) for n in range(SESSIONS)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    total = time.perf_counter() - started
    landed = not failures and all(store.load(session_id(f"student {n}")) == payloads[-1]
                                  for n in range(SESSIONS))
    return {"class_total_s": total, "class_p95_ms": ms(times)[1], "class_all_landed": landed}


def open_big_store(folder: Path) -> float:
    """ms to open a ~100 MB store (4000 sessions of one conversation each)."""
    path = folder / "big.sqlite3"
    store, payload = SQLiteStore(path), saved(0)
    for n in range(4000):
        store.save(session_id(f"past student {n}"), payload)
    store.close()
    started = time.perf_counter()
    SQLiteStore(path).close()
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--saves", type=int, default=300)
    args = parser.parse_args()
    figures: dict[str, float | bool] = {"conversation_bytes": len(saved(0)["messages"])}
    with tempfile.TemporaryDirectory() as folder:
        stores: dict[str, SessionStore] = {"sqlite": SQLiteStore(Path(folder) / "bench.sqlite3")}
        server, url = start_redis(Path(folder))
        try:
            stores["redis"] = RedisStore(url)
            stores["redis"].ping()
            for kind, store in stores.items():
                for name, value in {**one_session(store, args.saves), **a_class_at_once(store)}.items():
                    figures[f"{kind}_{name}"] = value
                store.close()
        finally:
            server.stop()
        figures["sqlite_open_100mb_ms"] = open_big_store(Path(folder))

    print(f"conversation: {figures['conversation_bytes']:,} bytes of JSON (50 messages)")
    for kind in stores:
        print(f"{kind:6}: save median {figures[f'{kind}_save_median_ms']:.2f} ms, "
              f"p95 {figures[f'{kind}_save_p95_ms']:.2f} ms; load median "
              f"{figures[f'{kind}_load_median_ms']:.2f} ms")
        print(f"{kind:6}: {SESSIONS} threads x {SAVES_EACH} saves at once: "
              f"{figures[f'{kind}_class_total_s']:.2f} s in all, p95 "
              f"{figures[f'{kind}_class_p95_ms']:.1f} ms per save, every save landed: "
              f"{figures[f'{kind}_class_all_landed']}")
    print(f"sqlite: opening a ~100 MB store (quick_check included): "
          f"{figures['sqlite_open_100mb_ms']:.0f} ms")
    print(json.dumps({name: round(value, 3) if isinstance(value, float) else value
                      for name, value in figures.items()}))


if __name__ == "__main__":
    main()
