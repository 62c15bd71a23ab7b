"""Token counting and cost maths of the Cost simulator: how fast, and how good the napkin is.

Counts the lecture text (shared/seed) with both bundled encodings, times count_tokens, measures
the real words-per-100-tokens against the lecture's napkin figure (75), and times a
conversation-cost run of 200 turns (the page's slider maximum).

Usage: python bench/cost_tokens.py [--seed PATH]
Last line JSON: {"o200k_tokens", "cl100k_tokens", "words", "o200k_words_per_100_tokens",
"count_mb_per_s", "cold_import_s", "conversation_200_turns_s"}
Goals: a page rerun's token work stays well under 100 ms; 200 turns price in under 1 s.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lib.cost.conversation import Conversation, conversation_costs  # noqa: E402
from lib.cost.pricing import LECTURE_PRICE  # noqa: E402
from lib.cost.tokens import count_tokens, word_count, words_per_100_tokens  # noqa: E402

DEFAULT_SEED = ROOT.parent / "shared" / "seed" / "module-2-exploring-hosted-llms.txt"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=Path, default=DEFAULT_SEED)
    args = parser.parse_args()
    text = args.seed.read_text(encoding="utf-8") if args.seed.is_file() else "hello world " * 5000

    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import lib.cost.tokens as t; t.count_tokens('hi')"],
                   cwd=ROOT, check=True)
    cold_import = time.perf_counter() - started

    counts = {enc: count_tokens(text, enc) for enc in ("o200k_base", "cl100k_base")}
    started, rounds = time.perf_counter(), 20
    for _ in range(rounds):
        count_tokens(text)
    seconds = (time.perf_counter() - started) / rounds
    mb_per_s = len(text.encode()) / seconds / 1e6

    started = time.perf_counter()
    conversation_costs(Conversation(turns=200), LECTURE_PRICE)
    conversation_s = time.perf_counter() - started

    ratio = words_per_100_tokens(text)
    print(f"text: {args.seed.name}, {word_count(text):,} words")
    print(f"o200k_base: {counts['o200k_base']:,} tokens; cl100k_base: {counts['cl100k_base']:,} tokens")
    print(f"words per 100 tokens (o200k): {ratio:.1f}  (napkin: 75)")
    print(f"count_tokens: {mb_per_s:.1f} MB/s; cold import + first count: {cold_import:.2f} s")
    print(f"conversation costs, 200 turns x 3 strategies: {conversation_s * 1000:.0f} ms")
    print(json.dumps({
        "o200k_tokens": counts["o200k_base"], "cl100k_tokens": counts["cl100k_base"],
        "words": word_count(text), "o200k_words_per_100_tokens": round(ratio or 0, 1),
        "count_mb_per_s": round(mb_per_s, 2), "cold_import_s": round(cold_import, 2),
        "conversation_200_turns_s": round(conversation_s, 3),
    }))


if __name__ == "__main__":
    main()
