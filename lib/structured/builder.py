"""Build a schema field by field: rows of a table become a pydantic model.

A row is one field: its name, type, whether it is a list, required, enum values and a
description, and ``parent``: the object field it belongs to (empty for the top level).
One flat table can so describe any nesting, and edits well in ``st.data_editor``.

Strict Structured Outputs lists every property as required; a field that is "not
required" becomes one that may be ``null`` (OpenAI's documented way to make one optional).
"""

from __future__ import annotations

import re
from typing import Any, Literal, Optional

from pydantic import BaseModel, Field, create_model

from lib.structured.schemas import OutputSchema, SchemaError, from_model

TYPES = ("string", "integer", "number", "boolean", "enum", "object")
PYTHON_TYPES = {"string": str, "integer": int, "number": float, "boolean": bool}
NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
COLUMNS = ("name", "type", "list", "required", "enum_values", "description", "parent")

# The lecture's Location, as rows: the builder starts from what the class has seen.
LOCATION_ROWS = [
    {"name": "name", "type": "string", "list": False, "required": True, "enum_values": "",
     "description": "", "parent": ""},
    {"name": "country", "type": "string", "list": False, "required": True, "enum_values": "",
     "description": "", "parent": ""},
    {"name": "latitude", "type": "number", "list": False, "required": True, "enum_values": "",
     "description": "", "parent": ""},
    {"name": "longitude", "type": "number", "list": False, "required": True, "enum_values": "",
     "description": "", "parent": ""},
]


def _text(row: dict[str, Any], column: str) -> str:
    value = row.get(column)
    return "" if value is None or value != value else str(value).strip()  # NaN from pandas


def _flag(row: dict[str, Any], column: str, default: bool) -> bool:
    value = row.get(column)
    return default if value is None or value != value else bool(value)


def _clean(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows with a name or type (blank rows an editor leaves behind are skipped), checked."""
    cleaned = []
    for number, row in enumerate(rows, start=1):
        name, kind = _text(row, "name"), _text(row, "type") or "string"
        if not name and not _text(row, "description") and not _text(row, "enum_values"):
            continue
        where = f"Row {number}"
        if not NAME.match(name):
            raise SchemaError(f"{where}: the name {name!r} must start with a letter and hold "
                              "only letters, digits and _ (at most 64).")
        if kind not in TYPES:
            raise SchemaError(f"{where} ({name}): unknown type {kind!r}; use one of "
                              f"{', '.join(TYPES)}.")
        values = [v.strip() for v in _text(row, "enum_values").split(",") if v.strip()]
        if kind == "enum" and not values:
            raise SchemaError(f"{where} ({name}): an enum needs its allowed values, "
                              "separated by commas.")
        if len(set(values)) != len(values):
            raise SchemaError(f"{where} ({name}): an enum value is listed twice.")
        cleaned.append({"name": name, "type": kind, "list": _flag(row, "list", False),
                        "required": _flag(row, "required", True), "values": values,
                        "description": _text(row, "description"),
                        "parent": _text(row, "parent")})
    return cleaned


def _model(title: str, rows: list[dict[str, Any]], children: dict[str, list],
           path: tuple[str, ...]) -> type[BaseModel]:
    if not rows:
        where = " / ".join(path) or "The schema"
        raise SchemaError(f"{where} has no fields: add at least one.")
    seen: set[str] = set()
    fields: dict[str, Any] = {}
    for row in rows:
        if row["name"] in seen:
            raise SchemaError(f"Two fields are called {row['name']!r} in "
                              f"{' / '.join(path) or 'the top level'}.")
        seen.add(row["name"])
        if row["type"] == "object":
            if row["name"] in path:
                raise SchemaError(f"{row['name']!r} contains itself.")
            kind: Any = _model(row["name"].title().replace("_", ""), children.get(row["name"], []),
                               children, (*path, row["name"]))
        elif row["type"] == "enum":
            kind = Literal[tuple(row["values"])]
        else:
            kind = PYTHON_TYPES[row["type"]]
        if row["list"]:
            kind = list[kind]
        if not row["required"]:
            kind = Optional[kind]
        fields[row["name"]] = (kind, Field(..., description=row["description"] or None))
    return create_model(title, **fields)


def build_schema(rows: list[dict[str, Any]], title: str = "Answer",
                 question: str = "What are the GPS coordinates for Paris?") -> OutputSchema:
    """The pydantic model the rows describe, as an OutputSchema. SchemaError says why not."""
    if not NAME.match(title or ""):
        raise SchemaError(f"The schema name {title!r} must start with a letter and hold only "
                          "letters, digits and _.")
    cleaned = _clean(rows)
    objects = {r["name"] for r in cleaned if r["type"] == "object"}
    children: dict[str, list] = {}
    for row in cleaned:
        parent = row["parent"]
        if parent and parent not in objects:
            raise SchemaError(f"{row['name']!r} belongs to {parent!r}, which is not a field "
                              "of type object.")
        children.setdefault(parent, []).append(row)
    names = [r["name"] for r in cleaned if r["type"] == "object"]
    if len(names) != len(set(names)):
        raise SchemaError("Two object fields share a name: parents are found by name, so "
                          "give each object its own.")
    model = _model(title, children.get("", []), children, ())
    reachable = _reachable(children)
    orphans = [r["name"] for r in cleaned if r["name"] not in reachable]
    if orphans:
        raise SchemaError(f"{', '.join(orphans)} never reach the top level: check their parent.")
    return from_model(model, question)


def _reachable(children: dict[str, list]) -> set[str]:
    """Field names reachable from the top level (a parent loop leaves some unreachable)."""
    seen: set[str] = set()
    stack = [""]
    while stack:
        for row in children.get(stack.pop(), []):
            if row["name"] not in seen:
                seen.add(row["name"])
                if row["type"] == "object":
                    stack.append(row["name"])
    return seen


MAX_ROWS = 200


def restored_rows(value: Any) -> list[dict[str, Any]]:
    """Builder rows read back (the session store, a shared link), checked before
    ``st.data_editor`` gets them: it refuses a value of the wrong type in a typed column.
    Known columns only, text or empty in the text columns, true/false in the flags."""
    if not isinstance(value, list) or len(value) > MAX_ROWS:
        raise ValueError("not builder rows")
    rows = []
    for row in value:
        if not isinstance(row, dict) or set(row) - set(COLUMNS):
            raise ValueError("not a builder row")
        for column, cell in row.items():
            flag = column in ("list", "required")
            if cell is not None and not isinstance(cell, bool if flag else str):
                raise ValueError(f"{column} holds {type(cell).__name__}")
        if row.get("type") not in (None, *TYPES):
            raise ValueError("unknown type")
        rows.append({column: row.get(column) for column in COLUMNS})
    return rows
