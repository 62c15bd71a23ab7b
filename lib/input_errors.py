"""pydantic's validation errors as sentences a student can act on (any page's inputs)."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ValidationError


def input_errors(error: ValidationError, model: type[BaseModel]) -> list[str]:
    """pydantic's complaints about `model` as sentences a student can act on:
    "Users: must be at most 10,000,000,000 (you entered 1,000,000,000,000)."."""
    messages = []
    for item in error.errors():
        name = str(item["loc"][0]) if item["loc"] else ""
        messages.append(f"{field_title(model, name)}: {_plain_message(item)}.")
    return messages


def field_title(model: type[BaseModel], name: str) -> str:
    """The field's title: the widget label and the name in error messages."""
    info = model.model_fields.get(name)
    return info.title if info and info.title else name.replace("_", " ").capitalize()


def _plain_message(item: dict) -> str:
    limits = item.get("ctx", {})
    if item["type"] == "less_than_equal":
        return f"must be at most {_number(limits['le'])} (you entered {_number(item['input'])})"
    if item["type"] == "greater_than_equal":
        return f"must be {_number(limits['ge'])} or more (you entered {_number(item['input'])})"
    if item["type"] == "finite_number":
        return "must be a real number, not NaN or infinity"
    message = item["msg"].removeprefix("Input ").replace("should", "must")
    return message.replace("a valid decimal", "a number").replace("a valid integer", "a whole number")


def _number(value: object) -> str:
    try:
        return f"{Decimal(str(value)):,f}"
    except ArithmeticError:
        return repr(value)
