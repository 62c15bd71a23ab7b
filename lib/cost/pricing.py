"""What tokens cost: model prices (genai-prices + prices you type) and the maths of scale.

Money is Decimal throughout, and every per-request figure comes from genai-prices' own
`ModelPrice.calc_price` (it knows tiered and cached-input prices), so $0.028175 stays $0.028175.
Scaling to users x requests x period is exact rational arithmetic (a week is 7 days, a month 30,
a year 12 months), rounded only when the result has no finite decimal form.
"""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, localcontext
from fractions import Fraction
from functools import cache
from typing import Annotated, Literal

import genai_prices
from genai_prices import data_snapshot
from genai_prices import types as gp
from pydantic import BaseModel, Field, field_validator

MAX_PRICE_PER_MTOK = Decimal(10_000)  # dearer than any model ever sold; beyond it, a typo
MAX_TOKENS = 10_000_000  # ten times today's largest context windows
MAX_USERS = 10_000_000_000  # more than everyone on Earth
MAX_REQUESTS_PER_USER = 1_000_000

Per = Literal["day", "week", "month", "year"]
DAYS_IN: dict[str, int] = {"day": 1, "week": 7, "month": 30, "year": 360}  # the lecture's 30-day month

Dollars = Annotated[
    Decimal, Field(ge=0, le=MAX_PRICE_PER_MTOK, allow_inf_nan=False, description="USD per 1M tokens")
]


class UnknownModel(LookupError):
    """genai-prices has no such model; the message says what to type instead."""


@dataclass(frozen=True)
class RequestCost:
    input: Decimal
    output: Decimal

    @property
    def total(self) -> Decimal:
        return self.input + self.output


@dataclass(frozen=True)
class ModelPrice:
    """One model's prices, wherever they came from, and what one request costs with them."""

    name: str
    provider: str
    source: str  # "genai-prices 0.2.3", "your price", "lecture slide"
    rates: gp.ModelPrice  # genai-prices' price object: it does the per-request maths

    @property
    def input_per_mtok(self) -> Decimal:
        return _base(self.rates.input_mtok)

    @property
    def output_per_mtok(self) -> Decimal:
        return _base(self.rates.output_mtok)

    @property
    def cached_input_per_mtok(self) -> Decimal | None:
        """The discounted price of input tokens read from the provider's prompt cache, if any."""
        return None if self.rates.cache_read_mtok is None else _base(self.rates.cache_read_mtok)

    @property
    def tiered(self) -> bool:
        """True when long prompts (e.g. over 200k tokens) switch to a higher price."""
        return any(
            isinstance(p, gp.TieredPrices)
            for p in (self.rates.input_mtok, self.rates.output_mtok, self.rates.cache_read_mtok)
        )

    def request_cost(
        self, input_tokens: int, output_tokens: int, cached_input_tokens: int = 0
    ) -> RequestCost:
        """The cost of one request; `cached_input_tokens` of the input are cache hits."""
        if min(input_tokens, output_tokens, cached_input_tokens) < 0:
            raise ValueError("Token counts can't be negative.")
        usage = genai_prices.Usage(
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cache_read_tokens=min(cached_input_tokens, input_tokens),
        )
        priced = self.rates.calc_price(usage)
        return RequestCost(priced["input_price"], priced["output_price"])


def _base(price: Decimal | gp.TieredPrices | None) -> Decimal:
    if price is None:
        return Decimal(0)
    return price.base if isinstance(price, gp.TieredPrices) else price


class CustomPrice(BaseModel):
    """A price the user types (or the lecture's slide): per million input / output tokens."""

    name: str = Field(min_length=1, max_length=80, title="Model name")
    input_per_mtok: Dollars = Field(title="Input $ per 1M tokens")
    output_per_mtok: Dollars = Field(title="Output $ per 1M tokens")
    cached_input_per_mtok: Dollars | None = Field(None, title="Cached input $ per 1M (optional)")

    @field_validator("input_per_mtok", "output_per_mtok", "cached_input_per_mtok", mode="before")
    @classmethod
    def _accept_dollar_signs(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.strip().removeprefix("$").replace(",", "").strip()
            return value or None
        return value

    def to_model_price(self, source: str = "your price") -> ModelPrice:
        rates = gp.ModelPrice(
            input_mtok=self.input_per_mtok,
            output_mtok=self.output_per_mtok,
            cache_read_mtok=self.cached_input_per_mtok,
        )
        return ModelPrice(self.name.strip(), "custom", source, rates)


class PriceTable:
    """genai-prices' bundled, offline price database, looked up the way people write model ids."""

    CATALOG_PROVIDERS = ("openai", "anthropic", "google", "openrouter")

    def __init__(self, on: datetime | None = None) -> None:
        self.snapshot = data_snapshot.get_snapshot()
        self.on = on or datetime.now(UTC)  # prices change over time: which day's prices
        self.version = importlib.metadata.version("genai-prices")

    @property
    def source(self) -> str:
        return f"genai-prices {self.version}"

    @property
    def as_of(self) -> date | None:
        """The newest price change the database records up to today: how fresh its data is."""
        return _newest_price_change(self.snapshot.providers, self.on.date())

    def catalog(self, providers: tuple[str, ...] = CATALOG_PROVIDERS) -> list[str]:
        """Every known model of `providers`, as refs `lookup` accepts ("openai: gpt-5.2")."""
        return [
            f"{p.id}: {m.id}" for p in self.snapshot.providers if p.id in providers for m in p.models
        ]

    def lookup(self, ref: str) -> ModelPrice:
        """Prices for `ref`: "provider: model", an OpenRouter id ("openai/gpt-5.2-chat"),
        or a bare model name the database can place ("claude-sonnet-4.5")."""
        ref = ref.strip()
        provider_id, sep, model_ref = ref.partition(":")  # model ids may hold ":" too (ft:gpt-4o)
        attempts = [(provider_id.strip(), model_ref.strip())] if sep else []
        if "/" in ref:
            attempts += [("openrouter", ref), tuple(ref.split("/", 1))]
        attempts.append((None, ref))
        for provider_id, model_ref in attempts:
            try:
                provider, model = self._exact(provider_id, model_ref) or (
                    self.snapshot.find_provider_model(model_ref, None, provider_id or None, None)
                )
            except LookupError:
                continue
            rates = model.get_prices(self.on)
            name = model.name or model.id
            return ModelPrice(f"{name} ({provider.name})", provider.id, self.source, rates)
        raise UnknownModel(
            f"genai-prices has no model {ref!r}. Pick one from the list, write it as "
            "'provider: model' (e.g. 'openai: gpt-5.2'), or type its prices yourself."
        )


    def _exact(self, provider_id: str | None, model_id: str) -> tuple[gp.Provider, gp.ModelInfo] | None:
        """A catalog entry, by its exact ids (some ids, e.g. "ft:gpt-4o", don't match themselves)."""
        for provider in self.snapshot.providers:
            if provider.id == provider_id:
                return next(((provider, m) for m in provider.models if m.id == model_id), None)
        return None


def _newest_price_change(providers: list[gp.Provider], today: date) -> date | None:
    dates = [
        c.constraint.start_date
        for p in providers
        for m in p.models
        for c in ([*m.prices] if isinstance(m.prices, list) else []) + [*(m.price_variants or [])]
        if isinstance(c.constraint, gp.StartDateConstraint) and c.constraint.start_date <= today
    ]
    return max(dates, default=None)


@cache
def price_table() -> PriceTable:
    return PriceTable()


def usage_cost(model: str, prompt_tokens: int, completion_tokens: int) -> Decimal | None:
    """What a request with this usage cost, or None when no price is known for ``model``."""
    try:
        price = price_table().lookup(model)
    except UnknownModel:
        return None
    return price.request_cost(prompt_tokens, completion_tokens).total


class Scenario(BaseModel):
    """One request's size and how many of them: the inputs of the cost simulator."""

    input_tokens: int = Field(100, ge=0, le=MAX_TOKENS, title="Input tokens")
    output_tokens: int = Field(2000, ge=0, le=MAX_TOKENS, title="Output tokens (the reply)")
    cached_share: Decimal = Field(
        Decimal(0), ge=0, le=1, allow_inf_nan=False, title="Share of input served from the prompt cache"
    )
    users: int = Field(10_000, ge=0, le=MAX_USERS, title="Users")
    requests_per_user: Decimal = Field(
        Decimal(1), ge=0, le=MAX_REQUESTS_PER_USER, allow_inf_nan=False, title="Requests per user"
    )
    per: Per = Field("month", title="… per")
    period: Per = Field("month", title="Show the cost over one")

    @property
    def cached_input_tokens(self) -> int:
        return int(self.input_tokens * self.cached_share)

    def requests_in_period(self) -> Fraction:
        """Users x requests per user, converted from `per` to `period` (exact)."""
        rate = Fraction(self.requests_per_user) * self.users
        return rate * DAYS_IN[self.period] / DAYS_IN[self.per]

    def cost_per_request(self, price: ModelPrice) -> RequestCost:
        return price.request_cost(self.input_tokens, self.output_tokens, self.cached_input_tokens)

    def cost_over_period(self, price: ModelPrice) -> Decimal:
        return scale(self.cost_per_request(price).total, self.requests_in_period())


def scale(cost_per_request: Decimal, requests: Fraction | int) -> Decimal:
    """cost x requests, exact when it has a finite decimal form, else to 1e-12 dollars."""
    return as_decimal(Fraction(cost_per_request) * requests)


def as_decimal(amount: Fraction) -> Decimal:
    denominator = amount.denominator
    for factor in (2, 5):
        while denominator % factor == 0:
            denominator //= factor
    if denominator == 1:  # terminating: a Decimal of enough digits holds it exactly
        digits = len(str(amount.numerator)) + len(str(amount.denominator))
        return _divide(amount, digits + 2)
    return _divide(amount, 50).quantize(Decimal("1e-12"))


def _divide(amount: Fraction, precision: int) -> Decimal:
    with localcontext(prec=max(precision, 28)):
        return Decimal(amount.numerator) / Decimal(amount.denominator)


LECTURE_PRICE = CustomPrice(
    name="GPT-5.2 Chat", input_per_mtok=Decimal("1.75"), output_per_mtok=Decimal(14)
).to_model_price(source="lecture slide")
LECTURE_SCENARIO = Scenario(input_tokens=100, output_tokens=2000, users=10_000)


@dataclass(frozen=True)
class LectureExample:
    """The slide's worked example, computed: 75 words in, 1,500 words out, 10,000 users."""

    request: RequestCost
    monthly_at_one_per_month: Decimal
    monthly_at_one_per_day: Decimal


def lecture_example() -> LectureExample:
    per_month = LECTURE_SCENARIO
    per_day = LECTURE_SCENARIO.model_copy(update={"per": "day"})
    return LectureExample(
        request=per_month.cost_per_request(LECTURE_PRICE),
        monthly_at_one_per_month=per_month.cost_over_period(LECTURE_PRICE),
        monthly_at_one_per_day=per_day.cost_over_period(LECTURE_PRICE),
    )
