"""Tools on the built-in model (SmolLM2-135M-Instruct on llama.cpp): does it ever call a
function, how reliable is the grammar-forced call, and how long is the round trip?

The page's own path: ``local_server()`` starts the engine, ``make_provider`` gives the openai
client, ``lib.chat.tools.round_trip`` sends every request. Over --runs tries of the same
question ("What's the weather like in Paris today?", get_weather offered), at --temperature:

- plain ``tools=[...]``, tool_choice auto and required: how many answers hold a tool call
  (expected 0: the engine ignores tools for a template without them);
- the grammar way (``response_format: json_schema`` forcing {"name", "arguments"}): how many
  replies parse and validate against the pydantic model (expected all), how many are
  sensible (the city asked about, Paris, is in the arguments), how many final answers
  mention the function's result (its sky or temperature), and the whole round trip's wall
  time (both requests) p50/p95.

Usage: python bench/tools_roundtrip.py [--runs 20] [--temperature 0.7] [--max-tokens 200]
Last line JSON: {"runs", "plain_tools": {"auto", "required"}, "grammar": {...}, "loadavg"}.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lib.chat.providers import make_provider  # noqa: E402
from lib.chat.sampling import SamplingOptions  # noqa: E402
from lib.chat.tool_functions import TOOLS, WEATHER  # noqa: E402
from lib.chat.tools import GRAMMAR, TOOLS as TOOLS_WAY, round_trip  # noqa: E402
from lib.config import BUILTIN  # noqa: E402
from lib.inspector import Inspector  # noqa: E402

QUESTION = "What's the weather like in Paris today?"
CITY = "paris"


def percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))], 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--temperature", type=float, default=0.7)
    parser.add_argument("--max-tokens", type=int, default=200)
    args = parser.parse_args()
    options = SamplingOptions(temperature=args.temperature, max_tokens=args.max_tokens)
    provider = make_provider(BUILTIN, Inspector(keep=4))
    model = BUILTIN.suggested_models[0]
    tools = [TOOLS["get_weather"]]

    plain = {}
    for tool_choice in ("auto", "required"):
        calls = 0
        for _ in range(args.runs):
            found = round_trip(provider, model, QUESTION, "", tools, options, TOOLS_WAY, tool_choice)
            calls += bool(found.calls)
        plain[tool_choice] = {"tool_calls": calls, "of": args.runs}
        print(f"plain tools, tool_choice={tool_choice}: {calls}/{args.runs} answers held a tool call")

    valid = sensible = grounded = failed = 0
    trip_ms, cities = [], []
    facts = {str(WEATHER[CITY]["temperature_c"]), WEATHER[CITY]["sky"]}
    for _ in range(args.runs):
        start = time.perf_counter()
        found = round_trip(provider, model, QUESTION, "", tools, options, GRAMMAR)
        elapsed = (time.perf_counter() - start) * 1000
        if found.error or not found.calls:
            failed += 1
            continue
        run = found.calls[0]
        valid += run.error is None
        city = (run.parsed or {}).get("city", "")
        cities.append(city)
        sensible += CITY in city.lower()
        grounded += any(fact in (found.answer or "").lower() for fact in facts)
        if found.second is not None:
            trip_ms.append(elapsed)
    grammar = {
        "parsed_and_validated": valid, "sensible_city": sensible,
        "answer_uses_result": grounded, "failed": failed, "of": args.runs,
        "round_trip_ms_p50": percentile(trip_ms, 0.5), "round_trip_ms_p95": percentile(trip_ms, 0.95),
        "cities": sorted(set(cities)),
    }
    print(f"grammar: {valid}/{args.runs} parsed and validated, {sensible}/{args.runs} had the "
          f"city (Paris), {grounded}/{args.runs} final answers used the result, {failed} failed")
    print(f"grammar round trip (both requests): p50 {grammar['round_trip_ms_p50']} ms, "
          f"p95 {grammar['round_trip_ms_p95']} ms; cities chosen: {grammar['cities']}")
    provider.close()
    print(json.dumps({"runs": args.runs, "temperature": args.temperature,
                      "plain_tools": plain, "grammar": grammar,
                      "loadavg": [round(x, 2) for x in os.getloadavg()]}))


if __name__ == "__main__":
    main()
