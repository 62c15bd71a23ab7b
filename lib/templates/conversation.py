"""The conversation the templates page edits: rows of (role, content), and the lecture's rules.

Plain functions on lists, so the editor's add / remove / reorder are tested without a browser.
Each row has a `uid` that never changes, so a widget keyed on it follows its row when rows move.
"""

from __future__ import annotations

import itertools

ROLES = ("system", "user", "assistant")

# The lecture's example ("Chat Templates in Practice").
LECTURE_MESSAGES = (
    {"role": "system", "content": "You help travelers make plans for their trips"},
    {"role": "user", "content": "Hello"},
    {"role": "assistant", "content": "Hi there!"},
    {"role": "user", "content": "What should I do on my upcoming trip to Paris?"},
)

_uids = itertools.count(1)  # shared by all sessions: uids only need to be unique, not small


def new_row(role: str, content: str = "") -> dict:
    if role not in ROLES:
        raise ValueError(f"Unknown role {role!r}; choose one of {', '.join(ROLES)}.")
    return {"uid": next(_uids), "role": role, "content": content}


def rows_from_messages(messages) -> list[dict]:
    return [new_row(m["role"], m["content"]) for m in messages]


def moved(rows: list[dict], index: int, offset: int) -> list[dict]:
    """The rows with row `index` moved by `offset` (-1 up, +1 down); unchanged at an edge."""
    target = index + offset
    if not (0 <= index < len(rows) and 0 <= target < len(rows)):
        return list(rows)
    result = list(rows)
    result[index], result[target] = result[target], result[index]
    return result


def removed(rows: list[dict], index: int) -> list[dict]:
    return [row for i, row in enumerate(rows) if i != index]


def as_messages(rows: list[dict]) -> list[dict[str, str]]:
    """What apply_chat_template takes: role and content only."""
    return [{"role": row["role"], "content": row["content"]} for row in rows]


def rule_notes(messages: list[dict[str, str]]) -> list[str]:
    """Where the conversation breaks the lecture's rules, one sentence each ([] when it doesn't)."""
    notes = []
    systems = [i for i, m in enumerate(messages) if m["role"] == "system"]
    if len(systems) > 1:
        notes.append(f"{len(systems)} system prompts: a conversation has only one.")
    if systems and systems[0] != 0:
        notes.append("The system prompt is not first: it has to come first in the conversation.")
    turns = [m["role"] for m in messages if m["role"] != "system"]
    if any(a == b for a, b in itertools.pairwise(turns)):
        notes.append("Two user (or two assistant) messages in a row: most templates expect them "
                     "to alternate.")
    if turns and turns[0] != "user":
        notes.append("The first message after the system prompt is not from the user.")
    if not messages:
        notes.append("The conversation is empty: add a message.")
    return notes


def restored_rows(value) -> list[dict]:
    """Editor rows read back from the session store. They get new uids: the widgets are
    keyed by uid, and this process's counter may already have handed out the saved ones."""
    if not isinstance(value, list) or not all(
            isinstance(row, dict) and row.get("role") in ROLES and isinstance(row.get("content"), str)
            for row in value):
        raise ValueError("not editor rows")
    return rows_from_messages(value)
