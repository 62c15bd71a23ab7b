"""The built-in model's engines: load time, tokens/s on a ~200-token answer, memory, and the
first reply from a cold start (a fresh Python process: imports + load + first token).

Usage: python bench/builtin_model.py [--engine llama_cpp|transformers] [--runs 3]
Last line JSON: {"engine", "load_s", "tokens_per_s", "tokens", "cold_start_first_token_s", "rss_mb"}
Goals (issue 2): >= 40 tok/s on a 200-token answer; first reply within 15 s of a cold start.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PROMPT = [
    {"role": "system", "content": "You help travelers make plans for their trips."},
    {"role": "user", "content": "Write a detailed seven-day plan for a first trip to Paris, "
                                "with museums, food, walks and day trips for every day."},
]

COLD_START = """
import time, sys
started = time.perf_counter()
sys.path.insert(0, {root!r})
from lib.models.shipped import load_builtin_chat_model
from lib.providers import SamplingOptions
model = load_builtin_chat_model({engine!r})
prompt = model.render([{{"role": "user", "content": "Hello"}}])
for chunk in model.stream(prompt, SamplingOptions(max_tokens=8)):
    if chunk["choices"][0]["delta"].get("content"):
        print(time.perf_counter() - started)
        break
"""


def cold_start_first_token(engine: str) -> tuple[float, float]:
    """(seconds from the script's first line to the first token, wall time of the process)."""
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", COLD_START.format(root=str(ROOT), engine=engine)],
        capture_output=True, text=True, check=True,
    )
    return float(out.stdout.strip().splitlines()[-1]), time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--engine", default="llama_cpp")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=200)
    args = parser.parse_args()

    from lib.models.shipped import load_builtin_chat_model
    from lib.providers import SamplingOptions

    cold, cold_wall = cold_start_first_token(args.engine)
    started = time.perf_counter()
    model = load_builtin_chat_model(args.engine)
    load_s = time.perf_counter() - started
    prompt = model.render(PROMPT)
    rates, counts = [], []
    for run in range(args.runs):
        options = SamplingOptions(max_tokens=args.max_tokens, temperature=0.7, seed=run)
        first = None
        text = ""
        for chunk in model.stream(prompt, options):
            piece = chunk["choices"][0]["delta"].get("content")
            if piece:
                first = first or time.perf_counter()
                text += piece
        end = time.perf_counter()
        tokens = model.count_tokens(text)
        rates.append((tokens - 1) / (end - first))
        counts.append(tokens)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    tps = statistics.median(rates)
    print(f"engine {model.engine}: load {load_s:.2f} s, {tps:.1f} tok/s "
          f"(median of {args.runs}, answers of {counts} tokens), peak RSS {rss_mb:.0f} MB")
    print(f"cold start, new process: first token {cold:.2f} s after its first line "
          f"(imports + load + prompt); whole process incl. interpreter and exit {cold_wall:.2f} s")
    print(json.dumps({"engine": args.engine, "load_s": round(load_s, 2),
                      "tokens_per_s": round(tps, 1), "tokens": counts,
                      "cold_start_first_token_s": round(cold, 2),
                      "cold_start_process_s": round(cold_wall, 2), "rss_mb": round(rss_mb)}))


if __name__ == "__main__":
    main()
