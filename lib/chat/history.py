"""The conversation kept in the session, and what of it is sent to the model.

Models hold no state: every request resends the whole conversation. Each stored message
is a dict with ``role`` and ``content``; an answer that failed part-way also keeps an
``error`` for the screen, and a message that was refused is marked ``unsent``. Only role
and content are ever sent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Message = dict[str, Any]  # role and content; on screen also error, unsent, usage
Messages = list[Message]


def to_api_messages(history: list[Message], system_prompt: str = "") -> list[Message]:
    """The messages array for the request: system prompt first, display-only fields dropped."""
    messages: list[Message] = []
    if system_prompt.strip():
        messages.append({"role": "system", "content": system_prompt.strip()})
    return messages + [message for _, message in sendable(history)]


def sendable(history: list[Message]) -> list[tuple[int, Message]]:
    """The history's messages that can be sent, as (index in the history, role and content)."""
    entries: list[tuple[int, Message]] = []
    for index, message in enumerate(history):
        if message.get("unsent"):
            continue  # refused before it was sent (a classroom cap, a missing model)
        if message["role"] == "assistant" and not message.get("content"):
            # An answer that failed before its first token: the question it failed on goes
            # too, or two user messages would follow each other, which strict chat
            # templates reject on every later turn.
            if entries and entries[-1][1]["role"] == "user":
                entries.pop()
            continue
        entries.append((index, {"role": message["role"], "content": message["content"]}))
    return entries


@dataclass(frozen=True)
class ContextWindow:
    """How many tokens one request may use (prompt and answer), and how to count a prompt."""

    tokens: int
    count: Callable[[list[Message]], int]  # tokens of the templated prompt for these messages


@dataclass(frozen=True)
class Fitted:
    messages: list[Message]
    dropped: int  # how many of the oldest messages were left out
    prompt_tokens: int  # of what is left
    fits: bool  # False: even the newest message alone leaves no room for the answer


def fit_to_window(messages: list[Message], window: ContextWindow, answer_tokens: int) -> Fitted:
    """Drop the oldest messages (never the system prompt or the newest message) until the
    prompt leaves ``answer_tokens`` free in the window."""
    kept = list(messages)
    first = 1 if kept and kept[0]["role"] == "system" else 0
    budget = window.tokens - answer_tokens
    dropped = 0
    tokens = window.count(kept)
    while len(kept) - first > 1 and tokens > budget:
        del kept[first]
        dropped += 1
        if kept[first]["role"] == "assistant" and len(kept) - first > 1:
            del kept[first]  # a conversation starts with the user: strict templates insist
            dropped += 1
        tokens = window.count(kept)
    return Fitted(kept, dropped, tokens, tokens <= budget)


def for_regenerate(history: list[Message]) -> list[Message]:
    """The conversation to answer again: the last answer goes, the question before it stays."""
    kept = list(history)
    while kept and kept[-1]["role"] == "assistant":
        kept.pop()
    return kept


def edited_from(history: list[Message], index: int, text: str) -> list[Message]:
    """The conversation up to user message ``index``, that message replaced by ``text``:
    everything after it is what the model said to the old wording, so it goes."""
    if not (0 <= index < len(history)) or history[index]["role"] != "user":
        raise ValueError(f"message {index} is not one of your messages")
    return [*history[:index], {"role": "user", "content": text}]


def mark_unsent(message: Message, reason: str) -> None:
    """The message stays on screen with its reason but is never sent to a model."""
    message["unsent"] = True
    message["error"] = reason


def restored_history(value: Any) -> list[Message]:
    """A conversation read back from the session store, checked before the page draws it:
    a list of messages with a known role and text content (ValueError otherwise)."""
    if not isinstance(value, list):
        raise ValueError("not a list of messages")
    for message in value:
        if not (isinstance(message, dict) and message.get("role") in ("system", "user", "assistant")
                and isinstance(message.get("content"), str)):
            raise ValueError("not a message")
        if not isinstance(message.get("error", ""), (str, type(None))):
            raise ValueError("a message's error is not text")
    return value
