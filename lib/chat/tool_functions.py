"""The Tools view's ready functions: small, local and safe (no network, no eval).

Each is a pydantic model (its JSON schema is what the model is shown: the tool definition)
and a plain Python function that takes a validated instance. The tables are made up and
fixed, and the page says so: the point is the round trip, not the weather.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

# What a model sends is checked before anything runs: a text field at most this long (a 2 MB
# "city" would come back in the result, to the screen and the next request), and a number
# finite (NaN gets past `amount <= 0`, and no JSON can carry it back).
MAX_TEXT = 100
# Limits pydantic checks here that stay out of the schema the model is shown: OpenAI's strict
# function calling refuses a schema that has them ("'maxLength' is not permitted").
UNSHOWN_KEYWORDS = ("maxLength", "minLength")

# Made-up weather, fixed: a lookup table, not a forecast.
WEATHER: dict[str, dict[str, Any]] = {
    "paris": {"temperature_c": 18, "sky": "light rain", "wind_kmh": 14},
    "london": {"temperature_c": 15, "sky": "overcast", "wind_kmh": 20},
    "rome": {"temperature_c": 24, "sky": "sunny", "wind_kmh": 8},
    "tokyo": {"temperature_c": 21, "sky": "cloudy", "wind_kmh": 11},
    "new york": {"temperature_c": 19, "sky": "sunny", "wind_kmh": 16},
    "barcelona": {"temperature_c": 23, "sky": "sunny", "wind_kmh": 12},
}


class GetWeather(BaseModel):
    """Today's weather in a city (from a small table built into this app)."""

    city: str = Field(description="The city's name, e.g. Paris", max_length=MAX_TEXT)


def get_weather(args: GetWeather) -> dict[str, Any]:
    found = WEATHER.get(args.city.strip().lower())
    if found is None:
        return {"error": f"No weather for {args.city!r}.",
                "known_cities": sorted(name.title() for name in WEATHER)}
    return {"city": args.city.strip().title(), **found}


# Fixed rates (US dollars per unit), not today's.
USD_PER_UNIT = {"USD": 1.0, "EUR": 1.08, "GBP": 1.27, "JPY": 0.0067, "CHF": 1.12}
Currency = Literal["USD", "EUR", "GBP", "JPY", "CHF"]


class ConvertCurrency(BaseModel):
    """Convert an amount of money between currencies, at fixed rates built into this app."""

    amount: float = Field(description="How much money, in from_currency", allow_inf_nan=False)
    from_currency: Currency = Field(description="The currency the amount is in")
    to_currency: Currency = Field(description="The currency to convert it to")

    # Checked here, not in the schema the model sees: a model can send -5, and this says no.
    @field_validator("amount")
    @classmethod
    def positive(cls, amount: float) -> float:
        if amount <= 0:
            raise ValueError("the amount must be more than 0")
        return amount


def convert_currency(args: ConvertCurrency) -> dict[str, Any]:
    usd = args.amount * USD_PER_UNIT[args.from_currency]
    converted = round(usd / USD_PER_UNIT[args.to_currency], 2)
    return {"amount": args.amount, "from": args.from_currency,
            "to": args.to_currency, "result": converted, "rates": "fixed, not today's"}


# Each unit as (quantity, how many base units it is); °C and °F are converted apart.
UNITS = {"km": ("length", 1000.0), "mi": ("length", 1609.344), "m": ("length", 1.0),
         "ft": ("length", 0.3048), "kg": ("mass", 1.0), "lb": ("mass", 0.45359237),
         "C": ("temperature", None), "F": ("temperature", None)}
Unit = Literal["km", "mi", "m", "ft", "kg", "lb", "C", "F"]


class ConvertUnits(BaseModel):
    """Convert a length, mass or temperature between units (km, mi, m, ft, kg, lb, C, F)."""

    value: float = Field(description="The number to convert", allow_inf_nan=False)
    from_unit: Unit = Field(description="Its unit")
    to_unit: Unit = Field(description="The unit wanted")


def convert_units(args: ConvertUnits) -> dict[str, Any]:
    (kind, size), (other, target) = UNITS[args.from_unit], UNITS[args.to_unit]
    if kind != other:
        return {"error": f"Can't convert {kind} ({args.from_unit}) to {other} ({args.to_unit})."}
    if kind == "temperature":
        celsius = args.value if args.from_unit == "C" else (args.value - 32) * 5 / 9
        result = celsius if args.to_unit == "C" else celsius * 9 / 5 + 32
    else:
        result = args.value * size / target
    return {"value": args.value, "from": args.from_unit, "to": args.to_unit,
            "result": round(result, 3)}


@dataclass(frozen=True)
class Tool:
    """A function the model may ask for: its name, its arguments' model, and the code."""

    name: str
    arguments: type[BaseModel]
    function: Callable[[Any], dict[str, Any]]

    @property
    def description(self) -> str:
        return inspect.getdoc(self.arguments) or ""

    def definition(self) -> dict[str, Any]:
        """The tool definition as it is sent (``tools=[...]``): openai's own helper turns the
        pydantic model into a strict JSON schema (without the limits only checked here)."""
        import openai

        definition = dict(openai.pydantic_function_tool(self.arguments, name=self.name,
                                                        description=self.description))
        _drop_keywords(definition["function"]["parameters"], UNSHOWN_KEYWORDS)
        return definition

    def source(self) -> str:
        """The code that runs: the arguments' model and the function."""
        return inspect.getsource(self.arguments) + "\n\n" + inspect.getsource(self.function)


def _drop_keywords(schema: Any, keywords: tuple[str, ...]) -> None:
    """Remove ``keywords`` from a JSON schema and the schemas in it (not from a map of
    names to schemas: a property may be called maxLength)."""
    if isinstance(schema, list):
        for value in schema:
            _drop_keywords(value, keywords)
    elif isinstance(schema, dict):
        for keyword in keywords:
            schema.pop(keyword, None)
        for key, value in schema.items():
            named = key in ("properties", "$defs", "definitions") and isinstance(value, dict)
            for sub in value.values() if named else (value,):
                _drop_keywords(sub, keywords)


TOOLS: dict[str, Tool] = {tool.name: tool for tool in (
    Tool("get_weather", GetWeather, get_weather),
    Tool("convert_currency", ConvertCurrency, convert_currency),
    Tool("convert_units", ConvertUnits, convert_units),
)}

# A question for each, to start from.
EXAMPLE_QUESTIONS = {
    "get_weather": "What's the weather like in Paris today?",
    "convert_currency": "How much is 150 euros in US dollars?",
    "convert_units": "How many miles is 42 km?",
}
