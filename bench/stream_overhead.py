"""How much the app's streaming layer (with the inspector on) adds over the raw openai SDK.

A loopback server (the tests' fault server, scenario "long", in its own process) streams
~2,000 tokens. Each round consumes one stream with the raw SDK and one with the app's
ChatProvider (lib.chat.providers.make_provider) + ChatStream + Inspector, alternating which
goes first.
Prints both medians and their ratio, and also the median of the per-round ratios (app/raw
run back to back, garbage collected before each run), which cancels the drift of a busy
2-core machine. The last line is JSON:
{"ratio": <median app / median raw total time>, "paired_ratio": <median per-round ratio>,
 "added_ttft_ms": <app - raw median TTFT>}
Goal: ratio <= 1.10, added TTFT <= 20 ms.
"""

from __future__ import annotations

import argparse
import gc
import json
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
import openai

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lib.config import resolve_endpoints  # noqa: E402
from lib.inspector import Inspector  # noqa: E402
from lib.chat.providers import make_provider  # noqa: E402
from lib.chat.sampling import SamplingOptions  # noqa: E402

MESSAGES = [{"role": "user", "content": "Count to two thousand."}]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server() -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.servers.fault_server", "--port", str(port)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base_url = f"http://127.0.0.1:{port}/v1"
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            httpx.get(f"{base_url}/models", timeout=1).raise_for_status()
            return proc, base_url
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("fault server did not start")


def raw_sdk(client: openai.OpenAI, tokens: int) -> tuple[float, float, int]:
    started = time.perf_counter()
    ttft = None
    pieces = 0
    stream = client.chat.completions.create(
        model="long", messages=MESSAGES, stream=True, max_tokens=tokens,
        stream_options={"include_usage": True},
    )
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            if ttft is None:
                ttft = time.perf_counter() - started
            pieces += 1
    return time.perf_counter() - started, ttft, pieces


def app_layer(provider, tokens: int) -> tuple[float, float, int]:
    started = time.perf_counter()
    ttft = None
    pieces = 0
    stream = provider.stream_chat(MESSAGES, "long", SamplingOptions(max_tokens=tokens))
    for _ in stream:
        if ttft is None:
            ttft = time.perf_counter() - started
        pieces += 1
    assert stream.error is None, stream.error
    return time.perf_counter() - started, ttft, pieces


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--tokens", type=int, default=2000)
    args = parser.parse_args()

    proc, base_url = start_server()
    try:
        raw_client = openai.OpenAI(base_url=base_url, api_key="sk-bench", max_retries=0)
        endpoint = next(e for e in resolve_endpoints(
            {}, {"OPENAI_BASE_URL": base_url, "OPENAI_API_KEY": "sk-bench"}, {}) if e.id == "openai")
        provider = make_provider(endpoint, Inspector())
        for _ in range(2):  # warm up both paths (connections, imports)
            raw_sdk(raw_client, args.tokens)
            app_layer(provider, args.tokens)
        raw, app = [], []
        for i in range(args.rounds):
            order = [(raw, lambda: raw_sdk(raw_client, args.tokens)),
                     (app, lambda: app_layer(provider, args.tokens))]
            for results, run in (order if i % 2 == 0 else order[::-1]):
                gc.collect()
                results.append(run())
    finally:
        proc.kill()

    def med(results, index):
        return statistics.median(r[index] for r in results)

    raw_total, app_total = med(raw, 0), med(app, 0)
    raw_ttft, app_ttft = med(raw, 1), med(app, 1)
    print(f"tokens streamed per run: raw {raw[0][2]}, app {app[0][2]}; rounds: {args.rounds}")
    print(f"raw openai SDK : total {raw_total * 1000:8.1f} ms   TTFT {raw_ttft * 1000:6.2f} ms")
    print(f"app layer      : total {app_total * 1000:8.1f} ms   TTFT {app_ttft * 1000:6.2f} ms")
    ratio = app_total / raw_total
    paired = statistics.median(a[0] / r[0] for a, r in zip(app, raw))
    added = (app_ttft - raw_ttft) * 1000
    print(f"ratio app/raw = {ratio:.3f} (paired rounds: {paired:.3f}; goal <= 1.10); "
          f"added TTFT = {added:.2f} ms (goal <= 20)")
    print(json.dumps({"ratio": round(ratio, 4), "paired_ratio": round(paired, 4),
                      "added_ttft_ms": round(added, 3)}))


if __name__ == "__main__":
    main()
