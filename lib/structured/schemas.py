"""The schemas a structured answer must match: the lecture's Location, a nested trip
itinerary, ones built field by field, and JSON Schema pasted by hand.

Every schema becomes an ``OutputSchema``: its name and JSON Schema (what goes into
``response_format``), the pydantic model when there is one (what ``parse`` takes), and a
``check`` that says whether a reply is JSON at all and whether it matches.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError


class Location(BaseModel):  # the lecture's example, field for field

    name: str
    country: str
    latitude: float
    longitude: float


class Activity(BaseModel):
    time: str = Field(description="When, e.g. 09:00 or morning")
    description: str
    category: Literal["sight", "food", "museum", "walk", "transport"]


class Day(BaseModel):
    day: int = Field(description="1 for the first day")
    activities: list[Activity]


class TripItinerary(BaseModel):  # the hands-on's bonus: objects in lists in an object
    # (no docstring: pydantic would send it to the model as the schema's description)

    destination: str
    days: list[Day]


class SchemaError(ValueError):
    """A schema that cannot be used; the message says what to fix."""


@dataclass(frozen=True)
class Check:
    """What a reply is: JSON or not, matching the schema or not, and why not."""

    valid_json: bool
    schema_valid: bool
    parsed: Any = None  # the decoded JSON (a dict for an object) when valid_json
    errors: tuple[str, ...] = ()


@dataclass(frozen=True)
class OutputSchema:
    name: str  # response_format's json_schema.name: letters, digits, _ and -
    json_schema: dict[str, Any]
    model: type[BaseModel] | None = field(default=None, compare=False)
    question: str = "What are the GPS coordinates for Paris?"

    def check(self, text: str | None) -> Check:
        """The whole reply must be the JSON: a program calling json.loads on it gets
        nothing else (a reply in ``` fences fails, as it would there)."""
        try:
            data = json.loads(text or "")
        except json.JSONDecodeError as exc:
            return Check(False, False, errors=(f"Not JSON: {exc}",))
        if self.model is not None:
            try:
                self.model.model_validate(data)
            except ValidationError as exc:
                return Check(True, False, data, tuple(
                    f"{'.'.join(map(str, e['loc'])) or '(top)'}: {e['msg']}" for e in exc.errors()))
            return Check(True, True, data)
        from jsonschema import Draft202012Validator  # imported here: only pasted schemas need it

        errors = sorted(Draft202012Validator(self.json_schema).iter_errors(data),
                        key=lambda e: list(e.path))
        return Check(True, not errors, data, tuple(
            f"{'.'.join(map(str, e.path)) or '(top)'}: {e.message}" for e in errors))


def strict_json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON Schema ``parse`` sends for a model (the SDK's own conversion: every
    property required, no extra properties — what strict mode demands). The helper is
    private to the SDK: tests/structured/test_schemas.py checks that what it gives is what
    ``parse`` actually sends."""
    from openai.lib._pydantic import to_strict_json_schema  # the SDK's helper behind parse

    return to_strict_json_schema(model)


def from_model(model: type[BaseModel], question: str) -> OutputSchema:
    return OutputSchema(model.__name__, strict_json_schema(model), model, question)


LOCATION = from_model(Location, "What are the GPS coordinates for Paris?")
TRIP = from_model(TripItinerary, "Plan a two-day trip to Paris, with two activities a day.")


def from_json_text(text: str, name: str = "custom",
                   question: str = "What's the weather in Paris right now?") -> OutputSchema:
    """A schema pasted as JSON text; SchemaError says what is wrong with it."""
    try:
        schema = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SchemaError(f"The schema is not valid JSON: {exc}.") from None
    if not isinstance(schema, dict):
        raise SchemaError("A JSON Schema is a JSON object ({...}).")
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError as JsonSchemaError

    try:
        Draft202012Validator.check_schema(schema)
    except JsonSchemaError as exc:
        where = "/".join(map(str, exc.path)) or "the top level"
        raise SchemaError(f"Not a valid JSON Schema at {where}: {exc.message}") from None
    if schema.get("type") != "object" or not isinstance(schema.get("properties"), dict):
        raise SchemaError('Structured Outputs needs an object at the top: "type": "object" '
                          'with "properties".')
    title = str(schema.get("title") or name)
    safe = "".join(c if c.isalnum() or c in "_-" else "_" for c in title)[:64] or name
    return OutputSchema(safe, schema, None, question)
