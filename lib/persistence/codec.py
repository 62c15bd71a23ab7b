"""Session values as JSON text, and back: plain data, plus the few result types a page keeps.

A saved session is read back by a later process, possibly after an upgrade, and the store
is shared by a class, so the format is JSON (no pickle: loading must never run code) and
only the types named when the codec is made come back as objects. Anything else refuses
to save (``Unsaveable``): a lock or a live stream stays in memory, where it belongs.

What is written:
- None, booleans, numbers (inf and NaN too: logprobs hold -inf) and strings, as they are;
- lists as lists; tuples, Decimals and dicts whose keys are not all strings as tagged
  objects ``{"$": "tuple", "v": [...]}``, so they come back as they went;
- an Enum or dataclass of a named type as ``{"$": "<type name>", ...}``; a dataclass is
  rebuilt from its init fields, so a type that gained a field with a default still loads;
- an exception as its message (``SavedError`` on the way back: a page shows ``str(error)``).
"""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any, Iterable

TAG = "$"


class Unsaveable(TypeError):
    """A value of a type the codec was not told about."""


class SavedError(Exception):
    """An error kept with a result (a failed request, say), restored as its message."""


class Codec:
    def __init__(self, types: Iterable[type] = ()) -> None:
        self._types: dict[str, type] = {}
        for kind in types:
            if not (dataclasses.is_dataclass(kind) or issubclass(kind, Enum)):
                raise TypeError(f"{kind.__name__} is neither a dataclass nor an Enum")
            name = kind.__qualname__
            if name in self._types or name in _BUILTIN_TAGS:
                raise ValueError(f"two saved types are called {name}")
            self._types[name] = kind

    def dumps(self, value: Any) -> str:
        """JSON text for ``value``; Unsaveable if something in it has no JSON form here."""
        return json.dumps(self.encode(value), ensure_ascii=False, separators=(",", ":"))

    def loads(self, text: str) -> Any:
        """The value back; ValueError for text this codec did not write (or that no longer
        fits the types it names)."""
        try:
            return self.decode(json.loads(text))
        except RecursionError:
            raise ValueError("nested too deeply") from None
        except (TypeError, KeyError, InvalidOperation) as exc:
            raise ValueError(f"not a saved value ({exc})") from None

    def encode(self, value: Any) -> Any:
        if value is None or isinstance(value, (bool, int, float, str)) and not isinstance(value, Enum):
            return value
        if isinstance(value, list):
            return [self.encode(item) for item in list(value)]  # a copy: another thread may append
        if isinstance(value, tuple):
            return {TAG: "tuple", "v": [self.encode(item) for item in value]}
        if isinstance(value, dict):
            items = list(value.items())
            if all(isinstance(k, str) for k, _ in items) and TAG not in value:
                return {k: self.encode(v) for k, v in items}
            return {TAG: "dict", "v": [[self.encode(k), self.encode(v)] for k, v in items]}
        if isinstance(value, Decimal):
            return {TAG: "Decimal", "v": str(value)}
        if isinstance(value, BaseException):
            return {TAG: "error", "v": str(value)}
        kind = type(value)
        if self._types.get(kind.__qualname__) is not kind:
            raise Unsaveable(f"{kind.__qualname__} is not a saved type")
        if isinstance(value, Enum):
            return {TAG: kind.__qualname__, "v": self.encode(value.value)}
        return {TAG: kind.__qualname__, "f": {f.name: self.encode(getattr(value, f.name))
                                              for f in dataclasses.fields(value) if f.init}}

    def decode(self, data: Any) -> Any:
        if isinstance(data, list):
            return [self.decode(item) for item in data]
        if not isinstance(data, dict):
            return data
        if TAG not in data:
            return {k: self.decode(v) for k, v in data.items()}
        tag = data[TAG]
        if tag == "tuple":
            return tuple(self.decode(item) for item in data["v"])
        if tag == "dict":
            return {self.decode(k): self.decode(v) for k, v in data["v"]}
        if tag == "Decimal":
            return Decimal(data["v"])
        if tag == "error":
            return SavedError(str(data["v"]))
        kind = self._types.get(tag) if isinstance(tag, str) else None
        if kind is None:
            raise ValueError(f"unknown saved type {tag!r}")
        if issubclass(kind, Enum):
            return kind(self.decode(data["v"]))
        known = {f.name for f in dataclasses.fields(kind) if f.init}
        fields = {name: self.decode(value) for name, value in data["f"].items() if name in known}
        return kind(**fields)


_BUILTIN_TAGS = {"tuple", "dict", "Decimal", "error"}
