"""How reliable is each way of asking for JSON, on the built-in model (SmolLM2-135M-Instruct
on llama.cpp)? And is constrained decoding slower?

The page's own path: ``local_server()`` starts the engine, ``make_provider`` gives the openai
client, ``lib.structured.modes.run_mode`` sends each request (prompt only, JSON mode,
Structured Outputs through ``client.chat.completions.parse`` with the pydantic model) and
judges the answer. Rounds alternate the modes, one request at a time, so a load change on
the shared machine touches every mode alike.

Figures per schema and mode: valid-JSON rate, schema-valid rate, finish_reason=length count,
schema-valid rate among the answers that ended on their own ("ok|done"),
median latency, median wall ms per generated token, and median engine decode ms per token
(llama.cpp's ``timings.predicted_per_token_ms``: the decode alone, without the prompt).
"Time per token with and without the schema" = Structured Outputs vs JSON mode / prompt only.
Answers of different lengths are not comparable per token (a longer context decodes slower,
and prompt-only answers run longest), so a matched-length part follows: the nested trip
question at temperature 0, every mode cut at exactly --paired-tokens tokens, --paired-rounds
rounds alternating the modes; medians of the engine's decode ms per token and of wall time.

Usage: python bench/structured_reliability.py [--runs 20] [--max-tokens 400] [--temperature 0.7]
                                             [--paired-rounds 10] [--paired-tokens 48] [--paired-only]
Last line JSON: {"runs", "schemas": {"<schema>": {"<mode>": {...}}},
                 "matched_length": {"<mode>": {"engine_ms_per_token", "wall_ms_per_token", "n"}},
                 "loadavg"}.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lib.chat.providers import make_provider  # noqa: E402
from lib.config import BUILTIN  # noqa: E402
from lib.inspector import Inspector  # noqa: E402
from lib.structured.experiment import summarize, trials  # noqa: E402
from lib.structured.modes import MODES, Ask, run_mode  # noqa: E402
from lib.structured.schemas import LOCATION, TRIP  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--max-tokens", type=int, default=400)
    parser.add_argument("--temperature", type=float, default=0.7)
    parser.add_argument("--paired-rounds", type=int, default=10)
    parser.add_argument("--paired-tokens", type=int, default=48)
    parser.add_argument("--paired-only", action="store_true")
    args = parser.parse_args()
    started = time.perf_counter()
    provider = make_provider(BUILTIN, Inspector(keep=1))
    model = provider.endpoint.suggested_models[0]
    print(f"engine ready in {time.perf_counter() - started:.1f} s; {model}; "
          f"{args.runs} runs per mode, max_tokens {args.max_tokens}, "
          f"temperature {args.temperature}", flush=True)
    figures: dict = {}
    for schema in () if args.paired_only else (LOCATION, TRIP):
        ask = Ask(schema.question, args.max_tokens, args.temperature)
        done = []
        for trial in trials(lambda mode: run_mode(provider.client, model, mode, schema, ask,
                                                  provider.where), MODES, args.runs):
            done.append(trial)
        figures[schema.name] = {}
        print(f"\n{schema.name}: {schema.question}")
        print(f"{'mode':20} {'valid JSON':>10} {'schema ok':>10} {'length':>7} {'ok|done':>8} {'failed':>7} "
              f"{'latency s':>10} {'ms/tok':>8} {'engine ms/tok':>14}")
        for s in summarize(done):
            cut = sum(t.finish_reason == "length" for t in done if t.mode is s.mode)
            row = {"valid_json_rate": s.valid_json_rate, "schema_valid_rate": s.schema_valid_rate,
                   "schema_valid_when_finished": s.schema_valid_when_finished,
                   "runs": s.runs, "failed": s.failed, "finish_length": cut,
                   "median_latency_s": s.median_latency_s,
                   "median_ms_per_token": s.median_ms_per_token,
                   "median_engine_ms_per_token": s.median_engine_ms_per_token}
            figures[schema.name][s.mode.value] = row
            print(f"{s.mode.label:20} {s.valid_json_rate:>10.0%} {s.schema_valid_rate:>10.0%} "
                  f"{cut:>7} {s.schema_valid_when_finished or 0:>8.0%} {s.failed:>7} "
                  f"{s.median_latency_s or 0:>10.2f} "
                  f"{s.median_ms_per_token or 0:>8.1f} {s.median_engine_ms_per_token or 0:>14.1f}",
                  flush=True)
    matched = matched_length(provider, model, args.paired_rounds, args.paired_tokens)
    provider.close()
    print(json.dumps({"runs": args.runs, "max_tokens": args.max_tokens,
                      "temperature": args.temperature, "schemas": figures,
                      "matched_length": matched,
                      "loadavg": os.getloadavg()[0]}))


def matched_length(provider, model: str, rounds: int, tokens: int) -> dict:
    """Decode time per token with and without the schema, every answer exactly `tokens` long."""
    ask = Ask(TRIP.question, tokens, temperature=0.0)
    times: dict = {mode: ([], []) for mode in MODES}
    for trial in trials(lambda mode: run_mode(provider.client, model, mode, TRIP, ask,
                                              provider.where), MODES, rounds):
        if trial.completion_tokens == tokens:  # only answers cut at the same length
            times[trial.mode][0].append(trial.engine_ms_per_token)
            times[trial.mode][1].append(trial.ms_per_token)
    print(f"\nMatched length ({tokens} tokens, {TRIP.name} question, temperature 0, "
          f"{rounds} rounds)")
    print(f"{'mode':20} {'n':>3} {'engine ms/tok':>14} {'wall ms/tok':>12}")
    result = {}
    for mode, (engine, wall) in times.items():
        row = {"n": len(engine),
               "engine_ms_per_token": statistics.median(engine) if engine else None,
               "wall_ms_per_token": statistics.median(wall) if wall else None}
        result[mode.value] = row
        print(f"{mode.label:20} {row['n']:>3} {row['engine_ms_per_token'] or 0:>14.2f} "
              f"{row['wall_ms_per_token'] or 0:>12.2f}", flush=True)
    return result


if __name__ == "__main__":
    main()
