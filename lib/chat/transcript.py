"""Export a conversation (JSON in the messages format, or Markdown to read) and import one back.

JSON is the lecture's own shape, ``[{"role": ..., "content": ...}, ...]`` with the system
prompt first: the file can be pasted as ``messages=`` into any OpenAI client, and a file
from elsewhere imports. It holds what the model was sent (``to_api_messages``): display-only
fields stay home, refused messages and answers that failed before their first token are left
out, a partial answer keeps its text. Markdown is for people, so it keeps everything on
screen, errors noted in italics.

An import is untrusted input: ``from_json`` checks size, JSON, shape and role order, and
every problem is one ``TranscriptError`` line the page can show as is. It is a pure function,
so a bad file changes nothing.
"""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, StrictStr, ValidationError

from lib.chat.history import Message, to_api_messages

MAX_BYTES = 1_000_000  # a conversation is text: anything bigger is the wrong file
ROLES = ("system", "user", "assistant")


class TranscriptError(ValueError):
    """A file that is not a conversation; the message says why, in one line."""


class _Item(BaseModel):
    """One message of the file. Other keys (``name``, ...) are ignored, not refused, so
    messages saved by other tools import."""

    model_config = ConfigDict(extra="ignore")
    role: Literal["system", "user", "assistant"]
    content: StrictStr  # no coercion: a number or a list of parts is not text


def to_json(history: list[Message], system_prompt: str = "") -> str:
    """The messages the model is sent for this conversation, system prompt first."""
    return json.dumps(to_api_messages(history, system_prompt), indent=2, ensure_ascii=False) + "\n"


def to_markdown(history: list[Message], system_prompt: str = "") -> str:
    """The conversation to read: one heading per message, errors in italics."""
    parts = ["# Conversation"]
    if system_prompt.strip():
        parts.append(f"## System\n\n{system_prompt.strip()}")
    for message in history:
        section = f"## {message['role'].capitalize()}"
        if message.get("content"):
            section += f"\n\n{message['content']}"
        if message.get("error"):
            label = "Not sent" if message.get("unsent") else "Error"
            section += f"\n\n*{label}: {_one_line(message['error'])}*"
        parts.append(section)
    return "\n\n".join(parts) + "\n"


def from_json(text: str | bytes) -> tuple[str, list[Message]]:
    """(system prompt, history) from a JSON messages file; TranscriptError if it is not one."""
    size = len(text) if isinstance(text, bytes) else len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_BYTES:
        raise TranscriptError(f"The file is {size / 1e6:.1f} MB; a conversation file may be at most "
                              f"{MAX_BYTES / 1e6:.0f} MB.")
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise TranscriptError("The file is not UTF-8 text.") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TranscriptError(f"Not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).") from None
    except RecursionError:
        raise TranscriptError("Not a conversation: the JSON is nested too deeply.") from None
    if not isinstance(data, list):
        raise TranscriptError(f'Expected a JSON list of messages [{{"role": ..., "content": ...}}], '
                              f"got {_kind(data)}.")
    if not data:
        raise TranscriptError("The list is empty: there is no message to import.")
    items = [_item(number, raw) for number, raw in enumerate(data, 1)]
    systems = [number for number, item in enumerate(items, 1) if item.role == "system"]
    if len(systems) > 1:
        raise TranscriptError(f"More than one system message (messages {_numbers(systems)}); "
                              "a conversation has at most one, first.")
    if systems and systems[0] != 1:
        raise TranscriptError(f"The system message must come first; it is message {systems[0]}.")
    system_prompt = items.pop(0).content if systems else ""
    return system_prompt, [{"role": item.role, "content": item.content} for item in items]


def _item(number: int, raw: object) -> _Item:
    if not isinstance(raw, dict):
        raise TranscriptError(f'Message {number} is {_kind(raw)}, not an object '
                              '{"role": ..., "content": ...}.')
    try:
        return _Item.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = error["loc"][0]
        if error["type"] == "missing":
            problem = f'has no "{field}"'
        elif field == "role":
            got = json.dumps(raw["role"], ensure_ascii=False)
            got = got if len(got) <= 40 else got[:37] + "..."
            problem = f"has role {got}; the role must be one of {', '.join(ROLES)}"
        else:
            problem = f'has {_kind(raw[field])} as "{field}"; it must be a string'
        raise TranscriptError(f"Message {number} {problem}.") from None


def _kind(value: object) -> str:
    """What a JSON value is, in words."""
    if value is None:
        return "null"
    names = {bool: "a boolean", int: "a number", float: "a number", str: "a string",
             list: "a list", dict: "an object"}
    return names.get(type(value), type(value).__name__)


def _numbers(numbers: list[int]) -> str:
    return ", ".join(map(str, numbers[:-1])) + f" and {numbers[-1]}"


def _one_line(text: str) -> str:
    """An error as one italic line: newlines and asterisks would end the emphasis."""
    return " ".join(str(text).split()).replace("*", "\\*")
