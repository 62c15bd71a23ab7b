"""classroom_mode.py's 50-message conversation, as the chat page keeps one after 25 turns, each
message marked "(msg-kk)", and those marks read back from a page's messages."""

from __future__ import annotations

import random
import re

MESSAGES = 50
MARK_RE = re.compile(r"\(msg-(\d{2})\)")

WORDS = ("the model reads every token of the prompt again on each request so a longer chat "
         "costs more and takes longer before the first word arrives while streaming shows "
         "words as they are sampled from the distribution with temperature top p and a seed "
         "Paris museum train ticket budget weather itinerary morning evening walk river "
         "context window system prompt answer latency price per million tokens cache").split()


def sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(6, 15))]
    return " ".join(words).capitalize() + "."


def paragraph(rng: random.Random, length: int) -> str:
    text = ""
    while len(text) < length:
        text += sentence(rng) + " "
    return text.strip()


def conversation(seed: int = 17, messages: int = MESSAGES) -> list[dict]:
    """`messages` alternating user/assistant, as the chat page keeps them after that many
    turns: user 100-250 chars, assistant 300-600 (sometimes two paragraphs or a list), each
    answer with its `usage`, the newest with the `request` it came from. Message k carries
    the marker "(msg-kk)" so a restored page can be checked message by message."""
    rng = random.Random(seed)
    history: list[dict] = []
    prompt_tokens = 40
    for k in range(1, messages + 1):
        mark = f"(msg-{k:02d})"
        if k % 2:
            history.append({"role": "user", "content": f"{mark} " + paragraph(rng, rng.randint(95, 240))})
            continue
        body = paragraph(rng, rng.randint(290, 590))
        if rng.random() < 0.3:
            half = len(body) // 2
            cut = body.find(". ", half)
            body = body if cut < 0 else body[:cut + 1] + "\n\n" + body[cut + 2:]
        elif rng.random() < 0.3:
            body = body[:200] + "\n\n- " + sentence(rng) + "\n- " + sentence(rng)
        text = f"{mark} {body}"
        prompt_tokens += sum(len(m["content"]) for m in history[-1:]) // 4
        history.append({"role": "assistant", "content": text,
                        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": len(text) // 4,
                                  "estimate": False, "cost": None}})
        prompt_tokens += len(text) // 4
    last = history[-1]
    last["request"] = [{"role": m["role"], "content": m["content"]} for m in history[:-1]]
    return history


def page_marks(texts: list[str]) -> list[int]:
    return [int(m.group(1)) if (m := MARK_RE.search(t)) else -1 for t in texts]
