"""What the shared budget costs a request, and whether it holds when a class races for it.

Measured on the in-process ledger and on a real Redis (Debian's redis-server on a free port
of 127.0.0.1, started as the tests do, on the same 2 cores as this process: a real
deployment adds a network round trip to each step):

- one request's bookkeeping: the whole admission a page does before sending (the policy,
  estimating a 50-message conversation's tokens, reading the spend, the atomic reservation)
  and the settle after the answer, median and p95 ms over --requests requests;
- the race: --processes processes (replicas), each with 30 threads (sessions), all let go at
  once against a budget with room for exactly 100 worst-case requests, each thread asking
  until refused. Reports how many got through (goal: exactly 100, whatever the ledger), the
  total spent against the budget (goal: never over), and the reservations per second.

Usage: python bench/shared_ledger.py [--requests 500] [--processes 4]
Last line JSON: {"<ledger>_admit_ms": {"median", "p95"}, "<ledger>_settle_ms": {...},
"<ledger>_race": {"admitted", "budget_room", "spent_usd", "budget_usd", "seconds",
"reservations_per_s"}} for ledger in inprocess, redis.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lib.config import resolve_endpoints  # noqa: E402
from lib.deployment import DeploymentPolicy, SessionUsage, most_it_can_cost  # noqa: E402
from lib.ledger.accounts import KeyAccount  # noqa: E402
from lib.deployment import prompt_tokens_of  # noqa: E402
from lib.ledger.core import InProcessLedger  # noqa: E402
from lib.ledger.redis_ledger import RedisLedger  # noqa: E402
from tests.persistence.redis_server import start_redis  # noqa: E402

MODEL = "openai/gpt-5.2-chat"
MAX_TOKENS = 1000
CONVERSATION = [{"role": "user" if i % 2 == 0 else "assistant",
                 "content": f"Message {i}: what should I see on day {i} in Paris? " * 8}
                for i in range(50)]

RACE = """
import sys, threading, time
from decimal import Decimal
sys.path.insert(0, sys.argv[1])
from lib.ledger.redis_ledger import RedisLedger
ledger, worst, budget = RedisLedger(sys.argv[2]), Decimal(sys.argv[3]), Decimal(sys.argv[4])
start, won, lock = float(sys.argv[5]), [0], threading.Lock()
def session():
    while True:
        held = ledger.reserve(worst, budget)
        if held is None:
            return
        ledger.settle(held, "racer", worst)
        with lock:
            won[0] += 1
threads = [threading.Thread(target=session) for _ in range(30)]
while time.time() < start:
    time.sleep(0.001)
for t in threads: t.start()
for t in threads: t.join()
print(won[0], time.time() - start)
"""


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"median": round(statistics.median(ordered), 3),
            "p95": round(ordered[int(0.95 * (len(ordered) - 1))], 3)}


def bookkeeping(ledger, requests: int) -> tuple[dict, dict]:
    endpoint = next(e for e in resolve_endpoints({}, {"OPENROUTER_API_KEY": "sk-or-x"}, {})
                    if e.id == "openrouter")
    policy = DeploymentPolicy(max_spend_total=Decimal(10**6))
    usage = SessionUsage()
    admit, settle = [], []
    for _ in range(requests):
        t0 = time.perf_counter()
        account = KeyAccount(usage, ledger)
        why = policy.admit(endpoint, MODEL, account, 0, prompt_tokens_of(CONVERSATION),
                           MAX_TOKENS)
        t1 = time.perf_counter()
        assert why is None, why
        account.record(MODEL, Decimal("0.0021"))
        t2 = time.perf_counter()
        admit.append((t1 - t0) * 1000)
        settle.append((t2 - t1) * 1000)
    return percentiles(admit), percentiles(settle)


def race_in_process(worst: Decimal, budget: Decimal, processes: int) -> tuple[int, Decimal, float]:
    ledger = InProcessLedger()
    won = [0]
    lock = threading.Lock()

    def session() -> None:
        while (held := ledger.reserve(worst, budget)) is not None:
            ledger.settle(held, "racer", worst)
            with lock:
                won[0] += 1

    threads = [threading.Thread(target=session) for _ in range(30 * processes)]
    t0 = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return won[0], ledger.spent_usd(), time.perf_counter() - t0


def race_on_redis(url: str, worst: Decimal, budget: Decimal,
                  processes: int) -> tuple[int, Decimal, float]:
    start = time.time() + 10.0  # every racer imported and connected by then
    racers = [subprocess.Popen([sys.executable, "-c", RACE, str(ROOT), url, str(worst),
                                str(budget), str(start)], stdout=subprocess.PIPE, text=True)
              for _ in range(processes)]
    reports = [racer.communicate(timeout=300)[0].split() for racer in racers]
    seconds = max(float(elapsed) for _, elapsed in reports)
    return sum(int(won) for won, _ in reports), RedisLedger(url).spent_usd(), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--processes", type=int, default=4)
    args = parser.parse_args()
    worst = most_it_can_cost(MODEL, 2000, MAX_TOKENS)
    budget = worst * 100
    result: dict = {}
    with tempfile.TemporaryDirectory() as folder:
        server, url = start_redis(Path(folder))
        try:
            for name, ledger in (("inprocess", InProcessLedger()), ("redis", RedisLedger(url))):
                admit, settle = bookkeeping(ledger, args.requests)
                result[f"{name}_admit_ms"], result[f"{name}_settle_ms"] = admit, settle
                print(f"{name:9}  admit {admit}  settle {settle}", flush=True)
            import redis

            redis.Redis.from_url(url).flushall()
            for name, race in (("inprocess", race_in_process), ("redis", race_on_redis)):
                arg = (worst, budget, args.processes) if name == "inprocess" else (
                    url, worst, budget, args.processes)
                won, spent, seconds = race(*arg)
                result[f"{name}_race"] = {
                    "admitted": won, "budget_room": 100, "spent_usd": str(spent),
                    "budget_usd": str(budget), "seconds": round(seconds, 2),
                    "reservations_per_s": round((won + 30 * args.processes) / seconds)}
                print(f"{name:9}  race {result[f'{name}_race']}", flush=True)
        finally:
            server.stop()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
